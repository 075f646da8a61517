/* Which type each tensor of a model gets when the file is quantized to a
 * target file type: llama.cpp's default rules (llama-quant.cpp,
 * llama_tensor_get_type), so our files have the mix users expect:
 *
 *  - Only weights are quantized: names ending in "weight", 2 or more
 *    dimensions, not norms ("_norm.weight"), not MoE routers
 *    ("ffn_gate_inp.weight"), not position or token-type embeddings. Every
 *    1-D tensor is written as F32; other unquantized tensors keep their type.
 *  - The output matrix (output.weight, or token_embd.weight when the
 *    embeddings are tied) is Q6_K, Q8_0 in Q8_0 files, and Q8_0 when its
 *    rows are not a multiple of the target's block.
 *    BF16 files (not a quantized type in llama.cpp) have every matrix BF16,
 *    the output too.
 *  - Q4_K (= llama.cpp's Q4_K_M) and Q5_K (= Q5_K_M): attn_v.weight and
 *    ffn_down of layer i get Q6_K when use_more_bits(i, n): i < n/8,
 *    i >= 7n/8, or (i - n/8) % 3 == 2. A fused attn_qkv.weight gets Q5_K
 *    (Q4_K_M), Q6_K (Q5_K_M), Q4_K (Q3_K_M).
 *  - Q3_K (= Q3_K_M): attn_v of the first two layers Q5_K, the others Q4_K;
 *    ffn_down Q5_K in layers i < n/16, else Q4_K; attn_output Q4_K.
 *  - Q2_K: attn_v Q4_K when n_gqa >= 4, else Q3_K; ffn_down and attn_output
 *    Q3_K.
 *  - IQ4_XS: attn_v Q5_K when n_gqa >= 4; ffn_down Q5_K in layers i < n/8.
 *  - Rows that are not a multiple of a K-quant's 256-element block fall
 *    back: Q6_K -> Q8_0 and Q5_K -> Q5_1 (as llama.cpp), Q4_K -> Q4_1
 *    (llama.cpp uses Q5_0, which greenformer does not write), Q3_K, Q2_K,
 *    IQ4_XS -> Q4_1 (llama.cpp: IQ4_NL, not written here either); a row not
 *    a multiple of 32 -> F16.
 *
 * Overrides (the output type, the token embedding type, or any tensor by
 * name, as --mix assigns) replace the rule's choice, still subject to the
 * row-length fallback. */
#ifndef GF_QUANTIZE_RULES_H
#define GF_QUANTIZE_RULES_H

#include <stdint.h>

#include "format/gguf.h"

/* llama.cpp's general.file_type values for the targets we write. */
enum {
    GF_FTYPE_F32 = 0,
    GF_FTYPE_Q4_0 = 2,
    GF_FTYPE_Q4_1 = 3,
    GF_FTYPE_Q8_0 = 7,
    GF_FTYPE_Q5_1 = 9,
    GF_FTYPE_Q2_K = 10,
    GF_FTYPE_Q3_K_M = 12,
    GF_FTYPE_Q4_K_M = 15,
    GF_FTYPE_Q5_K_M = 17,
    GF_FTYPE_Q6_K = 18,
    GF_FTYPE_IQ4_XS = 30,
    GF_FTYPE_BF16 = 32
};

/* "Q8_0", "Q4_0", "Q4_1", "Q5_1", "Q2_K", "Q3_K" (or "Q3_K_M"), "Q4_K" (or
 * "Q4_K_M"), "Q5_K" (or "Q5_K_M"), "Q6_K", "IQ4_XS", "BF16" -> file type; -1
 * (with a message) otherwise. */
int gf_ftype_parse(const char *name);
const char *gf_ftype_name(int ftype);
uint32_t gf_ftype_base_type(int ftype);
/* The file type llama.cpp would label a file with this main weight type. */
int gf_ftype_for_type(uint32_t type);

#define GF_TYPE_RULE 0xffffffffu /* no override */

typedef struct {
    int ftype;
    uint32_t output_type, embd_type; /* GF_TYPE_RULE or a type */
    int has_output;                  /* the file has output.weight (untied) */
    int n_attn_v, n_ffn_down;        /* counts in the file, for use_more_bits */
    int n_gqa;                       /* query heads per KV head (attn_q rows / attn_k rows of layer 0; 1 if unknown) */
} gf_quant_rules;

/* Fills the counts from the file's tensor table. */
void gf_quant_rules_init(gf_quant_rules *q, const gguf_reader *r, int ftype);

/* Whether llama.cpp would quantize this tensor at all. */
int gf_quant_rules_quantizable(const gguf_tensor_info *t);

/* The type tensor t is written with. override: GF_TYPE_RULE or a type the
 * caller wants (mix); it is still subject to the row-length fallback. */
uint32_t gf_quant_rules_type(const gf_quant_rules *q, const gguf_tensor_info *t, uint32_t override);

#endif
