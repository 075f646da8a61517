/* SIMD128 matmul shared by Q2_K and Q3_K (src/kernels/q2_K_simd128.c,
 * q3_K_simd128.c): 256-element super-blocks of 2- or 3-bit levels in 16
 * sub-blocks of 16 with integer scales, against Q8_K activations.
 *
 * Exactness: per (row, token, super-block) the integer sums are exact (any
 * order), four rows' partial sums are reduced into one i32x4 (lane = row),
 * and the float work is lane-wise in the reference's order:
 *   Q3_K: acc = acc + (d * da) * (float)sum
 *   Q2_K: acc = acc + ((d * da) * (float)sum - (dmin * da) * (float)mins)
 * so every (row, token) result is bit-identical to gf_dot_T_ref, whatever
 * r0/r1, n_tok, the row group or the activation chunk it falls in (the
 * accumulator waits in y between chunks).
 *
 * Levels: Q2_K's q (0..3) as they are. Q3_K's q - 4 is taken as q' = low2 |
 * high << 2 (0..7) and the -4 applied through the activation's bsums:
 * sum sc * (q' - 4) * a = sum sc * q' * a - 4 * sum sc * bsum. Either way
 * the weight operand is 0..7, a 7-bit operand for relaxed SIMD.
 *
 * Integer sums per 16-element sub-block i (elements 16i..16i+15: bytes
 * 16c..16c+15 of the 32-byte qs half h, bits 2j, for i = 8h + 2j + c):
 * - plain: weights and activations split into even and odd elements in i16
 *   lanes; GEMV: (we * ae + wo * ao) in i16 (|.| <= 2 * 7 * 127), then one
 *   i32x4.dot_i16x8 with the scale splat; GEMM: the weights are multiplied
 *   by the scale once (|.| <= 7 * 32) and each token takes two dots.
 * - relaxed (and relaxed16: the same code): i16x8.relaxed_dot_i8x16_i7x16
 *   gives the pair sums (|.| <= 2 * 7 * 127, no pmaddubsw saturation), then
 *   one i32x4.dot_i16x8 with the scale splat.
 *
 * Structure: rows in groups of four, tokens in tiles of up to four (each
 * weight block unpacked once per tile), activations in chunks of KQ_CHUNK
 * super-blocks (prepared once per chunk, tile and row panel, on the stack:
 * ~16 KB), rows in panels of KQ_PANEL when there are several token tiles
 * (the panel's weights stay in cache while the tiles pass). */
#ifndef GF_K_LOWBIT_SIMD128_H
#define GF_K_LOWBIT_SIMD128_H

#include <stddef.h>
#include <string.h>
#include <wasm_simd128.h>

#include "kernels/half_simd128.h"
#include "kernels/kernels.h"
#include "quant/q2_K.h"
#include "quant/q3_K.h"

#define KQ_INLINE static inline __attribute__((always_inline))
#define KQ_UNROLL _Pragma("clang loop unroll(full)")
#define KQ_CHUNK 8  /* super-blocks per activation chunk */
#define KQ_TILE 4   /* tokens per tile */
#define KQ_PANEL 64 /* rows per panel */

enum { KQ_Q2 = 0, KQ_Q3 = 1 };

#if defined(__wasm_relaxed_simd__)
#define KQ_RELAXED 1
#else
#define KQ_RELAXED 0
#endif

/* Prepared activations of one token tile and chunk. */
typedef struct {
#if !KQ_RELAXED
    v128_t a[KQ_TILE][KQ_CHUNK][32]; /* sub-block i: [2i] even elements, [2i+1] odd, as i16 */
#endif
    const block_q8_K *blk[KQ_TILE]; /* the tokens' first block of the chunk */
} kq_prep;

KQ_INLINE v128_t kq_ld(const v128_t *p) { return *(const volatile v128_t *)p; }
KQ_INLINE void kq_park(v128_t *p, v128_t v) { *(volatile v128_t *)p = v; }

