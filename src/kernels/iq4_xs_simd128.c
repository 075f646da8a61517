/* IQ4_XS x Q8_K matmul in wasm SIMD128 (plain, relaxed and relaxed16).
 *
 * The weights' 4-bit indices become their codebook values by a table
 * lookup (i8x16.swizzle of the 16 kvalues; the relaxed swizzle in relaxed
 * builds, identical for indices 0..15). Integer sums per sub-block of 32:
 *  - plain: codebook values and activations widened to i16 by the
 *    even/odd byte split (shifts) and multiplied with i32x4.dot_i16x8_s;
 *  - relaxed: i32x4.relaxed_dot_i8x16_i7x16_add needs a 7-bit operand, and
 *    neither side has one (codebook -127..113, activations -127..127). So
 *    the activations' magnitudes |a| (0..127) are the 7-bit side and their
 *    signs move to the weights by an xor with the sign mask m (0 or -1):
 *    (k ^ m) * |a| is k * a for a >= 0 and (-k - 1) * |a| = k * a - |a| for
 *    a < 0; the sub-block's sum of |a| over a < 0 is prepared with the
 *    activations and starts the dot product's accumulator, so the sum is
 *    exactly sum(k * a). |k ^ m| <= 127, so a pair of products is at most
 *    2 * 127 * 127 = 32258: pmaddubsw (V8's emulation without AVX-VNNI)
 *    never saturates;
 *  - relaxed16 (GF_DOT16): the 16-bit form of that dot product, each one
 *    widened at once (two pair sums could exceed i16).
 * Each row's sub-block sums are multiplied by their scale (ls - 32) and
 * added in i32 (exact: |sum| < 2^28), reduced to one i32x4 with lane = row
 * for four rows, and the float step is lane-wise:
 *     acc += (d * d8) * (float)sum
 * block after block, as gf_dot_iq4_xs_ref: bit-identical, for any row
 * split, token count or chunking (chunks carry acc through y, an f32).
 *
 * GEMV (one token) and GEMM (tiles of 4 tokens) share the code: for each
 * row of a 4-row group, each weight sub-block is unpacked once and used for
 * the tile's tokens. Activations are prepared once per chunk of blocks in a
 * stack buffer (~10 KB). */
#include <string.h>
#include <wasm_simd128.h>

#include "quant/iq4_xs.h"
#include "kernels/kernels.h"

#include "kernels/simd128_build.h"

/* prepared vectors per sub-block of one token: plain: even/odd i16 of the
 * two halves; relaxed: |a| of the halves, their sign masks, and the
 * correction (lane 0) */
#define PV 5
#define SUBS (QK_K / 32)
#define MAX_NT 4
#define CB_GEMV 16 /* blocks per chunk, one token */
#define CB_GEMM 4  /* blocks per chunk, 4 tokens */
#define PANEL 256  /* GEMM rows kept in cache while the token tiles pass */

typedef struct {
    v128_t v[CB_GEMV * SUBS * PV]; /* = MAX_NT * CB_GEMM * SUBS * PV */
    float d[CB_GEMV];
} prep_t;
_Static_assert(CB_GEMV == MAX_NT * CB_GEMM, "prep buffer shared by GEMV and GEMM");

