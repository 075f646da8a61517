/* Structured pruning: whole FFN neurons (a row of ffn_gate and ffn_up with
 * the matching column of ffn_down) and whole KV groups of attention heads
 * (a KV head's rows of attn_k / attn_v, its query heads' rows of attn_q and
 * columns of attn_output) removed per layer, chosen by an importance
 * criterion, optionally with the kept columns of ffn_down / attn_output
 * refitted by least squares on the calibration activations.
 *
 * Criteria (docs/pruning.md measures them):
 *   magnitude   sum of the unit's squared weights (no calibration)
 *   activation  Wanda-style: sum over the unit's input column(s) c of the
 *               matrix it feeds (ffn_down, attn_output) of |W_ic| * ||x_c||,
 *               ||x_c|| the column's activation norm over the calibration text
 *   hessian     optimal brain surgeon on H = sum x x^T of those inputs: units
 *               removed one at a time, each the one whose removal (with the
 *               other columns compensated) raises the output error least,
 *               tr(W_S (Hinv_SS)^-1 W_S^T), and Hinv and W updated after it
 *
 * Every unit removed from ffn_down's or attn_output's input removes exactly
 * those columns' contribution to the layer's output, so the criteria score
 * the unit on the matrix whose input it is. GQA: heads go in whole KV groups
 * (a KV head and the query heads that read it), so every layer keeps
 * head_count = group * head_count_kv with the file's group size, which
 * llama.cpp's per-layer layout requires. A layer keeps at least one KV group
 * and 32 neurons; FFN sizes are multiples of 32 (Q4_0/Q8_0 rows of
 * ffn_down stay whole blocks). */
#ifndef GF_PRUNE_H
#define GF_PRUNE_H

#include <stdint.h>

#include "tools/calibrate.h"

typedef enum { GF_PRUNE_MAGNITUDE, GF_PRUNE_ACTIVATION, GF_PRUNE_HESSIAN } gf_prune_method;

typedef struct {
    double ffn;              /* share of each layer's FFN neurons to remove, 0 <= ffn < 1 */
    double heads;            /* share of all KV groups to remove (over all layers; the criterion picks the layers) */
    gf_prune_method method;
    int compensate;          /* refit the kept columns of ffn_down / attn_output by least squares */
    const int32_t *ffn_keep; /* NULL, or per layer the neurons to keep (overrides ffn) */
    const int32_t *kv_keep;  /* NULL, or per layer the KV groups to keep (overrides heads) */
} gf_prune_options;

int gf_prune_method_parse(const char *name); /* "magnitude" | "activation" | "hessian", or an error */
const char *gf_prune_method_name(gf_prune_method m);

/* What the writer needs: per layer the kept units (ascending) and the
 * refitted matrices when compensated (dim rows of the kept columns). */
typedef struct {
    int32_t ffn_in, ffn_out, *ffn_kept;
    int32_t kv_in, kv_out, *kv_kept; /* KV groups */
    int32_t group;                   /* query heads per KV head */
    float *down, *wo;                /* NULL: the kept columns as they are */
} gf_prune_layer;

typedef struct {
    int32_t n_layer, dim, head_dim;
    gf_prune_layer *layers;
} gf_prune_plan;

typedef struct gf_prune gf_prune;

/* A session over a calibration session (borrowed: it holds the model and
 * the text). The statistics the criterion needs are gathered by
 * gf_prune_run over the calibration chunks. */
int gf_prune_new(gf_calib *c, const gf_prune_options *opt, gf_prune **out);
void gf_prune_free(gf_prune *p);
int gf_prune_run(gf_prune *p, int chunk);
/* Chooses the units (and refits); after it, the plan and its JSON. */
int gf_prune_select(gf_prune *p);
const gf_prune_plan *gf_prune_get_plan(const gf_prune *p);
/* Chooses again from the same statistics with other shares or per-layer counts (the size planner tries several). */
int gf_prune_reselect(gf_prune *p, double ffn, double heads, const int32_t *ffn_keep, const int32_t *kv_keep);
/* {"method","compensate","ffnRemoved","kvRemoved","layers":[{"ffn":[in,out],"kvHeads":[in,out],"heads":[in,out],
 *  "ffnError","attnError"}]}: the errors are the predicted output error energy per token (hessian or compensated). */
const char *gf_prune_json(const gf_prune *p);

#endif
