/* Attention kernels: the SIMD versions give exactly the reference's bits
 * (scores, exponentials, accumulation; f32 and f16 caches), every half
 * widens exactly, and the exponential is within 2 ulp of expf. */
#include <math.h>
#include <string.h>

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
    gf_attn_accumulate(acc, &one, h, 1, 1, 65536);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        float want = gf_half_to_float(h[i]);
        if (isnan(want) ? !isnan(acc[i]) : acc[i] != want) bad++;
    }
    CHECK(bad == 0, "%d halves widen wrongly", bad);
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

static void test_tiles(int kv_f16) {
    enum { MAXN = 67, MAXHD = 132 };
    static float q[MAXHD], kf[MAXN * MAXHD], s1[MAXN], s2[MAXN], a1[MAXHD], a2[MAXHD];
    static gf_half kh[MAXN * MAXHD];
    static const int hds[] = {4, 8, 32, 60, 64, 80, 96, 128, 130, 3};
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
        int hd = hds[hi];
        for (int n = 1; n <= MAXN; n += n < 9 ? 1 : 29) {
            for (int d = 0; d < hd; d++) q[d] = rndf();
            for (int i = 0; i < n * hd; i++) {
                kf[i] = rndf();
                kh[i] = gf_float_to_half(kf[i]);
            }
            const void *keys = kv_f16 ? (const void *)kh : (const void *)kf;
            gf_attn_scores(q, keys, kv_f16, n, hd, 0.125f, s1);
            gf_attn_scores_ref(q, keys, kv_f16, n, hd, 0.125f, s2);
            CHECK(same_bits(s1, s2, n), "scores hd=%d n=%d f16=%d differ", hd, n, kv_f16);
            for (int d = 0; d < hd; d++) a1[d] = a2[d] = rndf();
            gf_attn_accumulate(a1, s1, keys, kv_f16, n, hd);
            gf_attn_accumulate_ref(a2, s2, keys, kv_f16, n, hd);
            CHECK(same_bits(a1, a2, hd), "accumulate hd=%d n=%d f16=%d differ", hd, n, kv_f16);
        }
    }
}

int main(void) {
    test_widening();
    test_exp();
    test_tiles(0);
    test_tiles(1);
    float src[5] = {1.0f, 65504.0f, 1e-8f, -3.14159f, 70000.0f};
    gf_half dst[5];
    gf_f32_to_f16_row(dst, src, 5);
    for (int i = 0; i < 5; i++) CHECK(dst[i] == gf_float_to_half(src[i]), "store %d", i);
    TEST_MAIN_END();
}
