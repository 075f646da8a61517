/* GBNF grammars: parser, compiler and matcher (see grammar.h). */
#include "sample/grammar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

enum { E_END, E_ALT, E_REF, E_CHAR, E_CLASS, E_ANY };
typedef struct {
    uint32_t type, v;
} elem;

typedef struct {
    uint32_t *r; /* sorted, merged [lo, hi] pairs */
    uint32_t n;  /* pairs */
    int negated;
} cclass;

#define NONE 0xffffffffu
#define ACCEPT 0xfffffffeu /* the empty stack: the text may end here */
#define INF GF_GRAMMAR_DIST_INF
#define MAX_REPEAT 10000

typedef struct {
    uint32_t pos, parent, dist; /* dist: fewest code points to finish this stack */
} gnode;

typedef struct {
    uint32_t off, n; /* stack (node) ids: pool[off .. off + n), sorted; ACCEPT last */
    uint32_t val;    /* partial code point: bits so far */
    uint8_t rem;     /* continuation bytes still missing (0: none) */
    uint8_t len;     /* the sequence's total length */
    int32_t dist;    /* see gf_grammar_distance */
    int32_t *next;   /* 256 cached transitions (UNKNOWN, DEAD or a state id), or NULL */
} gstate;

#define MASK_CACHE 4

struct gf_grammar {
    elem *el;
    uint32_t n_el;
    uint32_t *rule_alt; /* rule r's alternatives: alts[rule_alt[r] .. rule_alt[r + 1]) */
    uint32_t *alts;     /* element index where each alternative starts */
    uint32_t n_rules;
    uint32_t *rest; /* per element: fewest code points from it to the end of its alternative */
    cclass *cls;
    uint32_t n_cls;
    uint32_t root;
    /* interned nodes and states */
    gnode *nodes;
    uint32_t n_nodes, cap_nodes;
    uint32_t *node_table, cap_node_table;
    gstate *states;
    uint32_t n_states, cap_states;
    uint32_t *state_table, cap_state_table;
    uint32_t *pool, n_pool, cap_pool;
    uint32_t *tmp, n_tmp, cap_tmp;
    uint32_t cur;
    uint32_t table_limit; /* 0: MAX_TABLE_NODES */
    /* trie walk levels, and the last masks (per state id) */
    uint32_t *lvl, cap_lvl;
    int32_t *mask[MASK_CACHE];
    uint32_t mask_state[MASK_CACHE], mask_clock[MASK_CACHE], clock;
    const gf_vocab_trie *mask_trie[MASK_CACHE];
    int32_t mask_allowed[MASK_CACHE];
};

/* ---------------------------------------------------------------- parser */

typedef struct {
    char *name;
    elem *e;
    uint32_t n, cap;
    int defined, generated;
    size_t ref_at; /* first reference, for "undefined rule" errors */
} prule;

typedef struct {
    const char *s;
    size_t len, pos;
    prule *rules;
    uint32_t n_rules, cap_rules;
    cclass *cls;
    uint32_t n_cls, cap_cls;
    int failed;
} parser;

static void where(const parser *p, size_t at, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)p->s[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int perr_at(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr_at(parser *p, size_t at, const char *fmt, ...) {
    if (p->failed) return GF_ERR;
    p->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    where(p, at, &line, &col);
    return gf_fail("grammar: line %d, column %d: %s", line, col, msg);
}
#define PERR(...) perr_at(p, p->pos, __VA_ARGS__)

static int push_elem(parser *p, prule *r, uint32_t type, uint32_t v) {
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 16;
        elem *e = realloc(r->e, cap * sizeof *e);
        if (!e) return gf_fail_nomem("grammar rules", cap * sizeof *e);
        r->e = e;
        r->cap = cap;
    }
    r->e[r->n++] = (elem){type, v};
    return GF_OK;
}

/* Returns the rule's index (creating an undefined one), or -1. */
static int64_t rule_index(parser *p, const char *name, size_t n, int generated) {
    if (!generated)
        for (uint32_t i = 0; i < p->n_rules; i++)
            if (!p->rules[i].generated && strlen(p->rules[i].name) == n && !memcmp(p->rules[i].name, name, n)) return i;
    if (p->n_rules == p->cap_rules) {
        uint32_t cap = p->cap_rules ? p->cap_rules * 2 : 16;
        prule *r = realloc(p->rules, cap * sizeof *r);
        if (!r) return gf_fail_nomem("grammar rules", cap * sizeof *r);
        p->rules = r;
        p->cap_rules = cap;
    }
    prule *r = &p->rules[p->n_rules];
    memset(r, 0, sizeof *r);
    r->name = malloc(n + 1);
    if (!r->name) return gf_fail_nomem("a rule name", n + 1);
    memcpy(r->name, name, n);
    r->name[n] = 0;
    r->generated = generated;
    r->ref_at = p->pos;
    return p->n_rules++;
}

static int64_t new_generated(parser *p, uint32_t parent) {
    char name[160];
    int n = snprintf(name, sizeof name, "%.100s-%u", p->rules[parent].name, p->n_rules);
    int64_t r = rule_index(p, name, (size_t)n, 1);
    if (r >= 0) p->rules[r].defined = 1;
    return r;
}

static int word_char(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }
static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static void skip_space(parser *p, int newlines) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || ((c == '\n' || c == '\r') && newlines)) {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
        } else {
            break;
        }
    }
}

/* One UTF-8 code point of the source. */
static int64_t source_cp(parser *p) {
    const unsigned char *s = (const unsigned char *)p->s;
    unsigned char b = s[p->pos];
    int n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || p->pos + (size_t)n > p->len) return PERR("invalid UTF-8 in the grammar");
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[p->pos + i] & 0xC0) != 0x80) return PERR("invalid UTF-8 in the grammar");
        cp = cp << 6 | (s[p->pos + i] & 0x3F);
    }
    p->pos += (size_t)n;
    return cp;
}

