#include "attention.h"

#include <math.h>

#include "kernels/attention_kernels.h"
#include "kernels/kernels.h"

#define KEY_TILE 64

void gf_attention_range(const gf_attention_args *a, int64_t i0, int64_t i1) {
    const int32_t hd = a->head_dim, group = a->n_head / a->n_head_kv;
    const size_t esz = a->kv_f16 ? 2 : 4;
    float p[KEY_TILE];
    for (int64_t i = i0; i < i1; i++) {
        int32_t t = (int32_t)(i / a->n_head), h = (int32_t)(i % a->n_head);
        int32_t n_keys = a->causal ? a->pos0 + t + 1 : a->pos0 + a->n_tok;
        const float *q = a->q + i * hd;
        size_t head_off = (size_t)(h / group) * a->n_ctx * hd * esz;
        const char *K = (const char *)a->k_cache + head_off, *V = (const char *)a->v_cache + head_off;
        float *acc = a->out + i * hd;
        for (int32_t d = 0; d < hd; d++) acc[d] = 0;
        float max = -INFINITY, sum = 0;
        for (int32_t j0 = 0; j0 < n_keys; j0 += KEY_TILE) {
            int32_t jn = n_keys - j0 < KEY_TILE ? n_keys - j0 : KEY_TILE;
            gf_attn_scores(q, K + (size_t)j0 * hd * esz, a->kv_f16, jn, hd, a->scale, p);
            float tile_max = p[0];
            for (int32_t j = 1; j < jn; j++) tile_max = p[j] > tile_max ? p[j] : tile_max;
            if (tile_max > max) {
                float rescale = gf_attn_exp1(max - tile_max); /* 0 on the first tile */
                sum *= rescale;
                gf_scale_f32(acc, rescale, hd);
                max = tile_max;
            }
            sum += gf_attn_exp(p, jn, max);
            gf_attn_accumulate(acc, p, V + (size_t)j0 * hd * esz, a->kv_f16, jn, hd);
        }
        gf_scale_f32(acc, 1.0f / sum, hd);
    }
}
