/* GBNF grammars: parse errors with line and column, texts accepted and
 * rejected, and the trie-walk mask equal to a brute-force check of every
 * token on a synthetic vocabulary (UTF-8 split across tokens included). */
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "sample/grammar.h"
#include "testing.h"

static int matches(const char *gbnf, const char *text) {
    gf_grammar *g;
    if (gf_grammar_parse(gbnf, strlen(gbnf), &g) < 0) {
        fprintf(stderr, "unexpected parse error: %s\n", gf_error_message());
        return -1;
    }
    int ok = gf_grammar_accept(g, text, strlen(text)) >= 0 && gf_grammar_complete(g);
    gf_grammar_free(g);
    return ok;
}

/* A prefix of some sentence (accepted, maybe incomplete). */
static int prefix_ok(const char *gbnf, const char *text) {
    gf_grammar *g;
    if (gf_grammar_parse(gbnf, strlen(gbnf), &g) < 0) return -1;
    int ok = gf_grammar_accept(g, text, strlen(text)) >= 0;
    gf_grammar_free(g);
    return ok;
}

static void parse_error(const char *gbnf, const char *expect) {
    gf_grammar *g = NULL;
    int st = gf_grammar_parse(gbnf, strlen(gbnf), &g);
    CHECK(st < 0 && g == NULL, "grammar %s parsed", gbnf);
    CHECK(strstr(gf_error_message(), expect) != NULL, "error for %s: got '%s', want '%s'", gbnf, gf_error_message(), expect);
}

static void test_errors(void) {
    parse_error("root ::= \"abc", "line 1, column 10: string literal not closed");
    parse_error("root ::= a\n\na ::= [a-z\n", "line 3, column 7: character class not closed");
    parse_error("root ::= foo\n", "line 1, column 10: rule 'foo' is used but never defined");
    parse_error("main ::= \"x\"\n", "no rule named 'root'");
    parse_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]\n", "rule 'expr' is left-recursive");
    parse_error("root ::= a\na ::= b \"x\"\nb ::= \"\" | a\n", "left-recursive");
    parse_error("root ::= (\"a\"?)*\n", "left-recursive");
    parse_error("root ::= \"a\" | \n  ( \"b\" \n", "line 3, column 1: expected ')'");
    parse_error("root ::= \"a\"\nroot ::= \"b\"\n", "line 2, column 1: rule 'root' is defined twice");
    parse_error("root ::= \"a\"{3,2}\n", "maximum is below the minimum");
    parse_error("root ::= * \"a\"\n", "line 1, column 10: '*' repeats nothing");
    parse_error("root ::= \"\\q\"\n", "line 1, column 11: unknown escape");
    parse_error("root ::= \"\\x4\"\n", "needs 2 hexadecimal digits");
    parse_error("root ::= \"a\" ) \n", "unmatched ')'");
    parse_error("root ::= a\na ::= \"x\" a\n", "rule 'a' can never end");
    parse_error("root ::= [z-a]\n", "before its start");
    parse_error("# comment\nroot ::= \"é\" x\n", "line 2, column 14: rule 'x' is used");
}

static const char *JSON =
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::=\n"
    "  \"{\" ws (\n"
    "            string \":\" ws value\n"
    "    (\",\" ws string \":\" ws value)*\n"
    "  )? \"}\" ws\n"
    "array  ::=\n"
    "  \"[\" ws (\n"
    "            value\n"
    "    (\",\" ws value)*\n"
    "  )? \"]\" ws\n"
    "string ::=\n"
    "  \"\\\"\" (\n"
    "    [^\"\\\\\\x7F\\x00-\\x1F] |\n"
    "    \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) # escapes\n"
    "  )* \"\\\"\" ws\n"
    "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";

static const char *ARITH =
    "root ::= expr\n"
    "expr ::= term ((\"+\" | \"-\") term)*\n"
    "term ::= factor ((\"*\" | \"/\") factor)*\n"
    "factor ::= [0-9]+ | \"(\" expr \")\"\n";

