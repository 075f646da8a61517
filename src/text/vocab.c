/* The vocabulary structures every tokenizer shares (vocab.h): the string
 * table, id lists and the merge queue of SentencePiece and BPE. */
#include "text/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* ---- string table ------------------------------------------------------ */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ h >> 16;
}

int gf_strtab_init(gf_strtab *st, uint32_t expect) {
    memset(st, 0, sizeof *st);
    uint32_t slots = 1024;
    while (slots < expect * 2u) slots *= 2;
    st->slot = calloc(slots, sizeof *st->slot);
    st->slot_hash = malloc(slots * sizeof *st->slot_hash);
    if (!st->slot || !st->slot_hash) return gf_fail_nomem("the token table", slots * 8ull);
    st->mask = slots - 1;
    return GF_OK;
}

void gf_strtab_free(gf_strtab *st) {
    free(st->bytes);
    free(st->off);
    free(st->len);
    free(st->tok);
    free(st->slot);
    free(st->slot_hash);
    memset(st, 0, sizeof *st);
}

int32_t gf_strtab_find(const gf_strtab *st, const char *s, size_t n) {
    uint32_t h = hash_bytes(s, n);
    for (uint32_t i = h & st->mask;; i = (i + 1) & st->mask) {
        uint32_t e = st->slot[i];
        if (!e) return -1;
        uint32_t sid = e - 1;
        if (st->slot_hash[i] == h && st->len[sid] == n && memcmp(st->bytes + st->off[sid], s, n) == 0) return (int32_t)sid;
    }
}

static int strtab_grow_slots(gf_strtab *st) {
    uint32_t slots = (st->mask + 1) * 2;
    uint32_t *slot = calloc(slots, sizeof *slot), *hash = malloc(slots * sizeof *hash);
    if (!slot || !hash) {
        free(slot);
        free(hash);
        return gf_fail_nomem("the token table", slots * 8ull);
    }
    for (uint32_t i = 0; i <= st->mask; i++) {
        if (!st->slot[i]) continue;
        uint32_t j = st->slot_hash[i] & (slots - 1);
        while (slot[j]) j = (j + 1) & (slots - 1);
        slot[j] = st->slot[i];
        hash[j] = st->slot_hash[i];
    }
    free(st->slot);
    free(st->slot_hash);
    st->slot = slot;
    st->slot_hash = hash;
    st->mask = slots - 1;
    return GF_OK;
}

int32_t gf_strtab_add(gf_strtab *st, const char *s, size_t n) {
    int32_t found = gf_strtab_find(st, s, n);
    if (found >= 0) return found;
    if (n > 0xFFFFFFu || st->n >= 0x7FFFFFFFu) return gf_fail("tokenizer: a vocabulary string of %zu bytes is too large", n);
    if ((st->n + 1) * 2 > st->mask + 1 && strtab_grow_slots(st) < 0) return GF_ERR_NOMEM;
    if (st->n == st->cap) {
        uint32_t cap = st->cap ? st->cap * 2 : 1024;
        uint32_t *off = realloc(st->off, cap * sizeof *off);
        if (off) st->off = off;
        uint32_t *len = realloc(st->len, cap * sizeof *len);
        if (len) st->len = len;
        int32_t *tok = realloc(st->tok, cap * sizeof *tok);
        if (tok) st->tok = tok;
        if (!off || !len || !tok) return gf_fail_nomem("the token table", cap * 12ull);
        st->cap = cap;
    }
    if (st->n_bytes + n > st->cap_bytes) {
        size_t cap = st->cap_bytes ? st->cap_bytes : 65536;
        while (cap < st->n_bytes + n) cap *= 2;
        if (cap > 0xFFFFFFFFu) return gf_fail("tokenizer: vocabulary strings exceed 4 GB");
        char *b = realloc(st->bytes, cap);
        if (!b) return gf_fail_nomem("the token strings", cap);
        st->bytes = b;
        st->cap_bytes = cap;
    }
    uint32_t sid = st->n++;
    if (n) memcpy(st->bytes + st->n_bytes, s, n);
    st->off[sid] = (uint32_t)st->n_bytes;
    st->len[sid] = (uint32_t)n;
    st->tok[sid] = -1;
    st->n_bytes += n;
    uint32_t h = hash_bytes(s, n);
    uint32_t i = h & st->mask;
    while (st->slot[i]) i = (i + 1) & st->mask;
    st->slot[i] = sid + 1;
    st->slot_hash[i] = h;
    return (int32_t)sid;
}

int gf_ids_push(gf_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 256;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v) return gf_fail_nomem("token ids", cap * sizeof *v);
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return GF_OK;
}

/* ---- loading ------------------------------------------------------------ */

/* ---- the merge queue shared by SentencePiece and BPE ------------------------ */

size_t gf_merge_bucketed_min = 4096;

static int merge_before(const gf_merge *a, const gf_merge *b) { return a->order < b->order || (a->order == b->order && a->left < b->left); }

