/* Scalar reference kernels: the definition of every dot product, written for
 * clarity. Integer sums are exact; floating-point work follows llama.cpp's
 * reference order (per-block scale products accumulated in f32). */
#include <string.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels.h"

static float dot_f32(int n, const float *w, const float *a) {
    float s = 0;
    for (int i = 0; i < n; i++) s += w[i] * a[i];
    return s;
}

static float dot_f16(int n, const gf_half *w, const gf_half *a) {
    float s = 0;
    for (int i = 0; i < n; i++) s += gf_half_to_float(w[i]) * gf_half_to_float(a[i]);
    return s;
}

static float dot_q4_0(int n, const block_q4_0 *w, const block_q8_0 *a) {
    float s = 0;
    for (int b = 0; b < n / QK4_0; b++) {
        int sum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            sum += ((w[b].qs[j] & 0xf) - 8) * a[b].qs[j];
            sum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + QK4_0 / 2];
        }
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}

static float dot_q4_1(int n, const block_q4_1 *w, const block_q8_1 *a) {
    float s = 0;
    for (int b = 0; b < n / QK4_1; b++) {
        int sum = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            sum += (w[b].qs[j] & 0xf) * a[b].qs[j];
            sum += (w[b].qs[j] >> 4) * a[b].qs[j + QK4_1 / 2];
        }
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum +
             gf_half_to_float(w[b].m) * gf_half_to_float(a[b].s);
    }
    return s;
}

static float dot_q8_0(int n, const block_q8_0 *w, const block_q8_0 *a) {
    float s = 0;
    for (int b = 0; b < n / QK8_0; b++) {
        int sum = 0;
        for (int j = 0; j < QK8_0; j++) sum += w[b].qs[j] * a[b].qs[j];
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}

static float dot_q4_K(int n, const block_q4_K *w, const block_q8_K *a) {
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        const uint8_t *q = w[b].qs;
        const int8_t *y = a[b].qs;
        int sum = 0, sum_mins = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, w[b].scales, &sc, &m);
            sum_mins += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            /* sub-block j: low nibbles of bytes 32*(j/2).. for even j, high for odd */
            const uint8_t *qq = q + 32 * (j / 2);
            int sub = 0;
            for (int l = 0; l < 32; l++) sub += ((j & 1) ? qq[l] >> 4 : qq[l] & 0xf) * y[32 * j + l];
            sum += sc * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum - gf_half_to_float(w[b].dmin) * a[b].d * (float)sum_mins;
    }
    return s;
}

static float dot_q6_K(int n, const block_q6_K *w, const block_q8_K *a) {
    float s = 0;
    int8_t q[QK_K];
    for (int b = 0; b < n / QK_K; b++) {
        const uint8_t *ql = w[b].ql, *qh = w[b].qh;
        for (int h = 0; h < QK_K; h += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                q[h + l] = (int8_t)(((ql[l] & 0xf) | ((qh[l] >> 0 & 3) << 4)) - 32);
                q[h + l + 32] = (int8_t)(((ql[l + 32] & 0xf) | ((qh[l] >> 2 & 3) << 4)) - 32);
                q[h + l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32);
                q[h + l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32);
            }
        }
        int sum = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++) sub += q[16 * j + l] * a[b].qs[16 * j + l];
            sum += w[b].scales[j] * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum;
    }
    return s;
}

float gf_dot_ref(uint32_t wtype, int n, const void *w, const void *a) {
    switch (wtype) {
    case GF_TYPE_F32: return dot_f32(n, w, a);
    case GF_TYPE_F16: return dot_f16(n, w, a);
    case GF_TYPE_Q4_0: return dot_q4_0(n, w, a);
    case GF_TYPE_Q4_1: return dot_q4_1(n, w, a);
    case GF_TYPE_Q8_0: return dot_q8_0(n, w, a);
    case GF_TYPE_Q4_K: return dot_q4_K(n, w, a);
    case GF_TYPE_Q6_K: return dot_q6_K(n, w, a);
    default: return 0; /* the loader rejects other types before any matmul */
    }
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
