/* IQ4_XS (GGML type 23): llama.cpp's non-linear 4-bit type with 256-element
 * super-blocks. Each of the 8 sub-blocks of 32 has a 6-bit scale ls (stored
 * biased by 32: low 4 bits in scales_l, high 2 bits in scales_h), and each
 * weight is an index into the IQ4_NL codebook (gf_kvalues_iq4nl, iq4_nl.h):
 *     x = d * (ls - 32) * kvalues[q]
 * Sub-block j's 32 indices are qs[16 j .. 16 j + 15]: low nibbles are
 * elements 0..15, high nibbles 16..31 (as IQ4_NL's blocks).
 * Dot products take Q8_K activations, as llama.cpp's CPU backend does. */
#ifndef GF_QUANT_IQ4_XS_H
#define GF_QUANT_IQ4_XS_H

#include <stdint.h>

#include "quant/iq4_nl.h"
#include "quant/quant.h"

typedef struct {
    gf_half d;                 /* super-block scale */
    uint16_t scales_h;         /* high 2 bits of the 8 sub-block scales, 2 bits each */
    uint8_t scales_l[QK_K / 64]; /* low 4 bits, two sub-blocks per byte (even j: low nibble) */
    uint8_t qs[QK_K / 2];      /* codebook indices, 4 bits each */
} block_iq4_xs;
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs layout");

/* Sub-block j's scale minus its bias, in [-32, 31]. */
static inline int gf_iq4_xs_scale(const block_iq4_xs *b, int j) {
    return (((b->scales_l[j / 2] >> 4 * (j % 2)) & 0xf) | (((b->scales_h >> 2 * j) & 3) << 4)) - 32;
}

/* n elements (a multiple of 256) to f32: llama.cpp's values exactly. */
void gf_dequantize_row_iq4_xs(const void *src, float *dst, int64_t n);
/* The scalar reference dot product against a Q8_K row: per sub-block an
 * exact integer sum, the super-block's sum of (ls - 32) * sub-block sums
 * exact too, then s += d * d8 * (float)sum block after block (as every K
 * type here). */
float gf_dot_iq4_xs_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's quantize_iq4_xs without an importance matrix: the bytes
 * llama-quantize writes. */
void gf_quantize_row_iq4_xs_ref(const float *x, void *y, int64_t n);

/* Replace a block's codebook indices (0..15, element order), keeping its scales. */
void gf_iq4_xs_set_levels(block_iq4_xs *b, const uint8_t *L);
/* The search quantizer, weighted by w (NULL: 1): each sub-block's scale
 * searched over the codebook (the largest element near either end, refitted
 * by least squares for its indices), the super-scale chosen by the error
 * after the 6-bit coding, codes nudged by +-2, the super-scale refitted.
 * One super-block; quantize.c's row driver keeps the reference block where
 * it is no worse. */
void gf_quantize_block_iq4_xs_search(const float *x, const float *w, void *y);

#endif
