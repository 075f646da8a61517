/* Vocabulary loading from GGUF metadata, the special-token partition of raw
 * text, dispatch to the model tokenizers (tokenizer_spm/bpe/wpm.c, which
 * depend only on vocab.h, never on this file), and detokenization. Behaviour
 * follows llama.cpp's llama-vocab.cpp; docs/tokenizers.md lists where and
 * why it deliberately differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_bpe.h"
#include "text/tokenizer_spm.h"
#include "text/tokenizer_wpm.h"
#include "text/vocab.h"
#include "text/unicode.h"

#define MAX_VOCAB (16u << 20)

static const char *tok_text(const gf_tokenizer *t, int32_t id, uint32_t *len) { return gf_strtab_str(&t->st, t->tok[id].sid, len); }

static int tok_is(const gf_tokenizer *t, int32_t id, const char *s) {
    uint32_t len;
    const char *p = tok_text(t, id, &len);
    return len == strlen(s) && memcmp(p, s, len) == 0;
}

static int32_t find_token(const gf_tokenizer *t, const char *s) { return gf_text_to_token(&t->st, s, strlen(s)); }

static int in_list(const gf_tokenizer *t, int32_t id, const char *const *list) {
    uint32_t len;
    const char *text = tok_text(t, id, &len);
    if (len == 0 || !strchr("<[_", text[0])) return 0; /* every listed name starts so */
    for (; *list; list++)
        if (tok_is(t, id, *list)) return 1;
    return 0;
}

/* Reads an optional token id; ids outside the vocabulary keep the default,
 * as llama.cpp does (it only warns). */
static int read_id(const gguf_reader *r, const char *key, int32_t n_vocab, int32_t *id) {
    uint32_t v;
    int s = gguf_get_u32(r, key, &v);
    if (s < 0) return s;
    if (s == 1 && v < (uint32_t)n_vocab) *id = (int32_t)v;
    return GF_OK;
}

static int read_bool(const gguf_reader *r, const char *key, int *out) {
    int v, s = gguf_get_bool(r, key, &v);
    if (s == 1) *out = v;
    return s < 0 ? s : GF_OK;
}

