/* wasm SIMD128 kernels.
 *
 * Integer dot products: every weight and activation block is widened to i16
 * lanes and multiplied with i32x4.dot_i16x8_s (pmaddwd on x86). Instead of
 * i16x8.extend (two instructions for the high half on x86), bytes are split
 * into even and odd elements with 16-bit shifts: a 16-bit lane holds bytes
 * 2k and 2k+1, so (x << 8) >> 8 is element 2k and x >> 8 element 2k+1. Weights
 * and activations are split the same way, so products pair up; integer sums
 * do not care about the order.
 *
 * Relaxed SIMD (built with -mrelaxed-simd, __wasm_relaxed_simd__): the
 * integer sums come from i32x4.relaxed_dot_i8x16_i7x16_add instead (four
 * byte products per lane; vpdpbusd where the CPU has AVX-VNNI). Its result
 * is only defined when the second operand's bytes are in [0, 127] and, on
 * CPUs without VNNI, when each pair of products fits i16 (pmaddubsw
 * saturates). Every use here satisfies both, so the sums, and with them all
 * results, are exactly the plain kernels': 4-bit nibbles (0..15) and Q6_K's
 * 6-bit values before their -32 (0..63) are the 7-bit operand against the
 * activation bytes; Q8_0 moves the activations' signs onto the weights (see
 * unpack32), or, where a start-up check finds the instruction exact for any
 * byte (VNNI: dot_u8_exact), takes its weights plus 128. The float work and
 * the row/tile structure are shared. The relaxed16 build (-DGF_DOT16) is
 * the relaxed one for CPUs that emulate that instruction: its dot products
 * come from the 16-bit form (one pmaddubsw), their pair sums added in i16
 * while they provably fit (dot1, dot2, sum16x4).
 *
 * Float work per block follows the reference order exactly: each (row,
 * token) accumulates acc += (dw * da) * (float)isum block after block. The
 * per-block integer sums of four rows are reduced into one i32x4 (lane =
 * row), so the float work is lane-wise and identical to the scalar code.
 * Hence the quantized kernels are bit-identical to the references, and GEMV,
 * GEMM, any row split and any chunking of long rows agree bit for bit.
 * F32/F16 sum in four lanes (fixed order), so they match the reference only
 * to rounding, but are equally independent of r0/r1/n_tok.
 *
 * Rows go four at a time at a uniform stride (the group code below); the
 * activations are prepared once per call (split to i16, scales converted)
 * in a stack buffer of ~20 KB. GEMV reads one row group at a time (see
 * GEMV_GROUPS), its rows spread over the row range so that the weights
 * stream as four long sequential runs (spread_it); K-quant rows of
 * up to 2048 elements are read whole, four adjacent rows after each
 * other, as one run (gemvK_rows). GEMM tiles
 * 4 rows x 16 tokens (x 4 for the K-quants): each weight block is unpacked
 * once for the tile's tokens, over panels of 256 rows kept in cache while
 * every token tile passes.
 *
 * V8 is the real code generator here: it has 16 vector registers and
 * hoists loads to the top of a loop body, so the code avoids keeping more
 * than a dozen vectors alive (see FENCE and ldv). */
#include <string.h>
#include <wasm_simd128.h>

#include "kernels/exp_poly.h"
#include "kernels/half_simd128.h"
#include "kernels/kernels.h"
#include "quant/q5_K.h"

#include "kernels/simd128_build.h"

/* ---- scalar helpers ---- */

INLINE uint16_t ld16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Exact half -> float (half_simd128.h). */
INLINE float h2f(uint16_t h) { return wasm_f32x4_extract_lane(gf_h2f_hi_mul(wasm_i32x4_splat((int32_t)((uint32_t)h << 16))), 0); }

/* ---- vector helpers ---- */

/* Exact float -> half bits (round to nearest even) in i32 lanes. Adding a
 * power of two chosen from the input's exponent makes the f32 adder round
 * the mantissa at the half's precision (including subnormal halves); the
 * pre-scaling by 2^112 * 2^-110 saturates overflowing inputs to inf. NaNs
 * keep their payload and get the quiet bit, as the reference does. */
INLINE v128_t f2h(v128_t f) {
    v128_t shl1 = wasm_i32x4_add(f, f);
    v128_t sign = wasm_u32x4_shr(wasm_v128_and(f, wasm_i32x4_const_splat((int32_t)0x80000000)), 16);
    v128_t base = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_abs(f), wasm_f32x4_const_splat(0x1p112f)),
                                 wasm_f32x4_const_splat(0x1p-110f));
    v128_t bias = wasm_u32x4_max(wasm_v128_and(shl1, wasm_i32x4_const_splat((int32_t)0xFF000000)),
                                 wasm_i32x4_const_splat(0x71000000));
    bias = wasm_i32x4_add(wasm_u32x4_shr(bias, 1), wasm_i32x4_const_splat(0x07800000));
    v128_t bits = wasm_f32x4_add(base, bias);
    v128_t nonsign = wasm_i32x4_add(wasm_v128_and(wasm_u32x4_shr(bits, 13), wasm_i32x4_const_splat(0x7C00)),
                                    wasm_v128_and(bits, wasm_i32x4_const_splat(0x0FFF)));
    v128_t nan = wasm_u32x4_gt(shl1, wasm_i32x4_const_splat((int32_t)0xFF000000));
    v128_t nanbits = wasm_v128_or(wasm_v128_and(wasm_u32x4_shr(f, 13), wasm_i32x4_const_splat(0x3FF)),
                                  wasm_i32x4_const_splat(0x7E00));
    return wasm_v128_or(sign, wasm_v128_bitselect(nanbits, nonsign, nan));
}

/* A load LLVM must not merge with another load of the same address: the
 * prepared activations are read once per row where used, instead of being
 * loaded once and kept alive across rows (V8 would spill them). */
INLINE v128_t ldv(const v128_t *p) { return *(const volatile v128_t *)p; }

/* Orders V8's schedule: it keeps memory accesses in program order but
 * otherwise hoists loads to the top of a loop body, and then spills what it
 * cannot hold in 16 registers. Storing a result that depends on the work so
 * far (to the stack: thread-safe) pins the following loads after that work. */
#define FENCE(v)                                                                                                       \
    do {                                                                                                               \
        v128_t sink_;                                                                                                  \
        *(volatile v128_t *)&sink_ = (v);                                                                              \
    } while (0)

/* A store LLVM must keep: the value waits in memory, not in a register, to
 * be read back with ldv where needed. */
INLINE void park(v128_t *p, v128_t v) { *(volatile v128_t *)p = v; }

/* *acc = v and *acc += v for the K-quant rows' integer sums. With several
 * tokens (the GEMM) the sums live in memory: a row's unpacked weights hold
 * most of the registers, and V8, left to spill, chose worse (parked:
 * relaxed Q6_K GEMM 1.25-1.4x faster; plain Q4_K 1.15-1.23x, Q6_K
 * 1.05-1.09x; Chromium, 110M shapes; in Node, whose plain build it is,
 * 110M Q4_K_M one-thread prefill 199 -> 265 tok/s). The GEMV (one token)
 * keeps them in registers. */
INLINE void set_parked(const int NT, v128_t *acc, v128_t v) {
    if (NT > 1) park(acc, v);
    else *acc = v;
}

INLINE void add_parked(const int NT, v128_t *acc, v128_t v) {
    if (NT > 1) park(acc, wasm_i32x4_add(ldv(acc), v));
    else *acc = wasm_i32x4_add(*acc, v);
}

/* Between the rows of a 32-element-block GEMV. A relaxed row needs few
 * registers, and letting V8 hoist the next rows' loads puts more of them in
 * flight while the weights stream from memory: measured in Chromium 2-19%
 * faster streamed, 1-3% slower cache-resident (tools/kernel-ab.sh). The
 * plain build would spill without the fence. The K types spill without it
 * in both builds (10-18% slower). */
#if RELAXED
#define GEMV_FENCE(v) ((void)(v))
#else
#define GEMV_FENCE(v) FENCE(v)
#endif

#if !RELAXED
INLINE v128_t even16(v128_t x) { return wasm_i16x8_shr(wasm_i16x8_shl(x, 8), 8); }
INLINE v128_t odd16(v128_t x) { return wasm_i16x8_shr(x, 8); }
#endif

/* One i32x4 whose lane r is the sum of the four lanes of s[r]. The adds
 * are integer (exact), so the pairing is free. */
INLINE v128_t reduce4_i32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

/* Float version: lane r = (s[r]0 + s[r]2) + (s[r]1 + s[r]3). This fixed
 * order defines the F32/F16 results. */
INLINE v128_t reduce4_f32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    v128_t a = wasm_f32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    v128_t b = wasm_f32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_f32x4_add(wasm_i64x2_shuffle(a, b, 0, 2), wasm_i64x2_shuffle(a, b, 1, 3));
}

#if RELAXED
/* The relaxed kernels' integer dot products: lane j of c + dot(a, w) adds
 * the products of bytes 4j..4j+3 (a: any bytes, w: 0..127). With AVX-VNNI
 * (and on ARM) V8 emits one instruction for it; on other x86 CPUs it
 * emulates it with pmaddubsw (pairs of products into i16), a pmaddwd
 * against a vector of ones it rebuilds every time, and an add. The DOT16
 * build, for those CPUs, computes a chain of dot products as V8 would
 * there, but adds the chain's i16 pair sums before widening them once:
 * the same lanes and, while the i16 sums cannot overflow, the same
 * values. Each call site states its bound (at most 32767). */
#if RELAXED
/* the 16-bit relaxed dot product (pmaddubsw): DOT16's chains and the Q6_K pair GEMM */
INLINE v128_t dot_i16(v128_t a, v128_t w) { return wasm_i16x8_relaxed_dot_i8x16_i7x16(a, w); }
#endif
#if DOT16
INLINE v128_t widen(v128_t s16) { return wasm_i32x4_dot_i16x8(s16, wasm_i16x8_const_splat(1)); }
INLINE v128_t widen_add(v128_t s16, v128_t c) { return wasm_i32x4_add(widen(s16), c); }

/* x's i16 lanes added in pairs into lanes 0-3, y's into 4-7: two shuffles
 * and an add, where a pmaddwd against ones per vector and a narrow would
 * take the multiplier ports that pmaddubsw needs. The caller bounds the
 * sums (at most 32767). */
INLINE v128_t fold16(v128_t x, v128_t y) {
    return wasm_i16x8_add(wasm_i32x4_shuffle(x, y, 0, 2, 4, 6), wasm_i32x4_shuffle(x, y, 1, 3, 5, 7));
}

/* the i16 pair sums of a[k] with w[k], k < 4, where four product pairs fit i16 */
INLINE v128_t sum16x4(const v128_t *a, const v128_t w[4]) {
    return wasm_i16x8_add(wasm_i16x8_add(dot_i16(ldv(a), w[0]), dot_i16(ldv(a + 1), w[1])),
                          wasm_i16x8_add(dot_i16(ldv(a + 2), w[2]), dot_i16(ldv(a + 3), w[3])));
}
#else
INLINE v128_t rdot(v128_t a, v128_t w, v128_t c) { return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a, w, c); }
#endif

/* c + dot(a, w), one product pair per i16 lane at most 2 * 128 * 127 */
INLINE v128_t dot1(v128_t a, v128_t w, v128_t c) {
#if DOT16
    return widen_add(dot_i16(a, w), c);
#else
    return rdot(a, w, c);
#endif
}

/* c + dot(a0, w0) + dot(a1, w1), where two product pairs fit i16 */
INLINE v128_t dot2(v128_t a0, v128_t w0, v128_t a1, v128_t w1, v128_t c) {
#if DOT16
    return widen_add(wasm_i16x8_add(dot_i16(a0, w0), dot_i16(a1, w1)), c);
#else
    return rdot(a1, w1, rdot(a0, w0, c));
#endif
}

#endif

#if !RELAXED
INLINE v128_t i16_splat_lane(v128_t pairs, int j) {
    /* pairs holds each 16-bit value twice in a 32-bit lane: a 32-bit splat
     * (one pshufd) is a 16-bit splat. */
    switch (j & 3) {
    case 0: return wasm_i32x4_shuffle(pairs, pairs, 0, 0, 0, 0);
    case 1: return wasm_i32x4_shuffle(pairs, pairs, 1, 1, 1, 1);
    case 2: return wasm_i32x4_shuffle(pairs, pairs, 2, 2, 2, 2);
    default: return wasm_i32x4_shuffle(pairs, pairs, 3, 3, 3, 3);
    }
}
#endif

/* ---- activation quantization ---- */

INLINE float hmax4(v128_t v) {
    v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
}

INLINE int32_t hsum_i32(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}

/* round(x * s) to i32, ties to even (f32x4.nearest), as the reference */
INLINE v128_t q_round(v128_t x, v128_t s) { return wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(x, s))); }

/* 32 values, quantized with scale id, as int8 to q; returns their sum. */
INLINE int32_t quant32(const float *x, float id, int8_t *q) {
    v128_t s = wasm_f32x4_splat(id), sum = wasm_i32x4_const_splat(0);
    for (int k = 0; k < 2; k++, x += 16) {
        v128_t i0 = q_round(wasm_v128_load(x), s), i1 = q_round(wasm_v128_load(x + 4), s);
        v128_t i2 = q_round(wasm_v128_load(x + 8), s), i3 = q_round(wasm_v128_load(x + 12), s);
        sum = wasm_i32x4_add(sum, wasm_i32x4_add(wasm_i32x4_add(i0, i1), wasm_i32x4_add(i2, i3)));
        wasm_v128_store(q + 16 * k, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(i0, i1), wasm_i16x8_narrow_i32x4(i2, i3)));
    }
    return hsum_i32(sum);
}

INLINE float amax32(const float *x) {
    v128_t m = wasm_f32x4_const_splat(0);
    for (int j = 0; j < 32; j += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + j)));
    return hmax4(m);
}

static void act_q8_0(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float amax = amax32(x);
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = gf_float_to_half(d);
        quant32(x, id, y[i].qs);
    }
}

static void act_q8_1(const float *x, block_q8_1 *y, int n) {
    for (int i = 0; i < n / QK8_1; i++, x += QK8_1) {
        float amax = amax32(x);
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        int32_t sum = quant32(x, id, y[i].qs);
        y[i].d = gf_float_to_half(d);
        y[i].s = gf_float_to_half(d * (float)sum);
    }
}

static void act_q8_K(const float *x, block_q8_K *y, int n) {
    for (int i = 0; i < n / QK_K; i++, x += QK_K) {
        v128_t m = wasm_f32x4_const_splat(0);
        for (int j = 0; j < QK_K; j += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + j)));
        float amax = hmax4(m);
        if (amax == 0) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the reference keeps the sign of the first element of largest magnitude */
        float max = 0;
        v128_t va = wasm_f32x4_splat(amax);
        for (int j = 0; j < QK_K; j += 4) {
            int bits = wasm_i32x4_bitmask(wasm_f32x4_eq(wasm_f32x4_abs(wasm_v128_load(x + j)), va));
            if (bits) {
                max = x[j + __builtin_ctz((unsigned)bits)];
                break;
            }
        }
        float iscale = -127.f / max;
        v128_t s = wasm_f32x4_splat(iscale), hi = wasm_i32x4_const_splat(127);
        for (int j = 0; j < QK_K; j += 16) {
            const float *xx = x + j;
            v128_t i0 = wasm_i32x4_min(q_round(wasm_v128_load(xx), s), hi);
            v128_t i1 = wasm_i32x4_min(q_round(wasm_v128_load(xx + 4), s), hi);
            v128_t i2 = wasm_i32x4_min(q_round(wasm_v128_load(xx + 8), s), hi);
            v128_t i3 = wasm_i32x4_min(q_round(wasm_v128_load(xx + 12), s), hi);
            y[i].bsums[j / 16] = (int16_t)hsum_i32(wasm_i32x4_add(wasm_i32x4_add(i0, i1), wasm_i32x4_add(i2, i3)));
            wasm_v128_store(y[i].qs + j,
                            wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(i0, i1), wasm_i16x8_narrow_i32x4(i2, i3)));
        }
        y[i].d = 1 / iscale;
    }
}

static void act_f16(const float *x, gf_half *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t a = f2h(wasm_v128_load(x + i)), b = f2h(wasm_v128_load(x + i + 4));
        wasm_v128_store(y + i, wasm_u16x8_narrow_i32x4(a, b));
    }
    for (; i < n; i++) y[i] = gf_float_to_half(x[i]);
}

void gf_quantize_act_row_simd128(gf_act_format f, const float *x, void *dst, int n) {
    switch (f) {
    case GF_ACT_F16: act_f16(x, dst, n); break;
    case GF_ACT_Q8_0: act_q8_0(x, dst, n); break;
    case GF_ACT_Q8_1: act_q8_1(x, dst, n); break;
    case GF_ACT_Q8_K: act_q8_K(x, dst, n); break;
    case GF_ACT_BF16: gf_quantize_act_row_bf16_simd128(x, dst, n); break;
    default: memcpy(dst, x, (size_t)n * 4); break;
    }
}

/* ---- shared by the quantized kernels ---- */

/* K_Q8_0U: Q8_0 in the relaxed build where the engine's int8 dot product
 * is exact for unsigned bytes up to 255 (see dot_u8_exact). Q5_0 and
 * IQ4_NL are 32-element blocks against Q8_0 activations whose values become
 * bytes in registers (unpack32): from there they go the way of Q8_0's bytes
 * (the plain build; relaxed IQ4_NL, its signs moved) or of Q4_0's nibbles
 * (relaxed Q5_0, its levels 0..31 with -16 * sum(a)). IQ4_NL has no
 * unsigned form like K_Q8_0U's: this machine's V8 (no AVX-VNNI) could
 * neither test nor time one. */
enum { K_Q4_0, K_Q4_1, K_Q8_0, K_Q4_K, K_Q6_K, K_Q8_0U, K_Q5_K, K_Q5_0, K_IQ4_NL };

/* the 256-element super-block types (activations Q8_K) */
INLINE int is_K(int kind) { return kind == K_Q4_K || kind == K_Q5_K || kind == K_Q6_K; }

/* Halves at w + k * rs + off (k = 0..3) as f32 lanes (base: any vector,
 * its lanes are overwritten or ignored): the kind's scales, converted the
 * way half_simd128.h gives for them, without the inf/nan fix-up: *spec
 * collects x << 1 (sign dropped) so that the caller can tell, once per call,
 * whether a scale had exponent 31; then the whole call is redone by the
 * reference (never for a sane file). */
