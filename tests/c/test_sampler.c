/* The sampler: each filter does what it says, the same seed picks the same
 * tokens, and invalid options are errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "sample/sampler.h"
#include "testing.h"

#define V 1000

static gf_sampler *make(float temp, int top_k, float top_p, float min_p, float rep, uint32_t seed) {
    gf_sampler_params p = {temp, top_k, top_p, min_p, rep, 64, seed, 0, 0};
    gf_sampler *s = NULL;
    int st = gf_sampler_new(&p, V, &s);
    CHECK(st == GF_OK, "sampler_new: %s", gf_error_message());
    return s;
}

/* logits where token i has logit -i/50: a smooth, known distribution */
static void ramp(float *l) {
    for (int i = 0; i < V; i++) l[i] = -(float)i / 50.0f;
}

static void test_greedy(void) {
    float l[V];
    ramp(l);
    l[321] = 5;
    gf_sampler *s = make(0, 0, 1, 0, 1, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 321, "greedy picks the argmax");
    CHECK(gf_sampler_sample(s, l, 321) == 0, "a banned token is never picked");
    gf_sampler_free(s);
    /* top-k = 1 at any temperature is greedy */
    s = make(1.5f, 1, 1, 0, 1, 9);
    for (int i = 0; i < 50; i++) CHECK(gf_sampler_sample(s, l, -1) == 321, "top-k 1");
    gf_sampler_free(s);
    /* ties go to the lower id, on every platform */
    for (int i = 0; i < V; i++) l[i] = 1;
    s = make(0, 0, 1, 0, 1, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 0, "ties");
    gf_sampler_free(s);
}

static void test_seed_determinism(void) {
    float l[V];
    ramp(l);
    int a[64], b[64], c[64];
    gf_sampler *s1 = make(1, 0, 1, 0, 1, 42), *s2 = make(1, 0, 1, 0, 1, 42), *s3 = make(1, 0, 1, 0, 1, 43);
    for (int i = 0; i < 64; i++) {
        a[i] = gf_sampler_sample(s1, l, -1);
        b[i] = gf_sampler_sample(s2, l, -1);
        c[i] = gf_sampler_sample(s3, l, -1);
    }
    CHECK(!memcmp(a, b, sizeof a), "same seed, same tokens");
    CHECK(memcmp(a, c, sizeof a) != 0, "another seed, other tokens");
    gf_sampler_free(s1);
    gf_sampler_free(s2);
    gf_sampler_free(s3);
}

/* With temperature 1 and no filters, frequencies follow softmax(logits). */
static void test_distribution(void) {
    float l[V];
    for (int i = 0; i < V; i++) l[i] = -INFINITY;
    l[10] = 0;
    l[20] = logf(2);
    l[30] = logf(7);
    gf_sampler *s = make(1, 0, 1, 0, 1, 5);
    int count[3] = {0};
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        int t = gf_sampler_sample(s, l, -1);
        CHECK(t == 10 || t == 20 || t == 30, "only finite logits are drawn, got %d", t);
        count[t / 10 - 1]++;
    }
    double expected[3] = {0.1, 0.2, 0.7};
    for (int k = 0; k < 3; k++) {
        double f = (double)count[k] / n;
        CHECK(fabs(f - expected[k]) < 0.015, "token %d drawn with frequency %.3f, expected %.2f", 10 * (k + 1), f, expected[k]);
    }
    gf_sampler_free(s);
    /* temperature sharpens: at 0.25 the top token dominates (0.7^4 vs 0.2^4) */
    s = make(0.25f, 0, 1, 0, 1, 5);
    int top = 0;
    for (int i = 0; i < 5000; i++) top += gf_sampler_sample(s, l, -1) == 30;
    CHECK(top > 4900, "temperature 0.25: top token %d of 5000", top);
    gf_sampler_free(s);
}

