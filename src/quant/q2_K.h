/* Q2_K (GGML type 10): 256-element super-blocks of 2-bit weights, 84 bytes.
 *
 * Sixteen sub-blocks of 16 elements, each with a 4-bit scale and a 4-bit
 * min (scales[j] = scale | min << 4); the super-block has f16 factors d and
 * dmin. Element e of a super-block is
 *     x = d * sc[e / 16] * q[e] - dmin * m[e / 16],    q[e] in 0..3,
 * q in qs (byte 32 * (e / 128) + e % 32, bits 2 * ((e / 32) % 4)).
 * Activations: Q8_K (llama.cpp's vec_dot_type for Q2_K). */
#ifndef GF_QUANT_Q2_K_H
#define GF_QUANT_Q2_K_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"

typedef struct {
    uint8_t scales[QK_K / 16]; /* scale | min << 4 */
    uint8_t qs[QK_K / 4];      /* 2-bit quants */
    gf_half d;                 /* factor of the scales */
    gf_half dmin;              /* factor of the mins */
} block_q2_K;
_Static_assert(sizeof(block_q2_K) == 84, "q2_K layout");

/* llama.cpp's dequantize_row_q2_K (exactly its values); n a multiple of 256. */
void gf_dequantize_row_q2_K(const void *src, float *dst, int64_t n);
/* Scalar reference dot product against a Q8_K row: exact integer sums per
 * block, then s += d_w * d_a * (float)sum - dmin * d_a * (float)sum_mins. */
float gf_dot_q2_K_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's quantize_row_q2_K_ref: the bytes llama-quantize writes
 * without an importance matrix. */
void gf_quantize_row_q2_K_ref(const float *x, void *y, int64_t n);

/* Replace a block's levels (0..3, element order), keeping its scales. */
void gf_q2_K_set_levels(block_q2_K *y, const uint8_t *L);
/* The search quantizer (quantize_k.h's asymmetric K search, levels 0..3,
 * 4-bit codes), weighted by w (NULL: 1), of one super-block; quantize.c's
 * row driver keeps the reference block where it is no worse. */
void gf_quantize_block_q2_K_search(const float *x, const float *w, void *y);

#endif
