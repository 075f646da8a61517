/* Q4_K and Q6_K super-blocks.
 *
 * Reference: llama.cpp's algorithm, re-implemented (same float operations
 * in the same order, so the bytes match its files). Q4_K fits each
 * 32-element sub-block's scale and minimum with make_qkx2_quants-style
 * scans, then codes them in 6 bits; Q6_K fits each 16-element sub-block
 * symmetrically (make_qx_quants, error weighted by x^2) and codes the
 * scales in 8 bits.
 *
 * Search: the sub-block fits minimize the (importance-)weighted squared
 * error, the super-block scales are chosen by the error after the 6/8-bit
 * coding and requantization (not by how well the sub-block scales are
 * coded), and each sub-block's codes are then nudged by +-1 where that
 * lowers the error. The result is compared with the reference block and
 * the better one kept. */
#include "quant/quantize_k.h"

#include <float.h>
#include <string.h>

#include "quant/quantize_search.h"

#define STEPS_SUB 10
#define EPS_ZERO 1e-15f

static float h2f(gf_half h) { return gf_half_to_float(h); }
static float wt(const float *w, int i) { return w ? w[i] : 1.0f; }

/* ---- Q4_K ---- */

static void q4k_pack_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t *s) {
    memset(s, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

static void q4k_pack_qs(const uint8_t *L, uint8_t *q) {
    for (int j = 0; j < QK_K; j += 64, q += 32)
        for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
}

/* make_qkx2_quants (quantize_k.h). */
float gf_make_qkx2_quants(const float *x, const float *w, int n, int nmax, uint8_t *L, float *neg_min, float rmin, float rdelta,
                               int nstep) {
    uint8_t aux[32];
    float mn = x[0], mx = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (mn > 0) mn = 0;
    if (mx == mn) {
        memset(L, 0, (size_t)n);
        *neg_min = -mn;
        return 0;
    }
    float iscale = (float)nmax / (mx - mn), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)gf_clampi(gf_nearest_int(iscale * (x[i] - mn)), 0, nmax);
        float diff = scale * (float)L[i] + mn - x[i];
        diff = diff * diff;
        best += w[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (mx - mn);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = gf_clampi(gf_nearest_int(iscale * (x[i] - mn)), 0, nmax);
            aux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
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
                float diff = this_scale * (float)aux[i] + this_min - x[i];
                diff = diff * diff;
                err += w[i] * diff;
            }
            if (err < best) {
                memcpy(L, aux, (size_t)n);
                best = err;
                scale = this_scale;
                mn = this_min;
            }
        }
    }
    *neg_min = -mn;
    return scale;
}

/* Levels for the stored scales: what dequantization will multiply. */
static void q4k_requant(const float *x, const block_q4_K *y, uint8_t *L) {
    float d = h2f(y->d), dmin = h2f(y->dmin);
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t sc, m;
        gf_q4_K_scale_min(j, y->scales, &sc, &m);
        float ds = d * (float)sc;
        if (!ds) continue;
        float dm = dmin * (float)m;
        for (int i = 0; i < 32; i++) L[32 * j + i] = (uint8_t)gf_clampi(gf_nearest_int((x[32 * j + i] + dm) / ds), 0, 15);
    }
}

static void q4k_ref(const float *x, block_q4_K *y) {
    uint8_t L[QK_K], ls[8], lm[8];
    float w[32], scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = gf_make_qkx2_quants(x + 32 * j, w, 32, 15, L + 32 * j, &mins[j], -1.f, 0.1f, 20);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f, inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; j++) {
        /* the byte conversion wraps like llama.cpp's, then clamps */
        uint8_t a = (uint8_t)gf_nearest_int(inv_scale * scales[j]), b = (uint8_t)gf_nearest_int(inv_min * mins[j]);
        ls[j] = a < 63 ? a : 63;
        lm[j] = b < 63 ? b : 63;
    }
    q4k_pack_scales(ls, lm, y->scales);
    y->d = gf_float_to_half(max_scale / 63.f);
    y->dmin = gf_float_to_half(max_min / 63.f);
    q4k_requant(x, y, L);
    q4k_pack_qs(L, y->qs);
}

/* ---- the asymmetric K search (Q4_K, Q5_K, Q2_K) ---- */

/* Error of one sub-block with effective scale ds and minimum dm. */
static float ka_sub_error(const float *x, const float *w, int len, int nmax, float ds, float dm, uint8_t *L) {
    float e = 0;
    for (int i = 0; i < len; i++) {
        int l = ds ? gf_clampi(gf_nearest_int((x[i] + dm) / ds), 0, nmax) : 0;
        if (L) L[i] = (uint8_t)l;
        float diff = x[i] - (ds * (float)l - dm);
        e += wt(w, i) * diff * diff;
    }
    return e;
}

