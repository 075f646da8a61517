/* IQ4_XS and BF16: the reference code against llama.cpp's formats and
 * files, and (in wasm builds) the SIMD matmuls against the references,
 * bit for bit. */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "kernels/kernels.h"
#include "quant/bf16.h"
#include "quant/iq4_xs.h"
#include "testing.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}
static float frand(void) { return (float)rnd() / 2147483648.0f - 1.0f; } /* [-1, 1) */
static float grand(void) { return frand() + frand() + frand(); }          /* bell-shaped */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- (a) quantize, dequantize ---- */

static double rel_rms(const float *a, const float *b, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += (double)(a[i] - b[i]) * (a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

static void test_iq4_xs_roundtrip(void) {
    static const int sizes[] = {256, 512, 768, 2048, 4096};
    double worst = 0;
    for (int k = 0; k < 5; k++) {
        int n = sizes[k];
        float *x = malloc(n * 4), *y = malloc(n * 4);
        block_iq4_xs *q = malloc(n / QK_K * sizeof *q);
        float scale = 0.001f + 0.1f * (float)k;
        for (int i = 0; i < n; i++) x[i] = scale * grand();
        gf_quantize_row_iq4_xs_ref(x, q, n);
        gf_dequantize_row_iq4_xs(q, y, n);
        double e = rel_rms(y, x, n);
        if (e > worst) worst = e;
        CHECK(e < 0.075, "iq4_xs n=%d: relative rms error %.4f", n, e);
        /* every value is d * (ls - 32) * kvalue of its sub-block */
        int bad = 0;
        for (int b = 0; b < n / QK_K; b++)
            for (int j = 0; j < 8; j++)
                for (int l = 0; l < 32; l++) {
                    int idx = l < 16 ? q[b].qs[16 * j + l] & 0xf : q[b].qs[16 * j + l - 16] >> 4;
                    float v = gf_half_to_float(q[b].d) * (float)gf_iq4_xs_scale(&q[b], j) * gf_kvalues_iq4nl[idx];
                    bad += f2u(v) != f2u(y[b * QK_K + 32 * j + l]);
                }
        CHECK(bad == 0, "iq4_xs n=%d: %d dequantized values off the codebook", n, bad);
        free(x), free(y), free(q);
    }
    printf("iq4_xs quantize/dequantize: worst relative rms error %.4f (bell-shaped data)\n", worst);
    /* an all-zero block: zeros back */
    float z[QK_K] = {0}, back[QK_K];
    block_iq4_xs qz;
    gf_quantize_row_iq4_xs_ref(z, &qz, QK_K);
    gf_dequantize_row_iq4_xs(&qz, back, QK_K);
    int nz = 0;
    for (int i = 0; i < QK_K; i++) nz += back[i] != 0;
    CHECK(nz == 0, "iq4_xs zero block: %d non-zero values", nz);
}

static void test_bf16_roundtrip(void) {
    /* every finite bf16 round-trips exactly (all 65536 patterns tried) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue; /* NaN: below */
        float f = gf_bf16_to_float((gf_bf16)h);
        gf_bf16 back;
        gf_quantize_row_bf16_ref(&f, &back, 1);
        bad += back != h;
    }
    CHECK(bad == 0, "bf16: %d values do not round-trip", bad);
    /* rounding: to nearest, ties to even; NaN stays NaN, made quiet */
    static const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
        {0x3f80ffff, 0x3f81}, {0xbf808000, 0xbf80}, {0x7f7fffff, 0x7f80}, {0x7f800000, 0x7f80},
        {0xff800000, 0xff80}, {0x7f800001, 0x7fc0}, {0xffc12345, 0xffc1}, {0x00000001, 0x0000},
        {0x00008000, 0x0000}, {0x00018000, 0x0002}, {0x80000000, 0x8000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float f;
        memcpy(&f, &cases[i].in, 4);
        gf_bf16 h;
        gf_quantize_act_row_bf16_ref(&f, &h, 1);
        CHECK(h == cases[i].out, "bf16(%08x) = %04x, want %04x", cases[i].in, h, cases[i].out);
    }
    /* the dot product: near a double-precision one */
    int n = 1000;
    gf_bf16 *w = malloc(n * 2), *a = malloc(n * 2);
    float *fx = malloc(n * 4);
    for (int i = 0; i < n; i++) fx[i] = grand();
    gf_quantize_row_bf16_ref(fx, w, n);
    for (int i = 0; i < n; i++) fx[i] = grand();
    gf_quantize_act_row_bf16_ref(fx, a, n);
    double exact = 0, mag = 0;
    for (int i = 0; i < n; i++) {
        exact += (double)gf_bf16_to_float(w[i]) * gf_bf16_to_float(a[i]);
        mag += fabs((double)gf_bf16_to_float(w[i]) * gf_bf16_to_float(a[i]));
    }
    float d = gf_dot_bf16_ref(n, w, a);
    CHECK(fabs(d - exact) <= 1e-5 * mag, "bf16 dot %.7g, exact %.7g", d, exact);
    free(w), free(a), free(fx);
}

static void test_iq4_xs_dot(void) {
    /* the reference dot product against dequantized values in double */
    int n = 1024;
    float *x = malloc(n * 4), *wx = malloc(n * 4), *ax = malloc(n * 4);
    block_iq4_xs *w = malloc(n / QK_K * sizeof *w);
    block_q8_K *a = malloc(n / QK_K * sizeof *a);
    for (int i = 0; i < n; i++) x[i] = 0.02f * grand();
    gf_quantize_row_iq4_xs_ref(x, w, n);
    for (int i = 0; i < n; i++) x[i] = grand();
    gf_quantize_act_row_ref(GF_ACT_Q8_K, x, a, n);
    gf_dequantize_row_iq4_xs(w, wx, n);
    double exact = 0, mag = 0;
    for (int b = 0; b < n / QK_K; b++)
        for (int i = 0; i < QK_K; i++) {
            double p = (double)wx[b * QK_K + i] * a[b].d * a[b].qs[i];
            exact += p;
            mag += fabs(p);
        }
    float d = gf_dot_iq4_xs_ref(n, w, a);
    CHECK(fabs(d - exact) <= 1e-5 * mag, "iq4_xs dot %.7g, exact %.7g", d, exact);
    free(x), free(wx), free(ax), free(w), free(a);
}

/* ---- (b) SIMD matmul == reference, bit for bit ---- */

#if GF_HAVE_SIMD128
typedef float (*dot_fn)(int, const void *, const void *);
typedef void (*matmul_fn)(const gf_matrix *, int, int, const void *, size_t, int, float *, size_t);

static int check_matmul(const char *name, dot_fn dot, matmul_fn mm, const gf_matrix *w, int rows, const void *act,
                        size_t astride, int max_tok) {
    float *ref = malloc((size_t)max_tok * rows * 4), *y = malloc((size_t)max_tok * (rows + 2) * 4);
    for (int t = 0; t < max_tok; t++)
        for (int r = 0; r < rows; r++)
            ref[(size_t)t * rows + r] = dot(w->n, (const char *)w->data + (size_t)r * w->row_bytes, (const char *)act + t * astride);
    int fails = 0;
    for (int nt = 1; nt <= max_tok; nt++) {
        int splits[][2] = {{0, rows}, {0, 1}, {rows / 3, rows / 3 + 5}, {rows - 3 > 0 ? rows - 3 : 0, rows}, {1, rows}};
        for (int s = 0; s < 5; s++) {
            int r0 = splits[s][0], r1 = splits[s][1] < rows ? splits[s][1] : rows;
            size_t ys = (size_t)rows + 2;
            for (size_t i = 0; i < (size_t)nt * ys; i++) y[i] = -12345.f;
            mm(w, r0, r1, act, astride, nt, y, ys);
            int bad = 0, outside = 0;
            for (int t = 0; t < nt; t++)
                for (int r = 0; r < (int)ys; r++) {
                    float v = y[t * ys + r];
                    if (r >= r0 && r < r1) bad += f2u(v) != f2u(ref[(size_t)t * rows + r]);
                    else outside += v != -12345.f;
                }
            if (bad || outside) fails++;
            CHECK(bad == 0 && outside == 0, "%s n=%d rows=%d tokens=%d rows [%d, %d): %d results differ, %d writes outside",
                  name, w->n, rows, nt, r0, r1, bad, outside);
        }
    }
    free(ref), free(y);
    return fails;
}

static void test_simd_iq4_xs(void) {
    static const int sizes[] = {256, 512, 768, 2048, 4096, 4864};
    static const int nrows[] = {37, 3, 1, 8, 21, 6};
    int fails = 0;
    for (int k = 0; k < 6; k++) {
        int n = sizes[k], rows = nrows[k], nb = n / QK_K, max_tok = k < 4 ? 20 : 9;
        block_iq4_xs *w = malloc((size_t)rows * nb * sizeof *w);
        for (int i = 0; i < rows * nb; i++) {
            uint8_t *p = (uint8_t *)&w[i];
            for (size_t j = 0; j < sizeof *w; j++) p[j] = (uint8_t)rnd();
            /* a finite scale, some subnormal, some of either sign */
            w[i].d = gf_float_to_half((rnd() % 4 == 0 ? 1e-6f : 1e-3f) * frand());
        }
        block_q8_K *a = malloc((size_t)max_tok * nb * sizeof *a);
        float *x = malloc(n * 4);
        for (int t = 0; t < max_tok; t++) {
            for (int i = 0; i < n; i++) x[i] = (t % 3 == 2 ? 100.f : 1.f) * grand();
            if (t == 1) x[5] = -1e6f; /* a -127 */
            gf_quantize_act_row_ref(GF_ACT_Q8_K, x, a + (size_t)t * nb, n);
        }
        gf_matrix m = {GF_TYPE_IQ4_XS, n, (size_t)nb * sizeof *w, w};
        fails += check_matmul("iq4_xs", gf_dot_iq4_xs_ref, gf_matmul_iq4_xs_simd128, &m, rows, a, (size_t)nb * sizeof *a,
                              max_tok);
        free(w), free(a), free(x);
    }
    printf("iq4_xs SIMD (%s) vs reference: %s\n", gf_kernels_name(), fails ? "DIFFERENT" : "bit-identical");
}

static void test_simd_bf16(void) {
    static const int sizes[] = {256, 259, 1000, 2048, 4096, 4099};
    static const int nrows[] = {37, 3, 1, 9, 21, 6};
    int fails = 0;
    for (int k = 0; k < 6; k++) {
        int n = sizes[k], rows = nrows[k], max_tok = k < 4 ? 20 : 9;
        float *x = malloc((size_t)n * 4);
        gf_bf16 *w = malloc((size_t)rows * n * 2), *a = malloc((size_t)max_tok * n * 2), *a2 = malloc((size_t)n * 2);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) x[i] = 0.05f * grand();
            gf_quantize_row_bf16_ref(x, w + (size_t)r * n, n);
        }
        for (int t = 0; t < max_tok; t++) {
            for (int i = 0; i < n; i++) x[i] = (t % 2 ? 30.f : 1.f) * grand();
            gf_quantize_act_row_bf16_ref(x, a + (size_t)t * n, n);
            gf_quantize_act_row_bf16_simd128(x, a2, n);
            CHECK(memcmp(a2, a + (size_t)t * n, (size_t)n * 2) == 0, "bf16 activation quantizer n=%d: SIMD differs", n);
        }
        gf_matrix m = {GF_TYPE_BF16, n, (size_t)n * 2, w};
        fails += check_matmul("bf16", gf_dot_bf16_ref, gf_matmul_bf16_simd128, &m, rows, a, (size_t)n * 2, max_tok);
        free(x), free(w), free(a), free(a2);
    }
    /* special values in the activation quantizer */
    static const uint32_t sp[8] = {0x7f800001, 0xffc12345, 0x7f7fffff, 0x3f808000, 0x3f818000, 0x00018000, 0x80000000, 0xff800000};
    float f[8];
    gf_bf16 h1[8], h2[8];
    memcpy(f, sp, sizeof f);
    gf_quantize_act_row_bf16_ref(f, h1, 8);
    gf_quantize_act_row_bf16_simd128(f, h2, 8);
    CHECK(memcmp(h1, h2, sizeof h1) == 0, "bf16 activation quantizer: special values differ");
    printf("bf16 SIMD (%s) vs reference: %s\n", gf_kernels_name(), fails ? "DIFFERENT" : "bit-identical");
}
#endif

