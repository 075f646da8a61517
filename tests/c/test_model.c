/* Streams the tiny-llama fixtures through the loader in random chunk sizes
 * and checks teacher-forced logits against llama.cpp's (its next-token
 * log-probabilities: tests/fixtures/README.md; ours as log-softmax). The JS tests
 * assert the exact bounds through the wasm build; this one guards
 * the C core natively (and under sanitizers). */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "quant/integrity.h"
#include "model/loader.h"
#include "testing.h"

static uint64_t rng = 12345;
static uint32_t rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* Feeds bytes in chunks of random size (1 byte .. 256 KiB). */
static gf_model *load(const unsigned char *bytes, size_t n, int max_chunk) {
    gf_model_options opt = {.mode = GF_LOAD_WEIGHTS, .n_ctx = 64, .n_batch = 8};
    gf_loader *l;
    if (gf_loader_new(&opt, n, &l) < 0) return NULL;
    size_t off = 0;
    int s = GF_LOAD_MORE;
    while (off < n && s != GF_LOAD_COMPLETE) {
        size_t chunk = 1 + rnd() % (uint32_t)max_chunk;
        if (chunk > n - off) chunk = n - off;
        while (chunk && s != GF_LOAD_COMPLETE) {
            size_t cap;
            uint8_t *w = gf_loader_window(l, &cap);
            if (!w) {
                fprintf(stderr, "window: %s\n", gf_error_message());
                gf_loader_free(l);
                return NULL;
            }
            size_t k = chunk < cap ? chunk : cap;
            memcpy(w, bytes + off, k);
            off += k;
            chunk -= k;
            s = gf_loader_commit(l, k);
            if (s < 0) {
                fprintf(stderr, "commit: %s\n", gf_error_message());
                gf_loader_free(l);
                return NULL;
            }
        }
    }
    if (gf_loader_end(l) < 0) {
        fprintf(stderr, "end: %s\n", gf_error_message());
        gf_loader_free(l);
        return NULL;
    }
    gf_model *m = gf_loader_take_model(l);
    gf_loader_free(l);
    return m;
}

/* the prompt of tests/fixtures/reference/tiny-llama.json ("Once upon a time", BOS first): its rows are the
 * first rows of every variant's reference */
static const int32_t k_tokens[] = {1, 9038, 2501, 263, 931};

/* err of a's log-softmax against ref (log-probabilities): max over rows of max|d| / std(ref row) */
static double err_vs(const float *a, const float *ref, int rows, int n) {
    double worst = 0;
    for (int r = 0; r < rows; r++) {
        const float *x = a + (size_t)r * n, *y = ref + (size_t)r * n;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) mx = fmax(mx, x[j]);
        for (int j = 0; j < n; j++) sum += exp(x[j] - mx);
        double lse = mx + log(sum);
        double mean = 0, var = 0, maxd = 0;
        for (int j = 0; j < n; j++) mean += y[j];
        mean /= n;
        for (int j = 0; j < n; j++) var += (y[j] - mean) * (y[j] - mean);
        double sd = sqrt(var / n);
        for (int j = 0; j < n; j++) maxd = fmax(maxd, fabs((x[j] - lse) - y[j]));
        worst = fmax(worst, maxd / sd);
    }
    return worst;
}

static void check_variant(const char *file, const char *logits_file, double bound, int max_chunk) {
    char path[512];
    size_t n, nl;
    snprintf(path, sizeof path, "%s/models/%s", test_shared_dir(), file);
    unsigned char *bytes = read_file(path, &n);
    snprintf(path, sizeof path, "%s/reference/%s", test_shared_dir(), logits_file);
    float *ref = (float *)read_file(path, &nl);
    CHECK(bytes && ref, "cannot read %s or its reference", file);
    if (!bytes || !ref) return;
    gf_model *m = load(bytes, n, max_chunk);
    CHECK(m != NULL, "%s did not load", file);
    if (m) {
        gf_context *c;
        CHECK(gf_context_new(m, 64, 8, 0, &c) == GF_OK, "context: %s", gf_error_message());
        int rows = (int)(sizeof k_tokens / sizeof k_tokens[0]);
        float *out = malloc((size_t)rows * 32000 * sizeof(float));
        CHECK(gf_eval(c, k_tokens, rows, GF_LOGITS_ALL, out) == GF_OK, "eval: %s", gf_error_message());
        double e = err_vs(out, ref, rows, 32000);
        printf("%-24s err vs llama.cpp over %d prompt rows: %.5f (bound %.3f)\n", file, rows, e, bound);
        CHECK(e <= bound, "%s: err %.5f > %.3f", file, e, bound);
        /* the warm-up leaves an empty context: the same logits after it */
        float *again = malloc((size_t)rows * 32000 * sizeof(float));
        CHECK(gf_context_rewind(c, 5) == GF_OK, "rewind");
        gf_warmup(c, 2);
        CHECK(gf_context_n_past(c) == 0, "%s: the warm-up left %d positions", file, gf_context_n_past(c));
        CHECK(gf_eval(c, k_tokens, rows, GF_LOGITS_ALL, again) == GF_OK, "eval after warm-up: %s", gf_error_message());
        CHECK(memcmp(again, out, (size_t)rows * 32000 * sizeof(float)) == 0, "%s: logits differ after the warm-up", file);
        free(again);
        free(out);
        gf_context_free(c);
        gf_model_free(m);
    }
    free(bytes);
    free(ref);
}

