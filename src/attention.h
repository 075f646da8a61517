/* Attention over the KV cache (causal, or bidirectional for encoders) with online softmax: keys are visited
 * in tiles, each tile's scores rescale a running accumulator, so no score
 * buffer of context length is ever materialized. Query heads that share a KV
 * head (GQA) read the same cache rows; nothing is copied per head. */
#ifndef GF_ATTENTION_H
#define GF_ATTENTION_H

#include <stdint.h>

typedef struct {
    const float *q;        /* [n_tok][n_head][head_dim], RoPE applied */
    const void *k_cache;   /* this layer: [n_head_kv][n_ctx][head_dim], f32 or f16 */
    const void *v_cache;   /* same layout */
    float *out;            /* [n_tok][n_head][head_dim] */
    int32_t n_tok, pos0;   /* token t sits at position pos0 + t and sees keys 0..pos0+t */
    int32_t n_head, n_head_kv, head_dim, n_ctx;
    float scale;           /* usually 1/sqrt(head_dim) */
    int causal;            /* 0: every token sees the whole batch (encoders) */
    int kv_f16;            /* the cache holds f16 */
} gf_attention_args;

/* Computes the (token, head) pairs [i0, i1) of n_tok * n_head; callers
 * split that range across threads. */
void gf_attention_range(const gf_attention_args *a, int64_t i0, int64_t i1);

#endif
