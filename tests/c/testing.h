/* A minimal test harness for the native (and wasm) C tests. */
#ifndef GF_TESTING_H
#define GF_TESTING_H

#include <stdio.h>
#include <stdlib.h>

static int g_checks, g_failures;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        g_checks++;                                                             \
        if (!(cond)) {                                                          \
            g_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

#define TEST_MAIN_END()                                                         \
    do {                                                                        \
        printf("%d checks, %d failures\n", g_checks, g_failures);              \
        return g_failures ? 1 : 0;                                              \
    } while (0)

/* The fixtures folder, {models,reference,tokenizers}/ (tests/fixtures/README.md): $GF_FIXTURES, else
 * build/fixtures, relative to the checkout (tests/fixtures/make.mjs fills it; the tests run from the root). */
__attribute__((unused)) static const char *test_shared_dir(void) {
    const char *s = getenv("GF_FIXTURES");
    return s ? s : "build/fixtures";
}

/* Reads a whole file into memory (tests only). */
__attribute__((unused)) static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    *n = (size_t)len;
    return buf;
}

#endif