static int hexval(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/* A character of a literal or class, escapes decoded. */
static int64_t parse_char(parser *p) {
    if (p->pos >= p->len) return PERR("unexpected end of the grammar");
    if (p->s[p->pos] != '\\') return source_cp(p);
    size_t at = p->pos++;
    if (p->pos >= p->len) return PERR("unexpected end of the grammar after '\\'");
    char c = p->s[p->pos++];
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case '0': return 0;
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.': case '(': case ')':
    case '|': case '*': case '+': case '?': case '{': case '}': case ' ':
        return (unsigned char)c;
    case 'x': case 'u': case 'U': {
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int i = 0; i < digits; i++) {
            int h = p->pos < p->len ? hexval((unsigned char)p->s[p->pos]) : -1;
            if (h < 0) return perr_at(p, at, "escape \\%c needs %d hexadecimal digits", c, digits);
            v = v * 16 + (uint32_t)h;
            p->pos++;
        }
        if (v > 0x10FFFF) return perr_at(p, at, "escape \\%c: U+%X is beyond Unicode", c, v);
        return v;
    }
    default:
        return perr_at(p, at, "unknown escape '\\%c'", c);
    }
}

static int cmp_u32pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int parse_class(parser *p, prule *r) {
    size_t start = p->pos++; /* '[' */
    int negated = 0;
    if (peek(p) == '^') {
        negated = 1;
        p->pos++;
    }
    uint32_t *pairs = NULL, n = 0, cap = 0;
    for (;;) {
        if (p->pos >= p->len) {
            free(pairs);
            return perr_at(p, start, "character class not closed (missing ']')");
        }
        if (p->s[p->pos] == ']') break;
        int64_t lo = parse_char(p), hi = lo;
        if (lo < 0) goto fail;
        if (peek(p) == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] != ']') {
            p->pos++;
            if ((hi = parse_char(p)) < 0) goto fail;
            if (hi < lo) {
                PERR("range end U+%X is before its start U+%X", (unsigned)hi, (unsigned)lo);
                goto fail;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            uint32_t *np = realloc(pairs, cap * 2 * sizeof *np);
            if (!np) {
                gf_fail_nomem("a character class", cap * 2 * sizeof *np);
                goto fail;
            }
            pairs = np;
        }
        pairs[2 * n] = (uint32_t)lo;
        pairs[2 * n + 1] = (uint32_t)hi;
        n++;
    }
    p->pos++; /* ']' */
    qsort(pairs, n, 2 * sizeof *pairs, cmp_u32pair);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m && pairs[2 * i] <= pairs[2 * (m - 1) + 1] + 1) {
            if (pairs[2 * i + 1] > pairs[2 * (m - 1) + 1]) pairs[2 * (m - 1) + 1] = pairs[2 * i + 1];
        } else {
            pairs[2 * m] = pairs[2 * i];
            pairs[2 * m + 1] = pairs[2 * i + 1];
            m++;
        }
    }
    if (p->n_cls == p->cap_cls) {
        uint32_t c2 = p->cap_cls ? p->cap_cls * 2 : 8;
        cclass *nc = realloc(p->cls, c2 * sizeof *nc);
        if (!nc) {
            gf_fail_nomem("character classes", c2 * sizeof *nc);
            goto fail;
        }
        p->cls = nc;
        p->cap_cls = c2;
    }
    p->cls[p->n_cls] = (cclass){pairs, m, negated};
    return push_elem(p, r, E_CLASS, p->n_cls++);
fail:
    free(pairs);
    return GF_ERR;
}

static int parse_alternates(parser *p, uint32_t rule, int nested);

static int parse_uint(parser *p, uint32_t *v) {
    if (!(peek(p) >= '0' && peek(p) <= '9')) return 0;
    uint64_t x = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        x = x * 10 + (uint64_t)(p->s[p->pos++] - '0');
        if (x > MAX_REPEAT) return PERR("repetition count above %d", MAX_REPEAT);
    }
    *v = (uint32_t)x;
    return 1;
}

/* Rewrites the symbol rule->e[start..] as `min` copies and then up to
 * max - min optional ones (max NONE: any number), through new rules. */
static int repeat(parser *p, uint32_t rule, uint32_t start, uint32_t min, uint32_t max) {
    prule *r = &p->rules[rule];
    uint32_t n = r->n - start;
    elem *sym = malloc((n ? n : 1) * sizeof *sym);
    if (!sym) return gf_fail_nomem("a repetition", n * sizeof *sym);
    memcpy(sym, r->e + start, n * sizeof *sym);
    r->n = start;
    int st = GF_OK;
    for (uint32_t k = 0; k < min && st >= 0; k++)
        for (uint32_t i = 0; i < n && st >= 0; i++) st = push_elem(p, &p->rules[rule], sym[i].type, sym[i].v);
    if (st >= 0 && max == NONE) {
        /* R ::= sym R | "" */
        int64_t g = new_generated(p, rule);
        if (g < 0) st = (int)g;
        for (uint32_t i = 0; i < n && st >= 0; i++) st = push_elem(p, &p->rules[g], sym[i].type, sym[i].v);
        if (st >= 0) st = push_elem(p, &p->rules[g], E_REF, (uint32_t)g);
        if (st >= 0) st = push_elem(p, &p->rules[g], E_ALT, 0);
        if (st >= 0) st = push_elem(p, &p->rules[rule], E_REF, (uint32_t)g);
    } else if (st >= 0 && max > min) {
        /* O_1 ::= sym | "";  O_k ::= sym O_{k-1} | "" */
        int64_t prev = -1;
        for (uint32_t k = 0; k < max - min && st >= 0; k++) {
            int64_t g = new_generated(p, rule);
            if (g < 0) {
                st = (int)g;
                break;
            }
            for (uint32_t i = 0; i < n && st >= 0; i++) st = push_elem(p, &p->rules[g], sym[i].type, sym[i].v);
            if (st >= 0 && prev >= 0) st = push_elem(p, &p->rules[g], E_REF, (uint32_t)prev);
            if (st >= 0) st = push_elem(p, &p->rules[g], E_ALT, 0);
            prev = g;
        }
        if (st >= 0) st = push_elem(p, &p->rules[rule], E_REF, (uint32_t)prev);
    }
    free(sym);
    return st;
}

