/* libFuzzer target: a whole file through the streaming loader, split into
 * chunks chosen by the input itself, then (if it loads) a forward pass and
 * the tokenizer over the result. Nothing may crash, leak or read out of
 * bounds, whatever the bytes. */
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "model/loader.h"
#include "model/model.h"
#include "text/tokenizer.h"

static gf_model *load(const uint8_t *data, size_t n, uint32_t split_seed) {
    gf_model_options opt = {.mode = GF_LOAD_WEIGHTS, .n_ctx = 32, .n_batch = 4, .max_memory = 256u << 20}; /* small budgets: the fuzzer must not OOM */
    gf_loader *l;
    if (gf_loader_new(&opt, split_seed & 1 ? n : 0, &l) < 0) return NULL;
    size_t off = 0;
    int status = GF_LOAD_MORE;
    uint32_t rng = split_seed | 1;
    while (off < n && status == GF_LOAD_MORE || status == GF_LOAD_HEADER) {
        if (off >= n) break;
        size_t cap;
        uint8_t *w = gf_loader_window(l, &cap);
        if (!w) break;
        rng = rng * 1664525u + 1013904223u;
        size_t k = 1 + (rng >> 16) % 4096;
        if (k > cap) k = cap;
        if (k > n - off) k = n - off;
        memcpy(w, data + off, k);
        off += k;
        status = gf_loader_commit(l, k);
        if (status < 0) break;
    }
    gf_model *m = NULL;
    if (status >= 0 && gf_loader_end(l) == GF_OK) m = gf_loader_take_model(l);
    gf_loader_free(l);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 4) return 0;
    uint32_t seed;
    memcpy(&seed, data, 4);
    gf_model *m = load(data + 4, n - 4, seed);
    if (!m) return 0;
    gf_context *c;
    if (gf_context_new(m, 32, 4, (int)(seed >> 31), &c) == GF_OK) {
        int32_t ids[5];
        for (int i = 0; i < 5; i++) ids[i] = (int32_t)((seed >> (4 * i)) % (uint32_t)m->hp.n_vocab);
        gf_eval(c, ids, 5, GF_LOGITS_LAST, NULL);
        gf_context_free(c);
    }
    int32_t out[64];
    const char text[] = "Hello world, <s> \xc3\xa9t\xc3\xa9 \xf0\x9f\xa6\x99 12345";
    int64_t k = gf_tokenize(m->tokenizer, text, sizeof text - 1, 1, (int)(seed & 2), out, 64);
    if (k > 0) {
        char buf[256];
        gf_detokenize(m->tokenizer, out, (size_t)(k < 64 ? k : 64), 0, buf, sizeof buf);
    }
    gf_model_free(m);
    return 0;
}
