/* Kernel tests: fp16 conversion, activation quantization, dot products of
 * every weight type, matmul determinism, f32 helpers.
 *
 * Natively only the scalar references exist; they are checked against the
 * formats (dequantized dot products) and for determinism. In wasm builds
 * (GF_HAVE_SIMD128) every SIMD kernel is held to its reference:
 * - activation quantizers: byte for byte;
 * - quantized matmuls: bit for bit (the SIMD kernels accumulate each block's
 *   exact integer sum in the reference's float order);
 * - F32/F16 matmuls and dot: they sum in lanes, so |simd - ref| <= 1e-5 *
 *   sum |w_i a_i| (the float reassociation error; integer-free formats);
 * - axpy/scale: bit for bit (elementwise, same operations).
 * The relaxed-SIMD build (build/wasm-relaxed, run by Node and by Chromium)
 * holds its relaxed kernels to the same references, bit for bit.
 * Determinism: the result for (r, t) never depends on r0/r1 or n_tok.
 * Also: the largest integer sums, scales that are inf/nan, rows longer than
 * the kernels' activation chunk, more rows than a GEMM panel. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "kernels/exp_poly.h"
#include "kernels/gelu.h"
#include "kernels/kernels.h"
#include "quant/iq4_nl.h"
#include "quant/q5_0.h"
#include "testing.h"

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd64(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rndu(void) { return (float)(rnd64() >> 40) * (1.0f / 16777216.0f); } /* [0, 1) */

static float rndn(void) {
    float u = rndu() + 1e-7f, v = rndu();
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * v);
}

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int __attribute__((unused)) same_float(float a, float b) { return f2u(a) == f2u(b) || (isnan(a) && isnan(b)); }

/* ---- fp16 ---- */

static void test_fp16_ref(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = gf_half_to_float((gf_half)h);
        gf_half back = gf_float_to_half(f);
        int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        if (exp == 0x1f && man) {
            /* nan: stays nan, payload kept, quiet bit set */
            if (!isnan(f) || back != (gf_half)(h | 0x200)) bad++;
        } else if (back != h) {
            bad++;
        }
        /* value check against ldexp */
        if (exp != 0x1f) {
            double v = exp ? ldexp(1024 + man, exp - 25) : ldexp(man, -24);
            if (h & 0x8000) v = -v;
            if ((double)f != v || !!signbit(f) != !!(h & 0x8000)) bad++;
        } else if (!man && !isinf(f)) {
            bad++;
        }
    }
    CHECK(bad == 0, "%d halves fail the round trip", bad);

    /* ties to even, at normal and subnormal precision, and overflow */
    struct {
        float f;
        gf_half h;
    } cases[] = {
        {1.0f + 0x1p-11f, 0x3c00},          /* tie, even below */
        {1.0f + 3 * 0x1p-11f, 0x3c02},      /* tie, even above */
        {1.0f + 0x1p-11f + 0x1p-23f, 0x3c01}, /* just above a tie */
        {1.0f + 0x1p-11f - 0x1p-24f, 0x3c00}, /* just below a tie */
        {0x1p-25f, 0x0000},                 /* half the smallest subnormal: tie to 0 */
        {0x1p-25f + 0x1p-40f, 0x0001},
        {3 * 0x1p-25f, 0x0002},             /* tie between 1 and 2 subnormal units: 2 */
        {5 * 0x1p-25f, 0x0002},             /* tie between 2 and 3: 2 */
        {0x1p-14f - 0x1p-25f, 0x0400},      /* tie between largest subnormal and smallest normal */
        {-0x1p-24f, 0x8001},
        {65504.0f, 0x7bff},
        {65519.99f, 0x7bff},
        {65520.0f, 0x7c00}, /* tie at the top rounds to inf */
        {-1e10f, 0xfc00},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1e-30f, 0x0000},
        {-1e-30f, 0x8000},
        {u2f(0x7fc00000), 0x7e00},
        {u2f(0xff800001), 0xfe00},
        {u2f(0x7f802000), 0x7e01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(gf_float_to_half(cases[i].f) == cases[i].h, "half(%a) = %04x, want %04x", cases[i].f,
              gf_float_to_half(cases[i].f), cases[i].h);
}

/* Floats that stress float -> half: every half exactly, the midpoints
 * between neighbours (ties), one ulp either side of them, and a sweep of
 * all exponents with random mantissas. */
static int __attribute__((unused)) fp16_probe_floats(float *out, int cap) {
    int n = 0;
    for (uint32_t h = 0; h < 0x7c00 && n + 8 <= cap; h++) {
        for (int s = 0; s < 2; s++) {
            float f = gf_half_to_float((gf_half)(h | (s ? 0x8000 : 0)));
            float g = gf_half_to_float((gf_half)((h + 1) | (s ? 0x8000 : 0)));
            float mid = (f + g) / 2; /* exact: halves have 11 bits */
            out[n++] = f;
            out[n++] = mid;
            out[n++] = nextafterf(mid, 0);
            out[n++] = nextafterf(mid, INFINITY * (s ? -1 : 1));
        }
    }
    for (uint32_t e = 0; e < 256 && n + 64 <= cap; e++)
        for (int k = 0; k < 64; k++) out[n++] = u2f((uint32_t)(rnd64() & 0x807fffff) | e << 23);
    return n;
}

