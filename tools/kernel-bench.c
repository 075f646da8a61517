/* Kernel benchmark: single-thread GEMV/GEMM speed of every weight type on
 * the 110M and 1B model shapes, against the wasm SIMD read bandwidth.
 *
 * Build and run (from the repo root):
 *   NODE_PATH=/usr/share/nodejs emcc -std=c11 -O3 -msimd128 -Isrc tools/kernel-bench.c src/quant/quant.c src/quant/types.c \
 *     src/kernels/kernels.c src/kernels/kernels_scalar.c src/kernels/kernels_simd128.c \
 *     -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sENVIRONMENT=node -sSINGLE_FILE=1 -o build/kernel-bench.cjs
 *   node build/kernel-bench.cjs [bw] [gemv] [gemm] [repack] [TYPE...] [shape=110m|1b|real|l32] [only=TEXT] [reps=N] [min] [hot]
 *                               [pool=MB] [ab]
 * No words: bw, gemv and gemm; "repack" runs the load-time repacking
 * experiment below. GEMV streams its weights from a pool of copies
 * (pool=MB, default 1536: larger than a desktop's last-level cache), as
 * decoding does (every layer's weights are touched once per token); "hot"
 * runs it on one cache-resident copy instead (the kernels' compute speed).
 * GEMM reuses one copy (it is compute bound). Each figure is the median of
 * several runs; "min" reports the best run instead.
 *
 * Relaxed SIMD, and A/B runs: the relaxed kernels need clang-19 (build/llvm19,
 * see the Makefile), a -O1 link (wasm-opt 108 breaks relaxed SIMD) and an
 * engine with relaxed SIMD (Chromium; Node 20: --experimental-wasm-relaxed-simd
 * --no-liftoff). "ab" times a second kernel set linked in as gf_matmul_alt
 * sample by sample against the first (the fair comparison on a busy
 * machine), e.g. the plain kernels (clang-14) against the relaxed ones:
 *   F="-sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sSINGLE_FILE=1 -sENVIRONMENT=web"
 *   R="env EM_LLVM_ROOT=$PWD/build/llvm19"
 *   emcc -std=c11 -O3 -msimd128 -Isrc -Dgf_matmul_simd128=gf_matmul_alt -Dgf_quantize_act_row_simd128=gf_alt_q \
 *     -Dgf_dot_f32_simd128=gf_alt_dot -Dgf_axpy_f32_simd128=gf_alt_axpy -Dgf_scale_f32_simd128=gf_alt_scale \
 *     -c src/kernels/kernels_simd128.c -o build/alt.o
 *   for f in tools/kernel-bench src/kernels/kernels_simd128 src/kernels/kernels src/kernels/kernels_scalar \
 *     src/quant src/types; do $R emcc -std=c11 -O3 -msimd128 -mrelaxed-simd -Isrc -c $f.c -o build/$(basename $f).o; done
 *   $R emcc -O1 -sWASM_BIGINT build/{kernel-bench,kernels_simd128,kernels,kernels_scalar,quant,types,alt}.o $F \
 *     -o build/kernel-bench-ab.js
 * then load build/kernel-bench-ab.js in a page (with Module.arguments, e.g.
 * ["gemv", "gemm", "Q4_0", "shape=110m", "ab"]; serve it cross-origin
 * isolated for 5 us timers). */
#include <emscripten.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#include "kernels/kernels.h"
#include "quant/iq4_nl.h"
#include "quant/q5_0.h"
#include "quant/q5_K.h"

static size_t g_pool_bytes = (size_t)1536 << 20;

/* "cpu": time with the process's CPU time instead of the wall clock (Node:
 * process.cpuUsage's user time; Chromium: the renderer main thread's, from
 * tools/kernel-ab-run.mjs): on a machine oversubscribed by other work, the
 * time this thread actually ran. Single-threaded kernels only. */
