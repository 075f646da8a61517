/* e^x by Cody-Waite reduction and a degree-6 polynomial (Cephes' expf,
 * ~1 ulp): n = round(x log2 e), r = x - n ln 2 in two parts, e^r by the
 * polynomial, times 2^n built in exponent bits (as 2^(n/2) * 2^(n - n/2),
 * so that n = -126..128 all stay exact). Below -87.3365 (where the result
 * would be subnormal) and for NaN the result is 0; above 88.72283 it is
 * infinity. The scalar and the SIMD128 versions do the same operations in
 * the same order, so they give the same bits (softmax and SiLU use them). */
#ifndef GF_EXP_POLY_H
#define GF_EXP_POLY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define GF_EXP_LO (-87.3365f)
#define GF_EXP_HI 88.72283f

static inline float gf_exp_pow2(int32_t n) {
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float gf_exp_poly(float x) {
    if (!(x >= GF_EXP_LO)) return 0.0f; /* also NaN and -inf */
    if (x > GF_EXP_HI) return INFINITY;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r;
    p = p + 1.0f;
    int32_t k = (int32_t)n, h = k >> 1;
    return p * gf_exp_pow2(h) * gf_exp_pow2(k - h);
}

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

static inline __attribute__((always_inline)) v128_t gf_exp_poly4(v128_t x) {
    v128_t ok = wasm_f32x4_ge(x, wasm_f32x4_splat(GF_EXP_LO));
    v128_t big = wasm_f32x4_gt(x, wasm_f32x4_splat(GF_EXP_HI));
    v128_t n = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), wasm_f32x4_splat(0.5f)));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
    v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r);
    p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
    v128_t k = wasm_i32x4_trunc_sat_f32x4(n), h = wasm_i32x4_shr(k, 1);
    v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(h, wasm_i32x4_splat(127)), 23);
    v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(k, h), wasm_i32x4_splat(127)), 23);
    v128_t e = wasm_v128_and(wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2), ok);
    return wasm_v128_bitselect(wasm_f32x4_splat(INFINITY), e, big);
}
#endif

#endif
