/* Model planning: hyperparameters from metadata, every tensor checked
 * against the architecture (name, shape, type) and placed in one arena,
 * all before a single weight byte has arrived. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/quantize.h"
#include "model/quantize_rules.h"

#define ARENA_ALIGN 64

typedef struct {
    int64_t idx;      /* GGUF tensor index */
    gf_matrix *mat;   /* a matrix slot, or */
    const float **vec;/* an F32 vector slot */
    uint32_t part;    /* the arena part, */
    uint64_t offset;  /* the offset in it */
    uint64_t size;    /* and the bytes it takes there (padded to ARENA_ALIGN) */
    uint32_t type;    /* as stored: the file's, or the type it is quantized to while loading */
} binding;

typedef struct {
    const gguf_reader *r;
    gf_model *m;
    binding *b;
    int64_t n;
    uint8_t *claimed;
    uint64_t bytes;      /* the whole arena (64 bits: wasm32's size_t wraps at 4 GiB) */
    uint32_t part;       /* the part being filled */
    uint64_t part_bytes; /* and its size so far */
    int quantize;          /* quantize F32/F16 matrices while loading */
    int converts;          /* some tensor is stored in another type than the file's */
    gf_quant_rules rules;
} planner;

static const char *arch_key(const gf_model *m, const char *suffix, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.%s", m->arch->name, suffix);
    return buf;
}

static int get_u32(const gguf_reader *r, const gf_model *m, const char *suffix, int required, int32_t *out) {
    char key[160];
    uint32_t v;
    int s = gguf_get_u32(r, arch_key(m, suffix, key, sizeof key), &v);
    if (s < 0) return s;
    if (s == 0) return required ? gf_fail("GGUF: missing metadata '%s'", key) : 0;
    if (v > (1u << 30)) return gf_fail("GGUF: metadata '%s' = %u is out of range", key, v);
    *out = (int32_t)v;
    return 1;
}

static int get_f32(const gguf_reader *r, const gf_model *m, const char *suffix, float *out) {
    char key[160];
    return gguf_get_f32(r, arch_key(m, suffix, key, sizeof key), out);
}

/* rope.scaling.*, as llama.cpp reads them: the type (linear when absent), the factor (any type but none), the
 * magnitude factor and the original context; for YaRN its ramp and extrapolation share (llama.cpp reads these
 * rope.scaling.yarn_* keys only for a few architectures, none of greenformer's, whose converters do not write them;
 * a file that has them gets them), and the magnitude llama.cpp's context derives. */
static int read_rope_scaling(const gguf_reader *r, gf_model *m) {
    gf_hparams *hp = &m->hp;
    char key[160];
    const char *type;
    uint32_t type_len;
    int s, has_type;
    if ((has_type = gguf_get_str(r, arch_key(m, "rope.scaling.type", key, sizeof key), &type, &type_len)) < 0) return has_type;
    static const char *const names[] = {"none", "linear", "yarn", "longrope"};
    hp->rope_scaling = GF_ROPE_SCALING_LINEAR;
    if (has_type) {
        hp->rope_scaling = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(names[k]) == type_len && !memcmp(names[k], type, type_len)) hp->rope_scaling = k;
        if (hp->rope_scaling < 0)
            return gf_fail("GGUF: rope scaling '%.*s' is not supported (supported: none, linear, yarn, longrope)", (int)type_len, type);
    }
    float factor = 0.0f; /* 0 or absent: 1, as llama.cpp */
    if ((s = get_f32(r, m, "rope.scaling.factor", &factor)) < 0) return s;
    if (!(factor >= 0 && factor < 1e6)) return gf_fail("GGUF: rope.scaling.factor %g is out of range", factor);
    if (!has_type && factor == 0.0f) hp->rope_scaling = GF_ROPE_SCALING_NONE; /* nothing to scale: say so */
    hp->rope_freq_scale = hp->rope_scaling == GF_ROPE_SCALING_NONE || factor == 0.0f ? 1.0f : 1.0f / factor;
    hp->rope_attn_factor = 1.0f;
    if ((s = get_f32(r, m, "rope.scaling.attn_factor", &hp->rope_attn_factor)) < 0) return s;
    if (!(hp->rope_attn_factor > 0 && hp->rope_attn_factor < 100)) return gf_fail("GGUF: rope.scaling.attn_factor %g is out of range", hp->rope_attn_factor);
    hp->n_ctx_orig = hp->n_ctx_train;
    if ((s = get_u32(r, m, "rope.scaling.original_context_length", 0, &hp->n_ctx_orig)) < 0) return s;
    if (hp->n_ctx_orig <= 0) return gf_fail("GGUF: %s.rope.scaling.original_context_length must be positive", m->arch->name);
    const int yarn = hp->rope_scaling == GF_ROPE_SCALING_YARN;
    float yarn_attn = 1.0f;
    hp->yarn_ext_factor = yarn ? 1.0f : 0.0f;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    if (yarn) {
        const char *keys[] = {"rope.scaling.yarn_ext_factor", "rope.scaling.yarn_beta_fast", "rope.scaling.yarn_beta_slow", "rope.scaling.yarn_attn_factor"};
        float *vals[] = {&hp->yarn_ext_factor, &hp->yarn_beta_fast, &hp->yarn_beta_slow, &yarn_attn};
        for (int k = 0; k < 4; k++) {
            if ((s = get_f32(r, m, keys[k], vals[k])) < 0) return s;
            const float v = *vals[k];
            if (!(k == 0 ? v >= 0 && v <= 1 : v > 0 && v < 1e6)) return gf_fail("GGUF: %s.%s %g is out of range", m->arch->name, keys[k], v);
        }
    }
    /* llama.cpp's context: with YaRN extrapolating (ext_factor != 0) its own mscale, 1 + 0.1 ln(factor) for factors
     * above 1, divided by the 1 + 0.1 ln(factor) its kernel multiplies in; then times attn_factor. (Its
     * rope.scaling.yarn_log_multiplier variant is DeepSeek's attention's, which greenformer does not run.) */
    if (hp->yarn_ext_factor != 0.0f) {
        const float f = 1.0f / hp->rope_freq_scale;
        yarn_attn = f <= 1.0f ? 1.0f : 0.1f * logf(f) + 1.0f;
        yarn_attn *= 1.0f / (1.0f + 0.1f * logf(f));
    }
    hp->yarn_attn = yarn_attn * hp->rope_attn_factor;
    return GF_OK;
}

