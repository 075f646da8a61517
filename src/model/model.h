/* Models: hyperparameters and weights read from GGUF, planned into one
 * arena before the weights arrive, and the forward pass over a KV cache.
 *
 * Architectures are data (arch.h): what differs between llama-family
 * models is a table entry, not another forward pass. */
#ifndef GF_MODEL_H
#define GF_MODEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "model/arch.h"
#include "model/attention.h"
#include "model/work.h"
#include "format/gguf.h"
#include "kernels/kernels.h"
#include "text/tokenizer.h"

/* RoPE scaling ("<arch>.rope.scaling.type"; llama.cpp's default when absent is linear, by rope.scaling.factor). */
enum { GF_ROPE_SCALING_NONE, GF_ROPE_SCALING_LINEAR, GF_ROPE_SCALING_YARN, GF_ROPE_SCALING_LONGROPE };

/* Pooling of an encoder's token states into one vector ("<arch>.pooling_type"). */
enum { GF_POOL_NONE = 0, GF_POOL_MEAN = 1, GF_POOL_CLS = 2, GF_POOL_LAST = 3 };

typedef struct {
    /* n_head, n_head_kv and ffn_dim are the largest over the layers (scratch sizes); a file may give them per
     * layer (arrays of block_count values, as llama.cpp reads them): gf_layer holds each layer's */
    int32_t n_vocab, dim, n_layer, n_head, n_head_kv, head_dim, ffn_dim;
    int64_t n_kv_heads_total; /* KV heads summed over the layers (the cache's size) */
    int32_t n_ctx_train, rope_dim;
    int32_t n_ctx_orig;     /* rope.scaling.original_context_length (default context_length): longer contexts use
                               LongRoPE's long factors; YaRN's ramp is placed by it */
    float rope_base, norm_eps;
    int rope_scaling;       /* GF_ROPE_SCALING_*: rope.scaling.type */
    float rope_freq_scale;  /* 1 / rope.scaling.factor: positions are multiplied by it (linear, YaRN's interpolated part) */
    float rope_attn_factor; /* rope.scaling.attn_factor (LongRoPE's and OLMo 3's magnitude correction) */
    /* what the scaled layers' RoPE gets as llama.cpp computes it (llama-context's cparams, ggml's rope): the share of
     * YaRN's extrapolated frequencies (1 for YaRN, 0 otherwise), the ramp's ends in rotations over n_ctx_orig (32, 1),
     * and the magnitude passed with them (yarn_attn: YaRN's 1 + 0.1 ln(factor) divided by the same factor, which the
     * kernel multiplies back, times attn_factor; attn_factor without YaRN) */
    float yarn_ext_factor, yarn_beta_fast, yarn_beta_slow, yarn_attn;
    int rope_factors;       /* the file's frequency factors: 0 none, 1 rope_freqs, 2 LongRoPE's long and short */
    float attn_scale;       /* scores = attn_scale * q . k: 1 / sqrt(head_dim), attention.scale (granite), or llama.cpp's exceptions (27B gemmas) */
    float embd_scale;       /* the token embedding's multiplier: embedding_scale (granite), sqrt(dim) (gemma), else 1 */
    float residual_scale, logit_scale; /* granite's multipliers (1 elsewhere); logits are divided by logit_scale */
    int causal;  /* attention sees only earlier positions */
    int pooling; /* GF_POOL_* (encoders) */
    int32_t n_swa;        /* attention.sliding_window of the windowed layers (gf_layer.n_swa says which); 0: none */
    float rope_base_swa;  /* RoPE base of the windowed layers */
    int rope_swa_plain;   /* the windowed layers' RoPE is unscaled while the others' is scaled (OLMo 3: gf_arch.swa_rope_plain) */
    float attn_softcap, final_softcap; /* 0: none (the layers' copy: gf_layer.attn_softcap) */
} gf_hparams;


/* A norm's scale and (LayerNorm) bias; b is NULL when absent. */
typedef struct {
    const float *w, *b;
} gf_norm;

