/* K-quant super-blocks (256 elements): llama.cpp's reference algorithm
 * (search = 0) or greenformer's search (search = 1, weighted by w when not
 * NULL), one block at a time. Used through gf_quantize_row (quantize.h). */
#ifndef GF_QUANTIZE_K_H
#define GF_QUANTIZE_K_H

#include "quant/quant.h"

/* llama.cpp's reference quantizers for whole rows (n a multiple of 256). */
void gf_quantize_row_q4_K_ref(const float *x, void *y, int64_t n);
void gf_quantize_row_q6_K_ref(const float *x, void *y, int64_t n);

void gf_quantize_block_q4_K(const float *x, const float *w, int search, block_q4_K *y);
void gf_quantize_block_q6_K(const float *x, const float *w, int search, block_q6_K *y);

/* Replace a block's levels (0..15 for Q4_K, 0..63 for Q6_K, in element
 * order), keeping its scales: for quantizers that choose levels themselves. */
void gf_q4_K_set_levels(block_q4_K *y, const uint8_t *L);
void gf_q6_K_set_levels(block_q6_K *y, const uint8_t *L);

/* llama.cpp's make_qkx2_quants (its imatrix-free K-quant scale fit): x ~
 * scale * L - neg_min with L in [0, nmax], the w-weighted squared error
 * minimized over nstep + 1 candidate scales from rmin in steps of rdelta.
 * Returns the scale; n <= 32. Shared by the Q4_K and Q5_K reference quantizers. */
float gf_make_qkx2_quants(const float *x, const float *w, int n, int nmax, uint8_t *L, float *neg_min, float rmin, float rdelta,
                          int nstep);

#endif
