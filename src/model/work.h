/* What the forward pass did, counted where it happens: each matmul call
 * adds the bytes of the weight rows it multiplies and its multiply-adds,
 * attention the KV rows it visits and stores, the embedding the rows it
 * looks up. The calling thread counts (matmul_n, attention_block, store_kv,
 * embed in forward.c) before it hands the work to the pool, so the counters
 * need no atomics and cost a few adds per matrix, not per element. Counts
 * come from the shapes actually multiplied (rows x columns, the tensor's
 * own bytes per row), never from the model's nominal dimensions, so a model
 * whose layers differ (pruned FFNs or heads) is counted as it runs.
 *
 * Not counted: norms, RoPE, activation functions, softmax exponentials,
 * activation quantization, biases and 1-D weights (norm scales): O(dim) per
 * token beside the O(dim^2) of the matrix products. */
#ifndef GF_WORK_H
#define GF_WORK_H

#include <stdint.h>

typedef struct {
    uint64_t tokens;       /* token positions run through the model */
    uint64_t steps;        /* forward batches (each reads every weight matrix once) */
    uint64_t weight_bytes; /* bytes of weight rows multiplied (once per matmul call) and embedding rows looked up */
    uint64_t kv_read;      /* bytes of cached keys and values attention visits */
    uint64_t kv_written;   /* bytes of keys and values stored into the cache */
    uint64_t int_macs;     /* multiply-adds on 8-bit integers: quantized weights with Q8 activations, a Q8_0 cache */
    uint64_t float_macs;   /* multiply-adds in floating point: F32/F16/BF16 weights, an f32/f16 cache */
} gf_work;

#define GF_WORK_FIELDS 7

/* The counters as doubles in gf_work's field order (exact below 2^53). */
static inline void gf_work_to_doubles(const gf_work *w, double out[GF_WORK_FIELDS]) {
    const uint64_t v[GF_WORK_FIELDS] = {w->tokens, w->steps, w->weight_bytes, w->kv_read, w->kv_written, w->int_macs, w->float_macs};
    for (int i = 0; i < GF_WORK_FIELDS; i++) out[i] = (double)v[i];
}

/* acc += now - before: the work done between two readings of a context's counters. */
static inline void gf_work_add_delta(gf_work *acc, const gf_work *now, const gf_work *before) {
    acc->tokens += now->tokens - before->tokens;
    acc->steps += now->steps - before->steps;
    acc->weight_bytes += now->weight_bytes - before->weight_bytes;
    acc->kv_read += now->kv_read - before->kv_read;
    acc->kv_written += now->kv_written - before->kv_written;
    acc->int_macs += now->int_macs - before->int_macs;
    acc->float_macs += now->float_macs - before->float_macs;
}

#endif
