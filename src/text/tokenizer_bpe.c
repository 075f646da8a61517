/* Byte-level BPE (tokenizer.ggml.model = "gpt2"): the pre-tokenizer that
 * splits text into words, then merges inside each word by rank.
 *
 * llama.cpp splits with a list of regexes per `tokenizer.ggml.pre`; each
 * regex cuts every piece left by the previous one into its matches and the
 * gaps between them. Two lists have hand-written matchers there (GPT-2's
 * and Llama 3's); the others run through std::regex, on text where each
 * non-ASCII code point is collapsed to a stand-in for its category (\p{..}
 * regexes) or where non-ASCII whitespace becomes \v (other regexes). Here
 * every regex is a small hand-written matcher with exactly those semantics:
 * ECMAScript's leftmost, first-alternative-wins matching, on the classes as
 * the collapsed text sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/tokenizer_bpe.h"
#include "text/unicode.h"

/* ---- pre-tokenizer names ------------------------------------------------- */

typedef struct {
    const char *name;
    int pre;
    int clean_spaces, ignore_merges, add_bos, no_bos;
} pre_name;

/* The `pre` values llama.cpp accepts whose regexes are implemented here,
 * with the flags it sets for each. */
static const pre_name k_pre[] = {
    {"default", GF_PRE_DEFAULT, 1, 0, 0, 0},
    {"llama3", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"llama-v3", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"llama-bpe", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"falcon3", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"falcon-h1", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"pixtral", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"midm-2.0", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"lfm2", GF_PRE_LLAMA3, 1, 1, 1, 0},
    {"dbrx", GF_PRE_LLAMA3, 1, 0, 0, 0},
    {"smaug-bpe", GF_PRE_LLAMA3, 1, 0, 0, 0},
    {"glm4", GF_PRE_LLAMA3, 1, 0, 0, 1},
    {"chatglm-bpe", GF_PRE_LLAMA3, 1, 0, 0, 1},
    {"deepseek-llm", GF_PRE_DEEPSEEK_LLM, 0, 0, 0, 0},
    {"deepseek-coder", GF_PRE_DEEPSEEK_CODER, 0, 0, 0, 0},
    {"falcon", GF_PRE_FALCON, 1, 0, 0, 0},
    {"gpt-2", GF_PRE_GPT2, 1, 0, 0, 0},
    {"phi-2", GF_PRE_GPT2, 1, 0, 0, 0},
    {"mpt", GF_PRE_GPT2, 1, 0, 0, 0},
    {"olmo", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jais", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-es", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-de", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-v2-es", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-v2-de", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-v1-en", GF_PRE_GPT2, 1, 0, 0, 0},
    {"jina-v2-code", GF_PRE_GPT2, 1, 0, 0, 0},
    {"roberta-bpe", GF_PRE_GPT2, 1, 0, 0, 0},
    {"gigachat", GF_PRE_GPT2, 1, 0, 0, 0},
    {"a.x-4.0", GF_PRE_GPT2, 1, 0, 0, 0},
    {"mellum", GF_PRE_GPT2, 1, 0, 0, 0},
    {"modern-bert", GF_PRE_GPT2, 1, 0, 0, 0},
    {"exaone4", GF_PRE_GPT2, 1, 0, 0, 0},
    {"trillion", GF_PRE_GPT2, 0, 0, 0, 0},
    {"granite-docling", GF_PRE_GPT2, 0, 0, 0, 0},
    {"qwen2", GF_PRE_QWEN2, 0, 0, 0, 0},
    {"deepseek-r1-qwen", GF_PRE_QWEN2, 0, 0, 0, 0},
    {"megrez", GF_PRE_QWEN2, 1, 0, 0, 0},
    {"stablelm2", GF_PRE_QWEN2, 1, 0, 0, 0},
    {"hunyuan", GF_PRE_QWEN2, 0, 0, 0, 0},
    {"solar-open", GF_PRE_QWEN2, 0, 0, 0, 0},
    {"starcoder", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"refact", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"codeshell", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"exaone", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"minerva-7b", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"mellum2", GF_PRE_STARCODER, 1, 0, 0, 0},
    {"command-r", GF_PRE_STARCODER, 0, 0, 0, 0},
    {"smollm", GF_PRE_STARCODER, 0, 0, 0, 0},
};