/* lane r = the sum of the lanes of s[r] (integer: exact in any order) */
KQ_INLINE v128_t kq_reduce4(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

KQ_INLINE size_t kq_block_bytes(const int kind) { return kind == KQ_Q3 ? sizeof(block_q3_K) : sizeof(block_q2_K); }

/* The 16 scales of a block as i16: sc[0] = sub-blocks 0..7, sc[1] = 8..15;
 * Q2_K also its mins (m). */
KQ_INLINE void kq_scales(const int kind, const uint8_t *blk, v128_t sc[2], v128_t m[2]) {
    if (kind == KQ_Q3) {
        uint32_t u[3];
        memcpy(u, ((const block_q3_K *)blk)->scales, 12);
        const uint32_t k4 = 0x0f0f0f0f, k2 = 0x03030303;
        v128_t v = wasm_i32x4_make((int32_t)((u[0] & k4) | ((u[2] & k2) << 4)), (int32_t)((u[1] & k4) | (((u[2] >> 2) & k2) << 4)),
                                   (int32_t)(((u[0] >> 4) & k4) | (((u[2] >> 4) & k2) << 4)),
                                   (int32_t)(((u[1] >> 4) & k4) | (((u[2] >> 6) & k2) << 4)));
        v = wasm_i8x16_sub(v, wasm_i8x16_const_splat(32));
        sc[0] = wasm_i16x8_extend_low_i8x16(v);
        sc[1] = wasm_i16x8_extend_high_i8x16(v);
        m[0] = m[1] = v;
    } else {
        v128_t v = wasm_v128_load(((const block_q2_K *)blk)->scales);
        v128_t lo = wasm_v128_and(v, wasm_i8x16_const_splat(0x0F)), hi = wasm_u8x16_shr(v, 4);
        sc[0] = wasm_u16x8_extend_low_u8x16(lo);
        sc[1] = wasm_u16x8_extend_high_u8x16(lo);
        m[0] = wasm_u16x8_extend_low_u8x16(hi);
        m[1] = wasm_u16x8_extend_high_u8x16(hi);
    }
}

/* scale of sub-block i splat to i16 lanes, from scp (each scale twice per i32 lane) */
KQ_INLINE v128_t kq_splat(const v128_t *scp, const int i) {
    const v128_t v = kq_ld(&scp[i >> 2]);
    switch (i & 3) {
    case 0: return wasm_i32x4_shuffle(v, v, 0, 0, 0, 0);
    case 1: return wasm_i32x4_shuffle(v, v, 1, 1, 1, 1);
    case 2: return wasm_i32x4_shuffle(v, v, 2, 2, 2, 2);
    default: return wasm_i32x4_shuffle(v, v, 3, 3, 3, 3);
    }
}

/* Bytes of sub-block i's levels (0..7): X = qs half h bytes 16c.., H = hmask
 * bytes 16c.., j = i's bit pair in X, s = 4h + j its bit in H. The 16-bit
 * shifts move no bit across a byte into the masked positions. */
KQ_INLINE v128_t kq_levels8(const int kind, v128_t X, v128_t H, const int j, const int s) {
    v128_t q = wasm_v128_and(j ? wasm_u16x8_shr(X, 2 * j) : X, wasm_i8x16_const_splat(3));
    if (kind == KQ_Q3) {
        v128_t hb = s >= 2 ? wasm_u16x8_shr(H, s - 2) : s == 1 ? wasm_i16x8_shl(H, 1) : wasm_i16x8_shl(H, 2);
        q = wasm_v128_or(q, wasm_v128_and(hb, wasm_i8x16_const_splat(4)));
    }
    return q;
}

#if !KQ_RELAXED
/* Sub-block i's levels as i16: even elements (*e) and odd (*o). */
KQ_INLINE void kq_levels16(const int kind, v128_t X, v128_t H, const int j, const int s, v128_t *e, v128_t *o) {
    if (kind == KQ_Q3) {
        const v128_t q = kq_levels8(kind, X, H, j, s);
        *e = wasm_v128_and(q, wasm_i16x8_const_splat(0xFF));
        *o = wasm_u16x8_shr(q, 8);
    } else {
        const v128_t m3 = wasm_i16x8_const_splat(3);
        *e = wasm_v128_and(j ? wasm_u16x8_shr(X, 2 * j) : X, m3);
        *o = wasm_v128_and(wasm_u16x8_shr(X, 2 * j + 8), m3);
    }
}
#endif

/* One row's super-block against NT tokens: sum[t] and (Q2_K) mins[t],
 * i32x4 whose lanes add up to the reference's sum and sum_mins. */
KQ_INLINE void kq_row(const int kind, const int NT, const uint8_t *blk, const kq_prep *p, int kb, v128_t *sum, v128_t *mins) {
    v128_t sc[2], m[2];
    kq_scales(kind, blk, sc, m);
    v128_t scp[4];
    kq_park(&scp[0], wasm_i16x8_shuffle(sc[0], sc[0], 0, 0, 1, 1, 2, 2, 3, 3));
    kq_park(&scp[1], wasm_i16x8_shuffle(sc[0], sc[0], 4, 4, 5, 5, 6, 6, 7, 7));
    kq_park(&scp[2], wasm_i16x8_shuffle(sc[1], sc[1], 0, 0, 1, 1, 2, 2, 3, 3));
    kq_park(&scp[3], wasm_i16x8_shuffle(sc[1], sc[1], 4, 4, 5, 5, 6, 6, 7, 7));
    v128_t acc[KQ_TILE];
    KQ_UNROLL for (int t = 0; t < NT; t++) {
        const block_q8_K *ay = p->blk[t] + kb;
        v128_t b0 = wasm_v128_load(ay->bsums), b1 = wasm_v128_load(ay->bsums + 8);
        if (kind == KQ_Q3) {
            v128_t corr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc[0], b0), wasm_i32x4_dot_i16x8(sc[1], b1));
            acc[t] = wasm_i32x4_sub(wasm_i32x4_const_splat(0), wasm_i32x4_shl(corr, 2));
        } else {
            mins[t] = wasm_i32x4_add(wasm_i32x4_dot_i16x8(m[0], b0), wasm_i32x4_dot_i16x8(m[1], b1));
            acc[t] = wasm_i32x4_const_splat(0);
        }
    }
    const uint8_t *qs = kind == KQ_Q3 ? ((const block_q3_K *)blk)->qs : ((const block_q2_K *)blk)->qs;
    const uint8_t *hm = ((const block_q3_K *)blk)->hmask;
    KQ_UNROLL for (int h = 0; h < 2; h++) {
        KQ_UNROLL for (int c = 0; c < 2; c++) {
            const v128_t X = wasm_v128_load(qs + 32 * h + 16 * c);
            const v128_t H = kind == KQ_Q3 ? wasm_v128_load(hm + 16 * c) : X;
            KQ_UNROLL for (int j = 0; j < 4; j++) {
                const int i = 8 * h + 2 * j + c, s = 4 * h + j;
                const v128_t S = kq_splat(scp, i);
#if KQ_RELAXED
                const v128_t w = kq_levels8(kind, X, H, j, s);
                KQ_UNROLL for (int t = 0; t < NT; t++) {
                    const v128_t a = wasm_v128_load(p->blk[t][kb].qs + 16 * i);
                    acc[t] = wasm_i32x4_add(acc[t], wasm_i32x4_dot_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(a, w), S));
                }
#else
                v128_t we, wo;
                kq_levels16(kind, X, H, j, s, &we, &wo);
                if (NT == 1) {
                    const v128_t pr = wasm_i16x8_add(wasm_i16x8_mul(we, kq_ld(&p->a[0][kb][2 * i])),
                                                     wasm_i16x8_mul(wo, kq_ld(&p->a[0][kb][2 * i + 1])));
                    acc[0] = wasm_i32x4_add(acc[0], wasm_i32x4_dot_i16x8(pr, S));
                } else {
                    we = wasm_i16x8_mul(we, S);
                    wo = wasm_i16x8_mul(wo, S);
                    KQ_UNROLL for (int t = 0; t < NT; t++)
                        acc[t] = wasm_i32x4_add(acc[t], wasm_i32x4_add(wasm_i32x4_dot_i16x8(we, kq_ld(&p->a[t][kb][2 * i])),
                                                                       wasm_i32x4_dot_i16x8(wo, kq_ld(&p->a[t][kb][2 * i + 1]))));
                }
#endif
            }
        }
    }
    KQ_UNROLL for (int t = 0; t < NT; t++) sum[t] = acc[t];
}