static int heap_push(gf_merge_queue *q, gf_merge m) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        gf_merge *v = realloc(q->v, cap * sizeof *v);
        if (!v) return gf_fail_nomem("the tokenizer's merge queue", cap * sizeof *v);
        q->v = v;
        q->cap = cap;
    }
    size_t i = q->n++;
    while (i > 0 && merge_before(&m, &q->v[(i - 1) / 2])) {
        q->v[i] = q->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->v[i] = m;
    if (q->n > q->peak) q->peak = q->n;
    return GF_OK;
}

static gf_merge heap_pop(gf_merge_queue *q) {
    gf_merge top = q->v[0], last = q->v[--q->n];
    size_t i = 0, n = q->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && merge_before(&q->v[c + 1], &q->v[c])) c++;
        if (!merge_before(&q->v[c], &last)) break;
        q->v[i] = q->v[c];
        i = c;
    }
    if (n) q->v[i] = last;
    return top;
}

int gf_merge_reset(gf_merge_queue *q, size_t n, uint32_t n_orders, int force_bucketed) {
    q->n = q->peak = 0;
    q->started = 0;
    q->now.n = q->now_i = 0;
    q->bucketed = n_orders > 0 && (n >= gf_merge_bucketed_min || force_bucketed);
    if (!q->bucketed) return GF_OK;
    if (q->n_orders != n_orders) { /* (re)allocate the per-order arrays */
        for (uint32_t o = 0; o < q->n_orders; o++) free(q->bucket[o].v);
        free(q->bucket);
        free(q->nonempty);
        q->n_orders = 0;
        q->bucket = calloc(n_orders, sizeof *q->bucket);
        q->nonempty = calloc((n_orders + 63) / 64, sizeof *q->nonempty);
        if (!q->bucket || !q->nonempty) return gf_fail_nomem("the tokenizer's merge queue", n_orders * (sizeof *q->bucket + 1ull));
        q->n_orders = n_orders;
    } else { /* a previous word may have stopped early (an error): empty every array */
        for (uint32_t w = 0; w < (n_orders + 63) / 64; w++)
            for (uint64_t bits = q->nonempty[w]; bits; bits &= bits - 1) q->bucket[w * 64 + (uint32_t)__builtin_ctzll(bits)].n = 0;
        memset(q->nonempty, 0, (n_orders + 63) / 64 * sizeof *q->nonempty);
    }
    return GF_OK;
}

int gf_merge_push(gf_merge_queue *q, gf_merge m) {
    if (!q->bucketed || (q->started && m.order <= q->cur)) return heap_push(q, m);
    if (m.order >= q->n_orders) return gf_fail("tokenizer: merge order %u outside 0..%u", m.order, q->n_orders - 1);
    gf_merge_vec *b = &q->bucket[m.order];
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 8;
        gf_merge *v = realloc(b->v, cap * sizeof *v);
        if (!v) return gf_fail_nomem("the tokenizer's merge queue", cap * sizeof *v);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = m;
    q->nonempty[m.order / 64] |= 1ull << (m.order % 64);
    return GF_OK;
}

static int cmp_left(const void *a, const void *b) {
    int32_t x = ((const gf_merge *)a)->left, y = ((const gf_merge *)b)->left;
    return x < y ? -1 : x > y;
}

/* The next order with candidates (after cur once started), or -1. */
static int64_t next_order(const gf_merge_queue *q) {
    uint32_t from = q->started ? q->cur + 1 : 0;
    if (from >= q->n_orders) return -1;
    uint32_t w = from / 64;
    uint64_t bits = q->nonempty[w] & (~0ull << (from % 64));
    for (;;) {
        if (bits) return (int64_t)w * 64 + __builtin_ctzll(bits);
        if (++w >= (q->n_orders + 63) / 64) return -1;
        bits = q->nonempty[w];
    }
}

int gf_merge_pop(gf_merge_queue *q, gf_merge *out) {
    for (;;) {
        int have = q->now_i < q->now.n;
        if (q->n && (!have || !merge_before(&q->now.v[q->now_i], &q->v[0]))) {
            *out = heap_pop(q);
            return 1;
        }
        if (have) {
            *out = q->now.v[q->now_i++];
            return 1;
        }
        if (!q->bucketed) return 0;
        int64_t o = next_order(q);
        if (o < 0) return 0;
        /* Take order o's array (its memory goes back to the bucket that had `now`'s). */
        gf_merge_vec *b = &q->bucket[o], old = q->now;
        q->now = *b;
        *b = (gf_merge_vec){old.v, 0, old.cap};
        q->now_i = 0;
        q->nonempty[o / 64] &= ~(1ull << (o % 64));
        q->cur = (uint32_t)o;
        q->started = 1;
        for (uint32_t i = 1; i < q->now.n; i++)
            if (q->now.v[i].left < q->now.v[i - 1].left) { /* usually pushed in order already */
                qsort(q->now.v, q->now.n, sizeof *q->now.v, cmp_left);
                break;
            }
    }
}

void gf_merge_free(gf_merge_queue *q) {
    free(q->v);
    for (uint32_t o = 0; o < q->n_orders; o++) free(q->bucket[o].v);
    free(q->bucket);
    free(q->nonempty);
    free(q->now.v);
    memset(q, 0, sizeof *q);
}