static int g_cpu_clock;
EM_JS(double, cpu_now_ms, (void), {
    if (typeof process !== 'undefined') return process.cpuUsage().user / 1000;
    const x = new XMLHttpRequest(); /* tools/kernel-ab-run.mjs's clock: the renderer's main thread */
    x.open('GET', window.cpuClockUrl, false);
    x.send();
    return Number(x.responseText);
});
static double now_ms(void) { return g_cpu_clock ? cpu_now_ms() : emscripten_get_now(); }

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd64(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float rndn(void) {
    float s = 0;
    for (int i = 0; i < 4; i++) s += (float)(rnd64() >> 40) * (1.0f / 16777216.0f);
    return (s - 2) * 1.7f;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int g_use_min; /* "min": best run instead of the median (A/B runs on a busy machine) */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    if (g_use_min) return v[0];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint8_t *g_pool;

/* Single-thread read bandwidth: sum the pool with v128 loads as S
 * sequential streams at once (the pool cut in S parts); the GEMV reads four
 * (four rows from four quarters of the matrix). Best of reps: a ceiling. */
static inline __attribute__((always_inline)) v128_t sum_streams(const int S, size_t part) {
    const uint8_t *p[16];
    for (int k = 0; k < S; k++) p[k] = g_pool + part * (size_t)k;
    v128_t acc[16];
    for (int k = 0; k < S; k++) acc[k] = wasm_i32x4_const_splat(0);
    for (size_t i = 0; i < part; i += 64)
        _Pragma("clang loop unroll(full)") for (int k = 0; k < S; k++)
            acc[k] = wasm_i32x4_add(acc[k], wasm_i32x4_add(wasm_i32x4_add(wasm_v128_load(p[k] + i), wasm_v128_load(p[k] + i + 16)),
                                                           wasm_i32x4_add(wasm_v128_load(p[k] + i + 32), wasm_v128_load(p[k] + i + 48))));
    for (int k = 1; k < S; k++) acc[0] = wasm_i32x4_add(acc[0], acc[k]);
    return acc[0];
}

static double bench_bandwidth(int reps, int streams) {
    double best = 0;
    const size_t part = g_pool_bytes / (size_t)streams / 64 * 64;
    v128_t keep = wasm_i32x4_const_splat(0);
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        switch (streams) {
        case 1: keep = wasm_i32x4_add(keep, sum_streams(1, part)); break;
        case 2: keep = wasm_i32x4_add(keep, sum_streams(2, part)); break;
        case 4: keep = wasm_i32x4_add(keep, sum_streams(4, part)); break;
        case 8: keep = wasm_i32x4_add(keep, sum_streams(8, part)); break;
        default: keep = wasm_i32x4_add(keep, sum_streams(16, part)); break;
        }
        double gbs = (double)part * (double)streams / ((now_ms() - t0) / 1e3) / 1e9;
        if (gbs > best) best = gbs;
    }
    if (wasm_i32x4_extract_lane(keep, 0) == 12345) printf(" ");
    return best;
}

/* One matrix of the given type, random but realistic, written into dst. */
static void fill_matrix(uint32_t type, int rows, int n, uint8_t *dst) {
    size_t rb = gf_row_bytes(type, (uint64_t)n);
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int r = 0; r < rows; r++) {
        uint8_t *row = dst + rb * (size_t)r;
        for (int i = 0; i < n; i++) x[i] = rndn() * 0.02f;
        switch (type) {
        case GF_TYPE_F32: memcpy(row, x, rb); break;
        case GF_TYPE_F16:
            for (int i = 0; i < n; i++) ((gf_half *)row)[i] = gf_float_to_half(x[i]);
            break;
        case GF_TYPE_Q4_0: gf_quantize_row_q4_0_ref(x, (block_q4_0 *)row, n); break;
        case GF_TYPE_Q4_1: gf_quantize_row_q4_1_ref(x, (block_q4_1 *)row, n); break;
        case GF_TYPE_Q8_0: gf_quantize_row_q8_0_ref(x, (block_q8_0 *)row, n); break;
        case GF_TYPE_Q5_0: /* no quantizer writes it here: random levels, realistic scales */
        case GF_TYPE_IQ4_NL:
            for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)rnd64();
            for (int b = 0; b < n / 32; b++) {
                gf_half d = gf_float_to_half(type == GF_TYPE_Q5_0 ? 0.002f : 0.0003f);
                memcpy(row + (size_t)b * gf_type_info(type)->bytes, &d, 2);
            }
            break;
        case GF_TYPE_Q4_K:
        case GF_TYPE_Q5_K:
        case GF_TYPE_Q6_K:
            for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)rnd64();
            for (int b = 0; b < n / 256; b++) {
                if (type == GF_TYPE_Q4_K) {
                    block_q4_K *q = (block_q4_K *)row + b;
                    q->d = gf_float_to_half(0.001f);
                    q->dmin = gf_float_to_half(0.0005f);
                } else if (type == GF_TYPE_Q5_K) {
                    block_q5_K *q = (block_q5_K *)row + b;
                    q->d = gf_float_to_half(0.0005f);
                    q->dmin = gf_float_to_half(0.0005f);
                } else {
                    /* llama.cpp's Q6_K scales are ~1e-5: f16 subnormals */
                    ((block_q6_K *)row + b)->d = gf_float_to_half(0.00003f);
                }
            }
            break;
        }
    }
    free(x);
}

