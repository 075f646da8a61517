/* Q2_K: dequantization, scalar reference dot product (Q8_K activations) and
 * llama.cpp's reference quantizer, re-implemented with the same float
 * operations in the same order (so the bytes match its files). */
#include "quant/q2_K.h"
#include "quant/quantize_k.h"

#include <math.h>
#include <string.h>

/* llama.cpp's nearest_int: round to nearest, ties to even, |x| < 2^22. */
static int round_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

static int q2_level(const uint8_t *qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3; }

void gf_dequantize_row_q2_K(const void *src, float *dst, int64_t n) {
    const block_q2_K *x = src;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float d = gf_half_to_float(x[b].d), dmin = gf_half_to_float(x[b].dmin);
        for (int j = 0; j < 16; j++) {
            const float dl = d * (float)(x[b].scales[j] & 0xF), ml = dmin * (float)(x[b].scales[j] >> 4);
            for (int l = 0; l < 16; l++) dst[b * QK_K + 16 * j + l] = dl * (float)q2_level(x[b].qs, 16 * j + l) - ml;
        }
    }
}

float gf_dot_q2_K_ref(int n, const void *w_row, const void *act_row) {
    const block_q2_K *w = w_row;
    const block_q8_K *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        int sum = 0, sum_mins = 0;
        for (int j = 0; j < 16; j++) {
            sum_mins += (w[b].scales[j] >> 4) * a[b].bsums[j];
            int sub = 0;
            for (int l = 0; l < 16; l++) sub += q2_level(w[b].qs, 16 * j + l) * a[b].qs[16 * j + l];
            sum += (w[b].scales[j] & 0xF) * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum - gf_half_to_float(w[b].dmin) * a[b].d * (float)sum_mins;
    }
    return s;
}

/* make_qkx2_quants: x ~ scale * L - min, L in [0, nmax], min >= 0, by a
 * scan over candidate scales minimizing the weighted error (absolute
 * differences when use_mad). */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min, uint8_t *Laux,
                           float rmin, float rdelta, int nstep, int use_mad) {
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        int l = round_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best += w[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = imax(0, imin(nmax, round_int(iscale * (x[i] - min))));
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                err += w[i] * diff;
            }
            if (err < best) {
                memcpy(L, Laux, (size_t)n);
                best = err;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

void gf_quantize_row_q2_K_ref(const float *x, void *dst, int64_t n) {
    block_q2_K *y = dst;
    const float q4scale = 15.f;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K], Laux[16];
        float weights[16], mins[16], scales[16];
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = fit_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; j++) y[b].scales[j] = (uint8_t)round_int(iscale * scales[j]);
            y[b].d = gf_float_to_half(max_scale / q4scale);
        } else {
            for (int j = 0; j < 16; j++) y[b].scales[j] = 0;
            y[b].d = gf_float_to_half(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < 16; j++) y[b].scales[j] |= (uint8_t)(round_int(iscale * mins[j]) << 4);
            y[b].dmin = gf_float_to_half(max_min / q4scale);
        } else {
            y[b].dmin = gf_float_to_half(0.f);
        }
        const float dd = gf_half_to_float(y[b].d), dm_all = gf_half_to_float(y[b].dmin);
        for (int j = 0; j < 16; j++) {
            const float d = dd * (y[b].scales[j] & 0xF);
            if (d == 0) continue;
            const float dm = dm_all * (y[b].scales[j] >> 4);
            for (int i = 0; i < 16; i++)
                L[16 * j + i] = (uint8_t)imax(0, imin(3, round_int((x[16 * j + i] + dm) / d)));
        }
        gf_q2_K_set_levels(&y[b], L);
    }
}

void gf_q2_K_set_levels(block_q2_K *y, const uint8_t *L) {
    for (int h = 0; h < QK_K; h += 128)
        for (int l = 0; l < 32; l++)
            y->qs[h / 4 + l] = (uint8_t)(L[h + l] | L[h + l + 32] << 2 | L[h + l + 64] << 4 | L[h + l + 96] << 6);
}

void gf_quantize_block_q2_K_search(const float *x, const float *w, void *dst) {
    block_q2_K *y = dst;
    gf_k_asym k = {.n_sub = 16, .len = 16, .nmax = 3, .code_max = 15};
    gf_search_k_asym(x, w, &k);
    for (int j = 0; j < 16; j++) y->scales[j] = (uint8_t)(k.ls[j] | k.lm[j] << 4);
    y->d = gf_float_to_half(k.d);
    y->dmin = gf_float_to_half(k.dmin);
    gf_q2_K_set_levels(y, k.L);
}
