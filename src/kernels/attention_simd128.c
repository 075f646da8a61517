/* SIMD128 attention kernels. They follow the references' operation order
 * (attention_scalar.c) exactly: four lanes over the head dimension reduced
 * as (l0 + l2) + (l1 + l3), the same exponential polynomial, and value rows
 * accumulated in key order, so both give the same bits.
 *
 * wasm has no f16 conversion instruction: halves are widened by the
 * multiply of half_simd128.h (subnormal keys, values and key scales are rare). */
#include <math.h>
#include <wasm_simd128.h>

#include "kernels/attention_kernels.h"
#include "kernels/exp_poly.h"
#include "kernels/half_simd128.h"

/* four halves to f32: each into the upper half of a 32-bit lane */
static inline __attribute__((always_inline)) v128_t widen4(const gf_half *h) {
    return gf_h2f_hi_mul(wasm_i16x8_shuffle(wasm_i16x8_const_splat(0), wasm_v128_load64_zero(h), 0, 8, 1, 9, 2, 10, 3, 11));
}

static inline __attribute__((always_inline)) v128_t load4(const void *rows, int kv_f16, size_t i) {
    return kv_f16 ? widen4((const gf_half *)rows + i) : wasm_v128_load((const float *)rows + i);
}

static inline float elem(const void *rows, int kv_f16, size_t i) {
    return kv_f16 ? gf_half_to_float(((const gf_half *)rows)[i]) : ((const float *)rows)[i];
}

/* (l0 + l2) + (l1 + l3) in lane 0 */
static inline float reduce(v128_t a) {
    v128_t t = wasm_f32x4_add(a, wasm_i32x4_shuffle(a, a, 2, 3, 0, 1));
    t = wasm_f32x4_add(t, wasm_i32x4_shuffle(t, t, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(t, 0);
}

static float tail_dot(float s, const float *q, const void *keys, int kv_f16, size_t row, int body, int hd) {
    for (int d = body; d < hd; d++) s += q[d] * elem(keys, kv_f16, row + d);
    return s;
}

/* Specialized per cache type (kv_f16 a constant after inlining): a branch
 * in the innermost loop costs more than the arithmetic. */
static inline __attribute__((always_inline)) void scores(const float *q, const void *keys, int kv_f16, int n, int hd, float scale,
                                                         float *out) {
    int body = hd & ~3, j = 0;
    for (; j + 4 <= n; j += 4) {
        /* four keys at once: each query vector is loaded once for four rows */
        size_t r0 = (size_t)j * hd, r1 = r0 + hd, r2 = r1 + hd, r3 = r2 + hd;
        v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < body; d += 4) {
            v128_t qv = wasm_v128_load(q + d);
            a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(qv, load4(keys, kv_f16, r0 + d)));
            a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(qv, load4(keys, kv_f16, r1 + d)));
            a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(qv, load4(keys, kv_f16, r2 + d)));
            a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(qv, load4(keys, kv_f16, r3 + d)));
        }
        out[j] = tail_dot(reduce(a0), q, keys, kv_f16, r0, body, hd) * scale;
        out[j + 1] = tail_dot(reduce(a1), q, keys, kv_f16, r1, body, hd) * scale;
        out[j + 2] = tail_dot(reduce(a2), q, keys, kv_f16, r2, body, hd) * scale;
        out[j + 3] = tail_dot(reduce(a3), q, keys, kv_f16, r3, body, hd) * scale;
    }
    for (; j < n; j++) {
        size_t r = (size_t)j * hd;
        v128_t a = wasm_f32x4_splat(0);
        for (int d = 0; d < body; d += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(q + d), load4(keys, kv_f16, r + d)));
        out[j] = tail_dot(reduce(a), q, keys, kv_f16, r, body, hd) * scale;
    }
}

void gf_attn_scores_simd128(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    if (kv == GF_KV_F16) scores(q, keys, 1, n, hd, scale, out);
    else scores(q, keys, 0, n, hd, scale, out);
}

float gf_attn_exp_simd128(float *x, int n, float max) {
    v128_t m = wasm_f32x4_splat(max), sum = wasm_f32x4_splat(0);
    int body = n & ~3;
    for (int j = 0; j < body; j += 4) {
        v128_t e = gf_exp_poly4(wasm_f32x4_sub(wasm_v128_load(x + j), m));
        wasm_v128_store(x + j, e);
        sum = wasm_f32x4_add(sum, e);
    }
    float s = reduce(sum);
    for (int j = body; j < n; j++) s += (x[j] = gf_attn_exp1(x[j] - max));
    return s;
}

/* acc += p[j] * v_j for all j, a block of `width` vectors (4 floats each) at
 * a time so the block stays in registers across the keys. */
