#include "quant/iq4_xs.h"

#include <math.h>
#include <string.h>

const int8_t gf_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

void gf_dequantize_row_iq4_xs(const void *src, float *dst, int64_t n) {
    const block_iq4_xs *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK_K / 32; j++, dst += 32) {
            const float dl = d * (float)gf_iq4_xs_scale(&x[i], j);
            const uint8_t *q = x[i].qs + 16 * j;
            for (int k = 0; k < 16; k++) {
                dst[k] = dl * gf_kvalues_iq4nl[q[k] & 0xf];
                dst[k + 16] = dl * gf_kvalues_iq4nl[q[k] >> 4];
            }
        }
    }
}

float gf_dot_iq4_xs_ref(int n, const void *w_row, const void *act_row) {
    const block_iq4_xs *w = w_row;
    const block_q8_K *a = act_row;
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        int32_t sum = 0; /* |sum| <= 8 * 32 * 32 * 127 * 127: fits */
        for (int j = 0; j < QK_K / 32; j++) {
            const uint8_t *q = w[b].qs + 16 * j;
            const int8_t *y = a[b].qs + 32 * j;
            int32_t sub = 0;
            for (int k = 0; k < 16; k++)
                sub += gf_kvalues_iq4nl[q[k] & 0xf] * y[k] + gf_kvalues_iq4nl[q[k] >> 4] * y[k + 16];
            sum += gf_iq4_xs_scale(&w[b], j) * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum;
    }
    return s;
}

/* ---- the quantizer: llama.cpp's arithmetic, operation for operation ---- */

/* round to nearest, ties to even, for |v| < 2^22 (llama.cpp's nearest_int) */
static int nearest_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

/* The codebook index nearest to v (ties to the lower one), by bisection. */
static int nearest_kvalue(float v) {
    const int8_t *k = gf_kvalues_iq4nl;
    if (v <= k[0]) return 0;
    if (v >= k[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (v < k[mid]) hi = mid;
        else lo = mid;
    }
    return v - k[hi - 1] < k[hi] - v ? hi - 1 : hi;
}

/* Weighted least-squares fit of one sub-block's scale (weights x^2):
 * returns the scale, the codebook indices left in L as llama.cpp leaves
 * them (they are recomputed after the super-block scale is known). */
static float fit_sub_block(const float *x, uint8_t *L) {
    enum { NTRY = 7 };
    float w[32], amax = 0, max = 0;
    for (int j = 0; j < 32; j++) w[j] = x[j] * x[j];
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    if (amax < 1e-15f) return 0;
    float d = -max / gf_kvalues_iq4nl[0], id = 1 / d, sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        int l = nearest_kvalue(id * x[j]);
        L[j] = (uint8_t)l;
        float q = gf_kvalues_iq4nl[l];
        sumqx += w[j] * q * x[j];
        sumq2 += w[j] * q * q;
    }
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int t = -NTRY; t <= NTRY; t++) {
        id = (t + gf_kvalues_iq4nl[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            float q = gf_kvalues_iq4nl[nearest_kvalue(id * x[j])];
            sumqx += w[j] * q * x[j];
            sumq2 += w[j] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

void gf_quantize_row_iq4_xs_ref(const float *x, void *y, int64_t n) {
    block_iq4_xs *out = y;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        block_iq4_xs *b = &out[i];
        uint8_t L[QK_K];
        float scales[QK_K / 32], max_scale = 0, amax_scale = 0;
        memset(L, 0, sizeof L);
        for (int j = 0; j < QK_K / 32; j++) {
            scales[j] = fit_sub_block(x + 32 * j, L + 32 * j);
            if (fabsf(scales[j]) > amax_scale) {
                amax_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        const float d = -max_scale / 32, id = d ? 1 / d : 0.f;
        b->d = gf_float_to_half(d);
        b->scales_h = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            int l = nearest_int(id * scales[j]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            const float dl = d * l, idl = dl ? 1 / dl : 0.f;
            for (int k = 0; k < 32; k++) L[32 * j + k] = (uint8_t)nearest_kvalue(idl * x[32 * j + k]);
            l += 32;
            if (j % 2 == 0) b->scales_l[j / 2] = (uint8_t)(l & 0xf);
            else b->scales_l[j / 2] |= (uint8_t)((l & 0xf) << 4);
            b->scales_h |= (uint16_t)((l >> 4) << 2 * j);
        }
        for (int j = 0; j < QK_K / 32; j++)
            for (int k = 0; k < 16; k++) b->qs[16 * j + k] = (uint8_t)(L[32 * j + k] | L[32 * j + 16 + k] << 4);
    }
}
