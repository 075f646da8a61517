#include "tools/prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/registry.h"

#define DAMP 0.01       /* of the mean diagonal, added to H before it is inverted (as GPTQ) */
#define FFN_STEP 32     /* FFN sizes are multiples of this */
#define MAX_H_BYTES (1536ull << 20)

typedef struct {
    double *ffn_sq, *att_sq; /* per input channel of ffn_down / attn_output: sum of x^2 */
    double *ffn_h, *att_h;   /* sum of x x^T (upper triangle while accumulating) */
    int64_t ffn_count, att_count;
    double ffn_err, att_err; /* predicted output error per token after pruning (with H) */
} layer_stats;

struct gf_prune {
    gf_calib *calib;
    gf_model *m;
    gf_prune_options opt;
    int need_sq, need_h;
    layer_stats *st;
    gf_prune_plan plan;
    int32_t ffn_removed, kv_removed;
    int32_t *keeps; /* per-layer counts given: n_layer FFN, then n_layer KV groups */
    char *json;
    int selected;
};

int gf_prune_method_parse(const char *name) {
    if (name && !strcmp(name, "magnitude")) return GF_PRUNE_MAGNITUDE;
    if (name && !strcmp(name, "activation")) return GF_PRUNE_ACTIVATION;
    if (name && !strcmp(name, "hessian")) return GF_PRUNE_HESSIAN;
    return gf_fail("prune: unknown method '%s' (magnitude, activation or hessian)", name ? name : "");
}

const char *gf_prune_method_name(gf_prune_method m) {
    return m == GF_PRUNE_MAGNITUDE ? "magnitude" : m == GF_PRUNE_ACTIVATION ? "activation" : "hessian";
}

static void accumulate(double *sq, double *h, int64_t *count, const float *x, int32_t n, int32_t rows) {
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + (int64_t)r * n;
        for (int32_t j = 0; j < n; j++) sq[j] += (double)xr[j] * xr[j];
        if (h)
            for (int32_t i = 0; i < n; i++) {
                double xi = xr[i], *hr = h + (int64_t)i * n;
                if (xi == 0) continue;
                for (int32_t j = i; j < n; j++) hr[j] += xi * xr[j];
            }
    }
    *count += rows;
}

static void observe(void *ud, const gf_matrix *w, const float *x, int32_t n, int32_t rows) {
    gf_prune *p = ud;
    for (int32_t il = 0; il < p->m->hp.n_layer; il++) {
        const gf_layer *l = &p->m->layers[il];
        layer_stats *s = &p->st[il];
        if (w == &l->w_down && n == l->ffn_dim) accumulate(s->ffn_sq, s->ffn_h, &s->ffn_count, x, n, rows);
        else if (w == &l->wo && n == l->n_head * p->m->hp.head_dim) accumulate(s->att_sq, s->att_h, &s->att_count, x, n, rows);
        else continue;
        return;
    }
}

static int check_share(double v, const char *what) {
    if (!(v >= 0 && v < 1)) return gf_fail("prune: %s share %g is out of range (0 <= share < 1)", what, v);
    return GF_OK;
}

