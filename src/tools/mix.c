#include "tools/mix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/quantize.h"
#include "tools/quantize_gptq.h"
#include "quant/registry.h"

#define MAX_REF_FLOATS (16u << 20) /* 64 MB of reference log-probabilities */

#define MAX_CAND GF_MIX_MAX_CANDIDATES

typedef struct {
    double kl[MAX_CAND]; /* NAN: the type does not fit the rows */
    double bits[MAX_CAND];
    int choice;
} mix_entry;

struct gf_mix {
    gf_calib *c;
    uint32_t cand[MAX_CAND]; /* the candidate types: every type the quantizer writes, fewest bits first */
    int n_cand;
    int n_chunks;
    int64_t rows;      /* scored rows (all rows of the chunks used) */
    int32_t n_vocab;
    float *ref_lp;     /* reference log-probabilities, rows x n_vocab */
    float *logits;     /* one chunk's logits */
    double *lp;        /* one row's log-probabilities */
    mix_entry *e;
    int n;
    double target, bpw, predicted;
    char *json;
};

static double log_softmax(const float *row, int32_t n, double *out) {
    float max = row[0];
    for (int32_t i = 1; i < n; i++) max = row[i] > max ? row[i] : max;
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)row[i] - max);
    double lse = max + log(sum);
    for (int32_t i = 0; i < n; i++) out[i] = row[i] - lse;
    return lse;
}

static int chunk_rows(const gf_mix *x, int chunk) {
    int32_t n;
    gf_calib_chunk(x->c, chunk, &n);
    return n;
}

int gf_mix_new(gf_calib *c, int max_chunks, gf_mix **out) {
    *out = NULL;
    gf_mix *x = calloc(1, sizeof *x);
    if (!x) return gf_fail_nomem("the mix search", sizeof *x);
    x->c = c;
    for (uint32_t t = 0; t < GF_TYPE_COUNT; t++) {
        if (!gf_quantize_has_method(t, GF_QUANT_SEARCH)) continue;
        if (x->n_cand == MAX_CAND) {
            gf_mix_free(x);
            return gf_fail("mix: more than %d writable types (raise MAX_CAND in src/tools/mix.c)", MAX_CAND);
        }
        /* insertion by bits per weight (bytes per block / elements), ties by id */
        const gf_type_traits *ti = gf_type_info(t);
        int at = x->n_cand;
        while (at > 0) {
            const gf_type_traits *tp = gf_type_info(x->cand[at - 1]);
            if ((uint64_t)tp->bytes * ti->block <= (uint64_t)ti->bytes * tp->block) break;
            x->cand[at] = x->cand[at - 1];
            at--;
        }
        x->cand[at] = t;
        x->n_cand++;
    }
    x->n_vocab = gf_calib_model(c)->hp.n_vocab;
    int s = GF_OK;
    int avail = gf_calib_n_chunks(c);
    if (avail < 1) {
        s = gf_fail("mix: no calibration text");
        goto fail;
    }
    x->n_chunks = max_chunks < avail ? max_chunks : avail;
    if (x->n_chunks < 1) x->n_chunks = 1;
    for (int i = 0; i < x->n_chunks; i++) {
        if ((uint64_t)(x->rows + chunk_rows(x, i)) * (uint64_t)x->n_vocab > MAX_REF_FLOATS && i > 0) {
            x->n_chunks = i;
            break;
        }
        x->rows += chunk_rows(x, i);
    }
    x->n = gf_calib_n_matrices(c);
    int32_t longest = chunk_rows(x, 0);
    x->ref_lp = malloc((size_t)x->rows * (size_t)x->n_vocab * sizeof *x->ref_lp);
    x->logits = malloc((size_t)longest * (size_t)x->n_vocab * sizeof *x->logits);
    x->lp = malloc((size_t)x->n_vocab * sizeof *x->lp);
    x->e = calloc((size_t)x->n, sizeof *x->e);
    if (!x->ref_lp || !x->logits || !x->lp || !x->e) {
        s = gf_fail_nomem("the mix search", (size_t)x->rows * (size_t)x->n_vocab * 4);
        goto fail;
    }
    gf_calib_observe(c, 0);
    int64_t row = 0;
    for (int ch = 0; ch < x->n_chunks; ch++) {
        if ((s = gf_calib_eval(c, ch, x->logits)) < 0) goto fail;
        for (int r = 0; r < chunk_rows(x, ch); r++, row++) {
            log_softmax(x->logits + (size_t)r * x->n_vocab, x->n_vocab, x->lp);
            for (int32_t v = 0; v < x->n_vocab; v++) x->ref_lp[(size_t)row * x->n_vocab + v] = (float)x->lp[v];
        }
    }
    for (int i = 0; i < x->n; i++) {
        const gf_calib_matrix *m = gf_calib_matrix_at(c, i);
        for (int k = 0; k < x->n_cand; k++) {
            size_t rb = gf_row_bytes(x->cand[k], (uint64_t)m->mat->n);
            x->e[i].kl[k] = NAN;
            x->e[i].bits[k] = rb ? (double)rb * 8 * (double)m->rows : NAN;
        }
    }
    *out = x;
    return GF_OK;
fail:
    gf_mix_free(x);
    return s;
}