INLINE v128_t load_h4s(const int kind, const uint8_t *w, size_t rs, size_t off, v128_t base, v128_t *spec) {
    v128_t v = wasm_v128_load16_lane(w + off, base, 1);
    v = wasm_v128_load16_lane(w + rs + off, v, 3);
    v = wasm_v128_load16_lane(w + 2 * rs + off, v, 5);
    v = wasm_v128_load16_lane(w + 3 * rs + off, v, 7);
    *spec = wasm_u32x4_max(*spec, wasm_i32x4_shl(v, 1));
    return is_K(kind) ? gf_h2f_hi_sub_finite(v) : gf_h2f_hi_mul_finite(v);
}

INLINE int any_special(v128_t spec) {
    return wasm_v128_any_true(wasm_u32x4_ge(spec, wasm_i32x4_const_splat((int32_t)0xF8000000)));
}

/* ---- 32-element block types: Q4_0, Q4_1, Q8_0, Q5_0, IQ4_NL ---- */

INLINE size_t wblock_bytes(int kind) {
    return kind == K_Q4_0 || kind == K_IQ4_NL ? 18 : kind == K_Q4_1 ? 20 : kind == K_Q5_0 ? 22 : 34;
}
INLINE size_t ablock_bytes(int kind) { return kind == K_Q4_1 ? sizeof(block_q8_1) : sizeof(block_q8_0); }
/* where a Q4 block's nibbles start, and its activation block's bytes */
INLINE size_t qs_offset(int kind) { return kind == K_Q4_1 ? 4 : 2; }

/* Q5_0's fifth bits (qh, bit j for element j) as the bytes that complete
 * the levels: relaxed, 0x10 where element j has it (nibble | 0x10 is the
 * level 0..31); plain, 0xF0 where it has not (nibble | 0xF0 is the level
 * - 16 as a signed byte). h[0] lane j for element j, h[1] for 16 + j. A
 * 2 KB table gives each qh byte's eight bytes, two 64-bit loads per half:
 * in the GEMV each block is unpacked for one token, and its SIMD
 * instructions, not the bytes read, bound it. The spread in registers
 * (splat, per half a swizzle, an and, a compare, an and) did 9.9 / 9.3 /
 * 9.4 G weights/s (relaxed16 / relaxed / plain; Q8_0 17.3 / 15.4 / 17.8),
 * the table 12.3 / 11.0 / 12.4 (A/B 1.24x / 1.17x / 1.31x; Node, CPU time,
 * 110M shapes, AMD EPYC, 2026-12-07); the lookups' byte loads and index
 * shifts run on the scalar and load ports. A cheaper spread in registers
 * (qh and qh << 4 as one 64-bit splat, a byte shuffle, an and and an
 * unsigned min with 0x10: four per half) lost to the table, 0.62-0.75x. */
#if RELAXED
#define Q5H_SET 0x10u
#define Q5H_CLEAR 0u
#else
#define Q5H_SET 0u
#define Q5H_CLEAR 0xF0u
#endif
#define Q5H_BYTE(b, k) ((uint64_t)((((b) >> (k)) & 1) ? Q5H_SET : Q5H_CLEAR) << (8 * (k)))
#define Q5H(b) (Q5H_BYTE(b, 0) | Q5H_BYTE(b, 1) | Q5H_BYTE(b, 2) | Q5H_BYTE(b, 3) | Q5H_BYTE(b, 4) | Q5H_BYTE(b, 5) | Q5H_BYTE(b, 6) | Q5H_BYTE(b, 7))
#define Q5H4(b) Q5H(b), Q5H((b) + 1), Q5H((b) + 2), Q5H((b) + 3)
#define Q5H16(b) Q5H4(b), Q5H4((b) + 4), Q5H4((b) + 8), Q5H4((b) + 12)
#define Q5H64(b) Q5H16(b), Q5H16((b) + 16), Q5H16((b) + 32), Q5H16((b) + 48)
static const uint64_t q5_0_spread[256] = {Q5H64(0), Q5H64(64), Q5H64(128), Q5H64(192)};

INLINE void q5_0_high(const uint8_t *blk, v128_t h[2]) {
    h[0] = wasm_v128_load64_lane(&q5_0_spread[blk[3]], wasm_v128_load64_zero(&q5_0_spread[blk[2]]), 1);
    h[1] = wasm_v128_load64_lane(&q5_0_spread[blk[5]], wasm_v128_load64_zero(&q5_0_spread[blk[4]]), 1);
}

/* IQ4_NL's codebook values of a block: v[0] elements 0..15, v[1] 16..31. */
INLINE void iq4_nl_values(const uint8_t *blk, v128_t v[2]) {
    const v128_t x = wasm_v128_load(blk + 2), lo4 = wasm_i8x16_const_splat(0x0F);
    const v128_t t = wasm_i8x16_const(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
#if RELAXED
    v[0] = wasm_i8x16_relaxed_swizzle(t, wasm_v128_and(x, lo4)); /* indices 0..15: the same as swizzle */
    v[1] = wasm_i8x16_relaxed_swizzle(t, wasm_v128_and(wasm_u16x8_shr(x, 4), lo4));
#else
    v[0] = wasm_i8x16_swizzle(t, wasm_v128_and(x, lo4));
    v[1] = wasm_i8x16_swizzle(t, wasm_v128_and(wasm_u16x8_shr(x, 4), lo4));
#endif
}

#if RELAXED
/* the weights that take the activations' signs (signed bytes, see unpack32) */
INLINE int sign_moved(int kind) { return kind == K_Q8_0 || kind == K_IQ4_NL; }

/* Relaxed: the weight block as two byte vectors, unpacked once per row for
 * every token. The 4-bit types give their nibbles (0..15, the 7-bit
 * operand): e[0] = low nibbles (elements 0..15), e[1] = high (16..31),
 * against the activation bytes as they are. Q8_0 weights (-128..127) fit
 * no 7-bit operand, so the activations' magnitudes (|a| <= 127) are the
 * 7-bit side and their signs move to the weights: for a < 0, (w ^ -1) * |a|
 * = (-w - 1) * |a| = w * a - |a|, for every w including -128 (an xor never
 * overflows, a negation would). The block sum is then the dot product plus
 * sum(|a| : a < 0), prepared with the activations like Q4_0's -8 * sum(a).
 * Activations are never -128: both quantizers produce [-127, 127].
 * Pairs of products stay far inside i16 (|sum| <= 2 * 128 * 127), so the
 * instruction's intermediate saturation (pmaddubsw) never happens and the
 * integer sums are exactly the plain kernels'.
 * Where the engine's dot product is exact for any unsigned byte (K_Q8_0U,
 * see dot_u8_exact), Q8_0 goes as Q4_0 does: its weights plus 128 (w ^ 0x80,
 * 0..255) against the activations as they are, and -128 * sum(a) prepared;
 * no per-token xor, and rows in pairs (see unpack_pair). */
INLINE void unpack32(int kind, const uint8_t *blk, v128_t e[4]) {
    if (kind == K_Q4_0 || kind == K_Q4_1) {
        v128_t x = wasm_v128_load(blk + qs_offset(kind));
        e[0] = wasm_v128_and(x, wasm_i8x16_const_splat(0x0F));
        e[1] = wasm_v128_and(wasm_u16x8_shr(x, 4), wasm_i8x16_const_splat(0x0F));
    } else if (kind == K_Q5_0) {
        /* the levels 0..31 (the 7-bit operand), as Q4_0's nibbles, with -16 * sum(a) */
        v128_t h[2], x = wasm_v128_load(blk + 6);
        q5_0_high(blk, h);
        e[0] = wasm_v128_or(wasm_v128_and(x, wasm_i8x16_const_splat(0x0F)), h[0]);
        e[1] = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(x, 4), wasm_i8x16_const_splat(0x0F)), h[1]);
    } else if (kind == K_IQ4_NL) {
        iq4_nl_values(blk, e);
    } else if (kind == K_Q8_0U) {
        e[0] = wasm_v128_xor(wasm_v128_load(blk + 2), wasm_i8x16_const_splat(-128));
        e[1] = wasm_v128_xor(wasm_v128_load(blk + 18), wasm_i8x16_const_splat(-128));
    } else {
        e[0] = wasm_v128_load(blk + 2);
        e[1] = wasm_v128_load(blk + 18);
    }
}

/* prepared a: Q4 types and K_Q8_0U a[0..1] = the activation bytes; Q8_0
 * a[0..1] = |a|, a[2..3] = sign masks. The block's correction (Q4_0's
 * -8 * sum(a), K_Q8_0U's -128 * sum(a), Q8_0's sum(|a| : a < 0)) is
 * prepared lane by lane, as the lanes of the dot products group the
 * elements, and is their starting value; except in DOT16 for the types
 * with their signs moved: there its whole is added once to the four rows'
 * reduced sums (isum32). Each row's chain then starts with its first
 * widened dot product instead of adding the correction to it: per token
 * and block (GEMM) or block (GEMV) three adds and three loads fewer (the
 * correction is loaded where used, ldv): GEMM 1.08-1.10x, GEMV
 * 1.01-1.04x (Node, CPU time, 110M shapes; docs/performance.md). */
INLINE v128_t dot4(const int kind, const v128_t e[4], const v128_t a[4], const v128_t *corr) {
    /* pairs: Q8_0 |2 * 128 * 127|, the others two pairs of 15 * 127 (Q5_0: 31 * 127) each; DOT16's
     * i16 sum of two pairs at most 4 * 31 * 127 */
#if DOT16
    if (sign_moved(kind))
        return wasm_i32x4_add(widen(dot_i16(wasm_v128_xor(e[0], a[2]), a[0])), widen(dot_i16(wasm_v128_xor(e[1], a[3]), a[1])));
#endif
    const v128_t c = kind == K_Q4_1 ? wasm_i32x4_const_splat(0) : ldv(corr);
    if (sign_moved(kind)) return dot1(wasm_v128_xor(e[1], a[3]), a[1], dot1(wasm_v128_xor(e[0], a[2]), a[0], c));
    return dot2(a[0], e[0], a[1], e[1], c);
}

/* The four rows' block sums. A 4-bit type's lane sums 8 products (with
 * Q4_0's correction, a * (q - 8)): |lane| <= 8 * 127 * 15 and two lanes
 * together fit i16, so narrowing is exact and pmaddwd against ones adds
 * pairs: six instructions instead of the transpose's nine. Q5_0's, with its
 * correction a * (q - 16), at most 8 * 127 * 16 = 16256: two lanes fit too.
 * Q8_0's and IQ4_NL's lanes (up to 8 * 128 * 127) do not fit i16. The
 * correction is already in (dot4), but DOT16's for the signs moved. */
INLINE v128_t isum32(const int kind, v128_t p0, v128_t p1, v128_t p2, v128_t p3, const v128_t *corr) {
    (void)corr;
    if (DOT16 && sign_moved(kind)) return wasm_i32x4_add(reduce4_i32(p0, p1, p2, p3), ldv(corr));
    if (sign_moved(kind) || kind == K_Q8_0U) return reduce4_i32(p0, p1, p2, p3);
    const v128_t one = wasm_i16x8_const_splat(1);
    v128_t d01 = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(p0, p1), one);
    v128_t d23 = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(p2, p3), one);
    return wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(d01, d23), one);
}
#else
/* Activation block (Q8_0 or Q8_1 qs) as a[0] = elements 2k, a[1] = 16+2k,
 * a[2] = 2k+1, a[3] = 17+2k (k = 0..7). */
INLINE void split_act32(const int8_t *qs, v128_t a[4]) {
    v128_t x0 = wasm_v128_load(qs), x1 = wasm_v128_load(qs + 16);
    a[0] = even16(x0);
    a[1] = even16(x1);
    a[2] = odd16(x0);
    a[3] = odd16(x1);
}

/* Weight block in the same element order as split_act32. A 16-bit lane of
 * the nibble bytes holds bits [lo(2k) hi(2k) lo(2k+1) hi(2k+1)], i.e.
 * elements 2k, 16+2k, 2k+1, 17+2k. The 4-bit types keep each nibble in
 * place, one op each: x & 0x00F0 is 16 * q, x & 0x0F00 is 256 * q, and the
 * prepared activations carry the complementary factors (a * 256, a * 16,
 * a, a * 256: all fit i16), so every product is 256 * q * a and the block
 * sum is shifted right by 8 afterwards (exact). Nibbles are unsigned; Q4_0
 * adds -8 * sum(a) per block, prepared with the activations. */
INLINE void unpack32(int kind, const uint8_t *blk, v128_t e[4]) {
    if (kind == K_Q4_0 || kind == K_Q4_1) {
        v128_t x = wasm_v128_load(blk + qs_offset(kind));
        e[0] = wasm_v128_and(x, wasm_i16x8_const_splat(0x000F));
        e[1] = wasm_v128_and(x, wasm_i16x8_const_splat(0x00F0));
        e[2] = wasm_v128_and(x, wasm_i16x8_const_splat(0x0F00));
        e[3] = wasm_u16x8_shr(x, 12);
    } else {
        /* Q8_0: x << 8 is 256 * (element 2k), x >> 8 element 2k+1; the
         * activations of odd elements carry the factor 256 instead. Q5_0
         * and IQ4_NL: their values as signed bytes first (Q5_0's q - 16: a
         * nibble without its fifth bit is the nibble | 0xF0 = nibble - 16) */
        v128_t x0, x1;
        if (kind == K_Q5_0) {
            v128_t h[2], x = wasm_v128_load(blk + 6);
            q5_0_high(blk, h);
            x0 = wasm_v128_or(wasm_v128_and(x, wasm_i8x16_const_splat(0x0F)), h[0]);
            x1 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(x, 4), wasm_i8x16_const_splat(0x0F)), h[1]);
        } else if (kind == K_IQ4_NL) {
            v128_t v[2];
            iq4_nl_values(blk, v);
            x0 = v[0], x1 = v[1];
        } else {
            x0 = wasm_v128_load(blk + 2), x1 = wasm_v128_load(blk + 18);
        }
        e[0] = wasm_i16x8_shl(x0, 8);
        e[1] = wasm_i16x8_shl(x1, 8);
        e[2] = wasm_i16x8_shr(x0, 8);
        e[3] = wasm_i16x8_shr(x1, 8);
    }
}

/* The block's integer sum from the four rows' dot products: every product
 * carries the factor 256 (see unpack32), |sum| <= 256 * 32 * 128 * 127. */
INLINE v128_t isum32(const int kind, v128_t p0, v128_t p1, v128_t p2, v128_t p3, const v128_t *corr) {
    v128_t isum = wasm_i32x4_shr(reduce4_i32(p0, p1, p2, p3), 8);
    if (kind == K_Q4_0) isum = wasm_i32x4_add(isum, ldv(corr));
    return isum;
}

/* Q4_0's correction (prepared in all four lanes) is added to the block
 * sum instead (isum32). */
INLINE v128_t dot4(const int kind, const v128_t e[4], const v128_t a[4], const v128_t *corr) {
    (void)kind;
    (void)corr;
    return wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(e[0], a[0]), wasm_i32x4_dot_i16x8(e[1], a[1])),
                          wasm_i32x4_add(wasm_i32x4_dot_i16x8(e[2], a[2]), wasm_i32x4_dot_i16x8(e[3], a[3])));
}
#endif

/* The float step of a block, shared by GEMV and GEMM, in the reference's
 * order: acc + ((dw * da) * isum [+ mw * sa]). */
INLINE v128_t fstep32(const int kind, v128_t acc, v128_t isum, v128_t dw, v128_t mw, float da, float sa) {
    v128_t term = wasm_f32x4_mul(wasm_f32x4_mul(dw, wasm_f32x4_splat(da)), wasm_f32x4_convert_i32x4(isum));
    if (kind == K_Q4_1) term = wasm_f32x4_add(term, wasm_f32x4_mul(mw, wasm_f32x4_splat(sa)));
    return wasm_f32x4_add(acc, term);
}

/* An activation chunk prepared once per token for every row: split to i16,
 * scales converted, Q4_0's correction summed. At most KC elements (~20 KB
 * of stack); longer rows are done in equal chunks, the accumulators parked
 * in y between them (same float sequence, so the same bits). */
#define KC 8192
typedef struct {
    v128_t a[KC / 8];
    v128_t bs2[KC / 256]; /* Q8_K: sums of bsums pairs, per 32 elements */
    float d[KC / 32], s[KC / 32];
    v128_t corr[KC / 32]; /* per block, Q4_0: -8 * sum(q); relaxed Q8_0: sum(|q| : q < 0) (relaxed16: its whole in every lane) or -128 * sum(q) (see dot4) */
} prep_t;

/* The same for a GEMM tile of tokens, in shorter chunks (~45 KB of stack,
 * most of the 48 KB L1 data cache here). A 32-element block's unpacked
 * weights (four rows) serve 16 tokens: per token and block the integer dot
 * products, their reduction and the float step cost ~18 instructions, the
 * unpacking and scales ~21 shared by the tile (Chromium, 110M shapes,
 * relaxed: 8 tokens 1.11-1.18x faster than 4, 16 another 1.08-1.15x, 32 no
 * more). The K-quants' tile is four tokens: a row's partial sums for four
 * tokens, with its unpacked nibbles, already fill the registers (eight
 * tokens were slower in the model). With its sums parked in memory (see
 * add_parked) the Q4_K GEMM takes eight: relaxed 1.13-1.17x faster than
 * four, plain 1.09-1.13x (Node, 110M Q4_K_M prefill 236 -> 256 tok/s, for
 * 15 KB of wasm, which leaves the plain builds no larger than the relaxed
 * ones); sixteen, relaxed, another 1.08x for 16 KB more, each tile width
 * being a fully unrolled copy: not taken. Eight for Q6_K row by row (the plain build) were 1.07-1.13x
 * faster in the kernel, but no faster in the model (its Q6_K matrices are
 * a fifth of a Q4_K_M prompt's work), for 12 KB more wasm. Q5_K (row by
 * row, sums parked) takes eight: 1.02-1.44x (median ~1.1x) its former 4 x 4
 * register tile, four tokens ~1.02x (Node, relaxed16, CPU time). The relaxed
 * Q6_K GEMM, in row pairs (q6_K_pair), takes eight (see there); sixteen were
 * another 1.08-1.18x in the kernel, no faster in the 110M Q4_K_M prefill,
 * for ~9 KB more wasm (Chromium, Intel with AVX-VNNI, 2026-12-07). The
 * relaxed Q4_K and Q5_K GEMMs now take four rows per activation load
 * (k_quad), eight tokens per tile. */
