#include "tools/calibrate.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/registry.h"
#include "tools/quantize_gptq.h"

#define MIN_TOKENS 16
#define MAX_MATRICES_PER_LAYER 8

struct gf_calib {
    gf_model *m;
    gf_context *ctx;
    int32_t chunk_len;
    int32_t *ids;
    int64_t n_ids;
    gf_calib_matrix *mats;
    int n_mats;
};

static int64_t q_dim(const gf_hparams *hp, const gf_layer *l) { return (int64_t)l->n_head * hp->head_dim; }
static int64_t kv_dim(const gf_hparams *hp, const gf_layer *l) { return (int64_t)l->n_head_kv * hp->head_dim; }

/* leader: index of the matrix with the same input, or -1 for a new input. */
static int add_matrix(gf_calib *c, gf_matrix *mat, int64_t rows, int leader) {
    gf_calib_matrix *e = &c->mats[c->n_mats];
    if (!gf_model_matrix_name(c->m, mat, e->name, sizeof e->name)) return gf_fail("calibrate: a matrix has no name");
    e->mat = mat;
    e->rows = rows;
    e->leader = leader >= 0 ? leader : c->n_mats;
    if (leader < 0) {
        size_t hn = (size_t)mat->n * GF_GPTQ_BLOCK;
        e->sum_sq = calloc((size_t)mat->n, sizeof *e->sum_sq);
        e->h = calloc(hn, sizeof *e->h);
        if (!e->sum_sq || !e->h) return gf_fail_nomem("calibration statistics", hn * sizeof(float));
    }
    c->n_mats++;
    return GF_OK;
}

static int list_matrices(gf_calib *c) {
    gf_model *m = c->m;
    const gf_hparams *hp = &m->hp;
    c->mats = calloc((size_t)hp->n_layer * MAX_MATRICES_PER_LAYER + 2, sizeof *c->mats);
    if (!c->mats) return gf_fail_nomem("calibration tables", 0);
    int s;
    if ((s = add_matrix(c, &m->tok_embd, hp->n_vocab, -1)) < 0) return s;
    if (!m->tied_output && (s = add_matrix(c, &m->output, hp->n_vocab, -1)) < 0) return s;
    for (int i = 0; i < hp->n_layer; i++) {
        gf_layer *l = &m->layers[i];
        gf_matrix *mats[MAX_MATRICES_PER_LAYER] = {&l->wq, &l->wk, &l->wv, &l->wqkv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        int64_t rows[MAX_MATRICES_PER_LAYER] = {q_dim(hp, l), kv_dim(hp, l), kv_dim(hp, l), q_dim(hp, l) + 2 * kv_dim(hp, l),
                                                hp->dim,      l->ffn_dim,   l->ffn_dim,   hp->dim};
        /* q, k, v read the same input, and so do gate and up */
        int shares[MAX_MATRICES_PER_LAYER] = {-1, 0, 0, -1, -1, -1, 5, -1};
        int index[MAX_MATRICES_PER_LAYER];
        for (int k = 0; k < MAX_MATRICES_PER_LAYER; k++) {
            index[k] = -1;
            if (mats[k]->n <= 0) continue; /* not in this architecture */
            int leader = shares[k] >= 0 ? index[shares[k]] : -1;
            index[k] = c->n_mats;
            if ((s = add_matrix(c, mats[k], rows[k], leader)) < 0) return s;
        }
    }
    return GF_OK;
}

/* The tied output is a copy of tok_embd's slot: its statistics go to tok_embd. */
static gf_calib_matrix *find(gf_calib *c, const gf_matrix *w) {
    if (c->m->tied_output && w == &c->m->output) w = &c->m->tok_embd;
    for (int i = 0; i < c->n_mats; i++)
        if (c->mats[i].mat == w) return &c->mats[i];
    return NULL;
}

static void observe(void *ud, const gf_matrix *w, const float *x, int32_t n, int32_t rows) {
    gf_calib *c = ud;
    gf_calib_matrix *e = find(c, w);
    if (!e || n != e->mat->n || e->leader != e - c->mats || e->factored) return;
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + (int64_t)r * n;
        for (int32_t j = 0; j < n; j++) e->sum_sq[j] += (double)xr[j] * xr[j];
        /* the upper triangle of each diagonal block */
        for (int32_t b0 = 0; b0 < n; b0 += GF_GPTQ_BLOCK) {
            int32_t end = n - b0 < GF_GPTQ_BLOCK ? n : b0 + GF_GPTQ_BLOCK;
            for (int32_t i = b0; i < end; i++) {
                float xi = xr[i], *hr = e->h + (int64_t)i * GF_GPTQ_BLOCK - b0;
                for (int32_t j = i; j < end; j++) hr[j] += xi * xr[j];
            }
        }
    }
    e->count += rows;
}

