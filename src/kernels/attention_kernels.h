/* The kernels of attention over the KV cache (src/model/attention.c): scores of a
 * query against a tile of keys, the softmax exponentials, and the weighted
 * sum of value rows. Keys and values are f32, or f16 (half the cache
 * memory; widened exactly as they stream in, or a tile at a time by
 * gf_attn_widen when many queries share it); values may also be Q8_0
 * blocks (Q8_0 keys are scored by gf_matmul, attention.c), summed in
 * integers: per block of 32 dimensions, a tile's weights p[j] * d_j become
 * 15-bit integers (relative error <= 2^-16 of the tile's largest weight,
 * far below the 8-bit values' own), so the sum over the tile's keys is an
 * exact int32 dot product, scaled back to f32 once. Scalar references beside
 * SIMD128 versions that follow the same operation order, so the two give
 * the same bits; tests/c/test_attention.c holds them equal. */
#ifndef GF_ATTENTION_KERNELS_H
#define GF_ATTENTION_KERNELS_H

#include "kernels/kv_type.h"
#include "quant/quant.h"

/* Keys per tile: the most one call handles for Q8_0 values (int32 sums). */
#define GF_ATTN_MAX_TILE 64

/* out[j] = scale * q . k_j for n consecutive key rows of hd elements, f32 or f16. */
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
/* x[j] = cap * tanh(x[j] / cap), soft-capped scores (Gemma 2); one scalar
 * function for both builds, so the bits agree. */
void gf_attn_softcap(float *x, int n, float cap);
/* x[j] = e^(x[j] - max) for j < n (0 below e^-87); returns their sum. */
float gf_attn_exp(float *x, int n, float max);
/* acc[0..hd) += sum_j p[j] * v_j over n consecutive value rows; p are
 * softmax weights (>= 0), and n <= GF_ATTN_MAX_TILE for Q8_0 rows. */
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);
/* The integer weights of Q8_0 value rows' block b (of nb per row) for a
 * tile of n <= GF_ATTN_MAX_TILE keys: wq[j] = round(p[j] * d_j / s) in
 * [0, 32767]; returns s (0: every weight is 0; NaN: a value's scale or a
 * weight was not finite). The reference; the SIMD kernel computes the same
 * values four keys at a time. */
float gf_attn_q8_0_weights(const float *p, const block_q8_0 *rows, int n, int nb, int b, int16_t *wq);
/* e^x for x <= 0, the same function gf_attn_exp applies (for the online-softmax rescale). */
float gf_attn_exp1(float x);
/* Q8_0 value rows prepared once for the many queries that share them: gf_attn_accumulate's
 * inner form (each pair of keys' quants interleaved and widened to i16), so that each query's
 * sums are only the dot products. gf_attn_accumulate_prepared gives gf_attn_accumulate's bits
 * for the first n rows of a prepared tile of n or more.
 * The scalar build keeps no prepared form (0 bytes) and sums from the rows. */
size_t gf_attn_q8_0_prepared_bytes(int n, int hd);
void gf_attn_prepare_q8_0(void *prepared, const block_q8_0 *rows, int n, int hd);
void gf_attn_accumulate_prepared(float *acc, const float *p, const block_q8_0 *rows, const void *prepared, int n, int hd);
/* dst[i] = src[i] as f32 (exact): a tile of f16 keys or values widened once for many queries. */
void gf_attn_widen(float *dst, const gf_half *src, int n);
/* Rounds a row to f16 for storing in the cache (round to nearest even). */
void gf_f32_to_f16_row(gf_half *dst, const float *src, int n);

void gf_attn_scores_ref(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
float gf_attn_exp_ref(float *x, int n, float max);
void gf_attn_accumulate_ref(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);
void gf_attn_widen_ref(float *dst, const gf_half *src, int n);

#if defined(__wasm_simd128__)
void gf_attn_scores_simd128(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
float gf_attn_exp_simd128(float *x, int n, float max);
void gf_attn_accumulate_simd128(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);
void gf_attn_widen_simd128(float *dst, const gf_half *src, int n);
size_t gf_attn_q8_0_prepared_bytes_simd128(int n, int hd);
void gf_attn_prepare_q8_0_simd128(void *prepared, const block_q8_0 *rows, int n, int hd);
void gf_attn_accumulate_prepared_simd128(float *acc, const float *p, const block_q8_0 *rows, const void *prepared, int n, int hd);
#endif

#endif