static int parse_sequence(parser *p, uint32_t rule, int nested) {
    int64_t last = -1; /* where the last symbol starts */
    for (;;) {
        int c = peek(p);
        uint32_t start = p->rules[rule].n;
        if (c == '"') {
            size_t at = p->pos++;
            for (;;) {
                if (p->pos >= p->len || p->s[p->pos] == '\n') return perr_at(p, at, "string literal not closed (missing '\"')");
                if (p->s[p->pos] == '"') break;
                int64_t cp = parse_char(p);
                if (cp < 0) return GF_ERR;
                if (push_elem(p, &p->rules[rule], E_CHAR, (uint32_t)cp) < 0) return GF_ERR;
            }
            p->pos++;
            last = start;
        } else if (c == '[') {
            if (parse_class(p, &p->rules[rule]) < 0) return GF_ERR;
            last = start;
        } else if (c == '.') {
            p->pos++;
            if (push_elem(p, &p->rules[rule], E_ANY, 0) < 0) return GF_ERR;
            last = start;
        } else if (c == '(') {
            p->pos++;
            skip_space(p, 1);
            int64_t g = new_generated(p, rule);
            if (g < 0) return GF_ERR;
            if (parse_alternates(p, (uint32_t)g, 1) < 0) return GF_ERR;
            if (peek(p) != ')') return PERR("expected ')'");
            p->pos++;
            if (push_elem(p, &p->rules[rule], E_REF, (uint32_t)g) < 0) return GF_ERR;
            last = start;
        } else if (c >= 0 && word_char(c)) {
            size_t at = p->pos;
            while (p->pos < p->len && word_char((unsigned char)p->s[p->pos])) p->pos++;
            size_t save = p->pos;
            skip_space(p, 1);
            if (p->pos + 3 <= p->len && !memcmp(p->s + p->pos, "::=", 3)) {
                p->pos = at; /* the next rule's definition: this sequence ended at a newline */
                return PERR("expected a newline before the next rule");
            }
            p->pos = save;
            size_t keep = p->pos;
            p->pos = at;
            int64_t ref = rule_index(p, p->s + at, keep - at, 0);
            p->pos = keep;
            if (ref < 0) return GF_ERR;
            if (push_elem(p, &p->rules[rule], E_REF, (uint32_t)ref) < 0) return GF_ERR;
            last = start;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last < 0) return PERR("'%c' repeats nothing: put it after a symbol", c);
            uint32_t min = 0, max = NONE;
            if (c == '{') {
                size_t at = p->pos++;
                skip_space(p, 0);
                int has_min = parse_uint(p, &min);
                if (has_min < 0) return GF_ERR;
                skip_space(p, 0);
                if (peek(p) == ',') {
                    p->pos++;
                    skip_space(p, 0);
                    int has_max = parse_uint(p, &max);
                    if (has_max < 0) return GF_ERR;
                    if (!has_max) max = NONE;
                    if (!has_min && !has_max) return perr_at(p, at, "'{,}' needs a count");
                } else {
                    if (!has_min) return perr_at(p, at, "expected a count after '{'");
                    max = min;
                }
                skip_space(p, 0);
                if (peek(p) != '}') return PERR("expected '}'");
                p->pos++;
                if (max != NONE && max < min) return perr_at(p, at, "repetition {%u,%u}: the maximum is below the minimum", min, max);
            } else {
                p->pos++;
                if (c == '+') min = 1;
                if (c == '?') max = 1;
            }
            if (repeat(p, rule, (uint32_t)last, min, max) < 0) return GF_ERR;
        } else {
            return GF_OK;
        }
        skip_space(p, nested);
    }
}

static int parse_alternates(parser *p, uint32_t rule, int nested) {
    if (parse_sequence(p, rule, nested) < 0) return GF_ERR;
    while (peek(p) == '|') {
        p->pos++;
        skip_space(p, 1);
        if (push_elem(p, &p->rules[rule], E_ALT, 0) < 0) return GF_ERR;
        if (parse_sequence(p, rule, nested) < 0) return GF_ERR;
    }
    return GF_OK;
}

static int parse_all(parser *p) {
    for (;;) {
        skip_space(p, 1);
        if (p->pos >= p->len) break;
        size_t at = p->pos;
        while (p->pos < p->len && word_char((unsigned char)p->s[p->pos])) p->pos++;
        if (p->pos == at) return PERR("expected a rule name");
        size_t name_end = p->pos;
        skip_space(p, 0);
        if (!(p->pos + 3 <= p->len && !memcmp(p->s + p->pos, "::=", 3))) return PERR("expected '::=' after the rule name");
        p->pos += 3;
        int64_t r = rule_index(p, p->s + at, name_end - at, 0);
        if (r < 0) return GF_ERR;
        if (p->rules[r].defined) return perr_at(p, at, "rule '%s' is defined twice", p->rules[r].name);
        p->rules[r].defined = 1;
        skip_space(p, 1);
        if (parse_alternates(p, (uint32_t)r, 0) < 0) return GF_ERR;
        int c = peek(p);
        if (c == ')') return PERR("unmatched ')'");
        if (c != -1 && c != '\n' && c != '\r') return PERR("unexpected character '%c'", c);
    }
    return GF_OK;
}

/* --------------------------------------------------------------- compile */

static int elem_terminal(uint32_t t) { return t == E_CHAR || t == E_CLASS || t == E_ANY; }
static int elem_end(uint32_t t) { return t == E_END || t == E_ALT; }
static uint32_t sat_add(uint32_t a, uint32_t b) { return a >= INF || b >= INF || a + b >= INF ? INF : a + b; }

