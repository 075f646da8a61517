#include "tools/mix_prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/registry.h"

#define N_FFN_OPT 4 /* remove 0, 1/8, 1/4, 3/8 of each layer's neurons */
#define N_KV_OPT 3  /* remove 0, 1, 2 KV groups (a layer keeps one) */
#define STEPS 32768 /* the budget in units */
#define MAX_OPT 4
#define MAX_MATS 4

static const double k_ffn_share[N_FFN_OPT] = {0, 0.125, 0.25, 0.375};

typedef struct {
    int32_t ffn_keep[N_FFN_OPT], kv_keep[N_KV_OPT];
    double ffn_kl[N_FFN_OPT], kv_kl[N_KV_OPT]; /* NAN: not measured */
    int ffn_mat[3], att_mat[4];                 /* calibration matrix indices (gate, up, down; q, k, v, output) */
    int ffn_choice, kv_choice;
} layer_opt;

typedef struct {
    int layer, kind; /* kind 0: one matrix; 1: a layer's FFN; 2: its attention */
    int n_mats, mats[MAX_MATS], n_opts;
    double klp[MAX_OPT];
    int32_t cost[MAX_OPT][MAX_MATS][GF_MIX_MAX_CANDIDATES]; /* units; -1 unavailable */
    double bits[MAX_OPT][MAX_MATS][GF_MIX_MAX_CANDIDATES];
    uint8_t *opt, *pick;                /* [STEPS+1], [n_opts][n_mats][STEPS+1] */
} item;

struct gf_mix_prune {
    gf_mix *x;
    gf_calib *c;
    gf_model *m;
    gf_prune *p;
    gf_prune_method method;
    layer_opt *L;
    int *choice; /* per calibration matrix: candidate index */
    int n_chunks;
    double target, predicted, bits;
    char *json;
};

int gf_mix_prune_new(gf_mix *x, gf_prune_method method, gf_mix_prune **out) {
    *out = NULL;
    gf_mix_prune *mp = calloc(1, sizeof *mp);
    if (!mp) return gf_fail_nomem("the pruning planner", sizeof *mp);
    mp->x = x;
    mp->c = gf_mix_calib(x);
    mp->m = gf_calib_model(mp->c);
    mp->method = method;
    mp->n_chunks = gf_calib_n_chunks(mp->c);
    const int32_t nl = mp->m->hp.n_layer;
    gf_prune_options opt = {0, 0, method, method == GF_PRUNE_HESSIAN, NULL, NULL};
    int s = gf_prune_new(mp->c, &opt, &mp->p);
    mp->L = calloc((size_t)nl, sizeof *mp->L);
    mp->choice = calloc((size_t)gf_mix_n_matrices(x), sizeof *mp->choice);
    if (s == GF_OK && (!mp->L || !mp->choice)) s = gf_fail_nomem("the pruning planner", (size_t)nl * sizeof *mp->L);
    if (s < 0) {
        gf_mix_prune_free(mp);
        return s;
    }
    for (int32_t il = 0; il < nl; il++) {
        layer_opt *lo = &mp->L[il];
        const gf_layer *l = &mp->m->layers[il];
        for (int o = 0; o < N_FFN_OPT; o++) lo->ffn_kl[o] = o ? NAN : 0, lo->ffn_keep[o] = l->ffn_dim;
        for (int o = 0; o < N_KV_OPT; o++) lo->kv_kl[o] = o ? NAN : 0, lo->kv_keep[o] = l->n_head_kv - o;
        const gf_matrix *want[7] = {&l->w_gate, &l->w_up, &l->w_down, &l->wq, &l->wk, &l->wv, &l->wo};
        for (int k = 0; k < 7; k++) {
            int *slot = k < 3 ? &lo->ffn_mat[k] : &lo->att_mat[k - 3];
            *slot = -1;
            for (int i = 0; i < gf_mix_n_matrices(x); i++)
                if (gf_calib_matrix_at(mp->c, i)->mat == want[k]) *slot = i;
        }
    }
    *out = mp;
    return GF_OK;
}

void gf_mix_prune_free(gf_mix_prune *mp) {
    if (!mp) return;
    gf_prune_free(mp->p);
    free(mp->L);
    free(mp->choice);
    free(mp->json);
    free(mp);
}

/* statistics chunk by chunk, then one step per pruning option (every layer measured alone) */
int gf_mix_prune_steps(const gf_mix_prune *mp) { return mp->n_chunks + (N_FFN_OPT - 1) + (N_KV_OPT - 1); }

