/* Q5_K and Q5_1: reference quantizers, dequantization and dot products
 * (src/quant/q5_K.c, q5_1.c), the SIMD matmuls (src/kernels/kernels_simd128.c for Q5_K, q5_1_simd128.c,
 * wasm builds) held bit-identical to the references, and both against
 * llama.cpp's own files (build/fixtures/models/tiny-brown-*.gguf, generated and
 * sha256-equal to llama-quantize's: tests/fixtures/README.md). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "kernels/kernels.h"
#include "quant/q5_1.h"
#include "quant/q5_K.h"
#include "testing.h"
#include "quant/registry.h"
#include "quant/types.h"

/* ---- random numbers (deterministic) ---- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static float frand(void) { return (float)rnd() / 2147483648.0f; } /* [0, 1) */
static float gauss(void) {
    float u = frand() + 1e-7f, v = frand();
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * v);
}

/* The types under test: their registry rows (quant/registry.c) give the
 * block, the functions and the activation format, the kernel table the
 * SIMD matmul (gf_matmul_kernel); this table holds only what is tested. */
typedef struct {
    uint32_t type;
    float rms_bound; /* relative RMS error bound on Gaussian rows */
} type_t;

static const type_t TYPES[] = {{GF_TYPE_Q5_K, 0.042f}, {GF_TYPE_Q5_1, 0.045f}};

#define ROW(T) gf_type_info((T)->type)

