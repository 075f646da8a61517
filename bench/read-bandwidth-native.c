/* The machine's own read bandwidth with 1..N threads (native, AVX2 loads), for
 * judging decode bars that ask more bytes per second than a wasm thread can
 * read: each thread sums its share of a 512 MiB buffer three times, best of
 * three passes. bench/bandwidth.c measures one wasm thread; Chromium has no
 * way to tell how far a second core adds to it, this does.
 *   gcc -O2 -mavx2 -pthread bench/read-bandwidth-native.c -o /tmp/read-bw && /tmp/read-bw 1 && /tmp/read-bw 2
 * (AMD EPYC Zen 5 VM, 2026-12-07 ~23:05 UTC, four tries: 1 thread 28.9-31.0 GB/s, 2 threads
 * 50.5-54.9 GB/s; one try while a benchmark ended: 2 threads 39.6.) */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BUF_BYTES (512L << 20)
#define REPEATS 3
#define MAX_THREADS 64

static char *buf;
static int n_threads;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *read_share(void *arg) {
    const long id = (long)arg, share = BUF_BYTES / n_threads / 32 * 32;
    __m256i acc = _mm256_setzero_si256();
    for (int rep = 0; rep < REPEATS; rep++)
        for (long i = id * share; i < (id + 1) * share; i += 32) acc = _mm256_add_epi64(acc, _mm256_load_si256((const __m256i *)(buf + i)));
    long long v[4];
    _mm256_storeu_si256((__m256i *)v, acc);
    return (void *)(long)(v[0] & 1); /* keeps the loads */
}

int main(int argc, char **argv) {
    n_threads = argc > 1 ? atoi(argv[1]) : 1;
    if (n_threads < 1 || n_threads > MAX_THREADS) {
        fprintf(stderr, "threads must be an integer in 1..%d, got %s\n", MAX_THREADS, argc > 1 ? argv[1] : "?");
        return 2;
    }
    buf = aligned_alloc(64, BUF_BYTES);
    if (!buf) {
        fprintf(stderr, "cannot allocate %ld bytes\n", BUF_BYTES);
        return 1;
    }
    for (long i = 0; i < BUF_BYTES; i++) buf[i] = (char)i; /* commit every page */
    double best = 0;
    for (int pass = 0; pass < 3; pass++) {
        pthread_t t[MAX_THREADS];
        const double t0 = now();
        for (long i = 0; i < n_threads; i++) pthread_create(&t[i], 0, read_share, (void *)i);
        for (int i = 0; i < n_threads; i++) pthread_join(t[i], 0);
        const double gbs = (double)REPEATS * (BUF_BYTES / n_threads / 32 * 32) * n_threads / (now() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("%d thread%s: %.1f GB/s\n", n_threads, n_threads > 1 ? "s" : "", best);
    return 0;
}
