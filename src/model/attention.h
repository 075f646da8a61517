/* Attention over the KV cache (causal, or bidirectional for encoders) with online softmax: keys are visited
 * in tiles, each tile's scores rescale a running accumulator, so no score
 * buffer of context length is ever materialized. Query heads that share a KV
 * head (GQA) read the same cache rows; nothing is copied per head. */
#ifndef GF_ATTENTION_H
#define GF_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

/* gf_kv_type: what the KV cache holds (kernels/kv_type.h). */
#include "kernels/kv_type.h"
#include "model/work.h"

const char *gf_kv_type_name(gf_kv_type t); /* "f32", "f16", "q8_0" */
/* Bytes of one cached row of hd elements; 0 if the type cannot hold it (Q8_0 needs hd % 32 == 0). */
size_t gf_kv_row_bytes(gf_kv_type t, int32_t hd);

typedef struct {
    const float *q;        /* [n_tok][n_head][head_dim], RoPE applied */
    const void *k_cache;   /* this layer: [n_head_kv][n_ctx] rows of head_dim, kv_type */
    const void *v_cache;   /* same layout */
    float *out;            /* [n_tok][n_head][head_dim] */
    int32_t n_tok, pos0;   /* token t sits at position pos0 + t and sees keys 0..pos0+t */
    int32_t n_head, n_head_kv, head_dim, n_ctx;
    float scale;           /* usually 1/sqrt(head_dim) */
    int causal;            /* 0: every token sees the whole batch (encoders) */
    gf_kv_type kv_type;
    int32_t window;        /* causal: a token at position p sees keys max(0, p - window + 1)..p; 0: all earlier keys */
    float softcap;         /* scores become softcap * tanh(score / softcap) (Gemma 2); 0: none */
} gf_attention_args;

/* The work comes in units (the queries that share a KV head, over a block
 * of tokens); gf_attention_range computes units [u0, u1), and callers split
 * [0, gf_attention_units(a)) across threads. Results do not depend on the split. */
int64_t gf_attention_units(const gf_attention_args *a);
void gf_attention_range(const gf_attention_args *a, int64_t u0, int64_t u1);
/* Adds to w the KV bytes and multiply-adds the whole call ([0, units)) does;
 * called once by the dispatching thread, not by the workers. */
void gf_attention_work(const gf_attention_args *a, gf_work *w);

#endif
