/* Q3_K and Q2_K (src/quant/q3_K.c, q2_K.c; src/kernels/q3_K_simd128.c,
 * q2_K_simd128.c):
 * (a) reference quantizer -> dequantization on random rows: relative RMS
 *     error within the format's bound; the scalar dot product against Q8_K
 *     activations equals the float dot product of the dequantized operands
 *     to rounding;
 * (b) wasm builds: the SIMD matmuls equal gf_dot_T_ref bit for bit, for
 *     n_tok 1..20, several r0/r1 splits, rows of 256..4096 elements and more
 *     (longer than a kernel chunk), scales of every kind (inf/nan too);
 * (c) llama.cpp's files ($GF_FIXTURES/models/tiny-brown-{Q3_K_M,Q3_K_L,Q2_K}, sha256-equal to llama-quantize's):
 *     every Q3_K / Q2_K tensor dequantized against the same tensor of
 *     tiny-brown-f32.gguf, and the F32 tensor re-quantized with our
 *     reference quantizer compared block by block with llama-quantize's
 *     bytes (which used no imatrix): all must match. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "kernels/kernels.h"
#include "quant/q2_K.h"
#include "quant/q3_K.h"
#include "testing.h"
#include "quant/registry.h"
#include "quant/types.h"

static uint64_t g_rng = 0x243F6A8885A308D3ull;

static uint64_t rnd64(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rndu(void) { return (float)(rnd64() >> 40) * (1.0f / 16777216.0f); }

static float rndn(void) {
    float u = rndu() + 1e-7f, v = rndu();
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * v);
}

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static int __attribute__((unused)) same_float(float a, float b) { return f2u(a) == f2u(b) || (isnan(a) && isnan(b)); }

/* The types under test: their registry rows (quant/registry.c) give the
 * block, the functions; the kernel table the SIMD matmul (gf_matmul_kernel);
 * this table holds only what is tested. */
typedef struct {
    uint32_t type;
    double rms_bound; /* relative RMS error of a Gaussian row */
} type_case;

static const type_case g_types[] = {{GF_TYPE_Q3_K, 0.18}, {GF_TYPE_Q2_K, 0.34}};

#define ROW(tc) gf_type_info((tc)->type)

static double rel_rms(const float *a, const float *ref, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        e += d * d;
        s += (double)ref[i] * ref[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* Q8_K activations dequantized */
static void deq_q8_K(const block_q8_K *a, float *x, int n) {
    for (int b = 0; b < n / QK_K; b++)
        for (int i = 0; i < QK_K; i++) x[b * QK_K + i] = a[b].d * a[b].qs[i];
}

/* ---- (a) ---- */
static void test_roundtrip(const type_case *tc) {
    const int n = 4096;
    float *x = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float)), *xa = malloc(n * sizeof(float));
    uint8_t *q = malloc((size_t)n / QK_K * (size_t)ROW(tc)->bytes);
    block_q8_K *a = malloc((size_t)n / QK_K * sizeof(block_q8_K));
    double worst = 0;
    int bad_dot = 0;
    for (int trial = 0; trial < 20; trial++) {
        float scale = trial % 4 == 0 ? 1e-3f : trial % 4 == 1 ? 1.0f : trial % 4 == 2 ? 30.0f : 0.05f;
        for (int i = 0; i < n; i++) x[i] = scale * (trial % 5 == 4 ? rndu() - 0.2f : rndn());
        ROW(tc)->quantize_ref(x, q, n);
        ROW(tc)->dequantize(q, d, n);
        double e = rel_rms(d, x, n);
        if (e > worst) worst = e;
        /* dot: integer reference vs float dot of the dequantized operands */
        for (int i = 0; i < n; i++) xa[i] = rndn();
        gf_quantize_act_row_ref(GF_ACT_Q8_K, xa, a, n);
        deq_q8_K(a, xa, n);
        double fd = 0, fa = 0;
        for (int i = 0; i < n; i++) {
            fd += (double)d[i] * xa[i];
            fa += fabs((double)d[i] * xa[i]);
        }
        float r = ROW(tc)->dot_ref(n, q, a);
        if (!(fabs(r - fd) <= 1e-5 * fa + 1e-30)) {
            if (bad_dot++ < 3) fprintf(stderr, "%s dot %g, float %g\n", ROW(tc)->name, r, fd);
        }
    }
    printf("%s: random rows, worst relative RMS error %.4f\n", ROW(tc)->name, worst);
    CHECK(worst <= tc->rms_bound, "%s: relative RMS error %.4f > %.2f", ROW(tc)->name, worst, tc->rms_bound);
    CHECK(bad_dot == 0, "%s: %d dot products differ from the dequantized float dot", ROW(tc)->name, bad_dot);
    /* all-zero row: zero scales, zero values */
    memset(x, 0, n * sizeof(float));
    ROW(tc)->quantize_ref(x, q, n);
    ROW(tc)->dequantize(q, d, n);
    int nz = 0;
    for (int i = 0; i < n; i++) nz += d[i] != 0;
    CHECK(nz == 0, "%s: zero row dequantizes to %d nonzeros", ROW(tc)->name, nz);
    free(x), free(d), free(xa), free(q), free(a);
}

