#include "sample/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct {
    float logit;
    int32_t id;
} candidate;

struct gf_sampler {
    gf_sampler_params p;
    int32_t n_vocab;
    candidate *cand;
    int32_t *recent; /* ring buffer of the last repeat_last_n tokens */
    int32_t n_recent, recent_head;
    uint64_t rng;
    int32_t *bias_ids; /* logit bias, applied first */
    float *bias;
    int32_t n_bias;
    int32_t *counts;   /* occurrences in the recent window, for the presence/frequency penalties */
};

void gf_sampler_defaults(gf_sampler_params *p) {
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->seed = 0;
    p->presence_penalty = 0;
    p->frequency_penalty = 0;
}

int gf_sampler_validate(const gf_sampler_params *p) {
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return gf_fail("sampler: temperature must be a finite number >= 0 (0 = greedy), got %g", p->temperature);
    if (p->top_k < 0) return gf_fail("sampler: topK must be >= 0 (0 = off), got %d", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1)) return gf_fail("sampler: topP must be in (0, 1] (1 = off), got %g", p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1)) return gf_fail("sampler: minP must be in [0, 1] (0 = off), got %g", p->min_p);
    if (!(p->repeat_penalty > 0) || !isfinite(p->repeat_penalty))
        return gf_fail("sampler: repeatPenalty must be a finite number > 0 (1 = off), got %g", p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 20))
        return gf_fail("sampler: repeatLastN must be in [0, 1048576], got %d", p->repeat_last_n);
    if (!(p->presence_penalty >= -2 && p->presence_penalty <= 2))
        return gf_fail("sampler: presencePenalty must be in [-2, 2], got %g", p->presence_penalty);
    if (!(p->frequency_penalty >= -2 && p->frequency_penalty <= 2))
        return gf_fail("sampler: frequencyPenalty must be in [-2, 2], got %g", p->frequency_penalty);
    return GF_OK;
}

/* splitmix64: a full-period generator whose every seed (0 included) is good */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

int gf_sampler_new(const gf_sampler_params *p, int32_t n_vocab, gf_sampler **out) {
    *out = NULL;
    int s = gf_sampler_validate(p);
    if (s < 0) return s;
    gf_sampler *sm = calloc(1, sizeof *sm);
    if (!sm) return gf_fail_nomem("the sampler", sizeof *sm);
    sm->p = *p;
    sm->n_vocab = n_vocab;
    sm->cand = malloc((size_t)n_vocab * sizeof *sm->cand);
    sm->recent = malloc((size_t)(p->repeat_last_n ? p->repeat_last_n : 1) * sizeof *sm->recent);
    if (p->presence_penalty != 0 || p->frequency_penalty != 0) sm->counts = calloc((size_t)n_vocab, sizeof *sm->counts);
    if (!sm->cand || !sm->recent || ((p->presence_penalty != 0 || p->frequency_penalty != 0) && !sm->counts)) {
        gf_sampler_free(sm);
        return gf_fail_nomem("the sampler", (size_t)n_vocab * sizeof(candidate));
    }
    sm->rng = p->seed;
    *out = sm;
    return GF_OK;
}

void gf_sampler_free(gf_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->recent);
    free(s->bias_ids);
    free(s->bias);
    free(s->counts);
    free(s);
}

void gf_sampler_accept(gf_sampler *s, int32_t id) {
    if (!s->p.repeat_last_n) return;
    if (s->counts) {
        if (s->n_recent == s->p.repeat_last_n) s->counts[s->recent[s->recent_head]]--; /* leaves the window */
        s->counts[id]++;
    }
    s->recent[s->recent_head] = id;
    s->recent_head = (s->recent_head + 1) % s->p.repeat_last_n;
    if (s->n_recent < s->p.repeat_last_n) s->n_recent++;
}

/* Higher logit first; ties by lower id, so the order is fully determined. */
static int better(const candidate *a, const candidate *b) { return a->logit > b->logit || (a->logit == b->logit && a->id < b->id); }

static void swap(candidate *a, candidate *b) {
    candidate t = *a;
    *a = *b;
    *b = t;
}

/* h[0..k) as a heap whose root is its worst candidate: restores the order
 * below position i. */
static void sift_down(candidate *h, int32_t k, int32_t i) {
    for (;;) {
        int32_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < k && better(&h[w], &h[l])) w = l;
        if (r < k && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        swap(&h[i], &h[w]);
        i = w;
    }
}

/* Moves the k best candidates to the front (unordered), the others behind
 * them: one pass keeps the best so far in a heap whose root is the worst of
 * them, so nearly every candidate is turned away by one comparison (a
 * quickselect moved the 32000 candidates of a llama vocabulary around
 * several times: sampling took 3% of a 110M decode step). */
static void select_best(candidate *c, int32_t n, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            swap(&c[0], &c[i]);
            sift_down(c, k, 0);
        }
    }
}

static int cmp_candidates(const void *a, const void *b) { return better(a, b) ? -1 : better(b, a) ? 1 : 0; }

/* Sorts the best k of n to the front; returns k clamped to n. */
static int32_t sort_best(candidate *c, int32_t n, int32_t k) {
    if (k > n) k = n;
    if (k < n) select_best(c, n, k);
    qsort(c, (size_t)k, sizeof *c, cmp_candidates);
    return k;
}

