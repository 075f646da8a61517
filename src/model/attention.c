#include "model/attention.h"

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

/* Queries that share a KV head (a GQA group's heads, over a block of
 * tokens) are one unit of work: they visit the key tiles together, so a tile
 * of f16 keys and values is widened to f32 once for all of them instead of
 * inside every query's kernels; Q8_0 keys are scored for all of them by one matmul (the
 * GEMM kernel when there are four or more: the query rows were quantized
 * once), and Q8_0 values are interleaved and widened once
 * (gf_attn_prepare_q8_0), leaving each query only the dot products. Each
 * query still sees the same tiles with the same kernels, so the bits do not
 * depend on the grouping or on the widening (it is exact). Up to
 * UNIT_QUERIES queries per unit: enough to share the widening, small enough
 * to split a batch's units across threads. */
#define UNIT_QUERIES 32
/* A unit's tiles live on the stack: widened f16 keys and values take
 * 2 * KEY_TILE * hd floats (128 KB at 256), prepared Q8_0 values a quarter of that. */
#define WIDEN_MAX_DIM 256

/* Q8_0 keys are scored SCORE_TILE at a time when a unit has few queries
 * (decode): one matmul call per 64 keys cost more in its set-up than in its
 * dot products. Scores do not depend on how many rows a call takes. */
#define SCORE_TILE 512
#define SCORE_TILE_QUERIES 8

static int32_t unit_tokens(const gf_attention_args *a) {
    int32_t group = a->n_head / a->n_head_kv, n = UNIT_QUERIES / group;
    return n < 1 ? 1 : n;
}

int64_t gf_attention_units(const gf_attention_args *a) {
    int32_t per = unit_tokens(a);
    return (int64_t)a->n_head_kv * ((a->n_tok + per - 1) / per);
}

static int32_t keys_seen(const gf_attention_args *a, int32_t t) { return a->causal ? a->pos0 + t + 1 : a->pos0 + a->n_tok; }
/* The first key token t sees: the sliding window's start (causal only). */
static int32_t first_key(const gf_attention_args *a, int32_t t) {
    int32_t first = a->causal && a->window > 0 ? a->pos0 + t - a->window + 1 : 0;
    return first > 0 ? first : 0;
}

/* The queries of KV head hk for tokens [t0, t1). */
static void attend_unit(const gf_attention_args *a, int32_t hk, int32_t t0, int32_t t1) {
    const int32_t hd = a->head_dim, group = a->n_head / a->n_head_kv, nq = (t1 - t0) * group;
    const size_t row = gf_kv_row_bytes(a->kv_type, hd);
    /* tiles prepared once for the unit's queries: f16 widened, Q8_0 values interleaved */
    const int shared = nq > 1 && hd <= WIDEN_MAX_DIM, q8_keys = a->kv_type == GF_KV_Q8_0;
    const int widen = shared && a->kv_type == GF_KV_F16;
    const size_t prepared_bytes = shared && q8_keys ? gf_attn_q8_0_prepared_bytes(KEY_TILE, hd) : 0;
    const char *K = (const char *)a->k_cache + (size_t)hk * a->n_ctx * row, *V = (const char *)a->v_cache + (size_t)hk * a->n_ctx * row;
    const int32_t score_tile = q8_keys && nq <= SCORE_TILE_QUERIES ? SCORE_TILE : KEY_TILE;
    float scores[nq * score_tile], max[nq], sum[nq];
    float wide_k[widen ? KEY_TILE * hd : 1], wide_v[widen ? KEY_TILE * hd : 1];
    unsigned char prepared_v[prepared_bytes ? prepared_bytes : 1];
    const int32_t q8_blocks = q8_keys ? hd / QK8_0 : 1;
    block_q8_0 q8[nq * q8_blocks];
    /* query qi is token t0 + qi / group, head hk * group + qi % group */
    const float *q[nq];
    float *acc[nq];
    for (int32_t qi = 0; qi < nq; qi++) {
        int64_t i = (int64_t)(t0 + qi / group) * a->n_head + hk * group + qi % group;
        q[qi] = a->q + i * hd;
        acc[qi] = a->out + i * hd;
        for (int32_t d = 0; d < hd; d++) acc[qi][d] = 0;
        max[qi] = -INFINITY;
        sum[qi] = 0;
        if (q8_keys) gf_quantize_act_row(GF_ACT_Q8_0, q[qi], q8 + qi * q8_blocks, hd);
    }
    const int32_t all_keys = keys_seen(a, t1 - 1);
    /* a sliding window: tiles wholly before the unit's first token's window are never read
     * (tiles stay aligned to multiples of KEY_TILE, so a query's tiles do not depend on its unit) */
    const int32_t j_begin = first_key(a, t0) / KEY_TILE * KEY_TILE;
    for (int32_t j0 = j_begin; j0 < all_keys; j0 += KEY_TILE) {
        const int32_t tile = all_keys - j0 < KEY_TILE ? all_keys - j0 : KEY_TILE;
        const char *keys = K + (size_t)j0 * row, *values = V + (size_t)j0 * row;
        gf_kv_type kv = a->kv_type;
        const int32_t s0 = j0 % score_tile; /* this tile's place among the scored keys */
        if (q8_keys && (s0 == 0 || j0 == j_begin)) {
            const int32_t end = j0 - s0 + score_tile < all_keys ? j0 - s0 + score_tile : all_keys;
            gf_matrix k = {GF_TYPE_Q8_0, hd, row, keys};
            gf_matmul(&k, 0, end - j0, q8, q8_blocks * sizeof(block_q8_0), nq, scores + s0, (size_t)score_tile);
        }
        if (widen) {
            gf_attn_widen(wide_k, (const gf_half *)keys, tile * hd);
            gf_attn_widen(wide_v, (const gf_half *)values, tile * hd);
            keys = (const char *)wide_k, values = (const char *)wide_v;
            kv = GF_KV_F32;
        }
        if (prepared_bytes) gf_attn_prepare_q8_0(prepared_v, (const block_q8_0 *)values, tile, hd);
        const size_t tile_row = widen ? (size_t)hd * sizeof(float) : row; /* bytes of a row of keys and values */
        for (int32_t qi = 0; qi < nq; qi++) {
            const int32_t n_keys = keys_seen(a, t0 + qi / group), first = first_key(a, t0 + qi / group);
            if (n_keys <= j0 || first >= j0 + tile) continue;
            /* keys [off, jn) of the tile: the window may start inside it */
            const int32_t off = first > j0 ? first - j0 : 0;
            const int32_t jn = (n_keys - j0 < tile ? n_keys - j0 : tile) - off;
            float *p = scores + qi * score_tile + s0 + off; /* p[j] = scale * q . k_(off+j) */
            if (q8_keys) gf_scale_f32(p, a->scale, jn);
            else gf_attn_scores(q[qi], keys + off * tile_row, kv, jn, hd, a->scale, p);
            if (a->softcap > 0) gf_attn_softcap(p, jn, a->softcap);
            float tile_max = p[0];
            for (int32_t j = 1; j < jn; j++) tile_max = p[j] > tile_max ? p[j] : tile_max;
            if (tile_max > max[qi]) {
                float rescale = gf_attn_exp1(max[qi] - tile_max); /* 0 on the first tile */
                sum[qi] *= rescale;
                gf_scale_f32(acc[qi], rescale, hd);
                max[qi] = tile_max;
            }
            sum[qi] += gf_attn_exp(p, jn, max[qi]);
            /* the prepared form starts at the tile's first key; from inside the tile the rows give the same bits */
            if (prepared_bytes && !off) gf_attn_accumulate_prepared(acc[qi], p, (const block_q8_0 *)values, prepared_v, jn, hd);
            else gf_attn_accumulate(acc[qi], p, values + off * tile_row, kv, jn, hd);
        }
    }
    for (int32_t qi = 0; qi < nq; qi++) gf_scale_f32(acc[qi], 1.0f / sum[qi], hd);
}