static void test_filters(void) {
    float l[V];
    ramp(l);
    /* top-k 5: only ids 0..4 */
    gf_sampler *s = make(3, 5, 1, 0, 1, 7);
    for (int i = 0; i < 2000; i++) {
        int t = gf_sampler_sample(s, l, -1);
        CHECK(t >= 0 && t < 5, "top-k 5 drew %d", t);
    }
    gf_sampler_free(s);
    /* min-p 0.5: p_i / p_0 = exp(-i/50) >= 0.5 keeps i <= 34 */
    s = make(1, 0, 1, 0.5f, 1, 7);
    int max_seen = 0;
    for (int i = 0; i < 5000; i++) {
        int t = gf_sampler_sample(s, l, -1);
        if (t > max_seen) max_seen = t;
    }
    CHECK(max_seen <= 34 && max_seen >= 30, "min-p 0.5 reached id %d (expected 30..34)", max_seen);
    gf_sampler_free(s);
    /* top-p: the kept prefix has mass >= p; with p tiny only the top token */
    s = make(1, 0, 1e-6f, 0, 1, 7);
    for (int i = 0; i < 200; i++) CHECK(gf_sampler_sample(s, l, -1) == 0, "top-p tiny");
    gf_sampler_free(s);
    /* top-p 0.5 over the ramp: cumulative mass crosses 0.5 near id 34 (1-exp(-x/50) = 0.5) */
    s = make(1, 0, 0.5f, 0, 1, 7);
    max_seen = 0;
    for (int i = 0; i < 5000; i++) {
        int t = gf_sampler_sample(s, l, -1);
        if (t > max_seen) max_seen = t;
    }
    CHECK(max_seen >= 30 && max_seen <= 36, "top-p 0.5 reached id %d", max_seen);
    gf_sampler_free(s);
}

static void test_repetition_penalty(void) {
    float l[V];
    ramp(l);
    l[0] = 0.5f;
    l[7] = 1.0f;
    gf_sampler *s = make(0, 0, 1, 0, 4.0f, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 7, "before the penalty");
    gf_sampler_accept(s, 7);
    gf_sampler_accept(s, 7); /* repeated, still divided once: 1.0 / 4 = 0.25 < 0.5 */
    CHECK(gf_sampler_sample(s, l, -1) == 0, "positive logits are divided by the penalty");
    CHECK(l[7] == 1.0f, "the caller's logits are left unchanged");
    gf_sampler_free(s);
    /* negative logits are multiplied: -0.02 * 4 = -0.08 falls below id 0 (-0.03) */
    for (int i = 0; i < V; i++) l[i] = -(float)i / 50.0f - 0.03f;
    l[1] = -0.02f;
    s = make(0, 0, 1, 0, 4.0f, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 1, "before");
    gf_sampler_accept(s, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 0, "negative logits are multiplied (got %d)", gf_sampler_sample(s, l, -1));
    gf_sampler_free(s);
}

static void test_invalid(void) {
    gf_sampler_params bad[] = {
        {-1, 0, 1, 0, 1, 64, 0, 0, 0},  {NAN, 0, 1, 0, 1, 64, 0, 0, 0}, {1, -3, 1, 0, 1, 64, 0, 0, 0}, {1, 0, 1.5f, 0, 1, 64, 0, 0, 0},
        {1, 0, 0, 0, 1, 64, 0, 0, 0},   {1, 0, 1, -0.5f, 1, 64, 0, 0, 0}, {1, 0, 1, 0, 0, 64, 0, 0, 0}, {1, 0, 1, 0, INFINITY, 64, 0, 0, 0},
        {1, 0, 1, 0, 1, -1, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gf_sampler *s = NULL;
        CHECK(gf_sampler_new(&bad[i], V, &s) < 0 && s == NULL, "case %zu accepted", i);
        CHECK(strstr(gf_error_message(), "sampler:") != NULL, "case %zu message: %s", i, gf_error_message());
    }
}

/* Top-k keeps exactly the k best (higher logit, then lower id) of shuffled
 * logits with many ties: against a full sort, at a temperature so high that
 * every kept token is about equally likely, nothing else is drawn and every
 * kept token is. */
static int by_logit_then_id(const void *a, const void *b) {
    const float *l = *(const float *const *)a, *m = *(const float *const *)b;
    return *l > *m ? -1 : *l < *m ? 1 : l < m ? -1 : l > m ? 1 : 0;
}

static void test_top_k_exact(void) {
    static float l[V];
    static const float *order[V];
    uint32_t r = 12345;
    for (int i = 0; i < V; i++) {
        r = r * 1664525u + 1013904223u;
        l[i] = (float)(r >> 24 & 31) / 4.0f; /* 32 values: ties everywhere */
        order[i] = &l[i];
    }
    qsort(order, V, sizeof order[0], by_logit_then_id);
    static const int ks[] = {1, 7, 40, 256};
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
        const int k = ks[j];
        static char kept[V], drawn[V];
        memset(kept, 0, sizeof kept);
        memset(drawn, 0, sizeof drawn);
        for (int i = 0; i < k; i++) kept[order[i] - l] = 1;
        gf_sampler *s = make(1e4f, k, 1, 0, 1, 3);
        for (int i = 0; i < 40 * k + 400; i++) {
            int t = gf_sampler_sample(s, l, -1);
            CHECK(t >= 0 && t < V && kept[t], "top-k %d drew %d, not among the %d best", k, t, k);
            if (t >= 0 && t < V) drawn[t] = 1;
        }
        gf_sampler_free(s);
        int missing = 0;
        for (int i = 0; i < V; i++) missing += kept[i] && !drawn[i];
        CHECK(missing == 0, "top-k %d: %d of the best never drawn", k, missing);
    }
}