static int check_left_recursion(gf_grammar *g, const uint32_t *minlen, const char *const *names) {
    /* colors: 0 new, 1 on the path, 2 done; iterative DFS over "leftmost" edges */
    uint8_t *color = calloc(g->n_rules, 1);
    uint32_t *stack = malloc((size_t)g->n_rules * 2 * sizeof *stack);
    if (!color || !stack) {
        free(color);
        free(stack);
        return gf_fail_nomem("grammar analysis", (size_t)g->n_rules * 9);
    }
    int st = GF_OK;
    for (uint32_t s = 0; s < g->n_rules && st >= 0; s++) {
        if (color[s]) continue;
        uint32_t sp = 0;
        stack[sp++] = s;
        stack[sp++] = 0; /* next element index to scan, over all alternatives */
        color[s] = 1;
        while (sp && st >= 0) {
            uint32_t r = stack[sp - 2], *k = &stack[sp - 1];
            uint32_t begin = g->alts[g->rule_alt[r]];
            uint32_t n_el_r = 0;
            { /* the rule's elements run until its END */
                uint32_t i = begin;
                while (g->el[i].type != E_END) i++;
                n_el_r = i - begin + 1;
            }
            int pushed = 0;
            while (*k < n_el_r) {
                uint32_t i = begin + (*k)++;
                /* leftmost: every element before i in its alternative is a nullable reference */
                uint32_t j = i;
                int left = 1;
                while (j > begin && !elem_end(g->el[j - 1].type)) {
                    j--;
                    if (g->el[j].type != E_REF || minlen[g->el[j].v] != 0) {
                        left = 0;
                        break;
                    }
                }
                if (!left || g->el[i].type != E_REF) continue;
                uint32_t t = g->el[i].v;
                if (color[t] == 1) {
                    st = gf_fail("grammar: rule '%s' is left-recursive (it can reach itself before matching any text)%s; rewrite it with repetition, e.g. x ::= y (\"+\" y)*",
                                 names[t], strchr(names[t], '-') ? " (a repeated item that can match nothing?)" : "");
                    break;
                }
                if (color[t] == 0) {
                    color[t] = 1;
                    stack[sp++] = t;
                    stack[sp++] = 0;
                    pushed = 1;
                    break;
                }
            }
            if (st < 0) break;
            if (!pushed && *k >= n_el_r) {
                color[r] = 2;
                sp -= 2;
            }
        }
    }
    free(color);
    free(stack);
    return st;
}

static int compile(gf_grammar *g, parser *p) {
    uint32_t nr = p->n_rules;
    const char **names = malloc(nr * sizeof *names);
    uint32_t *minlen = malloc(nr * sizeof *minlen);
    if (!names || !minlen) {
        free(names);
        free(minlen);
        return gf_fail_nomem("grammar analysis", nr * 16);
    }
    int st = GF_OK;
    uint32_t total = 0, n_alts = 0;
    for (uint32_t r = 0; r < nr; r++) {
        names[r] = p->rules[r].name;
        total += p->rules[r].n + 1;
        n_alts++;
        for (uint32_t i = 0; i < p->rules[r].n; i++) n_alts += p->rules[r].e[i].type == E_ALT;
    }
    g->el = malloc((size_t)total * sizeof *g->el);
    g->rule_alt = malloc(((size_t)nr + 1) * sizeof *g->rule_alt);
    g->alts = malloc((size_t)n_alts * sizeof *g->alts);
    g->rest = malloc((size_t)total * sizeof *g->rest);
    if (!g->el || !g->rule_alt || !g->alts || !g->rest) {
        st = gf_fail_nomem("a grammar", (size_t)total * 16);
        goto done;
    }
    g->n_rules = nr;
    uint32_t at = 0, a = 0;
    for (uint32_t r = 0; r < nr; r++) {
        g->rule_alt[r] = a;
        g->alts[a++] = at;
        for (uint32_t i = 0; i < p->rules[r].n; i++) {
            g->el[at++] = p->rules[r].e[i];
            if (p->rules[r].e[i].type == E_ALT) g->alts[a++] = at;
        }
        g->el[at++] = (elem){E_END, 0};
    }
    g->rule_alt[nr] = a;
    g->n_el = at;
    /* fewest code points per rule: a fixed point from "never" down */
    for (uint32_t r = 0; r < nr; r++) minlen[r] = INF;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t r = 0; r < nr; r++) {
            for (uint32_t k = g->rule_alt[r]; k < g->rule_alt[r + 1]; k++) {
                uint32_t sum = 0;
                for (uint32_t i = g->alts[k]; !elem_end(g->el[i].type); i++)
                    sum = sat_add(sum, g->el[i].type == E_REF ? minlen[g->el[i].v] : 1);
                if (sum < minlen[r]) {
                    minlen[r] = sum;
                    changed = 1;
                }
            }
        }
    }
    {
        /* name the rule at the heart of it: one whose endless references are all to itself */
        int64_t bad = -1;
        for (uint32_t r = 0; r < nr; r++) {
            if (minlen[r] < INF) continue;
            int self_only = 1;
            for (uint32_t i = g->alts[g->rule_alt[r]]; g->el[i].type != E_END; i++)
                if (g->el[i].type == E_REF && g->el[i].v != r && minlen[g->el[i].v] >= INF) self_only = 0;
            if (bad < 0 || self_only) bad = r;
            if (self_only) break;
        }
        if (bad >= 0) {
            st = gf_fail("grammar: rule '%s' can never end: each of its alternatives refers back to it", names[bad]);
            goto done;
        }
    }
    for (uint32_t i = g->n_el; i-- > 0;) {
        uint32_t t = g->el[i].type;
        g->rest[i] = elem_end(t) ? 0 : sat_add(t == E_REF ? minlen[g->el[i].v] : 1, g->rest[i + 1]);
    }
    st = check_left_recursion(g, minlen, names);
done:
    free(names);
    free(minlen);
    return st;
}

/* --------------------------------------------------------------- matcher */

/* Nodes and states are interned (hash-consed): equal stacks are the same
 * node id and equal states the same state id, so the transition on a byte
 * is computed once per (state, byte) and cached; a trie walk over a state
 * seen before costs table look-ups only, and the masks of the last few
 * states are kept whole. */

static uint32_t hash3(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u ^ c * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    return h ^ (h >> 13);
}

static int grow(void **p, uint32_t *cap, size_t size, uint32_t need) {
    if (need <= *cap) return GF_OK;
    uint32_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *np = realloc(*p, (size_t)c * size);
    if (!np) return gf_fail_nomem("grammar states", (size_t)c * size);
    *p = np;
    *cap = c;
    return GF_OK;
}

