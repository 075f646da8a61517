#include "quant/quantize_search.h"

#include <float.h>
#include <string.h>

#include "quant/quant.h"

#define MAX_N 64 /* largest group a searcher sees (Q8_0/Q4_0/Q4_1 blocks are 32, K sub-blocks 16 or 32) */

static float wt(const float *w, int i) { return w ? w[i] : 1.0f; }

static float to_half(float v) { return gf_half_to_float(gf_float_to_half(v)); }

/* Error of x ~ d * L after requantizing L for this d (the best L for a
 * fixed scale is each element's nearest level, whatever the weights). */
static float sym_requant(const float *x, const float *w, int n, int lo, int hi, float d, int8_t *L) {
    float e = 0;
    if (d == 0) {
        for (int i = 0; i < n; i++) {
            L[i] = 0;
            e += wt(w, i) * x[i] * x[i];
        }
        return e;
    }
    float id = 1.0f / d;
    for (int i = 0; i < n; i++) {
        int l = gf_clampi(gf_nearest_int(x[i] * id), lo, hi);
        L[i] = (int8_t)l;
        float diff = x[i] - d * (float)l;
        e += wt(w, i) * diff * diff;
    }
    return e;
}

float gf_search_sym(const float *x, const float *w, int n, int lo, int hi, int half, int steps, int8_t *L, float *err) {
    float amax = 0, vmax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            vmax = x[i];
        }
    if (!(amax > 1e-30f)) {
        *err = sym_requant(x, w, n, lo, hi, 0, L);
        return 0;
    }
    int8_t cur[MAX_N];
    float best = FLT_MAX, best_d = 0;
    /* the largest element lands on hi or on lo; with lo == -hi the two are mirror images */
    int ends[2] = {hi, lo}, n_ends = lo == -hi ? 1 : 2;
    for (int e = 0; e < n_ends; e++) {
        float t = (float)ends[e], sign = t > 0 ? 1.0f : -1.0f;
        for (int k = 0; k <= steps; k++) {
            float m = t + sign * (-1.0f + 2.0f * (float)k / (float)steps);
            if (m * sign < 0.5f) continue;
            float d = vmax / m;
            if (half) d = to_half(d);
            /* alternate: levels for this scale, least-squares scale for these levels */
            for (int it = 0; it < 2; it++) {
                float cur_err = sym_requant(x, w, n, lo, hi, d, cur);
                if (cur_err < best) {
                    best = cur_err;
                    best_d = d;
                    memcpy(L, cur, (size_t)n);
                }
                float sxl = 0, sll = 0;
                for (int i = 0; i < n; i++) {
                    float wl = wt(w, i) * (float)cur[i];
                    sxl += wl * x[i];
                    sll += wl * (float)cur[i];
                }
                if (!(sll > 0)) break;
                float nd = sxl / sll;
                if (half) nd = to_half(nd);
                if (nd == d) break;
                d = nd;
            }
        }
    }
    *err = best;
    return best_d;
}

static float asym_requant(const float *x, const float *w, int n, int nmax, float d, float m, uint8_t *L) {
    float e = 0;
    float id = d > 0 ? 1.0f / d : 0;
    for (int i = 0; i < n; i++) {
        int l = d > 0 ? gf_clampi(gf_nearest_int((x[i] - m) * id), 0, nmax) : 0;
        L[i] = (uint8_t)l;
        float diff = x[i] - (d * (float)l + m);
        e += wt(w, i) * diff * diff;
    }
    return e;
}

float gf_search_asym(const float *x, const float *w, int n, int nmax, int nonpos_m, int half, int steps, uint8_t *L, float *m_out,
                     float *err) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < n; i++) {
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    if (nonpos_m && mn > 0) mn = 0;
    float m0 = half ? to_half(mn) : mn;
    if (!(mx > mn)) {
        *m_out = m0;
        *err = asym_requant(x, w, n, nmax, 0, m0, L);
        return 0;
    }
    float sw = 0, sx = 0;
    for (int i = 0; i < n; i++) {
        sw += wt(w, i);
        sx += wt(w, i) * x[i];
    }
    uint8_t cur[MAX_N];
    float best = FLT_MAX, best_d = 0, best_m = m0;
    for (int k = 0; k <= steps; k++) {
        float d = (mx - mn) / ((float)nmax + (-1.0f + 2.0f * (float)k / (float)steps)), m = mn;
        if (half) {
            d = to_half(d);
            m = to_half(m);
        }
        for (int it = 0; it < 2; it++) {
            float cur_err = asym_requant(x, w, n, nmax, d, m, cur);
            if (cur_err < best) {
                best = cur_err;
                best_d = d;
                best_m = m;
                memcpy(L, cur, (size_t)n);
            }
            /* weighted least squares for (d, m) with these levels */
            float sl = 0, sll = 0, sxl = 0;
            for (int i = 0; i < n; i++) {
                float wl = wt(w, i) * (float)cur[i];
                sl += wl;
                sll += wl * (float)cur[i];
                sxl += wl * x[i];
            }
            float D = sw * sll - sl * sl, nd, nm;
            if (D > 0) {
                nd = (sw * sxl - sx * sl) / D;
                nm = (sll * sx - sl * sxl) / D;
            } else {
                break;
            }
            if (nonpos_m && nm > 0) {
                nm = 0;
                nd = sll > 0 ? sxl / sll : 0;
            }
            if (!(nd > 0)) break;
            if (half) {
                nd = to_half(nd);
                nm = to_half(nm);
            }
            if (nd == d && nm == m) break;
            d = nd;
            m = nm;
        }
    }
    *m_out = best_m;
    *err = best;
    return best_d;
}
