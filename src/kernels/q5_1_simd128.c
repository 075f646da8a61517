/* Q5_1 x Q8_1 matmul in wasm SIMD128 (plain, relaxed and relaxed16 builds).
 *
 * Rows go four at a time (lane = row): a block's integer sums for the four
 * rows are reduced into one i32x4 and the float step is lane-wise, the
 * reference's operations in its order (s += d * da * sum + m * sa), so each
 * result is bit-identical to gf_dot_q5_1_ref whatever the row range, token
 * count, tiling or chunking. A block's levels (0..31, the fifth bit spread
 * from qh by a byte shuffle and a mask compare) are unpacked per row and
 * block: in the GEMV consumed at once, row after row; in the GEMM once for
 * a tile of TILE_T (8) tokens. The activations' f16 scales are converted once
 * per token tile and chunk of rows (CHUNK_B blocks, 4096 elements; longer rows continue
 * from the sums parked in y), for every row group of a panel of PANEL rows.
 * Integer sums are exact in every build: plain, i16 products (at most
 * 31 * 128) summed in i16 (at most 15872) and widened by i32x4.dot_i16x8;
 * relaxed, i32x4.relaxed_dot_i8x16_i7x16_add with the 5-bit levels as the
 * 7-bit operand (pair products fit i16, so pmaddubsw emulation is exact);
 * relaxed16 (GF_DOT16), its i16 form, two added in i16 (at most 15872). */
#include <string.h>
#include <wasm_simd128.h>

#include "quant/q5_1.h"
#include "kernels/half_simd128.h"
#include "kernels/kernels.h"

#include "kernels/simd128_build.h"
#define TILE_T 8 /* tokens per GEMM tile */

/* A load LLVM must not merge with another of the same address, and a
 * store that orders V8's schedule (it hoists loads to the top of a loop
 * body, then spills what 16 registers cannot hold): as kernels_simd128.c. */
INLINE v128_t ldv(const void *p) { return *(const volatile v128_t *)p; }
#define FENCE(v)                                                                                                       \
    do {                                                                                                               \
        v128_t sink_;                                                                                                  \
        *(volatile v128_t *)&sink_ = (v);                                                                              \
    } while (0)

INLINE uint32_t ld32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A block's 32 levels as bytes: W[0] elements 0..15, W[1] 16..31. */
INLINE void unpack(const block_q5_1 *x, v128_t W[2]) {
    const v128_t mask = wasm_i8x16_const(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    v128_t qh = wasm_i32x4_splat((int32_t)ld32(x->qh));
    v128_t ql = wasm_v128_load(x->qs);
    v128_t h0 = wasm_i8x16_swizzle(qh, wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    v128_t h1 = wasm_i8x16_swizzle(qh, wasm_i8x16_const(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    h0 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h0, mask), mask), wasm_i8x16_splat(0x10));
    h1 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h1, mask), mask), wasm_i8x16_splat(0x10));
    W[0] = wasm_v128_or(wasm_v128_and(ql, wasm_i8x16_splat(0x0f)), h0);
    W[1] = wasm_v128_or(wasm_u8x16_shr(ql, 4), h1);
}

/* Per-lane integer partial sums of one row's block with one token's block
 * (lanes: 4 partial sums, to be reduced). */
INLINE v128_t isum4(const v128_t W[2], v128_t a0, v128_t a1) {
#if DOT16
    v128_t s16 = wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(a0, W[0]), wasm_i16x8_relaxed_dot_i8x16_i7x16(a1, W[1]));
    return wasm_i32x4_dot_i16x8(s16, wasm_i16x8_splat(1));
#elif RELAXED
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a1, W[1], wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a0, W[0], wasm_i32x4_splat(0)));
#else
    v128_t p = wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(W[0]), wasm_i16x8_extend_low_i8x16(a0));
    p = wasm_i16x8_add(p, wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(W[0]), wasm_i16x8_extend_high_i8x16(a0)));
    p = wasm_i16x8_add(p, wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(W[1]), wasm_i16x8_extend_low_i8x16(a1)));
    p = wasm_i16x8_add(p, wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(W[1]), wasm_i16x8_extend_high_i8x16(a1)));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat(1));
