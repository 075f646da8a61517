/* The runtime's exported C API: everything JS calls to load and run a
 * model goes through here (the offline tools' API, api_quantize.c and
 * api_prune.c, is linked only into the tools module). Only
 * 32-bit integers, doubles and pointers cross the boundary. Every function
 * reports failure as a value (NULL or a negative status) with a message
 * from gf_api_error(); bad input never aborts the instance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "api/api_export.h"
#include "model/loader.h"
#include "model/model.h"
#include "model/work.h"
#include "base/parallel.h"
#include "sample/grammar.h"
#include "sample/sampler.h"
#include "base/sha256.h"
#include "format/gguf.h"
#include "model/quantize_rules.h"
#include "quant/registry.h"
#include "text/tokenizer.h"


/* A loaded model with its inference state: what a JS Model object owns.
 * The KV cache remembers which tokens it holds (kv_tokens), so that a
 * generation resumes after other work ran on the model (another generation,
 * a forward pass) by evaluating only what differs from the longest common
 * prefix: several generations interleave token by token, and each step's
 * logits equal a cold run's (the forward pass is batch-invariant). */
typedef struct {
    gf_context *ctx;    /* activations and the KV cache */
    int32_t *kv_tokens; /* the tokens whose keys and values the cache holds, in order */
    int32_t n_kv;
    int32_t logits_for; /* n_kv when gf_context_logits was computed for kv_tokens[n_kv - 1]; -1: stale */
} gf_session;

/* A session per conversation: the model's own (main) and any more an app
 * asks for (gf_api_session_new), each with its own cache over the same
 * weights. */
typedef struct {
    gf_model *model;
    gf_session main;
    gf_context *ctx; /* main.ctx; NULL for vocabulary-only loads */
    int32_t n_batch;
    gf_kv_type kv_type;
    char *info;
    gf_vocab_trie *trie; /* token bytes for grammars, built at the first one */
} gf_handle;

/* One generation: its sampler, its tokens (prompt and sampled, the last one
 * not yet evaluated) and its text stream. Several may exist per model. */
typedef struct {
    gf_sampler *sampler;
    gf_detok_stream detok;
    int32_t *tokens;
    uint32_t n_tokens, cap;
    uint32_t n_prompt;
    gf_session *session; /* whose cache it runs in */
    int32_t last;   /* the token the last step sampled */
    int32_t cached; /* prompt tokens the cache already held when it started */
    int ignore_eos;
    int32_t shift_keep; /* context shift: tokens always kept (attention sinks); -1: stop at a full context */
    int32_t shifts;     /* context shifts so far */
    char stop_reason[16];
    gf_grammar *grammar; /* constrained decoding (NULL: none) */
    int32_t *gdist;      /* per token: code points still needed after it, or GF_GRAMMAR_DIST_INF (not allowed) */
    float *masked;       /* the logits with disallowed tokens at -INFINITY */
    int32_t max_tokens;  /* the generation's token budget (0: unknown) */
    int32_t *eog, n_eog; /* the vocabulary's end-of-generation tokens */
    double grammar_ms;   /* time spent masking and advancing the grammar */
    double output_ms;    /* the decode steps' time in the output projection (gf_context_output_ms) */
    double sample_ms;    /* time spent in the sampler */
    gf_work prompt;      /* what evaluating the prompt (the part the cache did not hold) read and multiplied */
    gf_work generated;   /* the same for the steps after it: each sampled token evaluated, and any re-evaluation */
} gf_generation;

GF_API const char *gf_api_error(void) { return gf_error_message(); }

/* Streaming SHA-256 of downloads (the loader hashes each chunk as it passes). */
GF_API gf_sha256 *gf_api_sha256_new(void) {
    gf_sha256 *s = malloc(sizeof *s);
    if (s) gf_sha256_init(s);
    else gf_fail_nomem("a hash", sizeof *s);
    return s;
}
GF_API void gf_api_sha256_update(gf_sha256 *s, const void *p, uint32_t n) { gf_sha256_update(s, p, n); }
/* Writes the 32-byte digest and frees the state. */
GF_API void gf_api_sha256_final(gf_sha256 *s, uint8_t *digest) {
    gf_sha256_final(s, digest);
    free(s);
}

/* Starts the thread pool (pthreads build; 1 in the single-thread build).
 * Returns how many threads run tasks. */
