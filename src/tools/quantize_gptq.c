#include "tools/quantize_gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/iq4_xs.h"
#include "quant/q2_K.h"
#include "quant/q3_K.h"
#include "quant/q5_1.h"
#include "quant/q5_K.h"
#include "quant/quant.h"
#include "quant/quantize.h"
#include "quant/quantize_k.h"
#include "quant/quantize_search.h"
#include "quant/registry.h"

/* ---- factorization ---- */

/* In-place lower Cholesky of the m x m matrix a; 0 when not positive definite. */
static int cholesky(double *a, int m) {
    for (int j = 0; j < m; j++) {
        double d = a[j * m + j];
        for (int k = 0; k < j; k++) d -= a[j * m + k] * a[j * m + k];
        if (!(d > 0)) return 0;
        d = sqrt(d);
        a[j * m + j] = d;
        for (int i = j + 1; i < m; i++) {
            double s = a[i * m + j];
            for (int k = 0; k < j; k++) s -= a[i * m + k] * a[j * m + k];
            a[i * m + j] = s / d;
        }
        for (int i = 0; i < j; i++) a[i * m + j] = 0;
    }
    return 1;
}

/* inv = (L L^T)^-1 for lower L, via L^-1 (forward substitution). */
static void inverse_from_cholesky(const double *l, double *inv, double *li, int m) {
    memset(li, 0, (size_t)m * m * sizeof *li);
    for (int j = 0; j < m; j++) {
        li[j * m + j] = 1.0 / l[j * m + j];
        for (int i = j + 1; i < m; i++) {
            double s = 0;
            for (int k = j; k < i; k++) s += l[i * m + k] * li[k * m + j];
            li[i * m + j] = -s / l[i * m + i];
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = i; k < m; k++) s += li[k * m + i] * li[k * m + j];
            inv[i * m + j] = inv[j * m + i] = s;
        }
}

static int factor_block(float *h, int64_t row0, int m, int stride, double count, double damp, double *a, double *b, double *c) {
    double mean = 0;
    for (int i = 0; i < m; i++) mean += h[(row0 + i) * stride + i] / count;
    mean /= m;
    for (double extra = damp; extra < 10; extra *= 10) {
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++) a[i * m + j] = a[j * m + i] = mean > 0 ? h[(row0 + i) * stride + j] / count : (i == j);
        for (int i = 0; i < m; i++) {
            if (!(a[i * m + i] > 0)) a[i * m + i] = mean > 0 ? mean : 1; /* a channel never active */
            a[i * m + i] += extra * (mean > 0 ? mean : 1);
        }
        if (!cholesky(a, m)) continue;
        inverse_from_cholesky(a, b, c, m);
        if (!cholesky(b, m)) continue;
        /* H^-1 = L L^T = U^T U with U = L^T */
        for (int i = 0; i < m; i++)
            for (int k = 0; k < m; k++) h[(row0 + i) * stride + k] = k >= i ? (float)b[k * m + i] : 0.0f;
        return 1;
    }
    /* numerically hopeless: no error spreading (plain rounding) */
    for (int i = 0; i < m; i++)
        for (int k = 0; k < m; k++) h[(row0 + i) * stride + k] = k == i ? 1.0f : 0.0f;
    return 0;
}

int gf_gptq_factor(float *h, int64_t n, int block, double count, double damp) {
    if (count <= 0) count = 1;
    size_t mm = (size_t)block * block;
    double *a = malloc(3 * mm * sizeof *a);
    if (!a) return gf_fail_nomem("the GPTQ factorization", 3 * mm * sizeof *a);
    for (int64_t s = 0; s < n; s += block) {
        int m = (int)(n - s < block ? n - s : block);
        factor_block(h, s, m, block, count, damp, a, a + mm, a + 2 * mm);
    }
    free(a);
    return GF_OK;
}

/* ---- row quantization ---- */

/* Each element of a packed block as a * g(level) + b, levels in [lo, hi],
 * g the identity or (*grid != NULL) a codebook of hi - lo + 1 values. */