#define KCG 1024
#define GEMM_TOKENS 16
#define GEMM_TOKENS_K 4
#ifndef GEMM_TOKENS_Q4_K
#define GEMM_TOKENS_Q4_K 8
#endif
#define GEMM_TOKENS_Q5_K 8
#if RELAXED
#define GEMM_TOKENS_Q6_K 8
#else
#define GEMM_TOKENS_Q6_K GEMM_TOKENS_K
#endif
/* gemmK_relaxed sizes its per-tile arrays by GEMM_TOKENS_Q4_K */
_Static_assert(GEMM_TOKENS_Q6_K <= GEMM_TOKENS_Q4_K && GEMM_TOKENS_Q5_K <= GEMM_TOKENS_Q4_K, "K-quant tile arrays");
/* Q8_0 takes eight: its four rows' unpacked weights (8 vectors, the plain
 * build's 16) mostly spill, and fewer tokens per tile leave V8 fewer
 * accumulators and scales to juggle around them. AMD EPYC (Zen 4), Node,
 * CPU time, 110M shapes, 2026-12-07: eight against sixteen, plain GEMM
 * 1.10-1.41x (medians ~1.2x), relaxed16 0.98-1.07x (~1.03x); four against
 * sixteen, plain 1.07-1.24x, relaxed16 0.94-0.98x. The relaxed build's
 * K_Q8_0 (where the dot product takes no unsigned bytes: ARM, with 32
 * vector registers) keeps sixteen: not measured. */
#if RELAXED && !DOT16
#define GEMM_TOKENS_Q8_0 GEMM_TOKENS
#else
#define GEMM_TOKENS_Q8_0 8
#endif
typedef struct {
    v128_t a[GEMM_TOKENS][KCG / 8];
    v128_t bs2[GEMM_TOKENS_Q4_K][KCG / 256];
    float d[GEMM_TOKENS][KCG / 32], s[GEMM_TOKENS][KCG / 32];
    v128_t corr[GEMM_TOKENS][KCG / 32];
} prep_tile_t;

/* The types whose relaxed GEMM takes rows in pairs (the comment above unpack_pair). */
#if RELAXED
/* (Q5_0 not in DOT16: its rows' i16 halves, 16 * 31 * 127, would not fit fold16) */
#define PAIRED(kind) ((kind) == K_Q4_0 || (kind) == K_Q4_1 || (kind) == K_Q4_K || (kind) == K_Q6_K || (kind) == K_Q8_0U || ((kind) == K_Q5_0 && !DOT16) || (kind) == K_Q5_K)
#else
#define PAIRED(kind) 0
#endif

/* An activation chunk prepared for the kernels. paired (PAIRED types, the
 * GEMM): vector k holds elements 8k..8k+7 twice (see unpack_pair). */
static void prep32(const int kind, const int paired, const uint8_t *act, int nb, v128_t *pa, float *pd, float *ps,
                   v128_t *pc) {
    (void)paired;
    const size_t abs = ablock_bytes(kind), qoff = qs_offset(kind);
    for (int b = 0; b < nb; b++, act += abs) {
        v128_t *a = pa + 4 * b;
        pd[b] = h2f(ld16(act));
        if (kind == K_Q4_1) ps[b] = h2f(ld16(act + 2));
#if RELAXED
        const v128_t x0 = wasm_v128_load(act + qoff), x1 = wasm_v128_load(act + qoff + 16);
        const v128_t one = wasm_i8x16_const_splat(1), z = wasm_i32x4_const_splat(0);
        if (sign_moved(kind)) {
            /* sum(|a| : a < 0) = -sum(min(a, 0)) */
            v128_t n0 = wasm_i8x16_min(x0, z), n1 = wasm_i8x16_min(x1, z);
            pc[b] = wasm_i32x4_neg(wasm_i32x4_relaxed_dot_i8x16_i7x16_add(n1, one, wasm_i32x4_relaxed_dot_i8x16_i7x16_add(n0, one, z)));
            /* DOT16 adds it to the reduced block sums (isum32): the total in every lane */
            if (DOT16) pc[b] = wasm_i32x4_splat(hsum_i32(pc[b]));
            a[0] = wasm_i8x16_abs(x0);
            a[1] = wasm_i8x16_abs(x1);
            a[2] = wasm_i8x16_lt(x0, z);
            a[3] = wasm_i8x16_lt(x1, z);
        } else {
            int nv = 2;
            if (paired) {
                a[0] = wasm_i64x2_shuffle(x0, x0, 0, 0);
                a[1] = wasm_i64x2_shuffle(x0, x0, 1, 1);
                a[2] = wasm_i64x2_shuffle(x1, x1, 0, 0);
                a[3] = wasm_i64x2_shuffle(x1, x1, 1, 1);
                nv = 4;
            } else {
                a[0] = x0;
                a[1] = x1;
            }
            /* -8 (Q5_0: -16, -128) * sum(a), lane by lane as the dot products group the elements */
            if (kind == K_Q4_0 || kind == K_Q5_0 || kind == K_Q8_0U) {
                v128_t sum = z;
                for (int k = 0; k < nv; k++) sum = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a[k], one, sum);
                /* DOT16 adds it to the rows' sums (isum_pairs): the block's total in every lane */
                if (DOT16 && paired) sum = wasm_i32x4_add(wasm_i32x4_shuffle(sum, sum, 0, 0, 0, 0), wasm_i32x4_shuffle(sum, sum, 1, 1, 1, 1));
                pc[b] = wasm_i32x4_mul(sum, wasm_i32x4_splat(kind == K_Q4_0 ? -8 : kind == K_Q5_0 ? -16 : -128));
            }
        }
#else
        split_act32((const int8_t *)act + qoff, a);
        if (kind == K_Q4_0) {
            v128_t s = wasm_i16x8_add(wasm_i16x8_add(a[0], a[1]), wasm_i16x8_add(a[2], a[3]));
            pc[b] = wasm_i32x4_splat(hsum_i32(wasm_i32x4_dot_i16x8(s, wasm_i16x8_const_splat(-8))));
        }
        if (kind == K_Q4_0 || kind == K_Q4_1) {
            a[0] = wasm_i16x8_shl(a[0], 8);
            a[1] = wasm_i16x8_shl(a[1], 4);
            a[3] = wasm_i16x8_shl(a[3], 8);
        } else {
            a[2] = wasm_i16x8_shl(a[2], 8);
            a[3] = wasm_i16x8_shl(a[3], 8);
        }
#endif
    }
}

#if RELAXED
/* The relaxed GEMM's form for the 4-bit types: rows in pairs. A block's 32
 * elements go as four 8-element quarters; weight vector k of rows r, r+1
 * holds quarter k of row r, then of row r+1, and prepared activation vector
 * k holds quarter k twice. The dot products then leave lanes 0, 1 for row r
 * and 2, 3 for row r+1, each summing 16 products (|.| <= 16 * 127 * 15, and
 * with Q4_0's -8 * sum(a) taken lane by lane |.| <= 16 * 127 * 8: fits
 * i16), so one narrow and one pmaddwd make the four rows' block sums where
 * rows in their own lanes need three of each. The pairing costs four
 * shuffles per block and row pair, shared by the tile's sixteen tokens
 * (Chromium, 110M shapes: Q4_0 GEMM 1.04-1.09x, Q4_1 1.08-1.11x faster; the
 * model's one-thread prefill 1.1x). Four rows per vector need no reduction
 * at all but eight broadcasts per token, and lost (docs/performance.md).
 * Q8_0 with its signs moved keeps the unpaired form (the signs double the
 * prepared activations: paired it was 15% slower); K_Q8_0U, unsigned, pairs
 * as Q4_0 does, its lanes added as i32 (they do not fit i16). Q5_0's levels
 * pair as Q4_0's nibbles: a lane with -16 * sum(a) is 16 products of
 * (q - 16) * a, at most 16 * 16 * 127 = 32512, so it narrows to i16 too. */

/* Rows r (at w) and r + 1 (at w + rs) of a block in the paired form. */
INLINE void unpack_pair(const int kind, const uint8_t *w, size_t rs, v128_t W[4]) {
    if (kind == K_Q8_0U || kind == K_Q5_0) { /* bytes: Q8_0U's, Q5_0's levels */
        v128_t r[4], q[4];
        unpack32(kind, w, r);
        unpack32(kind, w + rs, q);
        W[0] = wasm_i64x2_shuffle(r[0], q[0], 0, 2);
        W[1] = wasm_i64x2_shuffle(r[0], q[0], 1, 3);
        W[2] = wasm_i64x2_shuffle(r[1], q[1], 0, 2);
        W[3] = wasm_i64x2_shuffle(r[1], q[1], 1, 3);
        return;
    }
    const v128_t x0 = wasm_v128_load(w + qs_offset(kind)), x1 = wasm_v128_load(w + rs + qs_offset(kind));
    const v128_t lo = wasm_i64x2_shuffle(x0, x1, 0, 2), hi = wasm_i64x2_shuffle(x0, x1, 1, 3);
    const v128_t mask = wasm_i8x16_const_splat(0x0F);
    W[0] = wasm_v128_and(lo, mask);
    W[1] = wasm_v128_and(hi, mask);
    W[2] = wasm_v128_and(wasm_u16x8_shr(lo, 4), mask);
    W[3] = wasm_v128_and(wasm_u16x8_shr(hi, 4), mask);
}

/* A row pair's lanes for one token, the block's correction as the start;
 * DOT16: their i16 sums (lanes 0-3 row r, 4-7 row r + 1, each at most
 * 8 * 15 * 127), the correction left to isum_pairs. */
INLINE v128_t dot_pair(const v128_t W[4], const v128_t *a, v128_t c) {
#if DOT16
    (void)c;
    return sum16x4(a, W);
#else
    UNROLL for (int k = 0; k < 4; k++) c = rdot(ldv(a + k), W[k], c);
    return c;
#endif
}

/* lane r = row r's block sum, from the two pairs' lanes; K_Q8_0U's lanes
 * (16 products of up to 255 * 127) do not fit i16 and are added as i32.
 * DOT16: the pairs' i16 halves of each row are added (at most 16 * 15 * 127)
 * and one pmaddwd makes the sums, the correction c (the block's total)
 * added after: two shuffles instead of two of the pmaddwds that share the
 * multiplier ports with pmaddubsw. */
INLINE v128_t isum_pairs(const int kind, v128_t p01, v128_t p23, v128_t c) {
#if DOT16
    const v128_t h = fold16(p01, p23);
    const v128_t sum = wasm_i32x4_dot_i16x8(h, wasm_i16x8_const_splat(1));
    return kind == K_Q4_1 ? sum : wasm_i32x4_add(sum, c);
#else
    (void)c;
    if (kind == K_Q8_0U) return wasm_i32x4_add(wasm_i32x4_shuffle(p01, p23, 0, 2, 4, 6), wasm_i32x4_shuffle(p01, p23, 1, 3, 5, 7));
    return wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(p01, p23), wasm_i16x8_const_splat(1));
#endif
}
#endif

/* GEMV, four rows at w + k * rs: each row's block is unpacked and consumed
 * at once against the prepared activations. */
INLINE v128_t gemv32_block(const int kind, const uint8_t *w, size_t rs, const prep_t *p, int b, v128_t acc,
                           v128_t *spec) {
    const v128_t *a = p->a + 4 * b;
    v128_t e[4];
    const v128_t *c = &p->corr[b];
    unpack32(kind, w, e);
    v128_t p0 = dot4(kind, e, a, c);
    GEMV_FENCE(p0);
    unpack32(kind, w + rs, e);
    v128_t p1 = dot4(kind, e, a, c);
    GEMV_FENCE(p1);
    unpack32(kind, w + 2 * rs, e);
    v128_t p2 = dot4(kind, e, a, c);
    GEMV_FENCE(p2);
    unpack32(kind, w + 3 * rs, e);
    v128_t p3 = dot4(kind, e, a, c);
    v128_t isum = isum32(kind, p0, p1, p2, p3, c);
    v128_t dw = load_h4s(kind, w, rs, 0, a[0], spec), mw = kind == K_Q4_1 ? load_h4s(kind, w, rs, 2, a[0], spec) : dw;
    return fstep32(kind, acc, isum, dw, mw, p->d[b], kind == K_Q4_1 ? p->s[b] : 0);
}

/* ng groups of four rows (the group j at w + j * gs), block by block. */
INLINE void gemv32xn(const int kind, const int ng, const uint8_t *w, size_t gs, size_t rs, const prep_t *p, int nb,
                     v128_t *acc, v128_t *spec) {
    const size_t wbs = wblock_bytes(kind);
    for (int b = 0; b < nb; b++, w += wbs) {
        UNROLL for (int j = 0; j < ng; j++) {
            acc[j] = gemv32_block(kind, w + j * gs, rs, p, b, acc[j], spec);
            GEMV_FENCE(acc[j]);
        }
    }
}

/* GEMM, four rows x NT tokens: each row's block is unpacked once for the
 * tile's tokens, against prepared activations; acc[] carries over chunks. */
INLINE void gemm32(const int kind, const int NT, const uint8_t *w, size_t rs, const prep_tile_t *p, int nb, v128_t *acc,
                   v128_t *spec) {
    const size_t wbs = wblock_bytes(kind);
    for (int b = 0; b < nb; b++, w += wbs) {
#if RELAXED
        if (PAIRED(kind)) {
            v128_t W01[4], W23[4];
            unpack_pair(kind, w, rs, W01);
            unpack_pair(kind, w + 2 * rs, rs, W23);
            v128_t dw = load_h4s(kind, w, rs, 0, W01[0], spec), mw = kind == K_Q4_1 ? load_h4s(kind, w, rs, 2, W01[0], spec) : dw;
            UNROLL for (int t = 0; t < NT; t++) {
                const v128_t *a = p->a[t] + 4 * b;
                const v128_t c = kind == K_Q4_1 ? wasm_i32x4_const_splat(0) : ldv(&p->corr[t][b]);
                v128_t isum = isum_pairs(kind, dot_pair(W01, a, c), dot_pair(W23, a, c), c);
                acc[t] = fstep32(kind, acc[t], isum, dw, mw, p->d[t][b], kind == K_Q4_1 ? p->s[t][b] : 0);
            }
            continue;
        }
#endif
        v128_t e[4][4];
        UNROLL for (int r = 0; r < 4; r++) unpack32(kind, w + (size_t)r * rs, e[r]);
        v128_t dw = load_h4s(kind, w, rs, 0, e[0][0], spec), mw = kind == K_Q4_1 ? load_h4s(kind, w, rs, 2, e[0][0], spec) : dw;
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *a = p->a[t] + 4 * b;
            const v128_t *c = &p->corr[t][b];
            v128_t isum = isum32(kind, dot4(kind, e[0], a, c), dot4(kind, e[1], a, c), dot4(kind, e[2], a, c),
                                 dot4(kind, e[3], a, c), c);
            acc[t] = fstep32(kind, acc[t], isum, dw, mw, p->d[t][b], kind == K_Q4_1 ? p->s[t][b] : 0);
        }
    }
}

/* ---- 256-element super-block types: Q4_K, Q6_K (activations Q8_K) ---- */

/* Sums of the bsums pairs: per 32 elements, as Q4_K's mins need. */
INLINE v128_t bsum_pairs(const block_q8_K *y) {
    const v128_t one = wasm_i16x8_const_splat(1);
    return wasm_i16x8_narrow_i32x4(wasm_i32x4_dot_i16x8(wasm_v128_load(y->bsums), one),
                                   wasm_i32x4_dot_i16x8(wasm_v128_load(y->bsums + 8), one));
}

#if RELAXED
/* Relaxed: a Q8_K block's qs as they are, 16 bytes per vector (the first
 * 16 of the 32 slots per block), or paired (the K-quant GEMMs, see unpack_pair):
 * vector m holding elements 8m..8m+7 twice; bs2 as below. */
INLINE void split_act256(const int kind, const int gemv, const block_q8_K *y, const int paired, v128_t a[32], v128_t *bs2) {
    (void)kind;
    (void)gemv;
    for (int i = 0; i < 16; i++) {
        const v128_t x = wasm_v128_load(y->qs + 16 * i);
        if (paired) {
            a[2 * i] = wasm_i64x2_shuffle(x, x, 0, 0);
            a[2 * i + 1] = wasm_i64x2_shuffle(x, x, 1, 1);
        } else {
            a[i] = x;
        }
    }
    *bs2 = bsum_pairs(y);
}
#else
/* A Q8_K block's qs as 32 i16x8: a[2i] = elements 16i+2k, a[2i+1] = 16i+2k+1;
 * bs2 = pairwise sums of bsums (per 32 elements, as Q4_K's mins need).
 * The Q4_K GEMV's (gemv) carry the factors that make every product
 * 256 * q * a (see the plain q4_K_row): in its even 32-element sub-blocks
 * (low nibbles; i / 2 even) even elements * 256 and odd ones * 1, in its
 * odd sub-blocks (high nibbles) even elements * 16 and odd ones * 256 (all
 * fit i16, even 256 * -128). */
INLINE void split_act256(const int kind, const int gemv, const block_q8_K *y, const int paired, v128_t a[32], v128_t *bs2) {
    (void)paired;
    for (int i = 0; i < 16; i++) {
        v128_t x = wasm_v128_load(y->qs + 16 * i);
        if (kind != K_Q4_K || !gemv) {
            a[2 * i] = even16(x);
            a[2 * i + 1] = odd16(x);
        } else if ((i >> 1) % 2 == 0) {
            a[2 * i] = wasm_i16x8_shl(x, 8);
            a[2 * i + 1] = odd16(x);
        } else {
            a[2 * i] = wasm_i16x8_shr(wasm_i16x8_shl(x, 8), 4);
            a[2 * i + 1] = wasm_v128_and(x, wasm_i16x8_const_splat((int16_t)0xFF00));
        }
    }
    *bs2 = bsum_pairs(y);
}
#endif

/* Q4_K's and Q5_K's 6-bit scales and mins (as the reference's
 * gf_q4_K_scale_min) from their 12 bytes, as u16 lanes. */