int gf_bpe_set_pre(gf_tokenizer *t, const char *pre, size_t len) {
    for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0]; i++) {
        const pre_name *p = &k_pre[i];
        if (strlen(p->name) != len || memcmp(p->name, pre, len) != 0) continue;
        t->pre = p->pre;
        t->clean_spaces = p->clean_spaces;
        t->ignore_merges = p->ignore_merges;
        if (p->add_bos) t->add_bos = 1;
        if (p->no_bos) t->bos = -1;
        return GF_OK;
    }
    char list[1024];
    size_t n = 0;
    for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0] && n + 32 < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", k_pre[i].name);
    return gf_fail("tokenizer: unsupported BPE pre-tokenizer '%.*s' (tokenizer.ggml.pre); supported: %s", (int)(len > 64 ? 64 : len), pre,
                   list);
}

/* ---- merges ---------------------------------------------------------------- */

static uint64_t merge_key(int32_t l, int32_t r) { return (uint64_t)(uint32_t)(l + 1) << 32 | (uint32_t)(r + 1); }

static uint32_t merge_slot(const gf_merges *m, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & m->mask;
}

/* Rank and merged string of (l, r), or -1. */
static int32_t merge_find(const gf_merges *m, int32_t l, int32_t r, int32_t *result) {
    if (!m->key) return -1;
    uint64_t key = merge_key(l, r);
    for (uint32_t i = merge_slot(m, key);; i = (i + 1) & m->mask) {
        if (m->key[i] == key) {
            *result = m->result[i];
            return (int32_t)m->rank[i];
        }
        if (!m->key[i]) return -1;
    }
}

int gf_bpe_load_merges(gf_tokenizer *t, const gguf_reader *r) {
    const gguf_kv *kv;
    int s = gguf_get_arr(r, "tokenizer.ggml.merges", GGUF_VT_STRING, &kv);
    if (s < 0) return s;
    if (s == 0) return gf_fail("tokenizer: BPE vocabulary without merges (tokenizer.ggml.merges is missing)");
    /* the merge queue keeps an array per rank: real vocabularies have < 1 M merges */
    if (kv->arr_n > (1u << 24)) return gf_fail("tokenizer: %llu merges is too many (limit 16777216)", (unsigned long long)kv->arr_n);
    gf_merges *m = &t->merges;
    uint32_t slots = 1024;
    while (slots < kv->arr_n * 2) slots *= 2;
    m->key = calloc(slots, sizeof *m->key);
    m->rank = malloc(slots * sizeof *m->rank);
    m->result = malloc(slots * sizeof *m->result);
    if (!m->key || !m->rank || !m->result) return gf_fail_nomem("the BPE merges", slots * 16ull);
    m->mask = slots - 1;
    char *cat = NULL;
    size_t cat_cap = 0;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint32_t len;
        const char *str = gguf_arr_str(r, kv, i, &len);
        /* "left right", split at the first space after the first byte. */
        const char *sp = len > 1 ? memchr(str + 1, ' ', len - 1) : NULL;
        if (!sp) continue;
        size_t ln = (size_t)(sp - str), rn = len - ln - 1;
        if (ln + rn > cat_cap) {
            cat_cap = (ln + rn) * 2;
            char *c = realloc(cat, cat_cap);
            if (!c) {
                free(cat);
                return gf_fail_nomem("a BPE merge", cat_cap);
            }
            cat = c;
        }
        memcpy(cat, str, ln);
        memcpy(cat + ln, sp + 1, rn);
        int32_t l = gf_strtab_add(&t->st, str, ln), rr = l < 0 ? l : gf_strtab_add(&t->st, sp + 1, rn);
        int32_t res = rr < 0 ? rr : gf_strtab_add(&t->st, cat, ln + rn);
        if (res < 0) {
            free(cat);
            return res;
        }
        uint64_t key = merge_key(l, rr);
        uint32_t j = merge_slot(m, key);
        while (m->key[j] && m->key[j] != key) j = (j + 1) & m->mask;
        if (m->key[j]) continue; /* a repeated pair keeps its first rank */
        m->key[j] = key;
        m->rank[j] = (uint32_t)i;
        m->result[j] = res;
        m->n++;
    }
    free(cat);
    m->n_ranks = (uint32_t)kv->arr_n;
    for (int b = 0; b < 256; b++) {
        char u[4];
        int k = gf_utf8_encode(gf_byte_to_unicode((uint8_t)b), u);
        t->byte_sid[b] = gf_strtab_find(&t->st, u, (size_t)k);
    }
    return GF_OK;
}

