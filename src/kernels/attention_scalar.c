/* Scalar references of the attention kernels, and the dispatch. The order
 * of every floating-point operation is the SIMD kernels' (four lanes, then
 * a fixed reduction), so both give the same bits. */
#include "attention_kernels.h"
#include "exp_poly.h"

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
        /* the block's scale joins the weight first: one multiply per element, as in the SIMD kernel */
        const block_q8_0 *b = values;
        for (int j = 0; j < n; j++)
            for (int d0 = 0; d0 < hd; d0 += QK8_0, b++) {
                float w = p[j] * gf_half_to_float(b->d);
                for (int i = 0; i < QK8_0; i++) acc[d0 + i] += w * (float)b->qs[i];
            }
        return;
    }
    for (int j = 0; j < n; j++)
        for (int d = 0; d < hd; d++) acc[d] += p[j] * elem(values, kv, (size_t)j * hd + d);
}

void gf_f32_to_f16_row(gf_half *dst, const float *src, int n) {
    for (int i = 0; i < n; i++) dst[i] = gf_float_to_half(src[i]);
}

#if defined(__wasm_simd128__)
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    gf_attn_scores_simd128(q, keys, kv, n, hd, scale, out);
}
float gf_attn_exp(float *x, int n, float max) { return gf_attn_exp_simd128(x, n, max); }
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    gf_attn_accumulate_simd128(acc, p, values, kv, n, hd);
}
#else
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    gf_attn_scores_ref(q, keys, kv, n, hd, scale, out);
}
float gf_attn_exp(float *x, int n, float max) { return gf_attn_exp_ref(x, n, max); }
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    gf_attn_accumulate_ref(acc, p, values, kv, n, hd);
}
#endif