static int load_tokens(gf_tokenizer *t, const gguf_reader *r) {
    const gguf_kv *tokens, *scores = NULL, *types = NULL;
    int s = gguf_get_arr(r, "tokenizer.ggml.tokens", GGUF_VT_STRING, &tokens);
    if (s < 0) return s;
    if (s == 0) return gf_fail("tokenizer: the file has no vocabulary (tokenizer.ggml.tokens is missing)");
    if (tokens->arr_n == 0 || tokens->arr_n > MAX_VOCAB)
        return gf_fail("tokenizer: vocabulary of %llu tokens (expected 1..%u)", (unsigned long long)tokens->arr_n, MAX_VOCAB);
    int32_t n = (int32_t)tokens->arr_n;

    int64_t si = gguf_find_key(r, "tokenizer.ggml.scores");
    if (si >= 0) {
        const gguf_kv *kv = gguf_kv_at(r, (uint64_t)si);
        if (kv->type != GGUF_VT_ARRAY || (kv->arr_type != GGUF_VT_FLOAT32 && kv->arr_type != GGUF_VT_INT32))
            return gf_fail("tokenizer: tokenizer.ggml.scores must be an array of float32 or int32");
        if (kv->arr_n < (uint64_t)n)
            return gf_fail("tokenizer: %llu scores for %d tokens", (unsigned long long)kv->arr_n, n);
        scores = kv;
    }
    s = gguf_get_arr(r, "tokenizer.ggml.token_type", GGUF_VT_INT32, &types);
    if (s < 0) return s;
    if (s == 1 && types->arr_n < (uint64_t)n)
        return gf_fail("tokenizer: %llu token types for %d tokens", (unsigned long long)types->arr_n, n);
    if (s == 0) types = NULL;

    t->n_vocab = n;
    t->tok = calloc((size_t)n, sizeof *t->tok);
    if (!t->tok) return gf_fail_nomem("the vocabulary", (unsigned long long)n * sizeof *t->tok);
    if ((s = gf_strtab_init(&t->st, (uint32_t)n)) < 0) return s;

    for (int32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *str = gguf_arr_str(r, tokens, (uint64_t)i, &len);
        char empty[32];
        if (len == 0) { /* llama.cpp renames empty tokens so that they can never match */
            len = (uint32_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
            str = empty;
        }
        int32_t sid = gf_strtab_add(&t->st, str, len);
        if (sid < 0) return sid;
        if (t->st.tok[sid] < 0) t->st.tok[sid] = i; /* a duplicate text keeps its first id */
        t->tok[i].sid = sid;
        if ((int32_t)len > t->max_token_len) t->max_token_len = (int32_t)len;
        if (scores)
            t->tok[i].score = scores->arr_type == GGUF_VT_FLOAT32 ? gguf_arr_f32(r, scores, (uint64_t)i) : (float)gguf_arr_i32(r, scores, (uint64_t)i);
        uint32_t attr = GF_ATTR_NORMAL;
        if (types) {
            switch (gguf_arr_i32(r, types, (uint64_t)i)) {
            case 1: attr = GF_ATTR_NORMAL; break;
            case 2: attr = GF_ATTR_UNKNOWN; break;
            case 3: attr = GF_ATTR_CONTROL; break;
            case 4: attr = GF_ATTR_USER_DEFINED; break;
            case 5: attr = GF_ATTR_UNUSED; break;
            case 6: attr = GF_ATTR_BYTE; break;
            default: attr = 0; break; /* undefined: never rendered */
            }
        }
        t->tok[i].attr = attr;
    }
    return GF_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int add_eog(gf_tokenizer *t, int32_t id) {
    if (id < 0) return GF_OK;
    for (uint32_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return GF_OK;
    int32_t *e = realloc(t->eog, (t->n_eog + 1) * sizeof *e);
    if (!e) return gf_fail_nomem("the end-of-generation list", (t->n_eog + 1) * 4ull);
    t->eog = e;
    t->eog[t->n_eog++] = id;
    return GF_OK;
}

static void remove_eog(gf_tokenizer *t, int32_t id) {
    for (uint32_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) {
            t->eog[i] = t->eog[--t->n_eog];
            return;
        }
}

/* llama.cpp finds end-of-turn, FIM and end-of-generation tokens by their
 * text, since conversions rarely record them, and forces such tokens to
 * CONTROL. "</s>" is deliberately not in the end-of-generation list: the
 * llama.cpp build our references come from (c392e50, February 2025; its
 * llama-vocab.cpp llm_load_vocab "maintain a list of tokens that cause
 * end-of-generation") does not have it; only late-2025 llama.cpp added it
 * (for PaddleOCR). Forcing it would make Phi-3's USER_DEFINED "</s>" a
 * CONTROL token, i.e. text unless parse_special, where llama.cpp's
 * tokenizer_st_partition always cuts a USER_DEFINED token out of the text
 * (see docs/tokenizers.md). */
static int detect_special_tokens(gf_tokenizer *t) {
    static const char *const eot_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                            "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
                                            "<end_of_utterance>", NULL};
    static const char *const eom_names[] = {"<|eom_id|>", NULL};
    static const char *const fim_pad[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
    static const char *const fim_rep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
    static const char *const fim_sep[] = {"<|file_sep|>", NULL};
    static const char *const eog_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                                            "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                                            "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                                            "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>", "[e~[", NULL};
    int32_t fpad = -1, frep = -1, fsep = -1;
    int s;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->st.tok[t->tok[id].sid] != id) continue; /* only the id a text maps to */
        uint32_t *attr = &t->tok[id].attr;
        if (t->eot < 0 && in_list(t, id, eot_names)) t->eot = id, *attr |= GF_ATTR_CONTROL;
        if (t->eom < 0 && in_list(t, id, eom_names)) t->eom = id, *attr |= GF_ATTR_CONTROL;
        if (fpad < 0 && in_list(t, id, fim_pad)) fpad = id, *attr |= GF_ATTR_CONTROL;
        if (frep < 0 && in_list(t, id, fim_rep)) frep = id, *attr |= GF_ATTR_CONTROL;
        if (fsep < 0 && in_list(t, id, fim_sep)) fsep = id, *attr |= GF_ATTR_CONTROL;
    }
    if ((s = add_eog(t, fpad)) < 0 || (s = add_eog(t, frep)) < 0 || (s = add_eog(t, fsep)) < 0) return s;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->st.tok[t->tok[id].sid] != id) continue;
        if (in_list(t, id, eog_names)) {
            if ((s = add_eog(t, id)) < 0) return s;
            t->tok[id].attr |= GF_ATTR_CONTROL;
        }
    }
    /* gpt-oss: these are always rendered. */
    static const char *const always_rendered[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->st.tok[t->tok[id].sid] == id && in_list(t, id, always_rendered)) t->tok[id].attr = GF_ATTR_USER_DEFINED;
    if ((s = add_eog(t, t->eos)) < 0 || (s = add_eog(t, t->eot)) < 0 || (s = add_eog(t, t->eom)) < 0) return s;

    /* o200k_harmony / solar-open: <|end|> ends a message, not generation. */
    int has_return = 0, has_call = 0, has_flush = 0;
    int32_t end_id = -1;
    for (uint32_t i = 0; i < t->n_eog; i++) {
        int32_t id = t->eog[i];
        if (tok_is(t, id, "<|return|>")) has_return = 1;
        else if (tok_is(t, id, "<|call|>") || tok_is(t, id, "<|calls|>")) has_call = 1;
        else if (tok_is(t, id, "<|flush|>")) has_flush = 1;
        else if (tok_is(t, id, "<|end|>")) end_id = id;
    }
    if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
        remove_eog(t, end_id);
        t->tok[end_id].attr = GF_ATTR_USER_DEFINED;
    }
    qsort(t->eog, t->n_eog, sizeof *t->eog, cmp_i32);
    return GF_OK;
}

static const gf_tokenizer *g_sort_tok;
static int cmp_special(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = g_sort_tok->st.len[g_sort_tok->tok[x].sid], ly = g_sort_tok->st.len[g_sort_tok->tok[y].sid];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y; /* llama.cpp leaves ties to std::sort; ids make it deterministic */
}