void gf_bpe_free(gf_tokenizer *t) {
    free(t->merges.key);
    free(t->merges.rank);
    free(t->merges.result);
    memset(&t->merges, 0, sizeof t->merges);
}

/* ---- merging one word -------------------------------------------------------- */

typedef struct {
    int32_t prev, next;
    uint32_t start, n; /* bytes of the original text */
    int32_t sid;
} sym;

typedef struct bpe_run bpe_run;
typedef void (*stage_fn)(bpe_run *r, int st, size_t a, size_t b);

struct bpe_run {
    const gf_tokenizer *t;
    const char *text;
    uint32_t *cp, *off; /* code points and their byte offsets (off[n] = end) */
    uint8_t *fl;        /* gf_unicode_flags */
    size_t n;
    const stage_fn *stages;
    int n_stages;
    gf_ids *out;
    void (*on_word)(void *ctx, size_t start, size_t end);
    void *ctx;
    int err;
    sym *sy;
    size_t sy_cap;
    gf_merge_queue queue;
    char *enc;
    size_t enc_cap;
};

static int try_pair(bpe_run *r, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return GF_OK;
    const sym *l = &r->sy[left], *rt = &r->sy[right];
    if (l->sid < 0 || rt->sid < 0) return GF_OK;
    int32_t result;
    int32_t rank = merge_find(&r->t->merges, l->sid, rt->sid, &result);
    if (rank < 0) return GF_OK;
    /* the lowest rank merges first */
    return gf_merge_push(&r->queue, (gf_merge){(uint32_t)rank, left, right, l->n + rt->n, result});
}

/* The stand-in characters of bytes s[0..n), into r->enc. */
static int encode_bytes(bpe_run *r, const unsigned char *s, size_t n, size_t *len) {
    if (n * 2 > r->enc_cap) {
        size_t cap = n * 2 + 64;
        char *e = realloc(r->enc, cap);
        if (!e) return gf_fail_nomem("a BPE word", cap);
        r->enc = e;
        r->enc_cap = cap;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)gf_utf8_encode(gf_byte_to_unicode(s[i]), r->enc + k);
    *len = k;
    return GF_OK;
}

static int emit_symbol(bpe_run *r, const unsigned char *w, const sym *s) {
    const gf_tokenizer *t = r->t;
    int32_t tok = s->sid >= 0 ? t->st.tok[s->sid] : -1;
    if (tok >= 0) return gf_ids_push(r->out, tok);
    /* Not a token: llama.cpp emits the tokens of the single bytes of its
     * (encoded) text that are tokens, and drops the rest. */
    size_t len;
    int st = encode_bytes(r, w + s->start, s->n, &len);
    for (size_t i = 0; i < len && st >= 0; i++) {
        int32_t c = t->char_tok[(unsigned char)r->enc[i]];
        if (c >= 0) st = gf_ids_push(r->out, c);
    }
    return st;
}

