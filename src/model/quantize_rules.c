#include "model/quantize_rules.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/arch.h"
#include "quant/registry.h"

static const struct {
    const char *name;
    int ftype;
    uint32_t type;
} k_ftypes[] = {
    {"Q8_0", GF_FTYPE_Q8_0, GF_TYPE_Q8_0}, {"Q4_0", GF_FTYPE_Q4_0, GF_TYPE_Q4_0}, {"Q4_1", GF_FTYPE_Q4_1, GF_TYPE_Q4_1},
    {"Q4_K", GF_FTYPE_Q4_K_M, GF_TYPE_Q4_K}, {"Q4_K_M", GF_FTYPE_Q4_K_M, GF_TYPE_Q4_K}, {"Q6_K", GF_FTYPE_Q6_K, GF_TYPE_Q6_K},
    {"Q5_K", GF_FTYPE_Q5_K_M, GF_TYPE_Q5_K}, {"Q5_K_M", GF_FTYPE_Q5_K_M, GF_TYPE_Q5_K}, {"Q3_K", GF_FTYPE_Q3_K_M, GF_TYPE_Q3_K},
    {"Q3_K_M", GF_FTYPE_Q3_K_M, GF_TYPE_Q3_K}, {"Q2_K", GF_FTYPE_Q2_K, GF_TYPE_Q2_K}, {"IQ4_XS", GF_FTYPE_IQ4_XS, GF_TYPE_IQ4_XS},
    {"Q5_1", GF_FTYPE_Q5_1, GF_TYPE_Q5_1}, {"BF16", GF_FTYPE_BF16, GF_TYPE_BF16},
};
#define N_FTYPES (sizeof k_ftypes / sizeof *k_ftypes)

int gf_ftype_parse(const char *name) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (!strcmp(name, k_ftypes[i].name)) return k_ftypes[i].ftype;
    return gf_fail("quantize: unknown type '%s' (supported: Q8_0, Q4_0, Q4_1, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, BF16)", name);
}

const char *gf_ftype_name(int ftype) {
    if (ftype == GF_FTYPE_Q4_K_M) return "Q4_K_M";
    if (ftype == GF_FTYPE_Q5_K_M) return "Q5_K_M";
    if (ftype == GF_FTYPE_Q3_K_M) return "Q3_K_M";
    for (size_t i = 0; i < N_FTYPES; i++)
        if (k_ftypes[i].ftype == ftype) return k_ftypes[i].name;
    return "F32";
}

uint32_t gf_ftype_base_type(int ftype) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (k_ftypes[i].ftype == ftype) return k_ftypes[i].type;
    return GF_TYPE_F32;
}

int gf_ftype_for_type(uint32_t type) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (k_ftypes[i].type == type) return k_ftypes[i].ftype;
    return GF_FTYPE_F32;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* "blk.N.<role>.weight" (gf_tensor_names) */
static int is_role_weight(const char *name, gf_tensor_role role) {
    size_t n = strlen(name), r = strlen(gf_tensor_names[role]);
    return n > r + 8 && name[n - r - 8] == '.' && !memcmp(name + n - r - 7, gf_tensor_names[role], r) && !strcmp(name + n - 7, ".weight");
}

void gf_quant_rules_init(gf_quant_rules *q, const gguf_reader *r, int ftype) {
    memset(q, 0, sizeof *q);
    q->ftype = ftype;
    q->output_type = q->embd_type = GF_TYPE_RULE;
    uint64_t q_rows = 0, k_rows = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(r); i++) {
        const char *name = gguf_tensor_at(r, i)->name;
        int blk0 = !strncmp(name, "blk.0.", 6) && gguf_tensor_at(r, i)->n_dims >= 2;
        if (blk0 && is_role_weight(name, GF_T_ATTN_Q)) q_rows = gguf_tensor_at(r, i)->ne[1];
        if (blk0 && is_role_weight(name, GF_T_ATTN_K)) k_rows = gguf_tensor_at(r, i)->ne[1];
        if (!strcmp(name, "output.weight")) q->has_output = 1;
        if (is_role_weight(name, GF_T_ATTN_V)) q->n_attn_v++;
        if (strstr(name, gf_tensor_names[GF_T_FFN_DOWN])) q->n_ffn_down++; /* and MoE's ffn_down_exps, as llama.cpp counts */
    }
    q->n_gqa = q_rows && k_rows && q_rows % k_rows == 0 ? (int)(q_rows / k_rows) : 1;
}

/* Dimensions as ggml_n_dims counts them: trailing 1s do not count. */
static int n_dims(const gguf_tensor_info *t) {
    int dims = 1;
    for (uint32_t i = 1; i < t->n_dims; i++)
        if (t->ne[i] > 1) dims = (int)i + 1;
    return dims;
}

