/* Q5_K x Q8_K matmul in wasm SIMD128 (plain, relaxed and relaxed16 builds).
 *
 * Bit-identical to gf_dot_q5_K_ref: per (row, token) the integer sums are
 * exact (any order), and the float work per super-block is the
 * reference's, lane-wise with lane = row: acc + ((d * da) * sum -
 * (dmin * da) * sum_mins), super-block after super-block (chunks of the
 * activations only park acc in y in between: the same float sequence).
 * Rows go four at a time (a tail group repeats its last row, computed
 * identically and stored to the same place), so nothing depends on r0/r1
 * or n_tok. GEMV: one token; GEMM: tiles of 4 rows x 4 tokens, each
 * row's super-block unpacked once for the tile's tokens, over panels of
 * 256 rows kept in cache while the token tiles pass.
 *
 * Integer sums, per 32-element sub-block j (scale sc_j, values q 0..31):
 * q = (nibble) | (bit j of qh[l]) << 4, the bit moved to bit 4 with one
 * 16-bit shift (bits never cross into the neighbouring byte's bit 4).
 * - relaxed: q's bytes (0..31) are the 7-bit operand of the relaxed int8
 *   dot product against the activation bytes (|a| <= 127). A sub-block
 *   leaves four i32 lanes of 8 products (|.| <= 8 * 31 * 127 = 31496, and
 *   the relaxed16 build's i16 pair sums, two pairs per lane at most
 *   4 * 31 * 127, never saturate), two sub-blocks narrow exactly into one
 *   i16x8 and one i32x4.dot_i16x8 applies both scales.
 * - plain: q's bytes split into even and odd elements as i16, i16
 *   products with the prepared activations (four per lane: |.| <=
 *   4 * 31 * 127 fits i16), then i32x4.dot_i16x8 against the splatted
 *   scale.
 * The mins: i32x4.dot_i16x8 of the pair sums of bsums (|.| <= 32 * 127)
 * with the 6-bit mins.
 *
 * Speed (Node 20, AMD EPYC, shared and noisy machine; one thread; my
 * /tmp bench, not committed): cache-resident 2048 x 2048, plain GEMV
 * ~1.0-1.6x the Q4_K kernel's time, GEMM x16 ~1.1-1.4x; relaxed GEMV ~1.8x,
 * GEMM ~0.9-1.4x (the fifth bit costs 3 more operations per 16 bytes);
 * streamed (16384 x 4096, 46 MB) plain GEMV 12.0 ms against Q4_K's 13.1
 * (3.8 GB/s), GEMM x16 103 ms against 122. */
#include <string.h>
#include <wasm_simd128.h>

#include "kernels/half_simd128.h"
#include "kernels/kernels.h"
#include "quant/q5_K.h"

#include "kernels/simd128_build.h"

/* Loads LLVM must not merge or hoist: the activations are read again for
 * each row where used. Left to it, LLVM loads them once for the four rows
 * and V8 (16 vector registers) spills them all: 3-7x slower. */
typedef int32_t v128_u1 __attribute__((__vector_size__(16), __aligned__(1)));
INLINE v128_t ldv(const void *p) { return (v128_t)(*(const volatile v128_u1 *)p); }

/* Pins V8's schedule: it hoists loads to the top of a loop body unless a
 * store depending on the work so far comes first. */
#define FENCE(v)                                                                                                       \
    do {                                                                                                               \
        v128_t sink_;                                                                                                  \
        *(volatile v128_t *)&sink_ = (v);                                                                              \
    } while (0)

/* sum += v: with several tokens the sums wait in memory (the unpacked
 * weights hold the registers); one token keeps its sum in a register */
INLINE void acc_add(const int NT, v128_t *sum, v128_t v) {
    if (NT > 1) *(volatile v128_t *)sum = wasm_i32x4_add(*(volatile v128_t *)sum, v);
    else *sum = wasm_i32x4_add(*sum, v);
}

#define SB_CHUNK 16 /* super-blocks of activations prepared at once (4096 elements) */
#define TILE_T 4    /* tokens per GEMM tile (eight were no faster in plain wasm) */
#define PANEL 256   /* rows kept in cache while the token tiles pass */

/* exact f16 -> f32 of halves in the upper 16 bits of each i32 lane: the
 * subtraction form (K-quant super-block scales are often subnormal), with
 * exponent 31 made inf/nan as the reference does */
INLINE v128_t h2f_exact(v128_t x) {
    v128_t special = wasm_i32x4_eq(wasm_v128_and(x, wasm_i32x4_const_splat(0x7C000000)), wasm_i32x4_const_splat(0x7C000000));
    return wasm_v128_or(gf_h2f_hi_sub_finite(x), wasm_v128_and(special, wasm_i32x4_const_splat(0x7F800000)));
}

