/* GELU through its f16 table (gelu.h), four lanes at a time: the lanes'
 * f16 bits are computed in SIMD (round to nearest even, as
 * gf_float_to_half), the four entries loaded one by one. Vectors with a
 * lane outside 2^-14 <= |x| < 10 (f16 subnormals, the clamps, inf, NaN)
 * take the scalar path: rare in activations.
 * gemma3-270m Q4_K_M, one-thread prefill of 128 tokens (relaxed16, Node,
 * 2026-12-07): GEGLU was 19% of the time by the formula (libc tanhf), ~1%
 * this way. */
#include <wasm_simd128.h>

#include "kernels/gelu.h"

/* f16 bits of four floats with 2^-14 <= |x| < 10 (normal f16 results):
 * the mantissa rounded to 10 bits, nearest even (a carry moves into the
 * exponent, as it should), the exponent rebiased, the sign put back. */
static inline __attribute__((always_inline)) v128_t half_bits_normal(v128_t x, v128_t au) {
    const v128_t odd = wasm_v128_and(wasm_u32x4_shr(au, 13), wasm_i32x4_const_splat(1));
    v128_t q = wasm_u32x4_shr(wasm_i32x4_add(au, wasm_i32x4_add(odd, wasm_i32x4_const_splat(0x0FFF))), 13);
    q = wasm_i32x4_sub(q, wasm_i32x4_const_splat(112 << 10));
    return wasm_v128_or(q, wasm_v128_and(wasm_u32x4_shr(x, 16), wasm_i32x4_const_splat(0x8000)));
}

/* GELU of four lanes; *ok = 0 when a lane needs the scalar path */
static inline __attribute__((always_inline)) v128_t gelu4(v128_t x, int *ok) {
    const v128_t au = wasm_v128_and(x, wasm_i32x4_const_splat(0x7FFFFFFF));
    /* as integers: 0x38800000 = 2^-14, 0x41200000 = 10.0f; NaN's bits are above */
    *ok = wasm_i32x4_all_true(wasm_v128_and(wasm_i32x4_ge(au, wasm_i32x4_const_splat(0x38800000)),
                                            wasm_i32x4_lt(au, wasm_i32x4_const_splat(0x41200000))));
    const v128_t h = half_bits_normal(x, au);
    return wasm_f32x4_make(gf_gelu_table[wasm_u32x4_extract_lane(h, 0) & 0xFFFF], gf_gelu_table[wasm_u32x4_extract_lane(h, 1) & 0xFFFF],
                           gf_gelu_table[wasm_u32x4_extract_lane(h, 2) & 0xFFFF], gf_gelu_table[wasm_u32x4_extract_lane(h, 3) & 0xFFFF]);
}

void gf_gelu_f32_simd128(float *x, int n) {
    gf_gelu_prepare();
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        int ok;
        const v128_t g = gelu4(wasm_v128_load(x + i), &ok);
        if (ok) wasm_v128_store(x + i, g);
        else for (int k = 0; k < 4; k++) x[i + k] = gf_gelu_f16_table(x[i + k]);
    }
    for (; i < n; i++) x[i] = gf_gelu_f16_table(x[i]);
}

void gf_geglu_f32_simd128(float *gate, const float *up, int n) {
    gf_gelu_prepare();
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        int ok;
        const v128_t g = gelu4(wasm_v128_load(gate + i), &ok);
        if (ok) wasm_v128_store(gate + i, wasm_f32x4_mul(g, wasm_v128_load(up + i)));
        else for (int k = 0; k < 4; k++) gate[i + k] = gf_gelu_f16_table(gate[i + k]) * up[i + k];
    }
    for (; i < n; i++) gate[i] = gf_gelu_f16_table(gate[i]) * up[i];
}