static void take_rows(const gf_matrix *w, const int32_t *rows, int32_t n_rows, int32_t width, float *out) {
    int32_t o = 0;
    for (int32_t u = 0; u < n_rows; u++)
        for (int32_t r = rows[u] * width; r < (rows[u] + 1) * width; r++, o++)
            gf_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, out + (int64_t)o * w->n, w->n);
}

static int take_cols(const gf_matrix *w, int64_t rows, const int32_t *units, int32_t n_units, int32_t width, float *out) {
    float *row = malloc((size_t)w->n * sizeof *row);
    if (!row) return gf_fail_nomem("a matrix row", (size_t)w->n * 4);
    const int32_t nc = n_units * width;
    for (int64_t r = 0; r < rows; r++) {
        gf_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, row, w->n);
        for (int32_t u = 0; u < n_units; u++)
            for (int32_t c = 0; c < width; c++) out[r * nc + u * width + c] = row[units[u] * width + c];
    }
    free(row);
    return GF_OK;
}

static gf_matrix f32_matrix(const float *data, int n) { return (gf_matrix){GF_TYPE_F32, n, (size_t)n * 4, data}; }

/* KL with only layer il pruned as the plan says (ffn: its FFN, else its attention) */
static int measure_layer(gf_mix_prune *mp, int32_t il, int ffn, double *kl) {
    gf_model *m = mp->m;
    gf_layer *l = &m->layers[il], saved = *l;
    const gf_prune_layer *P = &gf_prune_get_plan(mp->p)->layers[il];
    const int32_t dim = m->hp.dim, hd = m->hp.head_dim;
    float *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    int s = GF_OK;
    if (ffn) {
        const int32_t k = P->ffn_out;
        a = malloc((size_t)k * dim * 4), b = malloc((size_t)k * dim * 4), c = malloc((size_t)k * dim * 4);
        if (!a || !b || !c) s = gf_fail_nomem("a pruned layer", (size_t)k * dim * 12);
        else {
            take_rows(&l->w_gate, P->ffn_kept, k, 1, a);
            take_rows(&l->w_up, P->ffn_kept, k, 1, b);
            if (P->down) memcpy(c, P->down, (size_t)k * dim * 4);
            else s = take_cols(&l->w_down, dim, P->ffn_kept, k, 1, c);
            l->w_gate = f32_matrix(a, dim), l->w_up = f32_matrix(b, dim), l->w_down = f32_matrix(c, k);
            l->ffn_dim = k;
        }
    } else {
        const int32_t g = P->group, k = P->kv_out, qd = k * g * hd;
        a = malloc((size_t)qd * dim * 4), b = malloc((size_t)k * hd * dim * 4), c = malloc((size_t)k * hd * dim * 4), d = malloc((size_t)qd * dim * 4);
        if (!a || !b || !c || !d) s = gf_fail_nomem("a pruned layer", (size_t)qd * dim * 16);
        else {
            take_rows(&l->wq, P->kv_kept, k, g * hd, a);
            take_rows(&l->wk, P->kv_kept, k, hd, b);
            take_rows(&l->wv, P->kv_kept, k, hd, c);
            if (P->wo) memcpy(d, P->wo, (size_t)qd * dim * 4);
            else s = take_cols(&l->wo, dim, P->kv_kept, k, g * hd, d);
            l->wq = f32_matrix(a, dim), l->wk = f32_matrix(b, dim), l->wv = f32_matrix(c, dim), l->wo = f32_matrix(d, qd);
            l->n_head = k * g, l->n_head_kv = k;
        }
    }
    if (s == GF_OK) s = gf_mix_measure_model(mp->x, kl);
    *l = saved;
    free(a);
    free(b);
    free(c);
    free(d);
    return s;
}

