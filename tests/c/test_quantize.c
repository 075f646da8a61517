/* Row quantizers: the reference method reproduces llama.cpp's bytes for
 * every tensor of the llama.cpp slices (tests/fixtures/models/llamacpp-slice-*:
 * two tensors of llama.cpp's tiny-llama files, its Q8_0, Q4_0, Q4_1, Q6_K and
 * the Q4_K and Q6_K tensors of Q4_K_M, all quantized from its F32 file);
 * the search method never has a larger weighted error than the reference;
 * bad requests fail with a message. */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "quant/iq4_nl.h"
#include "quant/q5_0.h"
#include "quant/quant.h"
#include "quant/quantize.h"
#include "tools/quantize_gptq.h"
#include "testing.h"
#include "quant/registry.h"

typedef struct {
    unsigned char *bytes;
    size_t n;
    gguf_reader *r;
} gguf_file;

static int open_gguf(const char *name, gguf_file *f) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s", test_shared_dir(), name);
    f->bytes = read_file(path, &f->n);
    if (!f->bytes) return 0;
    f->r = gguf_reader_new();
    return gguf_read_header(f->r, f->bytes, f->n) == GGUF_HEADER_DONE;
}

static void close_gguf(gguf_file *f) {
    gguf_reader_free(f->r);
    free(f->bytes);
}

static const void *tensor_data(const gguf_file *f, const gguf_tensor_info *t) {
    return f->bytes + gguf_data_offset(f->r) + t->offset;
}

/* Every tensor of `name` with a type we write, quantized from the F32 file. */
static void check_bit_exact(const gguf_file *src, const char *name, int require_exact) {
    gguf_file q;
    if (!open_gguf(name, &q)) {
        CHECK(0, "cannot read %s", name);
        return;
    }
    int tensors = 0, exact = 0;
    uint64_t rows = 0, rows_equal = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(q.r); i++) {
        const gguf_tensor_info *t = gguf_tensor_at(q.r, i);
        if (!gf_quantize_supported(t->type)) continue;
        int64_t si = gguf_find_tensor(src->r, t->name);
        CHECK(si >= 0, "%s: tensor %s missing in the F32 file", name, t->name);
        if (si < 0) continue;
        const gguf_tensor_info *s = gguf_tensor_at(src->r, (uint64_t)si);
        const float *x = tensor_data(src, s);
        const unsigned char *want = tensor_data(&q, t);
        int64_t n = (int64_t)t->ne[0], nrows = (int64_t)(t->nbytes / gf_row_bytes(t->type, (uint64_t)n));
        size_t rb = gf_row_bytes(t->type, (uint64_t)n);
        unsigned char *got = malloc(rb);
        int64_t equal = 0;
        for (int64_t r = 0; r < nrows; r++) {
            gf_quantize_row(t->type, GF_QUANT_REF, x + r * n, NULL, got, n);
            equal += !memcmp(got, want + r * rb, rb);
        }
        free(got);
        tensors++;
        exact += equal == nrows;
        rows += (uint64_t)nrows;
        rows_equal += (uint64_t)equal;
        if (require_exact) CHECK(equal == nrows, "%s %s (%s): %lld of %lld rows equal", name, t->name, gf_type_name(t->type), (long long)equal, (long long)nrows);
    }
    printf("%s: %d of %d quantized tensors byte-identical (%llu of %llu rows)\n", name, exact, tensors, (unsigned long long)rows_equal,
           (unsigned long long)rows);
    CHECK(tensors > 0, "%s: no tensors compared", name);
    close_gguf(&q);
}

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f;
}

static float gauss(void) {
    float u = frand() + 1e-7f, v = frand();
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * v);
}

/* The registry's writable types with a search quantizer (all of them). */
static int search_types(uint32_t *types) {
    int n = 0;
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++)
        if (gf_quantize_has_method(i, GF_QUANT_SEARCH)) types[n++] = i;
    return n;
}