static void test_fp16_simd(void) {
#if GF_HAVE_SIMD128
    enum { CAP = 300000 };
    static float x[CAP];
    static gf_half a[CAP], b[CAP];
    int n = fp16_probe_floats(x, CAP);
    /* odd length exercises the scalar tail too */
    gf_quantize_act_row_simd128(GF_ACT_F16, x, a, n - 3);
    gf_quantize_act_row_ref(GF_ACT_F16, x, b, n - 3);
    int bad = 0;
    for (int i = 0; i < n - 3; i++)
        if (a[i] != b[i] && bad++ < 5) fprintf(stderr, "f16(%a): simd %04x ref %04x\n", x[i], a[i], b[i]);
    CHECK(bad == 0, "%d of %d float->half conversions differ", bad, n - 3);

    /* a broad sweep: every 2^19th float pattern class with several low parts */
    static const uint32_t lows[] = {0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fffff};
    bad = 0;
    for (uint32_t hi = 0; hi < (1u << 19); hi += 8) {
        float xs[8 * 9];
        gf_half p[8 * 9], q[8 * 9];
        int m = 0;
        for (uint32_t k = 0; k < 8; k++)
            for (size_t l = 0; l < 9; l++) xs[m++] = u2f(((hi + k) << 13) | (lows[l] & 0x1fff) | (l == 8 ? (uint32_t)(rnd64() & 0x1fff) : 0));
        gf_quantize_act_row_simd128(GF_ACT_F16, xs, p, m);
        gf_quantize_act_row_ref(GF_ACT_F16, xs, q, m);
        for (int i = 0; i < m; i++) bad += p[i] != q[i];
    }
    CHECK(bad == 0, "%d sweep float->half conversions differ", bad);

    /* half -> float inside the F16 matmul: every half, at every lane position
     * (one-hot activation, weight row of zeros but one) */
    bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        gf_half w[8] = {0}, act[8] = {0};
        int pos = (int)(h & 7);
        w[pos] = (gf_half)h;
        act[pos] = 0x3c00;
        gf_matrix m = {GF_TYPE_F16, 8, 16, w};
        float ys, yr;
        gf_matmul_simd128(&m, 0, 1, act, 16, 1, &ys, 1);
        gf_matmul_ref(&m, 0, 1, act, 16, 1, &yr, 1);
        if (!same_float(ys, yr) && bad++ < 5) fprintf(stderr, "half %04x: simd %a ref %a\n", h, ys, yr);
    }
    CHECK(bad == 0, "%d halves convert differently in the F16 kernel", bad);
#endif
}

/* ---- activation quantization ---- */

static const gf_act_format k_fmts[] = {GF_ACT_F32, GF_ACT_F16, GF_ACT_Q8_0, GF_ACT_Q8_1, GF_ACT_Q8_K, GF_ACT_BF16};
static const char *const k_fmt_names[] = {"F32", "F16", "Q8_0", "Q8_1", "Q8_K", "BF16"};

/* An activation row with the shapes that matter: gaussian, outliers, a zero
 * block, blocks whose largest magnitude occurs with both signs, exact .5
 * ties after scaling (amax = 127 gives scale 1), and tiny values. */
static void make_act(float *x, int n, float scale) {
    for (int i = 0; i < n; i++) x[i] = rndn() * scale * (i % 97 == 5 ? 20.0f : 1.0f);
    if (n >= 512)
        for (int i = 256; i < 288; i++) x[i] = 0;
    if (n >= 768) {
        /* block 2 of 32 and super-block 2: -m then +m (the first one sets the sign) */
        x[520] = -50, x[530] = 50;
        x[600] = 127;                                         /* Q8_0 block of 127: id = 1 */
        for (int i = 601; i < 608; i++) x[i] = (float)(i - 604) + 0.5f; /* ties */
    }
    if (n >= 2048) {
        for (int i = 1024; i < 1280; i++) x[i] = ((i % 7) - 3) + 0.5f; /* Q8_K: max = -127 below */
        x[1030] = -127;
        /* tiny block (amax near 1e-35 keeps 127 / amax finite: the reference
         * is undefined beyond) holding an f32 subnormal */
        for (int i = 1536; i < 1568; i++) x[i] = rndn() * 1e-35f;
        x[1540] = 1e-40f;
    }
}

static void test_act_quant(void) {
    static const int ns[] = {256, 768, 2048, 5632};
    enum { NMAX = 5632 };
    static float x[NMAX];
    static uint8_t a[NMAX * 4 + 64], b[NMAX * 4 + 64];
    for (size_t fi = 0; fi < sizeof k_fmts / sizeof k_fmts[0]; fi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            for (int rep = 0; rep < 4; rep++) {
                int n = ns[ni];
                make_act(x, n, rep == 0 ? 1.0f : rep == 1 ? 1e-3f : rep == 2 ? 30.0f : 1e-20f);
                size_t bytes = gf_act_row_bytes(k_fmts[fi], n);
                memset(a, 0xAA, sizeof a);
                memset(b, 0x55, sizeof b);
                gf_quantize_act_row_ref(k_fmts[fi], x, a, n);
                gf_quantize_act_row(k_fmts[fi], x, b, n);
                CHECK(memcmp(a, b, bytes) == 0, "act %s n=%d rep=%d: dispatch differs from reference", k_fmt_names[fi], n, rep);
#if GF_HAVE_SIMD128
                memset(b, 0x55, sizeof b);
                gf_quantize_act_row_simd128(k_fmts[fi], x, b, n);
                CHECK(memcmp(a, b, bytes) == 0, "act %s n=%d rep=%d: simd differs from reference", k_fmt_names[fi], n, rep);
                CHECK(b[bytes] == 0x55, "act %s n=%d: simd wrote past the row", k_fmt_names[fi], n);
#endif
            }
        }
    /* the Q8 formats' own invariants on the reference output */
    make_act(x, 2048, 1.0f);
    block_q8_1 q1[2048 / 32];
    gf_quantize_act_row_ref(GF_ACT_Q8_1, x, q1, 2048);
    int bad = 0;
    for (int i = 0; i < 2048 / 32; i++) {
        int s = 0;
        float amax = 0;
        for (int j = 0; j < 32; j++) s += q1[i].qs[j], amax = fmaxf(amax, fabsf(x[32 * i + j]));
        bad += q1[i].s != gf_float_to_half(amax / 127.f * (float)s);
    }
    CHECK(bad == 0, "q8_1 s != d * sum(q) in %d blocks", bad);
    block_q8_K qk[2048 / 256];
    gf_quantize_act_row_ref(GF_ACT_Q8_K, x, qk, 2048);
    bad = 0;
    for (int i = 0; i < 2048 / 256; i++)
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int k = 0; k < 16; k++) s += qk[i].qs[16 * j + k];
            bad += qk[i].bsums[j] != s;
        }
    CHECK(bad == 0, "q8_K bsums wrong in %d groups", bad);
    CHECK(qk[4].qs[6] == -127 && qk[4].d > 0, "q8_K: the first largest magnitude sets the sign");
}

/* ---- weights ---- */