INLINE v128_t kv_table(void) {
    return wasm_i8x16_const(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

INLINE v128_t lookup(v128_t t, v128_t idx) {
#if RELAXED
    return wasm_i8x16_relaxed_swizzle(t, idx);
#else
    return wasm_i8x16_swizzle(t, idx);
#endif
}

#if !RELAXED
INLINE v128_t even16(v128_t x) { return wasm_i16x8_shr(wasm_i16x8_shl(x, 8), 8); }
INLINE v128_t odd16(v128_t x) { return wasm_i16x8_shr(x, 8); }
#endif

/* One i32x4 whose lane r is the sum of the four lanes of s[r] (exact). */
INLINE v128_t reduce4_i32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

/* Prepares nb blocks of one token's Q8_K row at p (nb * SUBS * PV vectors). */
static void prep(const block_q8_K *a, int nb, v128_t *p, float *d) {
    for (int b = 0; b < nb; b++) {
        d[b] = a[b].d;
        for (int j = 0; j < SUBS; j++, p += PV) {
            v128_t a0 = wasm_v128_load(a[b].qs + 32 * j), a1 = wasm_v128_load(a[b].qs + 32 * j + 16);
#if RELAXED
            v128_t m0 = wasm_i8x16_lt(a0, wasm_i8x16_const_splat(0)), m1 = wasm_i8x16_lt(a1, wasm_i8x16_const_splat(0));
            v128_t n0 = wasm_i8x16_abs(a0), n1 = wasm_i8x16_abs(a1);
            /* sum of |a| where a < 0: lanes of (|a| & m) widened and added */
            v128_t c0 = wasm_v128_and(n0, m0), c1 = wasm_v128_and(n1, m1);
            v128_t c16 = wasm_i16x8_add(wasm_u16x8_extadd_pairwise_u8x16(c0), wasm_u16x8_extadd_pairwise_u8x16(c1));
            v128_t c32 = wasm_u32x4_extadd_pairwise_u16x8(c16);
            c32 = wasm_i32x4_add(c32, wasm_i32x4_shuffle(c32, c32, 2, 3, 0, 1));
            c32 = wasm_i32x4_add(c32, wasm_i32x4_shuffle(c32, c32, 1, 0, 3, 2));
            p[0] = n0;
            p[1] = n1;
            p[2] = m0;
            p[3] = m1;
            p[4] = wasm_i32x4_replace_lane(wasm_i32x4_const_splat(0), 0, wasm_i32x4_extract_lane(c32, 0));
#else
            p[0] = even16(a0);
            p[1] = odd16(a0);
            p[2] = even16(a1);
            p[3] = odd16(a1);
            p[4] = wasm_i32x4_const_splat(0);
#endif
        }
    }
}

#if RELAXED
/* sum over the sub-block of k * a as an i32x4 (lane sums); k0, k1: the two
 * halves' codebook values; p: the token's prepared sub-block */
INLINE v128_t sub_dot(v128_t k0, v128_t k1, const v128_t *p) {
    v128_t w0 = wasm_v128_xor(k0, p[2]), w1 = wasm_v128_xor(k1, p[3]);
#if DOT16
    v128_t ones = wasm_i16x8_const_splat(1);
    v128_t s = wasm_i32x4_add(p[4], wasm_i32x4_dot_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(w0, p[0]), ones));
    return wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(w1, p[1]), ones));
#else
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w1, p[1], wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w0, p[0], p[4]));
#endif
}
#endif

/* One weight block of one row against NT tokens' prepared blocks: isum[t]
 * = sum over sub-blocks of (ls - 32) * sub-block sum (i32x4 lane sums). */
INLINE void row_block(const int NT, const block_iq4_xs *x, const v128_t *const *pa, v128_t *isum) {
    const v128_t kv = kv_table(), lo4 = wasm_i8x16_const_splat(0x0F);
    v128_t acc[MAX_NT];
    UNROLL for (int t = 0; t < NT; t++) acc[t] = wasm_i32x4_const_splat(0);
    const uint16_t sh = x->scales_h;
#pragma clang loop unroll(disable)
    for (int j = 0; j < SUBS; j++) {
        const int ls = (((x->scales_l[j / 2] >> 4 * (j % 2)) & 0xf) | (((sh >> 2 * j) & 3) << 4)) - 32;
        const v128_t s = wasm_i32x4_splat(ls);
        v128_t q = wasm_v128_load(x->qs + 16 * j);
        v128_t k0 = lookup(kv, wasm_v128_and(q, lo4)), k1 = lookup(kv, wasm_v128_and(wasm_u16x8_shr(q, 4), lo4));
#if RELAXED
        UNROLL for (int t = 0; t < NT; t++)
            acc[t] = wasm_i32x4_add(acc[t], wasm_i32x4_mul(sub_dot(k0, k1, pa[t] + PV * j), s));
#else
        v128_t e0 = even16(k0), o0 = odd16(k0), e1 = even16(k1), o1 = odd16(k1);
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *p = pa[t] + PV * j;
            v128_t d = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(e0, p[0]), wasm_i32x4_dot_i16x8(o0, p[1])),
                                      wasm_i32x4_add(wasm_i32x4_dot_i16x8(e1, p[2]), wasm_i32x4_dot_i16x8(o1, p[3])));
            acc[t] = wasm_i32x4_add(acc[t], wasm_i32x4_mul(d, s));
        }
#endif
    }
    UNROLL for (int t = 0; t < NT; t++) isum[t] = acc[t];
}

/* Four rows at w, w + rs, ... (rs = 0: one row four times). */
typedef struct {
    int base, lo, hi;
    size_t rs;
} group;

/* Whole groups of four; then the last four rows below r1 (the overlap is
 * recomputed, to the same bits, and not stored), or with fewer than four
 * rows in the matrix, single rows. */