int gf_mix_prune_measure(gf_mix_prune *mp, int step) {
    if (step < 0 || step >= gf_mix_prune_steps(mp)) return gf_fail("mix: no pruning step %d", step);
    if (step < mp->n_chunks) return gf_prune_run(mp->p, step);
    const int32_t nl = mp->m->hp.n_layer;
    int o = step - mp->n_chunks + 1, ffn = o < N_FFN_OPT;
    int s;
    if (ffn) {
        s = gf_prune_reselect(mp->p, k_ffn_share[o], 0, NULL, NULL);
    } else {
        o -= N_FFN_OPT - 1;
        int32_t *keep = malloc((size_t)nl * sizeof *keep);
        if (!keep) return gf_fail_nomem("the pruning planner", (size_t)nl * 4);
        for (int32_t il = 0; il < nl; il++) keep[il] = mp->L[il].kv_keep[o] >= 1 ? mp->L[il].kv_keep[o] : mp->m->layers[il].n_head_kv;
        s = gf_prune_reselect(mp->p, 0, 0, NULL, keep);
        free(keep);
    }
    for (int32_t il = 0; il < nl && s == GF_OK; il++) {
        layer_opt *lo = &mp->L[il];
        if (ffn) {
            lo->ffn_keep[o] = gf_prune_get_plan(mp->p)->layers[il].ffn_out;
            if (lo->ffn_keep[o] < mp->m->layers[il].ffn_dim) s = measure_layer(mp, il, 1, &lo->ffn_kl[o]);
        } else if (lo->kv_keep[o] >= 1) {
            s = measure_layer(mp, il, 0, &lo->kv_kl[o]);
        }
    }
    return s;
}

/* bits of calibration matrix i at candidate k when its layer keeps `keep` of `full` units along rows or columns */
static double matrix_bits(const gf_mix *x, const gf_calib_matrix *cm, int k, int64_t rows, int64_t n) {
    size_t rb = gf_row_bytes(gf_mix_candidate(x, k), (uint64_t)n);
    (void)cm;
    return rb ? (double)rb * 8 * (double)rows : NAN;
}