static gf_half rnd_half(float lo, float hi) { return gf_float_to_half(lo + (hi - lo) * rndu()); }

/* Row r of a weight matrix: real quantizers where we have them (weights
 * ~ N(0, s) with s varying per row, and some all-random-byte rows for the
 * 32-blocks), random valid blocks with realistic scales for the K types. */
static void make_weight_row(uint32_t type, int n, uint8_t *dst, int r) {
    static float x[16640];
    float s = 0.02f * (1 + (r % 5));
    for (int i = 0; i < n; i++) x[i] = rndn() * s * (i % 61 == 7 ? 8.0f : 1.0f);
    int nb = n / 32, nsb = n / 256;
    switch (type) {
    case GF_TYPE_F32: memcpy(dst, x, (size_t)n * 4); break;
    case GF_TYPE_F16:
        for (int i = 0; i < n; i++) ((gf_half *)dst)[i] = gf_float_to_half(x[i]);
        break;
    case GF_TYPE_Q4_0:
        gf_quantize_row_q4_0_ref(x, (block_q4_0 *)dst, n);
        if (r % 7 == 3)
            for (int b = 0; b < nb; b++) {
                block_q4_0 *q = (block_q4_0 *)dst + b;
                for (int j = 0; j < 16; j++) q->qs[j] = (uint8_t)rnd64();
            }
        break;
    case GF_TYPE_Q4_1:
        gf_quantize_row_q4_1_ref(x, (block_q4_1 *)dst, n);
        if (r % 7 == 3)
            for (int b = 0; b < nb; b++) {
                block_q4_1 *q = (block_q4_1 *)dst + b;
                for (int j = 0; j < 16; j++) q->qs[j] = (uint8_t)rnd64();
            }
        break;
    case GF_TYPE_Q8_0:
        gf_quantize_row_q8_0_ref(x, (block_q8_0 *)dst, n);
        if (r % 7 == 3) /* includes -128, which the quantizer never writes */
            for (int b = 0; b < nb; b++) {
                block_q8_0 *q = (block_q8_0 *)dst + b;
                for (int j = 0; j < 32; j++) q->qs[j] = (int8_t)rnd64();
            }
        break;
    case GF_TYPE_Q5_0: /* no quantizer writes it: random levels and fifth bits; all 0 (-16) or all 31 in some rows */
        for (int b = 0; b < nb; b++) {
            block_q5_0 *q = (block_q5_0 *)dst + b;
            q->d = rnd_half(0.0005f, 0.005f);
            for (int j = 0; j < 4; j++) q->qh[j] = (uint8_t)rnd64();
            for (int j = 0; j < 16; j++) q->qs[j] = (uint8_t)rnd64();
            if (r % 7 == 3) {
                memset(q->qh, r & 8 ? 0xff : 0, 4);
                memset(q->qs, r & 8 ? 0xff : 0, 16);
            }
        }
        break;
    case GF_TYPE_IQ4_NL: /* random codebook indices (every one of the 16 occurs) */
        for (int b = 0; b < nb; b++) {
            block_iq4_nl *q = (block_iq4_nl *)dst + b;
            q->d = rnd_half(0.0001f, 0.001f);
            for (int j = 0; j < 16; j++) q->qs[j] = (uint8_t)rnd64();
            if (r % 7 == 3) memset(q->qs, r & 8 ? 0xff : 0, 16); /* all 113 or all -127 */
        }
        break;
    case GF_TYPE_Q4_K:
        for (int b = 0; b < nsb; b++) {
            block_q4_K *q = (block_q4_K *)dst + b;
            q->d = rnd_half(0.0002f, 0.002f);
            q->dmin = rnd_half(0.0001f, 0.001f);
            for (int j = 0; j < 12; j++) q->scales[j] = (uint8_t)rnd64();
            for (int j = 0; j < 128; j++) q->qs[j] = (uint8_t)rnd64();
            if (r % 7 == 3) { /* extremes: largest scales and nibbles */
                memset(q->scales, 0xff, 12);
                memset(q->qs, 0xff, 128);
            }
        }
        break;
    case GF_TYPE_Q6_K:
        for (int b = 0; b < nsb; b++) {
            block_q6_K *q = (block_q6_K *)dst + b;
            q->d = rnd_half(0.00005f, 0.0005f);
            for (int j = 0; j < 16; j++) q->scales[j] = (int8_t)rnd64();
            for (int j = 0; j < 128; j++) q->ql[j] = (uint8_t)rnd64();
            for (int j = 0; j < 64; j++) q->qh[j] = (uint8_t)rnd64();
            if (r % 7 == 3) { /* extremes: q = -32 everywhere, scale -128 */
                memset(q->ql, 0, 128);
                memset(q->qh, 0, 64);
                memset(q->scales, 0x80, 16);
            }
        }
        break;
    default: { /* a type this test has no hand-made rows for: its reference quantizer */
        const gf_type_traits *t = gf_type_info(type);
        CHECK(t && t->quantize_ref, "test_kernels: no way to make %s weights (add a case to make_weight_row)", gf_type_name(type));
        if (t && t->quantize_ref) t->quantize_ref(x, dst, n);
        break;
    }
    }
}

/* An activation row as the dot product sees it, in f32 (exact). */
static void dequant_act(gf_act_format f, const void *src, float *dst, int n) {
    switch (f) {
    case GF_ACT_F32: memcpy(dst, src, (size_t)n * 4); break;
    case GF_ACT_F16: gf_dequantize_row(GF_TYPE_F16, src, dst, n); break;
    case GF_ACT_Q8_0: gf_dequantize_row(GF_TYPE_Q8_0, src, dst, n); break;
    case GF_ACT_Q8_1:
        for (int b = 0; b < n / 32; b++) {
            const block_q8_1 *q = (const block_q8_1 *)src + b;
            for (int j = 0; j < 32; j++) dst[32 * b + j] = gf_half_to_float(q->d) * q->qs[j];
        }
        break;
    case GF_ACT_Q8_K:
        for (int b = 0; b < n / 256; b++) {
            const block_q8_K *q = (const block_q8_K *)src + b;
            for (int j = 0; j < 256; j++) dst[256 * b + j] = q->d * q->qs[j];
        }
        break;
    case GF_ACT_BF16:
        for (int i = 0; i < n; i++) dst[i] = gf_bf16_to_float(((const gf_bf16 *)src)[i]);
        break;
    }
}

