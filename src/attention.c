#include "attention.h"

#include <math.h>

#include "kernels/attention_kernels.h"
#include "kernels/kernels.h"

#define KEY_TILE GF_ATTN_MAX_TILE

const char *gf_kv_type_name(gf_kv_type t) {
    static const char *names[GF_KV_TYPE_COUNT] = {"f32", "f16", "q8_0"};
    return (int)t >= 0 && (int)t < GF_KV_TYPE_COUNT ? names[t] : "?";
}

size_t gf_kv_row_bytes(gf_kv_type t, int32_t hd) {
    switch (t) {
    case GF_KV_F32: return (size_t)hd * 4;
    case GF_KV_F16: return (size_t)hd * 2;
    case GF_KV_Q8_0: return hd % QK8_0 ? 0 : (size_t)(hd / QK8_0) * sizeof(block_q8_0);
    default: return 0;
    }
}

/* p[j] = scale * q . k_j for n key rows. Q8_0 keys: q is already quantized
 * (q8) and the rows are a Q8_0 matrix. */
static void score_tile(const gf_attention_args *a, const float *q, const block_q8_0 *q8, const char *keys, int n, float *p) {
    if (a->kv_type != GF_KV_Q8_0) {
        gf_attn_scores(q, keys, a->kv_type, n, a->head_dim, a->scale, p);
        return;
    }
    gf_matrix k = {GF_TYPE_Q8_0, a->head_dim, gf_kv_row_bytes(GF_KV_Q8_0, a->head_dim), keys};
    gf_matmul(&k, 0, n, q8, 0, 1, p, 0);
    gf_scale_f32(p, a->scale, n);
}

void gf_attention_range(const gf_attention_args *a, int64_t i0, int64_t i1) {
    const int32_t hd = a->head_dim, group = a->n_head / a->n_head_kv;
    const size_t row = gf_kv_row_bytes(a->kv_type, hd);
    float p[KEY_TILE];
    block_q8_0 q8[a->kv_type == GF_KV_Q8_0 ? hd / QK8_0 : 1];
    for (int64_t i = i0; i < i1; i++) {
        int32_t t = (int32_t)(i / a->n_head), h = (int32_t)(i % a->n_head);
        int32_t n_keys = a->causal ? a->pos0 + t + 1 : a->pos0 + a->n_tok;
        const float *q = a->q + i * hd;
        if (a->kv_type == GF_KV_Q8_0) gf_quantize_act_row(GF_ACT_Q8_0, q, q8, hd);
        size_t head_off = (size_t)(h / group) * a->n_ctx * row;
        const char *K = (const char *)a->k_cache + head_off, *V = (const char *)a->v_cache + head_off;
        float *acc = a->out + i * hd;
        for (int32_t d = 0; d < hd; d++) acc[d] = 0;
        float max = -INFINITY, sum = 0;
        for (int32_t j0 = 0; j0 < n_keys; j0 += KEY_TILE) {
            int32_t jn = n_keys - j0 < KEY_TILE ? n_keys - j0 : KEY_TILE;
            score_tile(a, q, q8, K + (size_t)j0 * row, jn, p);
            float tile_max = p[0];
            for (int32_t j = 1; j < jn; j++) tile_max = p[j] > tile_max ? p[j] : tile_max;
            if (tile_max > max) {
                float rescale = gf_attn_exp1(max - tile_max); /* 0 on the first tile */
                sum *= rescale;
                gf_scale_f32(acc, rescale, hd);
                max = tile_max;
            }
            sum += gf_attn_exp(p, jn, max);
            gf_attn_accumulate(acc, p, V + (size_t)j0 * row, a->kv_type, jn, hd);
        }
        gf_scale_f32(acc, 1.0f / sum, hd);
    }
}
