/* Q3_K (GGML type 11): 256-element super-blocks of 3-bit weights, 110 bytes.
 *
 * Sixteen sub-blocks of 16 elements, each with a signed 6-bit scale; the
 * super-block has one f16 factor d. Element e of a super-block is
 *     x = d * (sc[e / 16] - 32) * (q[e] - 4),    q[e] in 0..7,
 * q's low two bits in qs (byte 32 * (e / 128) + e % 32, bits 2 * ((e / 32) % 4)),
 * its high bit in hmask (byte e % 32, bit e / 32). The 6-bit scales: low
 * nibbles in scales[0..7] (sub-blocks 0..7 low nibble, 8..15 high nibble),
 * the top two bits in scales[8..11] (sub-block j: byte 8 + j % 4, bits
 * 2 * (j / 4)). Activations: Q8_K (llama.cpp's vec_dot_type for Q3_K). */
#ifndef GF_QUANT_Q3_K_H
#define GF_QUANT_Q3_K_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"

typedef struct {
    uint8_t hmask[QK_K / 8]; /* high bit of each q */
    uint8_t qs[QK_K / 4];    /* low two bits */
    uint8_t scales[12];      /* 16 6-bit scales, stored + 32 */
    gf_half d;
} block_q3_K;
_Static_assert(sizeof(block_q3_K) == 110, "q3_K layout");

/* The 16 scales of a block, sc - 32 (in -32..31). */
void gf_q3_K_scales(const uint8_t *packed, int8_t sc[16]);

/* llama.cpp's dequantize_row_q3_K (exactly its values); n a multiple of 256. */
void gf_dequantize_row_q3_K(const void *src, float *dst, int64_t n);
/* Scalar reference dot product against a Q8_K row: exact integer sums per
 * block, then s += d_w * d_a * (float)sum, block after block. */
float gf_dot_q3_K_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's quantize_row_q3_K_ref: the bytes llama-quantize writes
 * without an importance matrix. */
void gf_quantize_row_q3_K_ref(const float *x, void *y, int64_t n);

/* Replace a block's levels (q in 0..7, element order), keeping its scales. */
void gf_q3_K_set_levels(block_q3_K *y, const uint8_t *L);
/* The search quantizer (quantize_k.h's symmetric K search, levels -4..3,
 * scale codes -32..31), weighted by w (NULL: 1), of one super-block;
 * quantize.c's row driver keeps the reference block where it is no worse. */
void gf_quantize_block_q3_K_search(const float *x, const float *w, void *y);

#endif