INLINE void k_scales(const uint8_t *scales, v128_t *sc16, v128_t *m16) {
    uint32_t u[3];
    memcpy(u, scales, 12);
    uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
    uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
    uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
    *sc16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)sc_lo, (int32_t)sc_hi, 0, 0));
    *m16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)m_lo, (int32_t)m_hi, 0, 0));
}

#if RELAXED
/* Q5_K's values (0..31) of sub-blocks 2p (q[0]: elements 0..15, q[1]:
 * 16..31) and 2p+1 (q[2], q[3]), bytes in element order: the nibbles of
 * qs (as Q4_K's) and bit j of qh[l] for element l of sub-block j, moved to
 * bit 4 by one 16-bit shift (x << k for k > 0, x >> -k for k < 0; a byte's
 * bit j never reaches the neighbouring byte's bit 4). h0, h1: qh's two
 * halves; raw: the nibbles only (paired form, see q5_K_pair). */
INLINE v128_t shift16(v128_t x, const int k) {
    return k > 0 ? wasm_i16x8_shl(x, (uint32_t)k) : k < 0 ? wasm_u16x8_shr(x, (uint32_t)-k) : x;
}

INLINE v128_t q5_lo(v128_t l, v128_t h, const int p) {
    return wasm_v128_or(wasm_v128_and(l, wasm_i8x16_const_splat(0x0F)), wasm_v128_and(shift16(h, 4 - 2 * p), wasm_i8x16_const_splat(0x10)));
}

INLINE v128_t q5_hi(v128_t l, v128_t h, const int p) {
    return wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l, 4), wasm_i8x16_const_splat(0x0F)),
                        wasm_v128_and(shift16(h, 3 - 2 * p), wasm_i8x16_const_splat(0x10)));
}

INLINE void q4_K_scales(const block_q4_K *x, v128_t *sc16, v128_t *m16) { k_scales(x->scales, sc16, m16); }

/* Relaxed Q4_K: the nibbles are the 7-bit operand, the activation bytes
 * (a[t][i] = elements 16i..16i+15) the 8-bit one. The dot of a 32-element
 * sub-block leaves four i32 lanes of 8 products each (|.| <= 8 * 15 * 127),
 * so the lanes of sub-blocks 2p and 2p+1 narrow (exactly) into one i16x8
 * and a pmaddwd against ones folds them to two lanes per sub-block
 * (|.| <= 16 * 15 * 127: still i16); two such folds narrow into the lanes
 * [s0 s0 s1 s1 s2 s2 s3 s3] and one pmaddwd applies four 6-bit scales,
 * interleaved from the scales by an unpack, which V8 emits as one
 * instruction (a broadcast of each pair of scales costs it a constant
 * built in four instructions and a pshufb). */
INLINE void q4_K_row(const int NT, const block_q4_K *x, const v128_t *const *a, const v128_t *bs2, v128_t *sum,
                     v128_t *mins) {
    v128_t sc16, m16;
    q4_K_scales(x, &sc16, &m16);
    UNROLL for (int t = 0; t < NT; t++) mins[t] = wasm_i32x4_dot_i16x8(bs2[t], m16);
    const v128_t mask = wasm_i8x16_const_splat(0x0F);
#if DOT16
    /* [s_2p x4, s_2p+1 x4] per p, as Q5_K's */
    const v128_t sp[2] = {wasm_i16x8_shuffle(sc16, sc16, 0, 0, 1, 1, 2, 2, 3, 3), wasm_i16x8_shuffle(sc16, sc16, 4, 4, 5, 5, 6, 6, 7, 7)};
#else
    const v128_t z = wasm_i32x4_const_splat(0), one = wasm_i16x8_const_splat(1);
    v128_t fold[GEMM_TOKENS_Q4_K];
#endif
    UNROLL for (int p = 0; p < 4; p++) {
        v128_t l0 = wasm_v128_load(x->qs + 32 * p), l1 = wasm_v128_load(x->qs + 32 * p + 16);
        v128_t n0 = wasm_v128_and(l0, mask), n1 = wasm_v128_and(l1, mask);
        v128_t n2 = wasm_v128_and(wasm_u16x8_shr(l0, 4), mask), n3 = wasm_v128_and(wasm_u16x8_shr(l1, 4), mask);
#if DOT16
        /* DOT16: the sub-blocks' i16 pair sums (4 products, at most
         * 4 * 15 * 127) folded to lanes 0-3 (2p) and 4-7 (2p+1), 8 products
         * each, and scaled by one pmaddwd: 5 multiplier-port instructions
         * per p where widening, narrowing and folding took 7.5 */
        const v128_t s = p % 2 ? wasm_i32x4_shuffle(sp[p / 2], sp[p / 2], 2, 2, 3, 3) : wasm_i32x4_shuffle(sp[p / 2], sp[p / 2], 0, 0, 1, 1);
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *at = a[t] + 4 * p;
            const v128_t lo = wasm_i16x8_add(dot_i16(ldv(at), n0), dot_i16(ldv(at + 1), n1));
            const v128_t hi = wasm_i16x8_add(dot_i16(ldv(at + 2), n2), dot_i16(ldv(at + 3), n3));
            const v128_t d = wasm_i32x4_dot_i16x8(fold16(lo, hi), s);
            sum[t] = p == 0 ? d : wasm_i32x4_add(sum[t], d);
        }
        FENCE(sum[0]);
#else
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *at = a[t] + 4 * p;
            /* (this load order: the GEMV 1-3% faster than the other) */
            v128_t lo = rdot(ldv(at + 1), n1, rdot(ldv(at), n0, z));
            v128_t hi = rdot(ldv(at + 3), n3, rdot(ldv(at + 2), n2, z));
            v128_t f = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(lo, hi), one);
            if (p % 2 == 0) {
                fold[t] = f;
            } else {
                v128_t s = p == 1 ? wasm_i16x8_shuffle(sc16, sc16, 0, 0, 1, 1, 2, 2, 3, 3)
                                  : wasm_i16x8_shuffle(sc16, sc16, 4, 4, 5, 5, 6, 6, 7, 7);
                v128_t d = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(fold[t], f), s);
                sum[t] = p == 1 ? d : wasm_i32x4_add(sum[t], d);
            }
        }
        FENCE(p % 2 ? sum[0] : fold[0]);
#endif
    }
}

/* Relaxed Q6_K (the GEMV; the GEMM takes rows in pairs, q6_K_pair): the
 * unsigned 6-bit values (0..63, before the -32 applied through bsums) are
 * the 7-bit operand. A 16-element sub-block's dot is
 * four lanes of 4 products (|.| <= 4 * 63 * 127 = 32004: fits i16), so two
 * sub-blocks narrow into one i16x8 and one pmaddwd applies both scales.
 * The two are neighbours (2m, 2m+1: the same elements of the 32-byte
 * halves of ql and qh), so their scales [s ... s' ...] come from the
 * scale vector by two unpacks, which V8 emits as single instructions. */
INLINE void q6_K_row(const int NT, const block_q6_K *x, const v128_t *const *a, const block_q8_K *const *ay,
                     v128_t *sum) {
    v128_t sc8 = wasm_v128_load(x->scales);
    v128_t sc16[2] = {wasm_i16x8_extend_low_i8x16(sc8), wasm_i16x8_extend_high_i8x16(sc8)};
    UNROLL for (int t = 0; t < NT; t++) {
        v128_t corr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc16[0], wasm_v128_load(ay[t]->bsums)),
                                     wasm_i32x4_dot_i16x8(sc16[1], wasm_v128_load(ay[t]->bsums + 8)));
        set_parked(NT, &sum[t], wasm_i32x4_sub(wasm_i32x4_const_splat(0), wasm_i32x4_shl(corr, 5)));
    }
    const v128_t m4 = wasm_i16x8_const_splat(0x0F0F), m2 = wasm_i16x8_const_splat(0x3030), z = wasm_i32x4_const_splat(0);
    for (int h = 0; h < 2; h++) {
        const v128_t v = h ? sc16[1] : sc16[0];
        UNROLL for (int k = 0; k < 2; k++) {
            /* sub-blocks 8h+4k+c (from X) and 8h+4k+2+c (from Y), c = 0, 1 */
            v128_t q0[2], q1[2];
            UNROLL for (int c = 0; c < 2; c++) {
                v128_t X = wasm_v128_load(x->ql + 64 * h + 16 * c), Y = wasm_v128_load(x->ql + 64 * h + 32 + 16 * c);
                v128_t H = wasm_v128_load(x->qh + 32 * h + 16 * c);
                q0[c] = k == 0 ? wasm_v128_or(wasm_v128_and(X, m4), wasm_v128_and(wasm_i16x8_shl(H, 4), m2))
                               : wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(X, 4), m4), wasm_v128_and(H, m2));
                q1[c] = k == 0 ? wasm_v128_or(wasm_v128_and(Y, m4), wasm_v128_and(wasm_i16x8_shl(H, 2), m2))
                               : wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(Y, 4), m4), wasm_v128_and(wasm_u16x8_shr(H, 2), m2));
            }
            const int i = 8 * h + 4 * k;
            /* [s_i x4, s_i+1 x4] and [s_i+2 x4, s_i+3 x4] */
            const v128_t two = k == 0 ? wasm_i16x8_shuffle(v, v, 0, 0, 1, 1, 2, 2, 3, 3) : wasm_i16x8_shuffle(v, v, 4, 4, 5, 5, 6, 6, 7, 7);
            const v128_t s0 = wasm_i32x4_shuffle(two, two, 0, 0, 1, 1), s1 = wasm_i32x4_shuffle(two, two, 2, 2, 3, 3);
            UNROLL for (int t = 0; t < NT; t++) {
#if DOT16
                /* pair sums (2 * 63 * 127) folded: 4 products per lane, at most 32004 */
                const v128_t h0 = fold16(dot_i16(ldv(&a[t][i]), q0[0]), dot_i16(ldv(&a[t][i + 1]), q0[1]));
                add_parked(NT, &sum[t], wasm_i32x4_dot_i16x8(h0, s0));
                const v128_t h1 = fold16(dot_i16(ldv(&a[t][i + 2]), q1[0]), dot_i16(ldv(&a[t][i + 3]), q1[1]));
                add_parked(NT, &sum[t], wasm_i32x4_dot_i16x8(h1, s1));
                (void)z;
#else
                v128_t d0 = dot1(ldv(&a[t][i]), q0[0], z), d1 = dot1(ldv(&a[t][i + 1]), q0[1], z); /* 2 * 63 * 127 */
                add_parked(NT, &sum[t], wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(d0, d1), s0));
                v128_t d2 = dot1(ldv(&a[t][i + 2]), q1[0], z), d3 = dot1(ldv(&a[t][i + 3]), q1[1], z);
                add_parked(NT, &sum[t], wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(d2, d3), s1));
#endif
            }
            FENCE(sum[0]);
        }
    }
}
/* Relaxed Q5_K, GEMV and GEMM (row by row, as Q6_K; rows in pairs as
 * Q4_K's, with the fifth bit's unpacking per pair, were 0.8x as fast in
 * Node's V8, relaxed16): the values 0..31 are the 7-bit operand. A sub-block's dot leaves four i32
 * lanes of 8 products (|.| <= 8 * 31 * 127 = 31496; DOT16's i16 pair sums,
 * 4 products, at most 15748), so sub-blocks 2p and 2p+1 narrow exactly into
 * one i16x8 and one pmaddwd applies both scales [s_2p x4, s_2p+1 x4] (two
 * 32-bit unpacks of the scales' 16-bit unpack: one instruction each in V8).
 * Q4_K's fold of two sub-blocks' lanes before the scales would overflow
 * i16 here (16 * 31 * 127). */
INLINE void q5_K_row(const int NT, const block_q5_K *x, const v128_t *const *a, const v128_t *bs2, v128_t *sum,
                     v128_t *mins) {
    v128_t sc16, m16;
    k_scales(x->scales, &sc16, &m16);
    UNROLL for (int t = 0; t < NT; t++) set_parked(NT, &mins[t], wasm_i32x4_dot_i16x8(bs2[t], m16));
    const v128_t z = wasm_i32x4_const_splat(0);
    const v128_t sp[2] = {wasm_i16x8_shuffle(sc16, sc16, 0, 0, 1, 1, 2, 2, 3, 3), wasm_i16x8_shuffle(sc16, sc16, 4, 4, 5, 5, 6, 6, 7, 7)};
    UNROLL for (int p = 0; p < 4; p++) {
        /* qh read again for each p (ldv): held across them, V8 spills */
        const v128_t h0 = ldv((const v128_t *)x->qh), h1 = ldv((const v128_t *)(x->qh + 16));
        const v128_t l0 = wasm_v128_load(x->qs + 32 * p), l1 = wasm_v128_load(x->qs + 32 * p + 16);
        const v128_t q0 = q5_lo(l0, h0, p), q1 = q5_lo(l1, h1, p), q2 = q5_hi(l0, h0, p), q3 = q5_hi(l1, h1, p);
        const v128_t s = p % 2 ? wasm_i32x4_shuffle(sp[p / 2], sp[p / 2], 2, 2, 3, 3) : wasm_i32x4_shuffle(sp[p / 2], sp[p / 2], 0, 0, 1, 1);
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *at = a[t] + 4 * p;
#if DOT16
            /* the sub-blocks' i16 sums (4 products, at most 15748) folded: 8 per lane, at most 31496 */
            const v128_t lo = wasm_i16x8_add(dot_i16(ldv(at), q0), dot_i16(ldv(at + 1), q1));
            const v128_t hi = wasm_i16x8_add(dot_i16(ldv(at + 2), q2), dot_i16(ldv(at + 3), q3));
            v128_t d = wasm_i32x4_dot_i16x8(fold16(lo, hi), s);
            (void)z;
#else
            v128_t lo = dot2(ldv(at), q0, ldv(at + 1), q1, z), hi = dot2(ldv(at + 2), q2, ldv(at + 3), q3, z);
            v128_t d = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(lo, hi), s);
#endif
            if (p == 0) set_parked(NT, &sum[t], d);
            else add_parked(NT, &sum[t], d);
        }
        FENCE(sum[0]);
    }
}
#else
/* One Q4_K super-block row against NT activation blocks: integer partial
 * sums (i32x4 whose lanes add up to sum and sum_mins of the reference).
 * A 16-bit lane of the nibble bytes holds [lo(2k) hi(2k) lo(2k+1) hi(2k+1)]:
 * the lo nibbles are elements 2k, 2k+1 of sub-block 2p, the hi ones of
 * sub-block 2p+1.
 * GEMV (NT = 1): each nibble is taken in place with one op (x & 0x000F,
 * x & 0x0F00 = 256 * q, x & 0x00F0 = 16 * q, x >> 12) and the prepared
 * activations carry the complementary factors (split_act256, gemv), so every
 * pmaddwd product is 256 * q * a, as Q4_0's are. A sub-block's four i32
 * lanes (8 products each) shifted right by 8 (exact) are at most
 * 8 * 15 * 127: sub-blocks 2p and 2p+1 narrow into one i16x8 and one
 * pmaddwd applies their 6-bit scales [s_2p x4, s_2p+1 x4], as the relaxed
 * kernel does: 8 ops of unpacking per 64 weights instead of 12, one scale
 * shuffle instead of two (2026-12-07, AMD EPYC, Node, CPU time: GEMV
 * 1.05-1.07x, 110M shapes, streamed). The GEMM keeps each nibble shifted
 * down to i16 and multiplied with i16x8.mul (below): with eight tokens the
 * GEMV form's eight unpacked vectors made V8 spill (GEMM 0.52-0.58x).
 * GEMM: |sum| <= 4 * 15 * 127 of four products fits i16, and pmaddwd then
 * applies the 6-bit scale in i32. */
INLINE v128_t dot4_q4_K(v128_t e0, v128_t e1, v128_t e2, v128_t e3, const v128_t *a) {
    return wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(e0, ldv(a)), wasm_i32x4_dot_i16x8(e1, ldv(a + 1))),
                                         wasm_i32x4_add(wasm_i32x4_dot_i16x8(e2, ldv(a + 2)), wasm_i32x4_dot_i16x8(e3, ldv(a + 3)))),
                          8);
}

INLINE v128_t dot4_scaled(v128_t n0, v128_t n1, v128_t n2, v128_t n3, const v128_t *a, v128_t s) {
    v128_t t = wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(n0, ldv(a)), wasm_i16x8_mul(n1, ldv(a + 1))),
                              wasm_i16x8_add(wasm_i16x8_mul(n2, ldv(a + 2)), wasm_i16x8_mul(n3, ldv(a + 3))));
    return wasm_i32x4_dot_i16x8(t, s);
}