/* Tolerance of a reference dot against the dequantized formats: f32
 * rounding of the block terms and their sum, 1e-5 * sum |w_i a_i|; for Q4_1
 * also the rounding to halves of the activation's d and of s = d * sum(q),
 * which its m * s term inherits (2^-11 relative each). */
static double dot_tol(uint32_t type, int n, const float *wf, const float *af, const void *wrow, const void *act) {
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs((double)wf[i] * af[i]);
    s *= 1e-5;
    if (type == GF_TYPE_Q4_1 || type == GF_TYPE_Q5_1) /* m is at the same offset in both (d, m first) */
        for (int b = 0; b < n / 32; b++)
            s += fabs((double)gf_half_to_float(((const gf_half *)((const uint8_t *)wrow + (size_t)b * gf_type_info(type)->bytes))[1]) *
                      gf_half_to_float(((const block_q8_1 *)act)[b].s)) * 0x1p-11 * 2.02;
    return s + 1e-30;
}

typedef struct {
    uint32_t type;
    int n, rows, ntok;
    size_t rb, ab;
    gf_act_format af;
    uint8_t *w, *act;
    float *xf;
} mm_case;

/* wasm loads need no alignment, so the SIMD kernels are tested on odd
 * addresses; in native C that would be undefined behaviour (and UBSan says
 * so), and the runtime's own data is always aligned. */
#if GF_HAVE_SIMD128
#define MISALIGN 1
#else
#define MISALIGN 0
#endif

static void mm_setup(mm_case *c, uint32_t type, int n, int rows, int ntok) {
    c->type = type, c->n = n, c->rows = rows, c->ntok = ntok;
    c->rb = gf_row_bytes(type, (uint64_t)n);
    c->af = gf_act_format_for(type);
    c->ab = gf_act_row_bytes(c->af, n) + 8; /* a stride wider than the row */
    c->w = malloc(c->rb * (size_t)rows + 16);
    c->act = malloc(c->ab * (size_t)ntok + 16);
    c->xf = malloc(sizeof(float) * (size_t)n * (size_t)ntok);
    for (int r = 0; r < rows; r++) make_weight_row(type, n, c->w + MISALIGN + c->rb * (size_t)r, r);
    for (int t = 0; t < ntok; t++) {
        make_act(c->xf + (size_t)t * n, n, t % 3 == 2 ? 0.01f : 1.0f);
        gf_quantize_act_row(c->af, c->xf + (size_t)t * n, c->act + MISALIGN + c->ab * (size_t)t, n);
    }
}

static void mm_free(mm_case *c) {
    free(c->w);
    free(c->act);
    free(c->xf);
}

static gf_matrix mm_matrix(const mm_case *c) {
    gf_matrix m = {c->type, c->n, c->rb, c->w + MISALIGN};
    return m;
}

static void test_matmul_case(uint32_t type, int n, int rows, int ntok) {
    const char *tn = gf_type_name(type);
    mm_case c;
    mm_setup(&c, type, n, rows, ntok);
    gf_matrix m = mm_matrix(&c);
    const uint8_t *act = c.act + MISALIGN;
    size_t ys = (size_t)rows + 3;
    float *yr = calloc(ys * (size_t)ntok, sizeof(float)), *yd = calloc(ys * (size_t)ntok, sizeof(float));
    float *yx = calloc(ys * (size_t)ntok, sizeof(float));
    gf_matmul_ref(&m, 0, rows, act, c.ab, ntok, yr, ys);

    /* the reference against the formats: dequantized dot in double */
    float *wf = malloc(sizeof(float) * (size_t)n), *af = malloc(sizeof(float) * (size_t)n);
    int bad = 0;
    for (int r = 0; r < rows; r++) {
        gf_dequantize_row(type, c.w + MISALIGN + c.rb * (size_t)r, wf, n);
        for (int t = 0; t < ntok; t++) {
            const uint8_t *at = act + c.ab * (size_t)t;
            dequant_act(c.af, at, af, n);
            double d = 0;
            for (int i = 0; i < n; i++) d += (double)wf[i] * af[i];
            double tol = dot_tol(type, n, wf, af, c.w + MISALIGN + c.rb * (size_t)r, at);
            float got = yr[(size_t)t * ys + r];
            if (!(fabs(got - d) <= tol) && bad++ < 3)
                fprintf(stderr, "%s n=%d r=%d t=%d: ref %g, dequantized %g (tol %g)\n", tn, n, r, t, got, d, tol);
        }
    }
    CHECK(bad == 0, "%s n=%d: %d reference dots disagree with the dequantized formats", tn, n, bad);

#if GF_HAVE_SIMD128
    /* SIMD against the reference */
    gf_matmul_simd128(&m, 0, rows, act, c.ab, ntok, yx, ys);
    bad = 0;
    int exact = type != GF_TYPE_F32 && type != GF_TYPE_F16; /* BF16's kernel follows its reference's summation order */
    for (int r = 0; r < rows; r++) {
        gf_dequantize_row(type, c.w + MISALIGN + c.rb * (size_t)r, wf, n);
        for (int t = 0; t < ntok; t++) {
            float a = yx[(size_t)t * ys + r], b = yr[(size_t)t * ys + r];
            if (exact) {
                if (!same_float(a, b) && bad++ < 3)
                    fprintf(stderr, "%s n=%d r=%d t=%d: simd %a ref %a\n", tn, n, r, t, a, b);
            } else {
                dequant_act(c.af, act + c.ab * (size_t)t, af, n);
                double tol = dot_tol(type, n, wf, af, NULL, NULL);
                if (!(fabs((double)a - b) <= tol) && bad++ < 3)
                    fprintf(stderr, "%s n=%d r=%d t=%d: simd %g ref %g tol %g\n", tn, n, r, t, a, b, tol);
            }
        }
    }
    CHECK(bad == 0, "%s n=%d rows=%d ntok=%d: %d simd results differ from the reference%s", tn, n, rows, ntok, bad,
          exact ? " (must be bit-exact)" : "");
#else
    memcpy(yx, yr, sizeof(float) * ys * (size_t)ntok);
#endif

    /* determinism of the dispatched kernel: whole call vs row splits, one
     * token at a time, single rows */
    gf_matmul(&m, 0, rows, act, c.ab, ntok, yd, ys);
    CHECK(memcmp(yd, yx, sizeof(float) * ys * (size_t)ntok) == 0, "%s n=%d: dispatch differs", tn, n);
    float *y2 = calloc(ys * (size_t)ntok, sizeof(float));
    int cut1 = 1 + (int)(rnd64() % (uint64_t)(rows - 1)), cut2 = cut1 + (int)(rnd64() % (uint64_t)(rows - cut1));
    gf_matmul(&m, 0, cut1, act, c.ab, ntok, y2, ys);
    gf_matmul(&m, cut1, cut2, act, c.ab, ntok, y2, ys);
    gf_matmul(&m, cut2, rows, act, c.ab, ntok, y2, ys);
    CHECK(memcmp(y2, yd, sizeof(float) * ys * (size_t)ntok) == 0, "%s n=%d: row split %d/%d changes bits", tn, n,
          cut1, cut2);
    memset(y2, 0, sizeof(float) * ys * (size_t)ntok);
    for (int t = 0; t < ntok; t++) gf_matmul(&m, 0, rows, act + c.ab * (size_t)t, c.ab, 1, y2 + ys * (size_t)t, ys);
    CHECK(memcmp(y2, yd, sizeof(float) * ys * (size_t)ntok) == 0, "%s n=%d: per-token calls change bits", tn, n);
    memset(y2, 0, sizeof(float) * ys * (size_t)ntok);
    for (int r = 0; r < rows; r++)
        for (int t0 = 0; t0 < ntok; t0 += 2) {
            int nt = ntok - t0 < 2 ? ntok - t0 : 2;
            gf_matmul(&m, r, r + 1, act + c.ab * (size_t)t0, c.ab, nt, y2 + ys * (size_t)t0, ys);
        }
    CHECK(memcmp(y2, yd, sizeof(float) * ys * (size_t)ntok) == 0, "%s n=%d: single rows change bits", tn, n);

    free(y2);
    free(wf);
    free(af);
    free(yr);
    free(yd);
    free(yx);
    mm_free(&c);
}

