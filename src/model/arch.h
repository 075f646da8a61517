/* Architectures as data: the few ways transformer models differ, read by
 * one forward pass (forward.c) and one weight planner (model.c). Adding an
 * architecture is a table entry plus tests, not another forward pass.
 *
 * A row names the block's choices (norm kind and place, RoPE kind and the
 * layers without it, FFN kind, fused matrices, per-head q/k norms, sandwich
 * norms, the sliding-window pattern, soft-caps); the values that vary per
 * layer (RoPE on or off, its base and scaling, fused QKV, the attention window and
 * soft-cap) are resolved into each gf_layer when the model is planned, so
 * forward() reads them, not rules. */
#ifndef GF_ARCH_H
#define GF_ARCH_H

#include <stddef.h>

typedef enum { GF_NORM_RMS, GF_NORM_LAYER } gf_norm_kind;
typedef enum { GF_ROPE_NONE, GF_ROPE_ADJACENT, GF_ROPE_NEOX } gf_rope_kind;
typedef enum { GF_FFN_SWIGLU, GF_FFN_GELU, GF_FFN_GEGLU } gf_ffn_kind;
/* q/k norms (the qk_norm column): none, RMSNorm of each head (rows of head_dim), or of the whole projection */
enum { GF_QK_NORM_NONE, GF_QK_NORM_HEAD, GF_QK_NORM_WHOLE };

typedef struct {
    const char *name;      /* general.architecture */
    gf_norm_kind norm;     /* RMSNorm (eps: attention.layer_norm_rms_epsilon) or LayerNorm (attention.layer_norm_epsilon) */
    gf_rope_kind rope;     /* adjacent pairs (x[2i], x[2i+1]: llama.cpp's NORM) or halves (NEOX) */
    gf_ffn_kind ffn;       /* SwiGLU (gate, up, down), GELU (up, down) or GeGLU (GELU(gate) * up, down) */
    unsigned post_norm : 1;   /* norm after each residual add (BERT), not before each block */
    unsigned fused_qkv : 1;   /* attn_qkv required (GPT-2); others take attn_qkv in place of attn_q/k/v when present (phi3) */
    unsigned learned_pos : 1; /* position_embd rows added to the token embedding */
    unsigned token_types : 1; /* token_types (segment) embedding, row 0, added too */
    unsigned embd_norm : 1;   /* LayerNorm of the summed embeddings (token_embd_norm) */
    unsigned causal : 1;      /* default; "<arch>.attention.causal" overrides */
    unsigned encoder : 1;     /* outputs hidden states (embeddings), has no language-model head */
    unsigned fused_gate_up : 1; /* SwiGLU's gate and up in one ffn_up of 2 x ffn rows, gate first (phi3) */
    unsigned qk_norm : 2;     /* attn_q_norm / attn_k_norm before RoPE: GF_QK_NORM_HEAD, RMSNorm of each head (rows of
                                 head_dim: qwen3, gemma3), or GF_QK_NORM_WHOLE, of the whole Q / K row (olmo2) */
    unsigned char nope_every; /* layers il with (il + 1) % n == 0 have no RoPE (smollm3: 4, fixed, no GGUF key); 0: none */
    unsigned scales : 1;      /* granite's multipliers: embedding_scale, residual_scale, attention.scale, logit_scale */
    unsigned embd_scale : 1;    /* the token embedding scaled by sqrt(dim) (gemma; resolved into hparams.embd_scale) */
    unsigned sandwich_norm : 1; /* post_attention_norm and post_ffw_norm on each block's output, before the residual add (gemma) */
    unsigned char swa_pattern;  /* with "<arch>.attention.sliding_window": layer il attends to a window when
                                   il % swa_pattern < swa_pattern - 1 (2: even layers; 6: five local, one global); 0: none */
    float attn_softcap;         /* default "<arch>.attn_logit_softcapping": scores become cap * tanh(s / cap); 0 none */
    float final_softcap;        /* default "<arch>.final_logit_softcapping", the same on the logits */
    float rope_base_swa;        /* RoPE base of the windowed layers ("rope.freq_base_swa" overrides); 0: rope.freq_base */
    unsigned no_pre_norm : 1;   /* with sandwich_norm: blocks read the residual stream itself, no attn_norm / ffn_norm;
                                   the norms are only on each block's output (olmo2) */
    unsigned swa_keyed : 1;     /* with swa_pattern: the window is the file's choice, as llama.cpp's olmo2 reads it (OLMo 3
                                   files have one, OLMo 2 files none): attention.sliding_window may be absent (no window),
                                   and attention.sliding_window_pattern (a period, or one bool per layer) overrides
                                   swa_pattern; the windowed layers' RoPE base is rope.freq_base (freq_base_swa unread) */
    unsigned swa_rope_plain : 1; /* the windowed layers' RoPE is unscaled (no linear / YaRN scaling, magnitude 1, no
                                    frequency factors): gemma3 and OLMo 3 scale only their global layers */
} gf_arch;

/* A layer's tensors by role. Their GGUF names are "blk.N.<name>.weight" (and ".bias"), from one table read by
 * binding (model.c), the matrix names of messages and calibration (gf_model_matrix_name) and the quantize rules. */
typedef enum {
    GF_T_ATTN_Q, GF_T_ATTN_K, GF_T_ATTN_V, GF_T_ATTN_QKV, GF_T_ATTN_OUT, GF_T_FFN_GATE, GF_T_FFN_UP, GF_T_FFN_DOWN,
    GF_T_N_MATRICES, /* the roles above are matrices, those below vectors */
    GF_T_ATTN_NORM = GF_T_N_MATRICES, GF_T_FFN_NORM, GF_T_ATTN_OUT_NORM, GF_T_LAYER_OUT_NORM, GF_T_ATTN_Q_NORM, GF_T_ATTN_K_NORM,
    GF_T_ATTN_POST_NORM, GF_T_FFN_POST_NORM, /* sandwich norms (gemma) */
    GF_T_COUNT
} gf_tensor_role;
extern const char *const gf_tensor_names[GF_T_COUNT]; /* "attn_q", ..., "post_ffw_norm" */

const gf_arch *gf_arch_find(const char *name, size_t len); /* NULL when unsupported */
const char *gf_arch_supported(void);                        /* "llama, qwen2, ..." for error messages, from the table */
/* The row's block choices as a JSON object's members ("norm":"rms",...), for info(); the file's own choices
 * (fused QKV where optional, RoPE factors) are added by gf_model_info_json. */
int gf_arch_describe_json(const gf_arch *a, char *buf, size_t cap);

#endif
