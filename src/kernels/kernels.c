/* Dispatch: the best kernel set compiled into this build, and the table of
 * matmul kernels by weight type. */
#include "kernels/kernels.h"

#include "base/error.h"

#if GF_HAVE_SIMD128
/* One entry per computable type of the registry (quant/registry.c). */
static const gf_matmul_fn k_matmul[GF_TYPE_COUNT] = {
    [GF_TYPE_F32] = gf_matmul_f32_simd128,   [GF_TYPE_F16] = gf_matmul_f16_simd128,   [GF_TYPE_Q4_0] = gf_matmul_q4_0_simd128,
    [GF_TYPE_Q4_1] = gf_matmul_q4_1_simd128, [GF_TYPE_Q8_0] = gf_matmul_q8_0_simd128, [GF_TYPE_Q4_K] = gf_matmul_q4_K_simd128,
    [GF_TYPE_Q6_K] = gf_matmul_q6_K_simd128, [GF_TYPE_Q5_K] = gf_matmul_q5_K_simd128, [GF_TYPE_Q5_1] = gf_matmul_q5_1_simd128,
    [GF_TYPE_Q3_K] = gf_matmul_q3_K_simd128, [GF_TYPE_Q2_K] = gf_matmul_q2_K_simd128, [GF_TYPE_IQ4_XS] = gf_matmul_iq4_xs_simd128,
    [GF_TYPE_BF16] = gf_matmul_bf16_simd128, [GF_TYPE_Q5_0] = gf_matmul_q5_0_simd128, [GF_TYPE_IQ4_NL] = gf_matmul_iq4_nl_simd128,
};

gf_matmul_fn gf_matmul_kernel(uint32_t type) { return type < GF_TYPE_COUNT ? k_matmul[type] : NULL; }

void gf_matmul_simd128(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y, size_t y_stride) {
    gf_matmul_fn f = gf_matmul_kernel(w->type);
    if (!f) gf_type_missing(w->type, "SIMD128 matmul kernel");
    f(w, r0, r1, act, act_stride, n_tok, y, y_stride);
}
#else
/* The scalar build computes every computable type with its reference dot. */
gf_matmul_fn gf_matmul_kernel(uint32_t type) {
    const gf_type_traits *t = gf_type_info(type);
    return t && t->computable && t->dot_ref ? gf_matmul_ref : NULL;
}
#endif

int gf_kernels_check(void) {
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++) {
        const gf_type_traits *t = gf_type_info(i);
        int computable = t && t->computable;
        if (computable && !gf_matmul_kernel(i)) return gf_fail("kernels: type %s is computable but has no matmul kernel in the %s build", t->name, gf_kernels_name());
        if (computable && (!t->dot_ref || !t->dequantize)) return gf_fail("kernels: type %s is computable but has no %s", t->name, t->dot_ref ? "dequantizer" : "reference dot");
        if (!computable && gf_matmul_kernel(i)) return gf_fail("kernels: %s has a matmul kernel but its registry row is not computable", gf_type_name(i));
        if (t && t->writable && !t->quantize_ref) return gf_fail("kernels: type %s is writable but has no reference quantizer", t->name);
    }
    return GF_OK;
}

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
