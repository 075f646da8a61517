/* SentencePiece BPE (tokenizer.ggml.model = "llama"), as llama.cpp's
 * llm_tokenizer_spm: spaces become U+2581, the text starts as one symbol per
 * character, and the adjacent pair whose concatenation is the best-scoring
 * token is merged first (leftmost among equals) until no pair is a token.
 * The merge queue (tokenizer_impl.h) over a linked list of symbols keeps
 * this linear even for one long word; pairs longer than the longest token
 * are never looked up. Symbols that are not tokens fall back to byte tokens. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/tokenizer_spm.h"
#include "text/unicode.h"

typedef struct {
    int32_t prev, next;
    uint32_t start, n;
} sym;

typedef struct {
    const gf_tokenizer *t;
    const char *text;
    sym *sy;
    gf_merge_queue queue;
} spm_run;

static int try_pair(spm_run *r, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return GF_OK;
    uint32_t size = r->sy[left].n + r->sy[right].n;
    if (size > (uint32_t)r->t->max_token_len) return GF_OK;
    int32_t tok = gf_text_to_token(&r->t->st, r->text + r->sy[left].start, size);
    if (tok < 0) return GF_OK;
    /* the highest score (rank 0) merges first */
    return gf_merge_push(&r->queue, (gf_merge){r->t->tok[tok].score_rank, left, right, size, tok});
}

static int emit(spm_run *r, const sym *s, gf_ids *out) {
    const gf_tokenizer *t = r->t;
    int32_t tok = gf_text_to_token(&t->st, r->text + s->start, s->n);
    if (tok >= 0) return gf_ids_push(out, tok);
    for (uint32_t i = 0; i < s->n; i++) {
        /* llama.cpp throws when a byte has no token; the unknown token is
         * the closest thing that does not fail. */
        int32_t b = t->byte_tok[(unsigned char)r->text[s->start + i]];
        if (b < 0) b = t->unk;
        if (b >= 0) {
            int st = gf_ids_push(out, b);
            if (st < 0) return st;
        }
    }
    return GF_OK;
}

static int is_space(const char *p) { return !memcmp(p, "\xE2\x96\x81", 3); }

/* Merges buf[a, b) and appends its tokens. */
static int merge(spm_run *r, size_t a, size_t b, gf_ids *out) {
    int st = GF_OK;
    size_t ns = 0;
    for (size_t i = a; i < b;) {
        size_t cl = (size_t)gf_utf8_len((unsigned char)r->text[i]);
        if (cl > b - i) cl = b - i;
        r->sy[ns] = (sym){(int32_t)ns - 1, -1, (uint32_t)i, (uint32_t)cl};
        if (ns) r->sy[ns - 1].next = (int32_t)ns;
        ns++;
        i += cl;
    }
    st = gf_merge_reset(&r->queue, ns, r->t->n_score_ranks, 0);
    for (size_t i = 1; i < ns && st >= 0; i++) st = try_pair(r, (int32_t)i - 1, (int32_t)i);
    gf_merge g;
    while (st >= 0 && gf_merge_pop(&r->queue, &g)) {
        sym *l = &r->sy[g.left], *rt = &r->sy[g.right];
        if (!l->n || !rt->n || l->n + rt->n != g.size) continue; /* one side was merged since */
        l->n += rt->n;
        rt->n = 0;
        l->next = rt->next;
        if (rt->next >= 0) r->sy[rt->next].prev = g.left;
        if ((st = try_pair(r, l->prev, g.left)) >= 0) st = try_pair(r, g.left, l->next);
    }
    for (int32_t i = ns ? 0 : -1; i >= 0 && st >= 0; i = r->sy[i].next) st = emit(r, &r->sy[i], out);
    return st;
}

int gf_spm_tokenize(const gf_tokenizer *t, const char *text, size_t n, int add_prefix_space, gf_ids *out) {
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += text[i] == ' ';
    size_t len = n + spaces * 2 + (add_prefix_space ? 3 : 0); /* ' ' -> 3-byte U+2581 */
    if (len > 0xFFFFFFFFu) return gf_fail("tokenizer: text of %zu bytes is too long", n);
    spm_run r = {.t = t};
    char *buf = malloc(len ? len : 1);
    r.sy = malloc((len ? len : 1) * sizeof *r.sy);
    int st = GF_OK;
    if (!buf || !r.sy) {
        st = gf_fail_nomem("SentencePiece tokenization", len * (1 + sizeof *r.sy));
        goto done;
    }
    size_t k = 0;
    if (add_prefix_space) memcpy(buf, "\xE2\x96\x81", 3), k = 3;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == ' ') memcpy(buf + k, "\xE2\x96\x81", 3), k += 3;
        else buf[k++] = text[i];
    }
    r.text = buf;

    /* Words start where a U+2581 follows another character. */
    for (size_t cs = 0; cs < len && st >= 0;) {
        size_t ce = len;
        if (t->spm_split_words)
            for (ce = cs + 1; ce + 3 <= len; ce++)
                if (is_space(buf + ce) && !(ce - cs >= 3 && is_space(buf + ce - 3))) break;
        if (ce + 3 > len) ce = len;
        st = merge(&r, cs, ce, out);
        cs = ce;
    }
done:
    free(buf);
    free(r.sy);
    gf_merge_free(&r.queue);
    return st;
}