/* The registry's rows: every computable type has its kernel, reference dot
 * and dequantizer (gf_kernels_check), and this test knows every one. */
static void test_registry(void) {
    CHECK(gf_kernels_check() == GF_OK, "gf_kernels_check: %s", gf_error_message());
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++) {
        const gf_type_traits *t = gf_type_info(i);
        if (!t || !t->computable) {
            CHECK(!gf_matmul_kernel(i), "%s has a kernel but is not computable", gf_type_name(i));
            continue;
        }
        CHECK(gf_matmul_kernel(i) != NULL, "%s: no matmul kernel", t->name);
        CHECK(gf_act_row_bytes(t->act, 256) > 0, "%s: activation format", t->name);
    }
}

static void test_matmul(void) {
    /* 8192: one whole GEMV activation chunk (llama3.2-1b's ffn_down) */
    static const int ns[] = {256, 768, 2048, 5632, 8192};
    /* every computable type of the registry, SIMD against the scalar reference */
    for (uint32_t type = 0; type < GF_TYPE_COUNT; type++) {
        const gf_type_traits *t = gf_type_info(type);
        if (!t || !t->computable) continue;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            if (gf_row_bytes(type, (uint64_t)ns[ni]) == 0) continue;
            test_matmul_case(type, ns[ni], 13, 9);
        }
    }
    /* F32/F16 rows of any length (the kernels' scalar tails) */
    static const int odd[] = {1, 3, 7, 8, 9, 15, 17, 33, 100};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        test_matmul_case(GF_TYPE_F32, odd[i], 6, 5);
        test_matmul_case(GF_TYPE_F16, odd[i], 6, 5);
        test_matmul_case(GF_TYPE_BF16, odd[i], 6, 5);
    }
    /* rows longer than the GEMV's activation chunk (8192 elements) */
    for (uint32_t type = 0; type < GF_TYPE_COUNT; type++)
        if (gf_type_info(type) && gf_type_info(type)->computable && gf_type_info(type)->block > 1 && gf_row_bytes(type, 8960))
            test_matmul_case(type, 8960, 6, 5);
    test_matmul_case(GF_TYPE_Q4_K, 16640, 5, 2);
    /* more rows than a GEMM panel (256), with a short last panel */
    test_matmul_case(GF_TYPE_Q4_0, 256, 300, 20);
    test_matmul_case(GF_TYPE_Q6_K, 512, 270, 4);
    /* more rows than the GEMV's row spreading block (4 x 256) */
    test_matmul_case(GF_TYPE_Q8_0, 64, 1103, 5);
    test_matmul_case(GF_TYPE_F16, 24, 1103, 1);
    /* several GEMM tiles and a GEMV tail in one call, long rows among them */
    test_matmul_case(GF_TYPE_Q4_0, 512, 9, 13);
    test_matmul_case(GF_TYPE_Q4_1, 2048, 6, 13);
    test_matmul_case(GF_TYPE_Q8_0, 8960, 5, 17);
    /* wide tiles (16 tokens for the 32-element types), four-token tiles and
     * a GEMV tail, over several GEMM activation chunks (1024 elements) */
    test_matmul_case(GF_TYPE_Q4_0, 2080, 9, 39);
    test_matmul_case(GF_TYPE_Q4_1, 2080, 5, 39);
    test_matmul_case(GF_TYPE_Q8_0, 2080, 5, 39);
    test_matmul_case(GF_TYPE_Q5_0, 2080, 9, 39);
    test_matmul_case(GF_TYPE_IQ4_NL, 2080, 9, 39);
    test_matmul_case(GF_TYPE_Q5_0, 64, 1103, 5);
    test_matmul_case(GF_TYPE_IQ4_NL, 64, 1103, 5);
    test_matmul_case(GF_TYPE_Q4_K, 2304, 5, 39);
    test_matmul_case(GF_TYPE_Q6_K, 2304, 5, 39);
    test_matmul_case(GF_TYPE_Q6_K, 512, 270, 12);
    /* a single row and a single token */
    test_matmul_case(GF_TYPE_Q4_0, 64, 2, 1);
    test_matmul_case(GF_TYPE_Q6_K, 256, 2, 1);
    /* the newer types: GEMM panels, tiles and tails */
    static const uint32_t newer[] = {GF_TYPE_Q5_K, GF_TYPE_Q3_K, GF_TYPE_Q2_K, GF_TYPE_IQ4_XS, GF_TYPE_Q5_1, GF_TYPE_BF16,
                                     GF_TYPE_Q5_0, GF_TYPE_IQ4_NL};
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++) {
        test_matmul_case(newer[i], 2304, 5, 39);
        test_matmul_case(newer[i], 512, 270, 4);
        test_matmul_case(newer[i], 256, 2, 1);
    }
}