#endif
}

/* lane r = the sum of the lanes of s[r] (integer: exact in any order) */
INLINE v128_t reduce4(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

/* The activations' scales d and s as floats, prepared once per token tile
 * and chunk of blocks (pd[t][b], ps[t][b]), for every row group. */
#define CHUNK_B 128 /* blocks per prepared chunk (4096 elements) */
typedef struct {
    float d[TILE_T][CHUNK_B], s[TILE_T][CHUNK_B];
} prep_t;

static void prep(const uint8_t *act, size_t astride, int nt, int b0, int nb, prep_t *p) {
    for (int t = 0; t < nt; t++) {
        const block_q8_1 *a = (const block_q8_1 *)(act + (size_t)t * astride) + b0;
        int b = 0;
        for (; b + 4 <= nb; b += 4) {
            v128_t ds = wasm_i32x4_make((int32_t)ld32(&a[b]), (int32_t)ld32(&a[b + 1]), (int32_t)ld32(&a[b + 2]),
                                        (int32_t)ld32(&a[b + 3]));
            wasm_v128_store(&p->d[t][b], gf_h2f_hi_mul(wasm_i32x4_shl(ds, 16)));
            wasm_v128_store(&p->s[t][b], gf_h2f_hi_mul(wasm_v128_and(ds, wasm_i32x4_const_splat((int32_t)0xFFFF0000))));
        }
        for (; b < nb; b++) {
            p->d[t][b] = gf_half_to_float(a[b].d);
            p->s[t][b] = gf_half_to_float(a[b].s);
        }
    }
}

/* Four rows (pointers x[0..3] at block b0, possibly repeated) against nt
 * tokens over nb blocks: acc[t] lane r accumulates row r's dot with token t. */
INLINE void group(const block_q5_1 *const x[4], int nb, const uint8_t *act, size_t astride, const int nt,
                  const prep_t *p, v128_t *acc) {
    for (int b = 0; b < nb; b++) {
        if (nt == 1) {
            /* GEMV: each row's block unpacked and consumed at once (fewer
             * live vectors: V8 has 16 registers), the activations loaded
             * per row where used */
            const block_q8_1 *a = (const block_q8_1 *)act + b;
            v128_t s[4];
            UNROLL for (int r = 0; r < 4; r++) {
                v128_t W[2];
                unpack(&x[r][b], W);
                s[r] = isum4(W, ldv(a->qs), ldv(a->qs + 16));
                FENCE(s[r]);
            }
            v128_t dm = wasm_i32x4_make((int32_t)ld32(&x[0][b]), (int32_t)ld32(&x[1][b]), (int32_t)ld32(&x[2][b]),
                                        (int32_t)ld32(&x[3][b]));
            v128_t dw = gf_h2f_hi_mul(wasm_i32x4_shl(dm, 16));
            v128_t mw = gf_h2f_hi_mul(wasm_v128_and(dm, wasm_i32x4_const_splat((int32_t)0xFFFF0000)));
            v128_t is = reduce4(s[0], s[1], s[2], s[3]);
            v128_t da = wasm_v128_load32_splat(&p->d[0][b]), sa = wasm_v128_load32_splat(&p->s[0][b]);
            v128_t step = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(dw, da), wasm_f32x4_convert_i32x4(is)),
                                         wasm_f32x4_mul(mw, sa));
            acc[0] = wasm_f32x4_add(acc[0], step);
            continue;
        }
        v128_t W[4][2];
        UNROLL for (int r = 0; r < 4; r++) unpack(&x[r][b], W[r]);
        /* d | m << 16 of each row: halves to the top of the lanes */
        v128_t dm = wasm_i32x4_make((int32_t)ld32(&x[0][b]), (int32_t)ld32(&x[1][b]), (int32_t)ld32(&x[2][b]),
                                    (int32_t)ld32(&x[3][b]));
        v128_t dw = gf_h2f_hi_mul(wasm_i32x4_shl(dm, 16));
        v128_t mw = gf_h2f_hi_mul(wasm_v128_and(dm, wasm_i32x4_const_splat((int32_t)0xFFFF0000)));
        for (int t = 0; t < nt; t++) {
            const block_q8_1 *a = (const block_q8_1 *)(act + (size_t)t * astride) + b;
            v128_t a0 = wasm_v128_load(a->qs), a1 = wasm_v128_load(a->qs + 16);
            v128_t is = reduce4(isum4(W[0], a0, a1), isum4(W[1], a0, a1), isum4(W[2], a0, a1), isum4(W[3], a0, a1));
            v128_t da = wasm_v128_load32_splat(&p->d[t][b]), sa = wasm_v128_load32_splat(&p->s[t][b]);
            v128_t step = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(dw, da), wasm_f32x4_convert_i32x4(is)),
                                         wasm_f32x4_mul(mw, sa));
            acc[t] = wasm_f32x4_add(acc[t], step);
        }
    }
}

