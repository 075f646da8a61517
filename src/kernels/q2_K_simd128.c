/* Q2_K x Q8_K matmul in SIMD128 (plain, relaxed, relaxed16): the shared
 * low-bit K-quant kernel (src/kernels/k_lowbit_simd128.h), bit-identical to
 * gf_dot_q2_K_ref. */
#include "kernels/k_lowbit_simd128.h"

void gf_matmul_q2_K_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                            size_t y_stride) {
    kq_matmul(KQ_Q2, w, r0, r1, act, act_stride, n_tok, y, y_stride);
}
