/* Dispatch: the best kernel set compiled into this build. */
#include "kernels/kernels.h"

#if GF_HAVE_SIMD128
#if defined(__wasm_relaxed_simd__) && defined(GF_DOT16)
const char *gf_kernels_name(void) { return "simd128+relaxed16"; }
#elif defined(__wasm_relaxed_simd__)
const char *gf_kernels_name(void) { return "simd128+relaxed"; }
#else
const char *gf_kernels_name(void) { return "simd128"; }
#endif
void gf_quantize_act_row(gf_act_format f, const float *x, void *dst, int n) { gf_quantize_act_row_simd128(f, x, dst, n); }
void gf_matmul(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    gf_matmul_simd128(w, r0, r1, act, act_stride, n_tok, y, y_stride);
}
float gf_dot_f32(const float *a, const float *b, int n) { return gf_dot_f32_simd128(a, b, n); }
void gf_axpy_f32(float *y, float a, const float *x, int n) { gf_axpy_f32_simd128(y, a, x, n); }
void gf_scale_f32(float *y, float a, int n) { gf_scale_f32_simd128(y, a, n); }
void gf_swiglu_f32(float *gate, const float *up, int n) { gf_swiglu_f32_simd128(gate, up, n); }
#else
const char *gf_kernels_name(void) { return "scalar"; }
void gf_quantize_act_row(gf_act_format f, const float *x, void *dst, int n) { gf_quantize_act_row_ref(f, x, dst, n); }
void gf_matmul(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    gf_matmul_ref(w, r0, r1, act, act_stride, n_tok, y, y_stride);
}
float gf_dot_f32(const float *a, const float *b, int n) { return gf_dot_f32_ref(a, b, n); }
void gf_axpy_f32(float *y, float a, const float *x, int n) { gf_axpy_f32_ref(y, a, x, n); }
void gf_scale_f32(float *y, float a, int n) { gf_scale_f32_ref(y, a, n); }
void gf_swiglu_f32(float *gate, const float *up, int n) { gf_swiglu_f32_ref(gate, up, n); }
#endif