typedef struct {
    const char *name;
    int rows, n, set; /* set: 1 = 110m, 2 = 1b, 4 = real (shape=real), 8 = llama3.2-1b (shape=l32) */
} shape;

static const shape k_shapes[] = {
    {"110M attn", 768, 768, 1},   {"110M ffn up", 2048, 768, 1},  {"110M ffn down", 768, 2048, 1}, {"110M output", 32000, 768, 1},
    {"1B attn", 2048, 2048, 2},   {"1B ffn up", 5632, 2048, 2},   {"1B ffn down", 2048, 5632, 2},  {"1B output", 32000, 2048, 2},
    /* real models' layer matrices (rows x n): gemma3-270m, qwen3-0.6b, llama3.2-1b */
    {"g270 q", 1024, 640, 4},     {"g270 kv", 256, 640, 4},       {"g270 o", 640, 1024, 4},
    {"g270 up", 2048, 640, 4},    {"g270 down", 640, 2048, 4},    {"q06 q", 2048, 1024, 4},
    {"q06 kv", 1024, 1024, 4},    {"q06 o", 1024, 2048, 4},       {"q06 up", 3072, 1024, 4},
    {"q06 down", 1024, 3072, 4},  {"l1b q", 2048, 2048, 4},       {"l1b kv", 512, 2048, 4},
    {"l1b up", 8192, 2048, 4},    {"l1b down", 2048, 8192, 4},
    /* llama3.2-1b (shape=l32): attn_k/v, ffn_gate/up, ffn_down, output */
    {"L32 attn kv", 512, 2048, 8}, {"L32 ffn up", 8192, 2048, 8}, {"L32 ffn down", 2048, 8192, 8}, {"L32 output", 128256, 2048, 8},
};
static const char *g_only; /* only=TEXT: shapes whose name contains TEXT */

static const uint32_t k_types[] = {GF_TYPE_F32,  GF_TYPE_F16,  GF_TYPE_Q4_0, GF_TYPE_Q4_1, GF_TYPE_Q8_0,
                                   GF_TYPE_Q4_K, GF_TYPE_Q5_K, GF_TYPE_Q6_K, GF_TYPE_Q5_0, GF_TYPE_IQ4_NL};

static int g_reps = 7, g_hot;
/* "jump": successive GEMV calls read non-adjacent copies of the pool (as a
 * model's matrices follow each other), not the next one (one long run) */
static int g_jump;

