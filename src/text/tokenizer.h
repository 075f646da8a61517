/* Tokenizers read entirely from GGUF metadata (tokenizer.ggml.*), producing
 * exactly the ids llama.cpp produces for the same file and text. */
#ifndef GF_TOKENIZER_H
#define GF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"

typedef struct gf_tokenizer gf_tokenizer;

/* Builds the tokenizer the metadata describes; copies everything it needs,
 * so the reader's metadata may be released afterwards. Unsupported models
 * (tokenizer.ggml.model) are a clear error. */
int gf_tokenizer_load(const gguf_reader *r, gf_tokenizer **out);
void gf_tokenizer_free(gf_tokenizer *t);

int32_t gf_tokenizer_n_vocab(const gf_tokenizer *t);
const char *gf_tokenizer_kind(const gf_tokenizer *t); /* "spm", "bpe", "wpm" */
int32_t gf_tokenizer_bos(const gf_tokenizer *t);      /* -1 when the vocabulary has none */
int32_t gf_tokenizer_eos(const gf_tokenizer *t);
/* Ends generation: EOS, EOT and the like, from metadata and token text. */
int gf_tokenizer_is_eog(const gf_tokenizer *t, int32_t id);

/* UTF-8 text to ids. add_special: BOS/EOS (or CLS/SEP) as the metadata asks;
 * parse_special: control tokens written in the text (e.g. "<s>") become
 * their ids instead of plain text. Writes at most cap ids and returns the
 * total count (call again with a larger buffer when it exceeds cap), or a
 * negative error status. Invalid UTF-8 input is an error. */
int64_t gf_tokenize(const gf_tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                    int32_t *out, size_t cap);

/* The bytes token `id` contributes to detokenized text (byte-fallback tokens
 * give one raw byte; control tokens give "" unless render_special). Returns
 * the byte count (may exceed cap, like snprintf) or a negative error for an
 * id out of range. */
int gf_token_to_piece(const gf_tokenizer *t, int32_t id, char *buf, size_t cap, int render_special);

/* Whole-sequence detokenization, as llama.cpp's llama_detokenize: control
 * tokens are dropped when skip_special, rendered as text otherwise; SPM's
 * added leading space is removed, also after a dropped BOS (where llama.cpp
 * keeps it), so detokenize(tokenize(s)) == s. Returns the byte count (may
 * exceed cap) or a negative error. */
int64_t gf_detokenize(const gf_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char *buf, size_t cap);

/* Streaming detokenization for generation: pieces are released only at UTF-8
 * character boundaries, so a character split across tokens is never emitted
 * half. */
typedef struct {
    char pending[8];
    int n_pending;
    int first; /* nothing emitted yet (SPM drops the leading space of the first piece only in whole-sequence mode) */
} gf_detok_stream;

void gf_detok_stream_init(gf_detok_stream *s);
/* Appends id's piece; writes the complete characters now available to buf
 * and returns their byte count (may exceed cap), or a negative error. When
 * buf is NULL or the count exceeds cap, nothing is consumed: call again
 * with a buffer that large. */
int gf_detok_stream_push(const gf_tokenizer *t, gf_detok_stream *s, int32_t id, char *buf, size_t cap);
/* Emits whatever is left (invalid trailing bytes become U+FFFD); like push,
 * it consumes nothing unless the output fits in buf. */
int gf_detok_stream_flush(gf_detok_stream *s, char *buf, size_t cap);

#endif