INLINE void q4_K_row(const int NT, const block_q4_K *x, const v128_t *const *a, const v128_t *bs2, v128_t *sum,
                     v128_t *mins) {
    uint32_t u[3];
    memcpy(u, x->scales, 12);
    uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
    uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
    uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
    v128_t sc16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)sc_lo, (int32_t)sc_hi, 0, 0));
    v128_t m16 = wasm_u16x8_extend_low_u8x16(wasm_i32x4_make((int32_t)m_lo, (int32_t)m_hi, 0, 0));
    v128_t scp[2] = {wasm_i16x8_shuffle(sc16, sc16, 0, 0, 1, 1, 2, 2, 3, 3),
                     wasm_i16x8_shuffle(sc16, sc16, 4, 4, 5, 5, 6, 6, 7, 7)};
    if (NT == 1) {
        mins[0] = wasm_i32x4_dot_i16x8(bs2[0], m16);
        const v128_t m_lo4 = wasm_i16x8_const_splat(0x000F), m_mid = wasm_i16x8_const_splat(0x00F0),
                     m_hi4 = wasm_i16x8_const_splat(0x0F00);
        UNROLL for (int p = 0; p < 4; p++) {
            const v128_t l0 = wasm_v128_load(x->qs + 32 * p), l1 = wasm_v128_load(x->qs + 32 * p + 16);
            const v128_t *at = a[0] + 8 * p;
            const v128_t lo = dot4_q4_K(wasm_v128_and(l0, m_lo4), wasm_v128_and(l0, m_hi4), wasm_v128_and(l1, m_lo4),
                                        wasm_v128_and(l1, m_hi4), at);
            const v128_t hi = dot4_q4_K(wasm_v128_and(l0, m_mid), wasm_u16x8_shr(l0, 12), wasm_v128_and(l1, m_mid),
                                        wasm_u16x8_shr(l1, 12), at + 4);
            /* [s_2p x4, s_2p+1 x4]: a 32-bit unpack of the scale pairs */
            const v128_t s = p % 2 ? wasm_i32x4_shuffle(scp[p / 2], scp[p / 2], 2, 2, 3, 3) : wasm_i32x4_shuffle(scp[p / 2], scp[p / 2], 0, 0, 1, 1);
            const v128_t d = wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(lo, hi), s);
            sum[0] = p == 0 ? d : wasm_i32x4_add(sum[0], d);
            FENCE(sum[0]);
        }
        return;
    }
    UNROLL for (int t = 0; t < NT; t++) {
        set_parked(NT, &sum[t], wasm_i32x4_const_splat(0));
        set_parked(NT, &mins[t], wasm_i32x4_dot_i16x8(bs2[t], m16));
    }
    const v128_t mask = wasm_i16x8_const_splat(0xF);
    for (int p = 0; p < 4; p++) {
        v128_t l0 = wasm_v128_load(x->qs + 32 * p), l1 = wasm_v128_load(x->qs + 32 * p + 16);
        /* sub-block 2p: low nibbles; elements 2k, 2k+1, 16+2k, 17+2k */
        v128_t n0 = wasm_v128_and(l0, mask), n1 = wasm_v128_and(wasm_u16x8_shr(l0, 8), mask);
        v128_t n2 = wasm_v128_and(l1, mask), n3 = wasm_v128_and(wasm_u16x8_shr(l1, 8), mask);
        v128_t s = i16_splat_lane(scp[p >> 1], 2 * p);
        UNROLL for (int t = 0; t < NT; t++) add_parked(NT, &sum[t], dot4_scaled(n0, n1, n2, n3, a[t] + 8 * p, s));
        /* sub-block 2p+1: high nibbles */
        n0 = wasm_v128_and(wasm_u16x8_shr(l0, 4), mask);
        n1 = wasm_u16x8_shr(l0, 12);
        n2 = wasm_v128_and(wasm_u16x8_shr(l1, 4), mask);
        n3 = wasm_u16x8_shr(l1, 12);
        s = i16_splat_lane(scp[p >> 1], 2 * p + 1);
        UNROLL for (int t = 0; t < NT; t++) add_parked(NT, &sum[t], dot4_scaled(n0, n1, n2, n3, a[t] + 8 * p + 4, s));
        FENCE(sum[0]);
    }
}

/* One Q6_K super-block row: sum[t] lanes add up to the reference's sum.
 * q - 32 is applied afterwards through the activation's bsums. */
INLINE void q6_K_row(const int NT, const block_q6_K *x, const v128_t *const *a, const block_q8_K *const *ay,
                     v128_t *sum) {
    v128_t sc8 = wasm_v128_load(x->scales);
    v128_t sc16[2] = {wasm_i16x8_extend_low_i8x16(sc8), wasm_i16x8_extend_high_i8x16(sc8)};
    /* scale pairs parked in memory, loaded where used: held in registers
     * they would push V8 into spilling */
    v128_t scp[4];
    park(&scp[0], wasm_i16x8_shuffle(sc16[0], sc16[0], 0, 0, 1, 1, 2, 2, 3, 3));
    park(&scp[1], wasm_i16x8_shuffle(sc16[0], sc16[0], 4, 4, 5, 5, 6, 6, 7, 7));
    park(&scp[2], wasm_i16x8_shuffle(sc16[1], sc16[1], 0, 0, 1, 1, 2, 2, 3, 3));
    park(&scp[3], wasm_i16x8_shuffle(sc16[1], sc16[1], 4, 4, 5, 5, 6, 6, 7, 7));
    UNROLL for (int t = 0; t < NT; t++) {
        v128_t corr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc16[0], wasm_v128_load(ay[t]->bsums)),
                                     wasm_i32x4_dot_i16x8(sc16[1], wasm_v128_load(ay[t]->bsums + 8)));
        set_parked(NT, &sum[t], wasm_i32x4_sub(wasm_i32x4_const_splat(0), wasm_i32x4_shl(corr, 5)));
    }
    const v128_t m4 = wasm_i16x8_const_splat(0x0F0F), m2 = wasm_i16x8_const_splat(0x3030),
                 lo = wasm_i16x8_const_splat(0x00FF);
    for (int h = 0; h < 2; h++) {
        for (int c = 0; c < 2; c++) {
            v128_t X = wasm_v128_load(x->ql + 64 * h + 16 * c), Y = wasm_v128_load(x->ql + 64 * h + 32 + 16 * c);
            v128_t H = wasm_v128_load(x->qh + 32 * h + 16 * c);
            UNROLL for (int g = 0; g < 4; g++) {
                const int i = 8 * h + 2 * g + c; /* sub-block = act vector pair index */
                /* bytes of the 6-bit values of the 16-element sub-block i */
                v128_t q = g == 0   ? wasm_v128_or(wasm_v128_and(X, m4), wasm_v128_and(wasm_i16x8_shl(H, 4), m2))
                           : g == 1 ? wasm_v128_or(wasm_v128_and(Y, m4), wasm_v128_and(wasm_i16x8_shl(H, 2), m2))
                           : g == 2 ? wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(X, 4), m4), wasm_v128_and(H, m2))
                                    : wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(Y, 4), m4),
                                                   wasm_v128_and(wasm_u16x8_shr(H, 2), m2));
                v128_t qe = wasm_v128_and(q, lo), qo = wasm_u16x8_shr(q, 8);
                v128_t s = i16_splat_lane(ldv(&scp[i >> 2]), i);
                if (NT == 1) {
                    /* |q * a| <= 63 * 127, two of them fit i16 */
                    v128_t pr = wasm_i16x8_add(wasm_i16x8_mul(qe, ldv(&a[0][2 * i])), wasm_i16x8_mul(qo, ldv(&a[0][2 * i + 1])));
                    sum[0] = wasm_i32x4_add(sum[0], wasm_i32x4_dot_i16x8(pr, s));
                } else {
                    /* several tokens: scale the weights once (|q * sc| <= 63 * 128) */
                    qe = wasm_i16x8_mul(qe, s);
                    qo = wasm_i16x8_mul(qo, s);
                    UNROLL for (int t = 0; t < NT; t++)
                        add_parked(NT, &sum[t], wasm_i32x4_add(wasm_i32x4_dot_i16x8(qe, ldv(&a[t][2 * i])),
                                                               wasm_i32x4_dot_i16x8(qo, ldv(&a[t][2 * i + 1]))));
                }
                FENCE(sum[0]);
            }
        }
    }
}

/* Plain Q5_K: a sub-block's values split into even and odd elements (i16)
 * against the prepared activations, four products per lane (|.| <=
 * 4 * 31 * 127: fits i16), then pmaddwd against the splatted scale. */
INLINE void q5_K_row(const int NT, const block_q5_K *x, const v128_t *const *a, const v128_t *bs2, v128_t *sum,
                     v128_t *mins) {
    v128_t sc16, m16;
    k_scales(x->scales, &sc16, &m16);
    v128_t scp[2] = {wasm_i16x8_shuffle(sc16, sc16, 0, 0, 1, 1, 2, 2, 3, 3),
                     wasm_i16x8_shuffle(sc16, sc16, 4, 4, 5, 5, 6, 6, 7, 7)};
    UNROLL for (int t = 0; t < NT; t++) {
        set_parked(NT, &sum[t], wasm_i32x4_const_splat(0));
        set_parked(NT, &mins[t], wasm_i32x4_dot_i16x8(bs2[t], m16));
    }
    const v128_t lo8 = wasm_i16x8_const_splat(0x00FF);
    for (int p = 0; p < 4; p++) {
        UNROLL for (int h = 0; h < 2; h++) {
            const int j = 2 * p + h;
            const v128_t l0 = wasm_v128_load(x->qs + 32 * p), l1 = wasm_v128_load(x->qs + 32 * p + 16);
            const v128_t h0 = wasm_v128_load(x->qh), h1 = wasm_v128_load(x->qh + 16);
            v128_t q0, q1;
            /* p is a loop variable here: the shift amounts as in q5_lo/q5_hi */
            const int k = (4 - h) - 2 * p;
            const v128_t b0 = k >= 0 ? wasm_i16x8_shl(h0, (uint32_t)k) : wasm_u16x8_shr(h0, (uint32_t)-k);
            const v128_t b1 = k >= 0 ? wasm_i16x8_shl(h1, (uint32_t)k) : wasm_u16x8_shr(h1, (uint32_t)-k);
            const v128_t m4 = wasm_i8x16_const_splat(0x0F), b4 = wasm_i8x16_const_splat(0x10);
            q0 = wasm_v128_or(wasm_v128_and(h ? wasm_u16x8_shr(l0, 4) : l0, m4), wasm_v128_and(b0, b4));
            q1 = wasm_v128_or(wasm_v128_and(h ? wasm_u16x8_shr(l1, 4) : l1, m4), wasm_v128_and(b1, b4));
            const v128_t e0 = wasm_v128_and(q0, lo8), o0 = wasm_u16x8_shr(q0, 8);
            const v128_t e1 = wasm_v128_and(q1, lo8), o1 = wasm_u16x8_shr(q1, 8);
            const v128_t s = i16_splat_lane(scp[p >> 1], j);
            UNROLL for (int t = 0; t < NT; t++) {
                const v128_t *at = a[t] + 4 * j;
                v128_t pr = wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(e0, ldv(at)), wasm_i16x8_mul(o0, ldv(at + 1))),
                                           wasm_i16x8_add(wasm_i16x8_mul(e1, ldv(at + 2)), wasm_i16x8_mul(o1, ldv(at + 3))));
                add_parked(NT, &sum[t], wasm_i32x4_dot_i16x8(pr, s));
            }
            FENCE(sum[0]);
        }
    }
}

#endif

/* Vectors per super-block of the spread GEMV's prepared activations
 * (gemvK_block): the relaxed builds use 16 (the bytes as they are), dense;
 * the plain one 32 (i16). With 32 slots per super-block the relaxed
 * activations took every other 256 bytes: on the AMD EPYC (relaxed16,
 * Node, CPU time, streamed, 2026-12-07) the dense layout read the long rows
 * of ffn_down 1.06-1.15x faster (2048x5632 Q4_K and Q6_K; 2048x8192
 * 0.99-1.07x). gemvK_rows keeps 32 (its rows of at most 2048 read the dense
 * layout 0.90-0.98x as fast, Q6_K; why was not found). st: the stride. */
#define KAV (RELAXED ? 16 : 32)
static void prepK(const int kind, const int gemv, const block_q8_K *ay, const int paired, int nsb, v128_t *pa, v128_t *pbs2,
                  const int st) {
    for (int b = 0; b < nsb; b++) split_act256(kind, gemv, ay + b, paired, pa + st * b, &pbs2[b]);
}

#if RELAXED
/* The relaxed Q6_K GEMM takes rows in pairs too, on the same paired
 * activations: a weight vector holds eight 6-bit values (0..63) of row r
 * then the same eight of row s. The 16-bit relaxed dot product (one
 * pmaddubsw) of a sub-block's two vectors, added in i16, leaves lanes 0-3
 * for row r and 4-7 for row s, four products each (|.| <= 4 * 63 * 127 =
 * 32004: fits i16), and one pmaddwd applies both rows' scales
 * [sr x4, ss x4]: per row and sub-block one pmaddubsw, half a paddw and
 * half a pmaddwd, where the row kernel takes a zeroed register, a
 * vpdpbusd, half a narrow and half a pmaddwd (the i32 dot product's lanes
 * cannot be chained here: 8 products overflow i16). The -32 goes through
 * the bsums as in q6_K_row. sum[t] lanes: [r r s s]. With eight-token tiles
 * (the row kernel took four) against the row kernel: relaxed, Chromium,
 * Intel with AVX-VNNI, 1.35-1.5x (110M, 1B and llama3.2-1b shapes; ~80
 * GOP/s); relaxed16, Node, 1.35-1.41x; 110M Q4_K_M one-thread prefill
 * ~424 -> ~468 tok/s (2026-12-07). Both halves of a step per token pass
 * (eight weight vectors live): 0.93-0.97x. */

/* lanes [r, r, s, s] of the four tokens' sums -> lane t = row r (*r), row s (*s) */
INLINE void fold_rrss(const v128_t v[4], v128_t *r, v128_t *s) {
    v128_t f01 = wasm_i32x4_add(wasm_i32x4_shuffle(v[0], v[1], 0, 2, 4, 6), wasm_i32x4_shuffle(v[0], v[1], 1, 3, 5, 7));
    v128_t f23 = wasm_i32x4_add(wasm_i32x4_shuffle(v[2], v[3], 0, 2, 4, 6), wasm_i32x4_shuffle(v[2], v[3], 1, 3, 5, 7));
    *r = wasm_i32x4_shuffle(f01, f23, 0, 2, 4, 6);
    *s = wasm_i32x4_shuffle(f01, f23, 1, 3, 5, 7);
}

INLINE void q6_K_pair(const int NT, const block_q6_K *xr, const block_q6_K *xs, const prep_tile_t *pt,
                      const block_q8_K *const *ay0, int b, v128_t is[][2]) {
    v128_t sum[GEMM_TOKENS_Q6_K], S[16];
    {
        const v128_t scr = wasm_v128_load(xr->scales), scs = wasm_v128_load(xs->scales);
        /* both rows' scales interleaved, i16: z[k] = [r_4k, s_4k, ..., r_4k+3, s_4k+3] */
        const v128_t lo = wasm_i8x16_shuffle(scr, scs, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v128_t hi = wasm_i8x16_shuffle(scr, scs, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const v128_t z[4] = {wasm_i16x8_extend_low_i8x16(lo), wasm_i16x8_extend_high_i8x16(lo), wasm_i16x8_extend_low_i8x16(hi),
                             wasm_i16x8_extend_high_i8x16(hi)};
        /* S[j] = [r_j x4, s_j x4] */
        UNROLL for (int k = 0; k < 4; k++) {
            const v128_t u0 = wasm_i16x8_shuffle(z[k], z[k], 0, 0, 1, 1, 2, 2, 3, 3), u1 = wasm_i16x8_shuffle(z[k], z[k], 4, 4, 5, 5, 6, 6, 7, 7);
            park(&S[4 * k], wasm_i32x4_shuffle(u0, u0, 0, 0, 1, 1));
            park(&S[4 * k + 1], wasm_i32x4_shuffle(u0, u0, 2, 2, 3, 3));
            park(&S[4 * k + 2], wasm_i32x4_shuffle(u1, u1, 0, 0, 1, 1));
            park(&S[4 * k + 3], wasm_i32x4_shuffle(u1, u1, 2, 2, 3, 3));
        }
        const v128_t r0 = wasm_i16x8_extend_low_i8x16(scr), r1 = wasm_i16x8_extend_high_i8x16(scr);
        const v128_t s0 = wasm_i16x8_extend_low_i8x16(scs), s1 = wasm_i16x8_extend_high_i8x16(scs);
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t b0 = wasm_v128_load(ay0[t][b].bsums), b1 = wasm_v128_load(ay0[t][b].bsums + 8);
            const v128_t cr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(r0, b0), wasm_i32x4_dot_i16x8(r1, b1));
            const v128_t cs = wasm_i32x4_add(wasm_i32x4_dot_i16x8(s0, b0), wasm_i32x4_dot_i16x8(s1, b1));
            const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(cr, cs, 0, 1, 4, 5), wasm_i32x4_shuffle(cr, cs, 2, 3, 6, 7));
            set_parked(NT, &sum[t], wasm_i32x4_sub(wasm_i32x4_const_splat(0), wasm_i32x4_shl(c, 5)));
        }
    }
    const v128_t m4 = wasm_i8x16_const_splat(0x0F), m2 = wasm_i8x16_const_splat(0x30);
    /* (h, c) rolled: unrolled, the tile widths' copies grew the wasm by 15-18 KB */
#pragma clang loop unroll(disable)
    for (int hc = 0; hc < 4; hc++) {
        const int h = hc >> 1, c = hc & 1;
        UNROLL for (int k = 0; k < 2; k++) {
            /* sub-blocks j = 8h + 2k + c (low nibbles of ql half k) and j + 4 (high) */
            const int j = 8 * h + 2 * k + c;
            const v128_t Lr = ldv((const v128_t *)(xr->ql + 64 * h + 32 * k + 16 * c)),
                         Ls = ldv((const v128_t *)(xs->ql + 64 * h + 32 * k + 16 * c));
            const v128_t Hr = ldv((const v128_t *)(xr->qh + 32 * h + 16 * c)), Hs = ldv((const v128_t *)(xs->qh + 32 * h + 16 * c));
            v128_t w[4]; /* j: elements 0-7, 8-15; j + 4: 0-7, 8-15 */
            UNROLL for (int e = 0; e < 2; e++) {
                const v128_t L = e ? wasm_i64x2_shuffle(Lr, Ls, 1, 3) : wasm_i64x2_shuffle(Lr, Ls, 0, 2);
                const v128_t H = e ? wasm_i64x2_shuffle(Hr, Hs, 1, 3) : wasm_i64x2_shuffle(Hr, Hs, 0, 2);
                w[e] = wasm_v128_or(wasm_v128_and(L, m4), wasm_v128_and(k ? wasm_i16x8_shl(H, 2) : wasm_i16x8_shl(H, 4), m2));
                w[2 + e] = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(L, 4), m4), wasm_v128_and(k ? wasm_u16x8_shr(H, 2) : H, m2));
            }
            const v128_t S0 = ldv(&S[j]), S1 = ldv(&S[j + 4]);
            UNROLL for (int t = 0; t < NT; t++) {
                const v128_t *at = pt->a[t] + 32 * b + 2 * j;
                const v128_t p0 = wasm_i16x8_add(dot_i16(ldv(at), w[0]), dot_i16(ldv(at + 1), w[1]));
                const v128_t p1 = wasm_i16x8_add(dot_i16(ldv(at + 8), w[2]), dot_i16(ldv(at + 9), w[3]));
                add_parked(NT, &sum[t], wasm_i32x4_add(wasm_i32x4_dot_i16x8(p0, S0), wasm_i32x4_dot_i16x8(p1, S1)));
            }
            FENCE(sum[0]);
        }
    }
    UNROLL for (int g = 0; g < NT / 4; g++) {
        v128_t su[4];
        UNROLL for (int t = 0; t < 4; t++) su[t] = ldv(&sum[4 * g + t]);
        fold_rrss(su, &is[g][0], &is[g][1]);
    }
}

#endif

