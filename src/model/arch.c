#include "model/arch.h"

#include <string.h>

/*                name     norm           rope              ffn            post fused pos  types enorm causal encoder */
static const gf_arch k_archs[] = {
    {"llama", GF_NORM_RMS, GF_ROPE_ADJACENT, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    {"qwen2", GF_NORM_RMS, GF_ROPE_NEOX, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    {"gpt2", GF_NORM_LAYER, GF_ROPE_NONE, GF_FFN_GELU, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    {"bert", GF_NORM_LAYER, GF_ROPE_NONE, GF_FFN_GELU, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0},
    /*                                                                 escale sandwich qk swa attn_cap final_cap rope_swa */
    {"gemma2", GF_NORM_RMS, GF_ROPE_NEOX, GF_FFN_GEGLU, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 2, 50.0f, 30.0f, 0},
    {"gemma3", GF_NORM_RMS, GF_ROPE_NEOX, GF_FFN_GEGLU, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 6, 0, 0, 10000.0f},
};

const gf_arch *gf_arch_find(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof k_archs / sizeof k_archs[0]; i++)
        if (strlen(k_archs[i].name) == len && !memcmp(k_archs[i].name, name, len)) return &k_archs[i];
    return NULL;
}

const char *gf_arch_supported(void) { return "llama, qwen2, gpt2, bert, gemma2, gemma3"; }