GF_API int gf_api_threads_start(int n) { return gf_parallel_start(n); }

GF_API gf_loader *gf_api_loader_new(int mode, int n_ctx, int n_batch, double max_memory, double total_size, int kv_type) {
    gf_clear_error();
    gf_model_options opt = {.mode = mode, .n_ctx = n_ctx, .n_batch = n_batch, .max_memory = (uint64_t)max_memory, .kv_type = (gf_kv_type)kv_type};
    gf_loader *l;
    return gf_loader_new(&opt, (uint64_t)total_size, &l) < 0 ? NULL : l;
}

GF_API uint8_t *gf_api_loader_window(gf_loader *l, uint32_t *cap) {
    size_t c;
    uint8_t *w = gf_loader_window(l, &c);
    return gf_api_window(w, c, cap);
}

GF_API int gf_api_loader_commit(gf_loader *l, uint32_t n) { return gf_loader_commit(l, n); }
GF_API int gf_api_loader_end(gf_loader *l) { return gf_loader_end(l); }
GF_API double gf_api_loader_expected(const gf_loader *l) { return (double)gf_loader_expected_bytes(l); }
GF_API double gf_api_loader_done(const gf_loader *l) { return (double)gf_loader_bytes_done(l); }
GF_API void gf_api_loader_free(gf_loader *l) { gf_loader_free(l); }

static int build_info(gf_handle *h) {
    int n = gf_model_info_json(h->model, NULL, 0);
    char *model_json = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!model_json) return gf_fail_nomem("the model info", (size_t)n + 1);
    gf_model_info_json(h->model, model_json, (size_t)n + 1);
    model_json[n - 1] = 0; /* drop the closing brace to append context facts */
    size_t cap = (size_t)n + 256;
    h->info = malloc(cap);
    if (!h->info) {
        free(model_json);
        return gf_fail_nomem("the model info", cap);
    }
    char kv[16] = "null"; /* no cache without weights */
    if (h->ctx) snprintf(kv, sizeof kv, "\"%s\"", gf_kv_type_name(h->kv_type));
    snprintf(h->info, cap, "%s,\"contextLength\":%d,\"batch\":%d,\"kvCache\":%s,\"threads\":%d}", model_json,
             h->ctx ? gf_context_n_ctx(h->ctx) : 0, h->n_batch, kv, gf_parallel_threads());
    free(model_json);
    return GF_OK;
}

static void session_clear(gf_session *s) {
    gf_context_free(s->ctx);
    free(s->kv_tokens);
    *s = (gf_session){0};
}

static int session_init(gf_handle *h, int32_t n_ctx, gf_session *s) {
    *s = (gf_session){.logits_for = -1};
    if (gf_context_new(h->model, n_ctx, h->n_batch, h->kv_type, &s->ctx) < 0) return GF_ERR;
    size_t bytes = (size_t)gf_context_n_ctx(s->ctx) * sizeof *s->kv_tokens;
    if (!(s->kv_tokens = malloc(bytes))) {
        session_clear(s);
        return gf_fail_nomem("the cache's token list", bytes);
    }
    return GF_OK;
}

GF_API void gf_api_free(gf_handle *h) {
    if (!h) return;
    session_clear(&h->main);
    gf_model_free(h->model);
    free(h->info);
    gf_vocab_trie_free(h->trie);
    free(h);
}

/* Finishes a complete load: takes the model and creates its context. The
 * loader is freed either way. */
GF_API gf_handle *gf_api_open(gf_loader *l) {
    gf_handle *h = calloc(1, sizeof *h);
    if (!h) {
        gf_fail_nomem("the model handle", sizeof *h);
        gf_loader_free(l);
        return NULL;
    }
    const gf_model_options *opt = gf_loader_options(l);
    h->n_batch = opt->n_batch;
    int32_t n_ctx = opt->n_ctx;
    gf_kv_type kv_type = h->kv_type = opt->kv_type;
    h->model = gf_loader_take_model(l);
    gf_loader_free(l);
    if (!h->model) goto fail;
    (void)kv_type;
    if (h->model->mode == GF_LOAD_WEIGHTS) {
        if (session_init(h, n_ctx, &h->main) < 0) goto fail;
        h->ctx = h->main.ctx;
    }
    if (build_info(h) < 0) goto fail;
    return h;
fail:
    gf_api_free(h);
    return NULL;
}

static int need_weights(const gf_handle *h);