/* ---- (c) llama.cpp's files ---- */
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
    CHECK(s == GGUF_HEADER_DONE, "%s: header", file);
    return s == GGUF_HEADER_DONE;
}

static void close_gguf(gfile *g) {
    if (g->r) gguf_reader_free(g->r);
    free(g->bytes);
}

static const uint8_t *tensor_data(const gfile *g, const gguf_tensor_info *t) {
    return g->bytes + gguf_data_offset(g->r) + t->offset;
}

static void test_file(const char *file, const gfile *f32) {
    gfile g = {0};
    if (!open_gguf(file, &g)) return;
    int seen[2] = {0, 0};
    for (uint64_t i = 0; i < gguf_n_tensors(g.r); i++) {
        const gguf_tensor_info *t = gguf_tensor_at(g.r, i);
        const type_case *tc = NULL;
        for (int k = 0; k < 2; k++)
            if (t->type == g_types[k].type) tc = &g_types[k], seen[k]++;
        if (!tc) continue;
        int64_t fi = gguf_find_tensor(f32->r, t->name);
        CHECK(fi >= 0, "%s: %s not in the f32 file", file, t->name);
        if (fi < 0) continue;
        const gguf_tensor_info *ft = gguf_tensor_at(f32->r, (uint64_t)fi);
        CHECK(ft->type == GF_TYPE_F32 && ft->ne[0] == t->ne[0] && ft->ne[1] == t->ne[1], "%s: %s shape", file, t->name);
        const int64_t ne0 = (int64_t)t->ne[0], rows = (int64_t)(t->ne[1] * t->ne[2] * t->ne[3]), nb = ne0 / QK_K;
        const uint8_t *q = tensor_data(&g, t);
        const float *xf = (const float *)tensor_data(f32, ft);
        float *d = malloc((size_t)ne0 * sizeof(float));
        uint8_t *mine = malloc((size_t)nb * (size_t)ROW(tc)->bytes);
        double e2 = 0, s2 = 0;
        long same = 0, total = 0;
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *qr = q + (size_t)r * nb * (size_t)ROW(tc)->bytes;
            ROW(tc)->dequantize(qr, d, ne0);
            for (int64_t j = 0; j < ne0; j++) {
                double x = xf[r * ne0 + j], df = (double)d[j] - x;
                e2 += df * df;
                s2 += x * x;
            }
            ROW(tc)->quantize_ref(xf + r * ne0, mine, ne0);
            for (int64_t b = 0; b < nb; b++, total++)
                same += !memcmp(mine + b * (size_t)ROW(tc)->bytes, qr + b * (size_t)ROW(tc)->bytes, (size_t)ROW(tc)->bytes);
        }
        double rel = sqrt(e2 / s2);
        printf("%s %-28s %s %5lld x %4lld: relative RMS error %.4f, blocks equal to llama-quantize's %ld / %ld\n", file,
               t->name, ROW(tc)->name, (long long)rows, (long long)ne0, rel, same, total);
        CHECK(rel <= tc->rms_bound, "%s %s: relative RMS error %.4f", file, t->name, rel);
        CHECK(same == total, "%s %s: %ld of %ld blocks differ from llama-quantize's", file, t->name, total - same, total);
        free(d), free(mine);
    }
    printf("%s: %d Q3_K and %d Q2_K tensors\n", file, seen[0], seen[1]);
    CHECK(seen[0] + seen[1] > 0, "%s: no Q3_K/Q2_K tensor", file);
    close_gguf(&g);
}

static void test_files(void) {
    gfile f32 = {0};
    if (!open_gguf("tiny-brown-f32.gguf", &f32)) return;
    test_file("tiny-brown-Q3_K_M.gguf", &f32);
    test_file("tiny-brown-Q3_K_L.gguf", &f32);
    test_file("tiny-brown-Q2_K.gguf", &f32);
    close_gguf(&f32);
}