static void set_attr(gf_tokenizer *t, const char *text, uint32_t bit, int on) {
    int32_t id = find_token(t, text);
    if (id < 0) return;
    if (on) t->tok[id].attr |= bit;
    else t->tok[id].attr &= ~bit;
}

static int contains_ci(const char *s, uint32_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && (char)((s[i + j] >= 'A' && s[i + j] <= 'Z') ? s[i + j] + 32 : s[i + j]) == needle[j]) j++;
        if (j == k) return 1;
    }
    return 0;
}

/* Per-model lstrip/rstrip attributes llama.cpp sets by model name. */
static void model_attrs(gf_tokenizer *t, const gguf_reader *r) {
    const char *name = "", *pre = "", *arch = "";
    uint32_t nlen = 0, plen = 0, alen = 0;
    if (gguf_get_str(r, "general.name", &name, &nlen) != 1) name = "", nlen = 0;
    if (gguf_get_str(r, "tokenizer.ggml.pre", &pre, &plen) != 1) pre = "", plen = 0;
    if (gguf_get_str(r, "general.architecture", &arch, &alen) != 1) arch = "", alen = 0;
    if (contains_ci(pre, plen, "jina-v2-de") || contains_ci(pre, plen, "jina-v2-es") || contains_ci(pre, plen, "jina-v2-code") ||
        contains_ci(arch, alen, "nomic-bert-moe") || contains_ci(arch, alen, "jina-bert-v3")) {
        set_attr(t, "<mask>", GF_ATTR_LSTRIP, 1);
    } else if (contains_ci(name, nlen, "phi-3") || contains_ci(name, nlen, "phi3")) {
        for (uint32_t i = 0; i < t->n_special; i++) t->tok[t->special[i]].attr |= GF_ATTR_RSTRIP;
        set_attr(t, "</s>", GF_ATTR_RSTRIP, 1);
        set_attr(t, "<unk>", GF_ATTR_RSTRIP, 0);
        set_attr(t, "<s>", GF_ATTR_RSTRIP, 0);
        set_attr(t, "<|endoftext|>", GF_ATTR_RSTRIP, 0);
    } else if (contains_ci(name, nlen, "modern-bert")) {
        set_attr(t, "[MASK]", GF_ATTR_LSTRIP, 1);
    }
}

static void bit_set(uint8_t *bits, unsigned b) { bits[b >> 3] |= (uint8_t)(1u << (b & 7)); }
static int bit_get(const uint8_t *bits, unsigned b) { return bits[b >> 3] >> (b & 7) & 1; }

static int build_special(gf_tokenizer *t) {
    uint32_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tok[id].attr & (GF_ATTR_CONTROL | GF_ATTR_USER_DEFINED | GF_ATTR_UNKNOWN)) n++;
    t->special = malloc((n ? n : 1) * sizeof *t->special);
    t->bucket_start = calloc(GF_SPECIAL_BUCKETS + 1, sizeof *t->bucket_start);
    t->bucket_ids = malloc((n ? n : 1) * sizeof *t->bucket_ids);
    if (!t->special || !t->bucket_start || !t->bucket_ids) return gf_fail_nomem("the special-token index", (n + GF_SPECIAL_BUCKETS) * 8ull);
    n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tok[id].attr & (GF_ATTR_CONTROL | GF_ATTR_USER_DEFINED | GF_ATTR_UNKNOWN)) t->special[n++] = id;
    t->n_special = n;
    g_sort_tok = t;
    qsort(t->special, n, sizeof *t->special, cmp_special);
    return GF_OK;
}

static void index_special(gf_tokenizer *t) {
    memset(t->first_byte, 0, sizeof t->first_byte);
    for (int i = 0; i < 256; i++) t->single_special[i] = -1;
    memset(t->bucket_start, 0, (GF_SPECIAL_BUCKETS + 1) * sizeof *t->bucket_start);
    uint32_t *count = t->bucket_start + 1;
    for (uint32_t i = 0; i < t->n_special; i++) {
        uint32_t len;
        const unsigned char *s = (const unsigned char *)tok_text(t, t->special[i], &len);
        bit_set(t->first_byte, s[0]);
        if (len == 1) {
            if (t->single_special[s[0]] < 0) t->single_special[s[0]] = (int32_t)i;
        } else {
            count[gf_special_bucket(s, len < 3 ? (int)len : 3)]++;
        }
    }
    for (uint32_t b = 0; b < GF_SPECIAL_BUCKETS; b++) t->bucket_start[b + 1] += t->bucket_start[b];
    uint32_t fill[GF_SPECIAL_BUCKETS];
    memcpy(fill, t->bucket_start, sizeof fill);
    for (uint32_t i = 0; i < t->n_special; i++) { /* buckets keep the priority order */
        uint32_t len;
        const unsigned char *s = (const unsigned char *)tok_text(t, t->special[i], &len);
        if (len > 1) t->bucket_ids[fill[gf_special_bucket(s, len < 3 ? (int)len : 3)]++] = i;
    }
}