static int next_group(int *r, int r1, size_t row_bytes, group *g) {
    if (*r >= r1) return 0;
    if (*r + 4 <= r1) {
        *g = (group){*r, 0, 4, row_bytes};
        *r += 4;
    } else if (r1 >= 4) {
        *g = (group){r1 - 4, 4 - (r1 - *r), 4, row_bytes};
        *r = r1;
    } else {
        *g = (group){*r, 0, 1, 0};
        *r += 1;
    }
    return 1;
}

static void store_lanes(float *y, v128_t v, const group *g) {
    if (g->lo == 0 && g->hi == 4) {
        wasm_v128_store(y, v);
        return;
    }
    float tmp[4];
    wasm_v128_store(tmp, v);
    for (int i = g->lo; i < g->hi; i++) y[i] = tmp[i];
}

static v128_t load_lanes(const float *y, const group *g) {
    if (g->lo == 0 && g->hi == 4) return wasm_v128_load(y);
    float tmp[4] = {0, 0, 0, 0};
    for (int i = g->lo; i < g->hi; i++) tmp[i] = y[i];
    return wasm_v128_load(tmp);
}

/* A group of four rows, nb blocks from block b0 of the chunk, NT tokens:
 * acc[t] (lane = row) += (d * d8) * (float)sum, block after block. */
INLINE void group_chunk(const int NT, const uint8_t *w, size_t rs, const prep_t *p, int nb, v128_t *acc) {
    const v128_t *pa[MAX_NT];
    for (int b = 0; b < nb; b++) {
        v128_t is[4][MAX_NT];
        float dw[4];
        UNROLL for (int t = 0; t < NT; t++) pa[t] = p->v + ((size_t)t * nb + b) * SUBS * PV;
        UNROLL for (int r = 0; r < 4; r++) {
            const block_iq4_xs *x = (const block_iq4_xs *)(w + r * rs) + b;
            dw[r] = gf_half_to_float(x->d);
            row_block(NT, x, pa, is[r]);
        }
        const v128_t d = wasm_v128_load(dw);
        UNROLL for (int t = 0; t < NT; t++) {
            v128_t sum = reduce4_i32(is[0][t], is[1][t], is[2][t], is[3][t]);
            v128_t scale = wasm_f32x4_mul(d, wasm_f32x4_splat(p->d[t * nb + b]));
            acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_mul(scale, wasm_f32x4_convert_i32x4(sum)));
        }
    }
}

/* NT tokens (1 or 4) at act, rows [r0, r1). */
INLINE void tile(const int NT, const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t astride, float *y,
                 size_t ys) {
    const int nblk = w->n / QK_K, cbmax = NT == 1 ? CB_GEMV : CB_GEMM;
    const int panel = NT == 1 ? r1 - r0 : PANEL;
    prep_t p;
    for (int rp = r0; rp < r1; rp += panel) {
        const int rpe = r1 - rp < panel ? r1 : rp + panel;
        for (int b0 = 0; b0 < nblk; b0 += cbmax) {
            const int nb = nblk - b0 < cbmax ? nblk - b0 : cbmax;
            for (int t = 0; t < NT; t++)
                prep((const block_q8_K *)(act + (size_t)t * astride) + b0, nb, p.v + (size_t)t * nb * SUBS * PV,
                     p.d + t * nb);
            const uint8_t *wd = (const uint8_t *)w->data + (size_t)b0 * sizeof(block_iq4_xs);
            group g;
            int r = rp;
            while (next_group(&r, rpe, w->row_bytes, &g)) {
                v128_t acc[MAX_NT];
                for (int t = 0; t < NT; t++)
                    acc[t] = b0 ? load_lanes(y + (size_t)t * ys + g.base, &g) : wasm_f32x4_const_splat(0);
                group_chunk(NT, wd + (size_t)g.base * w->row_bytes, g.rs, &p, nb, acc);
                for (int t = 0; t < NT; t++) store_lanes(y + (size_t)t * ys + g.base, acc[t], &g);
            }
        }
    }
}

static void gemv(const gf_matrix *w, int r0, int r1, const uint8_t *act, float *y) { tile(1, w, r0, r1, act, 0, y, 0); }

static void gemm4(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) {
    tile(4, w, r0, r1, act, as, y, ys);
}

void gf_matmul_iq4_xs_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok,
                              float *y, size_t y_stride) {
    const uint8_t *a = act;
    if (r0 >= r1 || n_tok <= 0) return;
    int t = 0;
    for (; t + 4 <= n_tok; t += 4) gemm4(w, r0, r1, a + (size_t)t * act_stride, act_stride, y + (size_t)t * y_stride, y_stride);
    for (; t < n_tok; t++) gemv(w, r0, r1, a + (size_t)t * act_stride, y + (size_t)t * y_stride);
}