/* The float step of a super-block, shared by GEMV and GEMM: lane by lane
 * acc + (d * ad) * is - (dmin * ad) * im, the reference's order. */
INLINE v128_t fstepK(const int kind, v128_t acc, v128_t is, v128_t im, v128_t d, v128_t dmin, v128_t vad) {
    if (kind != K_Q6_K)
        return wasm_f32x4_add(acc, wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_mul(d, vad), wasm_f32x4_convert_i32x4(is)),
                                                  wasm_f32x4_mul(wasm_f32x4_mul(dmin, vad), wasm_f32x4_convert_i32x4(im))));
    return wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_mul(d, vad), wasm_f32x4_convert_i32x4(is)));
}

INLINE size_t wsb_bytes(int kind) {
    return kind == K_Q4_K ? sizeof(block_q4_K) : kind == K_Q5_K ? sizeof(block_q5_K) : sizeof(block_q6_K);
}

/* GEMV, four rows at w + k * rs, one super-block, against prepared activations. */
INLINE v128_t gemvK_block(const int kind, const uint8_t *w, size_t rs, const prep_t *p, const block_q8_K *ay, int b,
                          v128_t acc, v128_t *spec) {
    const v128_t *a[1] = {p->a + KAV * b};
    v128_t sum[4], mins[4] = {0};
    UNROLL for (int r = 0; r < 4; r++) {
        if (kind == K_Q4_K)
            q4_K_row(1, (const block_q4_K *)(w + (size_t)r * rs), a, &p->bs2[b], &sum[r], &mins[r]);
        else if (kind == K_Q5_K)
            q5_K_row(1, (const block_q5_K *)(w + (size_t)r * rs), a, &p->bs2[b], &sum[r], &mins[r]);
        else
            q6_K_row(1, (const block_q6_K *)(w + (size_t)r * rs), a, &ay, &sum[r]);
    }
    v128_t is = reduce4_i32(sum[0], sum[1], sum[2], sum[3]), im = is, d, dmin = is;
    if (kind != K_Q6_K) {
        im = reduce4_i32(mins[0], mins[1], mins[2], mins[3]);
        d = load_h4s(kind, w, rs, offsetof(block_q4_K, d), is, spec);
        dmin = load_h4s(kind, w, rs, offsetof(block_q4_K, dmin), is, spec);
    } else {
        d = load_h4s(kind, w, rs, offsetof(block_q6_K, d), is, spec);
    }
    return fstepK(kind, acc, is, im, d, dmin, wasm_f32x4_splat(ay->d));
}

/* K-quant GEMV, four rows at w + k * rs, each read whole before the next:
 * with adjacent rows (gemv_quant) the matrix is read as one sequential
 * stream, which this AMD EPYC reads about twice as fast as the spread
 * group's four (kernel-bench bw, 1 stream 27-30 GB/s, 4: 15-16). Each
 * row's block sums are parked, then the four rows' float steps go block by
 * block, lane-wise, as gemvK_block's: the same integer sums and float
 * order, so the same bits. Only for rows of at most GEMV_ROWWISE_SB
 * super-blocks (n <= 2048): on 2048x5632 (22 super-blocks) the row-wise
 * order was 0.65-0.92x of the spread group's (Node and Chromium,
 * relaxed16, CPU time, 2026-12-07), and cutting such rows into slices of
 * eight super-blocks (four interleaved streams again) 0.39-0.59x; why the
 * long rows lose was not found. Against the spread group, 1B shapes, CPU
 * time: relaxed16 Node 1.04-1.67x (2048x2048), 1.03-1.21x (5632x2048),
 * 1.00-1.24x (32000x2048); Chromium 0.98-1.26x, 1.08-1.21x, 1.02-1.13x;
 * plain (Node) 1.22-1.66x on the 110M shapes and 1.19-1.62x on the 1B
 * ones. Q5_K the same way, 110M and 1B shapes with n <= 2048: relaxed16
 * Node 0.94-1.25x (mostly 1.1-1.2), Chromium 1.05-1.11x, plain Node
 * 1.04-1.27x. Q4_K the same way (its mins parked beside the sums; with
 * the spread GEMV's activations dense, KAV, while these keep 32 vectors per
 * super-block), against the spread group, relaxed16 Node, CPU time, three
 * runs: 2048x2048 0.99-1.06x, 5632x2048 1.04-1.11x, 512x2048 1.13-1.18x,
 * 8192x2048 1.05-1.11x, 32000x2048 0.99-1.02x; plain Node 1.04-1.12x
 * (2026-12-07; an earlier try, activations at 32 vectors for both orders,
 * was mixed: 0.93-1.12x). Long rows lose row-wise: 2048x5632 Q6_K 0.61-0.73x
 * (0.75-0.83x with dense activations), and worse the more of the
 * activations a row pass touches (confined to 8 super-blocks, wrong
 * results, only timed: 0.88-0.97x); read four rows in slices of 4-11
 * super-blocks each, 0.33-0.42x (interleaved runs within a few KB, which
 * the prefetchers here follow badly). */
#define GEMV_ROWWISE_SB 8

/* Touch-ahead: wasm has no prefetch instruction, so gemvK_rows loads one
 * byte at PF_DIST, +64 and +128 bytes ahead of each super-block and adds
 * them into a dummy, stored once per call to a volatile stack slot
 * (pf_done: thread-safe, and the loads stay). That touches every 64-byte
 * line of a Q4_K (144-byte) or Q5_K (176) stream and about 11 of 12 of a
 * Q6_K (210) one. The touches read below end only (the end of the call's
 * rows, from gemv_quant) and change no result. On the Intel Xeon VM of
 * 2026-12-07 (AVX-VNNI) the K-quant GEMVs computed 17-18 GB/s from cache
 * but streamed only 7-9.5 while a plain read loop got ~16 (compute and
 * memory serialized: too few misses in flight); with the touches, streamed
 * (kernel-ab jump, rows up to 2048) 1.06-1.6x in Chromium's relaxed build,
 * 0.8-1.44x relaxed16 and 1.02-1.49x plain (Node), at 0.95-1.03x from
 * cache; 110M Q4_K_M decode 1.11-1.21x. The spread GEMVs and the
 * 32-element types did not gain (0.65-1.04x), and neither did other
 * distances, densities or bursts: docs/performance.md, "Touch-ahead". On
 * the AMD EPYC measured before (one stream at 27-30 GB/s) the cost would be
 * the extra instructions, about what the from-cache figures show. */
#define PF_DIST 768
typedef struct {
    const uint8_t *end; /* no touch at or past this */
    uint32_t sum;
} pf_t;

INLINE void pf_touch(pf_t *pf, const uint8_t *p) {
    if (pf->end - p > PF_DIST + 128) {
        const uint8_t *t = p + PF_DIST;
        pf->sum += t[0] + t[64] + t[128];
    }
}

INLINE void pf_done(const pf_t *pf) {
    volatile uint32_t sink = pf->sum;
    (void)sink;
}

INLINE v128_t gemvK_rows(const int kind, const uint8_t *w, size_t rs, const prep_t *p, const block_q8_K *ay0, int nsb,
                         v128_t acc, v128_t *spec, const uint8_t *end) {
    v128_t sums[GEMV_ROWWISE_SB][4], mns[GEMV_ROWWISE_SB][4];
    const size_t wbs = wsb_bytes(kind);
    pf_t pf = {end, 0};
    for (int r = 0; r < 4; r++) {
        const uint8_t *wr = w + (size_t)r * rs;
        const block_q8_K *ay = ay0;
        for (int b = 0; b < nsb; b++, wr += wbs, ay++) {
            pf_touch(&pf, wr);
            const v128_t *a[1] = {p->a + 32 * b};
            v128_t sum, mins;
            if (kind == K_Q5_K) {
                q5_K_row(1, (const block_q5_K *)wr, a, &p->bs2[b], &sum, &mins);
                park(&mns[b][r], mins);
            } else if (kind == K_Q4_K) {
                q4_K_row(1, (const block_q4_K *)wr, a, &p->bs2[b], &sum, &mins);
                park(&mns[b][r], mins);
            } else {
                q6_K_row(1, (const block_q6_K *)wr, a, &ay, &sum);
            }
            park(&sums[b][r], sum);
        }
    }
    for (int b = 0; b < nsb; b++, w += wbs) {
        const v128_t is = reduce4_i32(ldv(&sums[b][0]), ldv(&sums[b][1]), ldv(&sums[b][2]), ldv(&sums[b][3]));
        v128_t im = is, d, dmin = is;
        if (kind != K_Q6_K) {
            im = reduce4_i32(ldv(&mns[b][0]), ldv(&mns[b][1]), ldv(&mns[b][2]), ldv(&mns[b][3]));
            d = load_h4s(kind, w, rs, offsetof(block_q5_K, d), is, spec);
            dmin = load_h4s(kind, w, rs, offsetof(block_q5_K, dmin), is, spec);
        } else {
            d = load_h4s(kind, w, rs, offsetof(block_q6_K, d), is, spec);
        }
        acc = fstepK(kind, acc, is, im, d, dmin, wasm_f32x4_splat(ay0[b].d));
    }
    pf_done(&pf);
    return acc;
}

/* ng groups of four rows (the group j at w + j * gs), super-block by super-block. */
INLINE void gemvKxn(const int kind, const int ng, const uint8_t *w, size_t gs, size_t rs, const prep_t *p,
                    const block_q8_K *ay, int nsb, v128_t *acc, v128_t *spec) {
    const size_t wbs = wsb_bytes(kind);
    for (int b = 0; b < nsb; b++, w += wbs, ay++)
        UNROLL for (int j = 0; j < ng; j++) acc[j] = gemvK_block(kind, w + j * gs, rs, p, ay, b, acc[j], spec);
}

#if RELAXED
/* lane r of v in all four lanes (r a constant after unrolling) */
INLINE v128_t splat_lane32(v128_t v, const int r) {
    return r == 0   ? wasm_i32x4_shuffle(v, v, 0, 0, 0, 0)
           : r == 1 ? wasm_i32x4_shuffle(v, v, 1, 1, 1, 1)
           : r == 2 ? wasm_i32x4_shuffle(v, v, 2, 2, 2, 2)
                    : wasm_i32x4_shuffle(v, v, 3, 3, 3, 3);
}

/* 4x4 transpose of 32-bit lanes: out[j] lane i = in[i] lane j. */
INLINE void transpose4(const v128_t in[4], v128_t out[4]) {
    v128_t a = wasm_i32x4_shuffle(in[0], in[1], 0, 4, 1, 5), b = wasm_i32x4_shuffle(in[0], in[1], 2, 6, 3, 7);
    v128_t c = wasm_i32x4_shuffle(in[2], in[3], 0, 4, 1, 5), e = wasm_i32x4_shuffle(in[2], in[3], 2, 6, 3, 7);
    out[0] = wasm_i64x2_shuffle(a, c, 0, 2);
    out[1] = wasm_i64x2_shuffle(a, c, 1, 3);
    out[2] = wasm_i64x2_shuffle(b, e, 0, 2);
    out[3] = wasm_i64x2_shuffle(b, e, 1, 3);
}

/* The relaxed Q4_K GEMM in four rows per activation load (k_quad, kind Q4_K;
 * until 2026-12-07 the GEMM took rows in pairs, q4_K_pair): a
 * 32-element sub-block's four paired activation vectors serve both row
 * pairs (rows 0, 1 and 2, 3), whose lanes [r r s s] (16 products each,
 * at most 16 * 15 * 127) narrow into one i16x8 [r0 r0 r1 r1 r2 r2 r3 r3]
 * (DOT16: the pairs' i16 sums folded, the same lanes' totals), and one
 * pmaddwd against the four rows' scales of the sub-block, each twice,
 * leaves the four rows' sums in lanes 0-3 (the GEMV's layout): no fold of
 * pair lanes, and the float step is gemmK's (lanes = rows). Against
 * q4_K_pair (AMD EPYC Zen 5 with AVX-VNNI, 2026-12-07): relaxed, Chromium,
 * 1.6-1.8x (110M and llama3.2-1b shapes, ~110-125 GOP/s, the Q8_0 GEMM's
 * rate); relaxed16, Node, 1.6-2.0x; llama3.2-1b Q4_K_M one-thread prefill
 * ~32 -> ~50 tok/s. Q6_K the same way (two parked pair sums per token, its
 * 4-product lanes cannot narrow across pairs) was 0.88-1.12x: not taken. */
INLINE v128_t quad_h(const v128_t *at, const v128_t w0[4], const v128_t w1[4]) {
#if DOT16
    v128_t x0, x1;
    UNROLL for (int k = 0; k < 4; k++) {
        const v128_t a = ldv(at + k);
        x0 = k ? wasm_i16x8_add(x0, dot_i16(a, w0[k])) : dot_i16(a, w0[k]);
        x1 = k ? wasm_i16x8_add(x1, dot_i16(a, w1[k])) : dot_i16(a, w1[k]);
    }
    return fold16(x0, x1);
#else
    v128_t p0 = wasm_i32x4_const_splat(0), p1 = p0;
    UNROLL for (int k = 0; k < 4; k++) {
        const v128_t a = ldv(at + k);
        p0 = rdot(a, w0[k], p0);
        p1 = rdot(a, w1[k], p1);
    }
    return wasm_i16x8_narrow_i32x4(p0, p1);
#endif
}

/* Sub-block j's weights of rows r (x) and s (y), paired: eight elements of row r, then the same eight of row s (see unpack_pair). */
INLINE void quad_w(const block_q4_K *x, const block_q4_K *y, const int j, v128_t w[4]) {
    const int p = j >> 1;
    const v128_t mask = wasm_i8x16_const_splat(0x0F);
    const v128_t l0r = wasm_v128_load(x->qs + 32 * p), l1r = wasm_v128_load(x->qs + 32 * p + 16);
    const v128_t l0s = wasm_v128_load(y->qs + 32 * p), l1s = wasm_v128_load(y->qs + 32 * p + 16);
    const v128_t q[4] = {wasm_i64x2_shuffle(l0r, l0s, 0, 2), wasm_i64x2_shuffle(l0r, l0s, 1, 3),
                         wasm_i64x2_shuffle(l1r, l1s, 0, 2), wasm_i64x2_shuffle(l1r, l1s, 1, 3)};
    UNROLL for (int k = 0; k < 4; k++) w[k] = wasm_v128_and(j & 1 ? wasm_u16x8_shr(q[k], 4) : q[k], mask);
}

/* The 6-bit scales and mins of rows w + i * rs (i < 4), for Q4_K and Q5_K
 * (k_scales), parked: S[j] lane i = row i's scale j, twice (i16); M[q]
 * lane i = row i's mins 2q, 2q + 1 (i16). */
INLINE void quad_scales(const uint8_t *w, size_t rs, size_t off, v128_t S[8], v128_t M[4]) {
    v128_t sc[4], m[4], lo[4], hi[4], t[4];
    UNROLL for (int i = 0; i < 4; i++) {
        k_scales(w + (size_t)i * rs + off, &sc[i], &m[i]);
        lo[i] = wasm_i16x8_shuffle(sc[i], sc[i], 0, 0, 1, 1, 2, 2, 3, 3);
        hi[i] = wasm_i16x8_shuffle(sc[i], sc[i], 4, 4, 5, 5, 6, 6, 7, 7);
    }
    transpose4(lo, t);
    UNROLL for (int j = 0; j < 4; j++) park(&S[j], t[j]);
    transpose4(hi, t);
    UNROLL for (int j = 0; j < 4; j++) park(&S[4 + j], t[j]);
    transpose4(m, t);
    UNROLL for (int q = 0; q < 4; q++) park(&M[q], t[q]);
}

/* mins[t] lane i = row i's mins against token t's bsums pairs of super-block b */
INLINE void quad_mins(const int NT, const prep_tile_t *pt, int b, const v128_t M[4], v128_t *mins) {
    UNROLL for (int t = 0; t < NT; t++) {
        const v128_t bs2 = ldv(&pt->bs2[t][b]);
        v128_t m = wasm_i32x4_dot_i16x8(ldv(&M[0]), wasm_i32x4_shuffle(bs2, bs2, 0, 0, 0, 0));
        m = wasm_i32x4_add(m, wasm_i32x4_dot_i16x8(ldv(&M[1]), wasm_i32x4_shuffle(bs2, bs2, 1, 1, 1, 1)));
        m = wasm_i32x4_add(m, wasm_i32x4_dot_i16x8(ldv(&M[2]), wasm_i32x4_shuffle(bs2, bs2, 2, 2, 2, 2)));
        m = wasm_i32x4_add(m, wasm_i32x4_dot_i16x8(ldv(&M[3]), wasm_i32x4_shuffle(bs2, bs2, 3, 3, 3, 3)));
        set_parked(NT, &mins[t], m);
    }
}

/* Q5_K the same way (values 0..31 on the paired activations). A lane of
 * four products is at most 4 * 31 * 127, so each pair's chains are two
 * dot products long (elements 0-15 and 16-31 of the sub-block, 8 products
 * per lane, at most 31496), narrowed across the pairs into two i16x8
 * [r0 r0 r1 r1 r2 r2 r3 r3] and scaled by two pmaddwd. DOT16: each pair's
 * i16 sums ([r x4, s x4], 8 products per lane) scaled by its own pmaddwd
 * ([c_r x4, c_s x4]) and the pairs' lanes [r r s s] folded. Against the
 * former row-by-row kernel: relaxed 1.04-1.56x (mostly 1.1-1.2x),
 * relaxed16 1.04-1.16x (110M shapes, 2026-12-07). */
INLINE v128_t quad5_d(const v128_t *at, const v128_t w0[4], const v128_t w1[4], v128_t s) {
#if DOT16
    v128_t x0 = wasm_i32x4_const_splat(0), x1 = x0;
    UNROLL for (int k = 0; k < 4; k++) {
        const v128_t a = ldv(at + k);
        x0 = k ? wasm_i16x8_add(x0, dot_i16(a, w0[k])) : dot_i16(a, w0[k]);
        x1 = k ? wasm_i16x8_add(x1, dot_i16(a, w1[k])) : dot_i16(a, w1[k]);
    }
    const v128_t p0 = wasm_i32x4_dot_i16x8(x0, wasm_i32x4_shuffle(s, s, 0, 0, 1, 1));
    const v128_t p1 = wasm_i32x4_dot_i16x8(x1, wasm_i32x4_shuffle(s, s, 2, 2, 3, 3));
    return wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 2, 4, 6), wasm_i32x4_shuffle(p0, p1, 1, 3, 5, 7));
