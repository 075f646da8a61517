/* Row quantization entry point and the searches of the 32-element block
 * formats (Q8_0, Q4_0, Q4_1, Q5_1). The reference quantizers are the
 * registry rows' (bit-exact with llama.cpp); Q4_K and Q6_K search in
 * quantize_k.c, Q5_K, Q3_K, Q2_K and IQ4_XS in their own modules. */
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

static void search_q8_0(const float *x, const float *imp, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    int8_t L[QK8_0];
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        const float *w = block_weights(imp ? imp + b * QK8_0 : NULL, QK8_0);
        block_q8_0 ref;
        gf_quantize_row_q8_0_ref(x, &ref, QK8_0);
        float err;
        float d = gf_search_sym(x, w, QK8_0, -127, 127, 1, STEPS_8BIT, L, &err);
        y[b].d = gf_float_to_half(d);
        memcpy(y[b].qs, L, QK8_0);
        if (gf_quantize_error(GF_TYPE_Q8_0, &ref, x, w, QK8_0) <= gf_quantize_error(GF_TYPE_Q8_0, &y[b], x, w, QK8_0)) y[b] = ref;
    }
}

static void search_q4_0(const float *x, const float *imp, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    int8_t L[QK4_0];
    for (int64_t b = 0; b < n / QK4_0; b++, x += QK4_0) {
        const float *w = block_weights(imp ? imp + b * QK4_0 : NULL, QK4_0);
        block_q4_0 ref;
        gf_quantize_row_q4_0_ref(x, &ref, QK4_0);
        float err;
        float d = gf_search_sym(x, w, QK4_0, -8, 7, 1, STEPS_4BIT, L, &err);
        y[b].d = gf_float_to_half(d);
        for (int j = 0; j < QK4_0 / 2; j++) y[b].qs[j] = (uint8_t)((L[j] + 8) | (L[j + QK4_0 / 2] + 8) << 4);
        if (gf_quantize_error(GF_TYPE_Q4_0, &ref, x, w, QK4_0) <= gf_quantize_error(GF_TYPE_Q4_0, &y[b], x, w, QK4_0)) y[b] = ref;
    }
}

static void search_q4_1(const float *x, const float *imp, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    uint8_t L[QK4_1];
    for (int64_t b = 0; b < n / QK4_1; b++, x += QK4_1) {
        const float *w = block_weights(imp ? imp + b * QK4_1 : NULL, QK4_1);
        block_q4_1 ref;
        gf_quantize_row_q4_1_ref(x, &ref, QK4_1);
        float err, m;
        float d = gf_search_asym(x, w, QK4_1, 15, 0, 1, STEPS_4BIT, L, &m, &err);
        y[b].d = gf_float_to_half(d);
        y[b].m = gf_float_to_half(m);
        for (int j = 0; j < QK4_1 / 2; j++) y[b].qs[j] = (uint8_t)(L[j] | L[j + QK4_1 / 2] << 4);
        if (gf_quantize_error(GF_TYPE_Q4_1, &ref, x, w, QK4_1) <= gf_quantize_error(GF_TYPE_Q4_1, &y[b], x, w, QK4_1)) y[b] = ref;
    }
}

static void search_q5_1(const float *x, const float *imp, void *dst, int64_t n) {
    block_q5_1 *y = dst;
    uint8_t L[QK5_1];
    for (int64_t b = 0; b < n / QK5_1; b++, x += QK5_1) {
        const float *w = block_weights(imp ? imp + b * QK5_1 : NULL, QK5_1);
        block_q5_1 ref;
        gf_quantize_row_q5_1_ref(x, &ref, QK5_1);
        float err, m;
        float d = gf_search_asym(x, w, QK5_1, 31, 0, 1, STEPS_4BIT, L, &m, &err);
        y[b].d = gf_float_to_half(d);
        y[b].m = gf_float_to_half(m);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            y[b].qs[j] = (uint8_t)((L[j] & 15) | (L[j + QK5_1 / 2] & 15) << 4);
            qh |= (uint32_t)(L[j] >> 4) << j | (uint32_t)(L[j + QK5_1 / 2] >> 4) << (j + QK5_1 / 2);
        }
        memcpy(y[b].qh, &qh, 4);
        if (gf_quantize_error(GF_TYPE_Q5_1, &ref, x, w, QK5_1) <= gf_quantize_error(GF_TYPE_Q5_1, &y[b], x, w, QK5_1)) y[b] = ref;
    }
}

