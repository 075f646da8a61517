/* Q5_1 (GGML type 7): blocks of 32, x = d * q + m, q in 0..31: low four
 * bits in qs (element j < 16 in the low nibble of qs[j], j + 16 in its
 * high nibble), the fifth bit of element j at bit j of the little-endian
 * uint32 qh.
 *
 * Activations: Q8_1, llama.cpp's vec_dot_type for Q5_1 (as for Q4_1: the
 * offset m meets the activations' s = d * sum(q)). */
#ifndef GF_QUANT_Q5_1_H
#define GF_QUANT_Q5_1_H

#include <stdint.h>

#include "quant/quant.h"

#define QK5_1 32

typedef struct {
    gf_half d, m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");

/* llama.cpp's dequantize_row_q5_1, value for value. n: a multiple of 32. */
void gf_dequantize_row_q5_1(const void *src, float *dst, int64_t n);
/* Scalar reference dot product of a Q5_1 row with a Q8_1 row: per block
 * s += d * da * sum + m * sa (the order of dot_q4_1). */
float gf_dot_q5_1_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's quantize_row_q5_1_ref: the bytes llama-quantize writes
 * without an imatrix. */
void gf_quantize_row_q5_1_ref(const float *x, void *y, int64_t n);

#endif