#define ACCUMULATE_BLOCK(width)                                                                   \
    for (; d + 4 * (width) <= body; d += 4 * (width)) {                                           \
        v128_t a[width];                                                                          \
        for (int k = 0; k < (width); k++) a[k] = wasm_v128_load(acc + d + 4 * k);                  \
        for (int j = 0; j < n; j++) {                                                             \
            v128_t pj = wasm_f32x4_splat(p[j]);                                                   \
            size_t row = (size_t)j * hd + d;                                                      \
            for (int k = 0; k < (width); k++)                                                     \
                a[k] = wasm_f32x4_add(a[k], wasm_f32x4_mul(pj, load4(values, kv_f16, row + 4 * k))); \
        }                                                                                         \
        for (int k = 0; k < (width); k++) wasm_v128_store(acc + d + 4 * k, a[k]);                  \
    }

static inline __attribute__((always_inline)) void accumulate(float *acc, const float *p, const void *values, int kv_f16, int n,
                                                             int hd) {
    int body = hd & ~3, d = 0;
    ACCUMULATE_BLOCK(8)
    ACCUMULATE_BLOCK(4)
    ACCUMULATE_BLOCK(1)
    for (; d < hd; d++)
        for (int j = 0; j < n; j++) acc[d] += p[j] * elem(values, kv_f16, (size_t)j * hd + d);
}

void gf_attn_widen_simd128(float *dst, const gf_half *src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t h = wasm_v128_load(src + i), zero = wasm_i16x8_const_splat(0);
        wasm_v128_store(dst + i, gf_h2f_hi_mul(wasm_i16x8_shuffle(zero, h, 0, 8, 1, 9, 2, 10, 3, 11)));
        wasm_v128_store(dst + i + 4, gf_h2f_hi_mul(wasm_i16x8_shuffle(zero, h, 4, 12, 5, 13, 6, 14, 7, 15)));
    }
    for (; i < n; i++) dst[i] = gf_half_to_float(src[i]);
}

/* gf_attn_q8_0_weights four keys at a time: the same products, maximum
 * (wasm's max propagates NaN, as the reference's loop does) and rounding. */
static float q8_0_weights(const float *p, const block_q8_0 *rows, int n, int nb, int b, int16_t *wq) {
    float w[GF_ATTN_MAX_TILE];
    const int body = n & ~3;
    const block_q8_0 *r = rows + b;
    v128_t vmax = wasm_f32x4_const_splat(0);
    for (int j = 0; j < body; j += 4, r += 4 * (size_t)nb) {
        v128_t d = wasm_i32x4_make(r[0].d, r[nb].d, r[2 * (size_t)nb].d, r[3 * (size_t)nb].d);
        v128_t wj = wasm_f32x4_mul(wasm_v128_load(p + j), gf_h2f_hi_mul(wasm_i32x4_shl(d, 16)));
        wasm_v128_store(w + j, wj);
        vmax = wasm_f32x4_max(vmax, wj);
    }
    vmax = wasm_f32x4_max(vmax, wasm_i32x4_shuffle(vmax, vmax, 2, 3, 0, 1));
    vmax = wasm_f32x4_max(vmax, wasm_i32x4_shuffle(vmax, vmax, 1, 0, 3, 2));
    float max = wasm_f32x4_extract_lane(vmax, 0);
    for (int j = body; j < n; j++, r += nb) {
        w[j] = p[j] * gf_half_to_float(r->d);
        max = w[j] > max || w[j] != w[j] ? w[j] : max;
    }
    if (max == 0 || !(max < INFINITY)) {
        for (int j = 0; j < n; j++) wq[j] = 0;
        return max == 0 ? 0 : NAN;
    }
    float inv = 32767.0f / max;
    v128_t vinv = wasm_f32x4_splat(inv);
    for (int j = 0; j < body; j += 4) {
        v128_t q = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(w + j), vinv)));
        wasm_v128_store64_lane(wq + j, wasm_i16x8_narrow_i32x4(q, q), 0);
    }
    for (int j = body; j < n; j++) wq[j] = (int16_t)nearbyintf(w[j] * inv);
    return max / 32767.0f;
}

/* Half h of a pair of keys' quants in one block (16 bytes of each) as the
 * four i16x8 vectors the value sums take: dimensions 16h+4k..16h+4k+3 of
 * both keys, interleaved byte by byte and widened, in vector k. */