int gf_prune_new(gf_calib *c, const gf_prune_options *opt, gf_prune **out) {
    *out = NULL;
    gf_model *m = gf_calib_model(c);
    if (strcmp(m->arch->name, "llama") && strcmp(m->arch->name, "deci"))
        return gf_fail("prune: greenformer prunes llama-architecture models (llama, deci: the architectures llama.cpp reads "
                       "per-layer sizes for); this one is %s", m->arch->name);
    if (check_share(opt->ffn, "ffn") < 0 || check_share(opt->heads, "heads") < 0) return GF_ERR;
    if ((int)opt->method < 0 || opt->method > GF_PRUNE_HESSIAN) return gf_fail("prune: unknown method %d", (int)opt->method);
    const gf_hparams *hp = &m->hp;
    for (int32_t il = 0; il < hp->n_layer; il++)
        if (m->layers[il].fused_qkv) return gf_fail("prune: layer %d has a fused attn_qkv; prune reads separate attn_q, attn_k, attn_v", il);
    gf_prune *p = calloc(1, sizeof *p);
    if (!p) return gf_fail_nomem("the pruning session", sizeof *p);
    p->calib = c;
    p->m = m;
    p->opt = *opt;
    p->opt.ffn_keep = p->opt.kv_keep = NULL;
    p->need_sq = opt->method == GF_PRUNE_ACTIVATION;
    p->need_h = opt->method == GF_PRUNE_HESSIAN || opt->compensate;
    p->st = calloc((size_t)hp->n_layer, sizeof *p->st);
    p->plan.layers = calloc((size_t)hp->n_layer, sizeof *p->plan.layers);
    int32_t *keeps = calloc(2 * (size_t)hp->n_layer, sizeof *keeps);
    p->keeps = keeps;
    if (!p->st || !p->plan.layers || !keeps) {
        gf_prune_free(p);
        return gf_fail_nomem("the pruning tables", (size_t)hp->n_layer * sizeof *p->st);
    }
    /* per-layer counts given (the planner's): copied, checked */
    if (opt->ffn_keep || opt->kv_keep) {
        for (int32_t il = 0; il < hp->n_layer; il++) {
            const gf_layer *l = &m->layers[il];
            keeps[il] = opt->ffn_keep ? opt->ffn_keep[il] : l->ffn_dim;
            keeps[hp->n_layer + il] = opt->kv_keep ? opt->kv_keep[il] : l->n_head_kv;
            if (keeps[il] < 1 || keeps[il] > l->ffn_dim || keeps[hp->n_layer + il] < 1 || keeps[hp->n_layer + il] > l->n_head_kv) {
                int s = gf_fail("prune: layer %d cannot keep %d of %d neurons and %d of %d KV heads", il, keeps[il], l->ffn_dim,
                                keeps[hp->n_layer + il], l->n_head_kv);
                gf_prune_free(p);
                return s;
            }
        }
        if (opt->ffn_keep) p->opt.ffn_keep = keeps;
        if (opt->kv_keep) p->opt.kv_keep = keeps + hp->n_layer;
    }
    uint64_t h_bytes = 0;
    for (int32_t il = 0; il < hp->n_layer && p->need_h; il++) {
        const gf_layer *l = &m->layers[il];
        uint64_t q = (uint64_t)l->n_head * hp->head_dim;
        h_bytes += 8 * ((uint64_t)l->ffn_dim * l->ffn_dim + q * q);
    }
    if (h_bytes > MAX_H_BYTES) {
        gf_prune_free(p);
        return gf_fail("prune: the %s needs the inputs' second moments, %.0f MB for this model (at most %.0f MB); use --method activation%s",
                       opt->compensate ? "compensation" : "hessian criterion", h_bytes / 1048576.0, MAX_H_BYTES / 1048576.0,
                       opt->compensate ? " without compensation" : "");
    }
    for (int32_t il = 0; il < hp->n_layer; il++) {
        const gf_layer *l = &m->layers[il];
        layer_stats *s = &p->st[il];
        int64_t q = (int64_t)l->n_head * hp->head_dim, f = l->ffn_dim;
        s->ffn_sq = calloc((size_t)f, sizeof(double));
        s->att_sq = calloc((size_t)q, sizeof(double));
        if (p->need_h) {
            s->ffn_h = calloc((size_t)(f * f), sizeof(double));
            s->att_h = calloc((size_t)(q * q), sizeof(double));
        }
        if (!s->ffn_sq || !s->att_sq || (p->need_h && (!s->ffn_h || !s->att_h))) {
            gf_prune_free(p);
            return gf_fail_nomem("the pruning statistics", (size_t)(8 * (f * f + q * q)));
        }
    }
    p->plan.n_layer = hp->n_layer;
    p->plan.dim = hp->dim;
    p->plan.head_dim = hp->head_dim;
    *out = p;
    return GF_OK;
}

void gf_prune_free(gf_prune *p) {
    if (!p) return;
    if (p->st)
        for (int32_t il = 0; il < p->m->hp.n_layer; il++) {
            free(p->st[il].ffn_sq);
            free(p->st[il].att_sq);
            free(p->st[il].ffn_h);
            free(p->st[il].att_h);
        }
    if (p->plan.layers)
        for (int32_t il = 0; il < p->plan.n_layer; il++) {
            gf_prune_layer *L = &p->plan.layers[il];
            free(L->ffn_kept);
            free(L->kv_kept);
            free(L->down);
            free(L->wo);
        }
    free(p->plan.layers);
    free(p->keeps);
    free(p->st);
    free(p->json);
    free(p);
}

