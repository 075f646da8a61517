/* IQ4_NL: scalar reference code (see iq4_nl.h). */
#include "quant/iq4_nl.h"

const int8_t gf_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

void gf_dequantize_row_iq4_nl(const void *src, float *dst, int64_t n) {
    const block_iq4_nl *x = src;
    for (int64_t i = 0; i < n / QK4_NL; i++, dst += QK4_NL) {
        const float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            dst[j] = d * (float)gf_kvalues_iq4nl[x[i].qs[j] & 0xF];
            dst[j + QK4_NL / 2] = d * (float)gf_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
    }
}

float gf_dot_iq4_nl_ref(int n, const void *w_row, const void *act_row) {
    const block_iq4_nl *w = w_row;
    const block_q8_0 *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK4_NL; b++) {
        int sum = 0;
        for (int j = 0; j < QK4_NL / 2; j++)
            sum += gf_kvalues_iq4nl[w[b].qs[j] & 0xF] * a[b].qs[j] + gf_kvalues_iq4nl[w[b].qs[j] >> 4] * a[b].qs[j + QK4_NL / 2];
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}