/* "ab": a second kernel set linked in as gf_matmul_alt (see the header)
 * is timed alternately with the first, sample by sample, so that both see
 * the same machine load; (xN) is alt's time over the first's. The
 * first call of each also checks that both give the same bits. */
typedef void (*matmul_fn)(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t);
void gf_matmul_alt(const gf_matrix *w, int r0, int r1, const void *act, size_t act_stride, int n_tok, float *y,
                   size_t y_stride) __attribute__((weak));
static matmul_fn g_fn[2];
static int g_nfn = 1;

/* work per ms in `unit`, and weights (rows x n) per second: the figure that compares types of different sizes */
static void print_times(const char *what, double *ms, double work, const char *unit, double weights) {
    printf(" | %s %8.3f ms %6.2f %s %6.2f Gw/s", what, ms[0], work / (ms[0] / 1e3) / 1e9, unit, weights / (ms[0] / 1e3) / 1e9);
    if (g_nfn == 2) printf(" / alt %8.3f ms %6.2f %s (x%.2f)", ms[1], work / (ms[1] / 1e3) / 1e9, unit, ms[1] / ms[0]);
}

static void bench_type_shape(uint32_t type, const shape *s, int do_gemv, int do_gemm) {
    size_t rb = gf_row_bytes(type, (uint64_t)s->n), mb = rb * (size_t)s->rows;
    if (!rb) return;
    gf_act_format af = gf_act_format_for(type);
    size_t ab = gf_act_row_bytes(af, s->n);
    const int maxtok = 128;
    float *x = malloc(sizeof(float) * (size_t)s->n * maxtok);
    uint8_t *act = malloc(ab * maxtok);
    float *y = malloc(sizeof(float) * (size_t)s->rows * maxtok), *y2 = malloc(sizeof(float) * (size_t)s->rows * maxtok);
    for (size_t i = 0; i < (size_t)s->n * maxtok; i++) x[i] = rndn();
    for (int t = 0; t < maxtok; t++) gf_quantize_act_row(af, x + (size_t)t * s->n, act + ab * (size_t)t, s->n);

    /* copies of the matrix across the pool */
    int ncopies = g_hot ? 1 : (int)(g_pool_bytes / mb);
    if (ncopies < 1) ncopies = 1;
    fill_matrix(type, s->rows, s->n, g_pool);
    for (int c = 1; c < ncopies; c++) memcpy(g_pool + mb * (size_t)c, g_pool, mb);

    printf("%-5s %-14s %5dx%-5d %8.2f MB", gf_type_name(type), s->name, s->rows, s->n, mb / 1e6);
    int differ = 0;
    if (do_gemv) {
        /* enough calls per sample for ~20 ms */
        gf_matrix m = {type, s->n, rb, g_pool};
        for (int f = 0; f < g_nfn; f++) /* warm-up, as for GEMM below */
            g_fn[f](&m, 0, s->rows, act, ab, 1, f ? y2 : y, (size_t)s->rows);
        differ |= g_nfn == 2 && memcmp(y, y2, sizeof(float) * (size_t)s->rows);
        double t0 = now_ms();
        g_fn[0](&m, 0, s->rows, act, ab, 1, y, (size_t)s->rows);
        double once = now_ms() - t0;
        int calls = (int)(20 / (once + 1e-3)) + 1;
        double v[2][32], ms[2];
        int c = 1;
        for (int r = 0; r < g_reps; r++)
            for (int f = 0; f < g_nfn; f++) {
                t0 = now_ms();
                const int step = g_jump && ncopies > 2 ? (ncopies % 7 ? 7 : ncopies % 5 ? 5 : 1) : 1;
                for (int k = 0; k < calls; k++, c = (c + step) % ncopies) {
                    m.data = g_pool + mb * (size_t)c;
                    g_fn[f](&m, 0, s->rows, act, ab, 1, y, (size_t)s->rows);
                }
                v[f][r] = (now_ms() - t0) / calls;
            }
        for (int f = 0; f < g_nfn; f++) ms[f] = median(v[f], g_reps);
        print_times("gemv", ms, (double)mb, "GB/s", (double)s->rows * s->n);
    }
    if (do_gemm) {
        gf_matrix m = {type, s->n, rb, g_pool};
        static const int ntoks[] = {64, 128};
        for (int k = 0; k < 2; k++) {
            int nt = ntoks[k];
            double v[2][32], ms[2];
            int reps = g_reps < 5 ? g_reps : 5;
            /* one untimed call: V8 compiles wasm with a baseline tier first and
             * swaps in optimized code for later calls */
            for (int f = 0; f < g_nfn; f++) g_fn[f](&m, 0, s->rows, act, ab, nt, f ? y2 : y, (size_t)s->rows);
            differ |= g_nfn == 2 && memcmp(y, y2, sizeof(float) * (size_t)s->rows * nt);
            for (int r = 0; r < reps; r++)
                for (int f = 0; f < g_nfn; f++) {
                    double t0 = now_ms();
                    g_fn[f](&m, 0, s->rows, act, ab, nt, y, (size_t)s->rows);
                    v[f][r] = now_ms() - t0;
                }
            for (int f = 0; f < g_nfn; f++) ms[f] = median(v[f], reps);
            char what[16];
            snprintf(what, sizeof what, "gemm%d", nt);
            print_times(what, ms, 2.0 * s->rows * s->n * nt, "GOP/s", (double)s->rows * s->n * nt);
        }
    }
    printf("%s\n", differ ? " | RESULTS DIFFER" : "");
    fflush(stdout);
    free(x);
    free(act);
    free(y);
    free(y2);
}


