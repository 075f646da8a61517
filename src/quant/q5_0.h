/* Q5_0 (GGML type 6): blocks of 32, x = d * (q - 16), q in 0..31: low four
 * bits in qs (element j < 16 in the low nibble of qs[j], j + 16 in its high
 * nibble), the fifth bit of element j at bit j of the little-endian uint32
 * qh. llama-quantize writes it where a Q4_K row is not a multiple of 256
 * (dim 576, 640, 896, 960 models' Q4_K_M files are mostly Q5_0).
 *
 * Activations: Q8_0, llama.cpp's vec_dot_type for Q5_0. */
#ifndef GF_QUANT_Q5_0_H
#define GF_QUANT_Q5_0_H

#include <stdint.h>

#include "quant/quant.h"

#define QK5_0 32

typedef struct {
    gf_half d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
} block_q5_0;
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");

/* Element j of a block as llama.cpp's dequantize_row_q5_0 forms it: -16..15. */
int gf_q5_0_value(const block_q5_0 *b, int j);
/* d * (q - 16), value for value. n: a multiple of 32. */
void gf_dequantize_row_q5_0(const void *src, float *dst, int64_t n);
/* Scalar reference dot product of a Q5_0 row with a Q8_0 row: per block an
 * exact integer sum, then s += d * da * (float)sum (the order of the Q8_0
 * dot, so a Q5_0 row gives the bits of a Q8_0 row holding its values). */
float gf_dot_q5_0_ref(int n, const void *w_row, const void *act_row);

#endif