/* d (off = offset of the half) of four rows as f32 lanes, exact (inf/nan too) */
KQ_INLINE v128_t kq_halves(const uint8_t *const *rows, size_t off) {
    v128_t v = wasm_i32x4_const_splat(0);
    v = wasm_v128_load16_lane(rows[0] + off, v, 1);
    v = wasm_v128_load16_lane(rows[1] + off, v, 3);
    v = wasm_v128_load16_lane(rows[2] + off, v, 5);
    v = wasm_v128_load16_lane(rows[3] + off, v, 7);
    if (wasm_v128_any_true(wasm_i32x4_eq(wasm_v128_and(v, wasm_i32x4_const_splat(0x7C000000)), wasm_i32x4_const_splat(0x7C000000)))) {
        gf_half h[4];
        for (int r = 0; r < 4; r++) memcpy(&h[r], rows[r] + off, 2);
        return wasm_f32x4_make(gf_half_to_float(h[0]), gf_half_to_float(h[1]), gf_half_to_float(h[2]), gf_half_to_float(h[3]));
    }
    return gf_h2f_hi_sub_finite(v);
}

/* Rows g0..g0+3 (rows past r1 repeat row r1 - 1, not stored) x NT tokens,
 * super-blocks kb0..kb0+nkb of the prepared chunk. */