/* What attend_unit reads and multiplies, unit by unit: the key and value
 * rows from the unit's first visited tile to its last key (the queries of a
 * unit share them, so each is read once per unit), and per query one
 * multiply-add per key and head dimension for the value sum and for the
 * score (a Q8_0 cache scores every row of the unit's tiles for every query
 * in one matmul, so there the score count is queries x rows). Every KV head
 * has the same units, so one head's count is multiplied by n_head_kv. */
void gf_attention_work(const gf_attention_args *a, gf_work *w) {
    const int32_t per = unit_tokens(a), group = a->n_head / a->n_head_kv;
    const uint64_t hd = (uint64_t)a->head_dim, row = gf_kv_row_bytes(a->kv_type, a->head_dim);
    uint64_t rows = 0, score = 0, value = 0;
    for (int32_t t0 = 0; t0 < a->n_tok; t0 += per) {
        const int32_t t1 = t0 + per < a->n_tok ? t0 + per : a->n_tok;
        const uint64_t unit_rows = (uint64_t)(keys_seen(a, t1 - 1) - first_key(a, t0) / KEY_TILE * KEY_TILE);
        uint64_t seen = 0; /* keys the unit's tokens attend to */
        for (int32_t t = t0; t < t1; t++) seen += (uint64_t)(keys_seen(a, t) - first_key(a, t));
        rows += unit_rows;
        value += seen * group;
        score += a->kv_type == GF_KV_Q8_0 ? unit_rows * (uint64_t)(t1 - t0) * group : seen * group;
    }
    const uint64_t heads = (uint64_t)a->n_head_kv, macs = (score + value) * hd * heads;
    w->kv_read += 2 * rows * row * heads;
    if (a->kv_type == GF_KV_Q8_0) w->int_macs += macs; /* int8 key scores, integer value sums */
    else w->float_macs += macs;
}

void gf_attention_range(const gf_attention_args *a, int64_t u0, int64_t u1) {
    const int32_t per = unit_tokens(a), blocks = (a->n_tok + per - 1) / per;
    for (int64_t u = u0; u < u1; u++) {
        int32_t hk = (int32_t)(u / blocks), t0 = (int32_t)(u % blocks) * per;
        attend_unit(a, hk, t0, t0 + per < a->n_tok ? t0 + per : a->n_tok);
    }
}