/* ---- (b) SIMD ---- */
#if defined(__wasm_simd128__)
static void rand_block(const type_case *tc, uint8_t *blk, int mode) {
    for (size_t i = 0; i < (size_t)ROW(tc)->bytes; i++) blk[i] = (uint8_t)rnd64();
    /* d (and dmin) sane unless mode asks for extremes */
    size_t off = tc->type == GF_TYPE_Q3_K ? offsetof(block_q3_K, d) : offsetof(block_q2_K, d);
    int nh = tc->type == GF_TYPE_Q3_K ? 1 : 2;
    for (int h = 0; h < nh; h++) {
        float v = mode == 1 ? (rndu() < 0.5f ? 3e-6f : 1e-7f) * rndu() : 1e-3f * (rndu() + 0.01f);
        gf_half hv = gf_float_to_half(rndu() < 0.1f ? -v : v);
        if (mode == 2 && rndu() < 0.05f) hv = (gf_half)(rndu() < 0.5f ? 0x7C00 : 0x7E01); /* inf, nan */
        memcpy(blk + off + 2 * h, &hv, 2);
    }
    if (mode == 3) { /* extremes: largest levels and scales */
        if (tc->type == GF_TYPE_Q3_K) {
            block_q3_K *b = (block_q3_K *)blk;
            memset(b->hmask, rndu() < 0.5f ? 0 : 0xFF, 32);
            memset(b->qs, rndu() < 0.5f ? 0 : 0xFF, 64);
            memset(b->scales, rndu() < 0.5f ? 0 : 0xFF, 12);
        } else {
            block_q2_K *b = (block_q2_K *)blk;
            memset(b->qs, 0xFF, 64);
            memset(b->scales, 0xFF, 16);
        }
    }
}

static void test_simd(const type_case *tc) {
    static const int lens[] = {256, 512, 768, 1024, 2048, 3072, 4096, 8192, 11008};
    const int max_tok = 20;
    int bad = 0, bad_split = 0, cases = 0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int n = lens[li], nb = n / QK_K;
        const int rows = li % 3 == 0 ? 37 : li % 3 == 1 ? 8 : 69;
        for (int mode = 0; mode < 4; mode++) {
            if (mode > 0 && n > 1024) continue;
            const size_t rs = (size_t)nb * (size_t)ROW(tc)->bytes, as = gf_act_row_bytes(GF_ACT_Q8_K, n);
            uint8_t *w = malloc(rs * rows), *act = malloc(as * max_tok);
            float *x = malloc((size_t)n * sizeof(float)), *ref = malloc(sizeof(float) * rows * max_tok),
                  *y = malloc(sizeof(float) * rows * max_tok);
            for (int r = 0; r < rows; r++)
                for (int b = 0; b < nb; b++) rand_block(tc, w + r * rs + b * (size_t)ROW(tc)->bytes, mode);
            for (int t = 0; t < max_tok; t++) {
                float sc = mode == 3 ? 1e3f : 1.0f;
                for (int i = 0; i < n; i++) x[i] = sc * rndn();
                if (mode == 3)
                    for (int i = 0; i < n; i++) x[i] = (i & 1) ? 5.0f : -5.0f; /* qs +-127 */
                gf_quantize_act_row_ref(GF_ACT_Q8_K, x, act + t * as, n);
            }
            for (int t = 0; t < max_tok; t++)
                for (int r = 0; r < rows; r++) ref[t * rows + r] = ROW(tc)->dot_ref(n, w + r * rs, act + t * as);
            gf_matrix m = {tc->type, n, rs, w};
            for (int nt = 1; nt <= max_tok; nt += (n > 2048 ? 6 : 1)) {
                /* whole range, then a split in three parts */
                for (int split = 0; split < 2; split++) {
                    for (size_t i = 0; i < (size_t)rows * max_tok; i++) y[i] = -12345.0f;
                    if (!split) {
                        gf_matmul_kernel(tc->type)(&m, 0, rows, act, as, nt, y, rows);
                    } else {
                        int c1 = 1 + (int)(rnd64() % (rows - 2)), c2 = c1 + (int)(rnd64() % (rows - c1));
                        gf_matmul_kernel(tc->type)(&m, 0, c1, act, as, nt, y, rows);
                        gf_matmul_kernel(tc->type)(&m, c1, c2, act, as, nt, y, rows);
                        gf_matmul_kernel(tc->type)(&m, c2, rows, act, as, nt, y, rows);
                    }
                    cases++;
                    for (int t = 0; t < max_tok; t++)
                        for (int r = 0; r < rows; r++) {
                            float v = y[t * rows + r];
                            int ok = t < nt ? same_float(v, ref[t * rows + r]) : v == -12345.0f;
                            if (!ok) {
                                if (split) bad_split++;
                                if (bad++ < 5)
                                    fprintf(stderr, "%s n=%d mode=%d nt=%d split=%d r=%d t=%d: simd %.9g ref %.9g\n", ROW(tc)->name,
                                            n, mode, nt, split, r, t, v, ref[t * rows + r]);
                            }
                        }
                }
            }
            free(w), free(act), free(x), free(ref), free(y);
        }
    }
    printf("%s: SIMD matmul, %d calls checked bit for bit\n", ROW(tc)->name, cases);
    CHECK(bad == 0, "%s: %d SIMD results differ from the reference (%d in split calls)", ROW(tc)->name, bad, bad_split);
}

