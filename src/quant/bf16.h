/* BF16 (GGML type 30): bfloat16, the upper 16 bits of an f32 (block of 1).
 *
 * Activations: BF16 too (the activation format GF_ACT_BF16): each f32 activation rounded to
 * bf16 as llama.cpp's CPU backend does (its vec_dot_type for BF16 is BF16).
 * Measured on tiny-brown-BF16 (64 teacher-forced rows against llama.cpp's
 * logits, max|d|/std): f32 activations 0.0109, bf16-rounded 0.0045.
 *
 * The dot product sums in f32, in four lanes: lane j takes the products of
 * elements 4i + j in order of i, the lanes are combined as
 * (l0 + l2) + (l1 + l3), and the last n % 4 products, summed in order from
 * zero, are added last (the convention of the F32 and F16 SIMD paths); the
 * SIMD kernel is bit-identical to gf_dot_bf16_ref. */
#ifndef GF_QUANT_BF16_H
#define GF_QUANT_BF16_H

#include <stdint.h>

#include "quant/quant.h"

/* gf_bf16 and its conversions: quant/quant.h (the BF16 activation format uses them). */
typedef struct {
    gf_bf16 v;
} block_bf16; /* the "block" of one element, for the registry's tables */
_Static_assert(sizeof(gf_bf16) == 2 && sizeof(block_bf16) == 2, "bf16 layout");

void gf_dequantize_row_bf16(const void *src, float *dst, int64_t n);
/* act_row: n bf16 activations (gf_quantize_act_row_bf16_ref). */
float gf_dot_bf16_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's f32 -> bf16 row (what llama-quantize writes for BF16). */
void gf_quantize_row_bf16_ref(const float *x, void *y, int64_t n);
/* The activation quantizer: the same rounding, n elements (2 bytes each). */
void gf_quantize_act_row_bf16_ref(const float *x, void *dst, int64_t n);

#endif