int gf_prune_run(gf_prune *p, int chunk) {
    gf_context *ctx = gf_calib_context(p->calib);
    gf_calib_observe(p->calib, 0);
    gf_context_set_observer(ctx, observe, p);
    int s = gf_calib_eval(p->calib, chunk, NULL);
    gf_context_set_observer(ctx, NULL, NULL);
    return s;
}

/* ---- small dense linear algebra (row-major, double) ---- */

/* a = L L^T in place (lower triangle); -1 when not positive definite */
static int cholesky(double *a, int n) {
    for (int j = 0; j < n; j++) {
        double d = a[(int64_t)j * n + j];
        for (int k = 0; k < j; k++) d -= a[(int64_t)j * n + k] * a[(int64_t)j * n + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        a[(int64_t)j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double v = a[(int64_t)i * n + j];
            const double *ai = a + (int64_t)i * n, *aj = a + (int64_t)j * n;
            for (int k = 0; k < j; k++) v -= ai[k] * aj[k];
            a[(int64_t)i * n + j] = v / d;
        }
    }
    return 0;
}

/* x (L L^T) = b for a row vector, in place (L from cholesky) */
static void chol_solve_row(const double *L, int n, double *x) {
    /* x L L^T = b  <=>  L L^T x^T = b^T (symmetric) */
    for (int i = 0; i < n; i++) {
        double v = x[i];
        for (int k = 0; k < i; k++) v -= L[(int64_t)i * n + k] * x[k];
        x[i] = v / L[(int64_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double v = x[i];
        for (int k = i + 1; k < n; k++) v -= L[(int64_t)k * n + i] * x[k];
        x[i] = v / L[(int64_t)i * n + i];
    }
}

/* inverse of the symmetric positive definite a (n x n) into inv; a is overwritten */
static int spd_inverse(double *a, int n, double *inv) {
    if (cholesky(a, n) < 0) return -1;
    for (int c = 0; c < n; c++) {
        double *row = inv + (int64_t)c * n;
        memset(row, 0, (size_t)n * sizeof *row);
        row[c] = 1;
        chol_solve_row(a, n, row);
    }
    return 0;
}

/* H (upper triangle accumulated) made full and damped: H + DAMP * mean(diag) * I */
static void symmetrize_damp(const double *h, int n, double *out) {
    double mean = 0;
    for (int i = 0; i < n; i++) mean += h[(int64_t)i * n + i];
    mean = mean / n;
    if (!(mean > 0)) mean = 1;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) out[(int64_t)i * n + j] = out[(int64_t)j * n + i] = h[(int64_t)i * n + j];
    for (int i = 0; i < n; i++) out[(int64_t)i * n + i] += DAMP * mean;
}

static float *matrix_f32(const gf_matrix *w, int64_t rows) {
    float *f = malloc((size_t)(rows * w->n) * sizeof *f);
    if (!f) return NULL;
    for (int64_t r = 0; r < rows; r++) gf_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, f + r * w->n, w->n);
    return f;
}

/* ---- the criteria: a removal order of units of `width` consecutive input columns of W (rows x n) ---- */

typedef struct {
    const float *W;      /* rows x n */
    int64_t rows;
    int32_t n, width, units;
    const double *sq;    /* per column: sum x^2 (activation) */
    const double *h;     /* accumulated second moments (hessian) */
    const double *extra; /* per unit: the squared weights of the unit's other matrices (magnitude) */
} units_in;

static int cmp_score(const void *a, const void *b) {
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : 1);
}

