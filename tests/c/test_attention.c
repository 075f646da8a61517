/* Attention kernels: the SIMD versions give exactly the reference's bits
 * (scores, exponentials, accumulation; f32, f16 and Q8_0 caches), every half
 * widens exactly, and attention over each cache type stays within its
 * quantization of f64 attention. */
#include <math.h>
#include <string.h>

#include "model/attention.h"
#include "kernels/attention_kernels.h"
#include "testing.h"

static uint32_t rng = 7;
static float rndf(void) {
    rng = rng * 1664525u + 1013904223u;
    return ((float)(rng >> 8) / 16777216.0f - 0.5f) * 4.0f;
}

static int same_bits(const float *a, const float *b, int n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

static void test_widening(void) {
    /* every half as a value row with weight 1 into a zero accumulator */
    static gf_half h[65536];
    static float acc[65536];
    for (int i = 0; i < 65536; i++) h[i] = (gf_half)i;
    float one = 1.0f;
    gf_attn_accumulate(acc, &one, h, GF_KV_F16, 1, 65536);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        float want = gf_half_to_float(h[i]);
        if (isnan(want) ? !isnan(acc[i]) : acc[i] != want) bad++;
    }
    CHECK(bad == 0, "%d halves widen wrongly", bad);
    /* and by the tile widening, at every length and offset of its blocks */
    static float wide[65536];
    gf_attn_widen(wide, h, 65536);
    bad = 0;
    for (int i = 0; i < 65536; i++) {
        float want = gf_half_to_float(h[i]);
        bad += memcmp(&wide[i], &want, 4) != 0;
    }
    CHECK(bad == 0, "%d halves widen differently in tiles", bad);
    for (int n = 0; n <= 19; n++) {
        float a[19], b[19];
        gf_attn_widen(a, h + 31744 - n, n);
        gf_attn_widen_ref(b, h + 31744 - n, n);
        CHECK(same_bits(a, b, n), "widen n=%d", n);
    }
}

/* e^x's accuracy is tested with exp_poly.h in test_kernels.c; here the
 * softmax's use of it. */
static void test_exp(void) {
    CHECK(gf_attn_exp1(0.0f) == 1.0f && gf_attn_exp1(-1.0f) > 0.3678794f && gf_attn_exp1(-1.0f) < 0.3678795f, "exp values");
    CHECK(gf_attn_exp1(-INFINITY) == 0 && gf_attn_exp1(-100.0f) == 0 && gf_attn_exp1(NAN) == 0, "exp limits");
    float x[37], y[37];
    for (int n = 0; n <= 37; n++) {
        for (int j = 0; j < n; j++) x[j] = y[j] = rndf() * 30;
        x[0 < n ? n / 2 : 0] = -INFINITY;
        if (n) y[n / 2] = -INFINITY;
        float s1 = gf_attn_exp(x, n, 3.0f), s2 = gf_attn_exp_ref(y, n, 3.0f);
        CHECK(s1 == s2 && same_bits(x, y, n), "exp n=%d: sum %g vs %g", n, s1, s2);
    }
}

static void test_tiles(gf_kv_type kv) {
    enum { MAXN = 67, MAXHD = 132 };
    static float q[MAXHD], kf[MAXN * MAXHD], s1[MAXN], s2[MAXN], a1[MAXHD], a2[MAXHD];
    static gf_half kh[MAXN * MAXHD];
    static block_q8_0 k8[MAXN * MAXHD / QK8_0];
    static const int hds[] = {4, 8, 32, 60, 64, 80, 96, 128, 130, 3};
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
        int hd = hds[hi];
        if (!gf_kv_row_bytes(kv, hd)) continue;
        for (int n = 1; n <= (kv == GF_KV_Q8_0 ? GF_ATTN_MAX_TILE : MAXN); n += n < 9 ? 1 : n < 38 ? 29 : n < 64 ? 26 : 3) {
            for (int d = 0; d < hd; d++) q[d] = rndf();
            for (int i = 0; i < n * hd; i++) {
                kf[i] = rndf();
                kh[i] = gf_float_to_half(kf[i]);
            }
            if (kv == GF_KV_Q8_0) gf_quantize_row_q8_0_ref(kf, k8, (int64_t)n * hd);
            const void *rows = kv == GF_KV_F16 ? (const void *)kh : kv == GF_KV_Q8_0 ? (const void *)k8 : (const void *)kf;
            if (kv != GF_KV_Q8_0) { /* Q8_0 keys are scored by gf_matmul, tested in test_kernels.c */
                gf_attn_scores(q, rows, kv, n, hd, 0.125f, s1);
                gf_attn_scores_ref(q, rows, kv, n, hd, 0.125f, s2);
                CHECK(same_bits(s1, s2, n), "scores hd=%d n=%d %s differ", hd, n, gf_kv_type_name(kv));
            } else {
                for (int j = 0; j < n; j++) s1[j] = s2[j] = fabsf(rndf()) * (j % 7 ? 0.5f : 0.0f); /* softmax weights: >= 0 */
            }
            for (int d = 0; d < hd; d++) a1[d] = a2[d] = rndf();
            gf_attn_accumulate(a1, s1, rows, kv, n, hd);
            gf_attn_accumulate_ref(a2, s2, rows, kv, n, hd);
            CHECK(same_bits(a1, a2, hd), "accumulate hd=%d n=%d %s differ", hd, n, gf_kv_type_name(kv));
            if (kv == GF_KV_Q8_0) /* from a prepared tile of n keys and of all MAXN (a query that sees fewer) */
                for (int all = 0; all < 2; all++) {
                    static unsigned char prepared[MAXN * MAXHD * 4];
                    gf_attn_prepare_q8_0(prepared, k8, all ? MAXN : n, hd);
                    for (int d = 0; d < hd; d++) a1[d] = a2[d];
                    gf_attn_accumulate_prepared(a1, s1, k8, prepared, n, hd);
                    gf_attn_accumulate_ref(a2, s2, rows, kv, n, hd);
                    CHECK(same_bits(a1, a2, hd), "prepared accumulate hd=%d n=%d of %d differ", hd, n, all ? MAXN : n);
                }
        }
    }
}

