/* GELU: the reference formula, its f16 table, and the dispatch (gelu.h). */
#include "kernels/gelu.h"

#include <math.h>
#include <stdatomic.h>

#include "quant/quant.h"

/* The formula at an f16 value v, without the clamps: inputs just inside
 * them round to f16 +-10 (9.999 -> 10), and there the formula, not the
 * clamp, gives the result (-9.999: -0, not the clamp's +0). */
static float gelu_at(float v) {
    float g = 0.5f * v * (1.0f + tanhf(0.79788456080286535587989211986876f * v * (1.0f + 0.044715f * v * v)));
    return gf_half_to_float(gf_float_to_half(g));
}

float gf_gelu_f16_ref(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return gelu_at(gf_half_to_float(gf_float_to_half(x)));
}

void gf_gelu_f32_ref(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = gf_gelu_f16_ref(x[i]);
}

void gf_geglu_f32_ref(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gf_gelu_f16_ref(gate[i]) * up[i];
}

/* 256 KB of every instance's memory (zeros, not in the wasm file), filled on
 * first use by a GELU model: 65536 evaluations of the formula, 1.3 ms
 * natively (once per process). Today one thread at a time runs a forward
 * pass (the thread pool takes one caller), so fills cannot overlap; the
 * flag is atomic anyway (acquire/release), so a second caller would at
 * worst fill the same values again, never read a half-filled table. */
float gf_gelu_table[65536];
static _Atomic int g_ready;

void gf_gelu_prepare(void) {
    if (atomic_load_explicit(&g_ready, memory_order_acquire)) return;
    for (int h = 0; h < 65536; h++) gf_gelu_table[h] = gelu_at(gf_half_to_float((gf_half)h));
    atomic_store_explicit(&g_ready, 1, memory_order_release);
}

/* gf_gelu_f16_ref's clamps, then the entry of the input's f16 bits: the
 * formula inside depends on nothing else. */
float gf_gelu_f16_table(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return gf_gelu_table[gf_float_to_half(x)];
}

#if defined(__wasm_simd128__)
void gf_gelu_f32(float *x, int n) { gf_gelu_f32_simd128(x, n); }
void gf_geglu_f32(float *gate, const float *up, int n) { gf_geglu_f32_simd128(gate, up, n); }
#else
void gf_gelu_f32(float *x, int n) {
    gf_gelu_prepare();
    for (int i = 0; i < n; i++) x[i] = gf_gelu_f16_table(x[i]);
}
void gf_geglu_f32(float *gate, const float *up, int n) {
    gf_gelu_prepare();
    for (int i = 0; i < n; i++) gate[i] = gf_gelu_f16_table(gate[i]) * up[i];
}
#endif
