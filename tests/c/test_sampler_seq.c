/* The sampler draws the same tokens for the same seed across its rewrites:
 * 24 steps (each token accepted, so the penalties' window moves) on fixed
 * logits of 32000, 151936 and 262144 tokens (spread, peaked, 16 values
 * with ties everywhere, -inf and a NaN, and all negative), under eleven parameter sets
 * (greedy, llama.cpp's default chain, OpenAI's, top-p or min-p alone, big
 * and tiny top-k, penalties, logit bias, a banned token). EXPECTED holds a
 * hash of each sequence, captured from the sampler before its
 * big-vocabulary rewrite (issue 23; commit 4df2457's src/sample/sampler.c):
 * `test_sampler_seq print` prints the table from the sampler it is built with. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "sample/sampler.h"
#include "testing.h"

#define STEPS 24
#define N_SIZES 3
#define N_KINDS 4
#define N_PARAMS 11

static const int32_t SIZES[N_SIZES] = {32000, 151936, 262144};

typedef struct {
    gf_sampler_params p;
    int bias;   /* with the logit bias below */
    int banned; /* with the likeliest token banned */
    int steps;  /* 0: STEPS (fewer where a step sorts much of the vocabulary) */
} param_set;

static const param_set PARAMS[N_PARAMS] = {
    {{0, 0, 1, 0, 1, 64, 1, 0, 0}, 0, 0, 0},                      /* greedy */
    {{0, 0, 1, 0, 1.3f, 64, 1, 0.4f, 0.2f}, 1, 1, 0},             /* greedy, penalties, bias, banned */
    {{0.8f, 40, 0.95f, 0.05f, 1, 64, 42, 0, 0}, 0, 0, 0},         /* generate()'s defaults */
    {{0.8f, 40, 0.95f, 0.05f, 1.1f, 16, 7, 0, 0}, 1, 1, 0},       /* the same with a penalty, bias, banned */
    {{1, 0, 1, 0, 1, 64, 3, 0, 0}, 0, 0, 0},                      /* OpenAI's defaults: the whole vocabulary */
    {{0.7f, 0, 0.9f, 0, 1, 64, 5, 0, 0}, 0, 0, 8},                /* top-p alone (on flat logits, a long prefix) */
    {{1.2f, 0, 1, 0.1f, 1, 64, 9, 0, 0}, 1, 0, 8},                /* min-p alone */
    {{1, 1000, 1, 0, 1, 64, 11, 0.5f, 0.5f}, 0, 1, 0},            /* a large top-k, presence/frequency */
    {{2, 2, 1, 0, 1, 64, 13, 0, 0}, 0, 0, 0},                     /* top-k 2, hot */
    {{1, 1 << 30, 0.5f, 0, 1, 64, 17, 0, 0}, 0, 0, 3},            /* top-k beyond the vocabulary (a full sort), top-p */
    {{0.6f, 40, 1, 0.2f, 0.9f, 32, 19, -0.3f, -0.1f}, 1, 0, 0},   /* penalties that lift repeats */
};

static uint64_t g_state;
static uint32_t next32(void) {
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return (uint32_t)(g_state >> 16);
}
static float unit(void) { return (float)(next32() >> 8) * (1.0f / 16777216.0f); }

/* kind 0: about normal, std ~2.5; 1: a low spread with 20 tokens far above
 * it (a confident model); 2: 16 values, every 97th token -inf, one NaN;
 * 3: all negative (where the repetition penalty multiplies). */
static void make_logits(float *l, int32_t n, int kind) {
    g_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 8) ^ (uint64_t)kind;
    for (int32_t i = 0; i < n; i++) {
        float g = (unit() + unit() + unit() + unit() - 2) * 4.3f;
        if (kind == 0) l[i] = g;
        else if (kind == 1) l[i] = g * 1.5f - 4;
        else if (kind == 3) l[i] = -fabsf(g) - 0.5f;
        else l[i] = i % 97 == 50 ? -INFINITY : (float)(next32() >> 28) / 2;
    }
    if (kind == 1)
        for (int j = 0; j < 20; j++) l[next32() % (uint32_t)n] = 6 + 6 * unit();
    if (kind == 2) l[(int32_t)(next32() % (uint32_t)n)] = NAN;
}

