#include "attention.h"

#include <math.h>

#include "kernels/kernels.h"

#define KEY_TILE 64

void gf_attention_range(const gf_attention_args *a, int64_t i0, int64_t i1) {
    const int32_t hd = a->head_dim, group = a->n_head / a->n_head_kv;
    float scores[KEY_TILE];
    for (int64_t i = i0; i < i1; i++) {
        int32_t t = (int32_t)(i / a->n_head), h = (int32_t)(i % a->n_head);
        int32_t n_keys = a->causal ? a->pos0 + t + 1 : a->pos0 + a->n_tok;
        const float *q = a->q + i * hd;
        const float *K = a->k_cache + (int64_t)(h / group) * a->n_ctx * hd;
        const float *V = a->v_cache + (int64_t)(h / group) * a->n_ctx * hd;
        float *acc = a->out + i * hd;
        for (int32_t d = 0; d < hd; d++) acc[d] = 0;
        float max = -INFINITY, sum = 0;
        for (int32_t j0 = 0; j0 < n_keys; j0 += KEY_TILE) {
            int32_t jn = n_keys - j0 < KEY_TILE ? n_keys - j0 : KEY_TILE;
            float tile_max = -INFINITY;
            for (int32_t j = 0; j < jn; j++) {
                scores[j] = gf_dot_f32(q, K + (int64_t)(j0 + j) * hd, hd) * a->scale;
                if (scores[j] > tile_max) tile_max = scores[j];
            }
            if (tile_max > max) {
                float rescale = expf(max - tile_max); /* 0 on the first tile */
                sum *= rescale;
                gf_scale_f32(acc, rescale, hd);
                max = tile_max;
            }
            for (int32_t j = 0; j < jn; j++) {
                float p = expf(scores[j] - max);
                sum += p;
                gf_axpy_f32(acc, p, V + (int64_t)(j0 + j) * hd, hd);
            }
        }
        gf_scale_f32(acc, 1.0f / sum, hd);
    }
}
