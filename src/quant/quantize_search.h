/* Scale searches shared by the block quantizers (quantize.c, quantize_k.c).
 * Each returns the weighted squared error of the solution it stores, so a
 * caller can compare it with other candidates. w may be NULL (all 1). */
#ifndef GF_QUANTIZE_SEARCH_H
#define GF_QUANTIZE_SEARCH_H

#include <math.h>
#include <stdint.h>

/* Round half to even, as llama.cpp's nearest_int (its float trick) does
 * for every value a quantizer produces. */
static inline int gf_nearest_int(float v) { return (int)nearbyintf(v); }

static inline int gf_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* x ~ d * L with integer L in [lo, hi] (lo < 0 < hi). Tries scales that put
 * the largest-magnitude element near either end of the range, refits d by
 * weighted least squares and requantizes. half: d must survive rounding to
 * fp16 (it is stored as such), so every refit is rounded first. */
float gf_search_sym(const float *x, const float *w, int n, int lo, int hi, int half, int steps, int8_t *L, float *err);

/* x ~ d * L + m with L in [0, nmax], d >= 0. nonpos_m: m <= 0 (K-quants
 * store -m with an unsigned code). half: d and m are stored as fp16. */
float gf_search_asym(const float *x, const float *w, int n, int nmax, int nonpos_m, int half, int steps, uint8_t *L, float *m,
                     float *err);

#endif
