/* Token sampling: repetition penalty, top-k, top-p, min-p, temperature, and
 * a seeded RNG, applied in llama.cpp's default order. Everything is plain C
 * on floats, so the same seed picks the same tokens in Node and in every
 * browser, whatever the thread count. */
#ifndef GF_SAMPLER_H
#define GF_SAMPLER_H

#include <stdint.h>

typedef struct {
    float temperature;    /* <= 0: greedy (argmax) */
    int32_t top_k;        /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    int32_t repeat_last_n;/* how many recent tokens the penalty looks at */
    uint32_t seed;
    float presence_penalty;  /* subtracted once from a token seen in the last repeat_last_n (OpenAI's; 0: off) */
    float frequency_penalty; /* subtracted per occurrence in the last repeat_last_n (0: off) */
} gf_sampler_params;

typedef struct gf_sampler gf_sampler;

void gf_sampler_defaults(gf_sampler_params *p);
/* Checks ranges; a clear error for e.g. a negative temperature or top_p > 1. */
int gf_sampler_validate(const gf_sampler_params *p);
int gf_sampler_new(const gf_sampler_params *p, int32_t n_vocab, gf_sampler **out);
void gf_sampler_free(gf_sampler *s);
/* Remembers a token for the repetition penalty (prompt and generated). */
void gf_sampler_accept(gf_sampler *s, int32_t id);
/* Picks the next token from raw logits (left unchanged). banned: a token to
 * exclude (e.g. EOS when generation must not stop), or -1. */
int32_t gf_sampler_sample(gf_sampler *s, const float *logits, int32_t banned);
/* Adds bias[i] to the logit of ids[i] before anything else (-INFINITY bans
 * the token); replaces any earlier bias. Ids must be in the vocabulary. */
int gf_sampler_set_bias(gf_sampler *s, const int32_t *ids, const float *bias, int32_t n);

/* The model's log-probabilities (log-softmax of the raw logits: no penalty,
 * bias or temperature) of `chosen` and of the top_n most likely tokens,
 * best first (ties by lower id). Returns the chosen token's. */
double gf_logprobs(const float *logits, int32_t n_vocab, int32_t chosen, int32_t top_n, int32_t *top_ids, double *top_logprobs);

#endif