static void check_search_beats_ref(void) {
    uint32_t types[GF_TYPE_COUNT];
    const int n_types = search_types(types);
    int writable = 0;
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++) writable += gf_type_writable(i);
    CHECK(n_types == writable && n_types >= 11, "every writable type has a search quantizer (%d of %d)", n_types, writable);
    enum { N = 2048 };
    float *x = malloc(N * sizeof *x), *imp = malloc(N * sizeof *imp), *dw = malloc(N * sizeof *dw);
    unsigned char *a = malloc(N * 2), *b = malloc(N * 2);
    for (int trial = 0; trial < 6; trial++) {
        /* gaussian weights, some rows with outliers or an offset; importance spread over 3 decades */
        for (int i = 0; i < N; i++) {
            x[i] = 0.02f * gauss() + (trial == 2 ? 0.01f : 0);
            if (trial >= 3 && frand() < 0.01f) x[i] *= 8;
            imp[i] = expf(3 * gauss());
        }
        if (trial == 5) memset(x, 0, 64 * sizeof *x); /* an all-zero stretch */
        for (int k = 0; k < n_types; k++) {
            for (int weighted = 0; weighted < 2; weighted++) {
                const float *w = weighted ? imp : NULL;
                CHECK(gf_quantize_row(types[k], GF_QUANT_REF, x, NULL, a, N) == GF_OK, "ref %s", gf_type_name(types[k]));
                CHECK(gf_quantize_row(types[k], GF_QUANT_SEARCH, x, w, b, N) == GF_OK, "search %s", gf_type_name(types[k]));
                /* without importance, in the measure the type's search minimizes */
                const float *wm = w ? w : gf_search_default_weights(types[k], x, dw, N) ? dw : NULL;
                double er = gf_quantize_error(types[k], a, x, wm, N), es = gf_quantize_error(types[k], b, x, wm, N);
                CHECK(es <= er, "%s trial %d weighted %d: search error %g > ref %g", gf_type_name(types[k]), trial, weighted, es, er);
                if (trial == 0) printf("%s%s: search/ref error %.3f\n", gf_type_name(types[k]), weighted ? " (weighted)" : "", es / er);
                /* and on every block (the row driver keeps the reference block where the search's is worse) */
                const gf_type_traits *ti = gf_type_info(types[k]);
                int worse = 0;
                for (int i = 0; i < N; i += (int)ti->block) {
                    const size_t at = ti->bytes * (size_t)(i / (int)ti->block);
                    const float *wb = wm ? wm + i : NULL;
                    worse += gf_quantize_error(types[k], b + at, x + i, wb, ti->block) > gf_quantize_error(types[k], a + at, x + i, wb, ti->block);
                }
                CHECK(worse == 0, "%s trial %d weighted %d: %d blocks' search error above the reference's", gf_type_name(types[k]), trial,
                      weighted, worse);
            }
        }
    }
    free(x);
    free(imp);
    free(dw);
    free(a);
    free(b);
}

/* GPTQ on correlated inputs: the output error sum_t (dW . x_t)^2 is lower
 * than rounding each block on its own (search, importance-weighted). */
static void check_gptq(void) {
    enum { N = 512, T = 400, B = 256 };
    float *x = malloc((size_t)T * N * sizeof *x), *h = calloc((size_t)N * B, sizeof *h), *w = malloc(N * sizeof *w);
    float *imp = calloc(N, sizeof *imp), *scratch = malloc(N * sizeof *scratch), *y = malloc(N * sizeof *y);
    unsigned char *q = malloc(N * 2);
    for (int t = 0; t < T; t++) {
        /* channels share a few latent factors, so they are correlated */
        float f[4] = {gauss(), gauss(), gauss(), gauss()};
        for (int i = 0; i < N; i++) x[t * N + i] = 0.5f * gauss() + f[i % 4] * (1 + (i % 7) * 0.3f);
    }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N; i++) {
            imp[i] += x[t * N + i] * x[t * N + i] / T;
            for (int j = i; j < (i / B + 1) * B; j++) h[i * B + (j - i / B * B)] += x[t * N + i] * x[t * N + j];
        }
    CHECK(gf_gptq_factor(h, N, B, T, 0.01) == GF_OK, "factor");
    for (int i = 0; i < N; i++) w[i] = 0.05f * gauss();
    uint32_t types[GF_TYPE_COUNT];
    int n_types = 0;
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++)
        if (gf_gptq_supported(i)) types[n_types++] = i;
    CHECK(n_types == 10, "GPTQ has the level layout of every writable quantized type (%d)", n_types);
    for (int k = 0; k < n_types; k++) {
        double err[2];
        for (int g = 0; g < 2; g++) {
            int s = g ? gf_quantize_row_gptq(types[k], w, imp, h, B, q, N, scratch) : gf_quantize_row(types[k], GF_QUANT_SEARCH, w, imp, q, N);
            CHECK(s == GF_OK, "%s gptq %d", gf_type_name(types[k]), g);
            gf_dequantize_row(types[k], q, y, N);
            err[g] = 0;
            for (int t = 0; t < T; t++) {
                double d = 0;
                for (int i = 0; i < N; i++) d += (double)(w[i] - y[i]) * x[t * N + i];
                err[g] += d * d;
            }
        }
        printf("%s: GPTQ/search output error %.3f\n", gf_type_name(types[k]), err[1] / err[0]);
        CHECK(err[1] < 0.9 * err[0], "%s: GPTQ output error %g not below search's %g", gf_type_name(types[k]), err[1], err[0]);
    }
    free(x);
    free(h);
    free(w);
    free(imp);
    free(scratch);
    free(y);
    free(q);
}