#else
    const v128_t z = wasm_i32x4_const_splat(0);
    const v128_t a0 = ldv(at), a1 = ldv(at + 1);
    const v128_t lo = wasm_i16x8_narrow_i32x4(rdot(a1, w0[1], rdot(a0, w0[0], z)), rdot(a1, w1[1], rdot(a0, w1[0], z)));
    const v128_t a2 = ldv(at + 2), a3 = ldv(at + 3);
    const v128_t hi = wasm_i16x8_narrow_i32x4(rdot(a3, w0[3], rdot(a2, w0[2], z)), rdot(a3, w1[3], rdot(a2, w1[2], z)));
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(lo, s), wasm_i32x4_dot_i16x8(hi, s));
#endif
}

/* Sub-block j's values of rows r (x) and s (y), paired. */
INLINE void quad5_w(const block_q5_K *x, const block_q5_K *y, const int j, v128_t w[4]) {
    const int p = j >> 1;
    v128_t v[2][2];
    UNROLL for (int e = 0; e < 2; e++) {
        const block_q5_K *z = e ? y : x;
        const v128_t l0 = wasm_v128_load(z->qs + 32 * p), l1 = wasm_v128_load(z->qs + 32 * p + 16);
        const v128_t h0 = wasm_v128_load(z->qh), h1 = wasm_v128_load(z->qh + 16);
        v[e][0] = j & 1 ? q5_hi(l0, h0, p) : q5_lo(l0, h0, p);
        v[e][1] = j & 1 ? q5_hi(l1, h1, p) : q5_lo(l1, h1, p);
    }
    w[0] = wasm_i64x2_shuffle(v[0][0], v[1][0], 0, 2);
    w[1] = wasm_i64x2_shuffle(v[0][0], v[1][0], 1, 3);
    w[2] = wasm_i64x2_shuffle(v[0][1], v[1][1], 0, 2);
    w[3] = wasm_i64x2_shuffle(v[0][1], v[1][1], 1, 3);
}

/* Q4_K or Q5_K (kind, a constant after inlining): rows at w + i * rs
 * (i < 4) of super-block b against NT tokens: sum[t] and mins[t] (parked),
 * lane i = row i's integer sums, as gemvK_block's. The two differ only in
 * how a sub-block's values unpack (quad_w, quad5_w) and meet the scales
 * (quad_h and one pmaddwd, quad5_d). */
INLINE void k_quad(const int kind, const int NT, const uint8_t *w, size_t rs, const prep_tile_t *pt, int b, v128_t *sum,
                   v128_t *mins) {
    v128_t S[8], M[4];
    quad_scales(w, rs, kind == K_Q4_K ? offsetof(block_q4_K, scales) : offsetof(block_q5_K, scales), S, M);
    UNROLL for (int j = 0; j < 8; j++) {
        v128_t w0[4], w1[4];
        if (kind == K_Q4_K) {
            quad_w((const block_q4_K *)w, (const block_q4_K *)(w + rs), j, w0);
            quad_w((const block_q4_K *)(w + 2 * rs), (const block_q4_K *)(w + 3 * rs), j, w1);
        } else {
            quad5_w((const block_q5_K *)w, (const block_q5_K *)(w + rs), j, w0);
            quad5_w((const block_q5_K *)(w + 2 * rs), (const block_q5_K *)(w + 3 * rs), j, w1);
        }
        const v128_t s = ldv(&S[j]);
        UNROLL for (int t = 0; t < NT; t++) {
            const v128_t *at = pt->a[t] + 32 * b + 4 * j;
            const v128_t d = kind == K_Q4_K ? wasm_i32x4_dot_i16x8(quad_h(at, w0, w1), s) : quad5_d(at, w0, w1, s);
            if (j == 0) set_parked(NT, &sum[t], d);
            else add_parked(NT, &sum[t], d);
        }
        FENCE(sum[0]);
    }
    quad_mins(NT, pt, b, M, mins);
}

/* Relaxed K-quant GEMM, four rows x NT tokens (Q4_K: GEMM_TOKENS_Q4_K,
 * Q5_K: GEMM_TOKENS_Q5_K, Q6_K: GEMM_TOKENS_Q6_K; or four), against prepared
 * activations (ay0[t]: the tokens' Q8_K blocks of this chunk, for d and
 * bsums). Q4_K and Q5_K take four rows per activation load (k_quad:
 * lanes = rows, gemmK's float step). Q6_K takes rows in pairs
 * (q6_K_pair): each pair's integer sums for a group of four tokens come
 * reduced (lane = token) and their float step goes into accumulators
 * transposed the same way, one per row and token group, parked in memory
 * (the pair's unpacked weights hold the registers). Each output gets the
 * GEMV's integer sums and float steps. */
INLINE void gemmK_relaxed(const int kind, const int NT, const uint8_t *w, size_t rs, const prep_tile_t *pt,
                          const block_q8_K *const *ay0, int nsb, v128_t *acc, v128_t *spec) {
    if (kind != K_Q6_K) {
        for (int b = 0; b < nsb; b++, w += wsb_bytes(kind)) {
            const v128_t base = wasm_i32x4_const_splat(0);
            v128_t sum[GEMM_TOKENS_Q4_K], mins[GEMM_TOKENS_Q4_K];
            const v128_t d = load_h4s(kind, w, rs, offsetof(block_q4_K, d), base, spec);
            const v128_t dmin = load_h4s(kind, w, rs, offsetof(block_q4_K, dmin), base, spec);
            k_quad(kind, NT, w, rs, pt, b, sum, mins);
            UNROLL for (int t = 0; t < NT; t++)
                acc[t] = fstepK(kind, acc[t], ldv(&sum[t]), ldv(&mins[t]), d, dmin, wasm_f32x4_splat(ay0[t][b].d));
        }
        return;
    }
    v128_t accr[GEMM_TOKENS_Q4_K / 4][4];
    UNROLL for (int g = 0; g < NT / 4; g++) {
        v128_t tr[4];
        transpose4(acc + 4 * g, tr);
        UNROLL for (int r = 0; r < 4; r++) park(&accr[g][r], tr[r]);
    }
    for (int b = 0; b < nsb; b++, w += wsb_bytes(kind)) {
        const v128_t base = wasm_i32x4_const_splat(0);
        v128_t vad[GEMM_TOKENS_Q4_K / 4], d, dmin = base;
        UNROLL for (int g = 0; g < NT / 4; g++) {
            const block_q8_K *const *ay = ay0 + 4 * g;
            vad[g] = wasm_f32x4_make(ay[0][b].d, ay[1][b].d, ay[2][b].d, ay[3][b].d);
        }
        d = load_h4s(kind, w, rs, offsetof(block_q6_K, d), base, spec);
        UNROLL for (int r = 0; r < 4; r += 2) {
            v128_t is[GEMM_TOKENS_Q6_K / 4][2];
            q6_K_pair(NT, (const block_q6_K *)(w + (size_t)r * rs), (const block_q6_K *)(w + (size_t)(r + 1) * rs), pt, ay0, b,
                      is);
            /* Q6_K has no mins: is stands in for them, dmin is zero */
            UNROLL for (int k = 0; k < 2; k++)
                UNROLL for (int g = 0; g < NT / 4; g++)
                    park(&accr[g][r + k], fstepK(kind, ldv(&accr[g][r + k]), is[g][k], is[g][k], splat_lane32(d, r + k),
                                                 splat_lane32(dmin, r + k), vad[g]));
        }
    }
    UNROLL for (int g = 0; g < NT / 4; g++) {
        v128_t tr[4];
        UNROLL for (int r = 0; r < 4; r++) tr[r] = ldv(&accr[g][r]);
        transpose4(tr, acc + 4 * g);
    }
}
#define GEMMK gemmK_relaxed
#else
/* Plain K-quant GEMM, four rows x NT tokens (Q4_K: GEMM_TOKENS_Q4_K, Q6_K:
 * GEMM_TOKENS_K; or four), against prepared activations (ay0[t]: the
 * tokens' Q8_K blocks of this chunk, for d and bsums): the four rows'
 * integer sums and Q4_K's mins (parked, see add_parked) are reduced at the
 * end of each super-block. (Row by row, as the relaxed build does, was 2-3%
 * slower for Q4_K and 2-3% faster for Q6_K.) Each output gets the GEMV's
 * integer sums and float steps. */
INLINE void gemmK(const int kind, const int NT, const uint8_t *w, size_t rs, const prep_tile_t *p,
                  const block_q8_K *const *ay0, int nsb, v128_t *acc, v128_t *spec) {
    for (int b = 0; b < nsb; b++, w += wsb_bytes(kind)) {
        const v128_t *a[GEMM_TOKENS_Q4_K];
        v128_t bs2[GEMM_TOKENS_Q4_K];
        const block_q8_K *ay[GEMM_TOKENS_Q4_K];
        UNROLL for (int t = 0; t < NT; t++) {
            a[t] = p->a[t] + 32 * b;
            bs2[t] = p->bs2[t][b];
            ay[t] = ay0[t] + b;
        }
        v128_t d, dmin = bs2[0];
        if (kind != K_Q6_K) {
            d = load_h4s(kind, w, rs, offsetof(block_q4_K, d), bs2[0], spec);
            dmin = load_h4s(kind, w, rs, offsetof(block_q4_K, dmin), bs2[0], spec);
        } else {
            d = load_h4s(kind, w, rs, offsetof(block_q6_K, d), bs2[0], spec);
        }
        v128_t sum[4][GEMM_TOKENS_Q4_K], mins[4][GEMM_TOKENS_Q4_K];
        UNROLL for (int r = 0; r < 4; r++) {
            if (kind == K_Q4_K)
                q4_K_row(NT, (const block_q4_K *)(w + (size_t)r * rs), a, bs2, sum[r], mins[r]);
            else if (kind == K_Q5_K)
                q5_K_row(NT, (const block_q5_K *)(w + (size_t)r * rs), a, bs2, sum[r], mins[r]);
            else
                q6_K_row(NT, (const block_q6_K *)(w + (size_t)r * rs), a, ay, sum[r]);
        }
        UNROLL for (int t = 0; t < NT; t++) {
            v128_t is = reduce4_i32(ldv(&sum[0][t]), ldv(&sum[1][t]), ldv(&sum[2][t]), ldv(&sum[3][t]));
            v128_t im = kind != K_Q6_K ? reduce4_i32(ldv(&mins[0][t]), ldv(&mins[1][t]), ldv(&mins[2][t]), ldv(&mins[3][t])) : is;
            acc[t] = fstepK(kind, acc[t], is, im, d, dmin, wasm_f32x4_splat(ay[t]->d));
        }
    }
}
#define GEMMK gemmK
#endif

/* ---- F32 and F16 weights ---- */

/* Lane j of acc[t][r] sums elements 4i+j (F32) or, for F16, elements
 * 8i+2j then 8i+2j+1; the n % 4 (n % 8) tail is summed in order and added
 * last. */
INLINE void tile_f32(const int NT, const uint8_t *w0, size_t rs, const uint8_t *act, size_t astride, int n,
                     v128_t *out, v128_t (*acc)[4], const float **a) {
    const float *w[4] = {(const float *)w0, (const float *)(w0 + rs), (const float *)(w0 + 2 * rs),
                         (const float *)(w0 + 3 * rs)};
    UNROLL for (int t = 0; t < NT; t++) {
        a[t] = (const float *)(act + (size_t)t * astride);
        UNROLL for (int r = 0; r < 4; r++) acc[t][r] = wasm_f32x4_const_splat(0);
    }
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v128_t wv[4] = {wasm_v128_load(w[0] + i), wasm_v128_load(w[1] + i), wasm_v128_load(w[2] + i),
                        wasm_v128_load(w[3] + i)};
        UNROLL for (int t = 0; t < NT; t++) {
            v128_t av = wasm_v128_load(a[t] + i);
            UNROLL for (int r = 0; r < 4; r++) acc[t][r] = wasm_f32x4_add(acc[t][r], wasm_f32x4_mul(wv[r], av));
        }
    }
    UNROLL for (int t = 0; t < NT; t++) {
        float tail[4] = {0, 0, 0, 0};
        UNROLL for (int r = 0; r < 4; r++)
            for (int k = i; k < n; k++) tail[r] += w[r][k] * a[t][k];
        out[t] = wasm_f32x4_add(reduce4_f32(acc[t][0], acc[t][1], acc[t][2], acc[t][3]), wasm_v128_load(tail));
    }
}

/* exact = 0 converts the weights without the inf/nan fix-up and collects
 * in *spec whether a weight had exponent 31 (any 16-bit lane of x << 1 at
 * or above 0xF800); the caller then reruns the group with exact = 1, which
 * produces the same bits for all finite weights. */
INLINE void tile_f16(const int NT, const int exact, const uint8_t *w0, size_t rs, const uint8_t *act, size_t astride,
                     int n, v128_t *out, v128_t (*acc)[4], const gf_half **a, v128_t *ae, v128_t *ao, v128_t *spec) {
    const gf_half *w[4] = {(const gf_half *)w0, (const gf_half *)(w0 + rs), (const gf_half *)(w0 + 2 * rs),
                           (const gf_half *)(w0 + 3 * rs)};
    UNROLL for (int t = 0; t < NT; t++) {
        a[t] = (const gf_half *)(act + (size_t)t * astride);
        UNROLL for (int r = 0; r < 4; r++) acc[t][r] = wasm_f32x4_const_splat(0);
    }
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        UNROLL for (int t = 0; t < NT; t++) {
            v128_t x = wasm_v128_load(a[t] + i);
            ae[t] = gf_h2f_hi_mul(wasm_i32x4_shl(x, 16));
            ao[t] = gf_h2f_hi_mul(x);
        }
        UNROLL for (int r = 0; r < 4; r++) {
            v128_t x = wasm_v128_load(w[r] + i), we, wo;
            if (exact) {
                we = gf_h2f_hi_mul(wasm_i32x4_shl(x, 16));
                wo = gf_h2f_hi_mul(x);
            } else {
                *spec = wasm_u16x8_max(*spec, wasm_i16x8_shl(x, 1));
                we = gf_h2f_hi_mul_finite(wasm_i32x4_shl(x, 16));
                wo = gf_h2f_hi_mul_finite(x);
            }
            UNROLL for (int t = 0; t < NT; t++)
                acc[t][r] = wasm_f32x4_add(wasm_f32x4_add(acc[t][r], wasm_f32x4_mul(we, ae[t])), wasm_f32x4_mul(wo, ao[t]));
        }
    }
    UNROLL for (int t = 0; t < NT; t++) {
        float tail[4] = {0, 0, 0, 0};
        UNROLL for (int r = 0; r < 4; r++)
            for (int k = i; k < n; k++) tail[r] += h2f(w[r][k]) * h2f(a[t][k]);
        out[t] = wasm_f32x4_add(reduce4_f32(acc[t][0], acc[t][1], acc[t][2], acc[t][3]), wasm_v128_load(tail));
    }
}

/* ---- drivers ---- */

/* Row groups: four rows at a uniform stride, lane k being row base + k * ls.
 * Whole groups first, then a tail covered by the last four rows below r1
 * (the overlap is recomputed, to the same bits, and not stored) or, with
 * fewer than four rows in the matrix prefix, single rows repeated (stride
 * 0). Lanes [lo, hi) are this call's. */
typedef struct {
    int base, ls, lo, hi;
    size_t rs;
} group;

static int next_group(int *r, int r1, size_t row_bytes, group *g) {
    if (*r >= r1) return 0;
    if (*r + 4 <= r1) {
        *g = (group){*r, 1, 0, 4, row_bytes};
        *r += 4;
    } else if (r1 >= 4) {
        *g = (group){r1 - 4, 1, 4 - (r1 - *r), 4, row_bytes};
        *r = r1;
    } else {
        *g = (group){*r, 1, 0, 1, 0};
        *r += 1;
    }
    return 1;
}

/* GEMV order: rows are read in sets of ng groups. In a block of 4 ng q rows,
 * lane k of group j takes row b + i + (4 j + k) q (i < q), so that each of
 * the 4 ng lanes walks its part of the block row after row: long sequential
 * streams, which the hardware prefetcher follows (adjacent rows make
 * 72-byte-to-1-KB stream fragments that it keeps losing: 1.6-2x slower when
 * streaming from DRAM; on the AMD EPYC below, adjacent rows read at 4 GB/s
 * against 10-12 spread). How many streams depends on the CPU. On the Intel
 * Xeon (Sapphire Rapids) of 2026-11-22, sixteen streams kept more cache
 * misses in flight than four (Chromium, streamed GEMV, 16 against 4: Q4_0
 * 1.2-1.3x, Q8_0 1.1-1.2x; the K-quants 8 against 4: Q4_K 1.1x, Q6_K
 * 1.06-1.1x). On an AMD EPYC (Zen 4, 2026-12-07) one thread's read
 * bandwidth falls with the streams (kernel-bench bw: 1 stream 29.8 GB/s,
 * 2: 13.9, 4: 15.8, 8: 11.3, 16: 9.5), and four streams, one group at a
 * time, beat the sixteen (eight for the K-quants) in every GEMV (Node, CPU
 * time, sample-by-sample A/B, 110M shapes, streamed): relaxed16 Q8_0
 * 1.40-1.53x, Q4_K 1.08-1.26x, Q6_K 1.08-1.36x; plain Q8_0 1.02-1.16x,
 * Q4_K 1.08-1.12x, Q6_K 1.33-2.05x (its two unrolled groups also spilled),
 * Q4_0 0.99-1.06x; in the model, relaxed16 110M Q8_0 decode 14.3-16.7 ->
 * 11.2-11.3 CPU ms per token. The project is measured on the AMD machine
 * now, so one group it is; wasm cannot tell the CPUs apart, and a load-time
 * probe to choose would have to stream more than the last-level cache.
 * (One group also leaves ~50 KB less wasm: the unrolled copies go.) q is
 * capped at SPREAD / ng rows; the rows left over go to next_group, one
 * group at a time. */
#define SPREAD 256
#define GEMV_GROUPS 1   /* 32-element block types */
#define GEMV_GROUPS_K 1 /* Q4_K, Q6_K */
typedef struct {
    int r1, b, q, i, tail, r, ng;
} spread_it;

static int spread_q(int rows, int ng) {
    int q = rows / (4 * ng);
    return q < SPREAD / ng ? q : SPREAD / ng;
}

