/* Mixed precision by measurement.
 *
 * Sensitivity: with the model's original (F32/F16) weights as reference,
 * each matrix in turn is replaced by a quantized copy (search method,
 * calibration importance) of each candidate type, the calibration chunks
 * are run, and the mean KL divergence of the next-token distributions from
 * the reference's is recorded; then the matrix is restored.
 *
 * Assignment: treating the errors of different matrices as additive, the
 * types with the least total KL whose size fits the budget (target bits per
 * weight, all tensors counted, vectors as F32): an exact multiple-choice
 * knapsack solved by dynamic programming over the budget in small steps
 * (a greedy by KL-per-bit misses upgrades of large tensors, such as the
 * embedding table, that only fit when chosen early). */
#ifndef GF_MIX_H
#define GF_MIX_H

#include "tools/calibrate.h"
#include "tools/transcode.h"

/* The most candidate types a mix weighs (every type the quantizer writes; mix.c fails loudly beyond it). */
#define GF_MIX_MAX_CANDIDATES 16

typedef struct gf_mix gf_mix;

/* Uses at most max_chunks calibration chunks (and at most 64 MB of reference
 * log-probabilities). Statistics gathering stops: calibrate first. */
int gf_mix_new(gf_calib *c, int max_chunks, gf_mix **out);
void gf_mix_free(gf_mix *x);

/* Measurement steps (matrices x candidate types); each one is independent. */
int gf_mix_steps(const gf_mix *x);
int gf_mix_measure(gf_mix *x, int step);

/* Chooses types for target bits per weight (after every step was measured). */
int gf_mix_assign(gf_mix *x, double target_bpw);
/* {"target", "bitsPerWeight", "predictedKl", "tokens", "mainType",
 *  "tensors": [{"name", "type", "kl": {type: KL}}]} */
const char *gf_mix_json(const gf_mix *x);
/* Sets the chosen type of every matrix on the transcoder. */
int gf_mix_apply(const gf_mix *x, gf_transcoder *t);

/* ---- for mix_prune.c (pruning options in the same knapsack) ---- */
int gf_mix_n_candidates(const gf_mix *x);
uint32_t gf_mix_candidate(const gf_mix *x, int k);
int gf_mix_n_matrices(const gf_mix *x);
double gf_mix_kl(const gf_mix *x, int i, int k);   /* NAN: not measured / does not fit */
gf_calib *gf_mix_calib(gf_mix *x);
/* Mean KL of the model as it is now (a caller's change in place) from the reference, on the mix's chunks. */
int gf_mix_measure_model(gf_mix *x, double *kl);
/* The types with least KL within target bits per weight (gf_mix_assign's knapsack), its predicted KL. */
double gf_mix_predicted_kl(const gf_mix *x);

#endif
