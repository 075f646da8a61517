/* Q3_K: dequantization, scalar reference dot product (Q8_K activations) and
 * llama.cpp's reference quantizer, re-implemented with the same float
 * operations in the same order (so the bytes match its files). */
#include "quant/q3_K.h"
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

void gf_q3_K_scales(const uint8_t *packed, int8_t sc[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (int8_t)((lo | hi << 4) - 32);
    }
}

void gf_dequantize_row_q3_K(const void *src, float *dst, int64_t n) {
    const block_q3_K *x = src;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float d = gf_half_to_float(x[b].d);
        int8_t sc[16];
        gf_q3_K_scales(x[b].scales, sc);
        for (int e = 0; e < QK_K; e++) {
            const int low = (x[b].qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
            const int high = (x[b].hmask[e % 32] >> (e / 32)) & 1;
            const float dl = d * (float)sc[e / 16];
            dst[b * QK_K + e] = dl * (float)(low - (high ? 0 : 4));
        }
    }
}

float gf_dot_q3_K_ref(int n, const void *w_row, const void *act_row) {
    const block_q3_K *w = w_row;
    const block_q8_K *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        int8_t sc[16];
        gf_q3_K_scales(w[b].scales, sc);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++) {
                const int e = 16 * j + l;
                const int low = (w[b].qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
                const int high = (w[b].hmask[e % 32] >> (e / 32)) & 1;
                sub += (low - (high ? 0 : 4)) * a[b].qs[e];
            }
            sum += sc[j] * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum;
    }
    return s;
}

/* make_q3_quants with do_rmse: x ~ scale * (L - nmax), L in [0, 2 nmax),
 * refined by moving single levels while the x^2-weighted fit improves. */
static float fit_q3(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = imax(-nmax, imin(nmax - 1, round_int(iscale * x[i])));
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int it = 0; it < 5; it++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int nl = imax(-nmax, imin(nmax - 1, round_int(x[i] * sl2 / slx)));
                if (nl != L[i]) {
                    slx += w * x[i] * nl;
                    sl2 += w * nl * nl;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)nl;
                        sumlx = slx;
                        suml2 = sl2;
                        changed++;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

void gf_quantize_row_q3_K_ref(const float *x, void *dst, int64_t n) {
    block_q3_K *y = dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int8_t L[QK_K];
        float scales[16];
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_q3(16, 4, x + 16 * j, L + 16 * j);
            float a = fabsf(scales[j]);
            if (a > amax) {
                amax = a;
                max_scale = scales[j];
            }
        }
        memset(y[b].scales, 0, 12);
        if (max_scale != 0) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; j++) {
                int8_t l8 = (int8_t)round_int(iscale * scales[j]);
                int l = imax(-32, imin(31, l8)) + 32;
                if (j < 8) y[b].scales[j] = (uint8_t)(l & 0xF);
                else y[b].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[b].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[b].d = gf_float_to_half(1 / iscale);
        } else {
            y[b].d = gf_float_to_half(0.f);
        }
        int8_t sc[16];
        gf_q3_K_scales(y[b].scales, sc);
        const float dd = gf_half_to_float(y[b].d);
        for (int j = 0; j < 16; j++) {
            const float d = dd * sc[j];
            if (d == 0) continue;
            for (int i = 0; i < 16; i++) {
                int l = imax(-4, imin(3, round_int(x[16 * j + i] / d)));
                L[16 * j + i] = (int8_t)(l + 4);
            }
        }
        gf_q3_K_set_levels(&y[b], (const uint8_t *)L);
    }
}

void gf_q3_K_set_levels(block_q3_K *y, const uint8_t *L) {
    uint8_t low[QK_K];
    memset(y->hmask, 0, sizeof y->hmask);
    for (int e = 0; e < QK_K; e++) {
        low[e] = L[e] & 3;
        if (L[e] > 3) y->hmask[e % 32] |= (uint8_t)(1 << (e / 32));
    }
    for (int h = 0; h < QK_K; h += 128)
        for (int l = 0; l < 32; l++)
            y->qs[h / 4 + l] = (uint8_t)(low[h + l] | low[h + l + 32] << 2 | low[h + l + 64] << 4 | low[h + l + 96] << 6);
}

static void pack_scales(const int8_t sc[16], uint8_t *scales) {
    memset(scales, 0, 12);
    for (int j = 0; j < 16; j++) {
        int l = sc[j] + 32;
        if (j < 8) scales[j] = (uint8_t)(l & 0xF);
        else scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
        scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
}

void gf_quantize_block_q3_K_search(const float *x, const float *w, void *dst) {
    block_q3_K *y = dst;
    gf_k_sym k = {.n_sub = 16, .len = 16, .lo = -4, .hi = 3, .code_lo = -32, .code_hi = 31};
    if (!gf_search_k_sym(x, w, &k)) { /* an all-zero block: the reference's is exact */
        gf_quantize_row_q3_K_ref(x, y, QK_K);
        return;
    }
    uint8_t L[QK_K];
    for (int e = 0; e < QK_K; e++) L[e] = (uint8_t)(k.L[e] + 4);
    pack_scales(k.sc, y->scales);
    y->d = gf_float_to_half(k.d);
    gf_q3_K_set_levels(y, L);
}
