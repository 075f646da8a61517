/* Constrained decoding: a GBNF grammar (llama.cpp's format) compiled to a
 * matcher over Unicode code points, and a trie of the vocabulary's token
 * bytes that the matcher walks to find every token that can continue the
 * text (one walk per step, pruning subtrees the grammar rules out).
 *
 * State: a set of stacks (a pushdown automaton's configurations, as in
 * llama.cpp); each stack is a chain of immutable nodes (grammar position,
 * parent) shared between stacks, and its top is always a terminal (a code
 * point, a class or any). A token's bytes may end inside a UTF-8 sequence;
 * the partial code point is kept in the state. Left recursion is refused. */
#ifndef GF_GRAMMAR_H
#define GF_GRAMMAR_H

#include <stddef.h>
#include <stdint.h>

#include "text/tokenizer.h"

typedef struct gf_grammar gf_grammar;
typedef struct gf_vocab_trie gf_vocab_trie;

#define GF_GRAMMAR_DIST_INF 0x3fffffff

/* Parses GBNF text (rules `name ::= ...`, root rule "root") into a matcher
 * at the start of the text. Errors name the line and column. */
int gf_grammar_parse(const char *src, size_t len, gf_grammar **out);
void gf_grammar_free(gf_grammar *g);
/* Back to the start of the text. */
int gf_grammar_reset(gf_grammar *g);

/* Advances over the bytes of a token (may end inside a UTF-8 sequence).
 * An error, leaving the state unchanged, when the grammar does not allow
 * them. */
int gf_grammar_accept(gf_grammar *g, const char *bytes, size_t n);
/* The text so far is a complete sentence of the grammar. */
int gf_grammar_complete(const gf_grammar *g);
/* Some more text can follow (a non-final stack exists). */
int gf_grammar_can_continue(const gf_grammar *g);
/* The fewest code points that complete the text from here (0: complete). */
int32_t gf_grammar_distance(const gf_grammar *g);

/* Tests: how many interned stack nodes the matcher keeps before it starts
 * its tables over from the current state (0: the default, 2M). */
void gf_grammar_set_table_limit(gf_grammar *g, uint32_t nodes);

/* A trie of token byte strings, built once per vocabulary. Tokens with no
 * bytes (control tokens) are left out; eog marks end-of-generation ids. */
int gf_vocab_trie_build(const char *const *pieces, const uint32_t *lens, int32_t n_vocab, gf_vocab_trie **out);
int gf_vocab_trie_from_tokenizer(const gf_tokenizer *t, gf_vocab_trie **out);
void gf_vocab_trie_free(gf_vocab_trie *t);
int32_t gf_vocab_trie_n_vocab(const gf_vocab_trie *t);
int32_t gf_vocab_trie_n_nodes(const gf_vocab_trie *t);

/* For every token: the distance (see gf_grammar_distance) after its bytes,
 * or GF_GRAMMAR_DIST_INF when the grammar does not allow them (always for
 * tokens outside the trie). A token ending inside a UTF-8 sequence counts
 * the code point's missing bytes as tokens still needed. Returns how many
 * tokens are allowed, or an error. */
int32_t gf_grammar_token_distances(gf_grammar *g, const gf_vocab_trie *t, int32_t *dist);

#endif
