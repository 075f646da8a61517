/* Internals shared by the tokenizer files: the vocabulary as loaded from
 * GGUF, a string table that finds tokens by their bytes, id lists and the
 * merge queue (vocab.c). The model tokenizers (tokenizer_spm/bpe/wpm.h)
 * build on this header only; tokenizer.c, the public entry point, loads the
 * vocabulary and dispatches to them. */
#ifndef GF_VOCAB_H
#define GF_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"

/* the same type as tokenizer.h names (a repeated typedef is C11) */
typedef struct gf_tokenizer gf_tokenizer;

enum { GF_TOK_SPM, GF_TOK_BPE, GF_TOK_WPM };

/* Token attributes, numbered as llama.cpp's llama_token_attr. */
enum {
    GF_ATTR_UNKNOWN = 1 << 0,
    GF_ATTR_UNUSED = 1 << 1,
    GF_ATTR_NORMAL = 1 << 2,
    GF_ATTR_CONTROL = 1 << 3,
    GF_ATTR_USER_DEFINED = 1 << 4,
    GF_ATTR_BYTE = 1 << 5,
    GF_ATTR_LSTRIP = 1 << 7,
    GF_ATTR_RSTRIP = 1 << 8,
};

/* Byte-level BPE pre-tokenizer families (llama.cpp's regex lists). */
enum {
    GF_PRE_DEFAULT,
    GF_PRE_GPT2,
    GF_PRE_LLAMA3,
    GF_PRE_QWEN2,
    GF_PRE_FALCON,
    GF_PRE_STARCODER,
    GF_PRE_DEEPSEEK_LLM,
    GF_PRE_DEEPSEEK_CODER,
};

/* Interned byte strings: every token text, plus (for BPE) the halves and
 * results of merges that are not tokens themselves. A string's id ("sid")
 * indexes off/len/tok. */
typedef struct {
    char *bytes;
    size_t n_bytes, cap_bytes;
    uint32_t *off, *len;
    int32_t *tok; /* token with this text, or -1 */
    uint32_t n, cap;
    uint32_t *slot; /* open addressing: sid + 1, 0 = empty */
    uint32_t *slot_hash;
    uint32_t mask;
} gf_strtab;

int gf_strtab_init(gf_strtab *st, uint32_t expect);
void gf_strtab_free(gf_strtab *st);
/* sid of the string, or -1. */
int32_t gf_strtab_find(const gf_strtab *st, const char *s, size_t n);
/* sid of the string, added if new; negative status on allocation failure. */
int32_t gf_strtab_add(gf_strtab *st, const char *s, size_t n);
static inline const char *gf_strtab_str(const gf_strtab *st, int32_t sid, uint32_t *len) {
    *len = st->len[sid];
    return st->bytes + st->off[sid];
}
/* The token whose text is s[0..n), or -1. */
static inline int32_t gf_text_to_token(const gf_strtab *st, const char *s, size_t n) {
    int32_t sid = gf_strtab_find(st, s, n);
    return sid < 0 ? -1 : st->tok[sid];
}

typedef struct {
    int32_t sid;
    float score;
    uint32_t attr;
    uint32_t score_rank; /* SPM: 0 for the highest score, equal scores share a rank */
} gf_token;

/* BPE merges: (left sid, right sid) -> rank and the merged string's sid. */
typedef struct {
    uint64_t *key; /* (left + 1) << 32 | (right + 1); 0 = empty */
    uint32_t *rank;
    int32_t *result;
    uint32_t mask;
    uint32_t n;
    uint32_t n_ranks; /* ranks are < n_ranks */
} gf_merges;

#define GF_SPECIAL_BUCKETS 4096

struct gf_tokenizer {
    int kind;
    int pre; /* GF_PRE_*, BPE only */
    int32_t n_vocab;
    gf_token *tok;
    gf_strtab st;
    int32_t max_token_len;

    int32_t bos, eos, eot, eom, unk, sep, pad, mask;
    int add_bos, add_eos, add_sep, add_space_prefix, ignore_merges, clean_spaces;
    int lowercase, strip_accents; /* WordPiece normalizer */