/* ---- experiment: Q4_0 repacked at load time ("repack") ----
 * Four consecutive rows interleaved per block: [d of rows 0..3][qs of row 0]
 * [qs of row 1][qs of row 2][qs of row 3], so that the four scales come in
 * one load. With f32 scales (80 bytes per 4 blocks instead of 72) the scale
 * conversion disappears; with f16 scales (72 bytes) one 8-byte load
 * replaces four 2-byte lane inserts. Four groups from the four quarters of
 * the rows go at once (four streams: one stream of the whole matrix ran at
 * 3 GB/s). Same arithmetic as the library kernel (checked bit for bit:
 * "MISMATCH" otherwise), GEMV only; shapes need rows % 16 == 0. */
static uint8_t *repack_q4_0(const uint8_t *w, int rows, int n, int f32_scales) {
    const int nb = n / 32;
    const size_t gb = f32_scales ? 80 : 72, rb = (size_t)nb * 18;
    uint8_t *out = malloc((size_t)(rows / 4) * nb * gb);
    for (int g = 0; g < rows / 4; g++)
        for (int b = 0; b < nb; b++) {
            uint8_t *o = out + ((size_t)g * nb + b) * gb;
            for (int r = 0; r < 4; r++) {
                const uint8_t *blk = w + (size_t)(4 * g + r) * rb + (size_t)b * 18;
                gf_half h;
                memcpy(&h, blk, 2);
                if (f32_scales) {
                    float f = gf_half_to_float(h);
                    memcpy(o + 4 * r, &f, 4);
                } else {
                    memcpy(o + 2 * r, &h, 2);
                }
                memcpy(o + (gb - 64) + 16 * r, blk + 2, 16);
            }
        }
    return out;
}