static int read_rope(const gguf_reader *r, gf_model *m) {
    gf_hparams *hp = &m->hp;
    int s;
    hp->rope_dim = hp->head_dim;
    if ((s = get_u32(r, m, "rope.dimension_count", 0, &hp->rope_dim)) < 0) return s;
    if (hp->rope_dim > hp->head_dim || hp->rope_dim % 2)
        return gf_fail("GGUF: rope.dimension_count %d must be even and at most the head size %d", hp->rope_dim, hp->head_dim);
    hp->rope_base = 10000.0f;
    if ((s = get_f32(r, m, "rope.freq_base", &hp->rope_base)) < 0) return s;
    if (!(hp->rope_base > 0)) return gf_fail("GGUF: rope.freq_base %g must be positive", hp->rope_base);
    return read_rope_scaling(r, m);
}

/* Which layers attend through the window (m->swa_layers): layer il when il % period < period - 1, the period being
 * the row's swa_pattern or, where the row takes it from the file (swa_keyed), attention.sliding_window_pattern's
 * value; the key may instead hold one bool per layer (OLMo 3's converter writes its layer_types so), and then says
 * each layer's. (llama.cpp reads only the period, 4 without one, and passes over the array: for the published
 * OLMo 3 files, three windowed layers in four, the two agree.) */
static int read_swa_layers(const gguf_reader *r, gf_model *m) {
    const gf_arch *a = m->arch;
    const int32_t n = m->hp.n_layer;
    char key[160];
    free(m->swa_layers);
    if (!(m->swa_layers = calloc((size_t)n, 1))) return gf_fail_nomem("the sliding-window layers", (size_t)n);
    int32_t period = a->swa_pattern;
    arch_key(m, "attention.sliding_window_pattern", key, sizeof key);
    const int64_t k = a->swa_keyed ? gguf_find_key(r, key) : -1;
    const gguf_kv *kv = k >= 0 ? gguf_kv_at(r, (uint64_t)k) : NULL;
    if (kv && kv->type == GGUF_VT_ARRAY) {
        if (kv->arr_type != GGUF_VT_BOOL || kv->arr_n != (uint64_t)n)
            return gf_fail("GGUF: metadata '%s' is an array of %llu %s; a per-layer pattern is one bool per layer (block_count %d)", key,
                           (unsigned long long)kv->arr_n, gguf_vtype_name(kv->arr_type), n);
        const uint8_t *v = gguf_arr_data(r, kv);
        for (int32_t i = 0; i < n; i++) m->swa_layers[i] = v[i] != 0;
        return GF_OK;
    }
    int s;
    if (kv && (s = get_u32(r, m, "attention.sliding_window_pattern", 1, &period)) < 0) return s;
    if (period <= 0) return gf_fail("GGUF: metadata '%s' = %d must be positive", key, period);
    for (int32_t i = 0; i < n; i++) m->swa_layers[i] = i % period < period - 1;
    return GF_OK;
}

/* The sliding window, its RoPE base and the soft-caps, as llama.cpp reads them (the layers' values: bind_layers). */
static int read_window_softcap(const gguf_reader *r, gf_model *m) {
    gf_hparams *hp = &m->hp;
    const gf_arch *a = m->arch;
    int s;
    hp->attn_softcap = a->attn_softcap;
    hp->final_softcap = a->final_softcap;
    /* only architectures that soft-cap read the keys (llama.cpp ignores them elsewhere) */
    if (a->attn_softcap && (s = get_f32(r, m, "attn_logit_softcapping", &hp->attn_softcap)) < 0) return s;
    if (a->final_softcap && (s = get_f32(r, m, "final_logit_softcapping", &hp->final_softcap)) < 0) return s;
    if (hp->attn_softcap < 0 || hp->final_softcap < 0 || hp->attn_softcap != hp->attn_softcap || hp->final_softcap != hp->final_softcap)
        return gf_fail("GGUF: logit soft-capping %g / %g must not be negative", hp->attn_softcap, hp->final_softcap);
    hp->n_swa = 0;
    if (a->swa_pattern) {
        if ((s = get_u32(r, m, "attention.sliding_window", !a->swa_keyed, &hp->n_swa)) < 0) return s;
        if (s && hp->n_swa <= 0) {
            if (!a->swa_keyed) return gf_fail("GGUF: %s.attention.sliding_window must be positive", a->name);
            hp->n_swa = 0; /* llama.cpp's olmo2: a window of 0 is none */
        }
    }
    hp->rope_base_swa = a->rope_base_swa ? a->rope_base_swa : hp->rope_base;
    /* (llama.cpp's olmo2 graph ropes its windowed layers with rope.freq_base, whatever rope.freq_base_swa says) */
    const int swa_base = a->swa_pattern && !a->swa_keyed;
    if (swa_base && (s = get_f32(r, m, "rope.freq_base_swa", &hp->rope_base_swa)) < 0) return s;
    if (swa_base && !(hp->rope_base_swa > 0)) return gf_fail("GGUF: rope.freq_base_swa %g must be positive", hp->rope_base_swa);
    hp->rope_swa_plain = hp->n_swa && a->swa_rope_plain && hp->rope_scaling != GF_ROPE_SCALING_NONE;
    return hp->n_swa ? read_swa_layers(r, m) : GF_OK;
}

/* A value llama.cpp reads as "key or array" (feed_forward_length, attention.head_count(_kv)): one number for
 * every layer, or an array of block_count INT32 or UINT32 values, one per layer (llama.cpp's writers use both:
 * gguf-py INT32, its C++ model saver UINT32). out[i * stride] gets layer i's; 1 found, 0 absent. */
