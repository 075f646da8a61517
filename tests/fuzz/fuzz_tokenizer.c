/* libFuzzer target: arbitrary bytes (valid UTF-8 or not) through every
 * committed vocabulary's tokenizer, with and without special-token parsing,
 * then detokenization, whole and streamed. Round trips must hold where the
 * tokenizer promises them (SentencePiece). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "text/tokenizer.h"

static const char *k_vocabs[] = {"llama-spm", "phi-3", "gpt-2", "falcon", "deepseek-llm", "bert-bge"};
#define N_VOCABS (sizeof k_vocabs / sizeof k_vocabs[0])
static gf_tokenizer *g_tok[N_VOCABS];

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) b = (free(b), NULL);
    fclose(f);
    *n = (size_t)len;
    return b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    /* the committed vocabularies (tests/fixtures/tokenizers), from the checkout's root */
    const char *dir = getenv("GF_FIXTURES") ? getenv("GF_FIXTURES") : "tests/fixtures";
    for (size_t i = 0; i < N_VOCABS; i++) {
        char path[512];
        size_t n;
        snprintf(path, sizeof path, "%s/tokenizers/ggml-vocab-%s.gguf", dir, k_vocabs[i]);
        unsigned char *b = slurp(path, &n);
        gguf_reader *r = gguf_reader_new();
        if (!b || gguf_read_header(r, b, n) != GGUF_HEADER_DONE || gf_tokenizer_load(r, &g_tok[i]) < 0) {
            fprintf(stderr, "fuzz_tokenizer: cannot load %s (set GF_FIXTURES)\n", path);
            abort();
        }
        gguf_reader_free(r);
        free(b);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    const gf_tokenizer *t = g_tok[data[0] % N_VOCABS];
    int parse_special = data[0] >> 4 & 1, add_special = data[0] >> 5 & 1;
    const char *text = (const char *)data + 1;
    size_t len = n - 1;
    size_t cap = len + 8;
    int32_t *ids = malloc(cap * sizeof *ids);
    int64_t k = gf_tokenize(t, text, len, add_special, parse_special, ids, cap);
    if (k > (int64_t)cap) __builtin_trap(); /* at most one token per byte, plus specials */
    if (k > 0) {
        size_t bufcap = 4 * len + 64;
        char *buf = malloc(bufcap);
        int64_t m = gf_detokenize(t, ids, (size_t)k, !parse_special, buf, bufcap);
        /* SentencePiece round-trips every valid input exactly, except a literal
         * U+2581, which is its own spelling of a space */
        if (m >= 0 && !strcmp(gf_tokenizer_kind(t), "spm") && !add_special && !parse_special && (size_t)m <= bufcap &&
            !memmem(text, len, "\xe2\x96\x81", 3)) {
            if ((size_t)m != len || memcmp(buf, text, len)) __builtin_trap();
        }
        gf_detok_stream s;
        gf_detok_stream_init(&s);
        for (int64_t i = 0; i < k; i++) gf_detok_stream_push(t, &s, ids[i], buf, bufcap);
        gf_detok_stream_flush(&s, buf, bufcap);
        free(buf);
    }
    free(ids);
    return 0;
}