/* Rebuilds an open-addressing table of ids (UINT32_MAX: empty) of size cap. */
static int rehash(uint32_t **table, uint32_t *cap, uint32_t count, uint32_t (*hash_of)(const gf_grammar *, uint32_t), const gf_grammar *g) {
    uint32_t c = *cap ? *cap : 256;
    while (c < count * 2 + 2) c *= 2;
    uint32_t *t = malloc((size_t)c * sizeof *t);
    if (!t) return gf_fail_nomem("grammar tables", (size_t)c * sizeof *t);
    memset(t, 0xff, (size_t)c * sizeof *t);
    for (uint32_t id = 0; id < count; id++) {
        uint32_t h = hash_of(g, id) & (c - 1);
        while (t[h] != NONE) h = (h + 1) & (c - 1);
        t[h] = id;
    }
    free(*table);
    *table = t;
    *cap = c;
    return GF_OK;
}

static uint32_t node_hash(const gf_grammar *g, uint32_t id) { return hash3(g->nodes[id].pos, g->nodes[id].parent, 1); }

static uint32_t state_hash(const gf_grammar *g, uint32_t id) {
    const gstate *s = &g->states[id];
    uint32_t h = hash3(s->val, s->rem, s->n);
    for (uint32_t i = 0; i < s->n; i++) h = hash3(h, g->pool[s->off + i], i);
    return h;
}

/* The node for pos over parent, or NONE (out of memory). */
static uint32_t intern_node(gf_grammar *g, uint32_t pos, uint32_t parent) {
    if (g->n_nodes * 2 + 2 > g->cap_node_table && rehash(&g->node_table, &g->cap_node_table, g->n_nodes, node_hash, g) < 0) return NONE;
    uint32_t mask = g->cap_node_table - 1, h = hash3(pos, parent, 1) & mask;
    for (uint32_t id; (id = g->node_table[h]) != NONE; h = (h + 1) & mask)
        if (g->nodes[id].pos == pos && g->nodes[id].parent == parent) return id;
    if (grow((void **)&g->nodes, &g->cap_nodes, sizeof *g->nodes, g->n_nodes + 1) < 0) return NONE;
    uint32_t d = sat_add(g->rest[pos], parent == NONE ? 0 : g->nodes[parent].dist);
    g->nodes[g->n_nodes] = (gnode){pos, parent, d};
    g->node_table[h] = g->n_nodes;
    return g->n_nodes++;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The state of the stacks in g->tmp[0..n) (sorted and made unique here)
 * with a partial code point; returns its id or a negative error. */
static int64_t intern_state(gf_grammar *g, uint32_t n, uint32_t val, uint8_t rem, uint8_t len) {
    qsort(g->tmp, n, sizeof *g->tmp, cmp_u32);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!m || g->tmp[m - 1] != g->tmp[i]) g->tmp[m++] = g->tmp[i];
    n = m;
    if (g->n_states * 2 + 2 > g->cap_state_table && rehash(&g->state_table, &g->cap_state_table, g->n_states, state_hash, g) < 0) return GF_ERR_NOMEM;
    uint32_t h0 = hash3(val, rem, n);
    for (uint32_t i = 0; i < n; i++) h0 = hash3(h0, g->tmp[i], i);
    uint32_t mask = g->cap_state_table - 1, h = h0 & mask;
    for (uint32_t id; (id = g->state_table[h]) != NONE; h = (h + 1) & mask) {
        const gstate *s = &g->states[id];
        if (s->n == n && s->val == val && s->rem == rem && !memcmp(g->pool + s->off, g->tmp, n * sizeof *g->tmp)) return id;
    }
    if (grow((void **)&g->states, &g->cap_states, sizeof *g->states, g->n_states + 1) < 0) return GF_ERR_NOMEM;
    if (grow((void **)&g->pool, &g->cap_pool, sizeof *g->pool, g->n_pool + n) < 0) return GF_ERR_NOMEM;
    memcpy(g->pool + g->n_pool, g->tmp, n * sizeof *g->tmp);
    uint32_t best = INF;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = g->tmp[i] == ACCEPT ? 0 : g->nodes[g->tmp[i]].dist;
        if (d < best) best = d;
    }
    if (rem && best < INF) best = best - 1 + rem; /* the code point counts once; its missing bytes may each need a token */
    g->states[g->n_states] = (gstate){g->n_pool, n, val, rem, len, (int32_t)best, NULL};
    g->n_pool += n;
    g->state_table[h] = g->n_states;
    return g->n_states++;
}

static int push_tmp(gf_grammar *g, uint32_t id) {
    if (grow((void **)&g->tmp, &g->cap_tmp, sizeof *g->tmp, g->n_tmp + 1) < 0) return GF_ERR_NOMEM;
    g->tmp[g->n_tmp++] = id;
    return GF_OK;
}

/* Appends to g->tmp every stack whose top is a terminal, reached from
 * grammar position pos with return stack ret. */
static int expand(gf_grammar *g, uint32_t pos, uint32_t ret) {
    elem e = g->el[pos];
    if (elem_end(e.type)) {
        if (ret == NONE) return push_tmp(g, ACCEPT);
        return expand(g, g->nodes[ret].pos, g->nodes[ret].parent);
    }
    if (elem_terminal(e.type)) {
        uint32_t id = intern_node(g, pos, ret);
        return id == NONE ? GF_ERR_NOMEM : push_tmp(g, id);
    }
    uint32_t ret2 = ret;
    if (!elem_end(g->el[pos + 1].type) && (ret2 = intern_node(g, pos + 1, ret)) == NONE) return GF_ERR_NOMEM;
    for (uint32_t k = g->rule_alt[e.v]; k < g->rule_alt[e.v + 1]; k++) {
        int st = expand(g, g->alts[k], ret2);
        if (st < 0) return st;
    }
    return GF_OK;
}

static int class_has(const cclass *c, uint32_t cp) {
    int in = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        if (cp < c->r[2 * i]) break;
        if (cp <= c->r[2 * i + 1]) {
            in = 1;
            break;
        }
    }
    return in != c->negated;
}

