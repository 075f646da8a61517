/* Block formats of the ggml quantized types we compute with, and their
 * scalar reference code: dequantization, llama.cpp's reference quantizers
 * (bit-exact with its files), and the activation quantizers its CPU path
 * applies before each dot product (so our logits agree with llama.cpp's).
 *
 * Every SIMD kernel in kernels/ is held equal to this code by the tests. */
#ifndef GF_QUANT_H
#define GF_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "quant/types.h"

typedef uint16_t gf_half; /* IEEE 754 binary16 bits */

#define QK4_0 32
#define QK4_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256

typedef struct { gf_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;             /* x = d * (q - 8) */
typedef struct { gf_half d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;          /* x = d * q + m */
typedef struct { gf_half d; int8_t qs[QK8_0]; } block_q8_0;                  /* x = d * q */
typedef struct { gf_half d, s; int8_t qs[QK8_1]; } block_q8_1;               /* s = d * sum(q) */
typedef struct { gf_half d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; gf_half d; } block_q6_K;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K layout");

float gf_half_to_float(gf_half h);
gf_half gf_float_to_half(float f); /* round to nearest even, as F16C does */

/* bfloat16: the upper 16 bits of an f32 (BF16 weights, quant/bf16.h, and the BF16 activation format). */
typedef uint16_t gf_bf16;

static inline float gf_bf16_to_float(gf_bf16 h) {
    union {
        uint32_t u;
        float f;
    } v = {(uint32_t)h << 16};
    return v.f;
}

/* llama.cpp's f32 -> bf16: round to nearest even; NaN kept, made quiet. */
static inline gf_bf16 gf_float_to_bf16(float f) {
    union {
        float f;
        uint32_t u;
    } v = {f};
    if ((v.u & 0x7fffffff) > 0x7f800000) return (gf_bf16)((v.u >> 16) | 64);
    return (gf_bf16)((v.u + 0x7fff + ((v.u >> 16) & 1)) >> 16);
}


/* Q4_K packs eight 6-bit scales and mins into 12 bytes. */
void gf_q4_K_scale_min(int j, const uint8_t *q, uint8_t *scale, uint8_t *min);

/* Per-type code, pointed to by the registry's rows (registry.c): to f32 and
 * the scalar reference dot against the type's activation format (the newer
 * types: their own modules). n is a multiple of the block. */
void gf_dequantize_row_f32(const void *src, float *dst, int64_t n);
void gf_dequantize_row_f16(const void *src, float *dst, int64_t n);
void gf_dequantize_row_q4_0(const void *src, float *dst, int64_t n);
void gf_dequantize_row_q4_1(const void *src, float *dst, int64_t n);
void gf_dequantize_row_q8_0(const void *src, float *dst, int64_t n);
void gf_dequantize_row_q4_K(const void *src, float *dst, int64_t n);
void gf_dequantize_row_q6_K(const void *src, float *dst, int64_t n);

/* Reference dot products: a weight row of n elements with an activation
 * row (F32: f32; F16: f16; Q4_0, Q8_0: Q8_0; Q4_1: Q8_1; Q4_K, Q6_K: Q8_K).
 * Integer sums are exact; floating-point work follows llama.cpp's reference
 * order (per-block scale products accumulated in f32). */
float gf_dot_f32_row_ref(int n, const void *w, const void *act);
float gf_dot_f16_ref(int n, const void *w, const void *act);
float gf_dot_q4_0_ref(int n, const void *w, const void *act);
float gf_dot_q4_1_ref(int n, const void *w, const void *act);
float gf_dot_q8_0_ref(int n, const void *w, const void *act);
float gf_dot_q4_K_ref(int n, const void *w, const void *act);
float gf_dot_q6_K_ref(int n, const void *w, const void *act);

/* llama.cpp's reference quantizers (no importance matrix): the bytes its
 * llama-quantize writes for these types. n is a multiple of the block. */
void gf_quantize_row_q8_0_ref(const float *x, void *y, int64_t n);
void gf_quantize_row_q4_0_ref(const float *x, void *y, int64_t n);
void gf_quantize_row_q4_1_ref(const float *x, void *y, int64_t n);

/* Activation formats (gf_act_format, types.h): a type's is in its registry row. */
/* Scalar reference activation quantizers; kernels.h has the fast entry point. */
void gf_quantize_act_row_ref(gf_act_format f, const float *x, void *dst, int64_t n);

#endif