static void test_matching(void) {
    CHECK(matches("root ::= \"yes\" | \"no\"", "yes") == 1, "yes");
    CHECK(matches("root ::= \"yes\" | \"no\"", "no") == 1, "no");
    CHECK(matches("root ::= \"yes\" | \"no\"", "ye") == 0, "ye");
    CHECK(prefix_ok("root ::= \"yes\" | \"no\"", "ye") == 1, "ye prefix");
    CHECK(matches("root ::= \"yes\" | \"no\"", "yesno") == 0, "yesno");
    CHECK(matches(JSON, "{\"a\": [1, 2.5e3, \"x\\n\\u00e9\", true, null], \"b\": {}}") == 1, "json");
    CHECK(matches(JSON, "{\"é€😀\":\"日本\"}") == 1, "json unicode");
    CHECK(matches(JSON, "{\"a\": [1, 2,]}") == 0, "json trailing comma");
    CHECK(prefix_ok(JSON, "{\"a\": [1, 2,]") == 0, "json trailing comma prefix");
    CHECK(prefix_ok(JSON, "{\"a\" 1") == 0, "json missing colon");
    CHECK(matches(ARITH, "(1+2)*3-40/5") == 1, "arith");
    CHECK(matches(ARITH, "(1+2") == 0, "arith open");
    CHECK(matches(ARITH, "1++2") == 0, "arith double op");
    /* repetition counts */
    const char *rep = "root ::= \"a\"{2,4} \"b\"{3} \"c\"{1,} [x-z]{,2}";
    CHECK(matches(rep, "aabbbc") == 1, "rep min");
    CHECK(matches(rep, "aaaabbbcccxz") == 1, "rep max");
    CHECK(matches(rep, "abbbc") == 0, "rep too few");
    CHECK(matches(rep, "aaaaabbbc") == 0, "rep too many");
    CHECK(matches(rep, "aabbbcxyz") == 0, "rep class too many");
    CHECK(matches("root ::= (\"ab\" | \"c\")+ \".\"", "abcab.") == 1, "group +");
    CHECK(matches("root ::= (\"ab\" | \"c\")+ \".\"", ".") == 0, "group + empty");
    CHECK(matches("root ::= \"ab\"? \"c\"", "c") == 1, "opt");
    CHECK(matches("root ::= \"ab\"* \"c\"", "ababc") == 1, "star literal");
    CHECK(matches("root ::= \"ab\"* \"c\"", "abac") == 0, "star literal partial");
    /* classes, negation, any, escapes */
    CHECK(matches("root ::= [^\"\\\\]+", "héllo wörld") == 1, "negated");
    CHECK(matches("root ::= [^\"\\\\]+", "a\"b") == 0, "negated quote");
    CHECK(matches("root ::= . . .", "a€😀") == 1, "any");
    CHECK(matches("root ::= \"\\x41\\u00e9\\U0001F600\\t\\n\\\\\\\"\"", "Aé😀\t\n\\\"") == 1, "escapes");
    CHECK(matches("root ::= [\\u0400-\\u04FF]+", "Привет") == 1, "cyrillic range");
    CHECK(matches("root ::= [\\u0400-\\u04FF]+", "Privet") == 0, "cyrillic range ascii");
    CHECK(matches("root ::= [a-c-]+", "a-c") == 1, "trailing dash in class");
    /* right recursion and newlines inside groups, comments */
    CHECK(matches("root ::= item (\n  \",\" item # more\n)*\nitem ::= [0-9]\n", "1,2,3") == 1, "multiline group");
    CHECK(matches("root ::= list\nlist ::= \"x\" list | \"\"\n", "xxxx") == 1, "right recursion");
    /* invalid UTF-8 and overlong forms never match */
    CHECK(matches("root ::= .+", "\xC0\xAF") == 0, "overlong");
    CHECK(matches("root ::= .+", "\xED\xA0\x80") == 0, "surrogate");
    CHECK(matches("root ::= .+", "\x80") == 0, "stray continuation");
    /* distance to completion */
    gf_grammar *g;
    CHECK(gf_grammar_parse(JSON, strlen(JSON), &g) == 0, "parse json");
    CHECK(gf_grammar_distance(g) == 2, "json distance %d", gf_grammar_distance(g));
    gf_grammar_accept(g, "{\"ab", 4);
    CHECK(gf_grammar_distance(g) == 4, "json distance in key %d", gf_grammar_distance(g)); /* "\": }" minus ws -> ": " needs '"' ':' then value... */
    gf_grammar_free(g);
    CHECK(gf_grammar_parse("root ::= \"é\"", 13, &g) == 0, "parse é");
    CHECK(gf_grammar_accept(g, "\xC3", 1) == 0 && !gf_grammar_complete(g), "half é");
    CHECK(gf_grammar_accept(g, "\xA8", 1) < 0, "wrong second byte");
    CHECK(gf_grammar_accept(g, "\xA9", 1) == 0 && gf_grammar_complete(g) && !gf_grammar_can_continue(g), "é");
    gf_grammar_free(g);
}

/* ---- the mask against brute force ---- */

static uint32_t rng = 12345;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

#define NV 400
static char *pieces[NV];
static uint32_t lens[NV];

static void make_vocab(void) {
    static const char *atoms[] = {"{", "}", "[", "]", "\"", ":", ",", " ", "\n", "a", "b", "e", "x", "1", "2", "0", "-", ".", "+", "*",
                                  "(", ")", "true", "null", "\\", "n", "u", "é", "€", "😀", "\xC3", "\xA9", "\xE2", "\x82", "\xAC", "\xF0",
                                  "\x9F", "\x98", "\x80", "y", "es", "no"};
    int na = (int)(sizeof atoms / sizeof *atoms);
    for (int i = 0; i < NV; i++) {
        char buf[64];
        size_t n = 0;
        if (i < na) {
            n = strlen(atoms[i]);
            memcpy(buf, atoms[i], n);
        } else if (i % 37 == 0) {
            n = 0; /* a control token: no bytes */
        } else {
            int parts = 1 + (int)(next_rand() % 4);
            for (int k = 0; k < parts; k++) {
                const char *a = atoms[next_rand() % (uint32_t)na];
                size_t l = strlen(a);
                if (n + l < sizeof buf) memcpy(buf + n, a, l), n += l;
            }
        }
        pieces[i] = malloc(n + 1);
        memcpy(pieces[i], buf, n);
        lens[i] = (uint32_t)n;
    }
}