/* Some code point in [lo, hi] matches. */
static int class_meets(const cclass *c, uint32_t lo, uint32_t hi) {
    if (!c->negated) {
        for (uint32_t i = 0; i < c->n; i++)
            if (c->r[2 * i] <= hi && c->r[2 * i + 1] >= lo) return 1;
        return 0;
    }
    uint32_t x = lo; /* the lowest point not yet known to be excluded */
    for (uint32_t i = 0; i < c->n && x <= hi; i++) {
        if (c->r[2 * i + 1] < x) continue;
        if (c->r[2 * i] > x) return 1;
        if (c->r[2 * i + 1] >= hi) return 0;
        x = c->r[2 * i + 1] + 1;
    }
    return x <= hi;
}

static int elem_meets(const gf_grammar *g, elem e, uint32_t lo, uint32_t hi) {
    if (e.type == E_CHAR) return e.v >= lo && e.v <= hi;
    if (e.type == E_ANY) return 1;
    return lo == hi ? class_has(&g->cls[e.v], lo) : class_meets(&g->cls[e.v], lo, hi);
}

#define DEAD (-1)
#define UNKNOWN (-2)

/* The state after byte b (computed once, then cached): an id, DEAD, or an error. */
static int64_t transition(gf_grammar *g, uint32_t sid, unsigned char b) {
    gstate *in = &g->states[sid];
    if (in->next && in->next[b] != UNKNOWN) return in->next[b];
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t val;
    uint8_t rem, len;
    int64_t result = DEAD;
    if (!in->rem) {
        if (b < 0x80) val = b, rem = 0, len = 1;
        else if (b >= 0xC2 && b <= 0xDF) val = b & 0x1F, rem = 1, len = 2;
        else if (b >= 0xE0 && b <= 0xEF) val = b & 0x0F, rem = 2, len = 3;
        else if (b >= 0xF0 && b <= 0xF4) val = b & 0x07, rem = 3, len = 4;
        else goto done;
    } else {
        if ((b & 0xC0) != 0x80) goto done;
        val = in->val << 6 | (b & 0x3F);
        rem = (uint8_t)(in->rem - 1);
        len = in->len;
    }
    uint32_t lo = val << (6 * rem), hi = lo | ((1u << (6 * rem)) - 1);
    if (lo < min_cp[len]) lo = min_cp[len];
    if (hi > 0x10FFFF) hi = 0x10FFFF;
    if (lo > hi || (!rem && lo >= 0xD800 && lo <= 0xDFFF)) goto done;
    g->n_tmp = 0;
    for (uint32_t i = 0; i < g->states[sid].n; i++) {
        uint32_t s = g->pool[g->states[sid].off + i];
        if (s == ACCEPT) continue;
        uint32_t pos = g->nodes[s].pos;
        if (!elem_meets(g, g->el[pos], lo, hi)) continue;
        /* still partial: keep the stacks that can take the code point; complete: advance them */
        int st = rem ? push_tmp(g, s) : expand(g, pos + 1, g->nodes[s].parent);
        if (st < 0) return st;
    }
    if (g->n_tmp) result = intern_state(g, g->n_tmp, val, rem, len);
    if (result < 0 && result != DEAD) return result;
done:
    in = &g->states[sid]; /* interning may have moved the states */
    if (!in->next) {
        in->next = malloc(256 * sizeof *in->next);
        if (!in->next) return gf_fail_nomem("grammar transitions", 256 * sizeof *in->next);
        for (int i = 0; i < 256; i++) in->next[i] = UNKNOWN;
    }
    in->next[b] = (int32_t)result;
    return result;
}

static void clear_states(gf_grammar *g) {
    for (uint32_t i = 0; i < g->n_states; i++) free(g->states[i].next);
    g->n_states = g->n_pool = g->n_nodes = 0;
    if (g->state_table) memset(g->state_table, 0xff, (size_t)g->cap_state_table * sizeof *g->state_table);
    if (g->node_table) memset(g->node_table, 0xff, (size_t)g->cap_node_table * sizeof *g->node_table);
    for (int k = 0; k < MASK_CACHE; k++) g->mask_state[k] = NONE;
}

int gf_grammar_reset(gf_grammar *g) {
    clear_states(g);
    g->n_tmp = 0;
    for (uint32_t k = g->rule_alt[g->root]; k < g->rule_alt[g->root + 1]; k++) {
        int st = expand(g, g->alts[k], NONE);
        if (st < 0) return st;
    }
    int64_t s = intern_state(g, g->n_tmp, 0, 0, 0);
    if (s < 0) return (int)s;
    g->cur = (uint32_t)s;
    return GF_OK;
}

/* The tables only grow while a grammar runs; past a limit they start over
 * from the current state (re-interned through its stacks' positions). */
#define MAX_TABLE_NODES (1u << 21)
static int maybe_flush(gf_grammar *g) {
    uint32_t limit = g->table_limit ? g->table_limit : MAX_TABLE_NODES;
    if (g->n_nodes < limit && g->n_states < limit / 4) return GF_OK;
    gstate cur = g->states[g->cur];
    uint32_t total = 0;
    for (uint32_t i = 0; i < cur.n; i++)
        for (uint32_t x = g->pool[cur.off + i]; x != NONE && x != ACCEPT; x = g->nodes[x].parent) total++;
    uint32_t *chains = malloc(((size_t)total + cur.n + 1) * sizeof *chains); /* per stack: length, then positions top first */
    if (!chains) return gf_fail_nomem("grammar states", (size_t)total * 4);
    uint32_t k = 0;
    for (uint32_t i = 0; i < cur.n; i++) {
        uint32_t at = k++, n = 0;
        for (uint32_t x = g->pool[cur.off + i]; x != NONE && x != ACCEPT; x = g->nodes[x].parent) chains[k++] = g->nodes[x].pos, n++;
        chains[at] = g->pool[cur.off + i] == ACCEPT ? NONE : n;
    }
    clear_states(g);
    g->n_tmp = 0;
    int st = GF_OK;
    for (uint32_t i = 0, at = 0; i < cur.n && st >= 0; i++) {
        uint32_t n = chains[at++];
        if (n == NONE) {
            st = push_tmp(g, ACCEPT);
            continue;
        }
        uint32_t id = NONE;
        for (uint32_t j = n; j-- > 0 && st >= 0;)
            if ((id = intern_node(g, chains[at + j], id)) == NONE) st = GF_ERR_NOMEM;
        at += n;
        if (st >= 0) st = push_tmp(g, id);
    }
    free(chains);
    if (st < 0) return st;
    int64_t s = intern_state(g, g->n_tmp, cur.val, cur.rem, cur.len);
    if (s < 0) return (int)s;
    g->cur = (uint32_t)s;
    return GF_OK;
}

