/* WordPiece (tokenizer.ggml.model = "bert"), as llama.cpp's
 * llm_tokenizer_wpm. The GGUF conversion already rewrote the vocabulary:
 * word-initial pieces carry a U+2581 prefix and "##" continuations lost
 * their "##", so a word is "\u2581" + word matched greedily, longest piece
 * first, and a word with any unmatched position becomes [UNK].
 *
 * Normalization (BertNormalizer): each code point is replaced by the first
 * code point of its NFD decomposition and marks are dropped (strip_accents),
 * then lowercased; controls, U+0000 and U+FFFD vanish; whitespace splits
 * words; punctuation, ASCII symbols and CJK ideographs are words of their
 * own. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/tokenizer_wpm.h"
#include "text/unicode.h"

static int is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) ||
           (c >= 0x2B920 && c <= 0x2CEAF) || /* 0x2B820 in the standard; 0x2B920 as HF (and llama.cpp) have it */
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

typedef struct {
    char *v;
    size_t n, cap;
} word;

static int word_put(word *w, const char *s, size_t n) {
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        while (cap < w->n + n) cap *= 2;
        char *v = realloc(w->v, cap);
        if (!v) return gf_fail_nomem("a WordPiece word", cap);
        w->v = v;
        w->cap = cap;
    }
    memcpy(w->v + w->n, s, n);
    w->n += n;
    return GF_OK;
}

/* Tokenizes "\u2581word" (w holds it) and empties w. */
static int flush(const gf_tokenizer *t, word *w, gf_ids *out) {
    if (w->n <= 3) return GF_OK; /* only the prefix: no word */
    size_t mark = out->n, n = w->n;
    int st = GF_OK;
    for (size_t i = 0; i < n && st >= 0;) {
        size_t j = i + (size_t)t->max_token_len + 1 < n ? i + (size_t)t->max_token_len + 1 : n;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = gf_text_to_token(&t->st, w->v + i, j - i)) >= 0) break;
        if (id < 0) { /* an unmatched position discards the whole word */
            out->n = mark;
            break;
        }
        st = gf_ids_push(out, id);
        i = j;
    }
    if (st >= 0 && out->n == mark) st = gf_ids_push(out, t->unk);
    w->n = 3;
    return st;
}

int gf_wpm_tokenize(const gf_tokenizer *t, const char *text, size_t n, gf_ids *out) {
    if (t->unk < 0) return gf_fail("tokenizer: the WordPiece vocabulary has no [UNK] token");
    word w = {0};
    int st = word_put(&w, "\xE2\x96\x81", 3);
    for (size_t i = 0; i < n && st >= 0;) {
        uint32_t cp;
        size_t k = gf_utf8_decode(text + i, n - i, &cp);
        if (!k) k = 1, cp = 0xFFFD;
        i += k;
        if (t->strip_accents) cp = gf_unicode_nfd_first(cp);
        uint8_t f = gf_unicode_flags(cp);
        int cat = f & GF_UCAT_MASK;
        if (f & GF_UFLAG_WS) {
            st = flush(t, &w, out);
            continue;
        }
        if (cp == 0 || cp == 0xFFFD || cat == GF_UCAT_C) continue;
        if (t->strip_accents && cat == GF_UCAT_M) continue;
        char u[4];
        int len = gf_utf8_encode(t->lowercase ? gf_unicode_tolower(cp) : cp, u);
        if (cat == GF_UCAT_P || (cp < 0x7F && cat == GF_UCAT_S) || is_chinese(cp)) {
            if ((st = flush(t, &w, out)) >= 0 && (st = word_put(&w, u, (size_t)len)) >= 0) st = flush(t, &w, out);
        } else {
            st = word_put(&w, u, (size_t)len);
        }
    }
    if (st >= 0) st = flush(t, &w, out);
    free(w.v);
    return st;
}