/* order[0..k) the units to remove first, cost[i] the marginal cost of removing order[i] */
static int order_units(gf_prune_method method, const units_in *u, int32_t k, int32_t *order, double *cost) {
    const int32_t n = u->n, wd = u->width, nu = u->units;
    if (k <= 0) return GF_OK;
    if (method != GF_PRUNE_HESSIAN) {
        double *sc = malloc((size_t)nu * 2 * sizeof *sc);
        if (!sc) return gf_fail_nomem("pruning scores", (size_t)nu * 16);
        for (int32_t q = 0; q < nu; q++) {
            double s = method == GF_PRUNE_MAGNITUDE && u->extra ? u->extra[q] : 0;
            for (int64_t i = 0; i < u->rows; i++)
                for (int32_t c = q * wd; c < (q + 1) * wd; c++) {
                    double w = u->W[i * n + c];
                    s += method == GF_PRUNE_MAGNITUDE ? w * w : fabs(w) * sqrt(u->sq[c]);
                }
            sc[2 * q] = s;
            sc[2 * q + 1] = q;
        }
        qsort(sc, (size_t)nu, 2 * sizeof *sc, cmp_score);
        for (int32_t i = 0; i < k; i++) {
            order[i] = (int32_t)sc[2 * i + 1];
            cost[i] = sc[2 * i];
        }
        free(sc);
        return GF_OK;
    }
    /* optimal brain surgeon, one unit at a time on Hinv of the remaining columns */
    double *hinv = malloc((size_t)n * n * sizeof *hinv), *tmp = malloc((size_t)n * n * sizeof *tmp);
    double *W = malloc((size_t)(u->rows * n) * sizeof *W), *M = malloc((size_t)wd * wd * sizeof *M);
    double *WS = malloc((size_t)(u->rows * wd) * sizeof *WS), *HS = malloc((size_t)wd * n * sizeof *HS);
    char *gone = calloc((size_t)nu, 1);
    int s = GF_OK;
    if (!hinv || !tmp || !W || !M || !WS || !HS || !gone) {
        s = gf_fail_nomem("the pruning inverse", (size_t)n * n * 16);
        goto done;
    }
    symmetrize_damp(u->h, n, tmp);
    if (spd_inverse(tmp, n, hinv) < 0) {
        s = gf_fail("prune: the calibration activations' second moments are not positive definite");
        goto done;
    }
    for (int64_t i = 0; i < u->rows * n; i++) W[i] = u->W[i];
    for (int32_t step = 0; step < k; step++) {
        int32_t best = -1;
        double best_cost = INFINITY;
        for (int32_t q = 0; q < nu; q++) {
            if (gone[q]) continue;
            const int32_t c0 = q * wd;
            double d = 0;
            if (wd == 1) {
                double hj = hinv[(int64_t)c0 * n + c0];
                for (int64_t i = 0; i < u->rows; i++) d += W[i * n + c0] * W[i * n + c0];
                d /= hj;
            } else {
                for (int32_t a = 0; a < wd; a++)
                    for (int32_t b = 0; b < wd; b++) M[a * wd + b] = hinv[(int64_t)(c0 + a) * n + c0 + b];
                if (cholesky(M, wd) < 0) continue;
                double *x = HS; /* scratch row */
                for (int64_t i = 0; i < u->rows; i++) {
                    for (int32_t a = 0; a < wd; a++) x[a] = W[i * n + c0 + a];
                    chol_solve_row(M, wd, x);
                    for (int32_t a = 0; a < wd; a++) d += x[a] * W[i * n + c0 + a];
                }
            }
            if (d < best_cost) best_cost = d, best = q;
        }
        if (best < 0) {
            s = gf_fail("prune: no unit could be removed (degenerate second moments)");
            goto done;
        }
        const int32_t c0 = best * wd;
        /* W -= W_S M^-1 Hinv_S,: ; Hinv -= Hinv_:,S M^-1 Hinv_S,: */
        for (int32_t a = 0; a < wd; a++)
            for (int32_t b = 0; b < wd; b++) M[a * wd + b] = hinv[(int64_t)(c0 + a) * n + c0 + b];
        if (cholesky(M, wd) < 0) {
            s = gf_fail("prune: the second moments became singular while removing units");
            goto done;
        }
        for (int64_t i = 0; i < u->rows; i++) {
            double *x = WS + i * wd;
            for (int32_t a = 0; a < wd; a++) x[a] = W[i * n + c0 + a];
            chol_solve_row(M, wd, x);
        }
        for (int32_t a = 0; a < wd; a++) memcpy(HS + (int64_t)a * n, hinv + (int64_t)(c0 + a) * n, (size_t)n * sizeof *HS);
        for (int64_t i = 0; i < u->rows; i++) {
            double *wr = W + i * n;
            const double *x = WS + i * wd;
            for (int32_t a = 0; a < wd; a++) {
                const double xa = x[a], *hs = HS + (int64_t)a * n;
                for (int32_t j = 0; j < n; j++) wr[j] -= xa * hs[j];
            }
            for (int32_t a = 0; a < wd; a++) wr[c0 + a] = 0;
        }
        /* Hinv_:,S M^-1: rows of Hinv_S,: solved, per column j */
        for (int32_t j = 0; j < n; j++) {
            double y[wd > 0 ? wd : 1];
            for (int32_t a = 0; a < wd; a++) y[a] = HS[(int64_t)a * n + j];
            chol_solve_row(M, wd, y);
            double *hr = hinv + (int64_t)j * n;
            for (int32_t a = 0; a < wd; a++) {
                const double ya = y[a], *hs = HS + (int64_t)a * n;
                for (int32_t i = 0; i < n; i++) hr[i] -= ya * hs[i];
            }
        }
        for (int32_t a = 0; a < wd; a++) {
            int64_t c = c0 + a;
            for (int32_t j = 0; j < n; j++) hinv[c * n + j] = hinv[(int64_t)j * n + c] = 0;
            hinv[c * n + c] = 1; /* a removed column no longer couples to anything */
        }
        gone[best] = 1;
        order[step] = best;
        cost[step] = best_cost;
    }
done:
    free(hinv);
    free(tmp);
    free(W);
    free(M);
    free(WS);
    free(HS);
    free(gone);
    return s;
}

