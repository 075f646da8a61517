/* The forward pass: one function per idea, read top to bottom in
 * forward_batch(). Tokens are processed in batches so that weight matrices
 * are streamed once per batch (prefill) and once per token (decode). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/attention.h"
#include "kernels/attention_kernels.h"
#include "kernels/gelu.h"
#include "kernels/kernels.h"
#include "base/error.h"
#include "model/model.h"
#include "model/work.h"
#include "base/clock.h"
#include "base/parallel.h"

/* Activation formats a model's matrices may consume, one quantized copy each. */
#define N_ACT_FORMATS GF_ACT_COUNT
/* Below this many multiply-adds a task costs less than handing it to
 * another thread (~10 us to wake a parked worker). */
#define MIN_TASK_WORK (1 << 18)
/* The per-token steps' cost per row element in the same unit (the time of a
 * quantized multiply-add in the GEMM): quantizing, normalizing or rotating
 * an element takes about 60 (one-thread prefill profile, 110M Q4_0,
 * Chromium), SwiGLU's exponential about 140. With the former estimates
 * (4-8) a 64-token batch's norms, RoPE and activation quantization ran on
 * one thread while the other waited. */
#define COST_ELEMENT 64
#define COST_ACTIVATION 128
/* Attention per key and head dimension (score and value products, with the
 * softmax and the cache's Q8_0 rows around them): ~8-20 GEMM multiply-adds
 * (one-thread decode profile, 110M, 128-255 positions: ~0.8 ms for 3.5 M).
 * Counted as 2, a decode step's attention (~13% of the step) stayed on one
 * thread until ~170 positions. */
#define COST_ATTENTION 16

/* How many tasks to split `work` multiply-adds into. */
static int tasks_for(int64_t work) {
    int64_t n = gf_parallel_threads(), most = work / MIN_TASK_WORK;
    if (most < 1) most = 1;
    return (int)(n < most ? n : most);
}

/* Per-token work of a batch (norms, RoPE, activations), split into tasks
 * of whole token rows: fn(ctx, t0, t1) handles rows [t0, t1). Results do
 * not depend on the split. `per_row` estimates a row's cost in multiply-adds. */
typedef void (*rows_fn)(void *ctx, int32_t t0, int32_t t1);
typedef struct {
    rows_fn fn;
    void *ctx;
    int32_t n_rows;
} rows_job;

static void rows_task(void *ctx, int task, int n_tasks) {
    const rows_job *j = ctx;
    int32_t t0 = (int32_t)((int64_t)j->n_rows * task / n_tasks), t1 = (int32_t)((int64_t)j->n_rows * (task + 1) / n_tasks);
    if (t0 < t1) j->fn(j->ctx, t0, t1);
}

static void for_rows(int32_t n_rows, int64_t per_row, rows_fn fn, void *ctx) {
    rows_job j = {fn, ctx, n_rows};
    int n = tasks_for((int64_t)n_rows * per_row);
    gf_parallel_for(n < n_rows ? n : n_rows, rows_task, &j);
}

struct gf_context {
    const gf_model *m;
    int32_t n_ctx, n_batch, n_past;
    void *k_cache, *v_cache; /* [layer][kv_head][n_ctx] rows of head_dim, kv_type (layer il starts at its kv_head0) */
    gf_kv_type kv_type;
    size_t kv_row;           /* bytes of one cached row */

    /* per-batch scratch, rows of n_batch tokens */
    float *x, *xb, *q, *k, *v, *qkv, *att, *tmp, *hb, *hb2;
    float *rope; /* [n_batch][rope_dim / 2][cos, sin] */
    const float *rope_factors; /* rope_freqs, or LongRoPE's long or short factors for this context length; NULL: none */
    float *rope_swa; /* the same for the windowed layers, when their RoPE differs: their own base (gemma3:
                        gf_layer.rope_base), or unscaled (OLMo 3: gf_layer.rope_scaled); else NULL */
    float *logits;

    /* the current matmul input, quantized once per activation format */
    const float *act_src;
    int32_t act_n, act_rows;
    void *act[N_ACT_FORMATS];
    int act_valid[N_ACT_FORMATS];
    size_t act_bytes[N_ACT_FORMATS];

    gf_matmul_observer observer;
    void *observer_ctx;
    int skip_matmuls; /* warm-up passes of the per-token steps alone */
    gf_work work;     /* what every forward pass so far read and multiplied (model/work.h) */
    double output_ms; /* time in the output projection and the logits' check (gf_context_output_ms) */
};

const gf_work *gf_context_work(const gf_context *c) { return &c->work; }
double gf_context_output_ms(const gf_context *c) { return c->output_ms; }

void gf_context_set_observer(gf_context *c, gf_matmul_observer fn, void *ctx) {
    c->observer = fn;
    c->observer_ctx = ctx;
}

static int64_t kv_dim(const gf_hparams *hp) { return (int64_t)hp->n_head_kv * hp->head_dim; }
static int64_t q_dim(const gf_hparams *hp) { return (int64_t)hp->n_head * hp->head_dim; }
static int64_t widest(const gf_hparams *hp) {
    int64_t w = hp->dim > hp->ffn_dim ? hp->dim : hp->ffn_dim;
    return w > q_dim(hp) ? w : q_dim(hp);
}

/* every layer's KV heads (per-layer counts: gf_layer.n_head_kv), n_ctx rows each, keys and values */
static uint64_t kv_cache_bytes(const gf_hparams *hp, int32_t n_ctx, gf_kv_type kv_type) {
    return 2ull * (uint64_t)hp->n_kv_heads_total * n_ctx * gf_kv_row_bytes(kv_type, hp->head_dim);
}

int gf_kv_type_check(const gf_hparams *hp, gf_kv_type kv_type) {
    if ((int)kv_type < 0 || (int)kv_type >= GF_KV_TYPE_COUNT) return gf_fail("unknown KV cache type %d", (int)kv_type);
    if (!gf_kv_row_bytes(kv_type, hp->head_dim))
        return gf_fail("KV cache type %s needs a head dimension that is a multiple of 32; this model's is %d (f32 and f16 fit any)", gf_kv_type_name(kv_type),
                       hp->head_dim);
    return GF_OK;
}