static int get_per_layer(const gguf_reader *r, const gf_model *m, const char *suffix, int required, int32_t *out, int stride) {
    char key[160];
    arch_key(m, suffix, key, sizeof key);
    int64_t k = gguf_find_key(r, key);
    const int32_t n_layer = m->hp.n_layer;
    if (k < 0) return required ? gf_fail("GGUF: missing metadata '%s'", key) : 0;
    const gguf_kv *kv = gguf_kv_at(r, (uint64_t)k);
    if (kv->type != GGUF_VT_ARRAY) {
        int32_t v;
        int s = get_u32(r, m, suffix, 1, &v);
        if (s < 0) return s;
        for (int32_t i = 0; i < n_layer; i++) out[(int64_t)i * stride] = v;
        return 1;
    }
    if (kv->arr_type != GGUF_VT_UINT32 && kv->arr_type != GGUF_VT_INT32)
        return gf_fail("GGUF: metadata '%s' is an array of %s; per-layer values are INT32 or UINT32, as llama.cpp reads them", key,
                       gguf_vtype_name(kv->arr_type));
    if (kv->arr_n != (uint64_t)n_layer)
        return gf_fail("GGUF: metadata '%s' has %llu values; it needs one per layer (block_count %d)", key, (unsigned long long)kv->arr_n, n_layer);
    for (int32_t i = 0; i < n_layer; i++) {
        int32_t raw = gguf_arr_i32(r, kv, (uint64_t)i);
        int64_t v = kv->arr_type == GGUF_VT_UINT32 ? (int64_t)(uint32_t)raw : (int64_t)raw;
        if (v < 0 || v > (1 << 30)) return gf_fail("GGUF: metadata '%s' = %lld for layer %d is out of range", key, (long long)v, i);
        out[(int64_t)i * stride] = (int32_t)v;
    }
    return 1;
}

/* Heads, KV heads and FFN size per layer into m->layer_sizes; hparams get the largest (scratch) and the KV heads' sum.
 * A layer without attention or FFN (llama.cpp's deci runs them: Nemotron's attention-free and FFN-free blocks)
 * is refused: greenformer prune never writes one, and no other file we know has them. */
static int read_layer_sizes(const gguf_reader *r, gf_model *m) {
    gf_hparams *hp = &m->hp;
    int s;
    free(m->layer_sizes);
    if (!(m->layer_sizes = calloc((size_t)hp->n_layer * 3, sizeof *m->layer_sizes))) return gf_fail_nomem("the layer table", (size_t)hp->n_layer * 12);
    int32_t *ls = m->layer_sizes;
    if ((s = get_per_layer(r, m, "feed_forward_length", 1, ls + 2, 3)) < 0) return s;
    if ((s = get_per_layer(r, m, "attention.head_count", 1, ls, 3)) < 0) return s;
    if ((s = get_per_layer(r, m, "attention.head_count_kv", 0, ls + 1, 3)) < 0) return s;
    if (s == 0)
        for (int32_t i = 0; i < hp->n_layer; i++) ls[3 * i + 1] = ls[3 * i];
    hp->n_head = hp->n_head_kv = hp->ffn_dim = 0;
    hp->n_kv_heads_total = 0;
    const char *a = m->arch->name;
    for (int32_t i = 0; i < hp->n_layer; i++) {
        int32_t heads = ls[3 * i], kv = ls[3 * i + 1], ffn = ls[3 * i + 2];
        if (!heads || !kv || !ffn)
            return gf_fail("GGUF: layer %d has %s.attention.head_count %d, head_count_kv %d, feed_forward_length %d; greenformer runs "
                           "no layer without attention heads, KV heads or FFN (llama.cpp's attention-free, linear-attention and "
                           "FFN-free deci blocks)", i, a, heads, kv, ffn);
        if (heads % kv)
            return gf_fail("GGUF: layer %d: %s.attention.head_count %d is not a multiple of head_count_kv %d", i, a, heads, kv);
        if (heads > hp->n_head) hp->n_head = heads;
        if (kv > hp->n_head_kv) hp->n_head_kv = kv;
        if (ffn > hp->ffn_dim) hp->ffn_dim = ffn;
        hp->n_kv_heads_total += kv;
    }
    return GF_OK;
}

