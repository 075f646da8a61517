#include "quant/iq4_xs.h"

#include <math.h>
#include <string.h>

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

/* The codebook index nearest to each integer -128..114 (ties to the upper
 * one, as llama.cpp's bisection in best_index_int8 resolves them). Between
 * two integers the answer can only move up one index (the codebook's values
 * are at least 11 apart), so a lookup and one comparison give the nearest
 * index of any v: the bisection's answer exactly (the reference bytes are
 * tested equal to llama-quantize's) at a fraction of its cost. */
static const uint8_t k_nearest_at[243] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
};

static int nearest_kvalue(float v) {
    const int8_t *k = gf_kvalues_iq4nl;
    if (!(v > k[0])) return 0;
    if (v >= k[15]) return 15;
    int idx = k_nearest_at[(int)floorf(v) + 128];
    if (idx < 15 && !(v - k[idx] < k[idx + 1] - v)) idx++;
    return idx;
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

/* ---- the search quantizer ---- */


static float wt(const float *w, int i) { return w ? w[i] : 1.0f; }
static float half_round(float v) { return gf_half_to_float(gf_float_to_half(v)); }

/* sum_i w_i (x_i - s kvalues[q_i])^2 with each q_i the index nearest to x_i / s. */
static float sub_error(const float *x, const float *w, float s, uint8_t *L) {
    const float is = s != 0 ? 1 / s : 0.f;
    float e = 0;
    for (int i = 0; i < 32; i++) {
        int l = nearest_kvalue(is * x[i]);
        if (L) L[i] = (uint8_t)l;
        float diff = x[i] - s * (float)gf_kvalues_iq4nl[l];
        e += wt(w, i) * diff * diff;
    }
    return e;
}

/* One sub-block's scale: the largest element mapped near either end of the
 * codebook, each candidate refitted by weighted least squares for its
 * indices and requantized, the least error kept. */
static float search_sub_block(const float *x, const float *w) {
    float amax = 0, max = 0;
    for (int i = 0; i < 32; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    if (amax < 1e-15f) return 0;
    uint8_t L[32];
    float best = INFINITY, best_s = 0;
    const float ends[2] = {gf_kvalues_iq4nl[0], gf_kvalues_iq4nl[15]};
    for (int e = 0; e < 2; e++)
        for (int t = -8; t <= 8; t++) {
            float s = max / (ends[e] + 1.5f * (float)t);
            for (int it = 0; it < 3; it++) {
                float err = sub_error(x, w, s, L);
                if (err < best) {
                    best = err;
                    best_s = s;
                }
                float sqx = 0, sqq = 0;
                for (int i = 0; i < 32; i++) {
                    float q = gf_kvalues_iq4nl[L[i]];
                    sqx += wt(w, i) * q * x[i];
                    sqq += wt(w, i) * q * q;
                }
                if (!(sqq > 0)) break;
                float ns = sqx / sqq;
                if (ns == s) break;
                s = ns;
            }
        }
    return best_s;
}

typedef struct {
    float d;
    int ls[QK_K / 32];
    float err;
} coding;

static void code_scales(const float *x, const float *w, const float *scales, float d, coding *c) {
    c->d = d;
    c->err = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        c->ls[j] = d != 0 ? nearest_int(scales[j] / d) : 0;
        c->ls[j] = c->ls[j] < -32 ? -32 : c->ls[j] > 31 ? 31 : c->ls[j];
        c->err += sub_error(x + 32 * j, w ? w + 32 * j : NULL, d * (float)c->ls[j], NULL);
    }
}

static void nudge_scales(const float *x, const float *w, coding *c) {
    c->err = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        const float *xj = x + 32 * j, *wj = w ? w + 32 * j : NULL;
        float cur = sub_error(xj, wj, c->d * (float)c->ls[j], NULL);
        int bl = c->ls[j];
        for (int a = -2; a <= 2; a++) {
            int l = c->ls[j] + a;
            if (!a || l < -32 || l > 31) continue;
            float e = sub_error(xj, wj, c->d * (float)l, NULL);
            if (e < cur) {
                cur = e;
                bl = l;
            }
        }
        c->ls[j] = bl;
        c->err += cur;
    }
}

static void pack(const coding *c, const float *x, block_iq4_xs *b) {
    uint8_t L[QK_K];
    b->d = gf_float_to_half(c->d);
    b->scales_h = 0;
    memset(b->scales_l, 0, sizeof b->scales_l);
    for (int j = 0; j < QK_K / 32; j++) {
        int l = c->ls[j] + 32;
        b->scales_l[j / 2] |= (uint8_t)((l & 0xf) << 4 * (j % 2));
        b->scales_h |= (uint16_t)((l >> 4) << 2 * j);
        sub_error(x + 32 * j, NULL, c->d * (float)c->ls[j], L + 32 * j);
    }
    gf_iq4_xs_set_levels(b, L);
}

void gf_iq4_xs_set_levels(block_iq4_xs *b, const uint8_t *L) {
    for (int j = 0; j < QK_K / 32; j++)
        for (int k = 0; k < 16; k++) b->qs[16 * j + k] = (uint8_t)(L[32 * j + k] | L[32 * j + 16 + k] << 4);
}

static void search_block(const float *x, const float *w, block_iq4_xs *y) {
    float scales[QK_K / 32], vmax = 0, amax = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        scales[j] = search_sub_block(x + 32 * j, w ? w + 32 * j : NULL);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            vmax = scales[j];
        }
    }
    if (amax < 1e-15f) {
        gf_quantize_row_iq4_xs_ref(x, y, QK_K);
        return;
    }
    /* the super-scale: the largest sub-block scale coded near -32 or 31 */
    coding best = {.err = INFINITY}, c;
    for (int k = 0; k <= 10; k++) {
        const float cands[2] = {half_round(vmax / (-32.f + (float)k)), half_round(vmax / (31.f - (float)k))};
        for (int i = 0; i < 2; i++) {
            code_scales(x, w, scales, cands[i], &c);
            if (c.err < best.err) best = c;
        }
    }
    nudge_scales(x, w, &best);
    /* refit d by least squares for the chosen codes and indices */
    for (int round = 0; round < 2; round++) {
        double sax = 0, saa = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t L[32];
            sub_error(x + 32 * j, NULL, best.d * (float)best.ls[j], L);
            for (int i = 0; i < 32; i++) {
                double a = (double)best.ls[j] * gf_kvalues_iq4nl[L[i]], wi = wt(w, 32 * j + i);
                sax += wi * a * x[32 * j + i];
                saa += wi * a * a;
            }
        }
        if (!(saa > 0)) break;
        c = best;
        c.d = half_round((float)(sax / saa));
        nudge_scales(x, w, &c);
        if (!(c.err < best.err)) break;
        best = c;
    }
    pack(&best, x, y);
}

void gf_quantize_block_iq4_xs_search(const float *x, const float *w, void *y) { search_block(x, w, y); }