/* See gf_warmup; the loader calls it once a model is open. */
GF_API void gf_api_warmup(gf_handle *h, int rounds) {
    if (!h->ctx) return;
    gf_warmup(h->ctx, rounds);
    h->main.n_kv = 0; /* the warm-up leaves the context empty */
    h->main.logits_for = -1;
}

/* The model's own session, and more: each a KV cache of the model's context
 * length over the same weights (the memory of one more cache). */
GF_API gf_session *gf_api_session_main(gf_handle *h) { return &h->main; }

GF_API gf_session *gf_api_session_new(gf_handle *h) {
    gf_clear_error();
    if (need_weights(h) < 0) return NULL;
    gf_session *s = malloc(sizeof *s);
    if (!s) {
        gf_fail_nomem("a session", sizeof *s);
        return NULL;
    }
    if (session_init(h, gf_context_n_ctx(h->ctx), s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

GF_API void gf_api_session_free(gf_handle *h, gf_session *s) {
    if (!s || s == &h->main) return;
    session_clear(s);
    free(s);
}

GF_API const char *gf_api_info(const gf_handle *h) { return h->info; }
GF_API int gf_api_n_vocab(const gf_handle *h) { return h->model->hp.n_vocab; }
GF_API int gf_api_n_ctx(const gf_handle *h) { return h->ctx ? gf_context_n_ctx(h->ctx) : 0; }

GF_API int gf_api_tokenize(const gf_handle *h, const char *text, uint32_t len, int add_special, int parse_special, int32_t *out,
                           uint32_t cap) {
    int64_t n = gf_tokenize(h->model->tokenizer, text, len, add_special, parse_special, out, cap);
    if (n > 0x7fffffff) return gf_fail("tokenize: too many tokens");
    return (int)n;
}

static int check_ids(const gf_handle *h, const int32_t *ids, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= h->model->hp.n_vocab)
            return gf_fail("token id %d is out of range (vocabulary has %d tokens)", ids[i], h->model->hp.n_vocab);
    return GF_OK;
}

GF_API int gf_api_detokenize(const gf_handle *h, const int32_t *ids, uint32_t n, int skip_special, char *buf, uint32_t cap) {
    if (check_ids(h, ids, n) < 0) return GF_ERR;
    int64_t r = gf_detokenize(h->model->tokenizer, ids, n, skip_special, buf, cap);
    return r > 0x7fffffff ? gf_fail("detokenize: text too long") : (int)r;
}

static int need_weights(const gf_handle *h) {
    return h->ctx ? GF_OK : gf_fail("this model was loaded without its weights (vocabOnly or inspect); it cannot run");
}

/* Teacher-forced logits from position 0: rows of n_vocab for every id
 * (all_rows) or for the last one. */
GF_API int gf_api_forward(gf_handle *h, gf_session *s, const int32_t *ids, uint32_t n, int all_rows, float *out) {
    gf_clear_error();
    if (need_weights(h) < 0) return GF_ERR;
    if (h->model->arch->encoder) return gf_fail("forward: %s is an encoder: use embed()", h->model->arch->name);
    if (n == 0) return gf_fail("forward: no tokens given");
    s->n_kv = 0;
    s->logits_for = -1;
    if (gf_context_rewind(s->ctx, 0) < 0) return GF_ERR;
    if (gf_eval(s->ctx, ids, (int32_t)n, all_rows ? GF_LOGITS_ALL : GF_LOGITS_LAST, out) < 0) return GF_ERR;
    memcpy(s->kv_tokens, ids, (size_t)n * sizeof *ids);
    s->n_kv = (int32_t)n;
    s->logits_for = all_rows ? -1 : (int32_t)n; /* all rows go to out only */
    return GF_OK;
}

/* Encoders: the embedding of ids. pooling: GF_POOL_* or -1 for the model's
 * own; none writes n rows of dim (one per token), the others one row.
 * normalize: scale each row to unit L2 length. Returns the rows written. */
GF_API int gf_api_embed(gf_handle *h, const int32_t *ids, uint32_t n, int pooling, int normalize, float *out) {
    gf_clear_error();
    if (need_weights(h) < 0) return GF_ERR;
    const gf_model *m = h->model;
    if (!m->arch->encoder && m->hp.pooling == GF_POOL_NONE)
        return gf_fail("embed: %s is a decoder; embeddings come from encoder models such as bert (or decoders whose file sets a "
                       "pooling_type, such as Qwen3-Embedding)", m->arch->name);
    if (pooling < 0) pooling = m->hp.pooling;
    if (pooling > GF_POOL_LAST) return gf_fail("embed: unknown pooling %d", pooling);
    if (n == 0) return gf_fail("embed: no tokens to embed");
    int32_t dim = m->hp.dim;
    float *states = pooling == GF_POOL_NONE ? out : malloc((size_t)n * dim * sizeof(float));
    if (!states) return gf_fail_nomem("token states", (size_t)n * dim * sizeof(float));
    if (gf_encode(h->ctx, ids, (int32_t)n, states) < 0) {
        if (states != out) free(states);
        return GF_ERR;
    }
    int rows = (int)n;
    if (pooling != GF_POOL_NONE) {
        rows = 1;
        if (pooling == GF_POOL_MEAN) {
            for (int32_t d = 0; d < dim; d++) {
                double sum = 0;
                for (uint32_t t = 0; t < n; t++) sum += states[(size_t)t * dim + d];
                out[d] = (float)(sum / n);
            }
        } else {
            memcpy(out, states + (size_t)(pooling == GF_POOL_CLS ? 0 : n - 1) * dim, (size_t)dim * sizeof(float));
        }
        free(states);
    }
    if (normalize)
        for (int r = 0; r < rows; r++) {
            float *v = out + (size_t)r * dim;
            double ss = 0;
            for (int32_t d = 0; d < dim; d++) ss += (double)v[d] * v[d];
            float scale = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
            for (int32_t d = 0; d < dim; d++) v[d] *= scale;
        }
    return rows;
}

/* tokenizer.chat_template from the GGUF, or NULL. */
GF_API const char *gf_api_chat_template(const gf_handle *h) { return h->model->chat_template; }

/* Makes the cache hold tokens[0..n) and the context's logits those after
 * tokens[n - 1]: keeps the longest common prefix with what the cache holds
 * and evaluates the rest (at least the last token, unless the logits are
 * already its). Returns how many tokens were kept, or an error. */
static int sync_cache(gf_session *s, const int32_t *tokens, int32_t n) {
    int32_t common = 0;
    while (common < s->n_kv && common < n && s->kv_tokens[common] == tokens[common]) common++;
    if (common == n && s->n_kv == n && s->logits_for == n) return n;
    int32_t keep = common < n ? common : n - 1;
    s->logits_for = -1;
    if (gf_context_rewind(s->ctx, keep) < 0) return GF_ERR;
    s->n_kv = keep;
    if (gf_eval(s->ctx, tokens + keep, n - keep, GF_LOGITS_LAST, NULL) < 0) {
        s->n_kv = gf_context_rewind(s->ctx, keep) < 0 ? 0 : keep; /* what a failed batch wrote is not kept */
        return GF_ERR;
    }
    memcpy(s->kv_tokens + keep, tokens + keep, (size_t)(n - keep) * sizeof *tokens);
    s->n_kv = s->logits_for = n;
    return keep;
}

GF_API void gf_api_generation_free(gf_generation *g) {
    if (!g) return;
    gf_sampler_free(g->sampler);
    free(g->tokens);
    gf_grammar_free(g->grammar);
    free(g->eog);
    free(g->gdist);
    free(g->masked);
    free(g);
}

/* Starts a generation: validates the sampler options, evaluates the part of
 * the prompt the cache does not already hold and leaves the logits for the
 * first sample. Returns the generation (free it with gf_api_generation_free)
 * or NULL. */
GF_API gf_generation *gf_api_generate_start(gf_handle *h, gf_session *s, const int32_t *ids, uint32_t n, double temperature, int top_k,
                                            double top_p, double min_p, double repeat_penalty, int repeat_last_n, double seed,
                                            int ignore_eos, double presence_penalty, double frequency_penalty) {
    gf_clear_error();
    if (need_weights(h) < 0) return NULL;
    if (h->model->arch->encoder) {
        gf_fail("generate: %s is an encoder: it gives embeddings (embed), not text", h->model->arch->name);
        return NULL;
    }
    if (n == 0) {
        gf_fail("generate: the prompt has no tokens (and the model adds no BOS)");
        return NULL;
    }
    if (!(seed >= 0 && seed <= 4294967295.0 && seed == floor(seed))) {
        gf_fail("generate: seed must be an integer in [0, 2^32), got %g", seed);
        return NULL;
    }
    int32_t n_ctx = gf_context_n_ctx(h->ctx);
    if (n > (uint32_t)n_ctx) {
        gf_fail("generate: the prompt has %u tokens but the context holds %d; load with a larger contextLength or shorten the prompt",
                n, n_ctx);
        return NULL;
    }
    if (check_ids(h, ids, n) < 0) return NULL;
    gf_sampler_params p = {(float)temperature, top_k, (float)top_p, (float)min_p, (float)repeat_penalty, repeat_last_n, (uint32_t)seed,
                           (float)presence_penalty, (float)frequency_penalty};
    gf_generation *g = calloc(1, sizeof *g);
    if (!g) {
        gf_fail_nomem("a generation", sizeof *g);
        return NULL;
    }
    g->cap = (uint32_t)n_ctx;
    g->tokens = malloc((size_t)g->cap * sizeof *g->tokens);
    if (!g->tokens) {
        gf_fail_nomem("a generation's tokens", (size_t)g->cap * sizeof *g->tokens);
        gf_api_generation_free(g);
        return NULL;
    }
    if (gf_sampler_new(&p, h->model->hp.n_vocab, &g->sampler) < 0) {
        gf_api_generation_free(g);
        return NULL;
    }
    memcpy(g->tokens, ids, (size_t)n * sizeof *ids);
    g->n_tokens = g->n_prompt = n;
    g->session = s;
    gf_work before = *gf_context_work(s->ctx);
    int kept = sync_cache(s, g->tokens, (int32_t)n);
    gf_work_add_delta(&g->prompt, gf_context_work(s->ctx), &before);
    if (kept < 0) {
        gf_api_generation_free(g);
        return NULL;
    }
    g->cached = kept;
    for (uint32_t i = 0; i < n; i++) gf_sampler_accept(g->sampler, ids[i]);
    gf_detok_stream_init(&g->detok);
    g->ignore_eos = ignore_eos;
    g->shift_keep = -1;
    return g;
}

/* A logit bias for the generation's sampling (see gf_sampler_set_bias). */
GF_API int gf_api_generation_bias(gf_generation *g, const int32_t *ids, const float *bias, uint32_t n) {
    gf_clear_error();
    return gf_sampler_set_bias(g->sampler, ids, bias, (int32_t)n);
}

/* Right after a gf_api_generate_next that produced a token: the model's
 * log-probability of it and of the top_n likeliest tokens (ids and values
 * written to top_ids / top_logprobs, best first). */
GF_API double gf_api_generation_logprobs(const gf_handle *h, const gf_generation *g, int top_n, int32_t *top_ids, double *top_logprobs) {
    int32_t n_vocab = h->model->hp.n_vocab;
    if (top_n > n_vocab) top_n = n_vocab;
    return gf_logprobs(gf_context_logits(g->session->ctx), n_vocab, g->last, top_n < 0 ? 0 : top_n, top_ids, top_logprobs);
}

/* Constrains the generation to a GBNF grammar (src/grammar.h) before its
 * first token. max_tokens (> 0): the generation's token limit; near it the
 * mask keeps only tokens after which the text can still be completed in
 * the tokens left, so a limit cuts no grammar text short. */
GF_API int gf_api_generation_grammar(gf_handle *h, gf_generation *g, const char *gbnf, uint32_t len, int max_tokens) {
    gf_clear_error();
    if (g->grammar) return gf_fail("generate: the generation already has a grammar");
    if (g->n_tokens != g->n_prompt) return gf_fail("generate: a grammar must be set before the first token");
    if (!h->trie && gf_vocab_trie_from_tokenizer(h->model->tokenizer, &h->trie) < 0) return GF_ERR;
    int32_t n_vocab = h->model->hp.n_vocab;
    if (gf_vocab_trie_n_vocab(h->trie) != n_vocab) return gf_fail("generate: the vocabulary has %d tokens but the model %d", gf_vocab_trie_n_vocab(h->trie), n_vocab);
    g->gdist = malloc((size_t)n_vocab * sizeof *g->gdist);
    g->masked = malloc((size_t)n_vocab * sizeof *g->masked);
    if (!g->gdist || !g->masked) return gf_fail_nomem("the grammar's mask", (size_t)n_vocab * 8);
    for (int32_t i = 0; i < n_vocab; i++) g->n_eog += gf_tokenizer_is_eog(h->model->tokenizer, i) != 0;
    if (!(g->eog = malloc(((size_t)g->n_eog + 1) * sizeof *g->eog))) return gf_fail_nomem("the end-of-generation tokens", (size_t)g->n_eog * 4);
    g->n_eog = 0;
    for (int32_t i = 0; i < n_vocab; i++)
        if (gf_tokenizer_is_eog(h->model->tokenizer, i)) g->eog[g->n_eog++] = i;
    if (gf_grammar_parse(gbnf, len, &g->grammar) < 0) return GF_ERR;
    g->max_tokens = max_tokens > 0 ? max_tokens : 0;
    return GF_OK;
}

/* Milliseconds spent on the grammar's masks and advances so far (not its setup). */
GF_API double gf_api_generation_grammar_ms(const gf_generation *g) { return g->grammar_ms; }
/* The decode steps' milliseconds in the output projection and its logits' check. */
GF_API double gf_api_generation_output_ms(const gf_generation *g) { return g->output_ms; }
/* Milliseconds spent picking tokens from the logits (the sampler, not the grammar's mask). */
GF_API double gf_api_generation_sample_ms(const gf_generation *g) { return g->sample_ms; }

/* The logits with every token the grammar rules out at -INFINITY (see
 * gf_api_generation_grammar). Returns 1, 0 when the generation must end
 * here (stop reason set), or an error. */
static int grammar_mask(gf_handle *h, gf_generation *g, const float *logits) {
    int32_t n_vocab = h->model->hp.n_vocab;
    int complete = gf_grammar_complete(g->grammar);
    if (complete && !gf_grammar_can_continue(g->grammar)) {
        strcpy(g->stop_reason, "grammar"); /* nothing can follow: end without sampling an end-of-generation token */
        return 0;
    }
    int32_t n = gf_grammar_token_distances(g->grammar, h->trie, g->gdist);
    if (n < 0) return n;
    if (complete && !g->ignore_eos)
        for (int32_t i = 0; i < g->n_eog; i++) g->gdist[g->eog[i]] = 0, n++;
    if (n == 0) {
        if (complete) {
            strcpy(g->stop_reason, "grammar");
            return 0;
        }
        return gf_fail("generate: no token of the vocabulary can continue the grammar here (a character the tokenizer cannot write?)");
    }
    /* tokens left after this one (maxTokens and the context); past that budget, keep the tokens that get closest to the end */
    int32_t budget = (int32_t)g->cap - (int32_t)g->n_tokens;
    if (g->max_tokens && g->max_tokens - (int32_t)(g->n_tokens - g->n_prompt) - 1 < budget) budget = g->max_tokens - (int32_t)(g->n_tokens - g->n_prompt) - 1;
    if (budget < 0) budget = 0;
    int32_t least = GF_GRAMMAR_DIST_INF;
    for (int32_t i = 0; i < n_vocab; i++)
        if (g->gdist[i] < least) least = g->gdist[i];
    if (budget < least) budget = least;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (g->gdist[i] > budget) g->gdist[i] = GF_GRAMMAR_DIST_INF;
        g->masked[i] = g->gdist[i] < GF_GRAMMAR_DIST_INF ? logits[i] : -INFINITY;
    }
    return 1;
}

/* Context shift for this generation: when the context is full, keep the
 * first `keep` tokens (attention sinks) and the newer half of the rest
 * (keep < 0: stop instead, the default). */
GF_API int gf_api_generation_context_shift(gf_handle *h, gf_generation *g, int keep) {
    gf_clear_error();
    int32_t n_ctx = gf_context_n_ctx(h->ctx);
    if (keep >= 0 && keep > n_ctx - 2) return gf_fail("contextShift: %d sink tokens leave no room in a %d-token context", keep, n_ctx);
    g->shift_keep = keep < 0 ? -1 : keep;
    return GF_OK;
}

GF_API int gf_api_generation_shifts(const gf_generation *g) { return g->shifts; }

/* Prompt tokens whose keys and values were reused from the cache. */
GF_API int gf_api_generation_cached(const gf_generation *g) { return g->cached; }

/* The generation's work counters (model/work.h), as 2 x GF_WORK_FIELDS
 * doubles: the prompt's, then the generated tokens'. */
GF_API int gf_api_generation_work(const gf_generation *g, double *out) {
    gf_work_to_doubles(&g->prompt, out);
    gf_work_to_doubles(&g->generated, out + GF_WORK_FIELDS);
    return GF_WORK_FIELDS;
}

/* Produces one token: returns 1 with the token id in *id and its text (the
 * complete UTF-8 characters available so far) in buf (*len bytes), 0 when the
 * generation stopped (gf_api_stop_reason: "eos", "context", or "grammar":
 * the grammar's text is complete and nothing else can follow), or a
 * negative error. Other work may have run on the model since the last step:
 * the cache is brought back to this generation's tokens first. */
GF_API int gf_api_generate_next(gf_handle *h, gf_generation *g, int32_t *id, char *buf, uint32_t cap, uint32_t *len) {
    gf_clear_error();
    *len = 0;
    if (g->stop_reason[0]) return 0;
    if (g->n_tokens > g->cap && g->shift_keep >= 0) {
        /* context shift (StreamingLLM's attention sinks): keep the first
         * shift_keep tokens and the newer half of the rest, drop the older
         * half; sync_cache keeps the sinks' cache and evaluates the kept
         * tokens again at their new positions (exact, whatever the cache type) */
        uint32_t keep = (uint32_t)g->shift_keep, rest = g->cap - keep, drop = rest / 2 > 0 ? rest / 2 : 1;
        memmove(g->tokens + keep, g->tokens + keep + drop, (size_t)(g->cap - keep - drop) * sizeof *g->tokens);
        g->n_tokens = g->cap - drop;
        g->tokens[g->n_tokens++] = g->last; /* the token sampled last, not stored past cap */
        g->shifts++;
    }
    if (g->n_tokens > g->cap) {
        strcpy(g->stop_reason, "context");
        return 0;
    }
    gf_work before = *gf_context_work(g->session->ctx);
    double output_before = gf_context_output_ms(g->session->ctx);
    int synced = sync_cache(g->session, g->tokens, (int32_t)g->n_tokens);
    gf_work_add_delta(&g->generated, gf_context_work(g->session->ctx), &before);
    g->output_ms += gf_context_output_ms(g->session->ctx) - output_before;
    if (synced < 0) return GF_ERR;
    const gf_tokenizer *tok = h->model->tokenizer;
    int32_t eos = gf_tokenizer_eos(tok);
    const float *logits = gf_context_logits(g->session->ctx);
    double t0 = g->grammar ? gf_now_ms() : 0;
    if (g->grammar) {
        int m = grammar_mask(h, g, logits);
        g->grammar_ms += gf_now_ms() - t0;
        if (m <= 0) {
            if (m < 0) return m;
            int r = gf_detok_stream_flush(&g->detok, buf, cap);
            *len = r > 0 && (uint32_t)r <= cap ? (uint32_t)r : 0;
            return 0;
        }
        logits = g->masked;
    }
    double ts = gf_now_ms();
    int32_t t = gf_sampler_sample(g->sampler, logits, g->ignore_eos ? eos : -1);
    g->sample_ms += gf_now_ms() - ts;
    if (g->grammar) {
        t0 = gf_now_ms();
        if (g->gdist[t] >= GF_GRAMMAR_DIST_INF) {
            /* sampling's rounding fell on a masked token, or logitBias banned every allowed one: the likeliest allowed token */
            int32_t best = -1;
            for (int32_t i = 0; i < h->model->hp.n_vocab; i++)
                if (g->gdist[i] < GF_GRAMMAR_DIST_INF && (best < 0 || logits[i] > logits[best])) best = i;
            t = best;
        }
        if (!gf_tokenizer_is_eog(tok, t)) {
            char small[256], *piece = small;
            int n = gf_token_to_piece(tok, t, piece, sizeof small, 0);
            if (n >= (int)sizeof small) {
                if (!(piece = malloc((size_t)n + 1))) return gf_fail_nomem("a token's text", (size_t)n + 1);
                gf_token_to_piece(tok, t, piece, (size_t)n + 1, 0);
            }
            int st = n < 0 ? n : gf_grammar_accept(g->grammar, piece, (size_t)n);
            if (piece != small) free(piece);
            if (st < 0) return st;
        }
        g->grammar_ms += gf_now_ms() - t0;
    }

    gf_sampler_accept(g->sampler, t);
    *id = g->last = t;
    if (g->n_tokens < g->cap) g->tokens[g->n_tokens] = t;
    g->n_tokens++; /* past cap: the next step stops for the context */
    if (!g->ignore_eos && gf_tokenizer_is_eog(tok, t)) {
        strcpy(g->stop_reason, "eos");
        int r = gf_detok_stream_flush(&g->detok, buf, cap);
        *len = r > 0 && (uint32_t)r <= cap ? (uint32_t)r : 0;
        return 0;
    }
    int r = gf_detok_stream_push(tok, &g->detok, t, buf, cap);
    if (r < 0) return r;
    if ((uint32_t)r > cap) return gf_fail("generate: piece of %d bytes exceeds the buffer", r);
    *len = (uint32_t)r;
    return 1;
}

/* Text still held back at the end of a generation (an incomplete UTF-8 tail). */
GF_API int gf_api_generate_flush(gf_generation *g, char *buf, uint32_t cap) { return gf_detok_stream_flush(&g->detok, buf, cap); }

GF_API const char *gf_api_stop_reason(const gf_generation *g) { return g->stop_reason; }

/* Quantize while loading: F32/F16 matrices of the model the loader is about
 * to read are quantized as their bytes arrive ("Q4_0", "Q8_0", "Q4_K", ...). */
GF_API int gf_api_loader_quantize(gf_loader *l, const char *type) {
    int ftype = gf_ftype_parse(type);
    return ftype < 0 ? ftype : gf_loader_set_quantize(l, ftype);
}

/* ---- file summaries (sizes and bits per weight, from the header alone) ---- */

GF_API gguf_reader *gf_api_gguf_new(void) { return gguf_reader_new(); }

GF_API uint8_t *gf_api_gguf_window(gguf_reader *r, uint32_t *cap) {
    size_t c;
    uint8_t *w = gguf_header_window(r, &c);
    return gf_api_window(w, c, cap);
}

GF_API int gf_api_gguf_commit(gguf_reader *r, uint32_t n) { return gguf_header_commit(r, n); }
GF_API void gf_api_gguf_free(gguf_reader *r) { gguf_reader_free(r); }

/* {"tensors", "elements", "tensorBytes", "bitsPerWeight", "fileBytes", "types": {name: count}}
 * (bitsPerWeight as llama.cpp reports it: tensor bytes * 8 / elements).
 * The caller frees the string. */
GF_API char *gf_api_gguf_summary(const gguf_reader *r) {
    uint64_t elements = 0, bytes = 0;
    uint32_t count[GF_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < gguf_n_tensors(r); i++) {
        const gguf_tensor_info *t = gguf_tensor_at(r, i);
        uint64_t ne = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) ne *= t->ne[d];
        elements += ne;
        bytes += t->nbytes;
        if (t->type < GF_TYPE_COUNT) count[t->type]++;
    }
    size_t cap = 256 + 32 * GF_TYPE_COUNT;
    char *s = malloc(cap);
    if (!s) {
        gf_fail_nomem("a file summary", cap);
        return NULL;
    }
    int n = snprintf(s, cap, "{\"tensors\":%llu,\"elements\":%llu,\"tensorBytes\":%llu,\"bitsPerWeight\":%.4f,\"fileBytes\":%llu,\"types\":{",
                     (unsigned long long)gguf_n_tensors(r), (unsigned long long)elements, (unsigned long long)bytes,
                     elements ? (double)bytes * 8 / (double)elements : 0.0,
                     (unsigned long long)(gguf_data_offset(r) + gguf_data_size(r)));
    int first = 1;
    for (uint32_t t = 0; t < GF_TYPE_COUNT; t++) {
        if (!count[t]) continue;
        n += snprintf(s + n, cap - (size_t)n, "%s\"%s\":%u", first ? "" : ",", gf_type_name(t), count[t]);
        first = 0;
    }
    snprintf(s + n, cap - (size_t)n, "}}");
    return s;
}

/* ---- the type registry ---- */

/* The weight-type registry as JSON (quant/registry.h: gf_types_json), for
 * Core#types() (web/core.js): the rows without the quantizer's methods,
 * which the tools module adds (api_quantize.c: gf_api_quantize_types_json);
 * NULL (with an error) when memory runs out. */
GF_API const char *gf_api_types_json(void) {
    static char *json;
    if (!json) json = gf_types_json_alloc(NULL);
    return json;
}