/* Least-squares refit of the kept columns K: W_K' = W H[:, K] (H_KK + damp)^-1, minimizing the output error on
 * the calibration activations; out: rows x nk. err: the predicted output error per token, before (no refit) and
 * after. */
static int refit(const float *W, int64_t rows, int32_t n, const double *h_acc, int64_t count, const int32_t *kept, int32_t nk, float *out,
                 double *err_plain, double *err_fit) {
    double *H = malloc((size_t)n * n * sizeof *H), *L = malloc((size_t)nk * nk * sizeof *L), *a = malloc((size_t)n * sizeof *a);
    double *d = malloc((size_t)n * sizeof *d), *hd = malloc((size_t)n * sizeof *hd);
    char *in = calloc((size_t)n, 1);
    int s = GF_OK;
    if (!H || !L || !a || !d || !hd || !in) {
        s = gf_fail_nomem("the pruning refit", (size_t)n * n * 8);
        goto done;
    }
    /* H undamped for the errors, damped for the solve */
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) H[(int64_t)i * n + j] = H[(int64_t)j * n + i] = h_acc[(int64_t)i * n + j];
    double mean = 0;
    for (int i = 0; i < n; i++) mean += H[(int64_t)i * n + i];
    mean = mean > 0 ? mean / n : 1;
    for (int32_t a_ = 0; a_ < nk; a_++) {
        in[kept[a_]] = 1;
        for (int32_t b = 0; b < nk; b++) L[(int64_t)a_ * nk + b] = H[(int64_t)kept[a_] * n + kept[b]];
        L[(int64_t)a_ * nk + a_] += DAMP * mean;
    }
    if (cholesky(L, nk) < 0) {
        s = gf_fail("prune: the kept inputs' second moments are singular");
        goto done;
    }
    *err_plain = *err_fit = 0;
    for (int64_t i = 0; i < rows; i++) {
        const float *wr = W + i * n;
        /* a = (W H)_i restricted to K */
        for (int32_t c = 0; c < nk; c++) {
            const double *hr = H + (int64_t)kept[c] * n;
            double v = 0;
            for (int32_t j = 0; j < n; j++) v += wr[j] * hr[j];
            a[c] = v;
        }
        chol_solve_row(L, nk, a);
        for (int32_t c = 0; c < nk; c++) out[i * nk + c] = (float)a[c];
        /* errors d H d^T: d = W_i with the kept columns zeroed (plain) or replaced by the refit */
        for (int pass = 0; pass < 2; pass++) {
            for (int32_t j = 0; j < n; j++) d[j] = in[j] ? 0 : wr[j];
            if (pass)
                for (int32_t c = 0; c < nk; c++) d[kept[c]] = wr[kept[c]] - a[c];
            double e = 0;
            for (int32_t j = 0; j < n; j++) {
                if (d[j] == 0) continue;
                const double *hr = H + (int64_t)j * n;
                double v = 0;
                for (int32_t q = 0; q < n; q++) v += hr[q] * d[q];
                e += d[j] * v;
            }
            *(pass ? err_fit : err_plain) += e / (double)(count ? count : 1);
        }
    }
done:
    free(H);
    free(L);
    free(a);
    free(d);
    free(hd);
    free(in);
    return s;
}

/* kept = all units but the first n_remove of order, ascending */
static int32_t *kept_units(int32_t n_units, const int32_t *order, int32_t n_remove) {
    char *gone = calloc((size_t)n_units, 1);
    int32_t *kept = malloc((size_t)(n_units - n_remove) * sizeof *kept);
    if (!gone || !kept) {
        free(gone);
        free(kept);
        return NULL;
    }
    for (int32_t i = 0; i < n_remove; i++) gone[order[i]] = 1;
    int32_t k = 0;
    for (int32_t q = 0; q < n_units; q++)
        if (!gone[q]) kept[k++] = q;
    free(gone);
    return kept;
}