/* the halves at p[k] + off, k = 0..3, as f32 lanes */
INLINE v128_t load_h4(const uint8_t *const p[4], size_t off) {
    v128_t v = wasm_i32x4_const_splat(0);
    v = wasm_v128_load16_lane(p[0] + off, v, 1);
    v = wasm_v128_load16_lane(p[1] + off, v, 3);
    v = wasm_v128_load16_lane(p[2] + off, v, 5);
    v = wasm_v128_load16_lane(p[3] + off, v, 7);
    return h2f_exact(v);
}

/* lane r = sum of the lanes of s[r] */
INLINE v128_t reduce4(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

/* x << k for k > 0, x >> -k (unsigned) for k < 0, in 16-bit lanes; k a constant */
INLINE v128_t shift16(v128_t x, const int k) {
    return k > 0 ? wasm_i16x8_shl(x, (uint32_t)k) : k < 0 ? wasm_u16x8_shr(x, (uint32_t)-k) : x;
}

/* The 6-bit scales and mins (gf_q4_K_scale_min) as u16 lanes. */
INLINE void scales_mins(const block_q5_K *x, v128_t *sc16, v128_t *m16) {
    uint32_t u[3];
    memcpy(u, x->scales, 12);
    uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
    uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
    uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
    *sc16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)sc_lo, (int32_t)sc_hi, 0, 0));
    *m16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)m_lo, (int32_t)m_hi, 0, 0));
}

/* A token's chunk of activations, prepared once for every row: pair sums
 * of bsums per 32 elements, d, and (plain) the values split to i16:
 * a[32 b + 2 i] = elements 16 i + 2 k, a[32 b + 2 i + 1] = 16 i + 2 k + 1. */
typedef struct {
#if !RELAXED
    v128_t a[SB_CHUNK * 32];
#endif
    const block_q8_K *blk;
    v128_t bs2[SB_CHUNK];
    float d[SB_CHUNK];
} prep_t;

static void prepare(const block_q8_K *y, int nsb, prep_t *p) {
    const v128_t one = wasm_i16x8_const_splat(1);
    p->blk = y;
    for (int b = 0; b < nsb; b++) {
        p->bs2[b] = wasm_i16x8_narrow_i32x4(wasm_i32x4_dot_i16x8(wasm_v128_load(y[b].bsums), one),
                                            wasm_i32x4_dot_i16x8(wasm_v128_load(y[b].bsums + 8), one));
        p->d[b] = y[b].d;
#if !RELAXED
        for (int i = 0; i < 16; i++) {
            v128_t x = wasm_v128_load(y[b].qs + 16 * i);
            p->a[32 * b + 2 * i] = wasm_i16x8_shr(wasm_i16x8_shl(x, 8), 8);
            p->a[32 * b + 2 * i + 1] = wasm_i16x8_shr(x, 8);
        }
#endif
    }
}

#if RELAXED
#if DOT16
/* the 16-bit form (one pmaddubsw where V8 emulates the 32-bit one): pair
 * sums of both dot products added in i16, widened once */
INLINE v128_t dot2(v128_t a0, v128_t w0, v128_t a1, v128_t w1) {
    v128_t s = wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(a0, w0), wasm_i16x8_relaxed_dot_i8x16_i7x16(a1, w1));
    return wasm_i32x4_dot_i16x8(s, wasm_i16x8_const_splat(1));
}
#else
INLINE v128_t dot2(v128_t a0, v128_t w0, v128_t a1, v128_t w1) {
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a1, w1, wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a0, w0, wasm_i32x4_const_splat(0)));
}
#endif

/* One row's super-block against NT tokens' activation blocks ay[t]:
 * sum[t], mins[t] = i32x4 whose lanes add up to the reference's sum and
 * sum_mins. */
