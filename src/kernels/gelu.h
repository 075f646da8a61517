/* GELU (tanh approximation) as llama.cpp's CPU backend evaluates it: on the
 * input rounded to f16, the result rounded to f16 (its lookup table), 0 at
 * or below -10, the input itself at or above 10.
 *
 * Since the result depends only on the input's f16 bits (inside (-10, 10)),
 * the kernels read it from a table of every f16 input's result, filled once
 * by the reference formula: the same bits, without a tanhf per element. The
 * formula per element (libc tanhf -> expm1f) was 19% of gemma3-270m's
 * one-thread prefill (relaxed16, Node CPU profile, 2026-12-07). */
#ifndef GF_GELU_H
#define GF_GELU_H

/* The reference: one element by the formula. */
float gf_gelu_f16_ref(float x);
/* x = GELU(x), and gate = GELU(gate) * up, by the formula (tests). */
void gf_gelu_f32_ref(float *x, int n);
void gf_geglu_f32_ref(float *gate, const float *up, int n);

/* Fills the table (once; later calls return at once). The kernels below call
 * it too, but in a multithreaded pass call it first, on one thread. */
void gf_gelu_prepare(void);
/* The table: entry h = the formula (without the clamps) at the f16 value
 * with bits h; inputs outside (-10, 10) never read it. Valid after
 * gf_gelu_prepare. */
extern float gf_gelu_table[65536];
/* One element through the table; the kernels' scalar lanes. */
float gf_gelu_f16_table(float x);

/* The kernels: SIMD128 where compiled in, else element by element through
 * the table. Equal to the references bit for bit (NaN as NaN). */
void gf_gelu_f32(float *x, int n);
void gf_geglu_f32(float *gate, const float *up, int n);
#if defined(__wasm_simd128__)
void gf_gelu_f32_simd128(float *x, int n);
void gf_geglu_f32_simd128(float *gate, const float *up, int n);
#endif

#endif