static int32_t ffn_keep_for(int32_t n, double share) {
    if (share <= 0) return n;
    if (n % FFN_STEP) {
        int32_t k = (int32_t)lround((1 - share) * n);
        return k < 1 ? 1 : k;
    }
    int32_t k = (int32_t)lround((1 - share) * n / FFN_STEP) * FFN_STEP;
    return k < FFN_STEP ? FFN_STEP : k > n ? n : k;
}

static double row_sq(const gf_matrix *w, int64_t r, float *buf) {
    gf_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, buf, w->n);
    double s = 0;
    for (int32_t j = 0; j < w->n; j++) s += (double)buf[j] * buf[j];
    return s;
}

int gf_prune_select(gf_prune *p) {
    gf_model *m = p->m;
    const gf_hparams *hp = &m->hp;
    const int32_t nl = hp->n_layer, hd = hp->head_dim;
    if (p->selected) return gf_fail("prune: units already selected");
    for (int32_t il = 0; il < nl; il++) {
        const layer_stats *s = &p->st[il];
        if ((p->need_sq || p->need_h) && (!s->ffn_count || !s->att_count))
            return gf_fail("prune: the %s needs calibration text (no activations were observed in layer %d)",
                           p->opt.method != GF_PRUNE_MAGNITUDE ? "criterion" : "compensation", il);
    }
    int s = GF_OK;
    int32_t *kv_order = NULL, *kv_count = NULL;
    double *kv_cost = NULL;
    float *buf = malloc((size_t)hp->dim * sizeof *buf);
    int32_t max_kv = hp->n_head_kv;
    kv_order = malloc((size_t)nl * max_kv * sizeof *kv_order);
    kv_cost = malloc((size_t)nl * max_kv * sizeof *kv_cost);
    kv_count = calloc((size_t)nl, sizeof *kv_count);
    if (!buf || !kv_order || !kv_cost || !kv_count) {
        s = gf_fail_nomem("the pruning plan", (size_t)nl * max_kv * 12);
        goto done;
    }
    /* FFN: per layer; heads: each layer's removal order, then the cheapest over all layers */
    int64_t total_kv = 0, removable_kv = 0;
    for (int32_t il = 0; il < nl; il++) total_kv += m->layers[il].n_head_kv, removable_kv += m->layers[il].n_head_kv - 1;
    int64_t kv_remove = p->opt.kv_keep ? 0 : llround(p->opt.heads * (double)total_kv);
    if (kv_remove > removable_kv) {
        s = gf_fail("prune: heads share %g removes %lld of %lld KV groups; at most %lld can go (every layer keeps one)", p->opt.heads,
                    (long long)kv_remove, (long long)total_kv, (long long)removable_kv);
        goto done;
    }
    for (int32_t il = 0; il < nl && s == GF_OK; il++) {
        const gf_layer *l = &m->layers[il];
        layer_stats *st = &p->st[il];
        gf_prune_layer *L = &p->plan.layers[il];
        const int32_t f = l->ffn_dim, nkv = l->n_head_kv, group = l->n_head / l->n_head_kv;
        const int32_t qd = l->n_head * hd;
        L->ffn_in = f;
        L->ffn_out = p->opt.ffn_keep ? p->opt.ffn_keep[il] : ffn_keep_for(f, p->opt.ffn);
        L->kv_in = nkv;
        L->group = group;
        /* FFN neurons */
        float *down = matrix_f32(&l->w_down, hp->dim);
        double *extra = calloc((size_t)(f > nkv ? f : nkv), sizeof *extra);
        int32_t *order = malloc((size_t)f * sizeof *order);
        double *cost = malloc((size_t)f * sizeof *cost);
        if (!down || !extra || !order || !cost) {
            s = gf_fail_nomem("the pruning scores", (size_t)hp->dim * f * 4);
        } else {
            if (p->opt.method == GF_PRUNE_MAGNITUDE)
                for (int32_t j = 0; j < f; j++) extra[j] = row_sq(&l->w_gate, j, buf) + row_sq(&l->w_up, j, buf);
            units_in u = {down, hp->dim, f, 1, f, st->ffn_sq, st->ffn_h, extra};
            s = order_units(p->opt.method, &u, f - L->ffn_out, order, cost);
            if (s == GF_OK && !(L->ffn_kept = kept_units(f, order, f - L->ffn_out))) s = gf_fail_nomem("the kept neurons", (size_t)f * 4);
            if (s == GF_OK && p->opt.compensate && L->ffn_out < f) {
                if (!(L->down = malloc((size_t)hp->dim * L->ffn_out * sizeof(float)))) s = gf_fail_nomem("the refitted ffn_down", (size_t)hp->dim * f * 4);
                else {
                    double plain, fit;
                    s = refit(down, hp->dim, f, st->ffn_h, st->ffn_count, L->ffn_kept, L->ffn_out, L->down, &plain, &fit);
                    st->ffn_err = fit;
                }
            } else if (s == GF_OK && p->need_h && L->ffn_out < f) {
                float *scratch = malloc((size_t)hp->dim * L->ffn_out * sizeof(float));
                double plain = 0, fit;
                if (scratch) s = refit(down, hp->dim, f, st->ffn_h, st->ffn_count, L->ffn_kept, L->ffn_out, scratch, &plain, &fit);
                st->ffn_err = plain;
                free(scratch);
            }
        }
        free(down);
        free(order);
        free(cost);
        /* KV groups: this layer's order (all but one may go) */
        if (s == GF_OK) {
            float *wo = matrix_f32(&l->wo, hp->dim);
            if (!wo) s = gf_fail_nomem("attn_output", (size_t)hp->dim * qd * 4);
            else {
                if (p->opt.method == GF_PRUNE_MAGNITUDE)
                    for (int32_t k = 0; k < nkv; k++) {
                        extra[k] = 0;
                        for (int32_t r = k * group * hd; r < (k + 1) * group * hd; r++) extra[k] += row_sq(&l->wq, r, buf);
                        for (int32_t r = k * hd; r < (k + 1) * hd; r++) extra[k] += row_sq(&l->wk, r, buf) + row_sq(&l->wv, r, buf);
                    }
                units_in u = {wo, hp->dim, qd, group * hd, nkv, st->att_sq, st->att_h, extra};
                int32_t k = p->opt.kv_keep ? nkv - p->opt.kv_keep[il] : nkv - 1;
                s = order_units(p->opt.method, &u, k, kv_order + (int64_t)il * max_kv, kv_cost + (int64_t)il * max_kv);
                kv_count[il] = k;
            }
            free(wo);
        }
        free(extra);
    }
    /* how many KV groups each layer loses: given, or the cheapest marginal costs over all layers */
    int32_t *take = calloc((size_t)nl, sizeof *take);
    if (s == GF_OK && !take) s = gf_fail_nomem("the pruning plan", (size_t)nl * 4);
    if (s == GF_OK) {
        if (p->opt.kv_keep)
            for (int32_t il = 0; il < nl; il++) take[il] = kv_count[il];
        else
            for (int64_t r = 0; r < kv_remove; r++) {
                int32_t best = -1;
                for (int32_t il = 0; il < nl; il++)
                    if (take[il] < kv_count[il] &&
                        (best < 0 || kv_cost[(int64_t)il * max_kv + take[il]] < kv_cost[(int64_t)best * max_kv + take[best]]))
                        best = il;
                take[best]++;
            }
    }
    for (int32_t il = 0; il < nl && s == GF_OK; il++) {
        const gf_layer *l = &m->layers[il];
        layer_stats *st = &p->st[il];
        gf_prune_layer *L = &p->plan.layers[il];
        L->kv_out = L->kv_in - take[il];
        if (!(L->kv_kept = kept_units(L->kv_in, kv_order + (int64_t)il * max_kv, take[il]))) {
            s = gf_fail_nomem("the kept heads", (size_t)L->kv_in * 4);
            break;
        }
        if (!p->need_h || L->kv_out == L->kv_in) continue;
        /* the kept groups' columns of attn_output, refitted (compensate) or as they are */
        const int32_t qd = l->n_head * hd, w = L->group * hd, nk = L->kv_out * w;
        int32_t *cols = malloc((size_t)nk * sizeof *cols);
        float *wo = matrix_f32(&l->wo, hp->dim), *fit_out = malloc((size_t)hp->dim * nk * sizeof(float));
        if (!cols || !wo || !fit_out) s = gf_fail_nomem("the refitted attn_output", (size_t)hp->dim * qd * 4);
        else {
            for (int32_t k = 0; k < L->kv_out; k++)
                for (int32_t c = 0; c < w; c++) cols[k * w + c] = L->kv_kept[k] * w + c;
            double plain, fit;
            s = refit(wo, hp->dim, qd, st->att_h, st->att_count, cols, nk, fit_out, &plain, &fit);
            st->att_err = p->opt.compensate ? fit : plain;
            if (s == GF_OK && p->opt.compensate) L->wo = fit_out, fit_out = NULL;
        }
        free(cols);
        free(wo);
        free(fit_out);
    }
    free(take);
    if (s == GF_OK) {
        p->selected = 1;
        for (int32_t il = 0; il < nl; il++) {
            p->ffn_removed += p->plan.layers[il].ffn_in - p->plan.layers[il].ffn_out;
            p->kv_removed += p->plan.layers[il].kv_in - p->plan.layers[il].kv_out;
        }
    }
done:
    free(buf);
    free(kv_order);
    free(kv_cost);
    free(kv_count);
    return s;
}