int32_t gf_sampler_sample(gf_sampler *s, const float *logits, int32_t banned) {
    int32_t n = s->n_vocab;
    candidate *c = s->cand;
    /* NaN (a broken model) would break the ordering quickselect relies on */
    for (int32_t i = 0; i < n; i++) c[i] = (candidate){isnan(logits[i]) ? -INFINITY : logits[i], i};
    for (int32_t i = 0; i < s->n_bias; i++) c[s->bias_ids[i]].logit += s->bias[i];
    if (banned >= 0 && banned < n) c[banned].logit = -INFINITY;
    if (s->p.repeat_penalty != 1.0f) {
        for (int32_t i = 0; i < s->n_recent; i++) {
            candidate *t = &c[s->recent[i]];
            /* applied once per distinct token, as llama.cpp does */
            int seen = 0;
            for (int32_t j = 0; j < i; j++) seen |= s->recent[j] == s->recent[i];
            if (seen) continue;
            t->logit = t->logit > 0 ? t->logit / s->p.repeat_penalty : t->logit * s->p.repeat_penalty;
        }
    }
    if (s->counts) {
        /* OpenAI's penalties, over the same window, once per distinct token */
        for (int32_t i = 0; i < s->n_recent; i++) {
            int32_t id = s->recent[i], k = s->counts[id];
            if (k <= 0) continue;
            int seen = 0;
            for (int32_t j = 0; j < i; j++) seen |= s->recent[j] == id;
            if (seen) continue;
            c[id].logit -= (float)k * s->p.frequency_penalty + s->p.presence_penalty;
        }
    }
    if (s->p.temperature <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (better(&c[i], &c[best])) best = i;
        return c[best].id;
    }

    /* top-k; without it, top-p/min-p still only need the head of the
     * distribution, so sort a growing prefix instead of the whole vocab */
    int32_t m = s->p.top_k > 0 ? sort_best(c, n, s->p.top_k) : n;
    int32_t sorted = s->p.top_k > 0 ? m : 0;
    if (!sorted) sorted = sort_best(c, n, 256 < n ? 256 : n);

    float max = c[0].logit;
    if (s->p.top_p < 1.0f || s->p.min_p > 0.0f) {
        /* probabilities before temperature, as llama.cpp's chain computes them */
        double total = 0;
        for (int32_t i = 0; i < m; i++) total += exp((double)c[i].logit - max);
        double cum = 0, floor_p = s->p.min_p * 1.0; /* relative to the top token's probability (= 1/total scaled) */
        int32_t keep = m;
        for (int32_t i = 0; i < m; i++) {
            if (i == sorted) sorted = sort_best(c + i, m - i, sorted) + i; /* extend the sorted prefix */
            double pr = exp((double)c[i].logit - max);
            if (s->p.min_p > 0 && i > 0 && pr < floor_p) {
                keep = i;
                break;
            }
            cum += pr / total;
            if (s->p.top_p < 1.0f && cum >= s->p.top_p) {
                keep = i + 1;
                break;
            }
        }
        m = keep;
    }

    double total = 0;
    for (int32_t i = 0; i < m; i++) total += exp(((double)c[i].logit - max) / s->p.temperature);
    double u = next_unit(&s->rng) * total, acc = 0;
    for (int32_t i = 0; i < m; i++) {
        acc += exp(((double)c[i].logit - max) / s->p.temperature);
        if (u < acc) return c[i].id;
    }
    return c[m - 1].id;
}

int gf_sampler_set_bias(gf_sampler *s, const int32_t *ids, const float *bias, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= s->n_vocab)
            return gf_fail("logitBias: token id %d is out of range (vocabulary has %d tokens)", ids[i], s->n_vocab);
        if (isnan(bias[i]) || bias[i] == INFINITY) return gf_fail("logitBias: the bias of token %d must be a finite number or -Infinity, got %g", ids[i], bias[i]);
    }
    int32_t *new_ids = n ? malloc((size_t)n * sizeof *new_ids) : NULL;
    float *new_bias = n ? malloc((size_t)n * sizeof *new_bias) : NULL;
    if (n && (!new_ids || !new_bias)) {
        free(new_ids);
        free(new_bias);
        return gf_fail_nomem("the logit bias", (size_t)n * 8);
    }
    if (n) {
        memcpy(new_ids, ids, (size_t)n * sizeof *ids);
        memcpy(new_bias, bias, (size_t)n * sizeof *bias);
    }
    free(s->bias_ids);
    free(s->bias);
    s->bias_ids = new_ids;
    s->bias = new_bias;
    s->n_bias = n;
    return GF_OK;
}

double gf_logprobs(const float *logits, int32_t n_vocab, int32_t chosen, int32_t top_n, int32_t *top_ids, double *top_logprobs) {
    float max = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double total = 0;
    for (int32_t i = 0; i < n_vocab; i++) total += exp((double)logits[i] - max);
    double log_total = log(total) + max;
    /* the top_n by insertion into a short sorted list: top_n is small (OpenAI allows 20) */
    int32_t have = 0;
    for (int32_t i = 0; i < n_vocab && top_n > 0; i++) {
        double v = logits[i];
        if (have == top_n && !(v > top_logprobs[have - 1])) continue;
        int32_t at = have < top_n ? have++ : have - 1;
        while (at > 0 && v > top_logprobs[at - 1]) {
            top_logprobs[at] = top_logprobs[at - 1];
            top_ids[at] = top_ids[at - 1];
            at--;
        }
        top_logprobs[at] = v;
        top_ids[at] = i;
    }
    for (int32_t i = 0; i < have; i++) top_logprobs[i] -= log_total;
    return (double)logits[chosen] - log_total;
}