/* Whole attention over a cache of each type, against f64 attention over the
 * f32 values the cache was made from: f32 within rounding, f16 and Q8_0
 * within their quantization (values in [-2, 2]). */
static void test_cache_types(void) {
    enum { HD = 64, NH = 4, NKV = 2, NCTX = 150, NTOK = 3, POS0 = NCTX - NTOK };
    static float q[NTOK * NH * HD], kf[NKV * NCTX * HD], vf[NKV * NCTX * HD], out[NTOK * NH * HD];
    static char kc[NKV * NCTX * HD * 4], vc[NKV * NCTX * HD * 4];
    for (int i = 0; i < NTOK * NH * HD; i++) q[i] = rndf() * 0.5f;
    for (int i = 0; i < NKV * NCTX * HD; i++) kf[i] = rndf(), vf[i] = rndf();
    const double bound[GF_KV_TYPE_COUNT] = {1e-6, 4e-4, 8e-3};
    for (int kv = 0; kv < GF_KV_TYPE_COUNT; kv++) {
        size_t row = gf_kv_row_bytes(kv, HD);
        for (int r = 0; r < NKV * NCTX; r++) {
            const float *ks = kf + (size_t)r * HD, *vs = vf + (size_t)r * HD;
            void *kd = kc + r * row, *vd = vc + r * row;
            if (kv == GF_KV_F32) memcpy(kd, ks, row), memcpy(vd, vs, row);
            if (kv == GF_KV_F16) gf_f32_to_f16_row(kd, ks, HD), gf_f32_to_f16_row(vd, vs, HD);
            if (kv == GF_KV_Q8_0) gf_quantize_row_q8_0_ref(ks, kd, HD), gf_quantize_row_q8_0_ref(vs, vd, HD);
        }
        gf_attention_args a = {q, kc, vc, out, NTOK, POS0, NH, NKV, HD, NCTX, 0.125f, 1, (gf_kv_type)kv, 0, 0};
        gf_attention_range(&a, 0, gf_attention_units(&a));
        double worst = 0;
        for (int t = 0; t < NTOK; t++)
            for (int h = 0; h < NH; h++) {
                const float *qh = q + (t * NH + h) * HD;
                const float *K = kf + (size_t)(h / (NH / NKV)) * NCTX * HD, *V = vf + (size_t)(h / (NH / NKV)) * NCTX * HD;
                double s[NCTX], max = -1e300, sum = 0;
                int n = POS0 + t + 1;
                for (int j = 0; j < n; j++) {
                    s[j] = 0;
                    for (int d = 0; d < HD; d++) s[j] += (double)qh[d] * K[j * HD + d];
                    s[j] *= 0.125;
                    max = s[j] > max ? s[j] : max;
                }
                for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - max));
                for (int d = 0; d < HD; d++) {
                    double want = 0;
                    for (int j = 0; j < n; j++) want += s[j] / sum * V[j * HD + d];
                    double err = fabs(out[(t * NH + h) * HD + d] - want);
                    worst = err > worst ? err : worst;
                }
            }
        CHECK(worst < bound[kv], "attention over a %s cache: error %g, bound %g", gf_kv_type_name(kv), worst, bound[kv]);
    }
}

