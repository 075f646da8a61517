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

static void dequant_q4_0(const block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK4_0) {
        float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = d * ((x[i].qs[j] & 0xf) - 8);
            y[j + QK4_0 / 2] = d * ((x[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequant_q4_1(const block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK4_1) {
        float d = gf_half_to_float(x[i].d), m = gf_half_to_float(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = d * (x[i].qs[j] & 0xf) + m;
            y[j + QK4_1 / 2] = d * (x[i].qs[j] >> 4) + m;
        }
    }
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK8_0) {
        float d = gf_half_to_float(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = d * x[i].qs[j];
    }
}

/* The IQ4_NL codebook (a fact of the format). */
static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

int gf_type_held_as(uint32_t type) {
    if (type == GF_TYPE_Q5_0 || type == GF_TYPE_IQ4_NL) return GF_TYPE_Q8_0;
    const gf_type_traits *tt = gf_type_info(type);
    return tt && tt->computable ? (int)type : -1;
}

void gf_widen_row(uint32_t type, const void *src, block_q8_0 *dst, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) {
        if (type == GF_TYPE_Q5_0) {
            const block_q5_0 *x = (const block_q5_0 *)src + i;
            uint32_t qh = (uint32_t)x->qh[0] | (uint32_t)x->qh[1] << 8 | (uint32_t)x->qh[2] << 16 | (uint32_t)x->qh[3] << 24;
            dst[i].d = x->d;
            for (int j = 0; j < QK8_0 / 2; j++) {
                dst[i].qs[j] = (int8_t)(((x->qs[j] & 0xf) | ((qh >> j & 1) << 4)) - 16);
                dst[i].qs[j + QK8_0 / 2] = (int8_t)(((x->qs[j] >> 4) | ((qh >> (j + 16) & 1) << 4)) - 16);
            }
        } else {
            const block_iq4_nl *x = (const block_iq4_nl *)src + i;
            dst[i].d = x->d;
            for (int j = 0; j < QK8_0 / 2; j++) {
                dst[i].qs[j] = kvalues_iq4nl[x->qs[j] & 0xf];
                dst[i].qs[j + QK8_0 / 2] = kvalues_iq4nl[x->qs[j] >> 4];
            }
        }
    }
}

/* Q5_0 and IQ4_NL through their Q8_0 form: d * q, as llama.cpp dequantizes them. */
static void dequant_widened(uint32_t type, const uint8_t *x, float *y, int64_t nb) {
    size_t block = gf_type_info(type)->bytes;
    for (int64_t i = 0; i < nb; i++, x += block, y += QK8_0) {
        block_q8_0 b;
        gf_widen_row(type, x, &b, QK8_0);
        dequant_q8_0(&b, y, 1);
    }
}

static void dequant_q4_K(const block_q4_K *x, float *y, int64_t nb) {
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

static void dequant_q6_K(const block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        float d = gf_half_to_float(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
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

void gf_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case GF_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case GF_TYPE_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = gf_half_to_float(((const gf_half *)src)[i]);
        break;
    case GF_TYPE_Q4_0: dequant_q4_0(src, dst, n / QK4_0); break;
    case GF_TYPE_Q4_1: dequant_q4_1(src, dst, n / QK4_1); break;
    case GF_TYPE_Q8_0: dequant_q8_0(src, dst, n / QK8_0); break;
    case GF_TYPE_Q4_K: dequant_q4_K(src, dst, n / QK_K); break;
    case GF_TYPE_Q6_K: dequant_q6_K(src, dst, n / QK_K); break;
    case GF_TYPE_Q5_0:
    case GF_TYPE_IQ4_NL: dequant_widened(type, src, dst, n / QK8_0); break;
    default: memset(dst, 0, (size_t)n * 4); break; /* callers only pass readable types */
    }
}

void gf_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = gf_float_to_half(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void gf_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, int64_t n) {
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

void gf_quantize_row_q4_1_ref(const float *x, block_q4_1 *y, int64_t n) {
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

gf_act_format gf_act_format_for(uint32_t weight_type) {
    switch (weight_type) {
    case GF_TYPE_F16: return GF_ACT_F16;
    case GF_TYPE_Q4_0:
    case GF_TYPE_Q8_0: return GF_ACT_Q8_0;
    case GF_TYPE_Q4_1: return GF_ACT_Q8_1;
    case GF_TYPE_Q4_K:
    case GF_TYPE_Q6_K: return GF_ACT_Q8_K;
    default: return GF_ACT_F32;
    }
}

size_t gf_act_row_bytes(gf_act_format f, int64_t n) {
    switch (f) {
    case GF_ACT_F16: return (size_t)n * 2;
    case GF_ACT_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    case GF_ACT_Q8_1: return (size_t)(n / QK8_1) * sizeof(block_q8_1);
    case GF_ACT_Q8_K: return (size_t)(n / QK_K) * sizeof(block_q8_K);
    default: return (size_t)n * 4;
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
    default: memcpy(dst, x, (size_t)n * 4); break;
    }
}
