/* WordPiece (BERT): one fragment of raw text (no special tokens in it) to
 * ids, appended to out; GF_OK or a negative status. */
#ifndef GF_TOKENIZER_WPM_H
#define GF_TOKENIZER_WPM_H

#include "text/vocab.h"

int gf_wpm_tokenize(const gf_tokenizer *t, const char *text, size_t n, gf_ids *out);

#endif