/* Largest integer sums: Q8_0 weights of -128 against activations of -127
 * (Q5_0's -16 and 15, IQ4_NL's -127 and 113 likewise),
 * Q4_K at the largest scales and nibbles, Q6_K at scale -128, q = -32. */
static void test_extremes(void) {
#if GF_HAVE_SIMD128
    enum { N = 2048 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = -1.0f;
    static uint8_t act[sizeof(block_q8_K) * (N / 256)];
    static uint8_t w[sizeof(block_q6_K) * (N / 256) * 4];
    const uint32_t types[] = {GF_TYPE_Q8_0, GF_TYPE_Q4_K, GF_TYPE_Q6_K, GF_TYPE_Q4_0, GF_TYPE_Q4_1, GF_TYPE_Q5_0, GF_TYPE_IQ4_NL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        uint32_t type = types[k];
        size_t rb = gf_row_bytes(type, N);
        gf_quantize_act_row_ref(gf_act_format_for(type), x, act, N);
        memset(w, 0, sizeof w);
        for (int r = 0; r < 4; r++)
            for (int b = 0; b < N / 256; b++) {
                uint8_t *blk = w + rb * (size_t)r + (type == GF_TYPE_Q4_K ? 144 : 210) * (size_t)b;
                if (type == GF_TYPE_Q4_K) {
                    ((block_q4_K *)blk)->d = 0x3c00;
                    ((block_q4_K *)blk)->dmin = 0x3c00;
                    memset(((block_q4_K *)blk)->scales, 0xff, 12);
                    memset(((block_q4_K *)blk)->qs, r & 1 ? 0xff : 0x00, 128);
                } else if (type == GF_TYPE_Q6_K) {
                    ((block_q6_K *)blk)->d = 0x3c00;
                    memset(((block_q6_K *)blk)->scales, r & 1 ? 0x80 : 0x7f, 16);
                    memset(((block_q6_K *)blk)->ql, r & 2 ? 0xff : 0, 128);
                    memset(((block_q6_K *)blk)->qh, r & 2 ? 0xff : 0, 64);
                }
            }
        if (type == GF_TYPE_Q8_0 || type == GF_TYPE_Q4_0 || type == GF_TYPE_Q4_1)
            for (int r = 0; r < 4; r++)
                for (int b = 0; b < N / 32; b++) {
                    size_t bs = type == GF_TYPE_Q8_0 ? 34 : type == GF_TYPE_Q4_0 ? 18 : 20;
                    uint8_t *blk = w + rb * (size_t)r + bs * (size_t)b;
                    blk[0] = 0x00, blk[1] = 0x3c;
                    /* Q8_0 -128 and 127; Q4_0 nibbles 0 (q - 8 = -8); Q4_1 nibbles 15 */
                    const int hi = type == GF_TYPE_Q4_1 ? 0xff : 0x80;
                    memset(blk + 2, r & 1 ? hi : (type == GF_TYPE_Q8_0 ? 0x7f : 0x00), bs - 2);
                    if (type == GF_TYPE_Q4_1) blk[2] = 0, blk[3] = 0x3c;
                }
        /* Q5_0 all levels 0 (q - 16 = -16) or all 31; IQ4_NL all index 0 (-127) or all 15 (113) */
        if (type == GF_TYPE_Q5_0 || type == GF_TYPE_IQ4_NL)
            for (int r = 0; r < 4; r++)
                for (int b = 0; b < N / 32; b++) {
                    size_t bs = gf_type_info(type)->bytes;
                    uint8_t *blk = w + rb * (size_t)r + bs * (size_t)b;
                    blk[0] = 0x00, blk[1] = 0x3c;
                    memset(blk + 2, r & 1 ? 0xff : 0x00, bs - 2);
                }
        gf_matrix m = {type, N, rb, w};
        float ys[4], yr[4];
        gf_matmul_simd128(&m, 0, 4, act, 0, 1, ys, 1);
        gf_matmul_ref(&m, 0, 4, act, 0, 1, yr, 1);
        CHECK(memcmp(ys, yr, sizeof ys) == 0, "%s extremes: simd %g %g %g %g ref %g %g %g %g", gf_type_name(type), ys[0],
              ys[1], ys[2], ys[3], yr[0], yr[1], yr[2], yr[3]);
        /* the same through the GEMM's widest tiles (the same activations for every token) */
        float ys16[16 * 4], yr16[16 * 4];
        gf_matmul_simd128(&m, 0, 4, act, 0, 16, ys16, 4);
        gf_matmul_ref(&m, 0, 4, act, 0, 16, yr16, 4);
        CHECK(memcmp(ys16, yr16, sizeof ys16) == 0 && memcmp(ys16, yr, sizeof yr) == 0,
              "%s extremes, 16 tokens: simd %g %g %g %g ref %g %g %g %g", gf_type_name(type), ys16[0], ys16[1], ys16[2],
              ys16[3], yr16[0], yr16[1], yr16[2], yr16[3]);
    }
#endif
}

/* Scales of exponent 31 (inf/nan) in one row: the SIMD kernels detect them
 * and defer to the reference, so even these results agree (nan for nan). */
static void test_special_scales(void) {
#if GF_HAVE_SIMD128
    const uint32_t types[] = {GF_TYPE_Q4_0, GF_TYPE_Q4_1, GF_TYPE_Q8_0, GF_TYPE_Q4_K, GF_TYPE_Q6_K, GF_TYPE_Q5_0, GF_TYPE_IQ4_NL};
    const gf_half specials[] = {0x7c00, 0xfc00, 0x7e00, 0x7c01};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        for (size_t si = 0; si < sizeof specials / sizeof specials[0]; si++) {
            mm_case c;
            mm_setup(&c, types[k], 512, 6, 5);
            gf_matrix m = mm_matrix(&c);
            uint8_t *row = c.w + MISALIGN + c.rb * 2;
            size_t off = types[k] == GF_TYPE_Q6_K ? offsetof(block_q6_K, d) : 0;
            size_t bs = types[k] == GF_TYPE_Q4_K ? 144 : types[k] == GF_TYPE_Q6_K ? 210 : gf_type_info(types[k])->bytes;
            /* second block's scale (for Q4_1/Q4_K also try the min) */
            if (si == 3 && (types[k] == GF_TYPE_Q4_1 || types[k] == GF_TYPE_Q4_K)) off = 2;
            memcpy(row + bs + off, &specials[si], 2);
            float yr[5 * 6], ys[5 * 6], y1[5 * 6];
            gf_matmul_ref(&m, 0, 6, c.act + 1, c.ab, 5, yr, 6);
            gf_matmul_simd128(&m, 0, 6, c.act + 1, c.ab, 5, ys, 6);
            for (int t = 0; t < 5; t++) gf_matmul_simd128(&m, 2, 3, c.act + 1 + c.ab * (size_t)t, c.ab, 1, y1 + 6 * t, 6);
            int bad = 0;
            for (int i = 0; i < 30; i++)
                if (!same_float(ys[i], yr[i]) && bad++ < 2) fprintf(stderr, "  [%d] simd %a ref %a\n", i, ys[i], yr[i]);
            for (int t = 0; t < 5; t++) bad += memcmp(&y1[6 * t + 2], &ys[6 * t + 2], 4) != 0;
            CHECK(bad == 0, "%s with scale %04x: %d results differ", gf_type_name(types[k]), specials[si], bad);
            CHECK(isnan(ys[2]) || isinf(ys[2]), "%s with scale %04x: row 2 is %g", gf_type_name(types[k]), specials[si],
                  ys[2]);
            mm_free(&c);
        }
#endif
}

/* Every finite half as a block scale (and as Q4_1's and Q4_K's min), four
 * rows at a time with the halves rotating over the lanes: the SIMD kernels
 * convert scales in two ways (half_simd128.h), both must be exact, subnormal
 * halves included. */
static void test_all_finite_scales(void) {
#if GF_HAVE_SIMD128
    const uint32_t types[] = {GF_TYPE_Q4_0, GF_TYPE_Q4_1, GF_TYPE_Q8_0, GF_TYPE_Q4_K, GF_TYPE_Q6_K, GF_TYPE_Q5_0, GF_TYPE_IQ4_NL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        mm_case c;
        mm_setup(&c, types[k], 256, 4, 1);
        gf_matrix m = mm_matrix(&c);
        const int has_min = types[k] == GF_TYPE_Q4_1 || types[k] == GF_TYPE_Q4_K;
        const size_t d_off = types[k] == GF_TYPE_Q6_K ? offsetof(block_q6_K, d) : 0;
        int bad = 0;
        for (int field = 0; field <= has_min; field++)
            for (uint32_t h0 = 0; h0 < 0x10000; h0 += 4) {
                if ((h0 & 0x7c00) == 0x7c00) continue; /* inf/nan: test_special_scales */
                for (int r = 0; r < 4; r++) {
                    gf_half h = (gf_half)(h0 + (uint32_t)((r + (int)(h0 >> 2)) & 3)); /* rotate halves over the lanes */
                    memcpy(c.w + MISALIGN + c.rb * (size_t)r + (field ? 2 : d_off), &h, 2);
                }
                float yr[4], ys[4];
                gf_matmul_ref(&m, 0, 4, c.act + 1, c.ab, 1, yr, 4);
                gf_matmul_simd128(&m, 0, 4, c.act + 1, c.ab, 1, ys, 4);
                for (int r = 0; r < 4; r++)
                    if (!same_float(ys[r], yr[r]) && bad++ < 3)
                        fprintf(stderr, "  %s %s near %04x, row %d: simd %a ref %a\n", gf_type_name(types[k]),
                                field ? "min" : "scale", h0, r, ys[r], yr[r]);
            }
        CHECK(bad == 0, "%s: %d results differ over all finite scales", gf_type_name(types[k]), bad);
        mm_free(&c);
    }
#endif
}

/* ---- f32 helpers ---- */

/* The polynomial e^x over its whole range (exp_poly.h), and SwiGLU: SIMD
 * equal to the reference bit for bit, at every n and alignment, with
 * extremes (overflowing and vanishing exponentials, infinities, NaN). */
static void test_swiglu(void) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.7f; x += 0.00390625f) {
        double want = exp((double)x), got = gf_exp_poly(x);
        double ulp = ldexp(1.0, ilogb(want) - 23);
        if (fabs(got - want) / ulp > worst) worst = fabs(got - want) / ulp;
    }
    CHECK(worst <= 2.0, "exp error %.2f ulp", worst);
    CHECK(gf_exp_poly(-INFINITY) == 0 && gf_exp_poly(-100.0f) == 0 && gf_exp_poly(NAN) == 0, "exp lower limits");
    CHECK(gf_exp_poly(88.72f) < INFINITY && gf_exp_poly(88.73f) == INFINITY && gf_exp_poly(INFINITY) == INFINITY, "exp upper limits");
    enum { NMAX = 1031 + 4 };
    static float g1[NMAX], g2[NMAX], up[NMAX];
    static const int ns[] = {0, 1, 3, 4, 5, 8, 17, 64, 1031};
    static const float extremes[] = {0.0f, -0.0f, 100.0f, -100.0f, 88.0f, -88.0f, 87.5f, -87.5f, INFINITY, -INFINITY, NAN, 1e-30f};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int off = 0; off < 3; off++) {
            int n = ns[k];
            for (int i = 0; i < n; i++) {
                g1[off + i] = g2[off + i] = rndn() * (i % 7 == 0 ? 30.0f : 3.0f);
                up[i] = rndn();
            }
            for (size_t e = 0; e < sizeof extremes / sizeof extremes[0] && (int)e < n; e++) g1[off + (e * 5) % n] = g2[off + (e * 5) % n] = extremes[e];
            gf_swiglu_f32_ref(g1 + off, up, n);
            gf_swiglu_f32(g2 + off, up, n);
            int bad = 0;
            for (int i = 0; i < n; i++) bad += !same_float(g1[off + i], g2[off + i]);
            CHECK(bad == 0, "swiglu n=%d off=%d: %d values differ", n, off, bad);
            if (n) {
                float x = 0.5f, u = 2.0f, want = x / (1.0f + expf(-x)) * u;
                gf_swiglu_f32(&x, &u, 1);
                CHECK(fabsf(x - want) <= 2e-7f, "swiglu(0.5) * 2 = %g, expf gives %g", x, want);
            }
        }
}