static int load_model(gf_tokenizer *t, const gguf_reader *r) {
    const char *model, *pre = NULL;
    uint32_t mlen, plen = 0;
    int s = gguf_get_str(r, "tokenizer.ggml.model", &model, &mlen);
    if (s < 0) return s;
    if (s == 0) return gf_fail("tokenizer: the file names no tokenizer (tokenizer.ggml.model is missing)");
    s = gguf_get_str(r, "tokenizer.ggml.pre", &pre, &plen);
    if (s < 0) return s;
    if (s == 0) pre = NULL;

    t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = t->mask = -1;
    if (mlen == 5 && !memcmp(model, "llama", 5)) {
        t->kind = GF_TOK_SPM;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = 1, t->add_bos = 1;
    } else if (mlen == 4 && !memcmp(model, "gpt2", 4)) {
        t->kind = GF_TOK_BPE;
        t->bos = 11, t->eos = 11;
        t->clean_spaces = 1;
        /* A missing pre-tokenizer means llama.cpp's "default" list. */
        if ((s = gf_bpe_set_pre(t, pre ? pre : "default", pre ? plen : 7)) < 0) return s;
    } else if (mlen == 4 && !memcmp(model, "bert", 4)) {
        t->kind = GF_TOK_WPM;
        t->bos = 101, t->unk = 100, t->sep = 102, t->pad = 0, t->mask = 103;
        t->add_bos = 1, t->add_sep = 1, t->clean_spaces = 1;
    } else {
        return gf_fail("tokenizer: unsupported tokenizer model '%.*s' (supported: llama (SentencePiece), gpt2 (byte-level BPE), bert (WordPiece))",
                       (int)(mlen > 64 ? 64 : mlen), model);
    }
    t->lowercase = 1;
    return GF_OK;
}

static int load_options(gf_tokenizer *t, const gguf_reader *r) {
    int s;
    for (int32_t *id = &t->bos; id <= &t->mask; id++) /* defaults outside the vocabulary are dropped */
        if (*id >= t->n_vocab) *id = -1;
    if ((s = read_id(r, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.eot_token_id", t->n_vocab, &t->eot)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.eom_token_id", t->n_vocab, &t->eom)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.seperator_token_id", t->n_vocab, &t->sep)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.padding_token_id", t->n_vocab, &t->pad)) < 0 ||
        (s = read_id(r, "tokenizer.ggml.mask_token_id", t->n_vocab, &t->mask)) < 0)
        return s;
    if ((s = read_bool(r, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)) < 0 ||
        (s = read_bool(r, "tokenizer.ggml.add_bos_token", &t->add_bos)) < 0 ||
        (s = read_bool(r, "tokenizer.ggml.add_eos_token", &t->add_eos)) < 0 ||
        (s = read_bool(r, "tokenizer.ggml.add_sep_token", &t->add_sep)) < 0 ||
        (s = read_bool(r, "tokenizer.ggml.normalizer.lowercase", &t->lowercase)) < 0)
        return s;
    t->strip_accents = t->lowercase;
    if ((s = read_bool(r, "tokenizer.ggml.normalizer.strip_accents", &t->strip_accents)) < 0) return s;
    if (t->add_bos && t->bos < 0) return gf_fail("tokenizer: tokenizer.ggml.add_bos_token is true, but there is no BOS token");
    if (t->add_eos && t->eos < 0) return gf_fail("tokenizer: tokenizer.ggml.add_eos_token is true, but there is no EOS token");
    if (t->add_sep && t->sep < 0) return gf_fail("tokenizer: tokenizer.ggml.add_sep_token is true, but there is no separator token");
    return GF_OK;
}

static void byte_tables(gf_tokenizer *t) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char one = (char)b;
        int32_t single = gf_text_to_token(&t->st, &one, 1);
        int32_t id = gf_text_to_token(&t->st, name, 6);
        t->byte_tok[b] = id >= 0 ? id : single;
        t->char_tok[b] = single;
    }
}

/* SentencePiece merges never cross into a "\u2581word" when no token holds a
 * U+2581 after some other character, so each such word can be merged on its
 * own (same result, a far smaller queue). */
static void check_spm_words(gf_tokenizer *t) {
    t->spm_split_words = 1;
    for (int32_t id = 0; id < t->n_vocab && t->spm_split_words; id++) {
        uint32_t len;
        const char *s = tok_text(t, id, &len);
        size_t i = 0;
        while (i + 3 <= len && !memcmp(s + i, "\xE2\x96\x81", 3)) i += 3;
        for (; i + 3 <= len; i++)
            if (!memcmp(s + i, "\xE2\x96\x81", 3)) t->spm_split_words = 0;
    }
}

static const gf_tokenizer *g_rank_tok;
static int cmp_score_desc(const void *a, const void *b) {
    float x = g_rank_tok->tok[*(const int32_t *)a].score, y = g_rank_tok->tok[*(const int32_t *)b].score;
    int xn = x != x, yn = y != y; /* NaN scores last */
    if (xn || yn) return xn - yn;
    return x > y ? -1 : x < y;
}

