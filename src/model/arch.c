#include "model/arch.h"

#include <stdio.h>
#include <string.h>

/* Columns: name, norm, rope, ffn, then the flags in arch.h's order:
 * post_norm, fused_qkv, learned_pos, token_types, embd_norm, causal, encoder, fused_gate_up, qk_norm, nope_every, scales,
 * embd_scale, sandwich_norm, swa_pattern, attn_softcap, final_softcap, rope_base_swa, no_pre_norm, swa_keyed, swa_rope_plain.
 * Hyperparameters come from "<name>.*" keys (embedding_length, block_count, feed_forward_length,
 * attention.head_count(_kv), attention.key_length / value_length (head size, default dim / heads),
 * rope.dimension_count, rope.freq_base, rope.scaling.*, context_length, pooling_type). */
static const gf_arch k_archs[] = {
    /*              norm         rope              ffn            post qkv pos typ enrm causal enc gate_up qk nope scales escale sandwich swa attn_cap final_cap rope_swa no_pre keyed plain */
    {"llama",   GF_NORM_RMS,   GF_ROPE_ADJACENT, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    /* llama with per-layer head and FFN counts (llama.cpp's name for it: Nemotron's NAS-pruned llamas; greenformer prune writes it) */
    {"deci",    GF_NORM_RMS,   GF_ROPE_ADJACENT, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"qwen2",   GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"qwen3",   GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"phi3",    GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"smollm3", GF_NORM_RMS,   GF_ROPE_ADJACENT, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"granite", GF_NORM_RMS,   GF_ROPE_ADJACENT, GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"starcoder2", GF_NORM_LAYER, GF_ROPE_NEOX,  GF_FFN_GELU,   0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"stablelm", GF_NORM_LAYER, GF_ROPE_NEOX,    GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"gpt2",    GF_NORM_LAYER, GF_ROPE_NONE,     GF_FFN_GELU,   0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"bert",    GF_NORM_LAYER, GF_ROPE_NONE,     GF_FFN_GELU,   1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"gemma2",  GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_GEGLU,  0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 2, 50.0f, 30.0f, 0, 0, 0, 0},
    /* gemma3's linear RoPE scaling (4B and up: factor 8) is its global layers' only, as llama.cpp runs it */
    {"gemma3",  GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_GEGLU,  0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 6, 0, 0, 10000.0f, 0, 0, 1},
    /* olmo2 is also OLMo 3's name in llama.cpp: with attention.sliding_window, three windowed layers in four (global
     * every fourth), and YaRN (rope.scaling.type yarn) on the global layers only */
    {"olmo2",   GF_NORM_RMS,   GF_ROPE_NEOX,     GF_FFN_SWIGLU, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 4, 0, 0, 0, 1, 1, 1},
};
#define N_ARCHS (sizeof k_archs / sizeof k_archs[0])

const char *const gf_tensor_names[GF_T_COUNT] = {
    [GF_T_ATTN_Q] = "attn_q", [GF_T_ATTN_K] = "attn_k", [GF_T_ATTN_V] = "attn_v", [GF_T_ATTN_QKV] = "attn_qkv",
    [GF_T_ATTN_OUT] = "attn_output", [GF_T_FFN_GATE] = "ffn_gate", [GF_T_FFN_UP] = "ffn_up", [GF_T_FFN_DOWN] = "ffn_down",
    [GF_T_ATTN_NORM] = "attn_norm", [GF_T_FFN_NORM] = "ffn_norm", [GF_T_ATTN_OUT_NORM] = "attn_output_norm",
    [GF_T_LAYER_OUT_NORM] = "layer_output_norm", [GF_T_ATTN_Q_NORM] = "attn_q_norm", [GF_T_ATTN_K_NORM] = "attn_k_norm",
    [GF_T_ATTN_POST_NORM] = "post_attention_norm", [GF_T_FFN_POST_NORM] = "post_ffw_norm",
};

const gf_arch *gf_arch_find(const char *name, size_t len) {
    for (size_t i = 0; i < N_ARCHS; i++)
        if (strlen(k_archs[i].name) == len && !memcmp(k_archs[i].name, name, len)) return &k_archs[i];
    return NULL;
}

const char *gf_arch_supported(void) {
    static char list[256];
    if (!list[0]) {
        size_t n = 0;
        for (size_t i = 0; i < N_ARCHS && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", k_archs[i].name);
    }
    return list;
}

int gf_arch_describe_json(const gf_arch *a, char *buf, size_t cap) {
    static const char *norms[] = {"rms", "layer"}, *ropes[] = {"none", "adjacent", "neox"}, *ffns[] = {"swiglu", "gelu", "geglu"},
                      *qk_scopes[] = {"null", "\"head\"", "\"whole\""};
    return snprintf(buf, cap,
                    "\"norm\":\"%s\",\"normPlace\":\"%s\",\"rope\":\"%s\",\"ffn\":\"%s\",\"fusedGateUp\":%s,"
                    "\"qkNorm\":%s,\"qkNormScope\":%s,\"learnedPositions\":%s,\"tokenTypes\":%s,\"embeddingNorm\":%s,\"noRopeEvery\":%d,"
                    "\"sandwichNorm\":%s,\"slidingWindowPattern\":%d",
                    norms[a->norm], a->post_norm ? "post" : a->no_pre_norm ? "output" : "pre", ropes[a->rope], ffns[a->ffn],
                    a->fused_gate_up ? "true" : "false", a->qk_norm ? "true" : "false", qk_scopes[a->qk_norm], a->learned_pos ? "true" : "false",
                    a->token_types ? "true" : "false", a->embd_norm ? "true" : "false", a->nope_every,
                    a->sandwich_norm ? "true" : "false", a->swa_pattern);
}