typedef struct {
    float d, dmin; /* fp16-representable */
    uint8_t ls[16], lm[16];
    float err;
} ka_coding;

static const float *sub_w(const float *w, int off) { return w ? w + off : NULL; }

/* Codes the sub-block fits with super-scales d, dmin and measures the result. */
static void ka_code(const gf_k_asym *k, const float *x, const float *w, const float *scales, const float *mins, float d, float dmin,
                    ka_coding *c) {
    c->d = d;
    c->dmin = dmin;
    c->err = 0;
    for (int j = 0; j < k->n_sub; j++) {
        c->ls[j] = (uint8_t)(d > 0 ? gf_clampi(gf_nearest_int(scales[j] / d), 0, k->code_max) : 0);
        c->lm[j] = (uint8_t)(dmin > 0 ? gf_clampi(gf_nearest_int(mins[j] / dmin), 0, k->code_max) : 0);
        c->err += ka_sub_error(x + k->len * j, sub_w(w, k->len * j), k->len, k->nmax, d * (float)c->ls[j], dmin * (float)c->lm[j], NULL);
    }
}

static float half_round(float v) { return h2f(gf_float_to_half(v)); }

static void ka_total_error(const gf_k_asym *k, const float *x, const float *w, ka_coding *c) {
    c->err = 0;
    for (int j = 0; j < k->n_sub; j++)
        c->err += ka_sub_error(x + k->len * j, sub_w(w, k->len * j), k->len, k->nmax, c->d * (float)c->ls[j], c->dmin * (float)c->lm[j], NULL);
}

/* Each sub-block's codes may do better one step away. */
static void ka_refine_codes(const gf_k_asym *k, const float *x, const float *w, ka_coding *c) {
    c->err = 0;
    for (int j = 0; j < k->n_sub; j++) {
        const float *xj = x + k->len * j, *wj = sub_w(w, k->len * j);
        float cur = ka_sub_error(xj, wj, k->len, k->nmax, c->d * (float)c->ls[j], c->dmin * (float)c->lm[j], NULL);
        int bs = c->ls[j], bm = c->lm[j];
        for (int a = -1; a <= 1; a++)
            for (int b = -1; b <= 1; b++) {
                int sc = c->ls[j] + a, m = c->lm[j] + b;
                if ((!a && !b) || sc < 0 || sc > k->code_max || m < 0 || m > k->code_max) continue;
                float e = ka_sub_error(xj, wj, k->len, k->nmax, c->d * (float)sc, c->dmin * (float)m, NULL);
                if (e < cur) {
                    cur = e;
                    bs = sc;
                    bm = m;
                }
            }
        c->ls[j] = (uint8_t)bs;
        c->lm[j] = (uint8_t)bm;
        c->err += cur;
    }
}