int gf_quant_rules_quantizable(const gguf_tensor_info *t) {
    const char *n = t->name;
    return ends_with(n, "weight") && n_dims(t) >= 2 && !strstr(n, "_norm.weight") && !strstr(n, "ffn_gate_inp.weight") &&
           strcmp(n, "position_embd.weight") && strcmp(n, "token_types.weight");
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int layer_of(const char *name) {
    int layer = -1;
    return sscanf(name, "blk.%d.", &layer) == 1 ? layer : -1;
}

static uint32_t rule_type(const gf_quant_rules *q, const gguf_tensor_info *t) {
    uint32_t base = gf_ftype_base_type(q->ftype);
    const char *name = t->name;
    int is_output = !strcmp(name, "output.weight") || (!q->has_output && !strcmp(name, "token_embd.weight"));
    if (base == GF_TYPE_BF16) { /* not a quantized type: no mix (llama.cpp applies its rules to quantized types only) */
        if (is_output && q->output_type != GF_TYPE_RULE) return q->output_type;
        if (!strcmp(name, "token_embd.weight") && q->embd_type != GF_TYPE_RULE) return q->embd_type;
        return base;
    }
    if (is_output) {
        if (q->output_type != GF_TYPE_RULE) return q->output_type;
        if (t->ne[0] % gf_type_info(base)->block) return GF_TYPE_Q8_0;
        return base == GF_TYPE_Q8_0 ? GF_TYPE_Q8_0 : GF_TYPE_Q6_K;
    }
    if (!strcmp(name, "token_embd.weight")) return q->embd_type != GF_TYPE_RULE ? q->embd_type : base;
    int layer = layer_of(name), f = q->ftype;
    if (is_role_weight(name, GF_T_ATTN_V)) {
        if (f == GF_FTYPE_Q2_K) return q->n_gqa >= 4 ? GF_TYPE_Q4_K : GF_TYPE_Q3_K;
        if (f == GF_FTYPE_Q3_K_M && layer >= 0) return layer < 2 ? GF_TYPE_Q5_K : GF_TYPE_Q4_K;
        if (f == GF_FTYPE_IQ4_XS && q->n_gqa >= 4) return GF_TYPE_Q5_K;
        if ((f == GF_FTYPE_Q4_K_M || f == GF_FTYPE_Q5_K_M) && layer >= 0 && use_more_bits(layer, q->n_attn_v)) return GF_TYPE_Q6_K;
        return base;
    }
    if (strstr(name, gf_tensor_names[GF_T_FFN_DOWN])) {
        if (layer < 0) return base;
        int n = q->n_ffn_down;
        if (f == GF_FTYPE_Q2_K) return GF_TYPE_Q3_K;
        if (f == GF_FTYPE_Q3_K_M) return layer < n / 16 ? GF_TYPE_Q5_K : GF_TYPE_Q4_K;
        if ((f == GF_FTYPE_Q4_K_M || f == GF_FTYPE_Q5_K_M) && use_more_bits(layer, n)) return GF_TYPE_Q6_K;
        if (f == GF_FTYPE_IQ4_XS && layer < n / 8) return GF_TYPE_Q5_K;
        return base;
    }
    if (is_role_weight(name, GF_T_ATTN_OUT)) {
        if (f == GF_FTYPE_Q2_K) return GF_TYPE_Q3_K;
        if (f == GF_FTYPE_Q3_K_M) return GF_TYPE_Q4_K;
        return base;
    }
    if (is_role_weight(name, GF_T_ATTN_QKV)) {
        if (f == GF_FTYPE_Q3_K_M) return GF_TYPE_Q4_K;
        if (f == GF_FTYPE_Q4_K_M) return GF_TYPE_Q5_K;
        if (f == GF_FTYPE_Q5_K_M) return GF_TYPE_Q6_K;
    }
    return base;
}

uint32_t gf_quant_rules_type(const gf_quant_rules *q, const gguf_tensor_info *t, uint32_t override) {
    if (!gf_quant_rules_quantizable(t)) return n_dims(t) == 1 && t->type == GF_TYPE_F16 ? GF_TYPE_F32 : t->type;
    uint32_t type = override != GF_TYPE_RULE ? override : rule_type(q, t);
    if (type == GF_TYPE_F32 || type == GF_TYPE_F16) return type;
    if (t->ne[0] % gf_type_info(type)->block) {
        if (type == GF_TYPE_Q6_K) type = GF_TYPE_Q8_0;
        else if (type == GF_TYPE_Q5_K) type = GF_TYPE_Q5_1;
        else if (type == GF_TYPE_Q4_K || type == GF_TYPE_Q3_K || type == GF_TYPE_Q2_K || type == GF_TYPE_IQ4_XS) type = GF_TYPE_Q4_1;
    }
    if (t->ne[0] % gf_type_info(type)->block) type = GF_TYPE_F16;
    return type;
}