static int read_hparams(const gguf_reader *r, gf_model *m) {
    gf_hparams *hp = &m->hp;
    int s;
    if ((s = get_u32(r, m, "embedding_length", 1, &hp->dim)) < 0) return s;
    if ((s = get_u32(r, m, "block_count", 1, &hp->n_layer)) < 0) return s;
    if (hp->n_layer > 4096) return gf_fail("GGUF: block_count %d is out of range", hp->n_layer);
    if (hp->dim <= 0 || hp->n_layer <= 0)
        return gf_fail("GGUF: %s model has a zero dimension (embedding %d, blocks %d)", m->arch->name, hp->dim, hp->n_layer);
    if ((s = read_layer_sizes(r, m)) < 0) return s;
    hp->n_ctx_train = 2048;
    if ((s = get_u32(r, m, "context_length", 0, &hp->n_ctx_train)) < 0) return s;
    /* the head size: attention.key_length (qwen3: 128 with dim / heads = 64), else dim / heads (layer 0's, as llama.cpp) */
    const int32_t heads0 = m->layer_sizes[0];
    hp->head_dim = hp->dim / heads0;
    int32_t v_len = -1;
    if ((s = get_u32(r, m, "attention.key_length", 0, &hp->head_dim)) < 0) return s;
    if (s == 0 && hp->dim % heads0)
        return gf_fail("GGUF: embedding_length %d is not a multiple of head_count %d (and attention.key_length is absent)", hp->dim, heads0);
    if ((s = get_u32(r, m, "attention.value_length", 0, &v_len)) < 0) return s;
    if (s && v_len != hp->head_dim)
        return gf_fail("GGUF: attention.value_length %d differs from key_length %d; greenformer needs them equal", v_len, hp->head_dim);
    if (hp->head_dim <= 0 || hp->head_dim > 1024) return gf_fail("GGUF: head size %d is out of range", hp->head_dim);
    if (m->arch->rope != GF_ROPE_NONE && (s = read_rope(r, m)) < 0) return s;
    if ((s = read_window_softcap(r, m)) < 0) return s;
    const int layer_norm = m->arch->norm == GF_NORM_LAYER;
    const char *eps_key = layer_norm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon";
    hp->norm_eps = 1e-5f;
    if ((s = get_f32(r, m, eps_key, &hp->norm_eps)) < 0) return s;
    if (!(hp->norm_eps > 0 && hp->norm_eps < 1)) return gf_fail("GGUF: %s %g is out of range", eps_key, hp->norm_eps);
    char key[160];
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    /* llama.cpp's exception for the 27B gemmas (query_pre_attn_scalar = dim / heads), told by their layer count */
    if ((!strcmp(m->arch->name, "gemma2") && hp->n_layer == 46) || (!strcmp(m->arch->name, "gemma3") && hp->n_layer == 62))
        hp->attn_scale = 1.0f / sqrtf((float)(hp->dim / heads0));
    hp->embd_scale = hp->residual_scale = hp->logit_scale = 1.0f;
    if (m->arch->embd_scale) hp->embd_scale = sqrtf((float)hp->dim); /* gemma: in f32, as llama.cpp */
    if (m->arch->scales) {
        const char *keys[] = {"embedding_scale", "residual_scale", "attention.scale", "logit_scale"};
        float *vals[] = {&hp->embd_scale, &hp->residual_scale, &hp->attn_scale, &hp->logit_scale};
        for (int k = 0; k < 4; k++) {
            if ((s = get_f32(r, m, keys[k], vals[k])) < 0) return s;
            if (!(*vals[k] > 0 && *vals[k] < 1e6)) return gf_fail("GGUF: %s.%s %g is out of range", m->arch->name, keys[k], *vals[k]);
        }
    }
    hp->causal = m->arch->causal;
    if ((s = gguf_get_bool(r, arch_key(m, "attention.causal", key, sizeof key), &hp->causal)) < 0) return s;
    hp->pooling = m->arch->encoder ? GF_POOL_MEAN : GF_POOL_NONE;
    int32_t pooling;
    if ((s = get_u32(r, m, "pooling_type", 0, &pooling)) < 0) return s;
    if (s) {
        if (pooling > GF_POOL_LAST) return gf_fail("GGUF: %s.pooling_type %d is not supported (0 none, 1 mean, 2 cls, 3 last)", m->arch->name, pooling);
        hp->pooling = pooling;
    }
    return GF_OK;
}

