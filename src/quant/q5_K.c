/* Q5_K: scalar reference code (see q5_K.h). The quantizer re-implements
 * llama.cpp's quantize_row_q5_K_ref (make_qkx2_quants per sub-block, 6-bit
 * scales and mins, requantization with the stored scales) with the same
 * float operations in the same order, so its bytes match llama-quantize's. */
#include "quant/q5_K.h"
#include "quant/quantize_k.h"

#include <math.h>
#include <string.h>

/* element l (0..31) of sub-block j of a super-block, 0..31 */
static int q5_K_value(const block_q5_K *b, int j, int l) {
    const uint8_t q = b->qs[32 * (j / 2) + l];
    return ((j & 1) ? q >> 4 : q & 0xF) | ((b->qh[l] >> j) & 1) << 4;
}

void gf_dequantize_row_q5_K(const void *src, float *dst, int64_t n) {
    const block_q5_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = gf_half_to_float(x[i].d), min = gf_half_to_float(x[i].dmin);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)q5_K_value(&x[i], j, l) - m1;
        }
    }
}

float gf_dot_q5_K_ref(int n, const void *w_row, const void *act_row) {
    const block_q5_K *w = w_row;
    const block_q8_K *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        const int8_t *y = a[b].qs;
        int sum = 0, sum_mins = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, w[b].scales, &sc, &m);
            sum_mins += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            int sub = 0;
            for (int l = 0; l < 32; l++) sub += q5_K_value(&w[b], j, l) * y[32 * j + l];
            sum += sc * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum - gf_half_to_float(w[b].dmin) * a[b].d * (float)sum_mins;
    }
    return s;
}

/* round to nearest, ties to even, for |v| < 2^22 (llama.cpp's nearest_int) */
static int nearest(float v) {
    float f = v + 12582912.f;
    int32_t i;
    memcpy(&i, &f, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void gf_q5_K_set_levels(block_q5_K *y, const uint8_t *L) {
    memset(y->qh, 0, sizeof y->qh);
    for (int p = 0; p < 4; p++) {
        for (int l = 0; l < 32; l++) {
            const int a = L[64 * p + l], b = L[64 * p + 32 + l];
            y->qs[32 * p + l] = (uint8_t)((a & 0xF) | (b & 0xF) << 4);
            y->qh[l] |= (uint8_t)((a >> 4) << (2 * p) | (b >> 4) << (2 * p + 1));
        }
    }
}

static void quantize_block(const float *x, block_q5_K *y) {
    uint8_t L[QK_K];
    float w[32], scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = gf_make_qkx2_quants(x + 32 * j, w, 32, 31, L + 32 * j, &mins[j], -0.5f, 0.1f, 15);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f, inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(y->scales, 0, 12);
    for (int j = 0; j < QK_K / 32; j++) {
        /* the conversion to a byte wraps as llama.cpp's does, then clamps */
        uint8_t ls = (uint8_t)nearest(inv_scale * scales[j]), lm = (uint8_t)nearest(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            y->scales[j] = ls;
            y->scales[j + 4] = lm;
        } else {
            y->scales[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
            y->scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            y->scales[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    y->d = gf_float_to_half(max_scale / 63.f);
    y->dmin = gf_float_to_half(max_min / 63.f);
    /* requantize with the stored scales (sub-blocks whose scale is 0 keep the fit's levels) */
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t sc, m;
        gf_q4_K_scale_min(j, y->scales, &sc, &m);
        const float d = gf_half_to_float(y->d) * sc;
        if (!d) continue;
        const float dm = gf_half_to_float(y->dmin) * m;
        for (int l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)clampi(nearest((x[32 * j + l] + dm) / d), 0, 31);
    }
    gf_q5_K_set_levels(y, L);
}

void gf_quantize_row_q5_K_ref(const float *x, void *y, int64_t n) {
    block_q5_K *b = y;
    for (int64_t i = 0; i < n / QK_K; i++) quantize_block(x + QK_K * i, b + i);
}

void gf_quantize_block_q5_K_search(const float *x, const float *w, void *dst) {
    block_q5_K *y = dst;
    gf_k_asym k = {.n_sub = 8, .len = 32, .nmax = 31, .code_max = 63};
    gf_search_k_asym(x, w, &k);
    gf_q4_K_pack_scales(k.ls, k.lm, y->scales);
    y->d = gf_float_to_half(k.d);
    y->dmin = gf_float_to_half(k.dmin);
    gf_q5_K_set_levels(y, k.L);
}