    /* Tokens matched in raw text before model tokenization (CONTROL,
     * USER_DEFINED, UNKNOWN), longest first. Finding where they occur costs
     * one bitset test per text byte, plus bucket probes keyed on the first
     * one to three bytes where that test passes. */
    int32_t *special;
    uint32_t n_special;
    uint32_t *bucket_start; /* GF_SPECIAL_BUCKETS + 1 offsets into bucket_ids */
    uint32_t *bucket_ids;   /* indices into special[] */
    int32_t single_special[256]; /* index into special[] of a one-byte token */
    uint8_t first_byte[32];      /* bitset of special tokens' first bytes */

    int32_t *eog; /* sorted */
    uint32_t n_eog;

    int32_t byte_tok[256]; /* SPM byte fallback: <0xXX>, else the 1-byte token */
    int spm_split_words;   /* no token has U+2581 after another character: words merge independently */
    uint32_t n_score_ranks; /* SPM: distinct scores */
    /* BPE */
    gf_merges merges;
    int32_t byte_sid[256]; /* sid of each byte's stand-in character */
    int32_t char_tok[256]; /* token whose text is exactly that single byte */
};

/* Bucket of a special token's first k (1..3) bytes. */
static inline uint32_t gf_special_bucket(const unsigned char *s, int k) {
    uint32_t h = (uint32_t)k * 0x9E3779B1u;
    for (int i = 0; i < k; i++) h = (h ^ s[i]) * 0x01000193u;
    return (h ^ h >> 15) & (GF_SPECIAL_BUCKETS - 1);
}

/* A growing list of token ids. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} gf_ids;

int gf_ids_push(gf_ids *ids, int32_t id);

/* Merging (SentencePiece and BPE) joins adjacent symbols best-first. Lower
 * `order` merges first (a BPE rank, or a SentencePiece score's rank: 0 for
 * the highest score); ties go to the leftmost pair. `size` lets the merger
 * drop candidates made stale by an earlier merge.
 *
 * Short inputs use one binary heap. From gf_merge_bucketed_min symbols on, the
 * queue keeps one unsorted array per order value instead and takes them in
 * increasing order, each sorted by position when its turn comes; candidates
 * pushed meanwhile with an order not above the current one go to a small
 * heap. Those are always left of every pair still waiting in the current
 * array (a merge at position p only creates pairs starting at p or at the
 * symbol before it), so the heap holds only the few pairs of one cascade and
 * the pop order is exactly the single heap's. One binary heap over a
 * multi-megabyte word costs a cache miss per level per pop; this costs about
 * one sequential read. */
typedef struct {
    uint32_t order;
    int32_t left, right;
    uint32_t size;
    int32_t result; /* BPE: the merged symbol */
} gf_merge;

typedef struct {
    gf_merge *v;
    uint32_t n, cap;
} gf_merge_vec;

typedef struct {
    gf_merge *v; /* binary heap (all candidates, or the bucketed queue's small heap) */
    size_t n, cap;
    size_t peak;   /* the heap's largest size since reset (tests count it) */
    int bucketed, started;
    uint32_t n_orders, cur; /* bucketed: orders are < n_orders; cur: the order being merged */
    gf_merge_vec *bucket;   /* per order, unsorted until its turn */
    uint64_t *nonempty;     /* bitset over orders */
    gf_merge_vec now;       /* the current order's candidates, sorted by left */
    uint32_t now_i;
} gf_merge_queue;

/* Words of at least this many symbols use the bucketed queue (4096; tests
 * change it to compare both queues on the same text). */
extern size_t gf_merge_bucketed_min;
/* Prepares q for a word of n symbols whose orders are < n_orders. */
int gf_merge_reset(gf_merge_queue *q, size_t n, uint32_t n_orders, int force_bucketed);
int gf_merge_push(gf_merge_queue *q, gf_merge m);
int gf_merge_pop(gf_merge_queue *q, gf_merge *out); /* 1, or 0 when empty */
void gf_merge_free(gf_merge_queue *q);

#endif
