/* Q5_K (GGML type 13): super-blocks of 256 elements in eight sub-blocks of
 * 32, each with a 6-bit scale and a 6-bit min (packed as Q4_K's 12 bytes);
 * x = d * sc * q - dmin * m, q in 0..31: its low four bits in qs (as
 * Q4_K's nibbles: bytes 32p..32p+31 hold sub-block 2p in their low and
 * 2p+1 in their high nibbles) and its fifth bit in qh: element l of
 * sub-block j has it at bit j of qh[l].
 *
 * Activations: Q8_K, llama.cpp's vec_dot_type for Q5_K. */
#ifndef GF_QUANT_Q5_K_H
#define GF_QUANT_Q5_K_H

#include <stdint.h>

#include "quant/quant.h"

typedef struct {
    gf_half d, dmin;
    uint8_t scales[12];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
_Static_assert(sizeof(block_q5_K) == 176, "q5_K layout");

/* llama.cpp's dequantize_row_q5_K, value for value. n: a multiple of 256. */
void gf_dequantize_row_q5_K(const void *src, float *dst, int64_t n);
/* Scalar reference dot product of a Q5_K row with a Q8_K row: integer sums
 * exact, then per super-block s += d * da * sum - dmin * da * sum_mins. */
float gf_dot_q5_K_ref(int n, const void *w_row, const void *act_row);
/* llama.cpp's quantize_row_q5_K_ref (no importance matrix): the bytes
 * llama-quantize writes without an imatrix. */
void gf_quantize_row_q5_K_ref(const float *x, void *y, int64_t n);

/* Replace a block's levels (0..31, in element order), keeping its scales. */
void gf_q5_K_set_levels(block_q5_K *y, const uint8_t *L);
/* The search quantizer (quantize_k.h's asymmetric K search with levels
 * 0..31), weighted by w (NULL: 1), of one super-block; quantize.c's row
 * driver keeps the reference block where it is no worse. */
void gf_quantize_block_q5_K_search(const float *x, const float *w, void *y);

#endif
