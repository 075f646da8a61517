/* Q5_0: scalar reference code (see q5_0.h). */
#include "quant/q5_0.h"

#include <string.h>

int gf_q5_0_value(const block_q5_0 *b, int j) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    const int lo = j < 16 ? b->qs[j] & 0xF : b->qs[j - 16] >> 4;
    return (lo | (int)((qh >> j) & 1) << 4) - 16;
}

void gf_dequantize_row_q5_0(const void *src, float *dst, int64_t n) {
    const block_q5_0 *x = src;
    for (int64_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
        const float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK5_0; j++) dst[j] = d * (float)gf_q5_0_value(&x[i], j);
    }
}

float gf_dot_q5_0_ref(int n, const void *w_row, const void *act_row) {
    const block_q5_0 *w = w_row;
    const block_q8_0 *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK5_0; b++) {
        int sum = 0;
        for (int j = 0; j < QK5_0; j++) sum += gf_q5_0_value(&w[b], j) * a[b].qs[j];
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}