/* SentencePiece merges the highest score first: the merge queue wants small
 * integer orders, so each token gets its score's rank (equal scores share one). */
static int spm_score_ranks(gf_tokenizer *t) {
    int32_t *ids = malloc((size_t)t->n_vocab * sizeof *ids);
    if (!ids) return gf_fail_nomem("the score ranks", (size_t)t->n_vocab * 4ull);
    for (int32_t i = 0; i < t->n_vocab; i++) ids[i] = i;
    g_rank_tok = t;
    qsort(ids, (size_t)t->n_vocab, sizeof *ids, cmp_score_desc);
    uint32_t rank = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (i > 0 && cmp_score_desc(&ids[i - 1], &ids[i]) != 0) rank++;
        t->tok[ids[i]].score_rank = rank;
    }
    t->n_score_ranks = rank + 1;
    free(ids);
    return GF_OK;
}

int gf_tokenizer_load(const gguf_reader *r, gf_tokenizer **out) {
    *out = NULL;
    gf_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return gf_fail_nomem("the tokenizer", sizeof *t);
    int s;
    if ((s = load_model(t, r)) < 0 || (s = load_tokens(t, r)) < 0 || (s = load_options(t, r)) < 0) goto fail;
    byte_tables(t);
    if (t->kind == GF_TOK_SPM) {
        check_spm_words(t);
        if ((s = spm_score_ranks(t)) < 0) goto fail;
    }
    if (t->kind == GF_TOK_BPE && (s = gf_bpe_load_merges(t, r)) < 0) goto fail;
    if ((s = detect_special_tokens(t)) < 0 || (s = build_special(t)) < 0) goto fail;
    model_attrs(t, r);
    index_special(t);
    *out = t;
    return GF_OK;
fail:
    gf_tokenizer_free(t);
    return s;
}

void gf_tokenizer_free(gf_tokenizer *t) {
    if (!t) return;
    gf_bpe_free(t);
    gf_strtab_free(&t->st);
    free(t->tok);
    free(t->special);
    free(t->bucket_start);
    free(t->bucket_ids);
    free(t->eog);
    free(t);
}

int32_t gf_tokenizer_n_vocab(const gf_tokenizer *t) { return t->n_vocab; }
const char *gf_tokenizer_kind(const gf_tokenizer *t) { return t->kind == GF_TOK_SPM ? "spm" : t->kind == GF_TOK_BPE ? "bpe" : "wpm"; }
int32_t gf_tokenizer_bos(const gf_tokenizer *t) { return t->bos; }
int32_t gf_tokenizer_eos(const gf_tokenizer *t) { return t->eos; }

