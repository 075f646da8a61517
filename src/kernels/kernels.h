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
#include "quant/registry.h"

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

/* The matmul kernels, one per computable type (kernels.c's table, indexed
 * by type id): gf_matmul_<t>_simd128 in the SIMD builds, gf_matmul_ref in
 * the scalar build. */
typedef void (*gf_matmul_fn)(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                             size_t y_stride);
gf_matmul_fn gf_matmul_kernel(uint32_t type); /* NULL: this build has none for the type */
/* Every computable registry row has a kernel, a reference dot and a
 * dequantizer, and no other row has a kernel: GF_OK, or an error naming the
 * type. Run at start-up (gf_model_plan) and by the kernel tests. */
int gf_kernels_check(void);

/* ---- f32 vector ops (attention, norms) ---- */
float gf_dot_f32(const float *a, const float *b, int n);
void gf_axpy_f32(float *y, float a, const float *x, int n); /* y += a * x */
void gf_scale_f32(float *y, float a, int n);                /* y *= a */
/* gate = SiLU(gate) * up = gate / (1 + e^-gate) * up, e^x as exp_poly.h */
void gf_swiglu_f32(float *gate, const float *up, int n);

/* ---- references, for tests ---- */
void gf_matmul_ref(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                   size_t y_stride);
float gf_dot_f32_ref(const float *a, const float *b, int n);
void gf_axpy_f32_ref(float *y, float a, const float *x, int n);
void gf_scale_f32_ref(float *y, float a, int n);
void gf_swiglu_f32_ref(float *gate, const float *up, int n);

#if defined(__wasm_simd128__)
#define GF_HAVE_SIMD128 1
void gf_quantize_act_row_simd128(gf_act_format f, const float *x, void *dst, int n);
/* through the table (any computable type) */
void gf_matmul_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                       size_t y_stride);
/* per type: the table's entries (kernels_simd128.c; src/kernels/<t>_simd128.c for newer types) */
#define GF_DECLARE_MATMUL_SIMD128(t)                                                                                   \
    void gf_matmul_##t##_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, \
                                 size_t y_stride)
GF_DECLARE_MATMUL_SIMD128(f32);
GF_DECLARE_MATMUL_SIMD128(f16);
GF_DECLARE_MATMUL_SIMD128(q4_0);
GF_DECLARE_MATMUL_SIMD128(q4_1);
GF_DECLARE_MATMUL_SIMD128(q8_0);
GF_DECLARE_MATMUL_SIMD128(q4_K);
GF_DECLARE_MATMUL_SIMD128(q5_K);
GF_DECLARE_MATMUL_SIMD128(q6_K);
GF_DECLARE_MATMUL_SIMD128(q5_0);   /* kernels_simd128.c too: 32-element blocks against Q8_0 */
GF_DECLARE_MATMUL_SIMD128(iq4_nl);
GF_DECLARE_MATMUL_SIMD128(q5_1);   /* kernels/q5_1_simd128.c */
GF_DECLARE_MATMUL_SIMD128(q3_K);   /* kernels/q3_K_simd128.c */
GF_DECLARE_MATMUL_SIMD128(q2_K);   /* kernels/q2_K_simd128.c */
GF_DECLARE_MATMUL_SIMD128(iq4_xs); /* kernels/iq4_xs_simd128.c */
GF_DECLARE_MATMUL_SIMD128(bf16);   /* kernels/bf16_simd128.c */
/* gf_quantize_act_row_ref(GF_ACT_BF16)'s bytes, four lanes at a time (bf16_simd128.c). */
void gf_quantize_act_row_bf16_simd128(const float *x, void *dst, int64_t n);
float gf_dot_f32_simd128(const float *a, const float *b, int n);
void gf_axpy_f32_simd128(float *y, float a, const float *x, int n);
void gf_scale_f32_simd128(float *y, float a, int n);
void gf_swiglu_f32_simd128(float *gate, const float *up, int n);
#endif

/* Name of the kernel set compiled in ("simd128+relaxed", "simd128+relaxed16", "simd128", "scalar"), for info(). */
const char *gf_kernels_name(void);

#endif