/* Claims tensor `name` for a slot after checking its shape and type. */
static int bind(planner *p, const char *name, int64_t ne0, int64_t ne1, int required, gf_matrix *mat, const float **vec) {
    int64_t idx = gguf_find_tensor(p->r, name);
    if (idx < 0) return required ? gf_fail("GGUF: missing tensor '%s' (required by %s)", name, p->m->arch->name) : 0;
    const gguf_tensor_info *t = gguf_tensor_at(p->r, idx);
    int64_t got1 = t->n_dims >= 2 ? (int64_t)t->ne[1] : 0;
    int extra_dims = t->n_dims > 2 && (t->ne[2] != 1 || t->ne[3] != 1);
    if ((int64_t)t->ne[0] != ne0 || got1 != ne1 || extra_dims) {
        if (ne1) return gf_fail("GGUF: tensor '%s' has shape [%llu, %llu], expected [%lld, %lld]", name,
                                (unsigned long long)t->ne[0], (unsigned long long)(t->n_dims >= 2 ? t->ne[1] : 1), (long long)ne0, (long long)ne1);
        return gf_fail("GGUF: tensor '%s' has %u dimensions starting [%llu], expected a vector of %lld", name, t->n_dims,
                       (unsigned long long)t->ne[0], (long long)ne0);
    }
    if (vec && t->type != GF_TYPE_F32)
        return gf_fail("GGUF: tensor '%s' has type %s; greenformer expects F32 for vectors (norms, biases)", name, gf_type_name(t->type));
    if (mat && !gf_type_computable(t->type))
        return gf_fail("GGUF: tensor '%s' has unsupported type %s (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, "
                       "Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)", name, gf_type_name(t->type));
    binding *b = &p->b[p->n++];
    b->idx = idx;
    b->mat = mat;
    b->vec = vec;
    b->type = t->type;
    if (mat && p->quantize && (t->type == GF_TYPE_F32 || t->type == GF_TYPE_F16)) {
        uint32_t q = gf_quant_rules_type(&p->rules, t, GF_TYPE_RULE);
        if (gf_quantize_supported(q)) b->type = q;
    }
    if (b->type != t->type) p->converts = 1;
    uint64_t nbytes = t->nbytes;
    if (b->type != t->type) nbytes = t->nbytes / gf_row_bytes(t->type, t->ne[0]) * gf_row_bytes(b->type, t->ne[0]);
    uint64_t padded = (nbytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (padded > SIZE_MAX / 2)
        return gf_fail("GGUF: tensor '%s' needs %.1f MB, more than one block of memory can hold here (%.0f MB)", name,
                       padded / 1048576.0, (double)(SIZE_MAX / 2) / 1048576.0);
    if (p->part_bytes && p->part_bytes + padded > GF_ARENA_PART) {
        p->part++;
        p->part_bytes = 0;
    }
    b->part = p->part;
    b->offset = p->part_bytes;
    b->size = padded;
    p->part_bytes += padded;
    p->bytes += padded;
    p->claimed[idx] = 1;
    if (mat) {
        mat->type = b->type;
        mat->n = (int)t->ne[0];
        mat->row_bytes = gf_row_bytes(b->type, t->ne[0]);
    }
    p->m->type_count[b->type]++;
    p->m->weight_bytes += nbytes;
    p->m->weight_elements += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    return 1;
}

static int bind_norm(planner *p, const char *name, int64_t n, int required, gf_norm *norm) {
    char w[GGUF_TENSOR_NAME_MAX], b[GGUF_TENSOR_NAME_MAX];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    int s = bind(p, w, n, 0, required, NULL, &norm->w);
    if (s <= 0) return s;
    /* LayerNorm usually has a bias; RMSNorm none */
    return bind(p, b, n, 0, p->m->arch->norm == GF_NORM_LAYER, NULL, &norm->b);
}

static int bind_layers(planner *p) {
    gf_model *m = p->m;
    const gf_arch *a = m->arch;
    const gf_hparams *hp = &m->hp;
    char name[GGUF_TENSOR_NAME_MAX];
    int64_t kv_head0 = 0;
    int s;
#define BIND(role, ext, ne0, ne1, req, mat, vec)                                       \
    do {                                                                                \
        snprintf(name, sizeof name, "blk.%d.%s.%s", i, gf_tensor_names[role], ext);     \
        if ((s = bind(p, name, ne0, ne1, req, mat, vec)) < 0) return s;                 \
    } while (0)
#define NORM(role, n, norm)                                                             \
    do {                                                                                \
        snprintf(name, sizeof name, "blk.%d.%s", i, gf_tensor_names[role]);             \
        if ((s = bind_norm(p, name, n, 1, norm)) < 0) return s;                         \
    } while (0)
    for (int i = 0; i < hp->n_layer; i++) {
        gf_layer *l = &m->layers[i];
        l->n_head = m->layer_sizes[3 * i];
        l->n_head_kv = m->layer_sizes[3 * i + 1];
        l->ffn_dim = m->layer_sizes[3 * i + 2];
        l->kv_head0 = kv_head0;
        kv_head0 += l->n_head_kv;
        const int64_t q_dim = (int64_t)l->n_head * hp->head_dim, kv_dim = (int64_t)l->n_head_kv * hp->head_dim, ffn_dim = l->ffn_dim;
        if (a->post_norm) {
            NORM(GF_T_ATTN_OUT_NORM, hp->dim, &l->attn_out_norm);
            NORM(GF_T_LAYER_OUT_NORM, hp->dim, &l->ffn_out_norm);
        } else if (!a->no_pre_norm) {
            NORM(GF_T_ATTN_NORM, hp->dim, &l->attn_norm);
            NORM(GF_T_FFN_NORM, hp->dim, &l->ffn_norm);
        }
        if (a->sandwich_norm) {
            NORM(GF_T_ATTN_POST_NORM, hp->dim, &l->attn_post_norm);
            NORM(GF_T_FFN_POST_NORM, hp->dim, &l->ffn_post_norm);
        }
        /* the layer's values: RoPE (NoPE layers), its base and the attention window (sliding-window layers), soft-cap */
        l->rope = a->rope != GF_ROPE_NONE && !(a->nope_every && (i + 1) % a->nope_every == 0);
        const int windowed = hp->n_swa > 0 && m->swa_layers[i];
        l->n_swa = windowed ? hp->n_swa : 0;
        l->rope_scaled = l->rope && hp->rope_scaling != GF_ROPE_SCALING_NONE && !(windowed && hp->rope_swa_plain);
        l->rope_base = !l->rope ? 0.0f : windowed ? hp->rope_base_swa : hp->rope_base;
        l->attn_softcap = hp->attn_softcap;
        snprintf(name, sizeof name, "blk.%d.%s.weight", i, gf_tensor_names[GF_T_ATTN_QKV]);
        l->fused_qkv = a->fused_qkv || gguf_find_tensor(p->r, name) >= 0;
        if (l->fused_qkv) {
            BIND(GF_T_ATTN_QKV, "weight", hp->dim, q_dim + 2 * kv_dim, 1, &l->wqkv, NULL);
            BIND(GF_T_ATTN_QKV, "bias", q_dim + 2 * kv_dim, 0, 0, NULL, &l->bqkv);
        } else {
            BIND(GF_T_ATTN_Q, "weight", hp->dim, q_dim, 1, &l->wq, NULL);
            BIND(GF_T_ATTN_K, "weight", hp->dim, kv_dim, 1, &l->wk, NULL);
            BIND(GF_T_ATTN_V, "weight", hp->dim, kv_dim, 1, &l->wv, NULL);
            BIND(GF_T_ATTN_Q, "bias", q_dim, 0, 0, NULL, &l->bq);
            BIND(GF_T_ATTN_K, "bias", kv_dim, 0, 0, NULL, &l->bk);
            BIND(GF_T_ATTN_V, "bias", kv_dim, 0, 0, NULL, &l->bv);
        }
        if (a->qk_norm) {
            const int whole = a->qk_norm == GF_QK_NORM_WHOLE;
            NORM(GF_T_ATTN_Q_NORM, whole ? q_dim : hp->head_dim, &l->q_norm);
            NORM(GF_T_ATTN_K_NORM, whole ? kv_dim : hp->head_dim, &l->k_norm);
        }
        BIND(GF_T_ATTN_OUT, "weight", q_dim, hp->dim, 1, &l->wo, NULL);
        BIND(GF_T_ATTN_OUT, "bias", hp->dim, 0, 0, NULL, &l->bo);
        if (a->ffn != GF_FFN_GELU && !a->fused_gate_up) BIND(GF_T_FFN_GATE, "weight", hp->dim, ffn_dim, 1, &l->w_gate, NULL);
        BIND(GF_T_FFN_UP, "weight", hp->dim, (a->fused_gate_up ? 2 : 1) * ffn_dim, 1, &l->w_up, NULL);
        BIND(GF_T_FFN_UP, "bias", ffn_dim, 0, 0, NULL, &l->b_up);
        BIND(GF_T_FFN_DOWN, "weight", ffn_dim, hp->dim, 1, &l->w_down, NULL);
        BIND(GF_T_FFN_DOWN, "bias", hp->dim, 0, 0, NULL, &l->b_down);
    }
#undef BIND
#undef NORM
    return GF_OK;
}

static int plan_weights(const gguf_reader *r, gf_model *m, planner *p) {
    const gf_hparams *hp = &m->hp;
    int s;
    uint64_t nt = gguf_n_tensors(r);
    p->r = r;
    p->m = m;
    p->b = calloc(nt ? nt : 1, sizeof *p->b);
    p->claimed = calloc(nt ? nt : 1, 1);
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!p->b || !p->claimed || !m->layers) return gf_fail_nomem("the model tables", nt * sizeof *p->b);

    const gf_arch *a = m->arch;
    if ((s = bind(p, "token_embd.weight", hp->dim, hp->n_vocab, 1, &m->tok_embd, NULL)) < 0) return s;
    if (a->learned_pos && (s = bind(p, "position_embd.weight", hp->dim, hp->n_ctx_train, 1, &m->pos_embd, NULL)) < 0) return s;
    if (a->token_types) {
        int64_t idx = gguf_find_tensor(r, "token_types.weight");
        int64_t n_types = idx >= 0 && gguf_tensor_at(r, idx)->n_dims >= 2 ? (int64_t)gguf_tensor_at(r, idx)->ne[1] : 1;
        if ((s = bind(p, "token_types.weight", hp->dim, n_types, 1, &m->tok_types, NULL)) < 0) return s;
    }
    if (a->embd_norm && (s = bind_norm(p, "token_embd_norm", hp->dim, 1, &m->embd_norm)) < 0) return s;
    if (!a->encoder) {
        if ((s = bind_norm(p, "output_norm", hp->dim, 1, &m->output_norm)) < 0) return s;
        if ((s = bind(p, "output.weight", hp->dim, hp->n_vocab, 0, &m->output, NULL)) < 0) return s;
        /* without output.weight the embedding table doubles as output (tied); alloc_arena links them */
        m->tied_output = s == 0;
    }
    if (a->rope != GF_ROPE_NONE) {
        if ((s = bind(p, "rope_freqs.weight", hp->rope_dim / 2, 0, 0, NULL, &m->rope_freqs)) < 0) return s;
        m->hp.rope_factors = s ? 1 : 0;
        if ((s = bind(p, "rope_factors_long.weight", hp->rope_dim / 2, 0, 0, NULL, &m->rope_long)) < 0) return s;
        if (s && !m->hp.rope_factors) m->hp.rope_factors = 2;
        if ((s = bind(p, "rope_factors_short.weight", hp->rope_dim / 2, 0, 0, NULL, &m->rope_short)) < 0) return s;
    }
    if ((s = bind_layers(p)) < 0) return s;

    for (uint64_t i = 0; i < nt; i++) {
        if (p->claimed[i]) continue;
        const gguf_tensor_info *t = gguf_tensor_at(r, i);
        /* precomputed rotary tables some converters wrote; llama.cpp ignores them too */
        if (strstr(t->name, ".attn_rot_embd")) continue;
        return gf_fail("GGUF: tensor '%s' is not part of the %s architecture as greenformer knows it", t->name, m->arch->name);
    }
    return GF_OK;
}