void gf_grammar_set_table_limit(gf_grammar *g, uint32_t nodes) { g->table_limit = nodes; }

int gf_grammar_accept(gf_grammar *g, const char *bytes, size_t n) {
    int st = maybe_flush(g);
    if (st < 0) return st;
    uint32_t s = g->cur;
    for (size_t i = 0; i < n; i++) {
        int64_t next = transition(g, s, (unsigned char)bytes[i]);
        if (next == DEAD) return gf_fail("grammar: the text does not match the grammar at byte %zu of %zu (0x%02x)", i, n, (unsigned char)bytes[i]);
        if (next < 0) return (int)next;
        s = (uint32_t)next;
    }
    g->cur = s;
    return GF_OK;
}

int gf_grammar_complete(const gf_grammar *g) {
    const gstate *s = &g->states[g->cur];
    return !s->rem && s->n && g->pool[s->off + s->n - 1] == ACCEPT; /* sorted: ACCEPT comes last */
}

int gf_grammar_can_continue(const gf_grammar *g) {
    const gstate *s = &g->states[g->cur];
    return s->n && g->pool[s->off] != ACCEPT;
}

int32_t gf_grammar_distance(const gf_grammar *g) { return g->states[g->cur].dist; }

void gf_grammar_free(gf_grammar *g) {
    if (!g) return;
    free(g->el);
    free(g->rule_alt);
    free(g->alts);
    free(g->rest);
    for (uint32_t i = 0; i < g->n_cls; i++) free(g->cls[i].r);
    free(g->cls);
    for (uint32_t i = 0; i < g->n_states; i++) free(g->states[i].next);
    free(g->states);
    free(g->pool);
    free(g->nodes);
    free(g->node_table);
    free(g->state_table);
    free(g->tmp);
    free(g->lvl);
    for (int k = 0; k < MASK_CACHE; k++) free(g->mask[k]);
    free(g);
}

int gf_grammar_parse(const char *src, size_t len, gf_grammar **out) {
    *out = NULL;
    parser p = {.s = src, .len = len};
    int st = parse_all(&p);
    gf_grammar *g = NULL;
    if (st >= 0) {
        int64_t root = -1;
        for (uint32_t r = 0; r < p.n_rules; r++) {
            if (!p.rules[r].defined) {
                p.failed = 0;
                st = perr_at(&p, p.rules[r].ref_at, "rule '%s' is used but never defined", p.rules[r].name);
                break;
            }
            if (!p.rules[r].generated && !strcmp(p.rules[r].name, "root")) root = r;
        }
        if (st >= 0 && root < 0) st = gf_fail("grammar: no rule named 'root' (the text must match root)");
        if (st >= 0) {
            g = calloc(1, sizeof *g);
            if (!g) st = gf_fail_nomem("a grammar", sizeof *g);
        }
        if (st >= 0) {
            g->root = (uint32_t)root;
            g->cls = p.cls;
            g->n_cls = p.n_cls;
            p.cls = NULL;
            p.n_cls = 0;
            st = compile(g, &p);
        }
        if (st >= 0) st = gf_grammar_reset(g);
    } else if (!p.failed) {
        st = GF_ERR;
    }
    for (uint32_t r = 0; r < p.n_rules; r++) {
        free(p.rules[r].name);
        free(p.rules[r].e);
    }
    free(p.rules);
    for (uint32_t i = 0; i < p.n_cls; i++) free(p.cls[i].r);
    free(p.cls);
    if (st < 0) {
        gf_grammar_free(g);
        return st;
    }
    *out = g;
    return GF_OK;
}

/* ------------------------------------------------------------ vocab trie */

struct gf_vocab_trie {
    int32_t n_vocab;
    uint32_t n_nodes;
    uint8_t *byte;
    uint16_t *depth;
    uint32_t *end;       /* preorder: index after the node's subtree */
    uint32_t *tok_begin; /* tokens ending at node i: ids[tok_begin[i] .. tok_begin[i + 1]) */
    int32_t *ids;
    uint32_t max_depth;
};

typedef struct {
    const char *const *pieces;
    const uint32_t *lens;
} sort_ctx;
static sort_ctx g_sort; /* qsort has no context argument in C11 */