typedef struct {
    gf_norm attn_norm, ffn_norm;         /* pre-norm blocks */
    gf_norm attn_out_norm, ffn_out_norm; /* post-norm blocks (BERT) */
    gf_norm attn_post_norm, ffn_post_norm; /* sandwich norms on each block's output (gemma) */
    gf_norm q_norm, k_norm;              /* RMSNorm of queries and keys: per head, rows of head_dim (qwen3, gemma3), or
                                            of the whole Q / K row (olmo2) */
    /* per-layer values, resolved from the architecture's row and the file when the model is planned */
    unsigned char rope;                  /* RoPE applies to this layer (not a NoPE layer) */
    unsigned char rope_scaled;           /* the file's RoPE scaling applies (not OLMo 3's windowed layers: gf_arch.swa_rope_plain) */
    unsigned char fused_qkv;             /* wqkv in place of wq, wk, wv */
    int32_t n_swa;                       /* attention window (keys per query, itself included); 0: all earlier keys */
    float rope_base;                     /* this layer's RoPE base (gemma3's windowed layers: rope.freq_base_swa); 0 without RoPE */
    float attn_softcap;                  /* scores become cap * tanh(s / cap) (gemma2); 0: none */
    int32_t n_head, n_head_kv, ffn_dim;  /* this layer's (per-layer metadata arrays; else the file's one value) */
    int64_t kv_head0;                    /* KV heads of the layers before this one (its place in the cache) */
    gf_matrix wq, wk, wv, wqkv, wo, w_gate, w_up, w_down;
    const float *bq, *bk, *bv, *bqkv, *bo, *b_up, *b_down; /* optional biases */
} gf_layer;

typedef struct gf_model {
    const gf_arch *arch;
    gf_hparams hp;
    gf_tokenizer *tokenizer;
    int mode; /* GF_LOAD_* */

    gf_matrix tok_embd, output; /* output aliases tok_embd when tied */
    int tied_output;
    gf_matrix pos_embd, tok_types; /* learned positions; token-type (segment) rows */
    gf_norm embd_norm;             /* after the embedding sum (BERT) */
    gf_norm output_norm;
    const float *rope_freqs;    /* optional per-pair frequency divisors */
    const float *rope_long, *rope_short; /* LongRoPE's divisors beyond / within n_ctx_orig (phi3) */
    gf_layer *layers;
    int32_t *layer_sizes; /* n_layer x {heads, KV heads, FFN}, read with the hyperparameters, copied into layers */
    unsigned char *swa_layers; /* n_layer: which layers attend through the window (NULL: none), read with the hyperparameters */

    /* every weight, in parts of at most GF_ARENA_PART bytes: wasm32's malloc
     * (dlmalloc) grows its heap by less than 2 GiB at a time, so one block
     * of the model's size fails for models above 2 GiB */
    void **arena;
    uint32_t n_arena;
    uint64_t arena_bytes;
    uint64_t weight_bytes;      /* bytes of tensor data used */
    uint64_t weight_elements;   /* elements of those tensors (bits per weight = bytes * 8 / elements) */
    uint32_t type_count[GF_TYPE_COUNT];
    char arch_name[64]; /* general.architecture, also for architectures we only tokenize */
    char name[128];     /* general.name */
    char *chat_template; /* tokenizer.chat_template, or NULL */
} gf_model;

/* Where each GGUF tensor's bytes go while streaming: NULL = skip. */
typedef struct {
    void **dest;    /* indexed like the GGUF tensor table */
    uint32_t *type; /* NULL, or the type each tensor is stored in: when it differs from the
                       file's, the loader converts rows on the way (quantize while loading) */
} gf_model_plan;

enum { GF_LOAD_WEIGHTS = 0, GF_LOAD_VOCAB = 1, GF_LOAD_INSPECT = 2 };

typedef struct {
    int mode;            /* GF_LOAD_WEIGHTS; GF_LOAD_VOCAB: tokenizer and hyperparameters only;
                            GF_LOAD_INSPECT: also validate and count the tensors, but load no weights */
    int32_t n_ctx;       /* 0: the model's training context, capped at GF_DEFAULT_CTX */
    int32_t n_batch;     /* tokens per forward batch */
    uint64_t max_memory; /* refuse models needing more (weights + KV + scratch) */
    int quantize;        /* 0, or a GF_FTYPE_* (quantize_rules.h): F32/F16 matrices are quantized
                            while they load, to the types llama.cpp's rules give that file type */
    gf_kv_type kv_type;  /* what the KV cache holds (attention.h) */
} gf_model_options;

#define GF_DEFAULT_CTX 2048
#define GF_ARENA_PART (1ull << 30)
#define GF_DEFAULT_BATCH 64

/* Reads hyperparameters and the tokenizer, validates every tensor the
 * architecture needs (names, shapes, types), checks the memory budget and
 * allocates the arena. Errors say which tensor or key is wrong, before any
 * weight byte is downloaded. Resolves opt->n_ctx and opt->kv_type. */
int gf_model_plan_from_gguf(const gguf_reader *r, gf_model_options *opt, gf_model **out, gf_model_plan *plan);
void gf_model_free(gf_model *m);

