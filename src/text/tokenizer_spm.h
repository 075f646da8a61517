/* SentencePiece (llama.cpp's SPM): one fragment of raw text (no special
 * tokens in it) to ids, appended to out; GF_OK or a negative status. */
#ifndef GF_TOKENIZER_SPM_H
#define GF_TOKENIZER_SPM_H

#include "text/vocab.h"

int gf_spm_tokenize(const gf_tokenizer *t, const char *text, size_t n, int add_prefix_space, gf_ids *out);

#endif