static double rel_rms(const float *a, const float *b, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)a[i] * a[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* ---- (a) quantize -> dequantize ---- */
static void test_roundtrip(const type_t *T) {
    const int n = 4096;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    uint8_t *q = malloc((size_t)(n / (int)ROW(T)->block) * (size_t)ROW(T)->bytes), *q2 = malloc((size_t)(n / (int)ROW(T)->block) * (size_t)ROW(T)->bytes);
    double worst = 0, worst_re = 0;
    int64_t same_blocks = 0, blocks = 0;
    for (int trial = 0; trial < 48; trial++) {
        /* weights' scales 1e-3 .. 100 (f16 block scales underflow below that:
         * a format limit, llama.cpp's as well; tiny rows are only checked finite) */
        int tiny = trial >= 42;
        float s = tiny ? 1e-5f : powf(10.f, (float)(trial % 6) - 3);
        float off = trial % 3 == 1 ? s * 0.7f : 0; /* shifted rows exercise the minimum */
        for (int i = 0; i < n; i++) x[i] = trial % 5 == 4 ? s * (frand() - 0.2f) : s * gauss() + off;
        if (trial == 7) memset(x, 0, 4 * 256); /* all-zero blocks */
        ROW(T)->quantize_ref(x, q, n);
        ROW(T)->dequantize(q, y, n);
        int finite = 1;
        for (int i = 0; i < n; i++) finite &= isfinite(y[i]);
        CHECK(finite, "%s trial %d: non-finite dequantized value", ROW(T)->name, trial);
        if (tiny) continue;
        double e = rel_rms(x, y, n);
        if (e > worst) worst = e;
        CHECK(e < T->rms_bound, "%s trial %d (scale %g): relative RMS error %.4f >= %.4f", ROW(T)->name, trial, s, e,
              T->rms_bound);
        /* quantizing the dequantized row again: Q5_1 gives back the same
         * bytes (min, max and the grid are representable); Q5_K's scale
         * search may settle on another coding, so only its error is held */
        ROW(T)->quantize_ref(y, q2, n);
        ROW(T)->dequantize(q2, z, n);
        for (int b = 0; b < n / (int)ROW(T)->block; b++, blocks++)
            same_blocks += !memcmp(q + b * (size_t)ROW(T)->bytes, q2 + b * (size_t)ROW(T)->bytes, (size_t)ROW(T)->bytes);
        double re = rel_rms(y, z, n);
        if (re > worst_re) worst_re = re;
        CHECK(re <= e, "%s trial %d: requantizing the dequantized row errs by %.4f, more than the first pass (%.4f)",
              ROW(T)->name, trial, re, e);
    }
    printf("%s roundtrip: worst relative RMS %.4f (bound %.3f); quantize(dequantize(q)) == q in %lld/%lld blocks, "
           "worst relative RMS of the requantization %.4f\n",
           ROW(T)->name, worst, T->rms_bound, (long long)same_blocks, (long long)blocks, worst_re);
    if (T->type == GF_TYPE_Q5_1)
        CHECK(same_blocks == blocks, "%s: quantize(dequantize(q)) != q in %lld blocks", ROW(T)->name, (long long)(blocks - same_blocks));
    free(x), free(y), free(z), free(q), free(q2);
}

/* ---- the reference dot against dequantized f32 (checks the dot's layout) ---- */
static void dequant_act(gf_act_format f, const void *a, float *y, int n) {
    if (f == GF_ACT_Q8_K) {
        const block_q8_K *b = a;
        for (int i = 0; i < n; i++) y[i] = b[i / QK_K].d * b[i / QK_K].qs[i % QK_K];
    } else {
        const block_q8_1 *b = a;
        for (int i = 0; i < n; i++) y[i] = gf_half_to_float(b[i / 32].d) * b[i / 32].qs[i % 32];
    }
}

static void random_weights(const type_t *T, uint8_t *q, int n, int mode) {
    int nb = n / (int)ROW(T)->block;
    for (size_t i = 0; i < (size_t)nb * (size_t)ROW(T)->bytes; i++) q[i] = (uint8_t)(mode == 1 ? 0xFF : rnd());
    for (int b = 0; b < nb; b++) {
        uint8_t *blk = q + (size_t)b * (size_t)ROW(T)->bytes;
        /* realistic scales (finite halves ~1e-4..1e-1), random signs for Q5_1's minimum */
        gf_half d = gf_float_to_half((mode == 1 ? 0.05f : 1e-4f + frand() * 0.02f));
        gf_half m = gf_float_to_half((frand() - 0.5f) * 0.2f);
        if (T->type == GF_TYPE_Q5_K) m = gf_float_to_half(frand() * 0.01f);
        memcpy(blk, &d, 2);
        memcpy(blk + 2, &m, 2);
    }
}

static void test_ref_dot(const type_t *T) {
    const int n = 1024;
    uint8_t *w = malloc((size_t)(n / (int)ROW(T)->block) * (size_t)ROW(T)->bytes);
    uint8_t *a = malloc(gf_act_row_bytes(ROW(T)->act, n));
    float *wf = malloc(n * 4), *af = malloc(n * 4), *x = malloc(n * 4);
    double worst = 0;
    for (int trial = 0; trial < 20; trial++) {
        random_weights(T, w, n, 0);
        for (int i = 0; i < n; i++) x[i] = gauss();
        gf_quantize_act_row_ref(ROW(T)->act, x, a, n);
        ROW(T)->dequantize(w, wf, n);
        dequant_act(ROW(T)->act, a, af, n);
        double ex = 0, mag = 0;
        for (int i = 0; i < n; i++) {
            ex += (double)wf[i] * af[i];
            mag += fabs((double)wf[i] * af[i]);
        }
        float got = ROW(T)->dot_ref(n, w, a);
        double err = fabs(got - ex) / (mag + 1e-30);
        if (err > worst) worst = err;
        /* Q8_1's s is d * sum rounded to f16: the only inexact term */
        CHECK(err < 1e-3, "%s ref dot trial %d: %g vs dequantized %g (rel %g)", ROW(T)->name, trial, got, ex, err);
    }
    printf("%s reference dot vs dequantized f32 dot: worst relative error %.2e\n", ROW(T)->name, worst);
    free(w), free(a), free(wf), free(af), free(x);
}

/* ---- (b) SIMD matmul == reference, bit for bit ---- */
#ifdef GF_HAVE_SIMD128
static void test_simd(const type_t *T) {
    static const int lens[] = {256, 512, 768, 1024, 2816, 4096, 8448};
    static const int nrows[] = {13, 6, 9, 5, 3, 4, 3};
    const int max_tok = 20;
    long long cells = 0, bad = 0;
    for (unsigned li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int n = lens[li], R = nrows[li];
        for (int mode = 0; mode < 3; mode++) {
            size_t rb = (size_t)(n / (int)ROW(T)->block) * (size_t)ROW(T)->bytes, ab = gf_act_row_bytes(ROW(T)->act, n);
            uint8_t *w = malloc(rb * R), *act = malloc(ab * max_tok);
            float *x = malloc(n * 4), *ref = malloc(sizeof(float) * R * max_tok), *y = malloc(sizeof(float) * R * max_tok);
            for (int r = 0; r < R; r++) random_weights(T, w + r * rb, n, mode == 1 && r == 0);
            for (int t = 0; t < max_tok; t++) {
                for (int i = 0; i < n; i++) x[i] = mode == 2 ? (i % 7 ? -1.0f : 1e-3f) : gauss() * (1 + t);
                if (mode == 1 && t == 0)
                    for (int i = 0; i < n; i++) x[i] = -1.0f; /* every activation byte -127 */
                gf_quantize_act_row_ref(ROW(T)->act, x, act + t * ab, n);
            }
            for (int t = 0; t < max_tok; t++)
                for (int r = 0; r < R; r++) ref[t * R + r] = ROW(T)->dot_ref(n, w + r * rb, act + t * ab);
            gf_matrix m = {T->type, n, rb, w};
            for (int nt = 1; nt <= max_tok; nt++) {
                int splits[][2] = {{0, R}, {0, 1}, {1, R}, {R / 2, R}, {0, R / 2 + 1}, {R - 1, R}};
                for (unsigned s = 0; s < sizeof splits / sizeof splits[0]; s++) {
                    int r0 = splits[s][0], r1 = splits[s][1];
                    if (r0 >= r1) continue;
                    for (int i = 0; i < R * max_tok; i++) y[i] = NAN;
                    gf_matmul_kernel(T->type)(&m, r0, r1, act, ab, nt, y, R);
                    for (int t = 0; t < nt; t++)
                        for (int r = r0; r < r1; r++) {
                            cells++;
                            if (memcmp(&y[t * R + r], &ref[t * R + r], 4)) {
                                if (bad < 5)
                                    fprintf(stderr, "%s n=%d mode %d nt=%d rows [%d,%d) r=%d t=%d: simd %.9g ref %.9g\n", ROW(T)->name,
                                            n, mode, nt, r0, r1, r, t, y[t * R + r], ref[t * R + r]);
                                bad++;
                            }
                        }
                    /* nothing outside [r0, r1) x [0, nt) is written */
                    int outside = 0;
                    for (int t = 0; t < max_tok; t++)
                        for (int r = 0; r < R; r++)
                            if ((t >= nt || r < r0 || r >= r1) && !isnan(y[t * R + r])) outside++;
                    CHECK(!outside, "%s: %d cells outside the range written", ROW(T)->name, outside);
                }
            }
            free(w), free(act), free(x), free(ref), free(y);
        }
    }
    printf("%s SIMD (%s) vs reference: %lld cells, %lld differ\n", ROW(T)->name, gf_kernels_name(), cells, bad);
    CHECK(bad == 0, "%s: %lld SIMD results differ from the reference", ROW(T)->name, bad);
}
#endif

/* ---- (c) against llama.cpp's files ---- */
typedef struct {
    uint8_t *bytes;
    size_t n;
    gguf_reader *r;
} gfile;

static int open_gguf(const char *file, gfile *g) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s", test_shared_dir(), file);
    g->bytes = read_file(path, &g->n);
    CHECK(g->bytes != NULL, "cannot read %s", path);
    if (!g->bytes) return 0;
    g->r = gguf_reader_new();
    int s = gguf_read_header(g->r, g->bytes, g->n);
    CHECK(s == GGUF_HEADER_DONE, "%s: %s", file, gf_error_message());
    return s == GGUF_HEADER_DONE;
}