static uint64_t fnv(uint64_t h, int32_t id) {
    for (int b = 0; b < 4; b++) h = (h ^ (uint8_t)((uint32_t)id >> (8 * b))) * 0x100000001b3ull;
    return h;
}

static uint64_t draw(const float *l, int32_t n, const param_set *ps, int32_t *first) {
    gf_sampler *s = NULL;
    int st = gf_sampler_new(&ps->p, n, &s);
    CHECK(st == GF_OK, "sampler_new: %s", gf_error_message());
    if (st != GF_OK) return 0;
    if (ps->bias) {
        int32_t ids[5] = {5, 17, 17, n - 1, 1234};
        float bias[5] = {3.0f, -1.5f, 0.75f, -INFINITY, 2.5f};
        CHECK(gf_sampler_set_bias(s, ids, bias, 5) == GF_OK, "bias: %s", gf_error_message());
    }
    int32_t top = 0; /* the argmax: banning it changes what is drawn */
    for (int32_t i = 1; i < n; i++)
        if (l[i] > l[top]) top = i;
    uint64_t h = 0xcbf29ce484222325ull;
    for (int t = 0; t < (ps->steps ? ps->steps : STEPS); t++) {
        int32_t id = gf_sampler_sample(s, l, ps->banned ? top : -1);
        if (t < 8) first[t] = id;
        h = fnv(h, id);
        gf_sampler_accept(s, id);
    }
    gf_sampler_free(s);
    return h;
}