/* Bytes a context needs (KV cache + scratch). */
uint64_t gf_context_bytes(const gf_hparams *hp, int32_t n_ctx, int32_t n_batch, gf_kv_type kv_type);
/* Whether the model's heads fit a KV cache type (an error naming both if not). */
int gf_kv_type_check(const gf_hparams *hp, gf_kv_type kv_type);
/* GF_KV_AUTO's choice: Q8_0 for decoders whose head dimension is a multiple
 * of 32 (a quarter of the memory and traffic of f32 for a KL of ~2e-5 nats
 * per token, docs/quantization.md), F32 for encoders (one pass, no cache to
 * grow) and for other head dimensions. Other types are kept. */
gf_kv_type gf_kv_type_resolve(const gf_hparams *hp, gf_kv_type kv_type);

/* What cos and sin of the scaled layers' RoPE are multiplied by, as ggml's rope kernel makes it from the magnitude
 * llama.cpp passes (hp->yarn_attn): times 1 + 0.1 ln(1 / freq_scale) when YaRN extrapolates. */
static inline float gf_rope_magnitude(const gf_hparams *hp) {
    return hp->yarn_ext_factor != 0.0f ? hp->yarn_attn * (1.0f + 0.1f * logf(1.0f / hp->rope_freq_scale)) : hp->yarn_attn;
}

/* JSON description for model.info(). Returns bytes written (may exceed cap). */
int gf_model_info_json(const gf_model *m, char *buf, size_t cap);

/* ---- inference state ---- */
typedef struct gf_context gf_context;

int gf_context_new(const gf_model *m, int32_t n_ctx, int32_t n_batch, gf_kv_type kv_type, gf_context **out);
void gf_context_free(gf_context *c);
int32_t gf_context_n_ctx(const gf_context *c);
int32_t gf_context_n_past(const gf_context *c);
/* Forgets positions from n_past on (0: start over). */
int gf_context_rewind(gf_context *c, int32_t n_past);
/* What every forward pass of the context so far read and multiplied
 * (model/work.h); callers take differences around the calls they measure. */
const gf_work *gf_context_work(const gf_context *c);
/* Milliseconds spent so far in the output projection (final norm, the
 * vocabulary GEMV, logit scale and softcap) and in the logits' finiteness
 * check: with a large vocabulary, a large share of a decode step. */
double gf_context_output_ms(const gf_context *c);

enum { GF_LOGITS_NONE = 0, GF_LOGITS_LAST = 1, GF_LOGITS_ALL = 2 };
/* Runs ids through the model at positions n_past.. and appends them to the
 * cache. GF_LOGITS_ALL writes n rows of n_vocab to out; GF_LOGITS_LAST one
 * row (out may be NULL: then gf_context_logits holds it). */
int gf_eval(gf_context *c, const int32_t *ids, int32_t n, int logits_mode, float *out);
const float *gf_context_logits(const gf_context *c);

/* Runs every kernel of a prompt batch (up to 64 tokens) and of a decode step
 * through one layer per new mix of weight types, then the batch's per-token
 * steps a few more times, rounds times, so that the engine has optimized
 * them before the first real call (src/model/forward.c says why); the context is
 * left empty. Decoders only (encoders: no-op). */
void gf_warmup(gf_context *c, int rounds);

/* Encoders: runs ids (the whole input, bidirectionally) from position 0 and
 * writes the final hidden state of every token to out (n rows of dim). */
int gf_encode(gf_context *c, const int32_t *ids, int32_t n, float *out);

/* Calls fn with the f32 input of every matmul (rows of n), before it is
 * quantized: calibration statistics (importance weights) come from here.
 * NULL removes it. */
typedef void (*gf_matmul_observer)(void *ctx, const gf_matrix *w, const float *x, int32_t n, int32_t rows);
void gf_context_set_observer(gf_context *c, gf_matmul_observer fn, void *ctx);

/* A layer's matrices in gf_tensor_role order (GF_T_ATTN_Q .. GF_T_FFN_DOWN). */
static inline void gf_layer_matrices(const gf_layer *l, const gf_matrix *out[GF_T_N_MATRICES]) {
    out[GF_T_ATTN_Q] = &l->wq, out[GF_T_ATTN_K] = &l->wk, out[GF_T_ATTN_V] = &l->wv, out[GF_T_ATTN_QKV] = &l->wqkv;
    out[GF_T_ATTN_OUT] = &l->wo, out[GF_T_FFN_GATE] = &l->w_gate, out[GF_T_FFN_UP] = &l->w_up, out[GF_T_FFN_DOWN] = &l->w_down;
}

/* The GGUF name of one of the model's matrices ("blk.3.ffn_up.weight",
 * "output.weight"); NULL if w is not one of them. */
const char *gf_model_matrix_name(const gf_model *m, const gf_matrix *w, char *buf, size_t cap);

#endif
