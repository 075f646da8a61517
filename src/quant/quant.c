#include "quant/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float gf_half_to_float(gf_half h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return u2f(sign | 0x7f800000 | man << 13); /* inf, nan */
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in f32 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return u2f(sign | (exp + 112) << 23 | man << 13);
}

gf_half gf_float_to_half(float f) {
    uint32_t u = f2u(f), sign = (u >> 16) & 0x8000, au = u & 0x7fffffff;
    if (au >= 0x7f800000) return (gf_half)(sign | 0x7c00 | (au > 0x7f800000 ? 0x200 | ((au >> 13) & 0x3ff) : 0));
    if (au >= 0x477ff000) return (gf_half)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (au < 0x38800000) {
        /* result is subnormal (or zero): round au's value to a multiple of 2^-24 */
        if (au < 0x33000000) return (gf_half)sign; /* below half the smallest subnormal */
        uint32_t e = au >> 23, m = (au & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* value = m * 2^(e-150); want units of 2^-24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (gf_half)(sign | q);
    }
    uint32_t q = ((au >> 13) - (112u << 10)), rem = au & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (gf_half)(sign | q);
}

void gf_q4_K_scale_min(int j, const uint8_t *q, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

void gf_dequantize_row_q4_0(const void *src, float *y, int64_t n) {
    const block_q4_0 *x = src;
    const int64_t nb = n / QK4_0;
    for (int64_t i = 0; i < nb; i++, y += QK4_0) {
        float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = d * ((x[i].qs[j] & 0xf) - 8);
            y[j + QK4_0 / 2] = d * ((x[i].qs[j] >> 4) - 8);
        }
    }
}

void gf_dequantize_row_q4_1(const void *src, float *y, int64_t n) {
    const block_q4_1 *x = src;
    const int64_t nb = n / QK4_1;
    for (int64_t i = 0; i < nb; i++, y += QK4_1) {
        float d = gf_half_to_float(x[i].d), m = gf_half_to_float(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = d * (x[i].qs[j] & 0xf) + m;
            y[j + QK4_1 / 2] = d * (x[i].qs[j] >> 4) + m;
        }
    }
}

void gf_dequantize_row_q8_0(const void *src, float *y, int64_t n) {
    const block_q8_0 *x = src;
    const int64_t nb = n / QK8_0;
    for (int64_t i = 0; i < nb; i++, y += QK8_0) {
        float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = d * x[i].qs[j];
    }
}

void gf_dequantize_row_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

void gf_dequantize_row_f16(const void *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = gf_half_to_float(((const gf_half *)src)[i]);
}

void gf_dequantize_row_q4_K(const void *src, float *y, int64_t n) {
    const block_q4_K *x = src;
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; i++) {
        float d = gf_half_to_float(x[i].d), dmin = gf_half_to_float(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int j = 0; j < QK_K / 64; j++, q += 32) {
            uint8_t sc, m;
            gf_q4_K_scale_min(2 * j, x[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            gf_q4_K_scale_min(2 * j + 1, x[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xf) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void gf_dequantize_row_q6_K(const void *src, float *y, int64_t n) {
    const block_q6_K *x = src;
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; i++) {
        float d = gf_half_to_float(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < QK_K; h += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xf) | ((qh[l] >> 0 & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xf) | ((qh[l] >> 2 & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32;
                y[l] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void gf_quantize_row_q8_0_ref(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = gf_float_to_half(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void gf_quantize_row_q4_0_ref(const float *x, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
        float amax = 0, max = 0; /* max keeps the sign of the largest magnitude */
        for (int j = 0; j < QK4_0; j++)
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = gf_float_to_half(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int8_t a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[j + QK4_0 / 2] * id + 8.5f);
            uint8_t qa = a < 15 ? (uint8_t)a : 15, qb = b < 15 ? (uint8_t)b : 15;
            y[i].qs[j] = (uint8_t)(qa | qb << 4);
        }
    }
}

void gf_quantize_row_q4_1_ref(const float *x, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / QK4_1; i++, x += QK4_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK4_1; j++) {
            min = fminf(min, x[j]);
            max = fmaxf(max, x[j]);
        }
        float d = (max - min) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = gf_float_to_half(d);
        y[i].m = gf_float_to_half(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int8_t a = (int8_t)((x[j] - min) * id + 0.5f), b = (int8_t)((x[j + QK4_1 / 2] - min) * id + 0.5f);
            uint8_t qa = a < 15 ? (uint8_t)a : 15, qb = b < 15 ? (uint8_t)b : 15;
            y[i].qs[j] = (uint8_t)(qa | qb << 4);
        }
    }
}

/* ties-to-even, as _mm256_round_ps(_MM_ROUND_NEAREST) and f32x4.nearest */
static int round_even(float v) { return (int)nearbyintf(v); }

static void act_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = gf_float_to_half(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)round_even(x[j] * id);
    }
}

static void act_q8_1(const float *x, block_q8_1 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        float amax = 0;
        for (int j = 0; j < QK8_1; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t)round_even(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = gf_float_to_half(d);
        y[i].s = gf_float_to_half(d * (float)sum);
    }
}

static void act_q8_K(const float *x, block_q8_K *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        if (amax == 0) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* -127, not -128: keeps q in [-127, 127] (llama.cpp chose this for its IQ kernels) */
        float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = round_even(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int k = 0; k < 16; k++) sum += y[i].qs[j * 16 + k];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

void gf_quantize_act_row_ref(gf_act_format f, const float *x, void *dst, int64_t n) {
    switch (f) {
    case GF_ACT_F16:
        for (int64_t i = 0; i < n; i++) ((gf_half *)dst)[i] = gf_float_to_half(x[i]);
        break;
    case GF_ACT_Q8_0: act_q8_0(x, dst, n); break;
    case GF_ACT_Q8_1: act_q8_1(x, dst, n); break;
    case GF_ACT_Q8_K: act_q8_K(x, dst, n); break;
    case GF_ACT_BF16:
        for (int64_t i = 0; i < n; i++) ((gf_bf16 *)dst)[i] = gf_float_to_bf16(x[i]);
        break;
    case GF_ACT_F32: memcpy(dst, x, (size_t)n * 4); break;
    }
}

/* ---- reference dot products (registry rows: dot_ref) ---- */

float gf_dot_f32_row_ref(int n, const void *wv, const void *av) {
    const float *w = wv, *a = av;
    float s = 0;
    for (int i = 0; i < n; i++) s += w[i] * a[i];
    return s;
}

float gf_dot_f16_ref(int n, const void *wv, const void *av) {
    const gf_half *w = wv, *a = av;
    float s = 0;
    for (int i = 0; i < n; i++) s += gf_half_to_float(w[i]) * gf_half_to_float(a[i]);
    return s;
}

float gf_dot_q4_0_ref(int n, const void *wv, const void *av) {
    const block_q4_0 *w = wv;
    const block_q8_0 *a = av;
    float s = 0;
    for (int b = 0; b < n / QK4_0; b++) {
        int sum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            sum += ((w[b].qs[j] & 0xf) - 8) * a[b].qs[j];
            sum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + QK4_0 / 2];
        }
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}

float gf_dot_q4_1_ref(int n, const void *wv, const void *av) {
    const block_q4_1 *w = wv;
    const block_q8_1 *a = av;
    float s = 0;
    for (int b = 0; b < n / QK4_1; b++) {
        int sum = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            sum += (w[b].qs[j] & 0xf) * a[b].qs[j];
            sum += (w[b].qs[j] >> 4) * a[b].qs[j + QK4_1 / 2];
        }
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum +
             gf_half_to_float(w[b].m) * gf_half_to_float(a[b].s);
    }
    return s;
}

float gf_dot_q8_0_ref(int n, const void *wv, const void *av) {
    const block_q8_0 *w = wv;
    const block_q8_0 *a = av;
    float s = 0;
    for (int b = 0; b < n / QK8_0; b++) {
        int sum = 0;
        for (int j = 0; j < QK8_0; j++) sum += w[b].qs[j] * a[b].qs[j];
        s += gf_half_to_float(w[b].d) * gf_half_to_float(a[b].d) * (float)sum;
    }
    return s;
}

float gf_dot_q4_K_ref(int n, const void *wv, const void *av) {
    const block_q4_K *w = wv;
    const block_q8_K *a = av;
    float s = 0;
    for (int b = 0; b < n / QK_K; b++) {
        const uint8_t *q = w[b].qs;
        const int8_t *y = a[b].qs;
        int sum = 0, sum_mins = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            gf_q4_K_scale_min(j, w[b].scales, &sc, &m);
            sum_mins += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            /* sub-block j: low nibbles of bytes 32*(j/2).. for even j, high for odd */
            const uint8_t *qq = q + 32 * (j / 2);
            int sub = 0;
            for (int l = 0; l < 32; l++) sub += ((j & 1) ? qq[l] >> 4 : qq[l] & 0xf) * y[32 * j + l];
            sum += sc * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum - gf_half_to_float(w[b].dmin) * a[b].d * (float)sum_mins;
    }
    return s;
}

float gf_dot_q6_K_ref(int n, const void *wv, const void *av) {
    const block_q6_K *w = wv;
    const block_q8_K *a = av;
    float s = 0;
    int8_t q[QK_K];
    for (int b = 0; b < n / QK_K; b++) {
        const uint8_t *ql = w[b].ql, *qh = w[b].qh;
        for (int h = 0; h < QK_K; h += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                q[h + l] = (int8_t)(((ql[l] & 0xf) | ((qh[l] >> 0 & 3) << 4)) - 32);
                q[h + l + 32] = (int8_t)(((ql[l + 32] & 0xf) | ((qh[l] >> 2 & 3) << 4)) - 32);
                q[h + l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32);
                q[h + l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32);
            }
        }
        int sum = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++) sub += q[16 * j + l] * a[b].qs[16 * j + l];
            sum += w[b].scales[j] * sub;
        }
        s += gf_half_to_float(w[b].d) * a[b].d * (float)sum;
    }
    return s;
}