const gf_prune_plan *gf_prune_get_plan(const gf_prune *p) { return p->selected ? &p->plan : NULL; }

int gf_prune_reselect(gf_prune *p, double ffn, double heads, const int32_t *ffn_keep, const int32_t *kv_keep) {
    const int32_t nl = p->m->hp.n_layer;
    if (check_share(ffn, "ffn") < 0 || check_share(heads, "heads") < 0) return GF_ERR;
    for (int32_t il = 0; il < nl; il++) {
        gf_prune_layer *L = &p->plan.layers[il];
        free(L->ffn_kept);
        free(L->kv_kept);
        free(L->down);
        free(L->wo);
        memset(L, 0, sizeof *L);
        p->st[il].ffn_err = p->st[il].att_err = 0;
    }
    free(p->json);
    p->json = NULL;
    p->selected = 0;
    p->ffn_removed = p->kv_removed = 0;
    if (!p->keeps && !(p->keeps = calloc(2 * (size_t)nl, sizeof *p->keeps))) return gf_fail_nomem("the pruning tables", (size_t)nl * 8);
    p->opt.ffn = ffn;
    p->opt.heads = heads;
    p->opt.ffn_keep = p->opt.kv_keep = NULL;
    for (int32_t il = 0; il < nl; il++) {
        const gf_layer *l = &p->m->layers[il];
        p->keeps[il] = ffn_keep ? ffn_keep[il] : l->ffn_dim;
        p->keeps[nl + il] = kv_keep ? kv_keep[il] : l->n_head_kv;
        if (p->keeps[il] < 1 || p->keeps[il] > l->ffn_dim || p->keeps[nl + il] < 1 || p->keeps[nl + il] > l->n_head_kv)
            return gf_fail("prune: layer %d cannot keep %d of %d neurons and %d of %d KV heads", il, p->keeps[il], l->ffn_dim, p->keeps[nl + il],
                           l->n_head_kv);
    }
    if (ffn_keep) p->opt.ffn_keep = p->keeps;
    if (kv_keep) p->opt.kv_keep = p->keeps + nl;
    return gf_prune_select(p);
}