int gf_mix_prune_assign(gf_mix_prune *mp, double target_bpw) {
    gf_model *m = mp->m;
    const int32_t nl = m->hp.n_layer, dim = m->hp.dim, hd = m->hp.head_dim;
    const int n_mat = gf_mix_n_matrices(mp->x), nc = gf_mix_n_candidates(mp->x);
    double elements, fixed;
    gf_calib_budget(mp->c, &elements, &fixed);
    const double budget = target_bpw * elements - fixed, unit = budget / STEPS;
    if (!(budget > 0)) return gf_fail("mix: %.3f bits per weight leaves nothing for the matrices", target_bpw);
    /* items: a layer's FFN and attention groups, every other matrix alone */
    item *it = calloc((size_t)n_mat + 2 * (size_t)nl, sizeof *it);
    char *grouped = calloc((size_t)n_mat, 1);
    double *best = malloc((STEPS + 1) * sizeof *best), *next = malloc((STEPS + 1) * sizeof *next);
    double *cur = malloc((STEPS + 1) * sizeof *cur), *tmp = malloc((STEPS + 1) * sizeof *tmp);
    int n_items = 0, s = GF_OK;
    if (!it || !grouped || !best || !next || !cur || !tmp) {
        s = gf_fail_nomem("the pruning planner", (STEPS + 1) * 32);
        goto done;
    }
    for (int32_t il = 0; il < nl; il++) {
        const layer_opt *lo = &mp->L[il];
        const gf_layer *l = &m->layers[il];
        for (int kind = 1; kind <= 2; kind++) {
            item *t = &it[n_items];
            t->layer = il, t->kind = kind;
            t->n_mats = kind == 1 ? 3 : 4;
            t->n_opts = kind == 1 ? N_FFN_OPT : N_KV_OPT;
            int ok = 1;
            for (int j = 0; j < t->n_mats; j++) {
                t->mats[j] = kind == 1 ? lo->ffn_mat[j] : lo->att_mat[j];
                ok &= t->mats[j] >= 0;
            }
            if (!ok) continue; /* not this layout (fused matrices): its matrices stay single items */
            for (int o = 0; o < t->n_opts; o++) {
                t->klp[o] = kind == 1 ? lo->ffn_kl[o] : lo->kv_kl[o];
                const int32_t group = l->n_head / l->n_head_kv, kv = lo->kv_keep[o], f = lo->ffn_keep[o];
                for (int j = 0; j < t->n_mats; j++) {
                    int64_t rows, n;
                    if (kind == 1) rows = j < 2 ? f : dim, n = j < 2 ? dim : f;
                    else rows = j == 0 ? (int64_t)kv * group * hd : j < 3 ? (int64_t)kv * hd : dim, n = j < 3 ? dim : (int64_t)kv * group * hd;
                    for (int k = 0; k < nc; k++) {
                        double kl = gf_mix_kl(mp->x, t->mats[j], k);
                        double bits = isnan(t->klp[o]) || isnan(kl) ? NAN : matrix_bits(mp->x, gf_calib_matrix_at(mp->c, t->mats[j]), k, rows, n);
                        t->bits[o][j][k] = bits;
                        t->cost[o][j][k] = isnan(bits) ? -1 : (int32_t)floor(bits / unit + 0.5);
                    }
                }
            }
            for (int j = 0; j < t->n_mats; j++) grouped[t->mats[j]] = 1;
            n_items++;
        }
    }
    for (int i = 0; i < n_mat; i++) {
        if (grouped[i]) continue;
        item *t = &it[n_items++];
        const gf_calib_matrix *cm = gf_calib_matrix_at(mp->c, i);
        t->layer = -1, t->kind = 0, t->n_mats = 1, t->mats[0] = i, t->n_opts = 1, t->klp[0] = 0;
        for (int k = 0; k < nc; k++) {
            double kl = gf_mix_kl(mp->x, i, k);
            double bits = isnan(kl) ? NAN : matrix_bits(mp->x, cm, k, cm->rows, cm->mat->n);
            t->bits[0][0][k] = bits;
            t->cost[0][0][k] = isnan(bits) ? -1 : (int32_t)floor(bits / unit + 0.5);
        }
    }
    /* the knapsack: best[b] = least KL of the items so far within b units */
    for (int b = 0; b <= STEPS; b++) best[b] = 0;
    for (int q = 0; q < n_items && s == GF_OK; q++) {
        item *t = &it[q];
        t->opt = calloc(STEPS + 1, 1);
        t->pick = calloc((size_t)t->n_opts * t->n_mats * (STEPS + 1), 1);
        if (!t->opt || !t->pick) {
            s = gf_fail_nomem("the pruning planner", (size_t)t->n_opts * t->n_mats * (STEPS + 1));
            break;
        }
        for (int b = 0; b <= STEPS; b++) next[b] = INFINITY;
        for (int o = 0; o < t->n_opts; o++) {
            if (isnan(t->klp[o])) continue;
            for (int b = 0; b <= STEPS; b++) cur[b] = best[b] + t->klp[o];
            for (int j = 0; j < t->n_mats; j++) {
                uint8_t *pk = t->pick + ((size_t)o * t->n_mats + j) * (STEPS + 1);
                for (int b = 0; b <= STEPS; b++) {
                    double v = INFINITY;
                    for (int k = 0; k < nc; k++) {
                        int32_t c = t->cost[o][j][k];
                        if (c < 0 || c > b) continue;
                        double w = cur[b - c] + gf_mix_kl(mp->x, t->mats[j], k);
                        if (w < v) v = w, pk[b] = (uint8_t)k;
                    }
                    tmp[b] = v;
                }
                double *sw = cur;
                cur = tmp;
                tmp = sw;
            }
            for (int b = 0; b <= STEPS; b++)
                if (cur[b] < next[b]) next[b] = cur[b], t->opt[b] = (uint8_t)o;
        }
        double *sw = best;
        best = next;
        next = sw;
    }
    if (s == GF_OK && !isfinite(best[STEPS]))
        s = gf_fail("mix: %.3f bits per weight is below the smallest plan for this model, pruning included", target_bpw);
    if (s < 0) goto done;
    /* back through the items: each one's option and types */
    int b = STEPS;
    double used = fixed;
    for (int q = n_items - 1; q >= 0; q--) {
        item *t = &it[q];
        int o = t->opt[b];
        for (int j = t->n_mats - 1; j >= 0; j--) {
            int k = t->pick[((size_t)o * t->n_mats + j) * (STEPS + 1) + b];
            mp->choice[t->mats[j]] = k;
            used += t->bits[o][j][k];
            b -= t->cost[o][j][k];
        }
        if (t->kind == 1) mp->L[t->layer].ffn_choice = o;
        if (t->kind == 2) mp->L[t->layer].kv_choice = o;
    }
    /* rounding may overshoot the budget: the cheapest type downgrades (pruning kept) bring it back */
    while (used > budget + fixed + 1e-6) {
        int bq = -1, bj = -1, bk = -1;
        double best_ratio = INFINITY;
        for (int q = 0; q < n_items; q++) {
            const item *t = &it[q];
            int o = t->kind == 1 ? mp->L[t->layer].ffn_choice : t->kind == 2 ? mp->L[t->layer].kv_choice : 0;
            for (int j = 0; j < t->n_mats; j++) {
                int cur_k = mp->choice[t->mats[j]];
                for (int k = 0; k < nc; k++) {
                    if (isnan(t->bits[o][j][k]) || t->bits[o][j][k] >= t->bits[o][j][cur_k]) continue;
                    double r = (gf_mix_kl(mp->x, t->mats[j], k) - gf_mix_kl(mp->x, t->mats[j], cur_k)) / (t->bits[o][j][cur_k] - t->bits[o][j][k]);
                    if (r < best_ratio) best_ratio = r, bq = q, bj = j, bk = k;
                }
            }
        }
        if (bq < 0) {
            s = gf_fail("mix: no plan fits %.3f bits per weight", target_bpw);
            goto done;
        }
        const item *t = &it[bq];
        int o = t->kind == 1 ? mp->L[t->layer].ffn_choice : t->kind == 2 ? mp->L[t->layer].kv_choice : 0;
        used += t->bits[o][bj][bk] - t->bits[o][bj][mp->choice[t->mats[bj]]];
        mp->choice[t->mats[bj]] = bk;
    }
    mp->target = target_bpw;
    mp->bits = used;
    mp->predicted = 0;
    double by_type[GF_MIX_MAX_CANDIDATES] = {0};
    for (int q = 0; q < n_items; q++) {
        const item *t = &it[q];
        int o = t->kind == 1 ? mp->L[t->layer].ffn_choice : t->kind == 2 ? mp->L[t->layer].kv_choice : 0;
        mp->predicted += t->klp[o];
        for (int j = 0; j < t->n_mats; j++) {
            int k = mp->choice[t->mats[j]];
            mp->predicted += gf_mix_kl(mp->x, t->mats[j], k);
            by_type[k] += t->bits[o][j][k];
        }
    }
    int main_k = 0;
    for (int k = 1; k < nc; k++)
        if (by_type[k] > by_type[main_k]) main_k = k;
    /* the description */
    size_t cap = 1024 + (size_t)nl * 512 + (size_t)n_mat * (GGUF_TENSOR_NAME_MAX + 40);
    free(mp->json);
    if (!(mp->json = malloc(cap))) {
        s = gf_fail_nomem("the pruning plan", cap);
        goto done;
    }
    size_t n = (size_t)snprintf(mp->json, cap,
                                "{\"target\":%g,\"bytes\":%.0f,\"predictedKl\":%.6g,\"predictedKlTypesOnly\":%.6g,\"mainType\":\"%s\",\"method\":\"%s\",\"layers\":[",
                                target_bpw, used / 8, mp->predicted, gf_mix_predicted_kl(mp->x), gf_type_name(gf_mix_candidate(mp->x, main_k)),
                                gf_prune_method_name(mp->method));
    for (int32_t il = 0; il < nl && n < cap; il++) {
        const layer_opt *lo = &mp->L[il];
        n += (size_t)snprintf(mp->json + n, cap - n, "%s{\"ffn\":%d,\"kvHeads\":%d,\"ffnOptions\":[", il ? "," : "", lo->ffn_keep[lo->ffn_choice],
                              lo->kv_keep[lo->kv_choice]);
        for (int o = 0; o < N_FFN_OPT && n < cap; o++)
            n += (size_t)snprintf(mp->json + n, cap - n, "%s{\"keep\":%d,\"kl\":%.6g}", o ? "," : "", lo->ffn_keep[o], isnan(lo->ffn_kl[o]) ? -1.0 : lo->ffn_kl[o]);
        n += (size_t)snprintf(mp->json + n, cap - n, "],\"kvOptions\":[");
        for (int o = 0; o < N_KV_OPT && n < cap; o++)
            n += (size_t)snprintf(mp->json + n, cap - n, "%s{\"keep\":%d,\"kl\":%.6g}", o ? "," : "", lo->kv_keep[o], isnan(lo->kv_kl[o]) ? -1.0 : lo->kv_kl[o]);
        n += (size_t)snprintf(mp->json + n, cap - n, "]}");
    }
    n += (size_t)snprintf(mp->json + n, cap - n, "],\"tensors\":[");
    for (int i = 0; i < n_mat && n < cap; i++)
        n += (size_t)snprintf(mp->json + n, cap - n, "%s{\"name\":\"%s\",\"type\":\"%s\"}", i ? "," : "", gf_calib_matrix_at(mp->c, i)->name,
                              gf_type_name(gf_mix_candidate(mp->x, mp->choice[i])));
    if (n < cap) n += (size_t)snprintf(mp->json + n, cap - n, "]}");
    if (n >= cap) s = gf_fail("mix: pruning plan description too long");
done:
    for (int q = 0; it && q < n_items; q++) {
        free(it[q].opt);
        free(it[q].pick);
    }
    free(it);
    free(grouped);
    free(best);
    free(next);
    free(cur);
    free(tmp);
    return s;
}

const char *gf_mix_prune_json(const gf_mix_prune *mp) { return mp->json ? mp->json : "null"; }
