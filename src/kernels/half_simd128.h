/* f16 -> f32 in SIMD128 lanes, exact, for halves in the upper 16 bits of
 * each i32 lane (the lower 16 bits are ignored). wasm has no conversion
 * instruction; two ways, chosen by how often the data has subnormals:
 *
 * - by a multiply (3 operations): the bits are moved into place and
 *   multiplied by 2^112, which rebiases the exponent. An f16 subnormal
 *   reaches the multiplier as an f32 subnormal, and x86 then takes a
 *   microcode assist of ~100+ cycles (wasm cannot set DAZ/FTZ). For data
 *   where subnormals are rare: activations, f16 weights and caches, and the
 *   scales of 32-element blocks (a Q4_0 or Q8_0 scale is subnormal only when
 *   the block's largest weight is below 4.9e-4 or 7.8e-3).
 * - by a subtraction (9 operations): normal halves are rebiased with an
 *   integer add; subnormal ones (exponent 0) get the exponent of 2^-14, and
 *   2^-14 is subtracted, a difference of two normal floats, exact by
 *   Sterbenz's lemma. For K-quant super-block scales: llama.cpp's Q6_K
 *   scales are ~1e-5 and almost all subnormal, which made the 110M model's
 *   Q6_K output matrix stream at 7 GB/s instead of 11 with the multiply. In
 *   the per-block step of the 32-element types the extra operations cost
 *   more than the rare assists (Q4_0 GEMV and GEMM 10-25% slower). */
#ifndef GF_HALF_SIMD128_H
#define GF_HALF_SIMD128_H

#include <wasm_simd128.h>

/* By a multiply, finite halves only: exponent 31 comes out as 2^16 * 1.m. */
static inline __attribute__((always_inline)) v128_t gf_h2f_hi_mul_finite(v128_t x) {
    /* the arithmetic shift lands sign, exponent and mantissa at the f32
     * positions and smears the sign into bits 28..30, which the mask drops */
    return wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(x, 3), wasm_i32x4_const_splat((int32_t)0x8FFFE000)),
                          wasm_f32x4_const_splat(0x1p112f));
}

/* By a multiply, every half: exponent 31 (inf, nan) keeps its payload. */
static inline __attribute__((always_inline)) v128_t gf_h2f_hi_mul(v128_t x) {
    v128_t special = wasm_i32x4_eq(wasm_v128_and(x, wasm_i32x4_const_splat(0x7C000000)), wasm_i32x4_const_splat(0x7C000000));
    return wasm_v128_or(gf_h2f_hi_mul_finite(x), wasm_v128_and(special, wasm_i32x4_const_splat(0x7F800000)));
}

/* By a subtraction, finite halves only (exponent 31 as above). */
static inline __attribute__((always_inline)) v128_t gf_h2f_hi_sub_finite(v128_t x) {
    v128_t mag = wasm_v128_and(wasm_u32x4_shr(x, 3), wasm_i32x4_const_splat(0x0FFFE000));
    v128_t subnormal = wasm_u32x4_lt(mag, wasm_i32x4_const_splat(0x00800000));
    v128_t two_m14 = wasm_v128_and(subnormal, wasm_i32x4_const_splat(0x38800000)); /* 2^-14 there, +0 elsewhere */
    v128_t bits = wasm_i32x4_add(mag, wasm_u32x4_max(two_m14, wasm_i32x4_const_splat(0x38000000)));
    v128_t f = wasm_f32x4_sub(bits, two_m14);
    return wasm_v128_or(f, wasm_v128_and(x, wasm_i32x4_const_splat((int32_t)0x80000000)));
}

#endif