static void check_mask(const char *gbnf, int rounds, uint32_t table_limit) {
    gf_vocab_trie *t;
    CHECK(gf_vocab_trie_build((const char *const *)pieces, lens, NV, &t) == 0, "trie");
    int32_t *dist = malloc(NV * sizeof *dist);
    for (int round = 0; round < rounds; round++) {
        gf_grammar *g;
        CHECK(gf_grammar_parse(gbnf, strlen(gbnf), &g) == 0, "parse");
        gf_grammar_set_table_limit(g, table_limit);
        char history[4096];
        size_t hn = 0;
        int steps = (int)(next_rand() % 30);
        for (int s = 0; s <= steps; s++) {
            int32_t n_ok = gf_grammar_token_distances(g, t, dist);
            int32_t count = 0, mismatches = 0;
            for (int i = 0; i < NV; i++) {
                gf_grammar *b;
                gf_grammar_parse(gbnf, strlen(gbnf), &b);
                gf_grammar_accept(b, history, hn);
                int32_t want = GF_GRAMMAR_DIST_INF;
                if (lens[i] && gf_grammar_accept(b, pieces[i], lens[i]) == 0) want = gf_grammar_distance(b);
                gf_grammar_free(b);
                count += want < GF_GRAMMAR_DIST_INF;
                if (want != dist[i] && mismatches++ < 3) CHECK(0, "round %d step %d token %d: mask %d, brute force %d", round, s, i, dist[i], want);
            }
            CHECK(n_ok == count, "allowed count %d vs %d", n_ok, count);
            if (mismatches) break;
            /* advance by a random allowed token */
            if (!n_ok) break;
            int32_t pick = (int32_t)(next_rand() % (uint32_t)n_ok), id = -1;
            for (int i = 0; i < NV; i++)
                if (dist[i] < GF_GRAMMAR_DIST_INF && pick-- == 0) id = i;
            CHECK(gf_grammar_accept(g, pieces[id], lens[id]) == 0, "accept allowed token %d", id);
            if (hn + lens[id] >= sizeof history) break;
            memcpy(history + hn, pieces[id], lens[id]);
            hn += lens[id];
        }
        gf_grammar_free(g);
    }
    free(dist);
    gf_vocab_trie_free(t);
}

static void test_utf8_split(void) {
    /* é as two tokens, € as three, 😀 as four */
    const char *gbnf = "root ::= \"é€😀\" | [a-z]";
    gf_grammar *g;
    CHECK(gf_grammar_parse(gbnf, strlen(gbnf), &g) == 0, "parse");
    const char *p[] = {"\xC3", "\xA9", "\xE2", "\x82\xAC", "\xF0\x9F", "\x98", "\x80", "x", "\xC3\xA8"};
    uint32_t l[9];
    for (int i = 0; i < 9; i++) l[i] = (uint32_t)strlen(p[i]);
    gf_vocab_trie *t;
    CHECK(gf_vocab_trie_build(p, l, 9, &t) == 0, "trie");
    int32_t d[9];
    CHECK(gf_grammar_token_distances(g, t, d) == 2, "first: \\xC3 and x");
    CHECK(d[0] < GF_GRAMMAR_DIST_INF && d[7] == 0 && d[8] == GF_GRAMMAR_DIST_INF, "è is not é");
    const int seq[] = {0, 1, 2, 3, 4, 5, 6};
    for (int k = 0; k < 7; k++) {
        gf_grammar_token_distances(g, t, d);
        CHECK(d[seq[k]] < GF_GRAMMAR_DIST_INF, "step %d allowed", k);
        CHECK(gf_grammar_accept(g, p[seq[k]], l[seq[k]]) == 0, "step %d", k);
        CHECK(gf_grammar_complete(g) == (k == 6), "complete only at the end (%d)", k);
    }
    /* a character no token can write: nothing is allowed */
    gf_grammar_free(g);
    CHECK(gf_grammar_parse("root ::= \"q\"", 12, &g) == 0, "parse q");
    CHECK(gf_grammar_token_distances(g, t, d) == 0, "no token writes q");
    gf_vocab_trie_free(t);
    gf_grammar_free(g);
}

int main(void) {
    test_errors();
    test_matching();
    test_utf8_split();
    make_vocab();
    check_mask(JSON, 12, 0);
    check_mask(JSON, 6, 8); /* the tables start over at every step */
    check_mask(ARITH, 8, 0);
    check_mask(ARITH, 4, 8);
    check_mask("root ::= \"yes\" | \"no\" | [é€]+ \"😀\"", 6, 0);
    check_mask("root ::= \"\\\"\" [^\"]{0,5} \"\\\"\" ", 6, 0);
    for (int i = 0; i < NV; i++) free(pieces[i]);
    TEST_MAIN_END();
}