/* BF16: each value rounded to nearest is already the least error, weighted or not. */
static void search_bf16(const float *x, const float *imp, void *dst, int64_t n) { gf_quantize_row_bf16_ref(x, dst, n); }

static void search_q4_K(const float *x, const float *imp, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i += QK_K)
        gf_quantize_block_q4_K(x + i, block_weights(imp ? imp + i : NULL, QK_K), 1, (block_q4_K *)dst + i / QK_K);
}

static void search_q6_K(const float *x, const float *imp, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i += QK_K)
        gf_quantize_block_q6_K(x + i, block_weights(imp ? imp + i : NULL, QK_K), 1, (block_q6_K *)dst + i / QK_K);
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

/* The newer types' searches (in their own modules) take a weight row; here
 * each 256-element block gets its weights: the importance, or when there is
 * none (or it is all zero) the type's default weights (or none). */
static void per_k_block(uint32_t type, void (*f)(const float *, const float *, void *, int64_t), const float *x, const float *imp,
                        void *dst, int64_t n) {
    const size_t bytes = gf_type_info(type)->bytes;
    float mw[QK_K];
    for (int64_t i = 0; i < n; i += QK_K) {
        const float *w = block_weights(imp ? imp + i : NULL, QK_K);
        if (!w && gf_search_default_weights(type, x + i, mw, QK_K)) w = mw;
        f(x + i, w, (char *)dst + bytes * (size_t)(i / QK_K), QK_K);
    }
}

static void search_q5_K(const float *x, const float *imp, void *dst, int64_t n) { per_k_block(GF_TYPE_Q5_K, gf_quantize_row_q5_K_search, x, imp, dst, n); }
static void search_q3_K(const float *x, const float *imp, void *dst, int64_t n) { per_k_block(GF_TYPE_Q3_K, gf_quantize_row_q3_K_search, x, imp, dst, n); }
static void search_q2_K(const float *x, const float *imp, void *dst, int64_t n) { per_k_block(GF_TYPE_Q2_K, gf_quantize_row_q2_K_search, x, imp, dst, n); }
static void search_iq4_xs(const float *x, const float *imp, void *dst, int64_t n) {
    per_k_block(GF_TYPE_IQ4_XS, gf_quantize_row_iq4_xs_search, x, imp, dst, n);
}

/* The search quantizer of each writable type (the reference one is in its registry row). */
typedef void (*search_fn)(const float *x, const float *importance, void *dst, int64_t n);
static const search_fn k_search[GF_TYPE_COUNT] = {
    [GF_TYPE_Q8_0] = search_q8_0, [GF_TYPE_Q4_0] = search_q4_0, [GF_TYPE_Q4_1] = search_q4_1,
    [GF_TYPE_Q4_K] = search_q4_K, [GF_TYPE_Q6_K] = search_q6_K, [GF_TYPE_Q5_1] = search_q5_1,
    [GF_TYPE_BF16] = search_bf16, [GF_TYPE_Q5_K] = search_q5_K, [GF_TYPE_Q3_K] = search_q3_K,
    [GF_TYPE_Q2_K] = search_q2_K, [GF_TYPE_IQ4_XS] = search_iq4_xs,
};

int gf_quantize_has_method(uint32_t type, gf_quant_method method) {
    if (!gf_type_writable(type)) return 0;
    return method == GF_QUANT_REF || (method == GF_QUANT_SEARCH && k_search[type] != NULL);
}

int gf_quantize_row(uint32_t type, gf_quant_method method, const float *x, const float *importance, void *dst, int64_t n) {
    if (!gf_type_writable(type))
        return gf_fail("quantize: cannot write type %s (supported: %s)", gf_type_name(type), gf_writable_types_list());
    if (n <= 0 || gf_row_bytes(type, (uint64_t)n) == 0)
        return gf_fail("quantize: a row of %lld elements is not a whole number of %s blocks (%u)", (long long)n, gf_type_name(type),
                       gf_type_info(type)->block);
    if (method == GF_QUANT_REF) {
        gf_type_info(type)->quantize_ref(x, dst, n);
        return GF_OK;
    }
    if (method != GF_QUANT_SEARCH || !k_search[type])
        return gf_fail("quantize: %s has no '%s' quantizer (method 'ref' writes it)", gf_type_name(type), gf_quant_method_name(method));
    k_search[type](x, importance, dst, n);
    return GF_OK;
}