/* Captured from commit 4df2457's sampler (see above), [size][kind][param set]. */
static const uint64_t EXPECTED[N_SIZES][N_KINDS][N_PARAMS] = {
    {
        {0xaf391ce0a50d0fd5ull, 0x3c7f28a0680bf2afull, 0xdbe725c1604247ffull, 0x8868167a6bbcc8cbull, 0x0350bfcb3dce1483ull, 0xc815f93085a9da87ull, 0xbdd8d097c8e574b9ull, 0x8045878993ac7014ull, 0x7d6c01fdbc087459ull, 0x383a4ea61b02ae1full, 0xa48617a2773567b1ull},
        {0x86759bd06aa598e5ull, 0x2fb18c69e2648b8eull, 0xe2523a36b5f692adull, 0x1e22e53db4cfaf61ull, 0x238b1a8fb2fcf409ull, 0x3cfaee699ff49aa4ull, 0x72e1c7d955c89c8full, 0x2ea8c13f434f26aeull, 0x6f43ff4904823cfeull, 0xee5cfd355efce1f2ull, 0x35f5e5bf4e2376c5ull},
        {0x3e6af339ecf653e5ull, 0xac273f54560bb456ull, 0x0a2a324e2a8a2c44ull, 0x6b6ef065b9edcb19ull, 0xeb7c310754a634e0ull, 0x1b0ccc663f4aec13ull, 0x63e64d8c20c17729ull, 0xb89147ad1566f501ull, 0xb3d679611187a485ull, 0x53ca7680576088f3ull, 0xe9a8adca99f3777eull},
        {0x3b83abd85df82fa5ull, 0x4e72fab020361624ull, 0xbe865ddd9a19ad5full, 0x5d766557c6298d6dull, 0x41b8c3308c872bbdull, 0xe0dc5b109a14ac53ull, 0x97e8eb67e0aabd8eull, 0xfd7c84500edc484full, 0xa5a6fea7d84c751dull, 0x977e97a1a76f16aaull, 0x01716872565c78e5ull}
    },
    {
        {0xc09c99cf49361af5ull, 0xbbc136edb6da9d8dull, 0x4bde5d174ae0dfdcull, 0xa06b12c873919cc3ull, 0xbe9d7be0b797de48ull, 0xc11e63adb0c6385aull, 0x7ce06316a0124126ull, 0xe3873053b0640f2eull, 0x8a89cbb7d836d811ull, 0x29156707d94a6080ull, 0xac5d00677111afa1ull},
        {0x94bcc94af2d9f325ull, 0xb8e049eacc7dd99cull, 0x3a39ef6ebe5a60a7ull, 0xd851c2f1f46630dbull, 0xefa30038ff0b91eaull, 0xbfbddce6821980adull, 0xb77551b6950428f8ull, 0x289066102f5cda4bull, 0x61bc049e7f49f5d1ull, 0xa11ee3baf18f40bfull, 0x5894af9a847844e5ull},
        {0x6801e37d1fb53fa5ull, 0x04bcae755dcb5ff4ull, 0x3fcdcfec72dd3d9eull, 0xfcf0bd93a527262full, 0xb1ebe7d5d5ed48b7ull, 0x5bccd50c47291215ull, 0x62efaf018f807e9eull, 0x6ad29d2162620993ull, 0x3172b1570acca0b5ull, 0x2de05d6e3b9e3440ull, 0x070e4b9e29ad5125ull},
        {0x5bf0a70124aa1315ull, 0xede7875e90bcc8f8ull, 0x4941cb0fb3c8ff7dull, 0x7bf4464ddc30c456ull, 0x4c3f7d1808559086ull, 0x0ccc76e7d36aeae0ull, 0x7cf460e88392572cull, 0xb6d2efa48565156bull, 0x3513cd0f3ca73389ull, 0xb3253be218c081b8ull, 0x196df1b763b3d7e9ull}
    },
    {
        {0x6e6b392a08e28bf5ull, 0xe4b863b187a16e42ull, 0x6901328ffa93b5c9ull, 0x303fc082ab7f6e3dull, 0x58f641a231068e74ull, 0xf5636c481471e5ebull, 0x74a79c322543fc37ull, 0xdfc4d3de391cee5full, 0x4a74ade52f3c50a9ull, 0xbd357d88d0a38555ull, 0xfc6b377494dc05c6ull},
        {0x791729080e3626f5ull, 0x1f8e6a31d6693ad0ull, 0xe7d06d6ee51ee295ull, 0x8d8690363722a9ffull, 0xde132c93831414afull, 0xf95126a37b6090ddull, 0x2dc4dcef5b413d23ull, 0x62b809529e507e2cull, 0xf8110c9170ca7544ull, 0x68e1e666965b1a5dull, 0xd2b11590346c3a05ull},
        {0x3522d992b266cd25ull, 0x2906d5ecfc22d05full, 0xa82c2eb15018c549ull, 0x127d6c4444fcd969ull, 0xb5a39e962c24732cull, 0x09aa6db5e54c2781ull, 0xd86be0cace1c1a26ull, 0xafebc01c3b5173c7ull, 0x6f5018eee55d9365ull, 0xa38d27afcacea7bbull, 0xe58703c9a0cd345dull},
        {0x3c9f14cfafb09865ull, 0x4d1ff1003b347cd5ull, 0xbe5fe5936cd4edd1ull, 0xf574ee23f7d92b91ull, 0x3b99270912a846beull, 0x1aed8ea41883de8bull, 0x04af4747b3b092a5ull, 0x91a8bbe498304182ull, 0x2cb9774a72238765ull, 0xe4416ac9bfcb469cull, 0x3e5f881b668f9fa1ull}
    },
};

int main(int argc, char **argv) {
    int print = argc > 1 && !strcmp(argv[1], "print");
    float *l = malloc((size_t)SIZES[N_SIZES - 1] * sizeof *l);
    CHECK(l != NULL, "logits");
    if (!l) TEST_MAIN_END();
    for (int si = 0; si < N_SIZES; si++) {
        int32_t n = SIZES[si];
        for (int k = 0; k < N_KINDS; k++) {
            make_logits(l, n, k);
            if (print) printf("    {");
            for (int pi = 0; pi < N_PARAMS; pi++) {
                int32_t first[8] = {0};
                uint64_t h = draw(l, n, &PARAMS[pi], first);
                if (print) printf("0x%016" PRIx64 "ull%s", h, pi + 1 < N_PARAMS ? ", " : "},\n");
                else
                    CHECK(h == EXPECTED[si][k][pi], "vocab %d, logits kind %d, parameter set %d: another sequence (starts %d %d %d %d %d %d %d %d)",
                          n, k, pi, first[0], first[1], first[2], first[3], first[4], first[5], first[6], first[7]);
            }
        }
    }
    free(l);
    if (print) return 0;
    TEST_MAIN_END();
}
