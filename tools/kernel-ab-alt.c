/* The "alt" side of tools/kernel-ab.sh: the base revision's SIMD128 matmul
 * kernels, compiled with their symbols renamed gf_alt_<type> (the script's
 * -D flags), dispatched by weight type as gf_matmul_alt, which
 * tools/kernel-bench.c times against the working copy's gf_matmul. Types
 * whose kernel file the script does not compile from the base revision run
 * the working copy's kernel on both sides. */
#include "kernels/kernels.h"

#define ALT(name) void gf_alt_##name(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t);
ALT(f32)
ALT(f16)
ALT(q4_0)
ALT(q4_1)
ALT(q8_0)
ALT(q4_K)
ALT(q6_K)
ALT(q5_K)
/* Q5_0 and IQ4_NL joined kernels_simd128.c later: a base revision without them runs the working copy's */
void gf_alt_q5_0(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t) __attribute__((weak));
void gf_alt_iq4_nl(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t) __attribute__((weak));

void gf_matmul_alt(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    gf_matmul_fn f;
    switch (w->type) {
    case GF_TYPE_F32: f = gf_alt_f32; break;
    case GF_TYPE_F16: f = gf_alt_f16; break;
    case GF_TYPE_Q4_0: f = gf_alt_q4_0; break;
    case GF_TYPE_Q4_1: f = gf_alt_q4_1; break;
    case GF_TYPE_Q8_0: f = gf_alt_q8_0; break;
    case GF_TYPE_Q4_K: f = gf_alt_q4_K; break;
    case GF_TYPE_Q6_K: f = gf_alt_q6_K; break;
    case GF_TYPE_Q5_K: f = gf_alt_q5_K; break;
    case GF_TYPE_Q5_0: f = gf_alt_q5_0 ? gf_alt_q5_0 : gf_matmul_kernel(w->type); break;
    case GF_TYPE_IQ4_NL: f = gf_alt_iq4_nl ? gf_alt_iq4_nl : gf_matmul_kernel(w->type); break;
    default: f = gf_matmul_kernel(w->type); break;
    }
    f(w, r0, r1, act, act_stride, n_tok, y, y_stride);
}
