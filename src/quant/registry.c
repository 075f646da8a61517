/* The weight-type registry (registry.h). Block sizes are facts of the ggml
 * file format. Ids 31-33 and 36-38 were interleaved repackings that
 * llama.cpp no longer writes to files. */
#include "quant/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/quant.h"
#include "quant/bf16.h"
#include "quant/iq4_nl.h"
#include "quant/iq4_xs.h"
#include "quant/q2_K.h"
#include "quant/q3_K.h"
#include "quant/q5_0.h"
#include "quant/q5_1.h"
#include "quant/q5_K.h"
#include "quant/quantize_k.h"

/* A type files may hold that greenformer does not compute with: its block
 * only (a file's layout is still read; its tensors are refused by name). */
#define FILE_ONLY(nm, blk, by) {nm, blk, by, 0, GF_ACT_F32, NULL, NULL, NULL, 0}

static const gf_type_traits k_types[GF_TYPE_COUNT] = {
    /*                 name      block bytes comp act        dequantize                  dot_ref              quantize_ref                writable */
    [GF_TYPE_F32]    = {"F32",    1,   4,   1, GF_ACT_F32,  gf_dequantize_row_f32,      gf_dot_f32_row_ref,  NULL,                       0},
    [GF_TYPE_F16]    = {"F16",    1,   2,   1, GF_ACT_F16,  gf_dequantize_row_f16,      gf_dot_f16_ref,      NULL,                       0},
    [GF_TYPE_Q4_0]   = {"Q4_0",   32,  18,  1, GF_ACT_Q8_0, gf_dequantize_row_q4_0,     gf_dot_q4_0_ref,     gf_quantize_row_q4_0_ref,   1},
    [GF_TYPE_Q4_1]   = {"Q4_1",   32,  20,  1, GF_ACT_Q8_1, gf_dequantize_row_q4_1,     gf_dot_q4_1_ref,     gf_quantize_row_q4_1_ref,   1},
    [GF_TYPE_Q5_0]   = {"Q5_0",   32,  22,  1, GF_ACT_Q8_0, gf_dequantize_row_q5_0,     gf_dot_q5_0_ref,     NULL,                       0},
    [GF_TYPE_Q5_1]   = {"Q5_1",   32,  24,  1, GF_ACT_Q8_1, gf_dequantize_row_q5_1,     gf_dot_q5_1_ref,     gf_quantize_row_q5_1_ref,   1},
    [GF_TYPE_Q8_0]   = {"Q8_0",   32,  34,  1, GF_ACT_Q8_0, gf_dequantize_row_q8_0,     gf_dot_q8_0_ref,     gf_quantize_row_q8_0_ref,   1},
    [GF_TYPE_Q8_1]   = FILE_ONLY("Q8_1", 32, 36),
    [GF_TYPE_Q2_K]   = {"Q2_K",   256, 84,  1, GF_ACT_Q8_K, gf_dequantize_row_q2_K,     gf_dot_q2_K_ref,     gf_quantize_row_q2_K_ref,   1},
    [GF_TYPE_Q3_K]   = {"Q3_K",   256, 110, 1, GF_ACT_Q8_K, gf_dequantize_row_q3_K,     gf_dot_q3_K_ref,     gf_quantize_row_q3_K_ref,   1},
    [GF_TYPE_Q4_K]   = {"Q4_K",   256, 144, 1, GF_ACT_Q8_K, gf_dequantize_row_q4_K,     gf_dot_q4_K_ref,     gf_quantize_row_q4_K_ref,   1},
    [GF_TYPE_Q5_K]   = {"Q5_K",   256, 176, 1, GF_ACT_Q8_K, gf_dequantize_row_q5_K,     gf_dot_q5_K_ref,     gf_quantize_row_q5_K_ref,   1},
    [GF_TYPE_Q6_K]   = {"Q6_K",   256, 210, 1, GF_ACT_Q8_K, gf_dequantize_row_q6_K,     gf_dot_q6_K_ref,     gf_quantize_row_q6_K_ref,   1},
    [GF_TYPE_Q8_K]   = FILE_ONLY("Q8_K", 256, 292),
    [GF_TYPE_IQ2_XXS] = FILE_ONLY("IQ2_XXS", 256, 66),
    [GF_TYPE_IQ2_XS] = FILE_ONLY("IQ2_XS", 256, 74),
    [GF_TYPE_IQ3_XXS] = FILE_ONLY("IQ3_XXS", 256, 98),
    [GF_TYPE_IQ1_S]  = FILE_ONLY("IQ1_S", 256, 50),
    [GF_TYPE_IQ4_NL] = {"IQ4_NL", 32,  18,  1, GF_ACT_Q8_0, gf_dequantize_row_iq4_nl,   gf_dot_iq4_nl_ref,   NULL,                       0},
    [GF_TYPE_IQ3_S]  = FILE_ONLY("IQ3_S", 256, 110),
    [GF_TYPE_IQ2_S]  = FILE_ONLY("IQ2_S", 256, 82),
    [GF_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, 1, GF_ACT_Q8_K, gf_dequantize_row_iq4_xs,   gf_dot_iq4_xs_ref,   gf_quantize_row_iq4_xs_ref, 1},
    [GF_TYPE_I8]     = FILE_ONLY("I8", 1, 1),
    [GF_TYPE_I16]    = FILE_ONLY("I16", 1, 2),
    [GF_TYPE_I32]    = FILE_ONLY("I32", 1, 4),
    [GF_TYPE_I64]    = FILE_ONLY("I64", 1, 8),
    [GF_TYPE_F64]    = FILE_ONLY("F64", 1, 8),
    [GF_TYPE_IQ1_M]  = FILE_ONLY("IQ1_M", 256, 56),
    [GF_TYPE_BF16]   = {"BF16",   1,   2,   1, GF_ACT_BF16, gf_dequantize_row_bf16,     gf_dot_bf16_ref,     gf_quantize_row_bf16_ref,   1},
    [GF_TYPE_TQ1_0]  = FILE_ONLY("TQ1_0", 256, 54),
    [GF_TYPE_TQ2_0]  = FILE_ONLY("TQ2_0", 256, 66),
    [GF_TYPE_MXFP4]  = FILE_ONLY("MXFP4", 32, 17),
};