/* GELU through its f16 table (gelu.h): the kernels equal the formula bit
 * for bit at every f16 input, at inputs between them (rounding, ties to
 * even), across the clamps at +-10 and the f16 subnormal edge, with inf and
 * NaN, at every n and alignment. */
static void test_gelu(void) {
    enum { NMAX = 4096 + 4 };
    static float x1[NMAX], x2[NMAX], up[NMAX];
    int bad = 0;
    for (int h0 = 0; h0 < 65536; h0 += 4096) {
        for (int i = 0; i < 4096; i++) x1[i] = x2[i] = gf_half_to_float((gf_half)(h0 + i));
        gf_gelu_f32_ref(x1, 4096);
        gf_gelu_f32(x2, 4096);
        for (int i = 0; i < 4096; i++) bad += !same_float(x1[i], x2[i]);
    }
    CHECK(bad == 0, "gelu at f16 inputs: %d values differ", bad);
    /* between f16 values: exact ties (round to even), one ulp either side of them, and random */
    static const float edges[] = {10.0f, -10.0f, 9.999f, -9.999f, 9.998f, 0x1p-14f, -0x1p-14f, 0x1.ffep-15f, 6.0e-5f,
                                  0.0f, -0.0f, INFINITY, -INFINITY, NAN, 65520.0f, 1e-30f};
    static const int ns[] = {0, 1, 3, 4, 5, 8, 17, 64, 1031, 4096};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int off = 0; off < 3; off++) {
            int n = ns[k];
            for (int i = 0; i < n; i++) {
                float v = rndn() * (i % 5 == 0 ? 6.0f : 1.5f);
                if (i % 3 == 1) { /* a tie between two f16 values, or next to one */
                    uint32_t u = f2u(gf_half_to_float(gf_float_to_half(v))) + 0x1000 + (uint32_t)(i % 9) - 4;
                    memcpy(&v, &u, 4);
                }
                x1[off + i] = x2[off + i] = v;
                up[i] = rndn();
            }
            for (size_t e = 0; e < sizeof edges / sizeof edges[0] && (int)e < n; e++) x1[off + (e * 7) % n] = x2[off + (e * 7) % n] = edges[e];
            float g1[NMAX], g2[NMAX];
            memcpy(g1, x1, sizeof(float) * (size_t)(n + off));
            memcpy(g2, x2, sizeof(float) * (size_t)(n + off));
            gf_gelu_f32_ref(x1 + off, n);
            gf_gelu_f32(x2 + off, n);
            gf_geglu_f32_ref(g1 + off, up, n);
            gf_geglu_f32(g2 + off, up, n);
            int bg = 0, bgg = 0;
            for (int i = 0; i < n; i++) {
                bg += !same_float(x1[off + i], x2[off + i]);
                bgg += !same_float(g1[off + i], g2[off + i]);
            }
            CHECK(bg == 0 && bgg == 0, "gelu n=%d off=%d: %d values differ, geglu: %d", n, off, bg, bgg);
        }
    /* the formula itself: GELU(1) = 0.8412 (tanh form), rounded to f16 */
    float one = 1.0f;
    gf_gelu_f32(&one, 1);
    CHECK(one == gf_half_to_float(gf_float_to_half(0.841192f)), "gelu(1) = %.6f", one);
}