void gf_mix_free(gf_mix *x) {
    if (!x) return;
    free(x->ref_lp);
    free(x->logits);
    free(x->lp);
    free(x->e);
    free(x->json);
    free(x);
}

int gf_mix_steps(const gf_mix *x) { return x->n * x->n_cand; }

/* Mean KL(reference || current model) over the measured rows. */
static int measure_kl(gf_mix *x, double *out) {
    double sum = 0;
    int64_t row = 0;
    for (int ch = 0; ch < x->n_chunks; ch++) {
        int s = gf_calib_eval(x->c, ch, x->logits);
        if (s < 0) return s;
        for (int r = 0; r < chunk_rows(x, ch); r++, row++) {
            log_softmax(x->logits + (size_t)r * x->n_vocab, x->n_vocab, x->lp);
            const float *ref = x->ref_lp + (size_t)row * x->n_vocab;
            double kl = 0;
            for (int32_t v = 0; v < x->n_vocab; v++) kl += exp((double)ref[v]) * ((double)ref[v] - x->lp[v]);
            sum += kl;
        }
    }
    *out = sum / (double)x->rows;
    return GF_OK;
}

int gf_mix_measure(gf_mix *x, int step) {
    if (step < 0 || step >= gf_mix_steps(x)) return gf_fail("mix: no step %d", step);
    int i = step / x->n_cand, k = step % x->n_cand;
    gf_calib_matrix *cm = gf_calib_matrix_at(x->c, i);
    if (isnan(x->e[i].bits[k])) return GF_OK;
    gf_model *m = gf_calib_model(x->c);
    gf_matrix *mat = cm->mat, saved = *mat;
    uint32_t type = x->cand[k];
    size_t rb = gf_row_bytes(type, (uint64_t)mat->n);
    uint8_t *q = malloc(rb * (size_t)cm->rows);
    float *row = malloc((size_t)mat->n * sizeof *row), *imp = malloc((size_t)mat->n * sizeof *imp);
    float *scratch = malloc((size_t)mat->n * sizeof *scratch);
    int s = GF_OK;
    if (!q || !row || !imp || !scratch) {
        s = gf_fail_nomem("a quantized matrix copy", rb * (size_t)cm->rows);
        goto done;
    }
    int have_imp = gf_calib_importance(x->c, i, imp);
    /* as the transcoder writes it: GPTQ where the type has level layouts (not BF16) */
    const float *u = have_imp && gf_gptq_supported(type) ? gf_calib_gptq(x->c, i) : NULL;
    for (int64_t r = 0; r < cm->rows && s == GF_OK; r++) {
        gf_dequantize_row(mat->type, (const char *)mat->data + (size_t)r * mat->row_bytes, row, mat->n);
        /* measured exactly as the file will be written */
        s = u ? gf_quantize_row_gptq(type, row, imp, u, GF_GPTQ_BLOCK, q + (size_t)r * rb, mat->n, scratch)
              : gf_quantize_row(type, GF_QUANT_SEARCH, row, have_imp ? imp : NULL, q + (size_t)r * rb, mat->n);
    }
    if (s < 0) goto done;
    mat->type = type;
    mat->row_bytes = rb;
    mat->data = q;
    if (m->tied_output && mat == &m->tok_embd) m->output = *mat;
    s = measure_kl(x, &x->e[i].kl[k]);
    *mat = saved;
    if (m->tied_output && mat == &m->tok_embd) m->output = saved;
done:
    free(q);
    free(row);
    free(imp);
    free(scratch);
    return s;
}