const gf_type_traits *gf_type_info(uint32_t type) {
    if (type >= GF_TYPE_COUNT || !k_types[type].name) return NULL;
    return &k_types[type];
}

const char *gf_type_name(uint32_t type) {
    static char unknown[32];
    const gf_type_traits *t = gf_type_info(type);
    if (t) return t->name;
    snprintf(unknown, sizeof unknown, "unknown type id %u", type);
    return unknown;
}

size_t gf_row_bytes(uint32_t type, uint64_t n) {
    const gf_type_traits *t = gf_type_info(type);
    if (!t || n % t->block) return 0;
    return (size_t)(n / t->block) * t->bytes;
}

void gf_type_missing(uint32_t type, const char *what) {
    fprintf(stderr, "greenformer: type registry: %s has no %s (a bug: callers check the type first)\n", gf_type_name(type), what);
    abort();
}

int gf_type_computable(uint32_t type) {
    const gf_type_traits *t = gf_type_info(type);
    return t && t->computable;
}

void gf_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    const gf_type_traits *t = gf_type_info(type);
    if (!t || !t->dequantize) gf_type_missing(type, "dequantization");
    t->dequantize(src, dst, n);
}

gf_act_format gf_act_format_for(uint32_t weight_type) {
    const gf_type_traits *t = gf_type_info(weight_type);
    if (!t || !t->computable) gf_type_missing(weight_type, "activation format (not computable)");
    return t->act;
}

float gf_dot_ref(uint32_t wtype, int n, const void *w, const void *a) {
    const gf_type_traits *t = gf_type_info(wtype);
    if (!t || !t->computable || !t->dot_ref) gf_type_missing(wtype, "reference dot product");
    return t->dot_ref(n, w, a);
}

int gf_type_writable(uint32_t type) {
    const gf_type_traits *t = gf_type_info(type);
    return t && t->writable && t->quantize_ref;
}

const char *gf_writable_types_list(void) {
    static char list[256];
    if (!list[0]) {
        size_t k = 0;
        for (uint32_t i = 0; i < GF_TYPE_COUNT; i++)
            if (gf_type_writable(i)) k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", k_types[i].name);
    }
    return list;
}

static const char *const k_act_names[GF_ACT_COUNT] = {"f32", "f16", "q8_0", "q8_1", "q8_K", "bf16"};

const char *gf_act_format_name(gf_act_format f) { return (unsigned)f < GF_ACT_COUNT ? k_act_names[f] : "?"; }

size_t gf_act_row_bytes(gf_act_format f, int64_t n) {
    switch (f) {
    case GF_ACT_F32: return (size_t)n * 4;
    case GF_ACT_F16: return (size_t)n * 2;
    case GF_ACT_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    case GF_ACT_Q8_1: return (size_t)(n / QK8_1) * sizeof(block_q8_1);
    case GF_ACT_Q8_K: return (size_t)(n / QK_K) * sizeof(block_q8_K);
    case GF_ACT_BF16: return (size_t)n * 2;
    }
    fprintf(stderr, "greenformer: unknown activation format %d\n", (int)f);
    abort();
}

size_t gf_types_json(char *buf, size_t cap, gf_type_json_extra extra) {
    size_t k = 0;
#define PUT(...)                                                                                  \
    do {                                                                                          \
        int w_ = snprintf(k < cap ? buf + k : NULL, k < cap ? cap - k : 0, __VA_ARGS__);          \
        k += w_ > 0 ? (size_t)w_ : 0;                                                             \
    } while (0)
    PUT("[");
    int first = 1;
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++) {
        const gf_type_traits *t = gf_type_info(i);
        if (!t) continue;
        PUT("%s{\"id\":%u,\"name\":\"%s\",\"blockElements\":%u,\"blockBytes\":%u,\"computable\":%s,", first ? "" : ",", i,
            t->name, t->block, t->bytes, t->computable ? "true" : "false");
        if (t->computable) PUT("\"activation\":\"%s\",", gf_act_format_name(t->act));
        else PUT("\"activation\":null,");
        if (extra) {
            size_t w = extra(i, k < cap ? buf + k : NULL, k < cap ? cap - k : 0);
            k += w;
        }
        PUT("\"writable\":%s}", gf_type_writable(i) ? "true" : "false");
        first = 0;
    }
    PUT("]");
#undef PUT
    return k;
}

char *gf_types_json_alloc(gf_type_json_extra extra) {
    size_t n = gf_types_json(NULL, 0, extra);
    char *b = malloc(n + 1);
    if (!b) {
        gf_fail_nomem("the type list", n + 1);
        return NULL;
    }
    gf_types_json(b, n + 1, extra);
    return b;
}
