/* Row quantization entry point and the search quantizer of every writable
 * type: one function per type searches one block (the 32-element formats
 * here; Q4_K and Q6_K in quantize_k.c, Q5_K, Q3_K, Q2_K and IQ4_XS in their
 * own modules), one row driver gives each block its weights and keeps the
 * reference block where it is no worse. The reference quantizers are the
 * registry rows' (bit-exact with llama.cpp). */
#include "quant/quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/bf16.h"
#include "quant/iq4_xs.h"
#include "quant/q2_K.h"
#include "quant/q3_K.h"
#include "quant/q5_1.h"
#include "quant/q5_K.h"
#include "quant/quant.h"
#include "quant/quantize_k.h"
#include "quant/quantize_search.h"
#include "quant/registry.h"

/* Search grid sizes: more steps for fewer bits, where the scale matters most. */
#define STEPS_8BIT 8
#define STEPS_4BIT 12

int gf_quantize_supported(uint32_t type) { return gf_type_writable(type); }

const char *gf_quant_method_name(gf_quant_method m) { return m == GF_QUANT_SEARCH ? "search" : "ref"; }

int gf_quant_method_parse(const char *name) {
    if (!strcmp(name, "ref")) return GF_QUANT_REF;
    if (!strcmp(name, "search")) return GF_QUANT_SEARCH;
    return -1;
}

double gf_quantize_error(uint32_t type, const void *q, const float *x, const float *w, int64_t n) {
    const gf_type_traits *t = gf_type_info(type);
    float y[QK_K];
    double e = 0;
    for (int64_t i = 0; i < n; i += t->block) {
        gf_dequantize_row(type, (const char *)q + (size_t)(i / t->block) * t->bytes, y, t->block);
        for (uint32_t j = 0; j < t->block; j++) {
            double d = (double)x[i + j] - y[j];
            e += (w ? w[i + j] : 1.0) * d * d;
        }
    }
    return e;
}

/* Blocks whose importance weights are all zero (channels calibration never
 * saw active) fall back to plain squared error rather than to anything goes. */
static const float *block_weights(const float *w, int n) {
    if (!w) return NULL;
    for (int i = 0; i < n; i++)
        if (w[i] > 0) return w;
    return NULL;
}

/* One block's search: x and its weights (NULL: plain squared error) to the block at dst. */
typedef void (*block_search_fn)(const float *x, const float *w, void *dst);

static void q8_0_block(const float *x, const float *w, void *dst) {
    block_q8_0 *y = dst;
    int8_t L[QK8_0];
    float err;
    y->d = gf_float_to_half(gf_search_sym(x, w, QK8_0, -127, 127, 1, STEPS_8BIT, L, &err));
    memcpy(y->qs, L, QK8_0);
}

static void q4_0_block(const float *x, const float *w, void *dst) {
    block_q4_0 *y = dst;
    int8_t L[QK4_0];
    float err;
    y->d = gf_float_to_half(gf_search_sym(x, w, QK4_0, -8, 7, 1, STEPS_4BIT, L, &err));
    for (int j = 0; j < QK4_0 / 2; j++) y->qs[j] = (uint8_t)((L[j] + 8) | (L[j + QK4_0 / 2] + 8) << 4);
}

static void q4_1_block(const float *x, const float *w, void *dst) {
    block_q4_1 *y = dst;
    uint8_t L[QK4_1];
    float err, m;
    y->d = gf_float_to_half(gf_search_asym(x, w, QK4_1, 15, 0, 1, STEPS_4BIT, L, &m, &err));
    y->m = gf_float_to_half(m);
    for (int j = 0; j < QK4_1 / 2; j++) y->qs[j] = (uint8_t)(L[j] | L[j + QK4_1 / 2] << 4);
}

static void q5_1_block(const float *x, const float *w, void *dst) {
    block_q5_1 *y = dst;
    uint8_t L[QK5_1];
    float err, m;
    y->d = gf_float_to_half(gf_search_asym(x, w, QK5_1, 31, 0, 1, STEPS_4BIT, L, &m, &err));
    y->m = gf_float_to_half(m);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; j++) {
        y->qs[j] = (uint8_t)((L[j] & 15) | (L[j + QK5_1 / 2] & 15) << 4);
        qh |= (uint32_t)(L[j] >> 4) << j | (uint32_t)(L[j + QK5_1 / 2] >> 4) << (j + QK5_1 / 2);
    }
    memcpy(y->qh, &qh, 4);
}


int gf_search_default_weights(uint32_t type, const float *x, float *w, int64_t n) {
    if (type != GF_TYPE_Q3_K && type != GF_TYPE_Q2_K) return 0;
    for (int64_t g = 0; g + 16 <= n; g += 16) {
        float s2 = 0;
        for (int k = 0; k < 16; k++) s2 += x[g + k] * x[g + k];
        const float rms = sqrtf(s2 / 16);
        for (int k = 0; k < 16; k++) w[g + k] = rms + fabsf(x[g + k]);
    }
    return 1;
}

