/* Pruning in the size planner: the mix's knapsack (mix.h) with, per layer,
 * a pruning option for the FFN (keep all, 7/8, 3/4 or 5/8 of the neurons)
 * and for attention (keep all KV groups, or one or two fewer), each
 * measured like a type: that layer alone pruned (prune.h's criterion, with
 * its refit), the calibration chunks run, the mean KL from the reference.
 *
 * The knapsack's items are then groups: a layer's FFN (gate, up, down) with
 * its pruning options, each option scaling the three matrices' bits and
 * adding its KL, the matrices' types chosen within it; likewise attention
 * (q, k, v, output); the other matrices as before. The budget is the
 * unpruned model's elements times the target bits per weight, i.e. the size
 * of that mix without pruning, so a pruned plan is the better file at the
 * same size. Quantizing a pruned matrix is assumed to cost the KL measured
 * for the whole one (types are measured before pruning; docs/pruning.md
 * checks the prediction against the file). */
#ifndef GF_MIX_PRUNE_H
#define GF_MIX_PRUNE_H

#include "tools/mix.h"
#include "tools/prune.h"

typedef struct gf_mix_prune gf_mix_prune;

/* Over a measured mix (gf_mix_measure done for every step). */
int gf_mix_prune_new(gf_mix *x, gf_prune_method method, gf_mix_prune **out);
void gf_mix_prune_free(gf_mix_prune *mp);
int gf_mix_prune_steps(const gf_mix_prune *mp);
int gf_mix_prune_measure(gf_mix_prune *mp, int step);
/* Types and pruning for target bits per weight of the unpruned model. */
int gf_mix_prune_assign(gf_mix_prune *mp, double target_bpw);
/* {"target","bytes","predictedKl","predictedKlTypesOnly","mainType","method",
 *  "layers":[{"ffn":kept,"kvHeads":kept,"ffnOptions":[{"keep","kl"}],"kvOptions":[...]}],
 *  "tensors":[{"name","type"}]} */
const char *gf_mix_prune_json(const gf_mix_prune *mp);

#endif