static void test_f32_ops(void) {
    static const int ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023, 4097};
    enum { NMAX = 4097 + 8 };
    static float a[NMAX], b[NMAX], y1[NMAX], y2[NMAX];
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int off = 0; off < 3; off++) {
            int n = ns[k];
            float *pa = a + off, *pb = b + 2 - off; /* unaligned, differently */
            double mag = 0;
            for (int i = 0; i < n; i++) {
                pa[i] = rndn();
                pb[i] = rndn();
                mag += fabs((double)pa[i] * pb[i]);
            }
            float r = gf_dot_f32_ref(pa, pb, n), d = gf_dot_f32(pa, pb, n);
            CHECK(fabs((double)r - d) <= 1e-5 * mag, "dot n=%d: %g vs ref %g", n, d, r);
            float alpha = rndn();
            for (int i = 0; i < n + 2; i++) y1[i] = y2[i] = rndn();
            gf_axpy_f32_ref(y1 + off, alpha, pa, n);
            gf_axpy_f32(y2 + off, alpha, pa, n);
            CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(n + 2)) == 0, "axpy n=%d off=%d differs", n, off);
            gf_scale_f32_ref(y1 + off, alpha, n);
            gf_scale_f32(y2 + off, alpha, n);
            CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(n + 2)) == 0, "scale n=%d off=%d differs", n, off);
#if GF_HAVE_SIMD128
            d = gf_dot_f32_simd128(pa, pb, n);
            CHECK(fabs((double)r - d) <= 1e-5 * mag, "simd dot n=%d: %g vs ref %g", n, d, r);
#endif
        }
}

int main(void) {
    (void)read_file; /* testing.h's, for other tests */
    printf("kernels: %s\n", gf_kernels_name());
    test_fp16_ref();
    test_fp16_simd();
    test_act_quant();
    test_registry();
    test_matmul();
    test_extremes();
    test_special_scales();
    test_all_finite_scales();
    test_f32_ops();
    test_swiglu();
    test_gelu();
    TEST_MAIN_END();
}