static void close_gguf(gfile *g) {
    if (g->r) gguf_reader_free(g->r);
    free(g->bytes);
}

static const uint8_t *tensor_data(const gfile *g, const gguf_tensor_info *ti) {
    return g->bytes + gguf_data_offset(g->r) + ti->offset;
}

static void test_llama_file(const type_t *T, const char *file, const gfile *f32) {
    gfile g = {0};
    if (!open_gguf(file, &g)) {
        close_gguf(&g);
        return;
    }
    int tensors = 0;
    long long blocks = 0, diff_blocks = 0;
    double worst = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(g.r); i++) {
        const gguf_tensor_info *ti = gguf_tensor_at(g.r, i);
        if (ti->type != T->type) continue;
        int64_t fi = gguf_find_tensor(f32->r, ti->name);
        CHECK(fi >= 0, "%s: %s not in the F32 file", file, ti->name);
        if (fi < 0) continue;
        const gguf_tensor_info *tf = gguf_tensor_at(f32->r, (uint64_t)fi);
        CHECK(tf->type == GF_TYPE_F32 && tf->ne[0] == ti->ne[0], "%s: %s shape/type", file, ti->name);
        int64_t n = 1;
        for (uint32_t d = 0; d < ti->n_dims; d++) n *= (int64_t)ti->ne[d];
        int64_t nblk = n / (int)ROW(T)->block;
        CHECK(ti->nbytes == (uint64_t)nblk * (size_t)ROW(T)->bytes, "%s: %s size %llu", file, ti->name, (unsigned long long)ti->nbytes);
        const float *x = (const float *)tensor_data(f32, tf);
        const uint8_t *q = tensor_data(&g, ti);
        float *y = malloc((size_t)n * 4);
        uint8_t *q2 = malloc((size_t)nblk * (size_t)ROW(T)->bytes);
        ROW(T)->dequantize(q, y, n);
        int finite = 1;
        for (int64_t k = 0; k < n; k++) finite &= isfinite(y[k]);
        CHECK(finite, "%s: %s dequantizes to non-finite values", file, ti->name);
        double e = rel_rms(x, y, n);
        if (e > worst) worst = e;
        CHECK(e < T->rms_bound, "%s: %s relative RMS error vs F32 %.4f", file, ti->name, e);
        /* llama-quantize ran without an imatrix (tests/fixtures/reference/tiny-brown-types.json): the reference quantizer's bytes */
        ROW(T)->quantize_ref(x, q2, n);
        long long d = 0;
        for (int64_t b = 0; b < nblk; b++) d += memcmp(q + b * (size_t)ROW(T)->bytes, q2 + b * (size_t)ROW(T)->bytes, (size_t)ROW(T)->bytes) != 0;
        if (d) printf("  %s %s: %lld/%lld blocks differ from llama-quantize's\n", file, ti->name, d, (long long)nblk);
        blocks += nblk;
        diff_blocks += d;
        tensors++;
        free(y), free(q2);
    }
    printf("%s: %d %s tensors, worst relative RMS vs F32 %.4f, %lld/%lld blocks differ from llama-quantize's\n", file,
           tensors, ROW(T)->name, worst, diff_blocks, blocks);
    CHECK(tensors > 0, "%s: no %s tensors", file, ROW(T)->name);
    CHECK(diff_blocks == 0, "%s: %lld blocks differ from llama-quantize's", file, diff_blocks);
    close_gguf(&g);
}

int main(void) {
    printf("kernels: %s\n", gf_kernels_name());
    for (unsigned i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
        test_roundtrip(&TYPES[i]);
        test_ref_dot(&TYPES[i]);
#ifdef GF_HAVE_SIMD128
        test_simd(&TYPES[i]);
#endif
    }
    gfile f32 = {0};
    if (open_gguf("tiny-brown-f32.gguf", &f32)) {
        test_llama_file(&TYPES[0], "tiny-brown-Q5_K_S.gguf", &f32);
        test_llama_file(&TYPES[0], "tiny-brown-Q5_K_M.gguf", &f32);
        test_llama_file(&TYPES[0], "tiny-brown-Q4_K_S.gguf", &f32);
        test_llama_file(&TYPES[1], "tiny-brown-Q5_1.gguf", &f32);
    }
    close_gguf(&f32);
    TEST_MAIN_END();
}