#include <emscripten.h>
#include <time.h>
/* emscripten's getenv sees its own ENV (tests/c/node-env.js copies only GF_FIXTURES) */
static int bench_wanted(void) {
    return emscripten_run_script_int("(typeof process !== 'undefined' && process.env && process.env.GF_BENCH) ? 1 : 0");
}

static double now_s(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* Speed, printed only (GF_BENCH=1 in the environment): a 2048 x 5632
 * matrix, GEMV and 16-token GEMM, best of 7 rounds; the project's Q4_K and
 * Q6_K kernels (gf_matmul) on the same shape for comparison. */
typedef void (*matmul_fn)(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t);

static void bench_one(const char *name, uint32_t type, size_t bbytes, size_t d_off, int nh, matmul_fn mm) {
    const int n = 2048, rows = 5632, nt = 16;
    const size_t rs = (size_t)n / QK_K * bbytes, as = gf_act_row_bytes(GF_ACT_Q8_K, n);
    uint8_t *w = malloc(rs * rows), *act = malloc(as * nt);
    float *x = malloc(n * sizeof(float)), *y = malloc(sizeof(float) * rows * nt);
    for (size_t i = 0; i < rs * rows; i++) w[i] = (uint8_t)rnd64();
    for (size_t b = 0; b < (size_t)rows * n / QK_K; b++)
        for (int h = 0; h < nh; h++) {
            gf_half hv = gf_float_to_half(1e-3f * (rndu() + 0.01f));
            memcpy(w + b * bbytes + d_off + 2 * h, &hv, 2);
        }
    for (int t = 0; t < nt; t++) {
        for (int i = 0; i < n; i++) x[i] = rndn();
        gf_quantize_act_row_ref(GF_ACT_Q8_K, x, act + t * as, n);
    }
    gf_matrix m = {type, n, rs, w};
    for (int k = 0; k < 2; k++) {
        const int ntok = k ? nt : 1, reps = k ? 4 : 20;
        double best = 1e9;
        for (int round = 0; round < 7; round++) {
            double t0 = now_s();
            for (int i = 0; i < reps; i++) mm(&m, 0, rows, act, as, ntok, y, rows);
            double dt = (now_s() - t0) / reps;
            if (dt < best) best = dt;
        }
        printf("bench %s %s: %.3f ms, %.2f GB/s of weights, %.1f G int-mul-add/s\n", name, k ? "GEMM 16 tok" : "GEMV", best * 1e3,
               rs * rows / best / 1e9, (double)n * rows * ntok / best / 1e9);
    }
    free(w), free(act), free(x), free(y);
}

static void bench(void) {
    bench_one("Q3_K", GF_TYPE_Q3_K, sizeof(block_q3_K), offsetof(block_q3_K, d), 1, gf_matmul_q3_K_simd128);
    bench_one("Q2_K", GF_TYPE_Q2_K, sizeof(block_q2_K), offsetof(block_q2_K, d), 2, gf_matmul_q2_K_simd128);
    bench_one("Q4_K (gf_matmul)", GF_TYPE_Q4_K, sizeof(block_q4_K), 0, 2, gf_matmul);
    bench_one("Q6_K (gf_matmul)", GF_TYPE_Q6_K, sizeof(block_q6_K), offsetof(block_q6_K, d), 1, gf_matmul);
}
#endif

int main(void) {
    printf("kernels: %s\n", gf_kernels_name());
    for (int k = 0; k < 2; k++) test_roundtrip(&g_types[k]);
    test_files();
#if defined(__wasm_simd128__)
    for (int k = 0; k < 2; k++) test_simd(&g_types[k]);
    if (bench_wanted()) bench();
#endif
    TEST_MAIN_END();
}
