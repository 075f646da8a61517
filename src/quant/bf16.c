#include "quant/bf16.h"

void gf_dequantize_row_bf16(const void *src, float *dst, int64_t n) {
    const gf_bf16 *x = src;
    for (int64_t i = 0; i < n; i++) dst[i] = gf_bf16_to_float(x[i]);
}

float gf_dot_bf16_ref(int n, const void *w_row, const void *act_row) {
    const gf_bf16 *w = w_row, *a = act_row;
    float lane[4] = {0, 0, 0, 0}, tail = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) lane[j] += gf_bf16_to_float(w[i + j]) * gf_bf16_to_float(a[i + j]);
    for (; i < n; i++) tail += gf_bf16_to_float(w[i]) * gf_bf16_to_float(a[i]);
    return ((lane[0] + lane[2]) + (lane[1] + lane[3])) + tail;
}

void gf_quantize_row_bf16_ref(const float *x, void *y, int64_t n) {
    gf_bf16 *out = y;
    for (int64_t i = 0; i < n; i++) out[i] = gf_float_to_bf16(x[i]);
}

void gf_quantize_act_row_bf16_ref(const float *x, void *dst, int64_t n) { gf_quantize_row_bf16_ref(x, dst, n); }