int gf_calib_from_loader(gf_loader *l, gf_calib **out) {
    gf_model *m = gf_loader_take_model(l);
    gf_loader_free(l);
    return gf_calib_new(m, out);
}

int gf_calib_new(gf_model *m, gf_calib **out) {
    *out = NULL;
    if (!m) return GF_ERR;
    gf_calib *c = calloc(1, sizeof *c);
    if (!c) {
        gf_model_free(m);
        return gf_fail_nomem("the calibration session", sizeof *c);
    }
    c->m = m;
    int s;
    if (m->mode != GF_LOAD_WEIGHTS) {
        s = gf_fail("calibrate: the model was loaded without weights");
        goto fail;
    }
    if (m->arch->encoder) {
        s = gf_fail("calibrate: %s is an encoder; calibration and mixes measure next-token predictions (use --method search)", m->arch->name);
        goto fail;
    }
    c->chunk_len = m->hp.n_ctx_train > 0 && m->hp.n_ctx_train < GF_CALIB_CTX ? m->hp.n_ctx_train : GF_CALIB_CTX;
    /* quantized copies of matrices are swapped in later (mix.c): the context
     * must hold activation buffers for every format they consume */
    uint32_t saved[GF_TYPE_COUNT];
    memcpy(saved, m->type_count, sizeof saved);
    for (uint32_t t = 0; t < GF_TYPE_COUNT; t++)
        if (gf_type_writable(t)) m->type_count[t]++;
    m->type_count[GF_TYPE_F16]++;
    s = gf_context_new(m, c->chunk_len, c->chunk_len, GF_KV_F32, &c->ctx);
    memcpy(m->type_count, saved, sizeof saved);
    if (s < 0) goto fail;
    if ((s = list_matrices(c)) < 0) goto fail;
    gf_context_set_observer(c->ctx, observe, c);
    *out = c;
    return GF_OK;
fail:
    gf_calib_free(c);
    return s;
}

void gf_calib_free(gf_calib *c) {
    if (!c) return;
    for (int i = 0; i < c->n_mats; i++) {
        free(c->mats[i].sum_sq);
        free(c->mats[i].h);
    }
    free(c->mats);
    free(c->ids);
    gf_context_free(c->ctx);
    gf_model_free(c->m);
    free(c);
}

int gf_calib_set_text(gf_calib *c, const char *text, size_t len) {
    int64_t n = gf_tokenize(c->m->tokenizer, text, len, 1, 0, NULL, 0);
    if (n < 0) return (int)n;
    if (n < MIN_TOKENS) return gf_fail("calibrate: the text has %lld tokens; at least %d are needed (a few paragraphs is typical)", (long long)n, MIN_TOKENS);
    if (n > (1 << 26)) return gf_fail("calibrate: the text has %lld tokens, too many", (long long)n);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return gf_fail_nomem("the calibration tokens", (size_t)n * 4);
    int64_t got = gf_tokenize(c->m->tokenizer, text, len, 1, 0, ids, (size_t)n);
    if (got != n) {
        free(ids);
        return got < 0 ? (int)got : gf_fail("calibrate: tokenization changed length");
    }
    free(c->ids);
    c->ids = ids;
    c->n_ids = n;
    return (int)n;
}

int gf_calib_n_chunks(const gf_calib *c) {
    if (!c->n_ids) return 0;
    return (int)((c->n_ids + c->chunk_len - 1) / c->chunk_len);
}

