/* Output-aware row quantization (GPTQ, Frantar et al. 2022), in the same
 * block formats.
 *
 * The error that matters is in the matrix's output, dW x, not in the
 * weights: with H = E[x x^T] from calibration, quantizing the row's
 * elements in order and spreading each element's rounding error over the
 * elements not yet quantized (weighted by the inverse of H) lets correlated
 * input channels cancel each other's errors. Each block's scales are still
 * chosen by the search quantizer (importance-weighted) on the current,
 * compensated values; then its elements are rounded one by one.
 *
 * H is kept block-diagonal (blocks of `block` input channels; the last may
 * be shorter), which bounds memory and time at n x block per matrix. u holds,
 * for each row i of the input, the upper Cholesky factor U of the inverse of
 * H's block (H^-1 = U^T U) from column block_start(i): u[i * block + k]. */
#ifndef GF_QUANTIZE_GPTQ_H
#define GF_QUANTIZE_GPTQ_H

#include <stdint.h>

/* The types GPTQ has level layouts for: every writable quantized type
 * (Q8_0, Q4_0, Q4_1, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS); BF16 is
 * written with the (importance-weighted) search, i.e. rounded to nearest. */
int gf_gptq_supported(uint32_t type);

/* x is not modified; scratch holds n floats. */
int gf_quantize_row_gptq(uint32_t type, const float *x, const float *importance, const float *u, int block, void *dst, int64_t n,
                         float *scratch);

/* Turns accumulated second moments (h: for each row i, H[i][block_start(i) + k]
 * for k >= i - block_start(i), summed over `count` samples) into the factor u
 * above, in place. damp: fraction of the mean diagonal added to it. */
int gf_gptq_factor(float *h, int64_t n, int block, double count, double damp);

#endif