static inline __attribute__((always_inline)) void interleave_pair(v128_t x, v128_t y, v128_t v[4]) {
    v128_t lo = wasm_i8x16_shuffle(x, y, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    v128_t hi = wasm_i8x16_shuffle(x, y, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    v[0] = wasm_i16x8_extend_low_i8x16(lo);
    v[1] = wasm_i16x8_extend_high_i8x16(lo);
    v[2] = wasm_i16x8_extend_low_i8x16(hi);
    v[3] = wasm_i16x8_extend_high_i8x16(hi);
}

/* The weights of keys j and j+1 in both halves of every i32 lane. */
static inline __attribute__((always_inline)) v128_t pair_weights(const int16_t *wq, int j) {
    return wasm_i32x4_splat((int32_t)(uint16_t)wq[j] | (int32_t)((uint32_t)(uint16_t)wq[j + 1] << 16));
}

/* a[0..32) += s * sum, the block's integer sums scaled back once. */
static inline __attribute__((always_inline)) void add_scaled_sums(float *a, const v128_t sum[8], float s) {
    v128_t sv = wasm_f32x4_splat(s);
    for (int k = 0; k < 8; k++)
        wasm_v128_store(a + 4 * k, wasm_f32x4_add(wasm_v128_load(a + 4 * k), wasm_f32x4_mul(wasm_f32x4_convert_i32x4(sum[k]), sv)));
}

/* Q8_0 value rows, summed in integers (attention_kernels.h): two keys at a
 * time, their quants interleaved byte by byte and widened to i16 so that one
 * i32x4.dot_i16x8 against the pair's weights (w_j, w_j+1, ...) adds both
 * keys' terms for four dimensions. A block's 32 sums stay in registers
 * across the tile; at most 64 keys of 2 * 127 * 32767 fit int32. */
static void accumulate_q8_0(float *acc, const float *p, const block_q8_0 *rows, int n, int hd) {
    const int nb = hd / QK8_0;
    int16_t wq[GF_ATTN_MAX_TILE + 1];
    for (int b = 0; b < nb; b++) {
        float s = q8_0_weights(p, rows, n, nb, b, wq);
        if (s == 0) continue;
        wq[n] = 0; /* an odd tile's last pair: the last key again, weighted 0 */
        v128_t sum[8];
        for (int k = 0; k < 8; k++) sum[k] = wasm_i32x4_const_splat(0);
        for (int j = 0; j < n; j += 2) {
            const int8_t *x = rows[(size_t)j * nb + b].qs, *y = rows[(size_t)(j + 1 < n ? j + 1 : j) * nb + b].qs;
            v128_t w = pair_weights(wq, j);
            for (int h = 0; h < 2; h++) {
                v128_t v[4];
                interleave_pair(wasm_v128_load(x + 16 * h), wasm_v128_load(y + 16 * h), v);
                for (int k = 0; k < 4; k++) sum[4 * h + k] = wasm_i32x4_add(sum[4 * h + k], wasm_i32x4_dot_i16x8(v[k], w));
            }
        }
        add_scaled_sums(acc + b * QK8_0, sum, s);
    }
}

/* The prepared form: per pair of keys and block of 32 dimensions (pair-major,
 * so a query that sees fewer keys reads a prefix), the eight i16x8 vectors
 * accumulate_q8_0 builds (dimensions 4k..4k+3 of both keys in vector k); an
 * odd tile's last pair has zeros for its second key. */
size_t gf_attn_q8_0_prepared_bytes_simd128(int n, int hd) { return (size_t)((n + 1) / 2) * (hd / QK8_0) * 8 * sizeof(v128_t); }

void gf_attn_prepare_q8_0_simd128(void *prepared, const block_q8_0 *rows, int n, int hd) {
    const int nb = hd / QK8_0, pairs = (n + 1) / 2;
    v128_t *out = prepared;
    for (int jp = 0; jp < pairs; jp++)
        for (int b = 0; b < nb; b++, out += 8) {
            const int j = 2 * jp;
            const int8_t *x = rows[(size_t)j * nb + b].qs, *y = j + 1 < n ? rows[(size_t)(j + 1) * nb + b].qs : NULL;
            for (int h = 0; h < 2; h++)
                interleave_pair(wasm_v128_load(x + 16 * h), y ? wasm_v128_load(y + 16 * h) : wasm_i8x16_const_splat(0), out + 4 * h);
        }
}

/* accumulate_q8_0 over the prepared form of a tile of at least n keys: the
 * same integer sums (a key past n in the last pair has weight 0), the same
 * scaling, so the same bits. */
void gf_attn_accumulate_prepared_simd128(float *acc, const float *p, const block_q8_0 *rows, const void *prepared, int n, int hd) {
    const int nb = hd / QK8_0, pairs = (n + 1) / 2;
    int16_t wq[GF_ATTN_MAX_TILE + 1];
    for (int b = 0; b < nb; b++) {
        float s = q8_0_weights(p, rows, n, nb, b, wq);
        if (s == 0) continue;
        wq[n] = 0;
        const v128_t *v = (const v128_t *)prepared + (size_t)b * 8;
        v128_t sum[8];
        for (int k = 0; k < 8; k++) sum[k] = wasm_i32x4_const_splat(0);
        for (int jp = 0; jp < pairs; jp++, v += (size_t)nb * 8) {
            v128_t w = pair_weights(wq, 2 * jp);
            for (int k = 0; k < 8; k++) sum[k] = wasm_i32x4_add(sum[k], wasm_i32x4_dot_i16x8(wasm_v128_load(v + k), w));
        }
        add_scaled_sums(acc + b * QK8_0, sum, s);
    }
}

void gf_attn_accumulate_simd128(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    if (kv == GF_KV_Q8_0) accumulate_q8_0(acc, p, values, n, hd);
    else if (kv == GF_KV_F16) accumulate(acc, p, values, 1, n, hd);
    else accumulate(acc, p, values, 0, n, hd);
}