#define F32S f32_scales
__attribute__((noinline)) static void repacked_gemv(const uint8_t *wp, int rows, int n, int f32_scales, const block_q8_0 *act, float *y) {
    enum { NB = 8192 / 32 };
    static v128_t A[NB * 4];
    static float D[NB];
    static int32_t C[NB];
    const int nb = n / 32;
    const size_t gb = f32_scales ? 80 : 72;
    for (int b = 0; b < nb; b++) { /* activation prep, as the library does */
        v128_t x0 = wasm_v128_load(act[b].qs), x1 = wasm_v128_load(act[b].qs + 16);
        v128_t a0 = wasm_i16x8_shr(wasm_i16x8_shl(x0, 8), 8), a1 = wasm_i16x8_shr(wasm_i16x8_shl(x1, 8), 8);
        v128_t a2 = wasm_i16x8_shr(x0, 8), a3 = wasm_i16x8_shr(x1, 8);
        v128_t sm = wasm_i32x4_dot_i16x8(wasm_i16x8_add(wasm_i16x8_add(a0, a1), wasm_i16x8_add(a2, a3)),
                                         wasm_i16x8_splat(-8));
        sm = wasm_i32x4_add(sm, wasm_i32x4_shuffle(sm, sm, 2, 3, 0, 1));
        sm = wasm_i32x4_add(sm, wasm_i32x4_shuffle(sm, sm, 1, 0, 3, 2));
        C[b] = wasm_i32x4_extract_lane(sm, 0);
        A[4 * b] = wasm_i16x8_shl(a0, 8);
        A[4 * b + 1] = wasm_i16x8_shl(a1, 4);
        A[4 * b + 2] = a2;
        A[4 * b + 3] = wasm_i16x8_shl(a3, 8);
        D[b] = gf_half_to_float(act[b].d);
    }
    /* four groups at once, from the four quarters: four streams, as the
     * library's GEMV (one stream of the whole matrix ran at 3 GB/s) */
    const int Q = rows / 16;
    for (int gi = 0; gi < Q; gi++) {
        const uint8_t *p0 = wp + (size_t)gi * nb * gb, *p1 = p0 + (size_t)Q * nb * gb;
        const uint8_t *p2 = p1 + (size_t)Q * nb * gb, *p3 = p2 + (size_t)Q * nb * gb;
        v128_t acc0 = wasm_f32x4_splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < nb; b++, p0 += gb, p1 += gb, p2 += gb, p3 += gb) {
            const v128_t *a = A + 4 * b;
#define ROW(p, r, out)                                                                                             \
    do {                                                                                                           \
        v128_t x = wasm_v128_load(p + (gb - 64) + 16 * r);                                                         \
        v128_t e0 = wasm_v128_and(x, wasm_i16x8_const_splat(0x000F));                                             \
        v128_t e1 = wasm_v128_and(x, wasm_i16x8_const_splat(0x00F0));                                             \
        v128_t e2 = wasm_v128_and(x, wasm_i16x8_const_splat(0x0F00)), e3 = wasm_u16x8_shr(x, 12);                 \
        out = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(e0, a[0]), wasm_i32x4_dot_i16x8(e1, a[1])),      \
                             wasm_i32x4_add(wasm_i32x4_dot_i16x8(e2, a[2]), wasm_i32x4_dot_i16x8(e3, a[3])));     \
        v128_t sink;                                                                                               \
        *(volatile v128_t *)&sink = out;                                                                           \
    } while (0)
#define GROUP(p, acc)                                                                                              \
    do {                                                                                                           \
        v128_t q0, q1, q2, q3;                                                                                     \
        ROW(p, 0, q0);                                                                                             \
        ROW(p, 1, q1);                                                                                             \
        ROW(p, 2, q2);                                                                                             \
        ROW(p, 3, q3);                                                                                             \
        v128_t t0 = wasm_i32x4_add(wasm_i32x4_shuffle(q0, q1, 0, 4, 1, 5), wasm_i32x4_shuffle(q0, q1, 2, 6, 3, 7)); \
        v128_t t1 = wasm_i32x4_add(wasm_i32x4_shuffle(q2, q3, 0, 4, 1, 5), wasm_i32x4_shuffle(q2, q3, 2, 6, 3, 7)); \
        v128_t is = wasm_i32x4_add(wasm_i64x2_shuffle(t0, t1, 0, 2), wasm_i64x2_shuffle(t0, t1, 1, 3));           \
        is = wasm_i32x4_add(wasm_i32x4_shr(is, 8), wasm_v128_load32_splat(&C[b]));                                \
        v128_t dw;                                                                                                 \
        if (F32S) {                                                                                                \
            dw = wasm_v128_load(p);                                                                                \
        } else {                                                                                                   \
            v128_t h = wasm_i16x8_shuffle(wasm_v128_load64_zero(p), wasm_i16x8_const_splat(0), 8, 0, 8, 1, 8, 2, 8, 3); \
            dw = wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(h, 3), wasm_i32x4_const_splat((int32_t)0x8FFFE000)), \
                                wasm_f32x4_const_splat(0x1p112f));                                                 \
        }                                                                                                          \
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_mul(dw, wasm_v128_load32_splat(&D[b])),              \
                                                 wasm_f32x4_convert_i32x4(is)));                                   \
    } while (0)
            GROUP(p0, acc0);
            GROUP(p1, acc1);
            GROUP(p2, acc2);
            GROUP(p3, acc3);