static int cmp_piece(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = g_sort.lens[x], ly = g_sort.lens[y];
    int c = memcmp(g_sort.pieces[x], g_sort.pieces[y], lx < ly ? lx : ly);
    if (c) return c;
    if (lx != ly) return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

void gf_vocab_trie_free(gf_vocab_trie *t) {
    if (!t) return;
    free(t->byte);
    free(t->depth);
    free(t->end);
    free(t->tok_begin);
    free(t->ids);
    free(t);
}

int gf_vocab_trie_build(const char *const *pieces, const uint32_t *lens, int32_t n_vocab, gf_vocab_trie **out) {
    *out = NULL;
    uint64_t total = 1;
    int32_t n_ids = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (lens[i] > 65535) return gf_fail("vocabulary: token %d is %u bytes long", i, lens[i]);
        total += lens[i];
        n_ids += lens[i] > 0;
    }
    gf_vocab_trie *t = calloc(1, sizeof *t);
    if (!t) return gf_fail_nomem("the vocabulary trie", sizeof *t);
    t->n_vocab = n_vocab;
    t->ids = malloc(((size_t)n_ids + 1) * sizeof *t->ids);
    uint32_t *path = malloc(65537 * sizeof *path);
    /* nodes: at most 1 + total bytes; shrunk afterwards */
    t->byte = malloc(total);
    t->depth = malloc(total * sizeof *t->depth);
    t->end = malloc(total * sizeof *t->end);
    t->tok_begin = malloc((total + 1) * sizeof *t->tok_begin);
    if (!t->ids || !path || !t->byte || !t->depth || !t->end || !t->tok_begin) {
        free(path);
        gf_vocab_trie_free(t);
        return gf_fail_nomem("the vocabulary trie", total * 11);
    }
    n_ids = 0;
    for (int32_t i = 0; i < n_vocab; i++)
        if (lens[i]) t->ids[n_ids++] = i;
    g_sort = (sort_ctx){pieces, lens};
    qsort(t->ids, (size_t)n_ids, sizeof *t->ids, cmp_piece);
    uint32_t n = 1, depth = 0; /* node 0: the root (empty prefix) */
    t->byte[0] = 0;
    t->depth[0] = 0;
    t->tok_begin[0] = 0;
    path[0] = 0;
    const char *prev = "";
    uint32_t prev_len = 0;
    for (int32_t k = 0; k < n_ids; k++) {
        int32_t id = t->ids[k];
        const char *s = pieces[id];
        uint32_t l = lens[id], common = 0;
        while (common < l && common < prev_len && s[common] == prev[common]) common++;
        for (; depth > common; depth--) t->end[path[depth]] = n; /* close nodes off the new path */
        for (; depth < l; depth++) {
            t->byte[n] = (uint8_t)s[depth];
            t->depth[n] = (uint16_t)(depth + 1);
            t->tok_begin[n] = (uint32_t)k;
            path[depth + 1] = n++;
        }
        if (l > t->max_depth) t->max_depth = l;
        prev = s;
        prev_len = l;
    }
    for (; depth > 0; depth--) t->end[path[depth]] = n;
    t->end[0] = n;
    t->tok_begin[n] = (uint32_t)n_ids;
    /* tokens ending at node i start where i's subtree's tokens start: tok_begin[i] is its first token in sorted order;
     * those ending exactly at i come first, up to the first token of its first child (or of the next node). */
    t->n_nodes = n;
    free(path);
    *out = t;
    return GF_OK;
}

int gf_vocab_trie_from_tokenizer(const gf_tokenizer *tk, gf_vocab_trie **out) {
    *out = NULL;
    int32_t n = gf_tokenizer_n_vocab(tk);
    char **pieces = calloc((size_t)n, sizeof *pieces);
    uint32_t *lens = calloc((size_t)n, sizeof *lens);
    int st = GF_OK;
    if (!pieces || !lens) st = gf_fail_nomem("the vocabulary's pieces", (size_t)n * 12);
    char buf[256];
    for (int32_t i = 0; i < n && st >= 0; i++) {
        if (gf_tokenizer_is_eog(tk, i)) continue; /* end of generation is decided apart from the grammar */
        int l = gf_token_to_piece(tk, i, buf, sizeof buf, 0);
        if (l < 0) {
            st = l;
            break;
        }
        if (l == 0) continue;
        pieces[i] = malloc((size_t)l + 1);
        if (!pieces[i]) {
            st = gf_fail_nomem("a token piece", (size_t)l);
            break;
        }
        if ((size_t)l >= sizeof buf) gf_token_to_piece(tk, i, pieces[i], (size_t)l + 1, 0);
        else memcpy(pieces[i], buf, (size_t)l);
        lens[i] = (uint32_t)l;
    }
    if (st >= 0) st = gf_vocab_trie_build((const char *const *)pieces, lens, n, out);
    if (pieces)
        for (int32_t i = 0; i < n; i++) free(pieces[i]);
    free(pieces);
    free(lens);
    return st;
}

int32_t gf_vocab_trie_n_vocab(const gf_vocab_trie *t) { return t->n_vocab; }
int32_t gf_vocab_trie_n_nodes(const gf_vocab_trie *t) { return (int32_t)t->n_nodes; }

int32_t gf_grammar_token_distances(gf_grammar *g, const gf_vocab_trie *t, int32_t *dist) {
    int st = maybe_flush(g);
    if (st < 0) return st;
    size_t bytes = (size_t)t->n_vocab * sizeof *dist;
    for (int k = 0; k < MASK_CACHE; k++)
        if (g->mask_state[k] == g->cur && g->mask_trie[k] == t && g->mask[k]) {
            memcpy(dist, g->mask[k], bytes);
            g->mask_clock[k] = ++g->clock;
            return g->mask_allowed[k];
        }
    for (int32_t i = 0; i < t->n_vocab; i++) dist[i] = INF;
    uint32_t levels = t->max_depth + 1;
    if (grow((void **)&g->lvl, &g->cap_lvl, sizeof *g->lvl, levels) < 0) return GF_ERR_NOMEM;
    g->lvl[0] = g->cur;
    int32_t allowed = 0;
    for (uint32_t i = 1; i < t->n_nodes;) {
        uint32_t d = t->depth[i];
        const gstate *from = &g->states[g->lvl[d - 1]];
        int64_t s = from->next && from->next[t->byte[i]] != UNKNOWN ? from->next[t->byte[i]] : transition(g, g->lvl[d - 1], t->byte[i]);
        if (s == DEAD) {
            i = t->end[i];
            continue;
        }
        if (s < 0) return (int32_t)s;
        g->lvl[d] = (uint32_t)s;
        uint32_t first_child_tokens = i + 1 < t->n_nodes && t->depth[i + 1] > d ? t->tok_begin[i + 1] : t->tok_begin[t->end[i]];
        if (t->tok_begin[i] < first_child_tokens) {
            int32_t dd = g->states[s].dist;
            for (uint32_t k = t->tok_begin[i]; k < first_child_tokens; k++) {
                dist[t->ids[k]] = dd;
                allowed++;
            }
        }
        i++;
    }
    /* keep the mask, replacing the least recently used one */
    int slot = 0;
    for (int k = 1; k < MASK_CACHE; k++)
        if (g->mask_clock[k] < g->mask_clock[slot]) slot = k;
    if (!g->mask[slot]) g->mask[slot] = malloc(bytes);
    if (g->mask[slot]) {
        memcpy(g->mask[slot], dist, bytes);
        g->mask_state[slot] = g->cur;
        g->mask_trie[slot] = t;
        g->mask_clock[slot] = ++g->clock;
        g->mask_allowed[slot] = allowed;
    }
    return allowed;
}
