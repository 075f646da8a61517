/* Byte-level BPE: one fragment of raw text (no special tokens in it) to ids,
 * appended to out; GF_OK or a negative status. */
#ifndef GF_TOKENIZER_BPE_H
#define GF_TOKENIZER_BPE_H

#include "format/gguf.h"
#include "text/vocab.h"

int gf_bpe_tokenize(const gf_tokenizer *t, const char *text, size_t n, gf_ids *out);

/* BPE setup: the pre-tokenizer named by tokenizer.ggml.pre (with the flags
 * llama.cpp ties to it) and the merges. */
int gf_bpe_set_pre(gf_tokenizer *t, const char *pre, size_t len);
/* The byte spans of the words t's pre-tokenizer cuts text into, in order
 * (for tests and tools; text must be valid UTF-8). */
int gf_bpe_pretokenize(const gf_tokenizer *t, const char *text, size_t n, void (*word)(void *ctx, size_t start, size_t end), void *ctx);
int gf_bpe_load_merges(gf_tokenizer *t, const gguf_reader *r);
void gf_bpe_free(gf_tokenizer *t);

#endif