INLINE void row_sb(const int NT, const block_q5_K *x, const block_q8_K *const *ay, const v128_t *bs2, v128_t *sum,
                   v128_t *mins) {
    v128_t sc16, m16;
    scales_mins(x, &sc16, &m16);
    UNROLL for (int t = 0; t < NT; t++) {
        mins[t] = wasm_i32x4_dot_i16x8(bs2[t], m16);
        sum[t] = wasm_i32x4_const_splat(0);
    }
    const v128_t m4 = wasm_i8x16_const_splat(0x0F), b4 = wasm_i8x16_const_splat(0x10);
    UNROLL for (int p = 0; p < 4; p++) {
        const v128_t h0 = ldv(x->qh), h1 = ldv(x->qh + 16);
        const v128_t l0 = ldv(x->qs + 32 * p), l1 = ldv(x->qs + 32 * p + 16);
        /* sub-block 2p: low nibbles, qh bit 2p; 2p+1: high nibbles, bit 2p+1 */
        const v128_t q0 = wasm_v128_or(wasm_v128_and(l0, m4), wasm_v128_and(shift16(h0, 4 - 2 * p), b4));
        const v128_t q1 = wasm_v128_or(wasm_v128_and(l1, m4), wasm_v128_and(shift16(h1, 4 - 2 * p), b4));
        const v128_t q2 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l0, 4), m4), wasm_v128_and(shift16(h0, 3 - 2 * p), b4));
        const v128_t q3 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l1, 4), m4), wasm_v128_and(shift16(h1, 3 - 2 * p), b4));
        const v128_t s = p == 0   ? wasm_i16x8_shuffle(sc16, sc16, 0, 0, 0, 0, 1, 1, 1, 1)
                         : p == 1 ? wasm_i16x8_shuffle(sc16, sc16, 2, 2, 2, 2, 3, 3, 3, 3)
                         : p == 2 ? wasm_i16x8_shuffle(sc16, sc16, 4, 4, 4, 4, 5, 5, 5, 5)
                                  : wasm_i16x8_shuffle(sc16, sc16, 6, 6, 6, 6, 7, 7, 7, 7);
        UNROLL for (int t = 0; t < NT; t++) {
            const int8_t *a = ay[t]->qs + 64 * p;
            v128_t lo = dot2(ldv(a), q0, ldv(a + 16), q1);
            v128_t hi = dot2(ldv(a + 32), q2, ldv(a + 48), q3);
            acc_add(NT, &sum[t], wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(lo, hi), s));
        }
        FENCE(sum[0]);
    }
}
#else
INLINE v128_t dot4_i16(v128_t e0, v128_t o0, v128_t e1, v128_t o1, const v128_t *a) {
    return wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(e0, ldv(a)), wasm_i16x8_mul(o0, ldv(a + 1))),
                          wasm_i16x8_add(wasm_i16x8_mul(e1, ldv(a + 2)), wasm_i16x8_mul(o1, ldv(a + 3))));
}

/* plain: a[t] = the token's prepared super-block (32 vectors) */
INLINE void row_sb(const int NT, const block_q5_K *x, const v128_t *const *a, const v128_t *bs2, v128_t *sum,
                   v128_t *mins) {
    v128_t sc16, m16;
    scales_mins(x, &sc16, &m16);
    UNROLL for (int t = 0; t < NT; t++) {
        mins[t] = wasm_i32x4_dot_i16x8(bs2[t], m16);
        sum[t] = wasm_i32x4_const_splat(0);
    }
    uint16_t sc[8];
    wasm_v128_store(sc, sc16);
    const v128_t m4 = wasm_i8x16_const_splat(0x0F), b4 = wasm_i8x16_const_splat(0x10), lo8 = wasm_i16x8_const_splat(0x00FF);
    UNROLL for (int p = 0; p < 4; p++) {
        UNROLL for (int h = 0; h < 2; h++) {
            const int j = 2 * p + h;
            /* the bytes q (0..31) of elements 0..15 and 16..31, then split:
             * even elements (low byte of each 16-bit lane), odd (high byte) */
            const v128_t l0 = ldv(x->qs + 32 * p), l1 = ldv(x->qs + 32 * p + 16);
            const v128_t q0 = wasm_v128_or(wasm_v128_and(h ? wasm_u16x8_shr(l0, 4) : l0, m4), wasm_v128_and(shift16(ldv(x->qh), 4 - j), b4));
            const v128_t q1 = wasm_v128_or(wasm_v128_and(h ? wasm_u16x8_shr(l1, 4) : l1, m4), wasm_v128_and(shift16(ldv(x->qh + 16), 4 - j), b4));
            const v128_t e0 = wasm_v128_and(q0, lo8), o0 = wasm_u16x8_shr(q0, 8);
            const v128_t e1 = wasm_v128_and(q1, lo8), o1 = wasm_u16x8_shr(q1, 8);
            const v128_t s = wasm_i16x8_splat((int16_t)sc[j]);
            UNROLL for (int t = 0; t < NT; t++)
                acc_add(NT, &sum[t], wasm_i32x4_dot_i16x8(dot4_i16(e0, o0, e1, o1, a[t] + 4 * j), s));
            FENCE(sum[0]);
        }
    }
}
#endif

/* Four rows (p[k]) x NT tokens over nsb super-blocks of a chunk (prepared
 * in pr[t]); acc[t] lane k: row p[k], token t. */