static int measured(const mix_entry *e, int k) { return !isnan(e->kl[k]) && !isnan(e->bits[k]); }

#define BUDGET_STEPS 65536 /* the spare budget is discretized into this many units */

int gf_mix_assign(gf_mix *x, double target_bpw) {
    double elements, fixed, least = 0;
    gf_calib_budget(x->c, &elements, &fixed);
    for (int i = 0; i < x->n; i++) {
        const gf_calib_matrix *cm = gf_calib_matrix_at(x->c, i);
        double cheapest = NAN;
        for (int k = 0; k < x->n_cand; k++)
            if (measured(&x->e[i], k) && !(x->e[i].bits[k] >= cheapest)) cheapest = x->e[i].bits[k];
        if (isnan(cheapest))
            return gf_fail("mix: tensor '%s' could not be measured (its rows of %d fit no candidate type)", cm->name, cm->mat->n);
        least += cheapest;
    }
    double budget = target_bpw * elements - fixed;
    if (least > budget * (1 + 1e-12))
        return gf_fail("mix: %.3f bits per weight is below the smallest mix for this model (%.3f: every matrix at its cheapest type, %s where "
                       "the rows allow, vectors as stored)",
                       target_bpw, (least + fixed) / elements, gf_type_name(x->cand[0]));
    /* Multiple-choice knapsack by dynamic programming: best[b] is the least
     * total KL of the matrices so far with b units of bits above their
     * cheapest types. Costs are rounded to the nearest unit; if the rounding
     * lets the result exceed the budget, the cheapest downgrades (least KL
     * added per bit saved) bring it back. */
    double *cheap = malloc((size_t)x->n * sizeof *cheap);
    double *best = malloc((BUDGET_STEPS + 1) * sizeof *best), *next = malloc((BUDGET_STEPS + 1) * sizeof *next);
    uint8_t *pick = malloc((size_t)x->n * (BUDGET_STEPS + 1));
    if (!cheap || !best || !next || !pick) {
        free(cheap);
        free(best);
        free(next);
        free(pick);
        return gf_fail_nomem("the mix assignment", (size_t)x->n * (BUDGET_STEPS + 1));
    }
    for (int i = 0; i < x->n; i++) {
        cheap[i] = INFINITY;
        for (int k = 0; k < x->n_cand; k++)
            if (measured(&x->e[i], k) && x->e[i].bits[k] < cheap[i]) cheap[i] = x->e[i].bits[k];
    }
    double spare = budget - least, unit = spare > 0 ? spare / BUDGET_STEPS : 1;
    for (int b = 0; b <= BUDGET_STEPS; b++) best[b] = 0;
    for (int i = 0; i < x->n; i++) {
        const mix_entry *e = &x->e[i];
        for (int b = 0; b <= BUDGET_STEPS; b++) {
            next[b] = INFINITY;
            pick[(size_t)i * (BUDGET_STEPS + 1) + b] = 0;
            for (int k = 0; k < x->n_cand; k++) {
                if (!measured(e, k)) continue;
                double cost = floor((e->bits[k] - cheap[i]) / unit + 0.5);
                if (cost > b) continue;
                double v = best[b - (int)cost] + e->kl[k];
                if (v < next[b]) {
                    next[b] = v;
                    pick[(size_t)i * (BUDGET_STEPS + 1) + b] = (uint8_t)k;
                }
            }
        }
        double *t = best;
        best = next;
        next = t;
    }
    int b = BUDGET_STEPS;
    double used = fixed;
    for (int i = x->n - 1; i >= 0; i--) {
        int k = pick[(size_t)i * (BUDGET_STEPS + 1) + b];
        x->e[i].choice = k;
        used += x->e[i].bits[k];
        b -= (int)floor((x->e[i].bits[k] - cheap[i]) / unit + 0.5);
    }
    free(cheap);
    free(best);
    free(next);
    free(pick);
    while (used > budget + fixed + 1e-6) {
        int bi = -1, bk = -1;
        double best_ratio = INFINITY;
        for (int i = 0; i < x->n; i++) {
            const mix_entry *e = &x->e[i];
            for (int k = 0; k < x->n_cand; k++) {
                if (!measured(e, k) || e->bits[k] >= e->bits[e->choice]) continue;
                double ratio = (e->kl[k] - e->kl[e->choice]) / (e->bits[e->choice] - e->bits[k]);
                if (ratio < best_ratio) {
                    best_ratio = ratio;
                    bi = i;
                    bk = k;
                }
            }
        }
        if (bi < 0) return gf_fail("mix: no assignment fits %.3f bits per weight", target_bpw);
        used += x->e[bi].bits[bk] - x->e[bi].bits[x->e[bi].choice];
        x->e[bi].choice = bk;
    }
    x->target = target_bpw;
    x->bpw = used / elements;
    x->predicted = 0;
    for (int i = 0; i < x->n; i++) x->predicted += x->e[i].kl[x->e[i].choice];

    /* the JSON the caller prints */
    size_t cap = 512 + (size_t)x->n * (GGUF_TENSOR_NAME_MAX + 64 + x->n_cand * 40);
    free(x->json);
    x->json = malloc(cap);
    if (!x->json) return gf_fail_nomem("the mix description", cap);
    double by_type[MAX_CAND] = {0};
    for (int i = 0; i < x->n; i++) by_type[x->e[i].choice] += x->e[i].bits[x->e[i].choice];
    int main_k = 0;
    for (int k = 1; k < x->n_cand; k++)
        if (by_type[k] > by_type[main_k]) main_k = k;
    size_t o = (size_t)snprintf(x->json, cap, "{\"target\":%g,\"bitsPerWeight\":%.4f,\"predictedKl\":%.6g,\"tokens\":%lld,\"mainType\":\"%s\",\"tensors\":[",
                                target_bpw, x->bpw, x->predicted, (long long)x->rows, gf_type_name(x->cand[main_k]));
    for (int i = 0; i < x->n && o < cap; i++) {
        const mix_entry *e = &x->e[i];
        o += (size_t)snprintf(x->json + o, cap - o, "%s{\"name\":\"%s\",\"type\":\"%s\",\"kl\":{", i ? "," : "", gf_calib_matrix_at(x->c, i)->name,
                              gf_type_name(x->cand[e->choice]));
        int first = 1;
        for (int k = 0; k < x->n_cand && o < cap; k++) {
            if (!measured(e, k)) continue;
            o += (size_t)snprintf(x->json + o, cap - o, "%s\"%s\":%.6g", first ? "" : ",", gf_type_name(x->cand[k]), e->kl[k]);
            first = 0;
        }
        if (o < cap) o += (size_t)snprintf(x->json + o, cap - o, "}}");
    }
    if (o < cap) o += (size_t)snprintf(x->json + o, cap - o, "]}");
    if (o >= cap) return gf_fail("mix: description too long");
    return GF_OK;
}

const char *gf_mix_json(const gf_mix *x) { return x->json ? x->json : "null"; }

int gf_mix_apply(const gf_mix *x, gf_transcoder *t) {
    if (!x->json) return gf_fail("mix: no assignment yet");
    for (int i = 0; i < x->n; i++) {
        int s = gf_transcoder_set_type(t, gf_calib_matrix_at(x->c, i)->name, x->cand[x->e[i].choice]);
        if (s < 0) return s;
    }
    return GF_OK;
}

/* ---- for mix_prune.c ---- */
int gf_mix_n_candidates(const gf_mix *x) { return x->n_cand; }
uint32_t gf_mix_candidate(const gf_mix *x, int k) { return x->cand[k]; }
int gf_mix_n_matrices(const gf_mix *x) { return x->n; }
double gf_mix_kl(const gf_mix *x, int i, int k) { return measured(&x->e[i], k) ? x->e[i].kl[k] : NAN; }
gf_calib *gf_mix_calib(gf_mix *x) { return x->c; }
int gf_mix_measure_model(gf_mix *x, double *kl) { return measure_kl(x, kl); }
double gf_mix_predicted_kl(const gf_mix *x) { return x->predicted; }
