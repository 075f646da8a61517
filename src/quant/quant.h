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
/* Read, not computed with: held as Q8_0 (gf_widen_row). */
typedef struct { gf_half d; uint8_t qh[4]; uint8_t qs[QK8_0 / 2]; } block_q5_0;   /* x = d * (q - 16), q's 5th bit in qh */
typedef struct { gf_half d; uint8_t qs[QK8_0 / 2]; } block_iq4_nl;               /* x = d * kvalues_iq4nl[q] */

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl layout");

float gf_half_to_float(gf_half h);
gf_half gf_float_to_half(float f); /* round to nearest even, as F16C does */

/* Q4_K packs eight 6-bit scales and mins into 12 bytes. */
void gf_q4_K_scale_min(int j, const uint8_t *q, uint8_t *scale, uint8_t *min);

/* The type a weight of `type` is held in: itself if computable; Q8_0 for
 * Q5_0 and IQ4_NL (llama.cpp's fallbacks for Q4_K and the 2-3-bit types in
 * rows that are not a multiple of 256), whose values are int8 with Q8_0's
 * block of 32 and f16 scale, and whose dot products llama.cpp computes
 * against Q8_0 activations with the same integer sums; -1 if unreadable. */
int gf_type_held_as(uint32_t type);
/* A row of n elements of Q5_0 or IQ4_NL as Q8_0: the same values, exactly. */
void gf_widen_row(uint32_t type, const void *src, block_q8_0 *dst, int64_t n);

/* Row of n elements of a readable type (gf_type_held_as) to f32. */
void gf_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* llama.cpp's reference quantizers (no importance matrix): the bytes its
 * llama-quantize writes for these types. n is a multiple of the block. */
void gf_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t n);
void gf_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, int64_t n);
void gf_quantize_row_q4_1_ref(const float *x, block_q4_1 *y, int64_t n);

/* Activation formats: what a weight type's dot product consumes, chosen as
 * llama.cpp's CPU backend does (its x86 SIMD rounding: ties to even). */
typedef enum { GF_ACT_F32, GF_ACT_F16, GF_ACT_Q8_0, GF_ACT_Q8_1, GF_ACT_Q8_K } gf_act_format;

gf_act_format gf_act_format_for(uint32_t weight_type);
size_t gf_act_row_bytes(gf_act_format f, int64_t n);
/* Scalar reference activation quantizers; kernels.h has the fast entry point. */
void gf_quantize_act_row_ref(gf_act_format f, const float *x, void *dst, int64_t n);

#endif