/* The search quantizer of each writable type (the reference one is in its registry row). The row driver keeps
 * the reference quantizer's block wherever its (weighted) error is no larger than the search's, so a search never
 * does worse than llama.cpp's rounding on any block. BF16's search is its reference: each value rounded to nearest
 * is already the least error, weighted or not. */
static const struct {
    block_search_fn block;
    int is_ref; /* the reference quantizer is the search */
} k_search[GF_TYPE_COUNT] = {
    [GF_TYPE_Q8_0] = {.block = q8_0_block}, [GF_TYPE_Q4_0] = {.block = q4_0_block}, [GF_TYPE_Q4_1] = {.block = q4_1_block},
    [GF_TYPE_Q5_1] = {.block = q5_1_block}, [GF_TYPE_Q4_K] = {.block = gf_quantize_block_q4_K_search},
    [GF_TYPE_Q6_K] = {.block = gf_quantize_block_q6_K_search}, [GF_TYPE_Q5_K] = {.block = gf_quantize_block_q5_K_search},
    [GF_TYPE_Q3_K] = {.block = gf_quantize_block_q3_K_search}, [GF_TYPE_Q2_K] = {.block = gf_quantize_block_q2_K_search},
    [GF_TYPE_IQ4_XS] = {.block = gf_quantize_block_iq4_xs_search}, [GF_TYPE_BF16] = {.is_ref = 1},
};

/* A row block by block: each block's weights are the importance (when there is some and it is not all zero), else
 * the type's default weights (or none). */
static void search_row(uint32_t type, const float *x, const float *imp, void *dst, int64_t n) {
    const gf_type_traits *ti = gf_type_info(type);
    const int bs = (int)ti->block;
    const size_t bytes = ti->bytes;
    float mw[QK_K];
    _Alignas(8) unsigned char ref[sizeof(block_q6_K)]; /* a reference block (Q6_K's is the largest writable block) */
    for (int64_t i = 0; i < n; i += bs) {
        const float *w = block_weights(imp ? imp + i : NULL, bs);
        if (!w && gf_search_default_weights(type, x + i, mw, bs)) w = mw;
        unsigned char *y = (unsigned char *)dst + bytes * (size_t)(i / bs);
        k_search[type].block(x + i, w, y);
        ti->quantize_ref(x + i, ref, bs);
        if (gf_quantize_error(type, ref, x + i, w, bs) <= gf_quantize_error(type, y, x + i, w, bs)) memcpy(y, ref, bytes);
    }
}

int gf_quantize_has_method(uint32_t type, gf_quant_method method) {
    if (!gf_type_writable(type)) return 0;
    return method == GF_QUANT_REF || (method == GF_QUANT_SEARCH && (k_search[type].block || k_search[type].is_ref));
}

/* What both entry points refuse: a type not written, a row not whole blocks. */
static int check_row(uint32_t type, int64_t n) {
    if (!gf_type_writable(type))
        return gf_fail("quantize: cannot write type %s (supported: %s)", gf_type_name(type), gf_writable_types_list());
    if (n <= 0 || gf_row_bytes(type, (uint64_t)n) == 0)
        return gf_fail("quantize: a row of %lld elements is not a whole number of %s blocks (%u)", (long long)n, gf_type_name(type),
                       gf_type_info(type)->block);
    return GF_OK;
}

int gf_quantize_row_ref(uint32_t type, const float *x, void *dst, int64_t n) {
    int s = check_row(type, n);
    if (s < 0) return s;
    gf_type_info(type)->quantize_ref(x, dst, n);
    return GF_OK;
}

int gf_quantize_row(uint32_t type, gf_quant_method method, const float *x, const float *importance, void *dst, int64_t n) {
    if (method == GF_QUANT_REF || (method == GF_QUANT_SEARCH && gf_type_writable(type) && k_search[type].is_ref))
        return gf_quantize_row_ref(type, x, dst, n);
    int s = check_row(type, n);
    if (s < 0) return s;
    if (method != GF_QUANT_SEARCH || !gf_quantize_has_method(type, method))
        return gf_fail("quantize: %s has no '%s' quantizer (method 'ref' writes it)", gf_type_name(type), gf_quant_method_name(method));
    if (gf_type_info(type)->bytes > sizeof(block_q6_K)) /* search_row's reference block */
        return gf_fail("quantize: %s blocks (%u bytes) are larger than the search's buffer", gf_type_name(type),
                       gf_type_info(type)->bytes);
    search_row(type, x, importance, dst, n);
    return GF_OK;
}