INLINE void tile(const int NT, const uint8_t *const p0[4], const prep_t *const *pr, int nsb, v128_t *acc) {
    const uint8_t *p[4] = {p0[0], p0[1], p0[2], p0[3]};
    for (int b = 0; b < nsb; b++) {
        v128_t S[4][TILE_T], M[4][TILE_T], bs2[TILE_T];
#if RELAXED
        const block_q8_K *a[TILE_T];
        UNROLL for (int t = 0; t < NT; t++) a[t] = pr[t]->blk + b;
#else
        const v128_t *a[TILE_T];
        UNROLL for (int t = 0; t < NT; t++) a[t] = pr[t]->a + 32 * b;
#endif
        UNROLL for (int t = 0; t < NT; t++) bs2[t] = pr[t]->bs2[b];
        UNROLL for (int r = 0; r < 4; r++) row_sb(NT, (const block_q5_K *)p[r], a, bs2, S[r], M[r]);
        const v128_t d = load_h4(p, offsetof(block_q5_K, d)), dmin = load_h4(p, offsetof(block_q5_K, dmin));
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t is = reduce4(S[0][t], S[1][t], S[2][t], S[3][t]);
            const v128_t im = reduce4(M[0][t], M[1][t], M[2][t], M[3][t]);
            const v128_t da = wasm_f32x4_splat(pr[t]->d[b]);
            acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_mul(d, da), wasm_f32x4_convert_i32x4(is)),
                                                           wasm_f32x4_mul(wasm_f32x4_mul(dmin, da), wasm_f32x4_convert_i32x4(im))));
        }
        UNROLL for (int r = 0; r < 4; r++) p[r] += sizeof(block_q5_K);
    }
}

/* the four rows of the group at g (the last one repeated past r1) */
INLINE void group_rows(int g, int r1, int rr[4]) {
    UNROLL for (int k = 0; k < 4; k++) rr[k] = g + k < r1 ? g + k : r1 - 1;
}

INLINE v128_t load_y(const float *y, const int rr[4]) { return wasm_f32x4_make(y[rr[0]], y[rr[1]], y[rr[2]], y[rr[3]]); }

INLINE void store_y(float *y, const int rr[4], v128_t v) {
    /* repeated rows hold the same value: the last store wins, equal bits */
    wasm_v128_store32_lane(y + rr[0], v, 0);
    wasm_v128_store32_lane(y + rr[1], v, 1);
    wasm_v128_store32_lane(y + rr[2], v, 2);
    wasm_v128_store32_lane(y + rr[3], v, 3);
}

/* NT tokens (act rows t at act + t * as), rows [r0, r1). */
INLINE void run(const int NT, const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) {
    const int nsb = w->n / QK_K;
    prep_t prep[TILE_T];
    const prep_t *pr[TILE_T];
    for (int t = 0; t < NT; t++) pr[t] = &prep[t];
    for (int rp = r0; rp < r1; rp += PANEL) {
        const int rpe = r1 - rp < PANEL ? r1 : rp + PANEL;
        for (int c = 0; c < nsb; c += SB_CHUNK) {
            const int nc = nsb - c < SB_CHUNK ? nsb - c : SB_CHUNK;
            for (int t = 0; t < NT; t++) prepare((const block_q8_K *)(act + (size_t)t * as) + c, nc, &prep[t]);
            for (int g = rp; g < rpe; g += 4) {
                int rr[4];
                group_rows(g, rpe, rr);
                const uint8_t *p[4];
                for (int k = 0; k < 4; k++) p[k] = (const uint8_t *)w->data + (size_t)rr[k] * w->row_bytes + (size_t)c * sizeof(block_q5_K);
                v128_t acc[TILE_T];
                UNROLL for (int t = 0; t < NT; t++) acc[t] = c ? load_y(y + (size_t)t * ys, rr) : wasm_f32x4_const_splat(0);
                tile(NT, p, pr, nc, acc);
                UNROLL for (int t = 0; t < NT; t++) store_y(y + (size_t)t * ys, rr, acc[t]);
            }
        }
    }
}

static void gemv(const gf_matrix *w, int r0, int r1, const uint8_t *act, float *y) { run(1, w, r0, r1, act, 0, y, 0); }

static void gemm(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) {
    run(TILE_T, w, r0, r1, act, as, y, ys);
}

void gf_matmul_q5_K_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                            size_t y_stride) {
    const uint8_t *a = act;
    if (r0 >= r1 || n_tok <= 0) return;
    int t = 0;
    for (; t + TILE_T <= n_tok; t += TILE_T) gemm(w, r0, r1, a + (size_t)t * act_stride, act_stride, y + (size_t)t * y_stride, y_stride);
    for (; t < n_tok; t++) gemv(w, r0, r1, a + (size_t)t * act_stride, y + (size_t)t * y_stride);
}