/* Feeds buf to a scan in chunks of `step` bytes: the status of the first failing feed, or GF_OK. */
static int scan_in_steps(uint32_t type, const uint8_t *buf, size_t n, size_t step) {
    gf_scan s;
    gf_scan_start(&s, "t.weight", type);
    for (size_t o = 0; o < n; o += step) {
        int r = gf_scan_feed(&s, buf + o, n - o < step ? n - o : step);
        if (r < 0) return r;
    }
    return GF_OK;
}

static void check_integrity_scan(void) {
    /* four Q4_K blocks (144 bytes: d, dmin at 0, 2) with finite scales, then a NaN dmin in block 2 */
    uint8_t q4k[4 * 144] = {0};
    for (int b = 0; b < 4; b++) q4k[b * 144 + 1] = 0x3c; /* d = 1.0 */
    for (size_t step = 1; step <= sizeof q4k; step += 37) CHECK(scan_in_steps(GF_TYPE_Q4_K, q4k, sizeof q4k, step) == GF_OK, "clean, step %zu", step);
    q4k[2 * 144 + 2] = 0x00, q4k[2 * 144 + 3] = 0x7e;
    for (size_t step = 1; step <= sizeof q4k; step += 37) {
        CHECK(scan_in_steps(GF_TYPE_Q4_K, q4k, sizeof q4k, step) == GF_ERR, "NaN dmin, step %zu", step);
        CHECK(strstr(gf_error_message(), "tensor 't.weight' has a non-finite minimum scale (NaN) in block 2"), "%s", gf_error_message());
    }
    /* F16 values: Inf at element 9; the sign does not matter */
    uint16_t f16[16] = {0};
    f16[9] = 0xfc00;
    CHECK(scan_in_steps(GF_TYPE_F16, (const uint8_t *)f16, sizeof f16, 3) == GF_ERR &&
              strstr(gf_error_message(), "non-finite value (Inf) at element 9"), "%s", gf_error_message());
    /* Q6_K: d is the block's last two bytes */
    uint8_t q6k[2 * 210] = {0};
    q6k[210 + 209] = 0x7c, q6k[210 + 208] = 0x01; /* a NaN with a small payload */
    CHECK(scan_in_steps(GF_TYPE_Q6_K, q6k, sizeof q6k, 100) == GF_ERR && strstr(gf_error_message(), "scale (NaN) in block 1"), "%s",
          gf_error_message());
    /* types without scales pass through */
    CHECK(scan_in_steps(GF_TYPE_I8, q6k, sizeof q6k, 7) == GF_OK, "I8");
}

int main(void) {
    check_integrity_scan();
    check_variant("tiny-llama-f32.gguf", "tiny-llama-F32.logp.f32", 0.01, 1 << 18);
    check_variant("tiny-llama-Q8_0.gguf", "tiny-llama-Q8_0.logp.f32", 0.15, 1 << 16);
    check_variant("tiny-llama-Q4_0.gguf", "tiny-llama-Q4_0.logp.f32", 0.15, 7777);
    check_variant("tiny-llama-Q4_1.gguf", "tiny-llama-Q4_1.logp.f32", 0.15, 1 << 14);
    check_variant("tiny-llama-Q4_K_M.gguf", "tiny-llama-Q4_K_M.logp.f32", 0.15, 1 << 12);
    check_variant("tiny-llama-Q6_K.gguf", "tiny-llama-Q6_K.logp.f32", 0.15, 333);
    TEST_MAIN_END();
}