static int block_affine(uint32_t type, const void *blk, float *a, float *b, int *lo, int *hi, const int8_t **grid) {
    *grid = NULL;
    switch (type) {
    case GF_TYPE_Q8_0: {
        float d = gf_half_to_float(((const block_q8_0 *)blk)->d);
        for (int e = 0; e < QK8_0; e++) a[e] = d, b[e] = 0;
        *lo = -127, *hi = 127;
        return 1;
    }
    case GF_TYPE_Q4_0: {
        float d = gf_half_to_float(((const block_q4_0 *)blk)->d);
        for (int e = 0; e < QK4_0; e++) a[e] = d, b[e] = -8 * d;
        *lo = 0, *hi = 15;
        return 1;
    }
    case GF_TYPE_Q4_1:
    case GF_TYPE_Q5_1: {
        const block_q4_1 *y4 = blk;
        const block_q5_1 *y5 = blk;
        float d = gf_half_to_float(type == GF_TYPE_Q4_1 ? y4->d : y5->d), m = gf_half_to_float(type == GF_TYPE_Q4_1 ? y4->m : y5->m);
        for (int e = 0; e < 32; e++) a[e] = d, b[e] = m;
        *lo = 0, *hi = type == GF_TYPE_Q4_1 ? 15 : 31;
        return 1;
    }
    case GF_TYPE_Q4_K:
    case GF_TYPE_Q5_K: {
        /* the same scales: d, dmin and 12 bytes of 6-bit codes */
        const block_q4_K *y4 = blk;
        const block_q5_K *y5 = blk;
        gf_half hd = type == GF_TYPE_Q4_K ? y4->d : y5->d, hm = type == GF_TYPE_Q4_K ? y4->dmin : y5->dmin;
        const uint8_t *scales = type == GF_TYPE_Q4_K ? y4->scales : y5->scales;
        float d = gf_half_to_float(hd), dmin = gf_half_to_float(hm);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, scales, &sc, &m);
            for (int e = 0; e < 32; e++) a[32 * j + e] = d * (float)sc, b[32 * j + e] = -(dmin * (float)m);
        }
        *lo = 0, *hi = type == GF_TYPE_Q4_K ? 15 : 31;
        return 1;
    }
    case GF_TYPE_Q6_K: {
        const block_q6_K *y = blk;
        float d = gf_half_to_float(y->d);
        for (int j = 0; j < QK_K / 16; j++)
            for (int e = 0; e < 16; e++) a[16 * j + e] = d * (float)y->scales[j], b[16 * j + e] = -32 * a[16 * j + e];
        *lo = 0, *hi = 63;
        return 1;
    }
    case GF_TYPE_Q3_K: {
        const block_q3_K *y = blk;
        float d = gf_half_to_float(y->d);
        int8_t sc[16];
        gf_q3_K_scales(y->scales, sc);
        for (int j = 0; j < 16; j++)
            for (int e = 0; e < 16; e++) a[16 * j + e] = d * (float)sc[j], b[16 * j + e] = -4 * a[16 * j + e];
        *lo = 0, *hi = 7;
        return 1;
    }
    case GF_TYPE_Q2_K: {
        const block_q2_K *y = blk;
        float d = gf_half_to_float(y->d), dmin = gf_half_to_float(y->dmin);
        for (int j = 0; j < 16; j++)
            for (int e = 0; e < 16; e++) a[16 * j + e] = d * (float)(y->scales[j] & 0xF), b[16 * j + e] = -(dmin * (float)(y->scales[j] >> 4));
        *lo = 0, *hi = 3;
        return 1;
    }
    case GF_TYPE_IQ4_XS: {
        const block_iq4_xs *y = blk;
        float d = gf_half_to_float(y->d);
        for (int j = 0; j < QK_K / 32; j++)
            for (int e = 0; e < 32; e++) a[32 * j + e] = d * (float)gf_iq4_xs_scale(y, j), b[32 * j + e] = 0;
        *lo = 0, *hi = 15;
        *grid = gf_kvalues_iq4nl;
        return 1;
    }
    }
    return 0;
}