gf_kv_type gf_kv_type_resolve(const gf_hparams *hp, gf_kv_type kv_type) {
    if (kv_type != GF_KV_AUTO) return kv_type;
    return hp->causal && gf_kv_row_bytes(GF_KV_Q8_0, hp->head_dim) ? GF_KV_Q8_0 : GF_KV_F32;
}

/* Whether the windowed layers need a RoPE table of their own: another base, or no scaling where the others have it. */
static int swa_rope_table(const gf_hparams *hp) {
    return hp->n_swa && (hp->rope_base_swa != hp->rope_base || hp->rope_swa_plain);
}

uint64_t gf_context_bytes(const gf_hparams *hp, int32_t n_ctx, int32_t n_batch, gf_kv_type kv_type) {
    uint64_t kv = kv_cache_bytes(hp, n_ctx, kv_type);
    int64_t rope = swa_rope_table(hp) ? 2 * hp->rope_dim : hp->rope_dim;
    uint64_t per_tok = (uint64_t)(2 * hp->dim + 3 * q_dim(hp) + 4 * kv_dim(hp) + hp->dim + 3 * hp->ffn_dim + rope) * 4;
    uint64_t act = (uint64_t)widest(hp) * 2 * 2; /* at most two formats, at most 2 bytes per element */
    return kv + (uint64_t)n_batch * (per_tok + act) + (uint64_t)hp->n_vocab * 4;
}

void gf_context_free(gf_context *c) {
    if (!c) return;
    free(c->k_cache);
    free(c->v_cache);
    free(c->x);
    free(c->xb);
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->qkv);
    free(c->att);
    free(c->tmp);
    free(c->hb);
    free(c->hb2);
    free(c->rope);
    free(c->rope_swa);
    free(c->logits);
    for (int f = 0; f < N_ACT_FORMATS; f++) free(c->act[f]);
    free(c);
}

static void *alloc_floats(int64_t n, int *failed) {
    void *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) *failed = 1;
    return p;
}

int gf_context_new(const gf_model *m, int32_t n_ctx, int32_t n_batch, gf_kv_type kv_type, gf_context **out) {
    *out = NULL;
    if (m->mode != GF_LOAD_WEIGHTS) return gf_fail("this model was loaded without its weights; it cannot run");
    const gf_hparams *hp = &m->hp;
    if (n_ctx <= 0 || n_ctx > (1 << 24)) return gf_fail("context length %d is out of range (1..16777216)", n_ctx);
    if (n_batch <= 0) n_batch = 1;
    /* bidirectional attention sees the whole input at once: one batch */
    if (!m->hp.causal || n_batch > n_ctx) n_batch = n_ctx;
    if (gf_kv_type_check(hp, kv_type) < 0) return GF_ERR;
    uint64_t kv_bytes = kv_cache_bytes(hp, n_ctx, kv_type);
    if (kv_bytes > (3ull << 30)) return gf_fail("a context of %d tokens needs %.0f MB of KV cache, more than wasm memory allows", n_ctx, kv_bytes / 1048576.0);
    gf_context *c = calloc(1, sizeof *c);
    if (!c) return gf_fail_nomem("the context", sizeof *c);
    c->m = m;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    int failed = 0;
    c->kv_type = kv_type;
    c->kv_row = gf_kv_row_bytes(kv_type, hp->head_dim);
    size_t cache_bytes = (size_t)(kv_bytes / 2);
    c->k_cache = malloc(cache_bytes ? cache_bytes : 1);
    c->v_cache = malloc(cache_bytes ? cache_bytes : 1);
    if (!c->k_cache || !c->v_cache) failed = 1;
    c->x = alloc_floats((int64_t)n_batch * hp->dim, &failed);
    c->xb = alloc_floats((int64_t)n_batch * widest(hp), &failed);
    c->q = alloc_floats((int64_t)n_batch * q_dim(hp), &failed);
    c->k = alloc_floats((int64_t)n_batch * kv_dim(hp), &failed);
    c->v = alloc_floats((int64_t)n_batch * kv_dim(hp), &failed);
    int fused_qkv = 0;
    for (int32_t il = 0; il < hp->n_layer; il++) fused_qkv |= m->layers[il].fused_qkv;
    if (fused_qkv) c->qkv = alloc_floats((int64_t)n_batch * (q_dim(hp) + 2 * kv_dim(hp)), &failed);
    c->att = alloc_floats((int64_t)n_batch * q_dim(hp), &failed);
    c->tmp = alloc_floats((int64_t)n_batch * hp->dim, &failed);
    c->hb = alloc_floats((int64_t)n_batch * hp->ffn_dim * (m->arch->fused_gate_up ? 2 : 1), &failed);
    c->hb2 = alloc_floats((int64_t)n_batch * hp->ffn_dim, &failed);
    c->rope = alloc_floats((int64_t)n_batch * hp->rope_dim, &failed);
    if (swa_rope_table(hp)) c->rope_swa = alloc_floats((int64_t)n_batch * hp->rope_dim, &failed);
    c->logits = alloc_floats(hp->n_vocab, &failed);
    /* llama.cpp's choice: LongRoPE's long factors when the context exceeds the original one */
    c->rope_factors = m->rope_freqs ? m->rope_freqs : n_ctx > hp->n_ctx_orig && m->rope_long ? m->rope_long : m->rope_short;
    for (int t = 0; t < GF_TYPE_COUNT && !failed; t++) {
        if (!m->type_count[t]) continue;
        gf_act_format f = gf_act_format_for((uint32_t)t);
        if (f == GF_ACT_F32 || c->act[f]) continue;
        c->act_bytes[f] = gf_act_row_bytes(f, widest(hp));
        c->act[f] = malloc(c->act_bytes[f] * (size_t)n_batch);
        if (!c->act[f]) failed = 1;
    }
    if (failed) {
        uint64_t need = gf_context_bytes(hp, n_ctx, n_batch, kv_type);
        gf_context_free(c);
        return gf_fail_nomem("the KV cache and scratch buffers", need);
    }
    *out = c;
    return GF_OK;
}

