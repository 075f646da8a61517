/* Scalar reference kernels, written for clarity. The reference dot product
 * of each weight type is in its registry row (quant/registry.c; the code is
 * beside its block format in quant/quant.c); gf_matmul_ref applies it. */
#include <string.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels.h"

static float dot_f32(int n, const float *w, const float *a) {
    float s = 0;
    for (int i = 0; i < n; i++) s += w[i] * a[i];
    return s;
}

void gf_matmul_ref(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                   size_t y_stride) {
    for (int t = 0; t < n_tok; t++) {
        const char *a = (const char *)act + (size_t)t * act_stride;
        for (int r = r0; r < r1; r++)
            y[(size_t)t * y_stride + r] = gf_dot_ref(w->type, w->n, (const char *)w->data + (size_t)r * w->row_bytes, a);
    }
}

float gf_dot_f32_ref(const float *a, const float *b, int n) { return dot_f32(n, a, b); }

void gf_axpy_f32_ref(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

void gf_scale_f32_ref(float *y, float a, int n) {
    for (int i = 0; i < n; i++) y[i] *= a;
}

void gf_swiglu_f32_ref(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + gf_exp_poly(-gate[i])) * up[i];
}
