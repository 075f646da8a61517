/* Compute kernels: every function has a scalar reference (kernels_scalar.c)
 * and, in wasm builds, a SIMD128 version (kernels_simd128.c) with the same
 * signature; built with -mrelaxed-simd (the greenformer-relaxed builds) the
 * SIMD version's integer dot products use relaxed SIMD, with the same
 * results. The unsuffixed names dispatch to the best one compiled in;
 * tests call both and hold them equal.
 *
 * Weights are rows of a GGUF tensor (ne[0] = n elements per row, rows
 * contiguous). Activations are first quantized to the format the weight type
 * consumes (quant.h: gf_act_format_for), once per matmul. */
#ifndef GF_KERNELS_H
#define GF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"

/* A matrix operand: rows of a weight tensor. */
typedef struct {
    uint32_t type;    /* gf_type */
    int n;            /* elements per row */
    size_t row_bytes; /* bytes per row */
    const void *data;
} gf_matrix;

/* ---- activation quantization ---- */
void gf_quantize_act_row(gf_act_format f, const float *x, void *dst, int n);

/* ---- matrix x activations ----
 * y[t * y_stride + r] = dot(W row r, act row t) for r in [r0, r1), t < n_tok.
 * act rows are in W's activation format, act_stride bytes apart, as
 * gf_quantize_act_row writes them: 8-bit quants in [-127, 127] (the
 * relaxed-SIMD Q8_0 kernel relies on it: never -128).
 * The result for a given (r, t) must not depend on r0/r1 or n_tok, so that
 * splitting rows across threads never changes a single bit. The SIMD version
 * uses ~20 KB of stack (prepared activations) and allocates nothing. */
void gf_matmul(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
               size_t y_stride);

/* ---- f32 vector ops (attention, norms) ---- */
float gf_dot_f32(const float *a, const float *b, int n);
void gf_axpy_f32(float *y, float a, const float *x, int n); /* y += a * x */
void gf_scale_f32(float *y, float a, int n);                /* y *= a */
/* gate = SiLU(gate) * up = gate / (1 + e^-gate) * up, e^x as exp_poly.h */
void gf_swiglu_f32(float *gate, const float *up, int n);

/* ---- references, for tests ---- */
float gf_dot_ref(uint32_t wtype, int n, const void *w_row, const void *act_row);
void gf_matmul_ref(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                   size_t y_stride);
float gf_dot_f32_ref(const float *a, const float *b, int n);
void gf_axpy_f32_ref(float *y, float a, const float *x, int n);
void gf_scale_f32_ref(float *y, float a, int n);
void gf_swiglu_f32_ref(float *gate, const float *up, int n);

#if defined(__wasm_simd128__)
#define GF_HAVE_SIMD128 1
void gf_quantize_act_row_simd128(gf_act_format f, const float *x, void *dst, int n);
void gf_matmul_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                       size_t y_stride);
float gf_dot_f32_simd128(const float *a, const float *b, int n);
void gf_axpy_f32_simd128(float *y, float a, const float *x, int n);
void gf_scale_f32_simd128(float *y, float a, int n);
void gf_swiglu_f32_simd128(float *gate, const float *up, int n);
#endif

/* Name of the kernel set compiled in ("simd128+relaxed", "simd128+relaxed16", "simd128", "scalar"), for info(). */
const char *gf_kernels_name(void);

#endif