int32_t gf_context_n_ctx(const gf_context *c) { return c->n_ctx; }
int32_t gf_context_n_past(const gf_context *c) { return c->n_past; }
const float *gf_context_logits(const gf_context *c) { return c->logits; }

int gf_context_rewind(gf_context *c, int32_t n_past) {
    if (n_past < 0 || n_past > c->n_past) return gf_fail("cannot rewind the context to %d (it holds %d tokens)", n_past, c->n_past);
    c->n_past = n_past;
    return GF_OK;
}

/* ---- building blocks ---- */

static void rmsnorm(float *out, const float *x, const gf_norm *w, int32_t n, float eps) {
    double sum = 0; /* llama.cpp accumulates the squares in double */
    for (int32_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    float mean = (float)(sum / n), scale = 1.0f / sqrtf(mean + eps);
    for (int32_t i = 0; i < n; i++) out[i] = x[i] * scale * w->w[i];
}

static void layernorm(float *out, const float *x, const gf_norm *w, int32_t n, float eps) {
    double sum = 0; /* as llama.cpp: mean and variance accumulated in double */
    for (int32_t i = 0; i < n; i++) sum += x[i];
    float mean = (float)(sum / n);
    double var = 0;
    for (int32_t i = 0; i < n; i++) {
        float d = x[i] - mean;
        out[i] = d;
        var += (double)(d * d);
    }
    float scale = 1.0f / sqrtf((float)(var / n) + eps);
    for (int32_t i = 0; i < n; i++) out[i] = out[i] * scale * w->w[i] + (w->b ? w->b[i] : 0.0f);
}

typedef struct {
    const gf_model *m;
    float *out;
    const float *x;
    const gf_norm *w;
} norm_job;

static void norm_some(void *ctx, int32_t t0, int32_t t1) {
    const norm_job *j = ctx;
    const gf_hparams *hp = &j->m->hp;
    for (int32_t t = t0; t < t1; t++) {
        float *o = j->out + (int64_t)t * hp->dim;
        const float *in = j->x + (int64_t)t * hp->dim;
        if (j->m->arch->norm == GF_NORM_LAYER) layernorm(o, in, j->w, hp->dim, hp->norm_eps);
        else rmsnorm(o, in, j->w, hp->dim, hp->norm_eps);
    }
}

/* out[t] = norm(x[t]) for n_tok rows of dim, with the architecture's norm. */
static void norm_rows(const gf_model *m, float *out, const float *x, const gf_norm *w, int32_t n_tok) {
    norm_job j = {m, out, x, w};
    for_rows(n_tok, (int64_t)m->hp.dim * COST_ELEMENT, norm_some, &j);
}

static void add_bias(float *y, const float *b, int32_t n_tok, int64_t n) {
    if (!b) return;
    for (int32_t t = 0; t < n_tok; t++)
        for (int64_t i = 0; i < n; i++) y[t * n + i] += b[i];
}

static void row_of(const gf_matrix *e, int64_t r, float *out) {
    gf_dequantize_row(e->type, (const char *)e->data + (size_t)r * e->row_bytes, out, e->n);
}

/* The input of the first block: token embedding, plus learned position
 * and token-type rows, then the embedding norm, as the architecture says. */
static void embed(gf_context *c, const int32_t *ids, int32_t n_tok, int32_t pos0) {
    const gf_model *m = c->m;
    int32_t dim = m->hp.dim;
    /* the rows looked up are weight bytes read too (one per token and table) */
    c->work.weight_bytes += (uint64_t)n_tok * (m->tok_embd.row_bytes + (m->arch->learned_pos ? m->pos_embd.row_bytes : 0) +
                                               (m->arch->token_types ? m->tok_types.row_bytes : 0));
    for (int32_t t = 0; t < n_tok; t++) {
        float *x = c->x + (int64_t)t * dim;
        row_of(&m->tok_embd, ids[t], x);
        if (m->arch->learned_pos) {
            row_of(&m->pos_embd, pos0 + t, c->tmp);
            for (int32_t i = 0; i < dim; i++) x[i] += c->tmp[i];
        }
        if (m->arch->token_types) {
            row_of(&m->tok_types, 0, c->tmp); /* one segment */
            for (int32_t i = 0; i < dim; i++) x[i] += c->tmp[i];
        }
    }
    if (m->hp.embd_scale != 1.0f) /* granite's embedding_scale, gemma's sqrt(dim) */
        for (int64_t i = 0; i < (int64_t)n_tok * dim; i++) c->x[i] *= m->hp.embd_scale;
    if (m->arch->embd_norm) {
        norm_rows(m, c->xb, c->x, &m->embd_norm, n_tok);
        memcpy(c->x, c->xb, (size_t)n_tok * dim * sizeof(float));
    }
}

/* YaRN's ramp ends, as pair indices: where a pair turns beta rotations over the original context (ggml's
 * correction dims: the pairs below the first keep their frequencies, those above the second are interpolated). */
static void yarn_ramp_ends(const gf_hparams *hp, float base, float ends[2]) {
    const float pi = 3.14159265358979323846f; /* M_PI is not C11's */
    const float n = (float)hp->rope_dim, two_log_base = 2 * logf(base);
    const float lo = n * logf((float)hp->n_ctx_orig / (hp->yarn_beta_fast * 2 * pi)) / two_log_base;
    const float hi = n * logf((float)hp->n_ctx_orig / (hp->yarn_beta_slow * 2 * pi)) / two_log_base;
    ends[0] = fmaxf(0.0f, floorf(lo));
    ends[1] = fminf(n - 1, ceilf(hi));
}

/* cos/sin per rotated pair, computed as llama.cpp does (theta advanced by
 * repeated multiplication in f32) so positions agree to the last bit;
 * frequency factors divide theta (rope_freqs, LongRoPE). Scaled tables
 * (the file's rope.scaling) multiply theta by freq_scale (linear), or with
 * YaRN mix that interpolated theta with the unscaled one per pair, along a
 * ramp that keeps the fast-turning pairs as they were, and scale cos and
 * sin by gf_rope_magnitude; unscaled ones (OLMo 3's windowed layers) do none
 * of it. */
static void rope_table(gf_context *c, float *table, float base, int scaled, int32_t pos0, int32_t n_tok) {
    const gf_hparams *hp = &c->m->hp;
    const float theta_scale = powf(base, -2.0f / (float)hp->rope_dim);
    const float freq_scale = scaled ? hp->rope_freq_scale : 1.0f, ext = scaled ? hp->yarn_ext_factor : 0.0f;
    const float magnitude = scaled ? gf_rope_magnitude(hp) : 1.0f;
    const float *factors = scaled ? c->rope_factors : NULL;
    float ends[2] = {0, 0};
    if (ext != 0.0f) yarn_ramp_ends(hp, base, ends);
    for (int32_t t = 0; t < n_tok; t++) {
        float theta = (float)(pos0 + t), *cs = table + (int64_t)t * hp->rope_dim;
        for (int32_t i = 0; i < hp->rope_dim / 2; i++) {
            const float extrapolated = theta / (factors ? factors[i] : 1.0f);
            float th = freq_scale * extrapolated;
            if (ext != 0.0f) {
                const float y = ((float)i - ends[0]) / fmaxf(0.001f, ends[1] - ends[0]);
                const float mix = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * ext;
                th = th * (1.0f - mix) + extrapolated * mix;
            }
            cs[2 * i] = cosf(th) * magnitude;
            cs[2 * i + 1] = sinf(th) * magnitude;
            theta *= theta_scale;
        }
    }
}

/* The batch's tables: the layers' and, when theirs differs, the windowed layers'. */
static void rope_tables(gf_context *c, int32_t pos0, int32_t n_tok) {
    const gf_hparams *hp = &c->m->hp;
    rope_table(c, c->rope, hp->rope_base, 1, pos0, n_tok);
    if (c->rope_swa) rope_table(c, c->rope_swa, hp->rope_base_swa, !hp->rope_swa_plain, pos0, n_tok);
}

typedef struct {
    const gf_context *c;
    float *x;
    int32_t n_heads;
    const float *table;
} rope_job;

static void rope_some(void *ctx, int32_t t0, int32_t t1) {
    const rope_job *j = ctx;
    const gf_context *c = j->c;
    const gf_hparams *hp = &c->m->hp;
    float *x = j->x;
    int32_t half = hp->rope_dim / 2, n_heads = j->n_heads;
    for (int32_t t = t0; t < t1; t++) {
        const float *cs = j->table + (int64_t)t * hp->rope_dim;
        for (int32_t h = 0; h < n_heads; h++) {
            float *v = x + ((int64_t)t * n_heads + h) * hp->head_dim;
            for (int32_t i = 0; i < half; i++) {
                /* adjacent pairs (llama) or halves (NEOX) */
                int32_t a = c->m->arch->rope == GF_ROPE_NEOX ? i : 2 * i, b = c->m->arch->rope == GF_ROPE_NEOX ? i + half : 2 * i + 1;
                float x0 = v[a], x1 = v[b], co = cs[2 * i], si = cs[2 * i + 1];
                v[a] = x0 * co - x1 * si;
                v[b] = x0 * si + x1 * co;
            }
        }
    }
}

static void rope_apply(const gf_context *c, const float *table, float *x, int32_t n_tok, int32_t n_heads) {
    rope_job j = {c, x, n_heads, table};
    for_rows(n_tok, (int64_t)n_heads * c->m->hp.rope_dim * COST_ELEMENT, rope_some, &j);
}

typedef struct {
    float *x;
    const gf_norm *w;
    int32_t n_heads, head_dim; /* rows per token and their length */
    float eps;
} head_norm_job;

static void head_norm_some(void *ctx, int32_t t0, int32_t t1) {
    const head_norm_job *j = ctx;
    for (int64_t r = (int64_t)t0 * j->n_heads; r < (int64_t)t1 * j->n_heads; r++)
        rmsnorm(j->x + r * j->head_dim, j->x + r * j->head_dim, j->w, j->head_dim, j->eps);
}

/* RMSNorm in place of the q/k norms: each head's row of head_dim, or (GF_QK_NORM_WHOLE) each token's whole row. */
static void head_norm(const gf_context *c, float *x, const gf_norm *w, int32_t n_tok, int32_t n_heads) {
    const int32_t hd = c->m->hp.head_dim;
    const int whole = c->m->arch->qk_norm == GF_QK_NORM_WHOLE;
    head_norm_job j = {x, w, whole ? 1 : n_heads, whole ? n_heads * hd : hd, c->m->hp.norm_eps};
    for_rows(n_tok, (int64_t)n_heads * hd * COST_ELEMENT, head_norm_some, &j);
}

/* Sets the input of the next matmuls; each activation format is quantized
 * from it at most once. */
static void act_input(gf_context *c, const float *x, int32_t n, int32_t rows) {
    c->act_src = x;
    c->act_n = n;
    c->act_rows = rows;
    memset(c->act_valid, 0, sizeof c->act_valid);
}

/* One matrix of a matmul job: y[t][0..n_out) = w . act[t]. */
typedef struct {
    const gf_matrix *w;
    int32_t n_out;
    float *y;
    const void *act;
    size_t act_stride;
} mm_part;

/* Matrices that read the same input (Q, K and V; gate and up) go in one
 * job: each task takes its share of every one of them, so the threads meet
 * once instead of once per matrix. Decoding, the 768-row products of the
 * 110M shape are ~20 us per thread, not much more than a meeting. */
#define MM_PARTS 3
typedef struct {
    gf_context *c;
    int n;
    mm_part part[MM_PARTS];
} mm_job;

typedef struct {
    gf_context *c;
    gf_act_format f;
} quantize_job;

static void quantize_some(void *ctx, int32_t t0, int32_t t1) {
    quantize_job *j = ctx;
    gf_context *c = j->c;
    for (int32_t t = t0; t < t1; t++)
        gf_quantize_act_row(j->f, c->act_src + (int64_t)t * c->act_n, (char *)c->act[j->f] + (size_t)t * c->act_bytes[j->f], c->act_n);
}

static void matmul_task(void *ctx, int task, int n_tasks) {
    mm_job *j = ctx;
    int32_t rows = j->c->act_rows;
    for (int i = 0; i < j->n; i++) {
        const mm_part *p = &j->part[i];
        /* the weight matrix's rows, split in chunks that keep SIMD row groups whole */
        int32_t per = (p->n_out + n_tasks - 1) / n_tasks;
        per = (per + 15) / 16 * 16;
        int32_t r0 = task * per, r1 = r0 + per < p->n_out ? r0 + per : p->n_out;
        if (r0 < r1) gf_matmul(p->w, r0, r1, p->act, p->act_stride, rows, p->y, (size_t)p->n_out);
    }
}

/* y[i][t][0..n_out[i]) = w[i] . input[t] for the current input, for n <= MM_PARTS matrices. */
static void matmul_n(gf_context *c, int n, const gf_matrix *const *w, const int32_t *n_out, float *const *y) {
    mm_job j = {c, n, {{0}}};
    int64_t work = 0;
    for (int i = 0; i < n; i++) {
        if (c->observer) c->observer(c->observer_ctx, w[i], c->act_src, c->act_n, c->act_rows);
        mm_part *p = &j.part[i];
        *p = (mm_part){w[i], n_out[i], y[i], NULL, 0};
        gf_act_format f = gf_act_format_for(w[i]->type);
        if (f == GF_ACT_F32) {
            p->act = c->act_src;
            p->act_stride = (size_t)c->act_n * sizeof(float);
        } else {
            if (!c->act_valid[f]) {
                quantize_job q = {c, f};
                for_rows(c->act_rows, (int64_t)c->act_n * COST_ELEMENT, quantize_some, &q);
                c->act_valid[f] = 1;
            }
            p->act = c->act[f];
            p->act_stride = c->act_bytes[f];
        }
        work += (int64_t)n_out[i] * w[i]->n * c->act_rows;
    }
    if (c->skip_matmuls) return;
    /* counted here, in the calling thread: each matrix's rows once per call (its own bytes per row), rows x columns
     * multiply-adds per input row, on integers when the activations are quantized to 8 bits */
    for (int i = 0; i < n; i++) {
        uint64_t macs = (uint64_t)n_out[i] * (uint64_t)w[i]->n * (uint64_t)c->act_rows;
        gf_act_format f = gf_act_format_for(w[i]->type);
        c->work.weight_bytes += (uint64_t)n_out[i] * w[i]->row_bytes;
        if (f == GF_ACT_Q8_0 || f == GF_ACT_Q8_1 || f == GF_ACT_Q8_K) c->work.int_macs += macs;
        else c->work.float_macs += macs;
    }
    /* A decode step's big products (a large vocabulary's output matrix) in four tasks per thread: the pool
     * hands tasks out as threads come for them, so when the OS delays one thread the others take its share
     * instead of waiting for it at the end. Rows are split in whole SIMD groups either way: same results.
     * (262k-token Q8_0 output, two threads, 2026-12-07: 7.0 against 7.2 ms per step in three alternating
     * pairs on a quieter hour, i.e. no difference there; it is for the busy machines.) */
    int tasks = tasks_for(work);
    if (c->act_rows == 1 && tasks > 1 && work >= (int64_t)tasks * 64 * MIN_TASK_WORK) tasks *= 4;
    gf_parallel_for(tasks, matmul_task, &j);
}

static void matmul(gf_context *c, const gf_matrix *w, int32_t n_out, float *y) { matmul_n(c, 1, &w, &n_out, &y); }

typedef struct {
    gf_attention_args a;
} attn_job;

static void attention_task(void *ctx, int task, int n_tasks) {
    const gf_attention_args *a = &((attn_job *)ctx)->a;
    int64_t units = gf_attention_units(a);
    gf_attention_range(a, units * task / n_tasks, units * (task + 1) / n_tasks);
}

typedef struct {
    float *x;
    const float *up;
    int32_t n;
} act_job;

static void swiglu_some(void *ctx, int32_t t0, int32_t t1) {
    const act_job *j = ctx;
    gf_swiglu_f32(j->x + (int64_t)t0 * j->n, j->up + (int64_t)t0 * j->n, (t1 - t0) * j->n);
}

static void geglu_some(void *ctx, int32_t t0, int32_t t1) {
    const act_job *j = ctx;
    gf_geglu_f32(j->x + (int64_t)t0 * j->n, j->up + (int64_t)t0 * j->n, (t1 - t0) * j->n);
}

static void gelu_some(void *ctx, int32_t t0, int32_t t1) {
    const act_job *j = ctx;
    gf_gelu_f32(j->x + (int64_t)t0 * j->n, (t1 - t0) * j->n);
}

/* gate = SiLU(gate) * up, or x = GELU(x), for n_tok rows of n */
static void swiglu(float *gate, const float *up, int32_t n_tok, int32_t n) {
    act_job j = {gate, up, n};
    for_rows(n_tok, (int64_t)n * COST_ACTIVATION, swiglu_some, &j);
}

/* gate = GELU(gate) * up (Gemma); GELU as llama.cpp's CPU backend (gelu.h).
 * The table is filled here, before any worker reads it. */
static void geglu(float *gate, const float *up, int32_t n_tok, int32_t n) {
    gf_gelu_prepare();
    act_job j = {gate, up, n};
    for_rows(n_tok, (int64_t)n * COST_ACTIVATION, geglu_some, &j); /* a table lookup: no dearer than SiLU */
}

static void gelu(float *x, int32_t n_tok, int32_t n) {
    gf_gelu_prepare();
    act_job j = {x, NULL, n};
    for_rows(n_tok, (int64_t)n * COST_ACTIVATION, gelu_some, &j);
}

static void add_into(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

/* ---- the forward pass ---- */

static void store_kv_row(gf_kv_type type, void *dst, const float *src, int32_t hd) {
    switch (type) {
    case GF_KV_F16: gf_f32_to_f16_row(dst, src, hd); break;
    case GF_KV_Q8_0: gf_quantize_act_row(GF_ACT_Q8_0, src, dst, hd); break;
    default: memcpy(dst, src, (size_t)hd * sizeof(float));
    }
}

static void store_kv(gf_context *c, int32_t layer, int32_t pos0, int32_t n_tok) {
    const gf_layer *l = &c->m->layers[layer];
    int32_t hd = c->m->hp.head_dim, n_kv = l->n_head_kv;
    c->work.kv_written += 2ull * (uint64_t)n_tok * (uint64_t)n_kv * c->kv_row;
    for (int32_t t = 0; t < n_tok; t++)
        for (int32_t h = 0; h < n_kv; h++) {
            size_t dst = (((size_t)l->kv_head0 + h) * c->n_ctx + pos0 + t) * c->kv_row;
            int64_t src = ((int64_t)t * n_kv + h) * hd;
            store_kv_row(c->kv_type, (char *)c->k_cache + dst, c->k + src, hd);
            store_kv_row(c->kv_type, (char *)c->v_cache + dst, c->v + src, hd);
        }
}

/* Self-attention of the block input `in` (rows of dim); result in tmp. */
static void attention_block(gf_context *c, int32_t il, int32_t pos0, int32_t n_tok, const float *in) {
    const gf_model *m = c->m;
    const gf_hparams *hp = &m->hp;
    const gf_layer *l = &m->layers[il];
    const int32_t n_head = l->n_head, n_head_kv = l->n_head_kv;
    int64_t qd = (int64_t)n_head * hp->head_dim, kd = (int64_t)n_head_kv * hp->head_dim;
    act_input(c, in, hp->dim, n_tok);
    if (l->fused_qkv) {
        int64_t w = qd + 2 * kd;
        matmul(c, &l->wqkv, (int32_t)w, c->qkv);
        add_bias(c->qkv, l->bqkv, n_tok, w);
        for (int32_t t = 0; t < n_tok; t++) {
            const float *row = c->qkv + t * w;
            memcpy(c->q + t * qd, row, (size_t)qd * sizeof(float));
            memcpy(c->k + t * kd, row + qd, (size_t)kd * sizeof(float));
            memcpy(c->v + t * kd, row + qd + kd, (size_t)kd * sizeof(float));
        }
    } else {
        const gf_matrix *w[3] = {&l->wq, &l->wk, &l->wv};
        matmul_n(c, 3, w, (const int32_t[3]){(int32_t)qd, (int32_t)kd, (int32_t)kd}, (float *const[3]){c->q, c->k, c->v});
        add_bias(c->q, l->bq, n_tok, qd);
        add_bias(c->k, l->bk, n_tok, kd);
        add_bias(c->v, l->bv, n_tok, kd);
    }
    if (m->arch->qk_norm) {
        head_norm(c, c->q, &l->q_norm, n_tok, n_head);
        head_norm(c, c->k, &l->k_norm, n_tok, n_head_kv);
    }
    if (l->rope) {
        /* windowed layers have their own table when their RoPE differs (gemma3's base, OLMo 3's unscaled) */
        const float *table = c->rope_swa && l->n_swa ? c->rope_swa : c->rope;
        rope_apply(c, table, c->q, n_tok, n_head);
        rope_apply(c, table, c->k, n_tok, n_head_kv);
    }
    store_kv(c, il, pos0, n_tok);

    size_t layer_off = (size_t)l->kv_head0 * c->n_ctx * c->kv_row;
    attn_job aj = {{c->q, (char *)c->k_cache + layer_off, (char *)c->v_cache + layer_off, c->att, n_tok, pos0, n_head,
                    n_head_kv, hp->head_dim, c->n_ctx, hp->attn_scale, hp->causal, c->kv_type, l->n_swa, l->attn_softcap}};
    int64_t keys = (int64_t)n_tok * (pos0 + n_tok);
    gf_attention_work(&aj.a, &c->work);
    gf_parallel_for(tasks_for(keys * n_head * hp->head_dim * COST_ATTENTION), attention_task, &aj);

    act_input(c, c->att, (int32_t)qd, n_tok);
    matmul(c, &l->wo, hp->dim, c->tmp);
    add_bias(c->tmp, l->bo, n_tok, hp->dim);
}

/* Feed-forward of the block input `in`; result in tmp. */
static void ffn_block(gf_context *c, int32_t il, int32_t n_tok, const float *in) {
    const gf_model *m = c->m;
    const gf_hparams *hp = &m->hp;
    const gf_layer *l = &m->layers[il];
    const int32_t ffn = l->ffn_dim;
    act_input(c, in, hp->dim, n_tok);
    if (m->arch->fused_gate_up) {
        /* one matrix: rows [gate | up] per token; SwiGLU compacts them into hb2 */
        int32_t f = ffn;
        matmul(c, &l->w_up, 2 * f, c->hb);
        for (int32_t t = 0; t < n_tok; t++) memcpy(c->hb2 + (int64_t)t * f, c->hb + (int64_t)t * 2 * f, (size_t)f * sizeof(float));
        for (int32_t t = 0; t < n_tok; t++) memcpy(c->hb + (int64_t)t * f, c->hb + (int64_t)t * 2 * f + f, (size_t)f * sizeof(float));
        swiglu(c->hb2, c->hb, n_tok, f);
        memcpy(c->hb, c->hb2, (size_t)n_tok * f * sizeof(float));
    } else if (m->arch->ffn != GF_FFN_GELU) { /* SwiGLU or GeGLU */
        const gf_matrix *w[2] = {&l->w_gate, &l->w_up};
        matmul_n(c, 2, w, (const int32_t[2]){ffn, ffn}, (float *const[2]){c->hb, c->hb2});
        add_bias(c->hb2, l->b_up, n_tok, ffn);
        if (m->arch->ffn == GF_FFN_GEGLU) geglu(c->hb, c->hb2, n_tok, ffn);
        else swiglu(c->hb, c->hb2, n_tok, ffn);
    } else {
        matmul(c, &l->w_up, ffn, c->hb);
        add_bias(c->hb, l->b_up, n_tok, ffn);
        gelu(c->hb, n_tok, ffn);
    }
    act_input(c, c->hb, ffn, n_tok);
    matmul(c, &l->w_down, hp->dim, c->tmp);
    add_bias(c->tmp, l->b_down, n_tok, hp->dim);
}

/* x = norm(x + tmp): the post-norm residual (BERT). */
static void add_and_norm(gf_context *c, const gf_norm *w, int32_t n_tok) {
    int64_t n = (int64_t)n_tok * c->m->hp.dim;
    add_into(c->x, c->tmp, n);
    norm_rows(c->m, c->xb, c->x, w, n_tok);
    memcpy(c->x, c->xb, (size_t)n * sizeof(float));
}

/* x += tmp, the block's output: normalized first in sandwich-norm blocks (gemma), scaled where the
 * architecture says (granite's residual_scale). */
static void add_block_output(gf_context *c, const gf_norm *post_norm, int32_t n_tok) {
    int64_t n = (int64_t)n_tok * c->m->hp.dim;
    float *out = c->tmp, s = c->m->hp.residual_scale;
    if (c->m->arch->sandwich_norm) {
        norm_rows(c->m, c->xb, c->tmp, post_norm, n_tok);
        out = c->xb;
    }
    if (s != 1.0f)
        for (int64_t i = 0; i < n; i++) out[i] *= s;
    add_into(c->x, out, n);
}

static void forward_layer(gf_context *c, int32_t il, int32_t pos0, int32_t n_tok) {
    const gf_model *m = c->m;
    const gf_layer *l = &m->layers[il];
    if (m->arch->post_norm) {
        attention_block(c, il, pos0, n_tok, c->x);
        add_and_norm(c, &l->attn_out_norm, n_tok);
        ffn_block(c, il, n_tok, c->x);
        add_and_norm(c, &l->ffn_out_norm, n_tok);
    } else if (m->arch->no_pre_norm) { /* olmo2: the blocks read x itself; their outputs are normalized */
        attention_block(c, il, pos0, n_tok, c->x);
        add_block_output(c, &l->attn_post_norm, n_tok);
        ffn_block(c, il, n_tok, c->x);
        add_block_output(c, &l->ffn_post_norm, n_tok);
    } else {
        norm_rows(m, c->xb, c->x, &l->attn_norm, n_tok);
        attention_block(c, il, pos0, n_tok, c->xb);
        add_block_output(c, &l->attn_post_norm, n_tok);
        norm_rows(m, c->xb, c->x, &l->ffn_norm, n_tok);
        ffn_block(c, il, n_tok, c->xb);
        add_block_output(c, &l->ffn_post_norm, n_tok);
    }
}

/* Logits for tokens [first, n_tok) of the batch into out (rows of n_vocab). */
static void output_logits(gf_context *c, int32_t first, int32_t n_tok, float *out) {
    const gf_model *m = c->m;
    const gf_hparams *hp = &m->hp;
    double t0 = gf_now_ms();
    int32_t rows = n_tok - first;
    norm_rows(m, c->xb, c->x + (int64_t)first * hp->dim, &m->output_norm, rows);
    act_input(c, c->xb, hp->dim, rows);
    matmul(c, &m->output, hp->n_vocab, out);
    if (hp->logit_scale != 1.0f) {
        float inv = 1.0f / hp->logit_scale; /* as llama.cpp: a multiplication by the reciprocal */
        for (int64_t i = 0; i < (int64_t)rows * hp->n_vocab; i++) out[i] *= inv;
    }
    if (hp->final_softcap > 0 && !c->skip_matmuls) gf_attn_softcap(out, (int)((int64_t)rows * hp->n_vocab), hp->final_softcap);
    c->output_ms += gf_now_ms() - t0;
}

static void forward_batch(gf_context *c, const int32_t *ids, int32_t n_tok, int logits_mode, float *out) {
    const gf_model *m = c->m;
    int32_t pos0 = c->n_past;
    c->work.tokens += (uint64_t)n_tok;
    c->work.steps++;
    embed(c, ids, n_tok, pos0);
    if (m->arch->rope != GF_ROPE_NONE) rope_tables(c, pos0, n_tok);
    for (int32_t il = 0; il < m->hp.n_layer; il++) forward_layer(c, il, pos0, n_tok);
    c->n_past += n_tok;
    if (logits_mode == GF_LOGITS_ALL) output_logits(c, 0, n_tok, out);
    else if (logits_mode == GF_LOGITS_LAST) output_logits(c, n_tok - 1, n_tok, c->logits);
}

/* The weight types a layer's matrices use, as a bit set. */
static uint64_t layer_types(const gf_layer *l) {
    const gf_matrix *ms[GF_T_N_MATRICES];
    gf_layer_matrices(l, ms);
    uint64_t mask = 0;
    for (size_t i = 0; i < GF_T_N_MATRICES; i++)
        if (ms[i]->data) mask |= 1ull << (ms[i]->type & 63);
    return mask;
}

/* One batch through one layer per new mix of weight types. */
static void warmup_pass(gf_context *c, const int32_t *ids, int32_t pos0, int32_t n_tok) {
    const gf_model *m = c->m;
    embed(c, ids, n_tok, pos0);
    if (m->arch->rope != GF_ROPE_NONE) rope_tables(c, pos0, n_tok);
    uint64_t seen = 0;
    for (int32_t il = 0; il < m->hp.n_layer; il++) {
        uint64_t t = layer_types(&m->layers[il]);
        if (il > 0 && !(t & ~seen)) continue;
        seen |= t;
        forward_layer(c, il, pos0, n_tok);
    }
}

/* The engine runs its kernels first in the browser's baseline code and
 * recompiles a function in the background once it has run a while (V8: ~13
 * MB of its code executed, counted per thread); a pass that is the first to
 * call them runs partly unoptimized (docs/performance.md, "The first prompt after a load").
 * gf_warmup runs every kernel of a prompt batch and of a decode step through
 * one layer per new mix of weight types (one layer for most files), so the
 * cost does not grow with the number of layers, then the batch's per-token
 * steps (norms, RoPE, activation quantization, attention, SwiGLU)
 * WARMUP_STEP_PASSES times more without the matrix products: a matmul runs
 * long enough to be recompiled within one pass, those short steps are not.
 * The context is left empty. */
#define WARMUP_TOKENS 64
#define WARMUP_STEP_PASSES 8
void gf_warmup(gf_context *c, int rounds) {
    const gf_model *m = c->m;
    if (m->arch->encoder || c->n_ctx < 2) return;
    int32_t ids[WARMUP_TOKENS] = {0}, n_tok = c->n_batch < WARMUP_TOKENS ? c->n_batch : WARMUP_TOKENS;
    if (n_tok > c->n_ctx - 1) n_tok = c->n_ctx - 1;
    for (int r = 0; r < rounds; r++) {
        warmup_pass(c, ids, 0, n_tok); /* a prompt batch */
        warmup_pass(c, ids, n_tok, 1); /* a decode step */
        output_logits(c, 0, 1, c->logits);
        c->skip_matmuls = 1; /* the passes above left finite values in every buffer */
        for (int p = 0; p < WARMUP_STEP_PASSES; p++) warmup_pass(c, ids, 0, n_tok);
        c->skip_matmuls = 0;
    }
    c->n_past = 0;
    memset(c->logits, 0, (size_t)m->hp.n_vocab * sizeof(float));
}

static int check_ids(const gf_context *c, const int32_t *ids, int32_t n) {
    const gf_hparams *hp = &c->m->hp;
    if (n <= 0) return gf_fail("eval: no tokens given");
    if ((int64_t)c->n_past + n > c->n_ctx)
        return gf_fail("eval: %d tokens do not fit in the context (%d of %d positions used); start over or load with a larger contextLength",
                       n, c->n_past, c->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab) return gf_fail("eval: token id %d is out of range (vocabulary has %d tokens)", ids[i], hp->n_vocab);
    return GF_OK;
}

int gf_encode(gf_context *c, const int32_t *ids, int32_t n, float *out) {
    const gf_model *m = c->m;
    c->n_past = 0;
    if (check_ids(c, ids, n) < 0) return GF_ERR;
    if (!m->arch->encoder) {
        /* a decoder that declares a pooling (Qwen3-Embedding): the output norm's states, batch by batch */
        for (int32_t i = 0; i < n; i += c->n_batch) {
            int32_t nb = n - i < c->n_batch ? n - i : c->n_batch;
            forward_batch(c, ids + i, nb, GF_LOGITS_NONE, NULL);
            norm_rows(m, out + (int64_t)i * m->hp.dim, c->x, &m->output_norm, nb);
        }
        return GF_OK;
    }
    if (n > c->n_batch) return gf_fail("encode: %d tokens exceed the context of %d", n, c->n_batch);
    forward_batch(c, ids, n, GF_LOGITS_NONE, NULL);
    memcpy(out, c->x, (size_t)n * c->m->hp.dim * sizeof(float));
    return GF_OK;
}

static int check_logits(const float *x, int32_t n, int32_t pos) {
    /* x - x is NaN exactly when x is NaN or Inf: one branch-free pass over the row, into eight
     * independent sums (one sum was a chain of dependent adds: 0.38 ms for 262,144 logits, eight
     * take 0.12; wasm under Node, 2026-12-07) */
    float acc8[8] = {0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc8[j] += x[i + j] - x[i + j];
    float acc = 0;
    for (int j = 0; j < 8; j++) acc += acc8[j];
    for (; i < n; i++) acc += x[i] - x[i];
    if (acc == 0) return GF_OK;
    i = 0;
    while (i < n && isfinite(x[i])) i++;
    return gf_fail("the model produced non-finite logits at position %d (%s for token %d): its weights overflow or are corrupt", pos,
                   i < n && isnan(x[i]) ? "NaN" : "Inf", i);
}

int gf_eval(gf_context *c, const int32_t *ids, int32_t n, int logits_mode, float *out) {
    const gf_hparams *hp = &c->m->hp;
    if (c->m->arch->encoder) return gf_fail("eval: %s is an encoder: it gives embeddings (embed), not next-token logits", c->m->arch->name);
    if (check_ids(c, ids, n) < 0) return GF_ERR;
    if (logits_mode == GF_LOGITS_ALL && !out) return gf_fail("eval: no output buffer for all-row logits");
    for (int32_t i = 0; i < n; i += c->n_batch) {
        int32_t nb = n - i < c->n_batch ? n - i : c->n_batch;
        int last_batch = i + nb == n;
        int mode = logits_mode == GF_LOGITS_ALL ? GF_LOGITS_ALL : (last_batch ? logits_mode : GF_LOGITS_NONE);
        float *rows = mode == GF_LOGITS_ALL ? out + (int64_t)i * hp->n_vocab : NULL;
        int32_t pos0 = c->n_past;
        forward_batch(c, ids + i, nb, mode, rows);
        /* a NaN or Inf logit is never a distribution to sample from: overflowing (or corrupt) weights */
        int s = GF_OK;
        double t0 = gf_now_ms();
        if (mode == GF_LOGITS_ALL)
            for (int32_t r = 0; r < nb && s == GF_OK; r++) s = check_logits(rows + (int64_t)r * hp->n_vocab, hp->n_vocab, pos0 + r);
        else if (mode == GF_LOGITS_LAST) s = check_logits(c->logits, hp->n_vocab, pos0 + nb - 1);
        c->output_ms += gf_now_ms() - t0;
        if (s < 0) return s;
    }
    if (logits_mode == GF_LOGITS_LAST && out) memcpy(out, c->logits, (size_t)hp->n_vocab * sizeof(float));
    return GF_OK;
}