static int read_vocab_size(const gguf_reader *r, gf_model *m) {
    m->hp.n_vocab = gf_tokenizer_n_vocab(m->tokenizer);
    if (!m->arch) return GF_OK;
    int32_t declared;
    int s = get_u32(r, m, "vocab_size", 0, &declared);
    if (s < 0) return s;
    if (s && declared != m->hp.n_vocab)
        return gf_fail("GGUF: %s.vocab_size is %d but the tokenizer has %d tokens", m->arch->name, declared, m->hp.n_vocab);
    return GF_OK;
}

static int alloc_arena(gf_model *m, planner *p, const gguf_reader *r, gf_model_plan *plan) {
    m->arena_bytes = p->bytes;
    uint32_t n_parts = p->n ? p->part + 1 : 0;
    if (n_parts) {
        uint64_t *sizes = calloc(n_parts, sizeof *sizes);
        if (!sizes || !(m->arena = calloc(n_parts, sizeof *m->arena))) {
            free(sizes);
            return gf_fail_nomem("the arena table", n_parts * sizeof *m->arena);
        }
        for (int64_t i = 0; i < p->n; i++) {
            uint64_t end = p->b[i].offset + p->b[i].size;
            if (end > sizes[p->b[i].part]) sizes[p->b[i].part] = end;
        }
        m->n_arena = n_parts;
        for (uint32_t k = 0; k < n_parts; k++) {
            /* every binding is padded to ARENA_ALIGN, as aligned_alloc requires of the size */
            m->arena[k] = aligned_alloc(ARENA_ALIGN, (size_t)sizes[k]);
            if (!m->arena[k]) {
                uint64_t part = sizes[k];
                free(sizes);
                return gf_fail_nomem("the model weights", part);
            }
        }
        free(sizes);
    }
    plan->dest = calloc(gguf_n_tensors(r) ? gguf_n_tensors(r) : 1, sizeof *plan->dest);
    if (!plan->dest) return gf_fail_nomem("the load plan", gguf_n_tensors(r) * sizeof(void *));
    if (p->converts) {
        plan->type = calloc(gguf_n_tensors(r), sizeof *plan->type);
        if (!plan->type) return gf_fail_nomem("the load plan", gguf_n_tensors(r) * sizeof(uint32_t));
        for (uint64_t i = 0; i < gguf_n_tensors(r); i++) plan->type[i] = gguf_tensor_at(r, i)->type;
    }
    for (int64_t i = 0; i < p->n; i++) {
        void *at = (char *)m->arena[p->b[i].part] + p->b[i].offset;
        plan->dest[p->b[i].idx] = at;
        if (plan->type) plan->type[p->b[i].idx] = p->b[i].type;
        if (p->b[i].mat) p->b[i].mat->data = at;
        if (p->b[i].vec) *p->b[i].vec = at;
    }
    if (m->tied_output) m->output = m->tok_embd;
    return GF_OK;
}