const char *gf_prune_json(const gf_prune *p) {
    if (!p->selected) return "null";
    if (p->json) return p->json;
    size_t cap = 256 + (size_t)p->plan.n_layer * 160;
    gf_prune *mp = (gf_prune *)p;
    if (!(mp->json = malloc(cap))) return "null";
    size_t n = (size_t)snprintf(mp->json, cap, "{\"method\":\"%s\",\"compensate\":%s,\"ffnRemoved\":%d,\"kvRemoved\":%d,\"layers\":[",
                                gf_prune_method_name(p->opt.method), p->opt.compensate ? "true" : "false", p->ffn_removed, p->kv_removed);
    for (int32_t il = 0; il < p->plan.n_layer && n < cap; il++) {
        const gf_prune_layer *L = &p->plan.layers[il];
        n += (size_t)snprintf(mp->json + n, cap - n, "%s{\"ffn\":[%d,%d],\"kvHeads\":[%d,%d],\"heads\":[%d,%d],\"ffnError\":%.6g,\"attnError\":%.6g}",
                              il ? "," : "", L->ffn_in, L->ffn_out, L->kv_in, L->kv_out, L->kv_in * L->group, L->kv_out * L->group,
                              p->st[il].ffn_err, p->st[il].att_err);
    }
    if (n < cap) snprintf(mp->json + n, cap - n, "]}");
    return p->json;
}