/* logit bias first in the chain: it can ban the argmax or lift any token;
 * presence/frequency penalties subtract per distinct token (presence) and
 * per occurrence (frequency) in the window; logprobs are the raw logits'
 * log-softmax. */
static void test_bias_penalties_logprobs(void) {
    float l[V];
    ramp(l);
    gf_sampler *s = make(0, 0, 1, 0, 1, 1);
    int32_t ids[2] = {0, 500};
    float bias[2] = {-INFINITY, 20};
    CHECK(gf_sampler_set_bias(s, ids, bias, 2) == GF_OK, "bias: %s", gf_error_message());
    CHECK(gf_sampler_sample(s, l, -1) == 500, "a +20 bias lifts token 500 over the argmax");
    bias[1] = 0;
    CHECK(gf_sampler_set_bias(s, ids, bias, 2) == GF_OK, "bias replaced");
    CHECK(gf_sampler_sample(s, l, -1) == 1, "a -inf bias bans the argmax: the next best");
    int32_t bad = V;
    CHECK(gf_sampler_set_bias(s, &bad, bias, 1) < 0 && strstr(gf_error_message(), "token id 1000 is out of range"), "bias id checked");
    float nan_bias = NAN;
    CHECK(gf_sampler_set_bias(s, ids, &nan_bias, 1) < 0 && strstr(gf_error_message(), "logitBias"), "bias value checked");
    gf_sampler_free(s);

    gf_sampler_params p = {0, 0, 1, 0, 1, 8, 1, 0.5f, 0.3f};
    CHECK(gf_sampler_new(&p, V, &s) == GF_OK, "penalties: %s", gf_error_message());
    /* tokens 0 (3 times) and 1 (once) in the window; logits 0, -0.02, -0.04 ... */
    gf_sampler_accept(s, 0), gf_sampler_accept(s, 0), gf_sampler_accept(s, 0), gf_sampler_accept(s, 1);
    CHECK(gf_sampler_sample(s, l, -1) == 2, "0 pays 0.5 + 3 * 0.3, 1 pays 0.5 + 0.3: token 2 wins");
    /* the window forgets: eight other tokens push 0 and 1 out */
    for (int i = 0; i < 8; i++) gf_sampler_accept(s, 900 + i);
    CHECK(gf_sampler_sample(s, l, -1) == 0, "penalties end when the tokens leave the window");
    gf_sampler_free(s);
    p.presence_penalty = 2.5f;
    CHECK(gf_sampler_new(&p, V, &s) < 0 && strstr(gf_error_message(), "presencePenalty must be in [-2, 2], got 2.5"), "presence range");

    int32_t top[3];
    double lp[3];
    double chosen = gf_logprobs(l, V, 7, 3, top, lp);
    double total = 0;
    for (int i = 0; i < V; i++) total += exp((double)l[i]);
    CHECK(fabs(chosen - ((double)l[7] - log(total))) < 1e-9, "chosen logprob %g", chosen);
    CHECK(top[0] == 0 && top[1] == 1 && top[2] == 2, "top ids best first");
    CHECK(fabs(lp[0] - ((double)l[0] - log(total))) < 1e-9 && lp[0] > lp[1] && lp[1] > lp[2], "top logprobs");
}

int main(void) {
    test_bias_penalties_logprobs();
    test_greedy();
    test_seed_determinism();
    test_distribution();
    test_filters();
    test_top_k_exact();
    test_repetition_penalty();
    test_invalid();
    TEST_MAIN_END();
}