/* The queries of a unit share widened f16 tiles, one Q8_0 score matmul and
 * the prepared Q8_0 values; each query's result is the bits of its token
 * computed alone (without GQA a single query, which uses none of them; for
 * f16 over an f32 cache holding the same values), for every grouping (GQA
 * or not, causal or not, several tiles and score tiles, a batch split into
 * units and units one at a time). */
static void test_units(void) {
    enum { HD = 32, NCTX = 1200, MAXQ = 70 * 8 * HD };
    static float q[MAXQ], out[MAXQ], want[MAXQ], kf[2 * NCTX * HD], vf[2 * NCTX * HD];
    static gf_half kh[2 * NCTX * HD], vh[2 * NCTX * HD];
    static block_q8_0 k8[2 * NCTX * HD / QK8_0], v8[2 * NCTX * HD / QK8_0];
    for (int i = 0; i < 2 * NCTX * HD; i++) {
        kh[i] = gf_float_to_half(rndf()), vh[i] = gf_float_to_half(rndf());
        kf[i] = gf_half_to_float(kh[i]), vf[i] = gf_half_to_float(vh[i]);
    }
    gf_quantize_row_q8_0_ref(kf, k8, 2 * NCTX * HD);
    gf_quantize_row_q8_0_ref(vf, v8, 2 * NCTX * HD);
    static const struct { int nh, nkv, ntok, pos0, causal, window; } cases[] = {
        {1, 1, 70, 0, 1, 0}, {2, 2, 65, 100, 1, 0}, {8, 2, 9, 130, 1, 0}, {8, 1, 1, 150, 1, 0}, {2, 2, 1, 40, 1, 0}, {4, 2, 33, 0, 0, 0},
        {16, 1, 3, 60, 1, 0},
        /* past 1,024 keys: a token alone scores its keys 512 per call, a unit of 18 queries 64 per call */
        {2, 2, 9, 1100, 1, 0},
        /* sliding windows: starting inside a tile, on a tile's first key, longer than the context so far,
           one key, and a unit whose tokens' windows start in different tiles; past 1,024 keys a score
           tile entered in its middle */
        {2, 2, 65, 100, 1, 40}, {8, 2, 9, 130, 1, 64}, {8, 1, 1, 150, 1, 7}, {2, 2, 1, 40, 1, 100}, {4, 2, 33, 0, 1, 1},
        {16, 1, 3, 60, 1, 61}, {1, 1, 70, 30, 1, 20}, {2, 2, 9, 1100, 1, 600}, {8, 2, 9, 1100, 1, 530},
    };
    for (int kv = GF_KV_F16; kv <= GF_KV_Q8_0; kv++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int nh = cases[c].nh, nkv = cases[c].nkv, ntok = cases[c].ntok, n = ntok * nh * HD;
            for (int i = 0; i < n; i++) q[i] = rndf() * 0.7f;
            gf_attention_args units = {q, kh, vh, out, ntok, cases[c].pos0, nh, nkv, HD, NCTX, 0.17f, cases[c].causal, (gf_kv_type)kv,
                                       cases[c].window, c % 2 ? 0.0f : 3.0f};
            gf_attention_args alone = units;
            if (kv == GF_KV_F16) alone.k_cache = kf, alone.v_cache = vf, alone.kv_type = GF_KV_F32;
            else units.k_cache = alone.k_cache = k8, units.v_cache = alone.v_cache = v8;
            alone.n_tok = 1;
            for (int t = 0; t < ntok; t++) { /* a unit of one token's heads */
                alone.q = q + (size_t)t * nh * HD, alone.out = want + (size_t)t * nh * HD;
                alone.pos0 = cases[c].causal ? cases[c].pos0 + t : cases[c].pos0 + ntok - 1; /* non-causal: sees the whole batch */
                gf_attention_range(&alone, 0, gf_attention_units(&alone));
            }
            int64_t n_units = gf_attention_units(&units);
            memset(out, 0xff, (size_t)n * sizeof(float));
            gf_attention_range(&units, 0, n_units);
            CHECK(same_bits(out, want, n), "%s case %zu: units differ from tokens alone", gf_kv_type_name(kv), c);
            memset(out, 0xff, (size_t)n * sizeof(float));
            for (int64_t u = n_units; u-- > 0;) gf_attention_range(&units, u, u + 1);
            CHECK(same_bits(out, want, n), "%s case %zu: units one at a time differ", gf_kv_type_name(kv), c);
        }
}

/* A sliding window (and soft-capped scores) over a cache of each type, against
 * f64 attention over the whole context with the scores outside the window
 * masked to -inf: keys before the window are never read, and the result is
 * the masked pass's within the cache type's own error. */
