/* K-quant super-blocks (256 elements): llama.cpp's reference quantizers
 * (whole rows) and greenformer's searches (one block, weighted by w when not
 * NULL; quantize.c's row driver keeps the reference block where it is no
 * worse). Used through gf_quantize_row (quantize.h). */
#ifndef GF_QUANTIZE_K_H
#define GF_QUANTIZE_K_H

#include "quant/quant.h"

/* llama.cpp's reference quantizers for whole rows (n a multiple of 256). */
void gf_quantize_row_q4_K_ref(const float *x, void *y, int64_t n);
void gf_quantize_row_q6_K_ref(const float *x, void *y, int64_t n);

void gf_quantize_block_q4_K_search(const float *x, const float *w, void *y);
void gf_quantize_block_q6_K_search(const float *x, const float *w, void *y);

/* Replace a block's levels (0..15 for Q4_K, 0..63 for Q6_K, in element
 * order), keeping its scales: for quantizers that choose levels themselves. */
void gf_q4_K_set_levels(block_q4_K *y, const uint8_t *L);
void gf_q6_K_set_levels(block_q6_K *y, const uint8_t *L);

/* The K-quant searches, shared by the types of the same shape; what each
 * minimizes is sum_i w_i (x_i - value_i)^2 over the super-block (w NULL: 1).
 *
 * Asymmetric (Q4_K: 8 x 32, levels 0..15, 6-bit codes; Q5_K: 8 x 32, 0..31,
 * 6-bit; Q2_K: 16 x 16, 0..3, 4-bit): x = d * ls[j] * L - dmin * lm[j].
 * Each sub-block's scale and minimum fitted (gf_search_asym), the
 * super-scales d, dmin chosen by the error after coding and requantizing
 * (coordinate search), codes nudged by +-1, then d, dmin refitted by least
 * squares for the chosen codes. The caller sets n_sub, len, nmax, code_max. */
typedef struct {
    int n_sub, len, nmax, code_max;
    float d, dmin;          /* fp16-representable */
    uint8_t ls[16], lm[16]; /* codes, 0..code_max */
    uint8_t L[QK_K];        /* levels, 0..nmax, in element order */
} gf_k_asym;
void gf_search_k_asym(const float *x, const float *w, gf_k_asym *k);

/* Symmetric (Q6_K: 16 x 16, levels -32..31, codes -128..127; Q3_K: 16 x 16,
 * -4..3, -32..31): x = d * sc[j] * L. Sub-block scales fitted
 * (gf_search_sym), d chosen by the error after coding (the largest scale
 * near either end of the codes), codes nudged by +-2. Returns 0 (nothing
 * set) for an all-zero block. */
typedef struct {
    int n_sub, len, lo, hi, code_lo, code_hi;
    float d;       /* fp16-representable */
    int8_t sc[16]; /* codes */
    int8_t L[QK_K]; /* levels, lo..hi */
} gf_k_sym;
int gf_search_k_sym(const float *x, const float *w, gf_k_sym *k);

/* Q4_K's (and Q5_K's) 12 bytes of 6-bit scales and mins. */
void gf_q4_K_pack_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t *scales);

/* llama.cpp's make_qkx2_quants (its imatrix-free K-quant scale fit): x ~
 * scale * L - neg_min with L in [0, nmax], the w-weighted squared error
 * minimized over nstep + 1 candidate scales from rmin in steps of rdelta.
 * Returns the scale; n <= 32. Shared by the Q4_K and Q5_K reference quantizers. */
float gf_make_qkx2_quants(const float *x, const float *w, int n, int nmax, uint8_t *L, float *neg_min, float rmin, float rdelta,
                          int nstep);

#endif