#undef GROUP
#undef ROW
        }
        wasm_v128_store(y + 4 * gi, acc0);
        wasm_v128_store(y + 4 * (gi + Q), acc1);
        wasm_v128_store(y + 4 * (gi + 2 * Q), acc2);
        wasm_v128_store(y + 4 * (gi + 3 * Q), acc3);
    }
}

static void bench_repack(const shape *s) {
    const uint32_t type = GF_TYPE_Q4_0;
    size_t rb = gf_row_bytes(type, (uint64_t)s->n), ab = gf_act_row_bytes(GF_ACT_Q8_0, s->n);
    float *x = malloc(sizeof(float) * (size_t)s->n), *y0 = malloc(4 * (size_t)s->rows), *y1 = malloc(4 * (size_t)s->rows);
    uint8_t *act = malloc(ab);
    for (int i = 0; i < s->n; i++) x[i] = rndn();
    gf_quantize_act_row(GF_ACT_Q8_0, x, act, s->n);
    fill_matrix(type, s->rows, s->n, g_pool);
    gf_matrix m = {type, s->n, rb, g_pool};
    gf_matmul(&m, 0, s->rows, act, ab, 1, y0, (size_t)s->rows);
    printf("Q4_0  %-14s %5dx%-5d", s->name, s->rows, s->n);
    for (int f32s = 0; f32s < 2; f32s++) {
        uint8_t *rp = repack_q4_0(g_pool, s->rows, s->n, f32s);
        size_t pb = (size_t)(s->rows / 4) * (s->n / 32) * (f32s ? 80 : 72);
        int ncopies = g_hot ? 1 : (int)((g_pool_bytes / 2) / pb);
        uint8_t *pool2 = g_pool + g_pool_bytes / 2; /* copies in the pool's upper half */
        for (int c = 0; c < ncopies; c++) memcpy(pool2 + pb * (size_t)c, rp, pb);
        repacked_gemv(pool2, s->rows, s->n, f32s, (const block_q8_0 *)act, y1);
        int same = !memcmp(y0, y1, 4 * (size_t)s->rows); /* same arithmetic: the library's bits */
        double v[32];
        int c = 0;
        for (int r = 0; r < g_reps; r++) {
            double t0 = now_ms();
            for (int k = 0; k < 20; k++, c = (c + 1) % ncopies)
                repacked_gemv(pool2 + pb * (size_t)c, s->rows, s->n, f32s, (const block_q8_0 *)act, y1);
            v[r] = (now_ms() - t0) / 20;
        }
        double ms = median(v, g_reps);
        printf(" | %s scales %7.3f ms %6.2f GB/s %5.2f Gweights/s%s", f32s ? "f32" : "f16", ms, pb / (ms / 1e3) / 1e9,
               (double)s->rows * s->n / (ms / 1e3) / 1e9, same ? "" : " (MISMATCH)");
        free(rp);
    }
    printf("\n");
    free(x), free(y0), free(y1), free(act);
}