static void block_set_levels(uint32_t type, void *blk, const int *q) {
    uint8_t L[QK_K];
    const int n = (int)gf_type_info(type)->block;
    for (int e = 0; e < n; e++) L[e] = (uint8_t)q[e];
    switch (type) {
    case GF_TYPE_Q8_0:
        for (int e = 0; e < QK8_0; e++) ((block_q8_0 *)blk)->qs[e] = (int8_t)q[e];
        break;
    case GF_TYPE_Q4_0:
        for (int j = 0; j < 16; j++) ((block_q4_0 *)blk)->qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
        break;
    case GF_TYPE_Q4_1:
        for (int j = 0; j < 16; j++) ((block_q4_1 *)blk)->qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
        break;
    case GF_TYPE_Q5_1: {
        block_q5_1 *y = blk;
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            y->qs[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
            qh |= (uint32_t)(q[j] >> 4) << j | (uint32_t)(q[j + 16] >> 4) << (j + 16);
        }
        memcpy(y->qh, &qh, 4);
        break;
    }
    case GF_TYPE_Q4_K: gf_q4_K_set_levels(blk, L); break;
    case GF_TYPE_Q5_K: gf_q5_K_set_levels(blk, L); break;
    case GF_TYPE_Q6_K: gf_q6_K_set_levels(blk, L); break;
    case GF_TYPE_Q3_K: gf_q3_K_set_levels(blk, L); break;
    case GF_TYPE_Q2_K: gf_q2_K_set_levels(blk, L); break;
    case GF_TYPE_IQ4_XS: gf_iq4_xs_set_levels(blk, L); break;
    }
}

/* The index of the grid value nearest to v (grid ascending, n values). */
static int nearest_in_grid(const int8_t *grid, int n, float v) {
    int best = 0;
    float bd = fabsf(v - grid[0]);
    for (int i = 1; i < n; i++) {
        float d = fabsf(v - grid[i]);
        if (d < bd) bd = d, best = i;
    }
    return best;
}

int gf_gptq_supported(uint32_t type) {
    float a[QK_K], b[QK_K];
    int lo, hi;
    const int8_t *grid;
    uint8_t zero[512] = {0};
    return gf_type_writable(type) && gf_type_info(type)->block > 1 && block_affine(type, zero, a, b, &lo, &hi, &grid);
}

int gf_quantize_row_gptq(uint32_t type, const float *x, const float *importance, const float *u, int block, void *dst, int64_t n,
                         float *w) {
    if (!gf_quantize_supported(type) || gf_row_bytes(type, (uint64_t)n) == 0)
        return gf_quantize_row(type, GF_QUANT_SEARCH, x, importance, dst, n); /* reports the error */
    /* block_affine and block_set_levels know these layouts; a writable type without them fails here, loudly */
    if (!gf_gptq_supported(type)) return gf_fail("quantize: GPTQ has no level layout for %s", gf_type_name(type));
    const gf_type_traits *t = gf_type_info(type);
    int qb = (int)t->block;
    float a[QK_K], b[QK_K];
    int q[QK_K], lo = 0, hi = 0;
    memcpy(w, x, (size_t)n * sizeof *w);
    for (int64_t s = 0; s < n; s += qb) {
        uint8_t *blk = (uint8_t *)dst + (size_t)(s / qb) * t->bytes;
        int st = gf_quantize_row(type, GF_QUANT_SEARCH, w + s, importance ? importance + s : NULL, blk, qb);
        if (st < 0) return st;
        const int8_t *grid;
        block_affine(type, blk, a, b, &lo, &hi, &grid);
        for (int e = 0; e < qb; e++) {
            int64_t i = s + e, h0 = i / block * block, len = n - h0 < block ? n - h0 : block, li = i - h0;
            int l;
            if (grid) l = nearest_in_grid(grid, hi - lo + 1, a[e] != 0 ? (w[i] - b[e]) / a[e] : 0.0f);
            else l = a[e] != 0 ? gf_clampi(gf_nearest_int((w[i] - b[e]) / a[e]), lo, hi) : gf_clampi(0, lo, hi);
            q[e] = l;
            const float *ur = u + i * block;
            float err = (w[i] - (a[e] * (float)(grid ? grid[l] : l) + b[e])) / ur[li];
            for (int64_t k = li + 1; k < len; k++) w[h0 + k] -= err * ur[k];
        }
        block_set_levels(type, blk, q);
    }
    return GF_OK;
}