int gf_tokenizer_is_eog(const gf_tokenizer *t, int32_t id) {
    uint32_t lo = 0, hi = t->n_eog;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (t->eog[mid] == id) return 1;
        if (t->eog[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* ---- special-token partition ------------------------------------------- */

/* A piece of the input: raw text [off, off+len) or one special token, in a
 * singly linked list so splitting is O(1). */
typedef struct {
    size_t off, len;
    int32_t tok; /* -1: raw text */
    uint32_t next;
} frag;
#define FRAG_END UINT32_MAX

typedef struct {
    frag *v;
    uint32_t n, cap;
} frag_list;

static int frag_new(frag_list *l, size_t off, size_t len, int32_t tok, uint32_t next, uint32_t *idx) {
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        frag *v = realloc(l->v, cap * sizeof *v);
        if (!v) return gf_fail_nomem("text fragments", cap * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = (frag){off, len, tok, next};
    *idx = l->n++;
    return GF_OK;
}

static int is_c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* First occurrence of pat in text[from, to) that ends by `to`, or SIZE_MAX. */
static size_t find_in(const char *text, size_t from, size_t to, const char *pat, size_t m) {
    while (from + m <= to) {
        const char *p = memchr(text + from, pat[0], to - m + 1 - from);
        if (!p) return SIZE_MAX;
        size_t at = (size_t)(p - text);
        if (memcmp(p, pat, m) == 0) return at;
        from = at + 1;
    }
    return SIZE_MAX;
}

typedef struct {
    size_t first, last; /* span of the token's occurrences in the text */
    int seen;
} occ;

static int special_active(const gf_tokenizer *t, int32_t id, int parse_special) {
    return parse_special || !(t->tok[id].attr & (GF_ATTR_CONTROL | GF_ATTR_UNKNOWN));
}

static void note(occ *o, uint32_t i, size_t p) {
    if (!o[i].seen) o[i].seen = 1, o[i].first = p;
    o[i].last = p;
}

/* Which special tokens occur anywhere, and where first and last. */
static void scan_specials(const gf_tokenizer *t, const char *text, size_t n, int parse_special, occ *o) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t p = 0; p < n; p++) {
        if (!bit_get(t->first_byte, s[p])) continue;
        int32_t one = t->single_special[s[p]];
        if (one >= 0 && special_active(t, t->special[one], parse_special)) note(o, (uint32_t)one, p);
        for (int k = 2; k <= 3 && p + (size_t)k <= n; k++) {
            uint32_t b = gf_special_bucket(s + p, k);
            for (uint32_t j = t->bucket_start[b]; j < t->bucket_start[b + 1]; j++) {
                uint32_t i = t->bucket_ids[j];
                int32_t id = t->special[i];
                uint32_t len;
                const char *str = tok_text(t, id, &len);
                if ((k == 3) != (len >= 3) || p + len > n || memcmp(str, text + p, len) != 0) continue;
                if (special_active(t, id, parse_special)) note(o, i, p);
            }
        }
    }
}

/* llama.cpp's tokenizer_st_partition: each special token in turn, longest
 * first, is cut out of every raw fragment left so far, leftmost occurrence
 * first; lstrip/rstrip tokens also drop the ASCII whitespace beside them. */
static int partition(const gf_tokenizer *t, const char *text, size_t n, int parse_special, frag_list *l) {
    uint32_t head;
    int s = frag_new(l, 0, n, -1, FRAG_END, &head);
    if (s < 0 || t->n_special == 0) return s;
    occ *o = calloc(t->n_special, sizeof *o);
    if (!o) return gf_fail_nomem("the special-token scan", t->n_special * sizeof *o);
    scan_specials(t, text, n, parse_special, o);
    for (uint32_t i = 0; i < t->n_special && s >= 0; i++) {
        if (!o[i].seen) continue;
        int32_t id = t->special[i];
        uint32_t m;
        const char *pat = tok_text(t, id, &m);
        uint32_t attr = t->tok[id].attr;
        size_t lo = o[i].first, hi = o[i].last + m;
        for (uint32_t f = head; f != FRAG_END && s >= 0; f = l->v[f].next) {
            if (l->v[f].tok >= 0) continue;
            size_t base = l->v[f].off, blen = l->v[f].len;
            if (base + blen <= lo) continue;
            if (base >= hi) break;
            for (;;) {
                size_t at = find_in(text, base > lo ? base : lo, base + blen < hi ? base + blen : hi, pat, m);
                if (at == SIZE_MAX) break;
                size_t left = at - base;
                if (attr & GF_ATTR_LSTRIP)
                    while (left > 0 && is_c_space(text[base + left - 1])) left--;
                size_t roff = at + m, rlen = base + blen - roff;
                if (attr & GF_ATTR_RSTRIP)
                    while (rlen > 0 && is_c_space(text[roff])) roff++, rlen--;
                uint32_t tokf;
                if (left > 0) { /* f keeps the left part; the token follows it */
                    l->v[f].len = left;
                    if ((s = frag_new(l, 0, 0, id, l->v[f].next, &tokf)) < 0) break;
                    l->v[f].next = tokf;
                } else {
                    tokf = f;
                    l->v[tokf].tok = id;
                    l->v[tokf].off = l->v[tokf].len = 0;
                }
                f = tokf;
                if (rlen == 0) break;
                uint32_t right;
                if ((s = frag_new(l, roff, rlen, -1, l->v[tokf].next, &right)) < 0) break;
                l->v[tokf].next = right;
                f = right;
                base = roff, blen = rlen;
            }
        }
    }
    free(o);
    return s;
}

/* ---- tokenize ------------------------------------------------------------ */

int64_t gf_tokenize(const gf_tokenizer *t, const char *text, size_t len, int add_special, int parse_special, int32_t *out,
                    size_t cap) {
    if (!text && len) return gf_fail("tokenizer: text is NULL");
    if (len > (1u << 30)) return gf_fail("tokenizer: text of %zu bytes is too long (the limit is 1 GiB)", len);
    size_t bad = gf_utf8_validate(text, len);
    if (bad != len)
        return gf_fail("tokenizer: the text is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)text[bad], bad);
    gf_ids ids = {0};
    frag_list l = {0};
    int s = GF_OK;
    if (len && (s = partition(t, text, len, parse_special, &l)) < 0) goto done;

    if (add_special && (t->kind == GF_TOK_WPM || t->add_bos)) { /* WordPiece always opens with [CLS] */
        if (t->bos < 0) {
            s = gf_fail("tokenizer: add_special asks for a BOS token, but the vocabulary has none");
            goto done;
        }
        if ((s = gf_ids_push(&ids, t->bos)) < 0) goto done;
    }
    int prev_special = 1; /* SPM: a raw fragment after a special token (or first) gets the space prefix */
    for (uint32_t f = l.n ? 0 : FRAG_END; f != FRAG_END; f = l.v[f].next) {
        const frag *fr = &l.v[f];
        if (fr->tok >= 0) {
            if ((s = gf_ids_push(&ids, fr->tok)) < 0) goto done;
            prev_special = 1;
            continue;
        }
        switch (t->kind) {
        case GF_TOK_SPM: s = gf_spm_tokenize(t, text + fr->off, fr->len, t->add_space_prefix && prev_special, &ids); break;
        case GF_TOK_BPE: s = gf_bpe_tokenize(t, text + fr->off, fr->len, &ids); break;
        default: s = gf_wpm_tokenize(t, text + fr->off, fr->len, &ids); break;
        }
        if (s < 0) goto done;
        prev_special = 0;
    }
    if (add_special) {
        int32_t tail = t->kind == GF_TOK_WPM ? t->sep : (t->add_eos ? t->eos : -1);
        if (t->kind == GF_TOK_WPM && tail < 0) {
            s = gf_fail("tokenizer: add_special asks for a [SEP] token, but the vocabulary has none");
            goto done;
        }
        if (tail >= 0 && (s = gf_ids_push(&ids, tail)) < 0) goto done;
    }
    if (cap && out && ids.n) memcpy(out, ids.v, (ids.n < cap ? ids.n : cap) * sizeof *out);
done:
    free(l.v);
    free(ids.v);
    return s < 0 ? s : (int64_t)ids.n;
}

/* ---- detokenize ---------------------------------------------------------- */

/* A small growing byte buffer. It may start on caller storage (on_heap 0):
 * streaming generation then allocates nothing per token. */
typedef struct {
    char *v;
    size_t n, cap;
    int on_heap;
} bytes;

static void bytes_free(bytes *b) {
    if (b->on_heap) free(b->v);
}

static int put(bytes *b, const char *s, size_t n) {
    if (n == 0) return GF_OK;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        char *v = b->on_heap ? realloc(b->v, cap) : malloc(cap);
        if (!v) return gf_fail_nomem("detokenized text", cap);
        if (!b->on_heap && b->n) memcpy(v, b->v, b->n);
        b->v = v;
        b->cap = cap;
        b->on_heap = 1;
    }
    memcpy(b->v + b->n, s, n);
    b->n += n;
    return GF_OK;
}

static int put_unescaped(bytes *b, const char *s, size_t n) {
    size_t i = 0, start = 0;
    int st = GF_OK;
    while (i + 3 <= n) { /* U+2581 (the SentencePiece space) back to ' ' */
        if ((unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x96 && (unsigned char)s[i + 2] == 0x81) {
            if ((st = put(b, s + start, i - start)) < 0 || (st = put(b, " ", 1)) < 0) return st;
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    return put(b, s + start, n - start);
}

static int put_byte_decoded(bytes *b, const char *s, size_t n) {
    size_t i = 0;
    int st = GF_OK;
    while (i < n && st >= 0) {
        uint32_t cp;
        size_t k = gf_utf8_decode(s + i, n - i, &cp);
        int byte = k ? gf_unicode_to_byte(cp) : -1;
        if (byte >= 0) {
            char c = (char)byte;
            st = put(b, &c, 1);
        } else { /* llama.cpp's marker for a character outside the byte map */
            char hex[16];
            size_t m = k ? k : 1;
            st = put(b, "[UNK_BYTE_0x", 12);
            for (size_t j = 0; j < m && st >= 0; j++) {
                snprintf(hex, sizeof hex, "%02x", (unsigned char)s[i + j]);
                st = put(b, hex, 2);
            }
            if (st >= 0) st = put(b, s, n);
            if (st >= 0) st = put(b, "]", 1);
        }
        i += k ? k : 1;
    }
    return st;
}

static int hex_digit(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0; }

/* Appends id's piece (llama.cpp's token_to_piece). */
static int piece(const gf_tokenizer *t, int32_t id, int render_special, bytes *b) {
    uint32_t attr = t->tok[id].attr, len;
    const char *text = tok_text(t, id, &len);
    if (!render_special && (attr & (GF_ATTR_UNKNOWN | GF_ATTR_CONTROL))) return GF_OK;
    if (attr & (GF_ATTR_UNKNOWN | GF_ATTR_CONTROL | GF_ATTR_USER_DEFINED)) return put(b, text, len);
    if (attr & GF_ATTR_NORMAL) return t->kind == GF_TOK_BPE ? put_byte_decoded(b, text, len) : put_unescaped(b, text, len);
    if (attr & GF_ATTR_BYTE) {
        char c = (char)(len >= 5 ? hex_digit(text[3]) << 4 | hex_digit(text[4]) : 0); /* "<0xAB>" */
        return put(b, &c, 1);
    }
    return GF_OK; /* unused and undefined tokens render as nothing */
}

static int check_id(const gf_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return gf_fail("tokenizer: token id %d is outside the vocabulary (0..%d)", id, t->n_vocab - 1);
    return GF_OK;
}

int gf_token_to_piece(const gf_tokenizer *t, int32_t id, char *buf, size_t cap, int render_special) {
    int s = check_id(t, id);
    if (s < 0) return s;
    bytes b = {0};
    if ((s = piece(t, id, render_special, &b)) >= 0) {
        if (buf && cap && b.n) memcpy(buf, b.v, b.n < cap ? b.n : cap);
        s = (int)b.n;
    }
    bytes_free(&b);
    return s;
}

/* llama.cpp's clean_up_tokenization_spaces passes, in place. */
static size_t clean_spaces(char *text, size_t total) {
    if (total == 0) return 0;
    size_t n = 1; /* " ?", " !", " .", " ," lose the space */
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) n--;
        text[n++] = x;
    }
    total = n;
    n = 1; /* " ' " becomes "'" */
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < total && text[i - 1] == ' ' && text[i + 1] == ' ') {
            n--;
            text[++i] = 0;
        }
        text[n++] = x;
    }
    total = n;
    n = 1; /* " 's", " 'm", " 're", " 've" lose the space */
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < total) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') n--;
            else if (i + 2 < total && ((x1 == 'r' && text[i + 2] == 'e') || (x1 == 'v' && text[i + 2] == 'e'))) n--;
        }
        text[n++] = x;
    }
    return n;
}

