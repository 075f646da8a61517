#include "quant/integrity.h"

#include <string.h>

#include "base/error.h"
#include "quant/registry.h"

enum { K_NONE, K_F32, K_F16, K_BF16, K_SCALES };

/* fp16 scale offsets of ggml's block layouts (ggml-common.h) */
static const struct {
    uint32_t type;
    uint8_t fields[2];
} k_scales[] = {
    {GF_TYPE_Q4_0, {0, 0xff}},   {GF_TYPE_Q4_1, {0, 2}},    /* d / d, m */
    {GF_TYPE_Q5_0, {0, 0xff}},   {GF_TYPE_Q5_1, {0, 2}},    /* d / d, m */
    {GF_TYPE_Q8_0, {0, 0xff}},   {GF_TYPE_Q8_1, {0, 2}},    /* d / d, s */
    {GF_TYPE_Q2_K, {80, 82}},    {GF_TYPE_Q3_K, {108, 0xff}}, /* d, dmin after the quants */
    {GF_TYPE_Q4_K, {0, 2}},      {GF_TYPE_Q5_K, {0, 2}},    /* d, dmin */
    {GF_TYPE_Q6_K, {208, 0xff}}, {GF_TYPE_IQ4_NL, {0, 0xff}},
    {GF_TYPE_IQ4_XS, {0, 0xff}},
};

void gf_scan_start(gf_scan *s, const char *name, uint32_t type) {
    memset(s, 0, sizeof *s);
    s->name = name;
    s->type = type;
    memset(s->fields, 0xff, sizeof s->fields);
    const gf_type_traits *tt = gf_type_info(type);
    s->block_bytes = tt ? tt->bytes : 1;
    s->kind = type == GF_TYPE_F32 ? K_F32 : type == GF_TYPE_F16 ? K_F16 : type == GF_TYPE_BF16 ? K_BF16 : K_NONE;
    for (size_t i = 0; i < sizeof k_scales / sizeof k_scales[0]; i++)
        if (k_scales[i].type == type) {
            s->kind = K_SCALES;
            memcpy(s->fields, k_scales[i].fields, sizeof s->fields);
        }
    if (s->block_bytes > sizeof s->carry) s->kind = K_NONE;
}

/* little-endian loads (wasm and the native targets are little-endian); memcpy compiles to one load */
static uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* an fp16 with all exponent bits set: Inf (mantissa 0) or NaN */
static int half_bad(uint16_t h) { return (h & 0x7c00) == 0x7c00; }

static int report(const gf_scan *s, const char *what, int nan, uint64_t index) {
    return gf_fail("tensor '%s' has a non-finite %s (%s) %s %llu: the file is corrupt", s->name, what, nan ? "NaN" : "Inf",
                   s->kind == K_SCALES ? "in block" : "at element", (unsigned long long)index);
}

/* Checks whole blocks at p; returns how many were good before the first bad one (n if all). */
static size_t check_blocks(gf_scan *s, const uint8_t *p, size_t n) {
    const uint32_t bb = s->block_bytes;
    switch (s->kind) {
    case K_F32:
        for (size_t i = 0; i < n; i++) {
            uint32_t x = rd32(p + 4 * i);
            if ((x & 0x7f800000u) == 0x7f800000u) return i;
        }
        return n;
    case K_F16:
        for (size_t i = 0; i < n; i++)
            if (half_bad(rd16(p + 2 * i))) return i;
        return n;
    case K_BF16:
        for (size_t i = 0; i < n; i++)
            if ((rd16(p + 2 * i) & 0x7f80) == 0x7f80) return i;
        return n;
    case K_SCALES: {
        /* the second field's offset repeats the first's when there is none: one loop for both layouts */
        const uint32_t f0 = s->fields[0], f1 = s->fields[1] != 0xff ? s->fields[1] : f0;
        for (size_t i = 0; i < n; i++, p += bb)
            if (half_bad(rd16(p + f0)) | half_bad(rd16(p + f1))) return i;
        return n;
    }
    default: return n;
    }
}

/* Builds the message for the bad block at p. */
static int bad_block(const gf_scan *s, const uint8_t *p, uint64_t index) {
    switch (s->kind) {
    case K_F32: return report(s, "value", (rd32(p) & 0x007fffffu) != 0, index);
    case K_F16: return report(s, "value", (rd16(p) & 0x03ff) != 0, index);
    case K_BF16: return report(s, "value", (rd16(p) & 0x007f) != 0, index);
    default:
        for (int f = 0; f < 2 && s->fields[f] != 0xff; f++) {
            uint16_t h = rd16(p + s->fields[f]);
            if (!half_bad(h)) continue;
            int is_min = f == 1 && (s->type == GF_TYPE_Q2_K || s->type == GF_TYPE_Q4_K || s->type == GF_TYPE_Q5_K ||
                                    s->type == GF_TYPE_Q4_1 || s->type == GF_TYPE_Q5_1);
            return report(s, is_min ? "minimum scale" : "scale", (h & 0x03ff) != 0, index);
        }
        return GF_OK;
    }
}

int gf_scan_feed(gf_scan *s, const uint8_t *p, size_t n) {
    if (s->kind == K_NONE) return GF_OK;
    const uint32_t bb = s->block_bytes;
    if (s->carry_len) {
        size_t k = bb - s->carry_len < n ? bb - s->carry_len : n;
        memcpy(s->carry + s->carry_len, p, k);
        s->carry_len += (uint32_t)k;
        p += k;
        n -= k;
        if (s->carry_len < bb) return GF_OK;
        if (check_blocks(s, s->carry, 1) == 0) return bad_block(s, s->carry, s->block);
        s->block++;
        s->carry_len = 0;
    }
    size_t whole = n / bb;
    size_t good = check_blocks(s, p, whole);
    if (good < whole) return bad_block(s, p + good * bb, s->block + good);
    s->block += whole;
    s->carry_len = (uint32_t)(n - whole * bb);
    memcpy(s->carry, p + whole * bb, s->carry_len);
    return GF_OK;
}