static int check_budget(const gf_model *m, planner *p, gf_model_options *opt) {
    const gf_hparams *hp = &m->hp;
    if (opt->n_ctx <= 0) opt->n_ctx = hp->n_ctx_train < GF_DEFAULT_CTX ? hp->n_ctx_train : GF_DEFAULT_CTX;
    if (opt->n_ctx <= 0) opt->n_ctx = GF_DEFAULT_CTX;
    if (opt->n_batch <= 0) opt->n_batch = GF_DEFAULT_BATCH;
    opt->kv_type = gf_kv_type_resolve(hp, opt->kv_type);
    if (opt->mode == GF_LOAD_WEIGHTS && gf_kv_type_check(hp, opt->kv_type) < 0) return GF_ERR;
    uint64_t need = p->bytes + gf_context_bytes(hp, opt->n_ctx, opt->n_batch, opt->kv_type);
    /* what this build can address at all: 4 GiB in wasm32 (size_t is 32 bits), whatever max_memory says */
    const uint64_t address_space = sizeof(size_t) < 8 ? (uint64_t)SIZE_MAX + 1 : 0;
    if (address_space && need >= address_space)
        return gf_fail("model needs %.1f MB of wasm memory (weights %.1f MB + KV cache and scratch for %d tokens of context); "
                       "wasm32 can address at most %.0f MB, so it cannot load here (maxMemory %.1f MB)",
                       need / 1048576.0, p->bytes / 1048576.0, opt->n_ctx, address_space / 1048576.0, opt->max_memory / 1048576.0);
    if (opt->max_memory && need > opt->max_memory)
        return gf_fail("model needs %.1f MB of wasm memory (weights %.1f MB + KV cache and scratch for %d tokens of context), "
                       "more than the %.1f MB allowed (maxMemory%s)",
                       need / 1048576.0, p->bytes / 1048576.0, opt->n_ctx, opt->max_memory / 1048576.0,
                       address_space ? "; wasm32 can address at most 4096 MB, less the code, stack and tokenizer" : "");
    return GF_OK;
}

int gf_model_plan_from_gguf(const gguf_reader *r, gf_model_options *opt, gf_model **out, gf_model_plan *plan) {
    int mode = opt->mode;
    *out = NULL;
    plan->dest = NULL;
    plan->type = NULL;
    gf_model *m = calloc(1, sizeof *m);
    if (!m) return gf_fail_nomem("the model", sizeof *m);
    planner p = {0};
    int s;
    const char *arch;
    uint32_t arch_len;
    if ((s = gguf_get_str(r, "general.architecture", &arch, &arch_len)) <= 0) {
        if (s == 0) s = gf_fail("GGUF: missing metadata 'general.architecture'");
        goto fail;
    }
    m->mode = mode;
    m->arch = gf_arch_find(arch, arch_len);
    snprintf(m->arch_name, sizeof m->arch_name, "%.*s", (int)(arch_len < 63 ? arch_len : 63), arch);
    const char *name;
    uint32_t name_len;
    if (gguf_get_str(r, "general.name", &name, &name_len) == 1)
        snprintf(m->name, sizeof m->name, "%.*s", (int)(name_len < 127 ? name_len : 127), name);
    if (!m->arch && mode != GF_LOAD_VOCAB) {
        s = gf_fail("GGUF: architecture '%.*s' is not supported (supported: %s)", (int)(arch_len < 64 ? arch_len : 64), arch,
                    gf_arch_supported());
        goto fail;
    }
    if ((s = gf_tokenizer_load(r, &m->tokenizer)) < 0) goto fail;
    const char *tmpl;
    uint32_t tmpl_len;
    if ((s = gguf_get_str(r, "tokenizer.chat_template", &tmpl, &tmpl_len)) < 0) goto fail;
    if (s) {
        if (!(m->chat_template = malloc((size_t)tmpl_len + 1))) {
            s = gf_fail_nomem("the chat template", tmpl_len);
            goto fail;
        }
        memcpy(m->chat_template, tmpl, tmpl_len);
        m->chat_template[tmpl_len] = 0;
    }
    if ((s = read_vocab_size(r, m)) < 0) goto fail;
    if (m->arch && (s = read_hparams(r, m)) < 0 && mode != GF_LOAD_VOCAB) goto fail;
    if (mode == GF_LOAD_VOCAB) {
        gf_clear_error();
        *out = m;
        return GF_OK;
    }
    if (gguf_n_tensors(r) == 0) {
        s = gf_fail("GGUF: the file has no tensors (a vocabulary-only file?); load it with vocabOnly to tokenize");
        goto fail;
    }
    /* every type the registry calls computable has its kernel in this build */
    if ((s = gf_kernels_check()) < 0) goto fail;
    if (opt->quantize) {
        if (gf_ftype_base_type(opt->quantize) == GF_TYPE_F32) {
            s = gf_fail("load: cannot quantize to file type %d", opt->quantize);
            goto fail;
        }
        p.quantize = 1;
        gf_quant_rules_init(&p.rules, r, opt->quantize);
    }
    if ((s = plan_weights(r, m, &p)) < 0) goto fail;
    if ((s = check_budget(m, &p, opt)) < 0) goto fail;
    if (mode != GF_LOAD_INSPECT && (s = alloc_arena(m, &p, r, plan)) < 0) goto fail;
    free(p.b);
    free(p.claimed);
    *out = m;
    return GF_OK;
fail:
    free(p.b);
    free(p.claimed);
    free(plan->dest);
    free(plan->type);
    plan->dest = NULL;
    plan->type = NULL;
    gf_model_free(m);
    return s;
}

void gf_model_free(gf_model *m) {
    if (!m) return;
    free(m->chat_template);
    gf_tokenizer_free(m->tokenizer);
    free(m->layers);
    free(m->layer_sizes);
    free(m->swa_layers);
    for (uint32_t k = 0; k < m->n_arena; k++) free(m->arena[k]);
    free(m->arena);
    free(m);
}

const char *gf_model_matrix_name(const gf_model *m, const gf_matrix *w, char *buf, size_t cap) {
    if (w == &m->output) return snprintf(buf, cap, m->tied_output ? "token_embd.weight" : "output.weight"), buf;
    if (w == &m->tok_embd) return snprintf(buf, cap, "token_embd.weight"), buf;
    for (int i = 0; i < m->hp.n_layer; i++) {
        const gf_matrix *mats[GF_T_N_MATRICES];
        gf_layer_matrices(&m->layers[i], mats);
        for (int k = 0; k < GF_T_N_MATRICES; k++)
            if (w == mats[k]) return snprintf(buf, cap, "blk.%d.%s.weight", i, gf_tensor_names[k]), buf;
    }
    return NULL;
}

/* Metadata strings are arbitrary bytes: escape what JSON forbids. */
static void json_escape(char *out, size_t cap, const char *in) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = 0;
}

/* "F32":5,"Q8_0":15 for the types with a nonzero count */
static void type_counts_json(char *out, size_t cap, const uint32_t counts[GF_TYPE_COUNT]) {
    size_t n = 0;
    out[0] = 0;
    for (int t = 0; t < GF_TYPE_COUNT; t++) {
        if (!counts[t]) continue;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s\"%s\":%u", n ? "," : "", gf_type_name((uint32_t)t), counts[t]);
    }
}

