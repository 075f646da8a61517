/* Dispatch of the attention kernels: the SIMD128 versions where compiled
 * in, else the scalar references. Kept apart from both, so that the scalar
 * file never calls the SIMD one (the SIMD file may call the references). */
#include "kernels/attention_kernels.h"

#if defined(__wasm_simd128__)
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    gf_attn_scores_simd128(q, keys, kv, n, hd, scale, out);
}
float gf_attn_exp(float *x, int n, float max) { return gf_attn_exp_simd128(x, n, max); }
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    gf_attn_accumulate_simd128(acc, p, values, kv, n, hd);
}
void gf_attn_widen(float *dst, const gf_half *src, int n) { gf_attn_widen_simd128(dst, src, n); }
size_t gf_attn_q8_0_prepared_bytes(int n, int hd) { return gf_attn_q8_0_prepared_bytes_simd128(n, hd); }
void gf_attn_prepare_q8_0(void *prepared, const block_q8_0 *rows, int n, int hd) { gf_attn_prepare_q8_0_simd128(prepared, rows, n, hd); }
void gf_attn_accumulate_prepared(float *acc, const float *p, const block_q8_0 *rows, const void *prepared, int n, int hd) {
    gf_attn_accumulate_prepared_simd128(acc, p, rows, prepared, n, hd);
}
#else
void gf_attn_scores(const float *q, const void *keys, gf_kv_type kv, int n, int hd, float scale, float *out) {
    gf_attn_scores_ref(q, keys, kv, n, hd, scale, out);
}
float gf_attn_exp(float *x, int n, float max) { return gf_attn_exp_ref(x, n, max); }
void gf_attn_accumulate(float *acc, const float *p, const void *values, gf_kv_type kv, int n, int hd) {
    gf_attn_accumulate_ref(acc, p, values, kv, n, hd);
}
void gf_attn_widen(float *dst, const gf_half *src, int n) { gf_attn_widen_ref(dst, src, n); }
size_t gf_attn_q8_0_prepared_bytes(int n, int hd) {
    (void)n, (void)hd;
    return 0;
}
void gf_attn_prepare_q8_0(void *prepared, const block_q8_0 *rows, int n, int hd) { (void)prepared, (void)rows, (void)n, (void)hd; }
void gf_attn_accumulate_prepared(float *acc, const float *p, const block_q8_0 *rows, const void *prepared, int n, int hd) {
    (void)prepared;
    gf_attn_accumulate_ref(acc, p, rows, GF_KV_Q8_0, n, hd);
}
#endif
