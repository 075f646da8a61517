/* Code point level Unicode for the tokenizers: strict UTF-8, the general
 * category and White_Space of a code point, simple lowercase, the first code
 * point of a decomposition, and GPT-2's byte <-> printable character map.
 * Tables come from tools/gen-unicode.mjs (src/text/unicode_data.c). */
#ifndef GF_UNICODE_H
#define GF_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* General category, one per code point (llama.cpp's unicode_cpt_flags). */
enum {
    GF_UCAT_N = 1, /* number */
    GF_UCAT_L = 2, /* letter */
    GF_UCAT_Z = 3, /* separator */
    GF_UCAT_M = 4, /* mark (accent) */
    GF_UCAT_P = 5, /* punctuation */
    GF_UCAT_S = 6, /* symbol */
    GF_UCAT_C = 7, /* control, format, unassigned, private use, surrogate */
    GF_UCAT_MASK = 7,
    GF_UFLAG_WS = 8, /* Unicode White_Space */
};

/* Category | GF_UFLAG_WS; 0 for values beyond U+10FFFF. */
uint8_t gf_unicode_flags(uint32_t cp);
static inline int gf_unicode_cat(uint32_t cp) { return gf_unicode_flags(cp) & GF_UCAT_MASK; }
static inline int gf_unicode_is_ws(uint32_t cp) { return (gf_unicode_flags(cp) & GF_UFLAG_WS) != 0; }

/* First code point of the full lowercase mapping (as Python's lower()[0]). */
uint32_t gf_unicode_tolower(uint32_t cp);
/* First code point of the canonical decomposition (cp itself if none). */
uint32_t gf_unicode_nfd_first(uint32_t cp);

/* Decodes one strictly valid UTF-8 character (no overlongs, surrogates or
 * values past U+10FFFF): its length, or 0 when s[0..n) does not start with one. */
size_t gf_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Offset of the first invalid byte, or n when all of s is valid. */
size_t gf_utf8_validate(const char *s, size_t n);
/* Writes cp (<= U+10FFFF) as UTF-8; returns 1..4. */
int gf_utf8_encode(uint32_t cp, char out[4]);
/* Length a lead byte announces (1 for ASCII and for stray bytes). */
static inline int gf_utf8_len(unsigned char lead) {
    static const unsigned char k[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return k[lead >> 4];
}

/* GPT-2 byte-level BPE: each byte has a printable stand-in character. */
uint32_t gf_byte_to_unicode(uint8_t b);
/* The byte a stand-in stands for, or -1 when cp is none. */
int gf_unicode_to_byte(uint32_t cp);

/* Generated tables (unicode_data.c). */
typedef struct {
    uint32_t first;
    uint32_t count_stride; /* count | stride << 16 */
    int32_t delta;
} gf_unicode_case_run;
typedef struct {
    uint32_t first_count; /* first | (count - 1) << 21 */
    uint32_t target;
} gf_unicode_nfd_run;

extern const uint32_t gf_unicode_flag_ranges[];
extern const uint32_t gf_unicode_n_flag_ranges;
extern const uint8_t gf_unicode_ascii_flags[128];
extern const gf_unicode_case_run gf_unicode_lower_runs[];
extern const uint32_t gf_unicode_n_lower_runs;
extern const gf_unicode_nfd_run gf_unicode_nfd_runs[];
extern const uint32_t gf_unicode_n_nfd_runs;

#endif