static void test_window(void) {
    enum { HD = 64, NH = 4, NKV = 2, NCTX = 200, NTOK = 70, POS0 = NCTX - NTOK };
    static float q[NTOK * NH * HD], kf[NKV * NCTX * HD], vf[NKV * NCTX * HD], out[NTOK * NH * HD];
    static char kc[NKV * NCTX * HD * 4], vc[NKV * NCTX * HD * 4];
    for (int i = 0; i < NTOK * NH * HD; i++) q[i] = rndf() * 0.5f;
    for (int i = 0; i < NKV * NCTX * HD; i++) kf[i] = rndf(), vf[i] = rndf();
    /* a window of one key is that key's value row: its own rounding, not an average's */
    const double bound[GF_KV_TYPE_COUNT] = {1e-6, 1e-3, 2e-2};
    static const struct { int window; float cap; } cases[] = {{1, 0}, {16, 0}, {50, 2.5f}, {64, 0}, {65, 0}, {130, 0}, {500, 1.0f}};
    for (int kv = 0; kv < GF_KV_TYPE_COUNT; kv++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int window = cases[c].window;
            double cap = cases[c].cap;
            size_t row = gf_kv_row_bytes(kv, HD);
            for (int r = 0; r < NKV * NCTX; r++) {
                const float *ks = kf + (size_t)r * HD, *vs = vf + (size_t)r * HD;
                void *kd = kc + r * row, *vd = vc + r * row;
                int pos = r % NCTX;
                if (kv == GF_KV_F32) memcpy(kd, ks, row), memcpy(vd, vs, row);
                if (kv == GF_KV_F16) gf_f32_to_f16_row(kd, ks, HD), gf_f32_to_f16_row(vd, vs, HD);
                if (kv == GF_KV_Q8_0) gf_quantize_row_q8_0_ref(ks, kd, HD), gf_quantize_row_q8_0_ref(vs, vd, HD);
                /* rows no query's window reaches are poison: reading one would show */
                if (pos < POS0 - window + 1) memset(kd, 0xff, row), memset(vd, 0xff, row);
            }
            gf_attention_args a = {q, kc, vc, out, NTOK, POS0, NH, NKV, HD, NCTX, 0.125f, 1, (gf_kv_type)kv, window, (float)cap};
            gf_attention_range(&a, 0, gf_attention_units(&a));
            double worst = 0;
            for (int t = 0; t < NTOK; t++)
                for (int h = 0; h < NH; h++) {
                    const float *qh = q + (t * NH + h) * HD;
                    const float *K = kf + (size_t)(h / (NH / NKV)) * NCTX * HD, *V = vf + (size_t)(h / (NH / NKV)) * NCTX * HD;
                    double s[NCTX], max = -1e300, sum = 0;
                    int n = POS0 + t + 1;
                    for (int j = 0; j < n; j++) {
                        s[j] = 0;
                        for (int d = 0; d < HD; d++) s[j] += (double)qh[d] * K[j * HD + d];
                        s[j] *= 0.125;
                        if (cap > 0) s[j] = cap * tanh(s[j] / cap);
                        if (n - 1 - j >= window) s[j] = -INFINITY; /* the mask */
                        max = s[j] > max ? s[j] : max;
                    }
                    for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - max));
                    for (int d = 0; d < HD; d++) {
                        double want = 0;
                        for (int j = 0; j < n; j++) want += s[j] / sum * V[j * HD + d];
                        double err = fabs(out[(t * NH + h) * HD + d] - want);
                        worst = err > worst || err != err ? err : worst;
                    }
                }
            CHECK(worst < bound[kv], "window %d (cap %g) over a %s cache: error %g, bound %g", window, cap, gf_kv_type_name(kv), worst,
                  bound[kv]);
        }
    float x[5] = {0, 1, -3, 100, -1e30f};
    gf_attn_softcap(x, 5, 2.0f);
    CHECK(x[0] == 0 && fabsf(x[1] - 2 * tanhf(0.5f)) < 1e-7f && fabsf(x[2] + 2 * tanhf(1.5f)) < 1e-6f && x[3] == 2.0f && x[4] == -2.0f,
          "softcap values");
}

int main(void) {
    test_widening();
    test_units();
    test_exp();
    for (int kv = 0; kv < GF_KV_TYPE_COUNT; kv++) test_tiles((gf_kv_type)kv);
    test_cache_types();
    test_window();
    float src[5] = {1.0f, 65504.0f, 1e-8f, -3.14159f, 70000.0f};
    gf_half dst[5];
    gf_f32_to_f16_row(dst, src, 5);
    for (int i = 0; i < 5; i++) CHECK(dst[i] == gf_float_to_half(src[i]), "store %d", i);
    TEST_MAIN_END();
}