static spread_it spread_begin(int r0, int r1, int ng) { return (spread_it){r1, r0, spread_q(r1 - r0, ng), 0, 0, r0, ng}; }

/* The next set: returns its number of groups (0 at the end); g is the
 * first, group j starts 4 j g->ls rows further. */
static int spread_next(spread_it *it, size_t row_bytes, group *g) {
    if (!it->tail) {
        if (it->i == it->q) {
            it->b += 4 * it->ng * it->q;
            it->q = spread_q(it->r1 - it->b, it->ng);
            it->i = 0;
        }
        if (it->q > 0) {
            *g = (group){it->b + it->i++, it->q, 0, 4, (size_t)it->q * row_bytes};
            return it->ng;
        }
        it->tail = 1;
        it->r = it->b;
    }
    return next_group(&it->r, it->r1, row_bytes, g);
}

static void store_lanes(float *y, v128_t v, const group *g) {
    if (g->lo == 0 && g->hi == 4) {
        if (g->ls == 1) {
            wasm_v128_store(y, v);
        } else {
            wasm_v128_store32_lane(y, v, 0);
            wasm_v128_store32_lane(y + g->ls, v, 1);
            wasm_v128_store32_lane(y + 2 * g->ls, v, 2);
            wasm_v128_store32_lane(y + 3 * g->ls, v, 3);
        }
        return;
    }
    float tmp[4];
    wasm_v128_store(tmp, v);
    for (int i = g->lo; i < g->hi; i++) y[i * g->ls] = tmp[i];
}

static v128_t load_lanes(const float *y, const group *g) {
    if (g->lo == 0 && g->hi == 4 && g->ls == 1) return wasm_v128_load(y);
    float tmp[4] = {0, 0, 0, 0};
    for (int i = g->lo; i < g->hi; i++) tmp[i] = y[i * g->ls];
    return wasm_v128_load(tmp);
}

/* One token, quantized weights: chunks of KC elements, prepared once. */
INLINE int gemv_quant(const int kind, const gf_matrix *w, int r0, int r1, const uint8_t *act, float *y) {
    const int K = is_K(kind), blk = K ? QK_K : 32;
    const gf_act_format af = K ? GF_ACT_Q8_K : kind == K_Q4_1 ? GF_ACT_Q8_1 : GF_ACT_Q8_0;
    prep_t p;
    v128_t spec = wasm_i32x4_const_splat(0);
    const int nblk = w->n / blk, nchunks = (w->n + KC - 1) / KC, cb = (nblk + nchunks - 1) / nchunks;
    const int sets = K ? GEMV_GROUPS_K : GEMV_GROUPS; /* row groups per pass */
    for (int k0 = 0; k0 < w->n; k0 += cb * blk) {
        const int nb = (w->n - k0) / blk < cb ? (w->n - k0) / blk : cb;
        const uint8_t *ac = act + gf_act_row_bytes(af, k0);
        const int rowwise = K && nb <= GEMV_ROWWISE_SB; /* one sequential stream (gemvK_rows) */
        if (K) prepK(kind, 1, (const block_q8_K *)ac, 0, nb, p.a, p.bs2, rowwise ? 32 : KAV);
        else prep32(kind, 0, ac, nb, p.a, p.d, p.s, p.corr);
        const uint8_t *wd = (const uint8_t *)w->data + gf_row_bytes(w->type, (uint64_t)k0);
        if (rowwise) { /* one sequential stream (gemvK_rows) */
            group g;
            int r = r0;
            const uint8_t *end = (const uint8_t *)w->data + (size_t)r1 * w->row_bytes; /* touch-ahead bound */
            while (next_group(&r, r1, w->row_bytes, &g)) {
                v128_t acc = k0 ? load_lanes(y + g.base, &g) : wasm_f32x4_const_splat(0);
                acc = gemvK_rows(kind, wd + (size_t)g.base * w->row_bytes, g.rs, &p, (const block_q8_K *)ac, nb, acc, &spec, end);
                store_lanes(y + g.base, acc, &g);
            }
            continue;
        }
        group g0;
        spread_it it = spread_begin(r0, r1, sets);
        for (int ng; (ng = spread_next(&it, w->row_bytes, &g0));) {
            group g[GEMV_GROUPS];
            v128_t acc[GEMV_GROUPS];
            for (int j = 0; j < ng; j++) {
                g[j] = g0;
                g[j].base += 4 * j * g0.ls;
                acc[j] = k0 ? load_lanes(y + g[j].base, &g[j]) : wasm_f32x4_const_splat(0);
            }
            const uint8_t *wg = wd + (size_t)g0.base * w->row_bytes;
            const size_t gs = 4 * (size_t)g0.ls * w->row_bytes;
            const block_q8_K *ak = (const block_q8_K *)ac;
            if (ng == sets) {
                if (K) gemvKxn(kind, GEMV_GROUPS_K, wg, gs, g0.rs, &p, ak, nb, acc, &spec);
                else gemv32xn(kind, GEMV_GROUPS, wg, gs, g0.rs, &p, nb, acc, &spec);
            } else {
                if (K) gemvKxn(kind, 1, wg, gs, g0.rs, &p, ak, nb, acc, &spec);
                else gemv32xn(kind, 1, wg, gs, g0.rs, &p, nb, acc, &spec);
            }
            for (int j = 0; j < ng; j++) store_lanes(y + g[j].base, acc[j], &g[j]);
        }
    }
    return any_special(spec);
}

/* Tiles of NT tokens, quantized weights. For each panel of rows (kept in
 * L2 while all token tiles pass) and tile: the tile's activations are
 * prepared in chunks of KCG elements, then every row group of the panel.
 * 256 rows (~150 KB of Q4_0 per chunk) rather than 64: a quarter of the
 * preparations, prefill +4-5% (110M Q4_0, Chromium, 1 and 2 threads). */
#define PANEL 256
INLINE int gemm_quant(const int kind, const int NT, const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t astride,
                      int ntiles, float *y, size_t ys) {
    const int K = is_K(kind), blk = K ? QK_K : 32;
    const gf_act_format af = K ? GF_ACT_Q8_K : kind == K_Q4_1 ? GF_ACT_Q8_1 : GF_ACT_Q8_0;
    const int nblk = w->n / blk, nchunks = (w->n + KCG - 1) / KCG, cb = (nblk + nchunks - 1) / nchunks;
    prep_tile_t p;
    v128_t spec = wasm_i32x4_const_splat(0);
    for (int rp = r0; rp < r1; rp += PANEL) {
        const int rpe = r1 - rp < PANEL ? r1 : rp + PANEL;
        for (int tt = 0; tt < ntiles; tt++) {
            const uint8_t *at = act + (size_t)(NT * tt) * astride;
            float *yt = y + (size_t)(NT * tt) * ys;
            for (int k0 = 0; k0 < w->n; k0 += cb * blk) {
                const int nb = (w->n - k0) / blk < cb ? (w->n - k0) / blk : cb;
                const size_t aoff = gf_act_row_bytes(af, k0);
                const block_q8_K *ay[GEMM_TOKENS_Q4_K];
                for (int t = 0; t < NT; t++) {
                    const uint8_t *ac = at + (size_t)t * astride + aoff;
                    if (K) {
                        ay[t] = (const block_q8_K *)ac;
                        prepK(kind, 0, ay[t], PAIRED(kind), nb, p.a[t], p.bs2[t], 32);
                    } else {
                        prep32(kind, PAIRED(kind), ac, nb, p.a[t], p.d[t], p.s[t], p.corr[t]);
                    }
                }
                const uint8_t *wd = (const uint8_t *)w->data + gf_row_bytes(w->type, (uint64_t)k0);
                group g;
                int r = rp;
                while (next_group(&r, rpe, w->row_bytes, &g)) {
                    v128_t acc[GEMM_TOKENS];
                    for (int t = 0; t < NT; t++)
                        acc[t] = k0 ? load_lanes(yt + (size_t)t * ys + g.base, &g) : wasm_f32x4_const_splat(0);
                    const uint8_t *wg = wd + (size_t)g.base * w->row_bytes;
                    if (K) GEMMK(kind, NT, wg, g.rs, &p, ay, nb, acc, &spec);
                    else gemm32(kind, NT, wg, g.rs, &p, nb, acc, &spec);
                    for (int t = 0; t < NT; t++) store_lanes(yt + (size_t)t * ys + g.base, acc[t], &g);
                }
            }
        }
    }
    return any_special(spec);
}

/* The GEMM takes a multiple of four tokens: tiles of the type's width,
 * then of four. */
#define DEFINE_QUANT(name, kind)                                                                                 \
    static int name##_gemv(const gf_matrix *w, int r0, int r1, const uint8_t *act, float *y) {                   \
        return gemv_quant(kind, w, r0, r1, act, y);                                                              \
    }                                                                                                            \
    static int name##_gemm(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, int n, float *y,       \
                           size_t ys) {                                                                           \
        const int wide = kind == K_Q8_0 ? GEMM_TOKENS_Q8_0 : kind == K_Q4_K ? GEMM_TOKENS_Q4_K : kind == K_Q5_K ? GEMM_TOKENS_Q5_K : kind == K_Q6_K ? GEMM_TOKENS_Q6_K : GEMM_TOKENS; \
        const int t = n - n % wide;                                                                              \
        int special = t ? gemm_quant(kind, wide, w, r0, r1, act, as, t / wide, y, ys) : 0;                        \
        if (t < n)                                                                                               \
            special |= gemm_quant(kind, 4, w, r0, r1, act + (size_t)t * as, as, (n - t) / 4, y + (size_t)t * ys, ys); \
        return special;                                                                                          \
    }
DEFINE_QUANT(q4_0, K_Q4_0)
DEFINE_QUANT(q4_1, K_Q4_1)
DEFINE_QUANT(q8_0, K_Q8_0)
DEFINE_QUANT(q5_0, K_Q5_0)
DEFINE_QUANT(iq4_nl, K_IQ4_NL)
/* not in the DOT16 build: its pmaddubsw saturates unsigned-byte pairs */
#if RELAXED && !DOT16
DEFINE_QUANT(q8_0u, K_Q8_0U)

/* Whether this engine's relaxed int8 dot product is exact for unsigned
 * bytes up to 255 in its 7-bit operand (the spec leaves values above 127
 * implementation-defined): V8 on x86 with AVX-VNNI (vpdpbusd) is; its
 * emulation elsewhere on x86 (pmaddubsw) saturates pairs at 32767, and ARM's
 * dot product reads the byte as signed. Checked once, at start-up (before
 * any worker runs a kernel), on operands the compiler cannot fold: 4 * 127 *
 * 255 and 4 * -128 * 255. web/core.js runs the same probe to choose a build. */
static int dot_u8_exact;
__attribute__((constructor)) static void detect_dot_u8(void) {
    volatile int8_t hi = 127, lo = -128, u = (int8_t)0xFF;
    const v128_t z = wasm_i32x4_const_splat(0), b = wasm_i8x16_splat(u);
    dot_u8_exact = wasm_i32x4_extract_lane(wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wasm_i8x16_splat(hi), b, z), 0) == 129540 &&
                   wasm_i32x4_extract_lane(wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wasm_i8x16_splat(lo), b, z), 0) == -130560;
}
#endif
DEFINE_QUANT(q4_K, K_Q4_K)
DEFINE_QUANT(q5_K, K_Q5_K)
DEFINE_QUANT(q6_K, K_Q6_K)

/* F32/F16: NT tokens at once (1 or 4); no scales, no chunks. Buffers are
 * declared at their exact sizes so that they become registers. */
#define DEFINE_FLOAT(NT)                                                                                          \
    static void f32_x##NT(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) { \
        group g;                                                                                                  \
        int r = r0;                                                                                               \
        spread_it it = spread_begin(r0, r1, 1);                                                                   \
        while (NT == 1 ? spread_next(&it, w->row_bytes, &g) : next_group(&r, r1, w->row_bytes, &g)) {             \
            v128_t out[NT], sums[NT][4];                                                                          \
            const float *a[NT];                                                                                   \
            tile_f32(NT, (const uint8_t *)w->data + (size_t)g.base * w->row_bytes, g.rs, act, as, w->n, out, sums, a); \
            for (int t = 0; t < NT; t++) store_lanes(y + (size_t)t * ys + g.base, out[t], &g);                    \
        }                                                                                                         \
    }                                                                                                             \
    static void f16_x##NT(const gf_matrix *w, int r0, int r1, const uint8_t *act, size_t as, float *y, size_t ys) { \
        group g;                                                                                                  \
        int r = r0;                                                                                               \
        spread_it it = spread_begin(r0, r1, 1);                                                                   \
        while (NT == 1 ? spread_next(&it, w->row_bytes, &g) : next_group(&r, r1, w->row_bytes, &g)) {             \
            v128_t out[NT], sums[NT][4], ae[NT], ao[NT], spec = wasm_i32x4_const_splat(0);                        \
            const gf_half *a[NT];                                                                                 \
            const uint8_t *wg = (const uint8_t *)w->data + (size_t)g.base * w->row_bytes;                         \
            tile_f16(NT, 0, wg, g.rs, act, as, w->n, out, sums, a, ae, ao, &spec);                                \
            if (wasm_v128_any_true(wasm_u16x8_ge(spec, wasm_i16x8_const_splat((int16_t)0xF800))))                \
                tile_f16(NT, 1, wg, g.rs, act, as, w->n, out, sums, a, ae, ao, &spec);                            \
            for (int t = 0; t < NT; t++) store_lanes(y + (size_t)t * ys + g.base, out[t], &g);                    \
        }                                                                                                         \
    }
DEFINE_FLOAT(1)
DEFINE_FLOAT(4)

/* The matmul kernels of kernels.c's table, one per type. */
static void run_float(int f16, const gf_matrix *w, int r0, int r1, const uint8_t *a, size_t act_stride, int n_tok, float *y,
                      size_t y_stride) {
    if (r0 >= r1 || n_tok <= 0) return;
    int t = 0;
    for (; t + 4 <= n_tok; t += 4)
        (f16 ? f16_x4 : f32_x4)(w, r0, r1, a + (size_t)t * act_stride, act_stride, y + (size_t)t * y_stride, y_stride);
    for (; t < n_tok; t++) (f16 ? f16_x1 : f32_x1)(w, r0, r1, a + (size_t)t * act_stride, act_stride, y + (size_t)t * y_stride, y_stride);
}

void gf_matmul_f32_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    run_float(0, w, r0, r1, act, act_stride, n_tok, y, y_stride);
}

void gf_matmul_f16_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    run_float(1, w, r0, r1, act, act_stride, n_tok, y, y_stride);
}

typedef int (*gemv_fn)(const gf_matrix *, int, int, const uint8_t *, float *);
typedef int (*gemm_fn)(const gf_matrix *, int, int, const uint8_t *, size_t, int, float *, size_t);

/* GEMM over whole groups of four tokens, GEMV for the rest. */
static void run_quant(gemv_fn gemv, gemm_fn gemm, const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok,
                      float *y, size_t y_stride) {
    const uint8_t *a = act;
    if (r0 >= r1 || n_tok <= 0) return;
    int special = 0, t = 4 * (n_tok / 4);
    if (t) special |= gemm(w, r0, r1, a, act_stride, t, y, y_stride);
    for (; t < n_tok; t++) special |= gemv(w, r0, r1, a + (size_t)t * act_stride, y + (size_t)t * y_stride);
    /* a scale of exponent 31 (inf/nan): the reference defines the result */
    if (special) gf_matmul_ref(w, r0, r1, act, act_stride, n_tok, y, y_stride);
}

#define DEFINE_MATMUL(name)                                                                                           \
    void gf_matmul_##name##_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, \
                                    float *y, size_t y_stride) {                                                       \
        run_quant(name##_gemv, name##_gemm, w, r0, r1, act, act_stride, n_tok, y, y_stride);                           \
    }
DEFINE_MATMUL(q4_0)
DEFINE_MATMUL(q4_1)
DEFINE_MATMUL(q5_0)
DEFINE_MATMUL(iq4_nl)
DEFINE_MATMUL(q4_K)
DEFINE_MATMUL(q5_K)
DEFINE_MATMUL(q6_K)

void gf_matmul_q8_0_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                            size_t y_stride) {
#if RELAXED && !DOT16
    if (dot_u8_exact) {
        run_quant(q8_0u_gemv, q8_0u_gemm, w, r0, r1, act, act_stride, n_tok, y, y_stride);
        return;
    }
#endif
    run_quant(q8_0_gemv, q8_0_gemm, w, r0, r1, act, act_stride, n_tok, y, y_stride);
}


/* ---- f32 vector ops ---- */

/* Attention calls these per key and head with n = head_dim (64 typically):
 * unrolled to 16 elements, in the same order of additions as the 8-element
 * loop (s0 takes elements 8k..8k+3, s1 8k+4..8k+7), so the same bits. */
float gf_dot_f32_simd128(const float *a, const float *b, int n) {
    v128_t s0 = wasm_f32x4_const_splat(0), s1 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12)));
    }
    for (; i + 8 <= n; i += 8) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    if (i + 4 <= n) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        i += 4;
    }
    s0 = wasm_f32x4_add(s0, s1);
    s0 = wasm_f32x4_add(s0, wasm_i32x4_shuffle(s0, s0, 2, 3, 0, 1));
    float s = wasm_f32x4_extract_lane(s0, 0) + wasm_f32x4_extract_lane(s0, 1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void gf_axpy_f32_simd128(float *y, float a, const float *x, int n) {
    v128_t va = wasm_f32x4_splat(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        UNROLL for (int k = 0; k < 16; k += 4)
            wasm_v128_store(y + i + k, wasm_f32x4_add(wasm_v128_load(y + i + k), wasm_f32x4_mul(va, wasm_v128_load(x + i + k))));
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

void gf_scale_f32_simd128(float *y, float a, int n) {
    v128_t va = wasm_f32x4_splat(a);
    int i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_mul(wasm_v128_load(y + i), va));
    for (; i < n; i++) y[i] *= a;
}

void gf_swiglu_f32_simd128(float *gate, const float *up, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v128_t g = wasm_v128_load(gate + i);
        v128_t e = gf_exp_poly4(wasm_f32x4_neg(g));
        wasm_v128_store(gate + i, wasm_f32x4_mul(wasm_f32x4_div(g, wasm_f32x4_add(wasm_f32x4_splat(1.0f), e)), wasm_v128_load(up + i)));
    }
    gf_swiglu_f32_ref(gate + i, up + i, n - i); /* the same operations, one lane */
}
