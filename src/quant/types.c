#include "quant/types.h"

#include <stdio.h>

/* Block sizes are facts of the ggml file format. Ids 31-33 and 36-38 were
 * interleaved repackings that llama.cpp no longer writes to files. */
static const gf_type_traits k_types[GF_TYPE_COUNT] = {
    [GF_TYPE_F32] = {"F32", 1, 4, 1},
    [GF_TYPE_F16] = {"F16", 1, 2, 1},
    [GF_TYPE_Q4_0] = {"Q4_0", 32, 18, 1},
    [GF_TYPE_Q4_1] = {"Q4_1", 32, 20, 1},
    [GF_TYPE_Q5_0] = {"Q5_0", 32, 22, 0},
    [GF_TYPE_Q5_1] = {"Q5_1", 32, 24, 0},
    [GF_TYPE_Q8_0] = {"Q8_0", 32, 34, 1},
    [GF_TYPE_Q8_1] = {"Q8_1", 32, 36, 0},
    [GF_TYPE_Q2_K] = {"Q2_K", 256, 84, 0},
    [GF_TYPE_Q3_K] = {"Q3_K", 256, 110, 0},
    [GF_TYPE_Q4_K] = {"Q4_K", 256, 144, 1},
    [GF_TYPE_Q5_K] = {"Q5_K", 256, 176, 0},
    [GF_TYPE_Q6_K] = {"Q6_K", 256, 210, 1},
    [GF_TYPE_Q8_K] = {"Q8_K", 256, 292, 0},
    [GF_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66, 0},
    [GF_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74, 0},
    [GF_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98, 0},
    [GF_TYPE_IQ1_S] = {"IQ1_S", 256, 50, 0},
    [GF_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, 0},
    [GF_TYPE_IQ3_S] = {"IQ3_S", 256, 110, 0},
    [GF_TYPE_IQ2_S] = {"IQ2_S", 256, 82, 0},
    [GF_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, 0},
    [GF_TYPE_I8] = {"I8", 1, 1, 0},
    [GF_TYPE_I16] = {"I16", 1, 2, 0},
    [GF_TYPE_I32] = {"I32", 1, 4, 0},
    [GF_TYPE_I64] = {"I64", 1, 8, 0},
    [GF_TYPE_F64] = {"F64", 1, 8, 0},
    [GF_TYPE_IQ1_M] = {"IQ1_M", 256, 56, 0},
    [GF_TYPE_BF16] = {"BF16", 1, 2, 0},
    [GF_TYPE_TQ1_0] = {"TQ1_0", 256, 54, 0},
    [GF_TYPE_TQ2_0] = {"TQ2_0", 256, 66, 0},
    [GF_TYPE_MXFP4] = {"MXFP4", 32, 17, 0},
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
