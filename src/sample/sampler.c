#include "sample/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#include "base/error.h"

typedef struct {
    float logit;
    int32_t id;
} candidate;

/* A big vocabulary (151,936 tokens for Qwen3, 262,144 for Gemma 3) makes
 * every pass over the logits count in a decode step. So the raw logits are
 * read where they are: the few tokens the bias, the banned token and the
 * penalties change are gathered each step, sorted, with their changed
 * values (touch_ids / touch_val), and greedy decoding and top-k read the
 * vocabulary between them straight from the logits, skipping 16 tokens at
 * a time (four SIMD compares: exact, no arithmetic) while none of them can
 * enter the result. Only without
 * top-k (top-p/min-p alone, or a draw over the whole vocabulary) is a
 * candidate per token written, because there the order of the remaining
 * candidates decides which token a draw lands on. */
struct gf_sampler {
    gf_sampler_params p;
    int32_t n_vocab;
    candidate *cand;   /* without top-k: one per token; with it: the top-k heap */
    double *weight;    /* the final draw's weight of each kept candidate, computed once */
    int32_t *recent;   /* ring buffer of the last repeat_last_n tokens */
    int32_t n_recent, recent_head;
    uint64_t rng;
    int32_t *bias_ids; /* logit bias, applied first; sorted by id, keeping the given order among equal ids */
    float *bias;
    int32_t n_bias;
    int32_t *counts;   /* occurrences in the recent window, for the presence/frequency penalties */
    int32_t *touch_ids; /* this step's changed tokens, ascending (capacity: window + banned + bias) */
    float *touch_val;
    int32_t n_touch;
    int32_t *sorted_recent; /* scratch: the window's tokens in order */
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

/* Candidates kept per step: top-k's k, else the whole vocabulary. */
static int32_t kept_max(const gf_sampler_params *p, int32_t n_vocab) { return p->top_k > 0 && p->top_k < n_vocab ? p->top_k : n_vocab; }

int gf_sampler_new(const gf_sampler_params *p, int32_t n_vocab, gf_sampler **out) {
    *out = NULL;
    int s = gf_sampler_validate(p);
    if (s < 0) return s;
    gf_sampler *sm = calloc(1, sizeof *sm);
    if (!sm) return gf_fail_nomem("the sampler", sizeof *sm);
    sm->p = *p;
    sm->n_vocab = n_vocab;
    size_t window = (size_t)(p->repeat_last_n ? p->repeat_last_n : 1), kept = (size_t)kept_max(p, n_vocab);
    int penalties = p->presence_penalty != 0 || p->frequency_penalty != 0;
    sm->cand = malloc(kept * sizeof *sm->cand);
    sm->weight = malloc(kept * sizeof *sm->weight);
    sm->recent = malloc(window * sizeof *sm->recent);
    sm->sorted_recent = malloc(window * sizeof *sm->sorted_recent);
    sm->touch_ids = malloc((window + 1) * sizeof *sm->touch_ids);
    sm->touch_val = malloc((window + 1) * sizeof *sm->touch_val);
    if (penalties) sm->counts = calloc((size_t)n_vocab, sizeof *sm->counts);
    if (!sm->cand || !sm->weight || !sm->recent || !sm->sorted_recent || !sm->touch_ids || !sm->touch_val || (penalties && !sm->counts)) {
        gf_sampler_free(sm);
        return gf_fail_nomem("the sampler", kept * (sizeof(candidate) + sizeof(double)) + (penalties ? (size_t)n_vocab * 4 : 0));
    }
    sm->rng = p->seed;
    *out = sm;
    return GF_OK;
}

void gf_sampler_free(gf_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->weight);
    free(s->recent);
    free(s->sorted_recent);
    free(s->touch_ids);
    free(s->touch_val);
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

static int cmp_ids(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Gathers this step's changed tokens in ascending order with their values:
 * a NaN logit counts as -inf, then the token's biases (in the order given),
 * the ban, the repetition penalty once per distinct token in the window
 * (as llama.cpp), then OpenAI's presence/frequency penalties over the same
 * window: per token, the operations the logits went through before. */
static void gather_changes(gf_sampler *s, const float *logits, int32_t banned) {
    int32_t n = s->n_vocab, nr = 0;
    int penalize = s->p.repeat_penalty != 1.0f || s->counts;
    if (penalize) {
        memcpy(s->sorted_recent, s->recent, (size_t)s->n_recent * sizeof *s->recent);
        qsort(s->sorted_recent, (size_t)s->n_recent, sizeof *s->sorted_recent, cmp_ids);
        nr = s->n_recent;
    }
    if (!(banned >= 0 && banned < n)) banned = -1;
    int32_t r = 0, b = 0, m = 0;
    for (;;) {
        /* the smallest id left among the window, the bias and the banned token */
        int32_t id = INT32_MAX;
        if (r < nr) id = s->sorted_recent[r];
        if (b < s->n_bias && s->bias_ids[b] < id) id = s->bias_ids[b];
        if (banned >= 0 && banned < id) id = banned;
        if (id == INT32_MAX) break;
        float v = isnan(logits[id]) ? -INFINITY : logits[id];
        for (; b < s->n_bias && s->bias_ids[b] == id; b++) v += s->bias[b];
        if (id == banned) {
            v = -INFINITY;
            banned = -1;
        }
        if (r < nr && s->sorted_recent[r] == id) {
            while (r < nr && s->sorted_recent[r] == id) r++;
            if (s->p.repeat_penalty != 1.0f) v = v > 0 ? v / s->p.repeat_penalty : v * s->p.repeat_penalty;
            if (s->counts && s->counts[id] > 0) v -= (float)s->counts[id] * s->p.frequency_penalty + s->p.presence_penalty;
        }
        s->touch_ids[m] = id;
        s->touch_val[m++] = v;
    }
    s->n_touch = m;
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

/* The first i in [0, n) with x[i] > t (never a NaN), or n. */
static int32_t first_above(const float *x, int32_t n, float t) {
    int32_t i = 0;
#ifdef __wasm_simd128__
    v128_t vt = wasm_f32x4_splat(t);
    for (; i + 16 <= n; i += 16) {
        v128_t a = wasm_v128_or(wasm_f32x4_gt(wasm_v128_load(x + i), vt), wasm_f32x4_gt(wasm_v128_load(x + i + 4), vt));
        v128_t b = wasm_v128_or(wasm_f32x4_gt(wasm_v128_load(x + i + 8), vt), wasm_f32x4_gt(wasm_v128_load(x + i + 12), vt));
        if (wasm_v128_any_true(wasm_v128_or(a, b))) break; /* the scalar loop finds it within these 16 */
    }
#endif
    for (; i < n; i++)
        if (x[i] > t) return i;
    return n;
}

/* The k best tokens (higher logit, then lower id) in a heap whose root is
 * the worst of them, fed tokens in ascending id order: the first k fill it;
 * after that a token enters only with a logit above the root's (at an equal
 * logit its id, higher than every id in the heap, makes it worse). A NaN
 * counts as -inf, so it never enters once the heap is full. */
typedef struct {
    candidate *h;
    int32_t k, have;
} best_k;

static void offer(best_k *t, float v, int32_t id) {
    if (t->have < t->k) {
        t->h[t->have++] = (candidate){isnan(v) ? -INFINITY : v, id};
        if (t->have == t->k)
            for (int32_t i = t->k / 2 - 1; i >= 0; i--) sift_down(t->h, t->k, i);
    } else if (v > t->h[0].logit) {
        t->h[0] = (candidate){v, id};
        sift_down(t->h, t->k, 0);
    }
}

static void offer_range(best_k *t, const float *x, int32_t i, int32_t end) {
    for (; i < end && t->have < t->k; i++) offer(t, x[i], i);
    while (i < end) {
        i += first_above(x + i, end - i, t->h[0].logit);
        if (i >= end) return;
        t->h[0] = (candidate){x[i], i};
        sift_down(t->h, t->k, 0);
        i++;
    }
}

/* Every token once, in id order: the raw logits between the changed
 * tokens, the changed ones with their values. */
static void select_best(gf_sampler *s, const float *logits, best_k *t) {
    int32_t at = 0;
    for (int32_t j = 0; j < s->n_touch; j++) {
        int32_t id = s->touch_ids[j];
        offer_range(t, logits, at, id);
        offer(t, s->touch_val[j], id);
        at = id + 1;
    }
    offer_range(t, logits, at, s->n_vocab);
}

static int cmp_candidates(const void *a, const void *b) { return better(a, b) ? -1 : better(b, a) ? 1 : 0; }

/* Sorts the best k of c[0..n) to the front; returns k clamped to n. */
static int32_t sort_best(candidate *c, int32_t n, int32_t k) {
    if (k > n) k = n;
    if (k < n) {
        for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
        for (int32_t i = k; i < n; i++) {
            if (better(&c[i], &c[0])) {
                swap(&c[0], &c[i]);
                sift_down(c, k, 0);
            }
        }
    }
    qsort(c, (size_t)k, sizeof *c, cmp_candidates);
    return k;
}

/* Sorts the next candidates of c[i..m) to its front: those whose logit is
 * at least max - *reach (every one once the reach passes 256), widening the
 * reach until some are. Returns the end of the sorted prefix. top-p and
 * min-p walk the sorted prefix and stop inside it, and the final draw reads
 * only it: which candidates come next in the order matters, not where the
 * others stay. (A heap select of as many again as were sorted, over the
 * rest of a flat 262,144-token distribution, took ~85 ms per token.) */
static int32_t extend_sorted(candidate *c, int32_t i, int32_t m, float max, double *reach) {
    for (;;) {
        float t = *reach > 256 ? -INFINITY : (float)(max - *reach);
        int32_t j = i;
        for (int32_t q = i; q < m; q++)
            if (c[q].logit >= t) swap(&c[j++], &c[q]);
        *reach *= 2;
        if (j > i) {
            qsort(c + i, (size_t)(j - i), sizeof *c, cmp_candidates);
            return j;
        }
    }
}

int32_t gf_sampler_sample(gf_sampler *s, const float *logits, int32_t banned) {
    int32_t n = s->n_vocab;
    candidate *c = s->cand;
    gather_changes(s, logits, banned);
    if (s->p.temperature <= 0 || s->p.top_k > 0) {
        /* greedy is the best one */
        best_k t = {c, s->p.temperature <= 0 ? 1 : kept_max(&s->p, n), 0};
        select_best(s, logits, &t);
        if (s->p.temperature <= 0) return c[0].id;
    }

    /* top-k; without it, top-p/min-p still only need the head of the
     * distribution, so sort a growing prefix instead of the whole vocab */
    int32_t m, sorted;
    if (s->p.top_k > 0) {
        m = sorted = kept_max(&s->p, n);
        qsort(c, (size_t)m, sizeof *c, cmp_candidates);
    } else {
        for (int32_t i = 0; i < n; i++) c[i] = (candidate){isnan(logits[i]) ? -INFINITY : logits[i], i};
        for (int32_t j = 0; j < s->n_touch; j++) c[s->touch_ids[j]].logit = s->touch_val[j];
        m = n;
        sorted = sort_best(c, n, 256 < n ? 256 : n);
    }

    float max = c[0].logit;
    if (s->p.top_p < 1.0f || s->p.min_p > 0.0f) {
        /* probabilities before temperature, as llama.cpp's chain computes them */
        double total = 0;
        for (int32_t i = 0; i < m; i++) total += exp((double)c[i].logit - max);
        double cum = 0, floor_p = s->p.min_p * 1.0; /* relative to the top token's probability (= 1/total scaled) */
        int32_t keep = m;
        /* twice the logit distance the first prefix covers, at least 1, for its first extension */
        double reach = sorted < m ? 2.0 * ((double)max - c[sorted - 1].logit) : 0;
        if (!(reach >= 1)) reach = 1;
        for (int32_t i = 0; i < m; i++) {
            if (i == sorted) sorted = extend_sorted(c, i, m, max, &reach);
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
    for (int32_t i = 0; i < m; i++) total += s->weight[i] = exp(((double)c[i].logit - max) / s->p.temperature);
    double u = next_unit(&s->rng) * total, acc = 0;
    for (int32_t i = 0; i < m; i++) {
        acc += s->weight[i];
        if (u < acc) return c[i].id;
    }
    return c[m - 1].id;
}

/* Sorts the bias by token id, keeping the given order among equal ids (a
 * token's biases then add in the order given, as before the sort). */
typedef struct {
    int32_t id, at;
} bias_key;

static int cmp_bias(const void *a, const void *b) {
    const bias_key *x = a, *y = b;
    return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : (x->at > y->at) - (x->at < y->at);
}

int gf_sampler_set_bias(gf_sampler *s, const int32_t *ids, const float *bias, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= s->n_vocab)
            return gf_fail("logitBias: token id %d is out of range (vocabulary has %d tokens)", ids[i], s->n_vocab);
        if (isnan(bias[i]) || bias[i] == INFINITY) return gf_fail("logitBias: the bias of token %d must be a finite number or -Infinity, got %g", ids[i], bias[i]);
    }
    size_t window = (size_t)(s->p.repeat_last_n ? s->p.repeat_last_n : 1);
    int32_t *new_ids = n ? malloc((size_t)n * sizeof *new_ids) : NULL;
    float *new_bias = n ? malloc((size_t)n * sizeof *new_bias) : NULL;
    bias_key *keys = n ? malloc((size_t)n * sizeof *keys) : NULL;
    int32_t *touch_ids = malloc((window + 1 + (size_t)n) * sizeof *touch_ids);
    float *touch_val = malloc((window + 1 + (size_t)n) * sizeof *touch_val);
    if ((n && (!new_ids || !new_bias || !keys)) || !touch_ids || !touch_val) {
        free(new_ids);
        free(new_bias);
        free(keys);
        free(touch_ids);
        free(touch_val);
        return gf_fail_nomem("the logit bias", (size_t)n * 16);
    }
    for (int32_t i = 0; i < n; i++) keys[i] = (bias_key){ids[i], i};
    if (n) qsort(keys, (size_t)n, sizeof *keys, cmp_bias);
    for (int32_t i = 0; i < n; i++) {
        new_ids[i] = keys[i].id;
        new_bias[i] = bias[keys[i].at];
    }
    free(keys);
    free(s->bias_ids);
    free(s->bias);
    free(s->touch_ids);
    free(s->touch_val);
    s->bias_ids = new_ids;
    s->bias = new_bias;
    s->n_bias = n;
    s->touch_ids = touch_ids;
    s->touch_val = touch_val;
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