static void group1(const block_q5_1 *const x[4], int nb, const uint8_t *act, const prep_t *p, v128_t *acc) {
    group(x, nb, act, 0, 1, p, acc);
}
static void groupN(const block_q5_1 *const x[4], int nb, const uint8_t *act, size_t astride, int nt, const prep_t *p,
                   v128_t *acc) {
    group(x, nb, act, astride, nt, p, acc);
}

/* Rows are taken in panels (kept in cache while every token tile passes);
 * long rows in chunks of CHUNK_B blocks, the accumulators parked in y
 * between chunks (stores and loads of floats are exact). */
#define PANEL 64
void gf_matmul_q5_1_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                            size_t y_stride) {
    const int nb_all = w->n / QK5_1;
    const uint8_t *base = w->data;
    prep_t p;
    for (int b0 = 0; b0 < nb_all; b0 += CHUNK_B) {
        const int nb = nb_all - b0 < CHUNK_B ? nb_all - b0 : CHUNK_B;
        for (int p0 = r0; p0 < r1; p0 += PANEL) {
            const int p1 = r1 - p0 < PANEL ? r1 : p0 + PANEL;
            for (int t0 = 0; t0 < n_tok; t0 += TILE_T) {
                const int nt = n_tok - t0 < TILE_T ? n_tok - t0 : TILE_T;
                const uint8_t *a = (const uint8_t *)act + (size_t)t0 * act_stride;
                prep(a, act_stride, nt, b0, nb, &p);
                for (int r = p0; r < p1; r += 4) {
                    const int nr = p1 - r < 4 ? p1 - r : 4;
                    const block_q5_1 *x[4];
                    for (int k = 0; k < 4; k++)
                        x[k] = (const block_q5_1 *)(base + (size_t)(r + (k < nr ? k : nr - 1)) * w->row_bytes) + b0;
                    v128_t acc[TILE_T];
                    for (int t = 0; t < TILE_T; t++) {
                        float v[4] = {0, 0, 0, 0};
                        if (b0 > 0 && t < nt)
                            for (int k = 0; k < nr; k++) v[k] = y[(size_t)(t0 + t) * y_stride + r + k];
                        acc[t] = wasm_v128_load(v);
                    }
                    const uint8_t *ab = a + (size_t)b0 * sizeof(block_q8_1);
                    if (n_tok == 1) group1(x, nb, ab, &p, acc);
                    else groupN(x, nb, ab, act_stride, nt, &p, acc);
                    for (int t = 0; t < nt; t++) {
                        float v[4];
                        wasm_v128_store(v, acc[t]);
                        for (int k = 0; k < nr; k++) y[(size_t)(t0 + t) * y_stride + r + k] = v[k];
                    }
                }
            }
        }
    }
}