const int32_t *gf_calib_chunk(const gf_calib *c, int i, int32_t *n) {
    int64_t start = (int64_t)i * c->chunk_len, left = c->n_ids - start;
    *n = (int32_t)(left < c->chunk_len ? left : c->chunk_len);
    return c->ids + start;
}

void gf_calib_observe(gf_calib *c, int on) { gf_context_set_observer(c->ctx, on ? observe : NULL, c); }

int gf_calib_run(gf_calib *c, int chunk) { return gf_calib_eval(c, chunk, NULL); }

int gf_calib_eval(gf_calib *c, int chunk, float *logits) {
    if (chunk < 0 || chunk >= gf_calib_n_chunks(c)) return gf_fail("calibrate: no chunk %d (the text has %d)", chunk, gf_calib_n_chunks(c));
    int32_t n;
    gf_calib_chunk(c, chunk, &n);
    int32_t *ids = c->ids + (int64_t)chunk * c->chunk_len;
    /* every chunk starts with BOS, as the model saw text in training */
    int32_t bos = gf_tokenizer_bos(c->m->tokenizer), first = ids[0];
    if (bos >= 0) ids[0] = bos;
    int s = gf_context_rewind(c->ctx, 0);
    if (s == GF_OK) s = gf_eval(c->ctx, ids, n, logits ? GF_LOGITS_ALL : GF_LOGITS_LAST, logits);
    ids[0] = first;
    return s;
}

int gf_calib_importance(const gf_calib *c, int i, float *w) {
    const gf_calib_matrix *e = &c->mats[c->mats[i].leader];
    if (!e->count) return 0;
    for (int j = 0; j < e->mat->n; j++) w[j] = (float)(e->sum_sq[j] / (double)e->count);
    return 1;
}

const float *gf_calib_gptq(gf_calib *c, int i) {
    gf_calib_matrix *e = &c->mats[c->mats[i].leader];
    /* a tied embedding table is also read row by row as token embeddings,
     * where its plain weight error counts: GPTQ would trade that for output error */
    if (!e->count || e->mat == &c->m->tok_embd) return NULL;
    if (!e->factored) {
        if (gf_gptq_factor(e->h, e->mat->n, GF_GPTQ_BLOCK, (double)e->count, GF_GPTQ_DAMP) < 0) return NULL;
        e->factored = 1; /* statistics are final from here on */
    }
    return e->h;
}

int gf_calib_apply(gf_calib *c, gf_transcoder *t) {
    int widest = 0;
    for (int i = 0; i < c->n_mats; i++)
        if (c->mats[i].mat->n > widest) widest = c->mats[i].mat->n;
    float *w = malloc((size_t)widest * sizeof *w);
    if (!w) return gf_fail_nomem("importance weights", (size_t)widest * 4);
    int s = GF_OK;
    for (int i = 0; i < c->n_mats && s == GF_OK; i++) {
        if (!gf_calib_importance(c, i, w)) continue;
        s = gf_transcoder_set_importance(t, c->mats[i].name, w, c->mats[i].mat->n);
        const float *u = s == GF_OK ? gf_calib_gptq(c, i) : NULL;
        if (u) s = gf_transcoder_set_gptq(t, c->mats[i].name, u, c->mats[i].mat->n, GF_GPTQ_BLOCK);
    }
    free(w);
    return s;
}

gf_model *gf_calib_model(gf_calib *c) { return c->m; }
gf_context *gf_calib_context(gf_calib *c) { return c->ctx; }
int gf_calib_n_matrices(const gf_calib *c) { return c->n_mats; }
gf_calib_matrix *gf_calib_matrix_at(gf_calib *c, int i) { return &c->mats[i]; }

void gf_calib_budget(const gf_calib *c, double *elements, double *fixed_bits) {
    double matrix_bytes = 0;
    for (int i = 0; i < c->n_mats; i++) matrix_bytes += (double)c->mats[i].rows * (double)c->mats[i].mat->row_bytes;
    *elements = (double)c->m->weight_elements;
    *fixed_bits = 8.0 * ((double)c->m->weight_bytes - matrix_bytes);
}