int64_t gf_detokenize(const gf_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char *buf, size_t cap) {
    for (size_t i = 0; i < n; i++) {
        int s = check_id(t, ids[i]);
        if (s < 0) return s;
    }
    int remove_space = t->add_space_prefix;
    if (skip_special && t->add_bos && n > 0 && ids[0] == t->bos) {
        /* llama.cpp keeps the added space after a dropped BOS; we remove it
         * too, so that detokenize(tokenize(text)) == text (docs/tokenizers.md) */
        ids++, n--;
    }
    if (skip_special && t->add_eos && n > 0 && ids[n - 1] == t->eos) n--;
    bytes b = {0};
    int s = GF_OK;
    for (size_t i = 0; i < n && s >= 0; i++) {
        size_t start = b.n;
        s = piece(t, ids[i], !skip_special, &b);
        if (remove_space && s >= 0) {
            if (b.n > start && b.v[start] == ' ') { /* SPM's added leading space */
                memmove(b.v + start, b.v + start + 1, b.n - start - 1);
                b.n--;
            }
        }
        remove_space = 0;
    }
    int64_t total = s;
    if (s >= 0) {
        if (t->clean_spaces) b.n = clean_spaces(b.v, b.n);
        if (buf && cap && b.n) memcpy(buf, b.v, b.n < cap ? b.n : cap);
        total = (int64_t)b.n;
    }
    bytes_free(&b);
    return total;
}