KQ_INLINE void kq_group(const int kind, const int NT, const gf_matrix *w, int g0, int r1, const kq_prep *p, int b0, int nkb,
                        float *y, size_t y_stride) {
    const size_t bb = kq_block_bytes(kind);
    const uint8_t *rows[4];
    int nr = r1 - g0 < 4 ? r1 - g0 : 4;
    for (int r = 0; r < 4; r++) rows[r] = (const uint8_t *)w->data + (size_t)(r < nr ? g0 + r : r1 - 1) * w->row_bytes + (size_t)b0 * bb;
    v128_t acc[KQ_TILE];
    KQ_UNROLL for (int t = 0; t < NT; t++) {
        float *yt = y + (size_t)t * y_stride + g0;
        if (b0 == 0) acc[t] = wasm_f32x4_const_splat(0);
        else if (nr == 4) acc[t] = wasm_v128_load(yt);
        else acc[t] = wasm_f32x4_make(yt[0], nr > 1 ? yt[1] : 0, nr > 2 ? yt[2] : 0, 0);
    }
    for (int kb = 0; kb < nkb; kb++) {
        v128_t sum[4][KQ_TILE], mins[4][KQ_TILE];
        for (int r = 0; r < 4; r++) {
            v128_t s[KQ_TILE], mn[KQ_TILE];
            kq_row(kind, NT, rows[r] + (size_t)kb * bb, p, kb, s, mn);
            KQ_UNROLL for (int t = 0; t < NT; t++) {
                kq_park(&sum[r][t], s[t]);
                if (kind == KQ_Q2) kq_park(&mins[r][t], mn[t]);
            }
        }
        const uint8_t *cur[4] = {rows[0] + (size_t)kb * bb, rows[1] + (size_t)kb * bb, rows[2] + (size_t)kb * bb,
                                 rows[3] + (size_t)kb * bb};
        const v128_t d = kq_halves(cur, kind == KQ_Q3 ? offsetof(block_q3_K, d) : offsetof(block_q2_K, d));
        const v128_t dmin = kind == KQ_Q2 ? kq_halves(cur, offsetof(block_q2_K, dmin)) : d;
        KQ_UNROLL for (int t = 0; t < NT; t++) {
            const v128_t da = wasm_f32x4_splat(p->blk[t][kb].d);
            const v128_t is = wasm_f32x4_convert_i32x4(
                kq_reduce4(kq_ld(&sum[0][t]), kq_ld(&sum[1][t]), kq_ld(&sum[2][t]), kq_ld(&sum[3][t])));
            const v128_t v = wasm_f32x4_mul(wasm_f32x4_mul(d, da), is);
            if (kind == KQ_Q3) {
                acc[t] = wasm_f32x4_add(acc[t], v);
            } else {
                const v128_t im = wasm_f32x4_convert_i32x4(
                    kq_reduce4(kq_ld(&mins[0][t]), kq_ld(&mins[1][t]), kq_ld(&mins[2][t]), kq_ld(&mins[3][t])));
                acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_sub(v, wasm_f32x4_mul(wasm_f32x4_mul(dmin, da), im)));
            }
        }
    }
    KQ_UNROLL for (int t = 0; t < NT; t++) {
        float *yt = y + (size_t)t * y_stride + g0;
        if (nr == 4) {
            wasm_v128_store(yt, acc[t]);
        } else {
            float f[4];
            wasm_v128_store(f, acc[t]);
            for (int r = 0; r < nr; r++) yt[r] = f[r];
        }
    }
}