/* ---- (c) against llama.cpp's files ---- */

typedef struct {
    unsigned char *bytes;
    size_t n;
    gguf_reader *r;
} gfile;

static int open_gguf(const char *name, gfile *f) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s", test_shared_dir(), name);
    f->bytes = read_file(path, &f->n);
    CHECK(f->bytes != NULL, "cannot read %s", path);
    if (!f->bytes) return 0;
    f->r = gguf_reader_new();
    int s = gguf_read_header(f->r, f->bytes, f->n);
    CHECK(s == GGUF_HEADER_DONE, "%s: %s", name, gf_error_message());
    return s == GGUF_HEADER_DONE;
}

static void close_gguf(gfile *f) {
    if (f->r) gguf_reader_free(f->r);
    free(f->bytes);
}

static const void *tensor_data(const gfile *f, const gguf_tensor_info *t) {
    return f->bytes + gguf_data_offset(f->r) + t->offset;
}

static void test_file(const char *file, uint32_t type) {
    gfile q = {0}, f = {0};
    if (!open_gguf(file, &q) || !open_gguf("tiny-brown-f32.gguf", &f)) {
        close_gguf(&q), close_gguf(&f);
        return;
    }
    int tensors = 0;
    uint64_t blocks = 0, same = 0, values = 0, exact = 0;
    double worst = 0;
    const size_t bb = type == GF_TYPE_IQ4_XS ? sizeof(block_iq4_xs) : 2, bn = type == GF_TYPE_IQ4_XS ? QK_K : 1;
    for (uint64_t i = 0; i < gguf_n_tensors(q.r); i++) {
        const gguf_tensor_info *tq = gguf_tensor_at(q.r, i);
        if (tq->type != type) continue;
        int64_t fi = gguf_find_tensor(f.r, tq->name);
        CHECK(fi >= 0, "%s: %s not in the F32 file", file, tq->name);
        if (fi < 0) continue;
        const gguf_tensor_info *tf = gguf_tensor_at(f.r, (uint64_t)fi);
        CHECK(tf->type == GF_TYPE_F32, "%s in the F32 file is type %u", tq->name, tf->type);
        int64_t n = 1;
        for (int d = 0; d < 4; d++) n *= (int64_t)tf->ne[d];
        CHECK(tq->nbytes == (uint64_t)(n / bn * bb), "%s: %llu bytes", tq->name, (unsigned long long)tq->nbytes);
        if (tf->type != GF_TYPE_F32 || tq->nbytes != (uint64_t)(n / bn * bb)) continue;
        tensors++;
        const float *src = tensor_data(&f, tf);
        const uint8_t *qb = tensor_data(&q, tq);
        float *deq = malloc((size_t)n * 4);
        uint8_t *re = malloc(tq->nbytes);
        if (type == GF_TYPE_IQ4_XS) {
            gf_dequantize_row_iq4_xs(qb, deq, n);
            gf_quantize_row_iq4_xs_ref(src, re, n);
            double e = rel_rms(deq, src, n);
            if (e > worst) worst = e;
            CHECK(e < 0.09, "%s %s: relative rms error %.4f", file, tq->name, e);
        } else {
            gf_dequantize_row_bf16(qb, deq, n);
            gf_quantize_row_bf16_ref(src, re, n);
            for (int64_t k = 0; k < n; k++) {
                gf_bf16 h = gf_float_to_bf16(src[k]);
                exact += f2u(deq[k]) == f2u(gf_bf16_to_float(h));
            }
            values += (uint64_t)n;
        }
        for (uint64_t b = 0; b < tq->nbytes / bb; b++, blocks++) same += memcmp(re + b * bb, qb + b * bb, bb) == 0;
        free(deq), free(re);
    }
    CHECK(tensors == (type == GF_TYPE_IQ4_XS ? 28 : 29), "%s: %d tensors of the type", file, tensors);
    CHECK(same == blocks, "%s: %llu of %llu blocks re-quantized equal llama-quantize's", file, (unsigned long long)same,
          (unsigned long long)blocks);
    if (type == GF_TYPE_IQ4_XS)
        printf("%s: %d IQ4_XS tensors, worst relative rms error vs F32 %.4f; re-quantized: %llu of %llu blocks "
               "equal llama-quantize's\n",
               file, tensors, worst, (unsigned long long)same, (unsigned long long)blocks);
    else {
        CHECK(exact == values, "%s: %llu of %llu values equal the F32 value rounded to bf16", file,
              (unsigned long long)exact, (unsigned long long)values);
        printf("%s: %d BF16 tensors, %llu of %llu values = bf16(F32 value); re-quantized: %llu of %llu equal\n", file,
               tensors, (unsigned long long)exact, (unsigned long long)values, (unsigned long long)same,
               (unsigned long long)blocks);
    }
    close_gguf(&q), close_gguf(&f);
}

int main(void) {
    printf("kernels: %s\n", gf_kernels_name());
    test_iq4_xs_roundtrip();
    test_iq4_xs_dot();
    test_bf16_roundtrip();
#if GF_HAVE_SIMD128
    test_simd_iq4_xs();
    test_simd_bf16();
#endif
    test_file("tiny-brown-IQ4_XS.gguf", GF_TYPE_IQ4_XS);
    test_file("tiny-brown-BF16.gguf", GF_TYPE_BF16);
    TEST_MAIN_END();
}