/* ---- streaming ----------------------------------------------------------- */

void gf_detok_stream_init(gf_detok_stream *s) { memset(s, 0, sizeof *s); s->first = 1; }

/* Whether p[0..n) could still become a valid character with more bytes. */
static int utf8_prefix_ok(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t want = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (want == 0 || n >= want) return 0;
    if (n >= 2) { /* the second byte rules out overlongs, surrogates and > U+10FFFF */
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (p[1] < lo || p[1] > hi) return 0;
    }
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return 1;
}

/* Bytes of a valid character, or 0 (invalid) or -1 (a valid start, cut short). */
static int utf8_char(const unsigned char *p, size_t n) {
    uint32_t cp;
    size_t k = gf_utf8_decode((const char *)p, n, &cp);
    if (k) return (int)k;
    return utf8_prefix_ok(p, n) ? -1 : 0;
}

/* Complete characters of in[0..n) to out (invalid bytes as U+FFFD); returns
 * the output size and how many input bytes were consumed (an incomplete
 * character at the end stays unless `all`). */
static size_t emit_chars(const unsigned char *in, size_t n, int all, bytes *out, size_t *used, int *st) {
    size_t i = 0;
    while (i < n && *st >= 0) {
        int k = utf8_char(in + i, n - i);
        if (k > 0) {
            *st = put(out, (const char *)in + i, (size_t)k);
            i += (size_t)k;
        } else if (k < 0 && !all) {
            break;
        } else {
            *st = put(out, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    *used = i;
    return out->n;
}

static int stream_out(gf_detok_stream *s, const bytes *in, int all, char *buf, size_t cap) {
    char storage[256];
    bytes out = {storage, 0, sizeof storage, 0};
    size_t used = 0;
    int st = GF_OK;
    emit_chars((const unsigned char *)in->v, in->n, all, &out, &used, &st);
    if (st < 0) {
        bytes_free(&out);
        return st;
    }
    if (in->n - used > sizeof s->pending) { /* cannot happen: a kept tail is at most 3 bytes */
        bytes_free(&out);
        return gf_fail("tokenizer: internal error in streaming detokenization");
    }
    int total = (int)out.n;
    if (buf && out.n <= cap) { /* only commit when the caller's buffer takes it all */
        if (out.n) memcpy(buf, out.v, out.n);
        if (in->n > used) memcpy(s->pending, in->v + used, in->n - used);
        s->n_pending = (int)(in->n - used);
        if (out.n) s->first = 0;
    }
    bytes_free(&out);
    return total;
}

int gf_detok_stream_push(const gf_tokenizer *t, gf_detok_stream *s, int32_t id, char *buf, size_t cap) {
    int st = check_id(t, id);
    if (st < 0) return st;
    char storage[256];
    bytes in = {storage, 0, sizeof storage, 0};
    if ((st = put(&in, s->pending, (size_t)s->n_pending)) >= 0 && (st = piece(t, id, 0, &in)) >= 0)
        st = stream_out(s, &in, 0, buf, cap);
    bytes_free(&in);
    return st;
}

int gf_detok_stream_flush(gf_detok_stream *s, char *buf, size_t cap) {
    bytes in = {0};
    int st = put(&in, s->pending, (size_t)s->n_pending);
    if (st >= 0) st = stream_out(s, &in, 1, buf, cap);
    free(in.v);
    return st;
}
