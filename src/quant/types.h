/* Tensor element types as numbered by GGUF/ggml, and the activation
 * formats dot products consume. The registry (registry.h) has a row per
 * type: its block layout, whether and how the core computes with it. */
#ifndef GF_TYPES_H
#define GF_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GF_TYPE_F32 = 0,
    GF_TYPE_F16 = 1,
    GF_TYPE_Q4_0 = 2,
    GF_TYPE_Q4_1 = 3,
    GF_TYPE_Q5_0 = 6,
    GF_TYPE_Q5_1 = 7,
    GF_TYPE_Q8_0 = 8,
    GF_TYPE_Q8_1 = 9,
    GF_TYPE_Q2_K = 10,
    GF_TYPE_Q3_K = 11,
    GF_TYPE_Q4_K = 12,
    GF_TYPE_Q5_K = 13,
    GF_TYPE_Q6_K = 14,
    GF_TYPE_Q8_K = 15,
    GF_TYPE_IQ2_XXS = 16,
    GF_TYPE_IQ2_XS = 17,
    GF_TYPE_IQ3_XXS = 18,
    GF_TYPE_IQ1_S = 19,
    GF_TYPE_IQ4_NL = 20,
    GF_TYPE_IQ3_S = 21,
    GF_TYPE_IQ2_S = 22,
    GF_TYPE_IQ4_XS = 23,
    GF_TYPE_I8 = 24,
    GF_TYPE_I16 = 25,
    GF_TYPE_I32 = 26,
    GF_TYPE_I64 = 27,
    GF_TYPE_F64 = 28,
    GF_TYPE_IQ1_M = 29,
    GF_TYPE_BF16 = 30,
    GF_TYPE_TQ1_0 = 34,
    GF_TYPE_TQ2_0 = 35,
    GF_TYPE_MXFP4 = 39,
    GF_TYPE_COUNT = 40
} gf_type;

/* Activation formats: what a weight type's dot product consumes, chosen as
 * llama.cpp's CPU backend does (its x86 SIMD rounding: ties to even). */
/* BF16: each activation rounded to bfloat16 (llama.cpp's vec_dot_type for BF16). */
typedef enum { GF_ACT_F32, GF_ACT_F16, GF_ACT_Q8_0, GF_ACT_Q8_1, GF_ACT_Q8_K, GF_ACT_BF16 } gf_act_format;
#define GF_ACT_COUNT 6

/* Everything else about a type: quant/registry.h. */

#endif
