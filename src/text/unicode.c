#include "text/unicode.h"

uint8_t gf_unicode_flags(uint32_t cp) {
    const uint32_t *r = gf_unicode_flag_ranges;
    if (cp < 0x80) return gf_unicode_ascii_flags[cp];
    if (cp >= 0x110000) return 0;
    uint32_t key = cp << 4 | 15;
    uint32_t lo = 0, hi = gf_unicode_n_flag_ranges; /* invariant: r[lo] <= key < r[hi] */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (r[mid] <= key) lo = mid;
        else hi = mid;
    }
    return (uint8_t)(r[lo] & 15);
}

uint32_t gf_unicode_tolower(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    uint32_t lo = 0, hi = gf_unicode_n_lower_runs;
    while (lo < hi) { /* first run starting after cp */
        uint32_t mid = (lo + hi) / 2;
        if (gf_unicode_lower_runs[mid].first <= cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return cp;
    const gf_unicode_case_run *run = &gf_unicode_lower_runs[lo - 1];
    uint32_t count = run->count_stride & 0xffff, stride = run->count_stride >> 16;
    uint32_t k = cp - run->first;
    if (k % stride || k / stride >= count) return cp;
    return (uint32_t)((int64_t)cp + run->delta);
}

uint32_t gf_unicode_nfd_first(uint32_t cp) {
    if (cp < 0xC0) return cp;
    uint32_t lo = 0, hi = gf_unicode_n_nfd_runs;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if ((gf_unicode_nfd_runs[mid].first_count & 0x1fffff) <= cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return cp;
    const gf_unicode_nfd_run *run = &gf_unicode_nfd_runs[lo - 1];
    uint32_t first = run->first_count & 0x1fffff, count = (run->first_count >> 21) + 1;
    return cp - first < count ? run->target : cp;
}

size_t gf_utf8_decode(const char *str, size_t n, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

size_t gf_utf8_validate(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = gf_utf8_decode(s + i, n - i, &cp);
        if (!k) return i;
        i += k;
    }
    return n;
}

int gf_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* GPT-2 keeps the printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
 * U+00AE..U+00FF) as themselves and numbers the other 68 bytes, in order,
 * from U+0100. */
static int byte_is_printable(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

uint32_t gf_byte_to_unicode(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t n = 0; /* non-printable bytes before b */
    for (unsigned x = 0; x < b; x++) n += !byte_is_printable(x);
    return 256 + n;
}

int gf_unicode_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t n = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!byte_is_printable(x) && n-- == 0) return (int)x;
    return -1;
}
