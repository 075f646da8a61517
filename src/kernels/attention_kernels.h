/* The kernels of attention over the KV cache (src/attention.c): scores of a
 * query against a tile of keys, the softmax exponentials, and the weighted
 * sum of value rows. Keys and values are f32, or f16 (half the cache
 * memory; widened exactly as they stream in); values may also be Q8_0
 * blocks (Q8_0 keys are scored by gf_matmul, attention.c). Scalar references beside
 * SIMD128 versions that follow the same operation order, so the two give
 * the same bits; tests/c/test_attention.c holds them equal. */
#ifndef GF_ATTENTION_KERNELS_H
#define GF_ATTENTION_KERNELS_H

#include "../attention.h"
#include "../quant.h"

/* out[j] = scale * q . k_j for n consecutive key rows of hd elements, f32 or f16. */
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
/* x[j] = e^(x[j] - max) for j < n (0 below e^-87); returns their sum. */
float gf_attn_exp(float *x, int n, float max);
/* acc[0..hd) += sum_j p[j] * v_j over n consecutive value rows. */
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);
/* e^x for x <= 0, the same function gf_attn_exp applies (for the online-softmax rescale). */
float gf_attn_exp1(float x);
/* Rounds a row to f16 for storing in the cache (round to nearest even). */
void gf_f32_to_f16_row(gf_half *dst, const float *src, int n);

void gf_attn_scores_ref(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
float gf_attn_exp_ref(float *x, int n, float max);
void gf_attn_accumulate_ref(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);

#if defined(__wasm_simd128__)
void gf_attn_scores_simd128(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out);
float gf_attn_exp_simd128(float *x, int n, float max);
void gf_attn_accumulate_simd128(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd);
#endif

#endif