/* snprintf into buf at *n, counting what would be written beyond cap too */
#include <stdarg.h>
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*n < cap ? buf + *n : NULL, *n < cap ? cap - *n : 0, fmt, ap);
    va_end(ap);
    if (k > 0) *n += (size_t)k;
}

/* Per-layer values as arrays of n_layer entries: "layers":{"rope":[true,...],...}. */
static void layers_json(const gf_model *m, char *buf, size_t cap, size_t *n) {
    const gf_hparams *hp = &m->hp;
    static const char *keys[] = {"attention", "rope", "ropeBase", "attentionSoftcap", "nHead", "nHeadKv", "ffnDim", "ropeScaled"};
    append(buf, cap, n, ",\"layers\":{");
    for (int k = 0; k < 8; k++) {
        append(buf, cap, n, "%s\"%s\":[", k ? "," : "", keys[k]);
        for (int i = 0; i < hp->n_layer; i++) {
            const char *sep = i ? "," : "";
            const gf_layer *l = m->layers ? &m->layers[i] : NULL;
            /* "global", or "sliding:<window>" for the sliding-window layers */
            if (k == 0 && l && l->n_swa) append(buf, cap, n, "%s\"sliding:%d\"", sep, l->n_swa);
            else if (k == 0) append(buf, cap, n, "%s\"global\"", sep);
            else if (k == 1) append(buf, cap, n, "%s%s", sep, l && l->rope ? "true" : "false");
            else if (k == 2) append(buf, cap, n, "%s%g", sep, l ? l->rope_base : 0.0);
            else if (k == 3) append(buf, cap, n, "%s%g", sep, l ? l->attn_softcap : 0.0);
            else if (k == 7) append(buf, cap, n, "%s%s", sep, l && l->rope_scaled ? "true" : "false");
            else if (l) append(buf, cap, n, "%s%d", sep, k == 4 ? l->n_head : k == 5 ? l->n_head_kv : l->ffn_dim);
            else if (m->layer_sizes) append(buf, cap, n, "%s%d", sep, m->layer_sizes[3 * i + (k - 4)]);
            else append(buf, cap, n, "%s%d", sep, k == 4 ? hp->n_head : k == 5 ? hp->n_head_kv : hp->ffn_dim);
        }
        append(buf, cap, n, "]");
    }
    append(buf, cap, n, "}");
}

int gf_model_info_json(const gf_model *m, char *buf, size_t cap) {
    char arch[6 * sizeof m->arch_name], name[6 * sizeof m->name];
    json_escape(arch, sizeof arch, m->arch_name);
    json_escape(name, sizeof name, m->name);
    const gf_hparams *hp = &m->hp;
    char types[512];
    type_counts_json(types, sizeof types, m->type_count);
    size_t n = 0;
    append(buf, cap, &n,
           "{\"architecture\":\"%s\",\"name\":\"%s\",\"weightsLoaded\":%s,\"tokenizer\":\"%s\",\"nVocab\":%d,\"bos\":%d,\"eos\":%d,\"dim\":%d,\"nLayer\":%d,"
           "\"nHead\":%d,\"nHeadKv\":%d,\"headDim\":%d,\"ffnDim\":%d,\"contextTrain\":%d,\"ropeDim\":%d,"
           "\"ropeBase\":%g,\"normEps\":%g,\"slidingWindow\":%d,\"tiedOutput\":%s,\"encoder\":%s,\"causal\":%s,\"pooling\":\"%s\",\"tensorTypes\":{%s},\"weightBytes\":%llu,"
           "\"kernels\":\"%s\"",
           arch, name, m->mode == GF_LOAD_WEIGHTS ? "true" : "false", gf_tokenizer_kind(m->tokenizer), hp->n_vocab,
           gf_tokenizer_bos(m->tokenizer), gf_tokenizer_eos(m->tokenizer), hp->dim,
           hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->ffn_dim, hp->n_ctx_train, hp->rope_dim,
           hp->rope_base, hp->norm_eps, hp->n_swa, m->tied_output ? "true" : "false", m->arch && m->arch->encoder ? "true" : "false",
           hp->causal ? "true" : "false", (const char *[]){"none", "mean", "cls", "last"}[hp->pooling & 3],
           types, (unsigned long long)m->weight_bytes, gf_kernels_name());
    if (m->arch) {
        /* the descriptor row's block choices, and what the file adds to them */
        char blocks[512];
        gf_arch_describe_json(m->arch, blocks, sizeof blocks);
        const char *factors = (const char *[]){"none", "rope_freqs", "longrope"}[hp->rope_factors % 3];
        const char *scaling = (const char *[]){"none", "linear", "yarn", "longrope"}[hp->rope_scaling & 3];
        append(buf, cap, &n,
               ",\"blocks\":{%s,\"fusedQkv\":%s,\"ropeFactors\":\"%s\",\"ropeScaling\":\"%s\",\"ropeAttnFactor\":%g,\"ropeFreqScale\":%g,"
               "\"ropeContextOriginal\":%d,\"ropeMagnitude\":%g,\"yarnExtFactor\":%g,\"yarnBetaFast\":%g,\"yarnBetaSlow\":%g,\"attentionScale\":%g,"
               "\"embeddingScale\":%g,\"residualScale\":%g,\"logitScale\":%g,\"attentionSoftcap\":%g,\"finalSoftcap\":%g}",
               blocks, m->arch->fused_qkv || (m->layers && m->layers[0].fused_qkv) ? "true" : "false", factors, scaling, hp->rope_attn_factor,
               hp->rope_freq_scale, hp->n_ctx_orig, gf_rope_magnitude(hp), hp->yarn_ext_factor, hp->yarn_beta_fast, hp->yarn_beta_slow,
               hp->attn_scale, hp->embd_scale, hp->residual_scale, hp->logit_scale, hp->attn_softcap, hp->final_softcap);
        layers_json(m, buf, cap, &n);
    }
    append(buf, cap, &n, "}");
    return (int)n;
}
