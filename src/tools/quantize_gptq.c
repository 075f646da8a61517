#include "tools/quantize_gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
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

/* Each element of a packed block as a * level + b, levels in [lo, hi]. */
static void block_affine(uint32_t type, const void *blk, float *a, float *b, int *lo, int *hi) {
    switch (type) {
    case GF_TYPE_Q8_0: {
        float d = gf_half_to_float(((const block_q8_0 *)blk)->d);
        for (int e = 0; e < QK8_0; e++) a[e] = d, b[e] = 0;
        *lo = -127, *hi = 127;
        break;
    }
    case GF_TYPE_Q4_0: {
        float d = gf_half_to_float(((const block_q4_0 *)blk)->d);
        for (int e = 0; e < QK4_0; e++) a[e] = d, b[e] = -8 * d;
        *lo = 0, *hi = 15;
        break;
    }
    case GF_TYPE_Q4_1: {
        const block_q4_1 *y = blk;
        float d = gf_half_to_float(y->d), m = gf_half_to_float(y->m);
        for (int e = 0; e < QK4_1; e++) a[e] = d, b[e] = m;
        *lo = 0, *hi = 15;
        break;
    }
    case GF_TYPE_Q4_K: {
        const block_q4_K *y = blk;
        float d = gf_half_to_float(y->d), dmin = gf_half_to_float(y->dmin);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, y->scales, &sc, &m);
            for (int e = 0; e < 32; e++) a[32 * j + e] = d * (float)sc, b[32 * j + e] = -(dmin * (float)m);
        }
        *lo = 0, *hi = 15;
        break;
    }
    case GF_TYPE_Q6_K: {
        const block_q6_K *y = blk;
        float d = gf_half_to_float(y->d);
        for (int j = 0; j < QK_K / 16; j++)
            for (int e = 0; e < 16; e++) a[16 * j + e] = d * (float)y->scales[j], b[16 * j + e] = -32 * a[16 * j + e];
        *lo = 0, *hi = 63;
        break;
    }
    }
}

static void block_set_levels(uint32_t type, void *blk, const int *q) {
    uint8_t L[QK_K];
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
    case GF_TYPE_Q4_K:
        for (int e = 0; e < QK_K; e++) L[e] = (uint8_t)q[e];
        gf_q4_K_set_levels(blk, L);
        break;
    case GF_TYPE_Q6_K:
        for (int e = 0; e < QK_K; e++) L[e] = (uint8_t)q[e];
        gf_q6_K_set_levels(blk, L);
        break;
    }
}

int gf_gptq_supported(uint32_t type) {
    return type == GF_TYPE_Q8_0 || type == GF_TYPE_Q4_0 || type == GF_TYPE_Q4_1 || type == GF_TYPE_Q4_K || type == GF_TYPE_Q6_K;
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
        block_affine(type, blk, a, b, &lo, &hi);
        for (int e = 0; e < qb; e++) {
            int64_t i = s + e, h0 = i / block * block, len = n - h0 < block ? n - h0 : block, li = i - h0;
            int l = a[e] != 0 ? gf_clampi(gf_nearest_int((w[i] - b[e]) / a[e]), lo, hi) : gf_clampi(0, lo, hi);
            q[e] = l;
            const float *ur = u + i * block;
            float err = (w[i] - (a[e] * (float)l + b[e])) / ur[li];
            for (int64_t k = li + 1; k < len; k++) w[h0 + k] -= err * ur[k];
        }
        block_set_levels(type, blk, q);
    }
    return GF_OK;
}