/* clang 19 (the relaxed-SIMD toolchain) names main(argc, argv)
 * __main_argc_argv, which emcc 3.1.6's glue never calls: keep the name. */
int main(int argc, char **argv) __asm__("main");
int main(int argc, char **argv) {
    int bw = 0, gemv = 0, gemm = 0, repack = 0, any_type = 0, shapes = 3;
    int want[GF_TYPE_COUNT] = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "bw")) bw = 1;
        else if (!strcmp(argv[i], "gemv")) gemv = 1;
        else if (!strcmp(argv[i], "gemm")) gemm = 1;
        else if (!strcmp(argv[i], "repack")) repack = 1;
        else if (!strcmp(argv[i], "shape=110m")) shapes = 1;
        else if (!strcmp(argv[i], "shape=1b")) shapes = 2;
        else if (!strcmp(argv[i], "shape=real")) shapes = 4;
        else if (!strcmp(argv[i], "shape=l32")) shapes = 8;
        else if (!strncmp(argv[i], "only=", 5)) g_only = argv[i] + 5;
        else if (!strncmp(argv[i], "reps=", 5)) g_reps = atoi(argv[i] + 5);
        else if (!strcmp(argv[i], "min")) g_use_min = 1;
        else if (!strcmp(argv[i], "hot")) g_hot = 1;
        else if (!strcmp(argv[i], "jump")) g_jump = 1;
        else if (!strcmp(argv[i], "cpu")) g_cpu_clock = 1;
        else if (!strcmp(argv[i], "ab")) g_nfn = 2;
        else if (!strncmp(argv[i], "pool=", 5)) g_pool_bytes = (size_t)atoi(argv[i] + 5) << 20;
        else {
            for (size_t t = 0; t < sizeof k_types / sizeof k_types[0]; t++)
                if (!strcmp(argv[i], gf_type_name(k_types[t]))) want[k_types[t]] = any_type = 1;
        }
    }
    if (g_reps < 1 || g_reps > 31) g_reps = 7;
    g_fn[0] = gf_matmul;
    g_fn[1] = gf_matmul_alt;
    if (g_nfn == 2 && !gf_matmul_alt) {
        fprintf(stderr, "ab: this build has no gf_matmul_alt (see the header)\n");
        return 1;
    }
    if (!bw && !gemv && !gemm && !repack) bw = gemv = gemm = 1;
    g_pool = malloc(g_pool_bytes);
    if (!g_pool) {
        fprintf(stderr, "cannot allocate the pool\n");
        return 1;
    }
    for (size_t i = 0; i < g_pool_bytes; i += 8) {
        uint64_t v = rnd64();
        memcpy(g_pool + i, &v, 8);
    }
    printf("kernels: %s%s\n", gf_kernels_name(), g_nfn == 2 ? " (first), alt (second)" : "");
    if (bw) {
        printf("single-thread v128 read bandwidth (best of %d passes over %zu MB), by streams:", g_reps, g_pool_bytes >> 20);
        for (int k = 1; k <= 16; k *= 2) printf(" %d: %.2f GB/s", k, bench_bandwidth(g_reps, k));
        printf("\n");
    }
    if (repack)
        for (size_t k = 0; k < sizeof k_shapes / sizeof k_shapes[0]; k++)
            if (k_shapes[k].set & shapes & 3) bench_repack(&k_shapes[k]);
    if (!gemv && !gemm) return 0;
    for (size_t t = 0; t < sizeof k_types / sizeof k_types[0]; t++) {
        if (any_type && !want[k_types[t]]) continue;
        for (size_t s = 0; s < sizeof k_shapes / sizeof k_shapes[0]; s++) {
            if (!(k_shapes[s].set & shapes)) continue;
            if (g_only && !strstr(k_shapes[s].name, g_only)) continue;
            bench_type_shape(k_types[t], &k_shapes[s], gemv, gemm);
        }
    }
    return 0;
}
