/* Scalar references of the attention kernels, and the dispatch. The order
 * of every floating-point operation is the SIMD kernels' (four lanes, then
 * a fixed reduction), so both give the same bits. */
#include "kernels/attention_kernels.h"
#include "kernels/exp_poly.h"

#include <math.h>
#include <string.h>

/* e^x for x <= 0 (exp_poly.h): softmax weights below e^-87.3 count as 0. */
float gf_attn_exp1(float x) { return gf_exp_poly(x); }

/* element i of consecutive f32 or f16 rows */
static float elem(const void *rows, gf_kv_type kv, size_t i) {
    return kv == GF_KV_F16 ? gf_half_to_float(((const gf_half *)rows)[i]) : ((const float *)rows)[i];
}

void gf_attn_scores_ref(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    int body = hd & ~3;
    for (int j = 0; j < n; j++) {
        size_t row = (size_t)j * hd;
        float lane[4] = {0, 0, 0, 0};
        for (int d = 0; d < body; d++) lane[d & 3] += q[d] * elem(keys, kv, row + d);
        float s = (lane[0] + lane[2]) + (lane[1] + lane[3]);
        for (int d = body; d < hd; d++) s += q[d] * elem(keys, kv, row + d);
        out[j] = s * scale;
    }
}

void gf_attn_softcap(float *x, int n, float cap) {
    float inv = 1.0f / cap; /* as llama.cpp: scaled by the reciprocal, tanh, scaled back */
    for (int j = 0; j < n; j++) x[j] = tanhf(x[j] * inv) * cap;
}

float gf_attn_exp_ref(float *x, int n, float max) {
    float lane[4] = {0, 0, 0, 0};
    int body = n & ~3;
    for (int j = 0; j < body; j++) lane[j & 3] += (x[j] = gf_attn_exp1(x[j] - max));
    float sum = (lane[0] + lane[2]) + (lane[1] + lane[3]);
    for (int j = body; j < n; j++) sum += (x[j] = gf_attn_exp1(x[j] - max));
    return sum;
}

void gf_attn_accumulate_ref(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    if (kv == GF_KV_Q8_0) {
        const block_q8_0 *rows = values;
        const int nb = hd / QK8_0;
        int16_t wq[GF_ATTN_MAX_TILE];
        for (int b = 0; b < nb; b++) {
            float s = gf_attn_q8_0_weights(p, rows, n, nb, b, wq);
            if (s == 0) continue;
            for (int i = 0; i < QK8_0; i++) {
                int32_t sum = 0;
                for (int j = 0; j < n; j++) sum += wq[j] * rows[(size_t)j * nb + b].qs[i];
                acc[b * QK8_0 + i] += (float)sum * s;
            }
        }
        return;
    }
    for (int j = 0; j < n; j++)
        for (int d = 0; d < hd; d++) acc[d] += p[j] * elem(values, kv, (size_t)j * hd + d);
}

float gf_attn_q8_0_weights(const float *p, const block_q8_0 *rows, int n, int nb, int b, int16_t *wq) {
    float w[GF_ATTN_MAX_TILE], max = 0;
    for (int j = 0; j < n; j++) {
        w[j] = p[j] * gf_half_to_float(rows[(size_t)j * nb + b].d);
        max = w[j] > max || w[j] != w[j] ? w[j] : max;
    }
    if (max == 0 || !(max < INFINITY)) {
        for (int j = 0; j < n; j++) wq[j] = 0;
        return max == 0 ? 0 : NAN;
    }
    float inv = 32767.0f / max;
    for (int j = 0; j < n; j++) wq[j] = (int16_t)nearbyintf(w[j] * inv);
    return max / 32767.0f;
}

void gf_attn_widen_ref(float *dst, const gf_half *src, int n) {
    for (int i = 0; i < n; i++) dst[i] = gf_half_to_float(src[i]);
}

void gf_f32_to_f16_row(gf_half *dst, const float *src, int n) {
    for (int i = 0; i < n; i++) dst[i] = gf_float_to_half(src[i]);
}