static void kq_prepare(kq_prep *p, const uint8_t *act, size_t act_stride, int t0, int nt, int b0, int nkb) {
    for (int t = 0; t < nt; t++) {
        p->blk[t] = (const block_q8_K *)(act + (size_t)(t0 + t) * act_stride) + b0;
#if !KQ_RELAXED
        for (int kb = 0; kb < nkb; kb++)
            for (int i = 0; i < 16; i++) {
                const v128_t x = wasm_v128_load(p->blk[t][kb].qs + 16 * i);
                p->a[t][kb][2 * i] = wasm_i16x8_shr(wasm_i16x8_shl(x, 8), 8);
                p->a[t][kb][2 * i + 1] = wasm_i16x8_shr(x, 8);
            }
#else
        (void)nkb;
#endif
    }
}

KQ_INLINE void kq_rows(const int kind, const int NT, const gf_matrix *w, int r0, int r1, const kq_prep *p, int b0, int nkb,
                       float *y, size_t y_stride) {
    for (int g = r0; g < r1; g += 4) kq_group(kind, NT, w, g, r1, p, b0, nkb, y, y_stride);
}

KQ_INLINE void kq_matmul(const int kind, const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok,
                         float *y, size_t y_stride) {
    const int nb = w->n / QK_K;
    kq_prep p;
    const int panel = n_tok <= KQ_TILE ? (r1 - r0 > 0 ? r1 - r0 : 1) : KQ_PANEL;
    for (int p0 = r0; p0 < r1; p0 += panel) {
        const int p1 = r1 - p0 > panel ? p0 + panel : r1;
        for (int t0 = 0; t0 < n_tok; t0 += KQ_TILE) {
            const int nt = n_tok - t0 < KQ_TILE ? n_tok - t0 : KQ_TILE;
            float *yt = y + (size_t)t0 * y_stride;
            for (int b0 = 0; b0 < nb; b0 += KQ_CHUNK) {
                const int nkb = nb - b0 < KQ_CHUNK ? nb - b0 : KQ_CHUNK;
                kq_prepare(&p, act, act_stride, t0, nt, b0, nkb);
                switch (nt) {
                case 1: kq_rows(kind, 1, w, p0, p1, &p, b0, nkb, yt, y_stride); break;
                case 2: kq_rows(kind, 2, w, p0, p1, &p, b0, nkb, yt, y_stride); break;
                case 3: kq_rows(kind, 3, w, p0, p1, &p, b0, nkb, yt, y_stride); break;
                default: kq_rows(kind, 4, w, p0, p1, &p, b0, nkb, yt, y_stride); break;
                }
            }
        }
    }
}

#endif
