/* BF16 x BF16 matmul in wasm SIMD128, f32 accumulation.
 *
 * A bf16 is the upper half of an f32: four of them (a 64-bit load)
 * interleaved with zeros (one punpcklwd) are four exact f32 lanes, for the
 * weights and the (bf16-rounded) activations alike. Lane j of each (row,
 * token) accumulator sums the products of elements 4i + j in order of i;
 * the lanes are combined as (l0 + l2) + (l1 + l3) and the last n % 4
 * products, summed in order, are added last: gf_dot_bf16_ref's order, so
 * the results are bit-identical to it (SIMD128 has no fused multiply-add,
 * and the relaxed builds compile with -ffp-contract=off), for any row
 * split or token count. Rows go four at a time; tokens four at a time
 * (each weight vector used for four tokens), then one by one. */
#include <string.h>
#include <wasm_simd128.h>

#include "quant/bf16.h"
#include "kernels/kernels.h"

#include "kernels/simd128_build.h"

/* four bf16 at p as f32 lanes */
INLINE v128_t ld4(const gf_bf16 *p) {
    return wasm_i16x8_shuffle(wasm_i16x8_const_splat(0), wasm_v128_load64_zero(p), 0, 8, 1, 9, 2, 10, 3, 11);
}

/* lane r = (s[r]0 + s[r]2) + (s[r]1 + s[r]3) */
INLINE v128_t reduce4_f32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_f32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_f32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_f32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

/* Rows w[0..3] against NT token rows a[t]: out[t] lane r = dot(row r, token t). */
INLINE void tile(const int NT, const gf_bf16 *const w[4], const gf_bf16 *const *a, int n, v128_t *out) {
    v128_t acc[4][4];
    UNROLL for (int t = 0; t < NT; t++) UNROLL for (int r = 0; r < 4; r++) acc[t][r] = wasm_f32x4_const_splat(0);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v128_t wv[4] = {ld4(w[0] + i), ld4(w[1] + i), ld4(w[2] + i), ld4(w[3] + i)};
        UNROLL for (int t = 0; t < NT; t++) {
            v128_t av = ld4(a[t] + i);
            UNROLL for (int r = 0; r < 4; r++) acc[t][r] = wasm_f32x4_add(acc[t][r], wasm_f32x4_mul(wv[r], av));
        }
    }
    UNROLL for (int t = 0; t < NT; t++) {
        float tail[4] = {0, 0, 0, 0};
        for (int r = 0; r < 4; r++)
            for (int k = i; k < n; k++) tail[r] += gf_bf16_to_float(w[r][k]) * gf_bf16_to_float(a[t][k]);
        out[t] = wasm_f32x4_add(reduce4_f32(acc[t][0], acc[t][1], acc[t][2], acc[t][3]), wasm_v128_load(tail));
    }
}

/* rows [r0, r1) x NT tokens: groups of four rows; the last group is the
 * four rows below r1 (the overlap recomputed, not stored), or with fewer
 * than four rows in the matrix, each row alone */
INLINE void rows(const int NT, const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) {
    const gf_bf16 *a[4];
    for (int t = 0; t < NT; t++) a[t] = (const gf_bf16 *)(act + (size_t)t * as);
    for (int r = r0; r < r1;) {
        int base, lo, hi;
        size_t rs = w->row_bytes;
        if (r + 4 <= r1) base = r, lo = 0, hi = 4;
        else if (r1 >= 4) base = r1 - 4, lo = 4 - (r1 - r), hi = 4;
        else base = r, lo = 0, hi = 1, rs = 0;
        const uint8_t *w0 = (const uint8_t *)w->data + (size_t)base * w->row_bytes;
        const gf_bf16 *wr[4] = {(const gf_bf16 *)w0, (const gf_bf16 *)(w0 + rs), (const gf_bf16 *)(w0 + 2 * rs),
                                (const gf_bf16 *)(w0 + 3 * rs)};
        v128_t out[4];
        tile(NT, wr, a, w->n, out);
        for (int t = 0; t < NT; t++) {
            float *yt = y + (size_t)t * ys + base;
            if (lo == 0 && hi == 4) {
                wasm_v128_store(yt, out[t]);
            } else {
                float tmp[4];
                wasm_v128_store(tmp, out[t]);
                for (int k = lo; k < hi; k++) yt[k] = tmp[k];
            }
        }
        r = base + hi;
    }
}

static void x1(const gf_matrix *w, int r0, int r1, const uint8_t *act, float *y) { rows(1, w, r0, r1, act, 0, y, 0); }
static void x4(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) {
    rows(4, w, r0, r1, act, as, y, ys);
}

void gf_matmul_bf16_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                            size_t y_stride) {
    const uint8_t *a = act;
    if (r0 >= r1 || n_tok <= 0) return;
    int t = 0;
    for (; t + 4 <= n_tok; t += 4) x4(w, r0, r1, a + (size_t)t * act_stride, act_stride, y + (size_t)t * y_stride, y_stride);
    for (; t < n_tok; t++) x1(w, r0, r1, a + (size_t)t * act_stride, y + (size_t)t * y_stride);
}

/* llama.cpp's rounding (gf_float_to_bf16), four lanes at a time */
void gf_quantize_act_row_bf16_simd128(const float *x, void *dst, int64_t n) {
    gf_bf16 *out = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t h[2];
        for (int k = 0; k < 2; k++) {
            v128_t u = wasm_v128_load(x + i + 4 * k);
            v128_t nan = wasm_u32x4_gt(wasm_v128_and(u, wasm_i32x4_const_splat(0x7fffffff)), wasm_i32x4_const_splat(0x7f800000));
            v128_t odd = wasm_v128_and(wasm_u32x4_shr(u, 16), wasm_i32x4_const_splat(1));
            v128_t rounded = wasm_u32x4_shr(wasm_i32x4_add(u, wasm_i32x4_add(odd, wasm_i32x4_const_splat(0x7fff))), 16);
            v128_t quiet = wasm_v128_or(wasm_u32x4_shr(u, 16), wasm_i32x4_const_splat(64));
            h[k] = wasm_v128_bitselect(quiet, rounded, nan);
        }
        wasm_v128_store(out + i, wasm_u16x8_narrow_i32x4(h[0], h[1]));
    }
    for (; i < n; i++) out[i] = gf_float_to_bf16(x[i]);
}
