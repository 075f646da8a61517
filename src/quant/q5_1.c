/* Q5_1: scalar reference code (see q5_1.h). */
#include "quant/q5_1.h"

#include <float.h>
#include <string.h>

static uint32_t qh_bits(const block_q5_1 *b) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    return qh;
}

/* element j of a block, 0..31 */
static int q5_1_value(const block_q5_1 *b, uint32_t qh, int j) {
    int lo = j < 16 ? b->qs[j] & 0xF : b->qs[j - 16] >> 4;
    return lo | (int)((qh >> j) & 1) << 4;
}

void gf_dequantize_row_q5_1(const void *src, float *dst, int64_t n) {
    const block_q5_1 *x = src;
    for (int64_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
        const float d = gf_half_to_float(x[i].d), m = gf_half_to_float(x[i].m);
        const uint32_t qh = qh_bits(&x[i]);
        for (int j = 0; j < QK5_1; j++) dst[j] = (float)q5_1_value(&x[i], qh, j) * d + m;
    }
}

float gf_dot_q5_1_ref(int n, const void *w_row, const void *act_row) {
    const block_q5_1 *w = w_row;
    const block_q8_1 *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK5_1; b++) {
        const uint32_t qh = qh_bits(&w[b]);
        int sum = 0;
        for (int j = 0; j < QK5_1; j++) sum += q5_1_value(&w[b], qh, j) * a[b].qs[j];
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum +
             gf_half_to_float(w[b].m) * gf_half_to_float(a[b].s);
    }
    return s;
}

void gf_quantize_row_q5_1_ref(const float *x, void *y_, int64_t n) {
    block_q5_1 *y = y_;
    for (int64_t i = 0; i < n / QK5_1; i++, x += QK5_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK5_1; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = gf_float_to_half(d);
        y[i].m = gf_float_to_half(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            /* truncation of (x - min) * id + 0.5, as llama.cpp's (uint8_t) cast;
             * the value is in [0.5, 31.5] for finite rows */
            const uint8_t a = (uint8_t)((x[j] - min) * id + 0.5f);
            const uint8_t b = (uint8_t)((x[j + QK5_1 / 2] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((a & 0xF) | (b & 0xF) << 4);
            qh |= (uint32_t)(a >> 4 & 1) << j;
            qh |= (uint32_t)(b >> 4 & 1) << (j + QK5_1 / 2);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}