void gf_search_k_asym(const float *x, const float *w, gf_k_asym *k) {
    float scales[16], mins[16], max_scale = 0, max_min = 0;
    const float cm = (float)k->code_max;
    for (int j = 0; j < k->n_sub; j++) {
        float off, e;
        scales[j] = gf_search_asym(x + k->len * j, sub_w(w, k->len * j), k->len, k->nmax, 1, 0, STEPS_SUB, k->L + k->len * j, &off, &e);
        mins[j] = -off;
        max_scale = fmaxf(max_scale, scales[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    /* super-scales: a few passes of coordinate search around max/code_max
     * (wider below it when the codes are coarse: 4-bit codes round more) */
    ka_coding best, c;
    const int k_lo = k->code_max < 63 ? -10 : -3;
    ka_code(k, x, w, scales, mins, half_round(max_scale / cm), half_round(max_min / cm), &best);
    for (int pass = 0; pass < 2; pass++) {
        for (int s = k_lo; s <= 10; s++) {
            float d = half_round(max_scale / cm * (1.0f + 0.02f * (float)s));
            ka_code(k, x, w, scales, mins, d, best.dmin, &c);
            if (c.err < best.err) best = c;
        }
        for (int s = k_lo; s <= 10; s++) {
            float dmin = half_round(max_min / cm * (1.0f + 0.02f * (float)s));
            ka_code(k, x, w, scales, mins, best.d, dmin, &c);
            if (c.err < best.err) best = c;
        }
    }
    ka_refine_codes(k, x, w, &best);
    /* refit both super-scales by least squares for the chosen codes, then requantize */
    for (int round = 0; round < 3; round++) {
        double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
        for (int j = 0; j < k->n_sub; j++) {
            ka_sub_error(x + k->len * j, NULL, k->len, k->nmax, best.d * (float)best.ls[j], best.dmin * (float)best.lm[j], k->L + k->len * j);
            for (int i = 0; i < k->len; i++) {
                int e = k->len * j + i;
                double wi = wt(w, e), a = (double)best.ls[j] * k->L[e], b = best.lm[j], xi = x[e];
                saa += wi * a * a;
                sab += wi * a * b;
                sbb += wi * b * b;
                sax += wi * a * xi;
                sbx += wi * b * xi;
            }
        }
        /* x ~ d a - dmin b */
        double det = saa * sbb - sab * sab;
        if (!(det > 0)) break;
        c = best;
        c.d = half_round((float)((sax * sbb - sbx * sab) / det));
        c.dmin = half_round((float)((sax * sab - sbx * saa) / det));
        if (!(c.d > 0) || c.dmin < 0) break;
        ka_total_error(k, x, w, &c);
        ka_refine_codes(k, x, w, &c);
        if (!(c.err < best.err)) break;
        best = c;
    }
    k->d = best.d;
    k->dmin = best.dmin;
    memcpy(k->ls, best.ls, sizeof best.ls);
    memcpy(k->lm, best.lm, sizeof best.lm);
    for (int j = 0; j < k->n_sub; j++)
        ka_sub_error(x + k->len * j, NULL, k->len, k->nmax, best.d * (float)best.ls[j], best.dmin * (float)best.lm[j], k->L + k->len * j);
}

static void q4k_search(const float *x, const float *w, block_q4_K *y) {
    gf_k_asym k = {.n_sub = 8, .len = 32, .nmax = 15, .code_max = 63};
    gf_search_k_asym(x, w, &k);
    q4k_pack_scales(k.ls, k.lm, y->scales);
    y->d = gf_float_to_half(k.d);
    y->dmin = gf_float_to_half(k.dmin);
    q4k_pack_qs(k.L, y->qs);
}

void gf_q4_K_pack_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t *scales) { q4k_pack_scales(ls, lm, scales); }

void gf_q4_K_set_levels(block_q4_K *y, const uint8_t *L) { q4k_pack_qs(L, y->qs); }

void gf_quantize_block_q4_K_search(const float *x, const float *w, void *y) { q4k_search(x, w, y); }

/* ---- Q6_K ---- */

static void q6k_pack(const uint8_t *L, block_q6_K *y) {
    uint8_t *ql = y->ql, *qh = y->qh;
    for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((L[j + l] & 0xF) | (L[j + l + 64] & 0xF) << 4);
            ql[l + 32] = (uint8_t)((L[j + l + 32] & 0xF) | (L[j + l + 96] & 0xF) << 4);
            qh[l] = (uint8_t)(L[j + l] >> 4 | (L[j + l + 32] >> 4) << 2 | (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
        }
}

/* make_qx_quants with rmse_type 1: errors weighted by x^2, 19 scales tried. */
static float ref_fit_sym(const float *x, int n, int nmax, uint8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < EPS_ZERO) {
        memset(L, 0, (size_t)n);
        return 0;
    }
    float iscale = (float)-nmax / max, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = gf_clampi(gf_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (uint8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (!is) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = gf_clampi(gf_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) L[i] = (uint8_t)(nmax + gf_clampi(gf_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static void q6k_ref(const float *x, block_q6_K *y) {
    uint8_t L[QK_K];
    float scales[16], max_scale = 0, max_abs = 0;
    for (int ib = 0; ib < 16; ib++) {
        scales[ib] = ref_fit_sym(x + 16 * ib, 16, 32, L + 16 * ib);
        if (fabsf(scales[ib]) > max_abs) {
            max_abs = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (max_abs < EPS_ZERO) {
        memset(y, 0, sizeof *y);
        return;
    }
    float iscale = -128.f / max_scale;
    y->d = gf_float_to_half(1 / iscale);
    for (int ib = 0; ib < 16; ib++) {
        int v = gf_nearest_int(iscale * scales[ib]);
        y->scales[ib] = (int8_t)(v < 127 ? v : 127);
    }
    float d = h2f(y->d);
    for (int j = 0; j < 16; j++) {
        float ds = d * (float)y->scales[j];
        if (!ds) continue;
        for (int i = 0; i < 16; i++) L[16 * j + i] = (uint8_t)(gf_clampi(gf_nearest_int(x[16 * j + i] / ds), -32, 31) + 32);
    }
    q6k_pack(L, y);
}

/* ---- the symmetric K search (Q6_K, Q3_K) ---- */

static float ks_sub_error(const float *x, const float *w, int len, int lo, int hi, float ds, int8_t *L) {
    float e = 0;
    for (int i = 0; i < len; i++) {
        int l = ds ? gf_clampi(gf_nearest_int(x[i] / ds), lo, hi) : 0;
        if (L) L[i] = (int8_t)l;
        float diff = x[i] - ds * (float)l;
        e += wt(w, i) * diff * diff;
    }
    return e;
}

static float ks_code(const gf_k_sym *k, const float *x, const float *w, const float *scales, float d, int8_t *sc) {
    float e = 0;
    for (int j = 0; j < k->n_sub; j++) {
        sc[j] = (int8_t)(d ? gf_clampi(gf_nearest_int(scales[j] / d), k->code_lo, k->code_hi) : 0);
        e += ks_sub_error(x + k->len * j, sub_w(w, k->len * j), k->len, k->lo, k->hi, d * (float)sc[j], NULL);
    }
    return e;
}

int gf_search_k_sym(const float *x, const float *w, gf_k_sym *k) {
    int8_t Ls[32];
    float scales[16], vmax = 0, amax = 0;
    for (int j = 0; j < k->n_sub; j++) {
        float e;
        scales[j] = gf_search_sym(x + k->len * j, sub_w(w, k->len * j), k->len, k->lo, k->hi, 0, STEPS_SUB, Ls, &e);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            vmax = scales[j];
        }
    }
    if (amax < EPS_ZERO) return 0;
    int8_t sc[16], best_sc[16];
    float best = FLT_MAX, best_d = 0;
    /* the largest scale codes near the low or the high end of the codes */
    for (int s = 0; s <= 12; s++) {
        float cands[2] = {half_round(vmax / ((float)k->code_lo + (float)s)), half_round(vmax / ((float)k->code_hi - (float)s))};
        for (int c = 0; c < 2; c++) {
            float e = ks_code(k, x, w, scales, cands[c], sc);
            if (e < best) {
                best = e;
                best_d = cands[c];
                memcpy(best_sc, sc, sizeof sc);
            }
        }
    }
    for (int j = 0; j < k->n_sub; j++) {
        const float *xj = x + k->len * j, *wj = sub_w(w, k->len * j);
        float cur = ks_sub_error(xj, wj, k->len, k->lo, k->hi, best_d * (float)best_sc[j], NULL);
        int bs = best_sc[j];
        for (int a = -2; a <= 2; a++) {
            int s = best_sc[j] + a;
            if (!a || s < k->code_lo || s > k->code_hi) continue;
            float e = ks_sub_error(xj, wj, k->len, k->lo, k->hi, best_d * (float)s, NULL);
            if (e < cur) {
                cur = e;
                bs = s;
            }
        }
        best_sc[j] = (int8_t)bs;
        ks_sub_error(xj, NULL, k->len, k->lo, k->hi, best_d * (float)bs, k->L + k->len * j);
    }
    k->d = best_d;
    memcpy(k->sc, best_sc, sizeof best_sc);
    return 1;
}

static void q6k_search(const float *x, const float *w, block_q6_K *y) {
    gf_k_sym k = {.n_sub = 16, .len = 16, .lo = -32, .hi = 31, .code_lo = -128, .code_hi = 127};
    if (!gf_search_k_sym(x, w, &k)) {
        memset(y, 0, sizeof *y);
        return;
    }
    uint8_t L[QK_K];
    for (int i = 0; i < QK_K; i++) L[i] = (uint8_t)(k.L[i] + 32);
    y->d = gf_float_to_half(k.d);
    memcpy(y->scales, k.sc, sizeof y->scales);
    q6k_pack(L, y);
}

void gf_quantize_block_q6_K_search(const float *x, const float *w, void *y) { q6k_search(x, w, y); }

void gf_q6_K_set_levels(block_q6_K *y, const uint8_t *L) { q6k_pack(L, y); }

void gf_quantize_row_q4_K_ref(const float *x, void *y, int64_t n) {
    for (int64_t i = 0; i < n; i += QK_K) q4k_ref(x + i, (block_q4_K *)y + i / QK_K);
}

void gf_quantize_row_q6_K_ref(const float *x, void *y, int64_t n) {
    for (int64_t i = 0; i < n; i += QK_K) q6k_ref(x + i, (block_q6_K *)y + i / QK_K);
}
