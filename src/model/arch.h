/* Architectures as data: the few ways transformer models differ, read by
 * one forward pass (forward.c) and one weight planner (model.c). Adding an
 * architecture is a table entry plus tests, not another forward pass. */
#ifndef GF_ARCH_H
#define GF_ARCH_H

#include <stddef.h>

typedef enum { GF_NORM_RMS, GF_NORM_LAYER } gf_norm_kind;
typedef enum { GF_ROPE_NONE, GF_ROPE_ADJACENT, GF_ROPE_NEOX } gf_rope_kind;
typedef enum { GF_FFN_SWIGLU, GF_FFN_GELU, GF_FFN_GEGLU } gf_ffn_kind;

typedef struct {
    const char *name;      /* general.architecture */
    gf_norm_kind norm;     /* RMSNorm (eps: attention.layer_norm_rms_epsilon) or LayerNorm (attention.layer_norm_epsilon) */
    gf_rope_kind rope;     /* adjacent pairs (x[2i], x[2i+1]: llama.cpp's NORM) or halves (NEOX) */
    gf_ffn_kind ffn;       /* SwiGLU (gate, up, down), GELU (up, down) or GeGLU (GELU(gate) * up, down) */
    unsigned post_norm : 1;   /* norm after each residual add (BERT), not before each block */
    unsigned fused_qkv : 1;   /* one attn_qkv matrix (GPT-2) */
    unsigned learned_pos : 1; /* position_embd rows added to the token embedding */
    unsigned token_types : 1; /* token_types (segment) embedding, row 0, added too */
    unsigned embd_norm : 1;   /* LayerNorm of the summed embeddings (token_embd_norm) */
    unsigned causal : 1;      /* default; "<arch>.attention.causal" overrides */
    unsigned encoder : 1;     /* outputs hidden states (embeddings), has no language-model head */
    /* Gemma: */
    unsigned embd_scale : 1;    /* token embedding scaled by sqrt(dim) */
    unsigned sandwich_norm : 1; /* post_attention_norm and post_ffw_norm on each block's output, before the residual add */
    unsigned qk_norm : 1;       /* RMSNorm of each query and key head (attn_q_norm, attn_k_norm) before RoPE */
    unsigned swa_pattern : 4;   /* with "<arch>.attention.sliding_window": layer il attends to a window when
                                   il % swa_pattern < swa_pattern - 1 (2: even layers; 6: five local, one global) */
    float attn_softcap;         /* default "<arch>.attn_logit_softcapping": scores become cap * tanh(s / cap); 0 none */
    float final_softcap;        /* default "<arch>.final_logit_softcapping", the same on the logits */
    float rope_base_swa;        /* RoPE base of the windowed layers ("rope.freq_base_swa" overrides); 0: rope.freq_base */
} gf_arch;

const gf_arch *gf_arch_find(const char *name, size_t len); /* NULL when unsupported */
const char *gf_arch_supported(void);                        /* "llama, qwen2, ..." for error messages */

#endif