static void check_errors(void) {
    float x[64] = {0};
    unsigned char out[256];
    CHECK(gf_quantize_row(GF_TYPE_IQ2_XS, GF_QUANT_REF, x, NULL, out, 256) == GF_ERR, "IQ2_XS is not written");
    CHECK(strstr(gf_error_message(), "IQ2_XS") != NULL, "message names the type: %s", gf_error_message());
    CHECK(gf_quantize_row(GF_TYPE_IQ2_XS, GF_QUANT_SEARCH, x, NULL, out, 256) == GF_ERR, "IQ2_XS has no search quantizer");
    CHECK(strstr(gf_error_message(), "IQ2_XS") != NULL, "message names the type: %s", gf_error_message());
    CHECK(gf_quantize_has_method(GF_TYPE_Q5_1, GF_QUANT_SEARCH) && gf_quantize_has_method(GF_TYPE_Q2_K, GF_QUANT_REF) &&
              gf_quantize_has_method(GF_TYPE_IQ4_XS, GF_QUANT_SEARCH) && !gf_quantize_has_method(GF_TYPE_IQ2_XS, GF_QUANT_SEARCH),
          "methods per type");
    CHECK(gf_quantize_row(GF_TYPE_Q4_K, GF_QUANT_REF, x, NULL, out, 64) == GF_ERR, "64 is not a whole Q4_K block");
    CHECK(strstr(gf_error_message(), "64") != NULL, "message names the length: %s", gf_error_message());
    CHECK(gf_quantize_row(GF_TYPE_Q4_0, GF_QUANT_REF, x, NULL, out, 0) == GF_ERR, "empty rows are refused");
    CHECK(gf_quant_method_parse("search") == GF_QUANT_SEARCH && gf_quant_method_parse("nope") == -1, "method names");
}

/* Q5_0 and IQ4_NL: random blocks dequantize as the formats define them
 * (written here in the shape of llama.cpp's dequantizers), and they are
 * computed with as they are (no other type holds them). */
static void check_q5_0_iq4_nl(void) {
    static const int8_t iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    uint32_t seed = 12345;
    uint8_t raw[4 * sizeof(block_q5_0)];
    for (int type = 0; type < 2; type++) {
        uint32_t t = type ? GF_TYPE_IQ4_NL : GF_TYPE_Q5_0;
        size_t bs = type ? sizeof(block_iq4_nl) : sizeof(block_q5_0);
        for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
        for (int b = 0; b < 4; b++) raw[b * bs + 1] = 0x2c + b; /* normal halves for d, either sign */
        float got[128], want[128];
        gf_dequantize_row(t, raw, got, 128);
        int same = 1;
        for (int b = 0; b < 4; b++) {
            const uint8_t *x = raw + b * bs;
            float d = gf_half_to_float((gf_half)(x[0] | x[1] << 8));
            for (int j = 0; j < 16; j++) {
                int x0, x1;
                if (type) {
                    x0 = iq4nl[x[2 + j] & 0x0F];
                    x1 = iq4nl[x[2 + j] >> 4];
                } else {
                    uint32_t qh = x[2] | x[3] << 8 | x[4] << 16 | (uint32_t)x[5] << 24;
                    int xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
                    x0 = ((x[6 + j] & 0x0F) | xh0) - 16;
                    x1 = ((x[6 + j] >> 4) | xh1) - 16;
                }
                want[32 * b + j] = x0 * d;
                want[32 * b + j + 16] = x1 * d;
            }
        }
        for (int i = 0; i < 128; i++) same &= got[i] == want[i];
        CHECK(same, "%s dequantizes as the format defines", gf_type_name(t));
        CHECK(gf_type_computable(t) && gf_act_format_for(t) == GF_ACT_Q8_0, "%s is computed with, against Q8_0 activations", gf_type_name(t));
    }
    CHECK(gf_type_computable(GF_TYPE_F32) && gf_type_computable(GF_TYPE_Q4_K), "F32 and Q4_K are computed with");
    CHECK(!gf_type_computable(GF_TYPE_IQ2_XS) && !gf_type_computable(GF_TYPE_TQ1_0) && !gf_type_computable(99), "others are not read");
}

int main(void) {
    check_q5_0_iq4_nl();
    gguf_file f32;
    if (!open_gguf("llamacpp-slice-f32.gguf", &f32)) {
        fprintf(stderr, "cannot read llamacpp-slice-f32.gguf from %s/models\n", test_shared_dir());
        return 1;
    }
    check_bit_exact(&f32, "llamacpp-slice-Q8_0.gguf", 1);
    check_bit_exact(&f32, "llamacpp-slice-Q4_0.gguf", 1);
    check_bit_exact(&f32, "llamacpp-slice-Q4_1.gguf", 1);
    check_bit_exact(&f32, "llamacpp-slice-Q6_K.gguf", 1);
    check_bit_exact(&f32, "llamacpp-slice-Q4_K_M.gguf", 1);
    close_gguf(&f32);
    check_search_beats_ref();
    check_gptq();
    check_errors();
    TEST_MAIN_END();
}