static int bpe_word(bpe_run *r, size_t a, size_t b) {
    const gf_tokenizer *t = r->t;
    const unsigned char *w = (const unsigned char *)r->text + r->off[a];
    size_t n = r->off[b] - r->off[a];
    int st;
    if (t->ignore_merges) { /* a word that is a token stays whole */
        size_t len;
        if ((st = encode_bytes(r, w, n, &len)) < 0) return st;
        int32_t tok = gf_text_to_token(&t->st, r->enc, len);
        if (tok >= 0) return gf_ids_push(r->out, tok);
    }
    if (n > r->sy_cap) {
        sym *s = realloc(r->sy, n * sizeof *s);
        if (!s) return gf_fail_nomem("a BPE word", n * sizeof *s);
        r->sy = s;
        r->sy_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        r->sy[i] = (sym){(int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, (uint32_t)i, 1, t->byte_sid[w[i]]};
    if ((st = gf_merge_reset(&r->queue, n, t->merges.n_ranks, 0)) < 0) return st;
    for (size_t i = 1; i < n; i++)
        if ((st = try_pair(r, (int32_t)i - 1, (int32_t)i)) < 0) return st;
    gf_merge g;
    while (gf_merge_pop(&r->queue, &g)) {
        sym *l = &r->sy[g.left], *rt = &r->sy[g.right];
        if (!l->n || !rt->n || l->n + rt->n != g.size) continue; /* outdated */
        l->n += rt->n;
        l->sid = g.result;
        rt->n = 0;
        l->next = rt->next;
        if (rt->next >= 0) r->sy[rt->next].prev = g.left;
        if ((st = try_pair(r, l->prev, g.left)) < 0 || (st = try_pair(r, g.left, l->next)) < 0) return st;
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = r->sy[i].next)
        if ((st = emit_symbol(r, w, &r->sy[i])) < 0) return st;
    return GF_OK;
}

/* ---- pre-tokenizer stages ---------------------------------------------------- */

/* Hands [a, b) to the next regex, or to merging after the last one. */
static void next(bpe_run *r, int st, size_t a, size_t b) {
    if (a >= b || r->err < 0) return;
    if (st + 1 < r->n_stages) r->stages[st + 1](r, st + 1, a, b);
    else if (r->on_word) r->on_word(r->ctx, r->off[a], r->off[b]);
    else r->err = bpe_word(r, a, b);
}

#define OUT_OF_RANGE 0xFFFFFFFFu

static int is_l(uint8_t f) { return (f & GF_UCAT_MASK) == GF_UCAT_L; }
static int is_n(uint8_t f) { return (f & GF_UCAT_MASK) == GF_UCAT_N; }
static int is_ws(uint8_t f) { return (f & GF_UFLAG_WS) != 0; }
/* [^\s\p{L}\p{N}] inside the current piece (flags 0 means outside). */
static int is_other(uint8_t f) { return f && !is_ws(f) && !is_l(f) && !is_n(f); }

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * (llama.cpp's unicode_regex_split_custom_gpt2, which adds a final \s+). */
static void st_gpt2(bpe_run *r, int st, size_t a, size_t b) {
#define CP(i) ((i) < b ? r->cp[i] : OUT_OF_RANGE)
#define FL(i) ((i) < b ? r->fl[i] : 0)
    size_t pos = a;
    while (pos < b) {
        size_t start = pos;
        uint32_t c = r->cp[pos];
        uint8_t f = r->fl[pos];
        if (c == '\'' && pos + 1 < b) {
            uint32_t c1 = CP(pos + 1);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                next(r, st, start, pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < b) {
                uint32_t c2 = CP(pos + 2);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    next(r, st, start, pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        uint8_t f2 = c == ' ' ? FL(pos + 1) : f;
        if (is_l(f2) || is_n(f2) || is_other(f2)) {
            int (*same)(uint8_t) = is_l(f2) ? is_l : is_n(f2) ? is_n : is_other;
            pos += c == ' ';
            while (same(FL(pos))) pos++;
            next(r, st, start, pos);
            continue;
        }
        size_t nws = 0;
        while (is_ws(FL(pos + nws))) nws++;
        if (nws > 1 && pos + nws < b) pos += nws - 1; /* \s+(?!\S): leave one for the next word */
        else if (nws > 0) pos += nws;
        else pos++;
        next(r, st, start, pos);
    }
}

/* Llama 3 (max_digits 3): (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 * | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ ; Qwen2's list is the same
 * with \p{N} (max_digits 1), which llama.cpp runs through std::regex with the
 * same outcome. */
static void split_llama3(bpe_run *r, int st, size_t a, size_t b, size_t max_digits) {
    size_t pos = a;
    while (pos < b) {
        size_t start = pos;
        uint32_t c = r->cp[pos];
        uint8_t f = r->fl[pos];
        if (c == '\'' && pos + 1 < b) {
            uint32_t c1 = gf_unicode_tolower(CP(pos + 1));
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                next(r, st, start, pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < b) {
                uint32_t c2 = gf_unicode_tolower(CP(pos + 2));
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    next(r, st, start, pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        if (!(c == '\r' || c == '\n' || is_n(f)) && (is_l(f) || is_l(FL(pos + 1)))) {
            pos++;
            while (is_l(FL(pos))) pos++;
            next(r, st, start, pos);
            continue;
        }
        if (is_n(f)) {
            size_t ini = pos;
            while (is_n(FL(pos))) {
                if (++pos - ini >= max_digits) {
                    next(r, st, ini, pos);
                    ini = pos;
                }
            }
            next(r, st, ini, pos);
            continue;
        }
        uint8_t f2 = c == ' ' ? FL(pos + 1) : f;
        if (!(is_ws(f2) || is_l(f2) || is_n(f2))) { /* includes a lone trailing ' ' (f2 == 0) */
            pos += c == ' ';
            while (is_other(FL(pos))) pos++;
            while (CP(pos) == '\r' || CP(pos) == '\n') pos++;
            next(r, st, start, pos);
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (is_ws(FL(pos + nws))) {
            uint32_t c2 = CP(pos + nws);
            if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn) pos = last_rn; /* \s*[\r\n]+ */
        else if (nws > 1 && pos + nws < b) pos += nws - 1;
        else if (nws > 0) pos += nws;
        else pos++;
        next(r, st, start, pos);
    }
#undef CP
#undef FL
}

static void st_llama3(bpe_run *r, int st, size_t a, size_t b) { split_llama3(r, st, a, b, 3); }
static void st_qwen2(bpe_run *r, int st, size_t a, size_t b) { split_llama3(r, st, a, b, 1); }

/* Character classes as llama.cpp's regex fallback sees them. For \p{..}
 * regexes ("collapsed" text) ASCII keeps its own meaning and a non-ASCII
 * code point counts only through its category, whitespace first. */
typedef int (*cls_fn)(uint32_t cp, uint8_t f);

static int ascii_punct(uint32_t c) { /* Unicode P among ASCII, as llama.cpp lists it */
    return (c >= 0x21 && c <= 0x23) || (c >= 0x25 && c <= 0x2A) || (c >= 0x2C && c <= 0x2F) || c == 0x3A || c == 0x3B ||
           c == 0x3F || c == 0x40 || (c >= 0x5B && c <= 0x5D) || c == 0x5F || c == 0x7B || c == 0x7D;
}
static int c_letter(uint32_t c, uint8_t f) { return c < 0x80 ? ((c | 32) >= 'a' && (c | 32) <= 'z') : (is_l(f) && !is_ws(f)); }
static int c_number(uint32_t c, uint8_t f) { return c < 0x80 ? (c >= '0' && c <= '9') : (is_n(f) && !is_ws(f)); }
static int c_punct(uint32_t c, uint8_t f) { return c < 0x80 ? ascii_punct(c) : ((f & GF_UCAT_MASK) == GF_UCAT_P && !is_ws(f)); }
/* [\p{P}\$\+<=>\^~\|] */
static int c_punct_default(uint32_t c, uint8_t f) { return c_punct(c, f) || (c < 0x80 && c && strchr("$+<=>^~|", (int)c)); }
/* [\p{P}\$\+<=>\^~\|`] */
static int c_punct_falcon(uint32_t c, uint8_t f) { return c_punct_default(c, f) || c == '`'; }
static int c_digit(uint32_t c, uint8_t f) { return (void)f, c >= '0' && c <= '9'; }
static int c_rn(uint32_t c, uint8_t f) { return (void)f, c == '\r' || c == '\n'; }

/* Regexes without \p{..} see non-ASCII whitespace as \v. */
static uint32_t wide(uint32_t c, uint8_t f) { return c >= 0x80 && is_ws(f) ? 0x0B : c; }

static int in_ranges(uint32_t c, const uint32_t (*rg)[2], size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < rg[mid][0]) hi = mid;
        else if (c > rg[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* deepseek-llm's cased-letter class (written out in its regex). */
static const uint32_t k_ds_letters[][2] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386},
    {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
    {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B},
    {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D},
    {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4},
    {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
    {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D},
    {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184},
    {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B},
    {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2},
    {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
/* [!-/:-~！-／：-～‘-‟　-。] */
static const uint32_t k_ds_punct[][2] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};
/* [一-龥ࠀ-一가-퟿] */
static const uint32_t k_ds_cjk[][2] = {{0x800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF}};
#define N_RANGES(a) (sizeof(a) / sizeof(a[0]))

static int c_ds_letter(uint32_t c, uint8_t f) { return in_ranges(wide(c, f), k_ds_letters, N_RANGES(k_ds_letters)); }
static int c_ds_punct(uint32_t c, uint8_t f) { return in_ranges(wide(c, f), k_ds_punct, N_RANGES(k_ds_punct)); }
static int c_ds_cjk(uint32_t c, uint8_t f) { return in_ranges(wide(c, f), k_ds_cjk, N_RANGES(k_ds_cjk)); }

enum { RUN, RUN_WS_PREFIX, ONE };

/* Matches of X+ (RUN), \s?X+ (RUN_WS_PREFIX) or X (ONE), with the gaps. */
static void split_class(bpe_run *r, int st, size_t a, size_t b, cls_fn in, int form) {
    size_t prev = a, p = a;
    while (p < b) {
        size_t ms, e;
        if (form == RUN_WS_PREFIX && is_ws(r->fl[p]) && p + 1 < b && in(r->cp[p + 1], r->fl[p + 1])) {
            ms = p, e = p + 2;
        } else if (in(r->cp[p], r->fl[p])) {
            ms = p, e = p + 1;
        } else {
            p++;
            continue;
        }
        if (form != ONE)
            while (e < b && in(r->cp[e], r->fl[e])) e++;
        next(r, st, prev, ms);
        next(r, st, ms, e);
        prev = p = e;
    }
    next(r, st, prev, b);
}

static void st_punct_default(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_punct_default, RUN); }
static void st_punct_falcon(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_punct_falcon, RUN); }
static void st_numbers(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_number, RUN); }
static void st_number(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_number, ONE); }
static void st_rn(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_rn, ONE); }
static void st_ds_letters(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_ds_letter, RUN_WS_PREFIX); }
static void st_ds_punct(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_ds_punct, RUN_WS_PREFIX); }
static void st_ds_cjk(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_ds_cjk, RUN); }
static void st_letters(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_letter, RUN_WS_PREFIX); }
static void st_puncts(bpe_run *r, int st, size_t a, size_t b) { split_class(r, st, a, b, c_punct, RUN_WS_PREFIX); }

/* [0-9][0-9][0-9] */
static void st_digits3(bpe_run *r, int st, size_t a, size_t b) {
    size_t prev = a, p = a;
    while (p + 3 <= b) {
        if (c_digit(r->cp[p], 0) && c_digit(r->cp[p + 1], 0) && c_digit(r->cp[p + 2], 0)) {
            next(r, st, prev, p);
            next(r, st, p, p + 3);
            prev = p = p + 3;
        } else {
            p++;
        }
    }
    next(r, st, prev, b);
}

/* \s+$ : the piece's trailing whitespace. */
static void st_ws_end(bpe_run *r, int st, size_t a, size_t b) {
    size_t e = b;
    while (e > a && is_ws(r->fl[e - 1])) e--;
    next(r, st, a, e);
    next(r, st, e, b);
}

static const stage_fn k_default[] = {st_punct_default, st_gpt2, st_numbers, st_digits3};
static const stage_fn k_gpt2[] = {st_gpt2};
static const stage_fn k_llama3[] = {st_llama3};
static const stage_fn k_qwen2[] = {st_qwen2};
static const stage_fn k_falcon[] = {st_punct_falcon, st_gpt2, st_digits3};
static const stage_fn k_starcoder[] = {st_number, st_gpt2};
static const stage_fn k_deepseek_llm[] = {st_rn, st_ds_letters, st_ds_punct, st_ws_end, st_ds_cjk, st_numbers};
static const stage_fn k_deepseek_coder[] = {st_rn, st_letters, st_puncts, st_ds_cjk, st_number};

static int run(const gf_tokenizer *t, const char *text, size_t n, gf_ids *out, void (*on_word)(void *, size_t, size_t), void *ctx) {
    bpe_run r = {.t = t, .text = text, .out = out, .on_word = on_word, .ctx = ctx};
    switch (t->pre) {
#define USE(list) r.stages = list, r.n_stages = (int)(sizeof list / sizeof list[0])
    case GF_PRE_GPT2: USE(k_gpt2); break;
    case GF_PRE_LLAMA3: USE(k_llama3); break;
    case GF_PRE_QWEN2: USE(k_qwen2); break;
    case GF_PRE_FALCON: USE(k_falcon); break;
    case GF_PRE_STARCODER: USE(k_starcoder); break;
    case GF_PRE_DEEPSEEK_LLM: USE(k_deepseek_llm); break;
    case GF_PRE_DEEPSEEK_CODER: USE(k_deepseek_coder); break;
    default: USE(k_default); break;
#undef USE
    }
    /* Code points of the fragment (the text is valid UTF-8). */
    r.cp = malloc((n + 1) * sizeof *r.cp);
    r.off = malloc((n + 1) * sizeof *r.off);
    r.fl = malloc(n + 1);
    if (!r.cp || !r.off || !r.fl) {
        r.err = gf_fail_nomem("BPE pre-tokenization", (n + 1) * 9ull);
        goto done;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = gf_utf8_decode(text + i, n - i, &cp);
        if (!k) k = 1, cp = 0xFFFD;
        r.cp[r.n] = cp;
        r.off[r.n] = (uint32_t)i;
        r.fl[r.n] = gf_unicode_flags(cp);
        r.n++;
        i += k;
    }
    r.off[r.n] = (uint32_t)n;
    if (r.n) r.stages[0](&r, 0, 0, r.n);
done:
    free(r.cp);
    free(r.off);
    free(r.fl);
    free(r.sy);
    gf_merge_free(&r.queue);
    free(r.enc);
    return r.err < 0 ? r.err : GF_OK;
}

int gf_bpe_tokenize(const gf_tokenizer *t, const char *text, size_t n, gf_ids *out) { return run(t, text, n, out, NULL, NULL); }

int gf_bpe_pretokenize(const gf_tokenizer *t, const char *text, size_t n, void (*word)(void *ctx, size_t start, size_t end), void *ctx) {
    return run(t, text, n, NULL, word, ctx);
}
