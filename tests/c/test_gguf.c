/* The incremental GGUF reader: identical results for any chunking (down to
 * one byte per commit), and a clear error for each kind of malformed header. */
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "testing.h"
#include "quant/registry.h"

static uint64_t rng = 99;
static uint32_t rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* Feeds bytes in chunks of 1..max_chunk; returns the final status. */
static int feed(gguf_reader *r, const uint8_t *bytes, size_t n, uint32_t max_chunk) {
    size_t off = 0;
    for (;;) {
        size_t cap;
        uint8_t *w = gguf_header_window(r, &cap);
        if (!w) return GF_ERR;
        size_t k = 1 + rnd() % max_chunk;
        if (k > cap) k = cap;
        if (k > n - off) k = n - off;
        memcpy(w, bytes + off, k);
        off += k;
        int s = gguf_header_commit(r, k);
        if (s != GGUF_NEED_MORE) return s;
        if (off == n) return GGUF_NEED_MORE;
    }
}

static void check_same(const gguf_reader *a, const gguf_reader *b, const char *what) {
    CHECK(gguf_n_kv(a) == gguf_n_kv(b), "%s: kv count", what);
    CHECK(gguf_n_tensors(a) == gguf_n_tensors(b), "%s: tensor count", what);
    CHECK(gguf_data_offset(a) == gguf_data_offset(b), "%s: data offset", what);
    for (uint64_t i = 0; i < gguf_n_tensors(a) && i < gguf_n_tensors(b); i++) {
        const gguf_tensor_info *x = gguf_tensor_at(a, i), *y = gguf_tensor_at(b, i);
        CHECK(!strcmp(x->name, y->name) && x->offset == y->offset && x->type == y->type && x->nbytes == y->nbytes,
              "%s: tensor %llu differs", what, (unsigned long long)i);
    }
}

static void test_shared_file(const char *dir, const char *file, int byte_by_byte) {
    char path[512];
    size_t n;
    snprintf(path, sizeof path, "%s/%s/%s", test_shared_dir(), dir, file);
    uint8_t *bytes = read_file(path, &n);
    CHECK(bytes != NULL, "cannot read %s", path);
    if (!bytes) return;
    gguf_reader *whole = gguf_reader_new();
    int s = gguf_read_header(whole, bytes, n);
    CHECK(s == GGUF_HEADER_DONE, "%s: %s", file, gf_error_message());
    CHECK(gguf_version(whole) == 3, "%s: version", file);
    if (gguf_n_tensors(whole)) CHECK(gguf_data_offset(whole) + gguf_data_size(whole) <= n, "%s: tensors beyond the file", file);
    const gguf_kv *tokens;
    CHECK(gguf_get_arr(whole, "tokenizer.ggml.tokens", GGUF_VT_STRING, &tokens) == 1, "%s: tokens", file);
    uint32_t len;
    const char *arch;
    CHECK(gguf_get_str(whole, "general.architecture", &arch, &len) == 1, "%s: architecture", file);
    for (uint32_t chunk = 7; chunk <= (1u << 20); chunk *= 13) {
        gguf_reader *r = gguf_reader_new();
        s = feed(r, bytes, n, chunk);
        CHECK(s == GGUF_HEADER_DONE, "%s in chunks of <= %u: %d %s", file, chunk, s, gf_error_message());
        check_same(whole, r, file);
        gguf_reader_free(r);
    }
    if (byte_by_byte) {
        gguf_reader *r = gguf_reader_new();
        s = feed(r, bytes, n, 1);
        CHECK(s == GGUF_HEADER_DONE, "%s byte by byte: %s", file, gf_error_message());
        check_same(whole, r, file);
        gguf_reader_free(r);
    }
    gguf_reader_free(whole);
    free(bytes);
}

/* ---- building small GGUF headers for the malformed cases ---- */
typedef struct {
    uint8_t b[4096];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n) {
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void u32(buf *o, uint32_t v) { put(o, &v, 4); }
static void u64(buf *o, uint64_t v) { put(o, &v, 8); }
static void str(buf *o, const char *s) {
    u64(o, strlen(s));
    put(o, s, strlen(s));
}

static void header(buf *o, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    o->n = 0;
    put(o, "GGUF", 4);
    u32(o, version);
    u64(o, n_tensors);
    u64(o, n_kv);
}

static void kv_u32(buf *o, const char *key, uint32_t v) {
    str(o, key);
    u32(o, GGUF_VT_UINT32);
    u32(o, v);
}

static void tensor(buf *o, const char *name, uint64_t ne0, uint64_t ne1, uint32_t type, uint64_t offset) {
    str(o, name);
    u32(o, 2);
    u64(o, ne0);
    u64(o, ne1);
    u32(o, type);
    u64(o, offset);
}

static void expect_error(buf *o, const char *needle) {
    gguf_reader *r = gguf_reader_new();
    int s = gguf_read_header(r, o->b, o->n);
    CHECK(s < 0, "expected an error containing '%s', got status %d", needle, s);
    if (s < 0) CHECK(strstr(gf_error_message(), needle) != NULL, "error '%s' lacks '%s'", gf_error_message(), needle);
    gguf_reader_free(r);
}

static void test_malformed(void) {
    buf o;
    memcpy(o.b, "<!DOCTYPE html><html>", 21);
    o.n = 21;
    expect_error(&o, "HTML");
    memcpy(o.b, "PK\3\4 zip file here!!!!!!!", 26);
    o.n = 26;
    expect_error(&o, "not a GGUF file");
    header(&o, 1, 0, 0);
    expect_error(&o, "version 1");
    header(&o, 0x03000000, 0, 0);
    expect_error(&o, "big-endian");
    header(&o, 7, 0, 0);
    expect_error(&o, "unsupported version 7");
    header(&o, 3, 1u << 30, 0);
    expect_error(&o, "tensor count");
    header(&o, 3, 0, 1u << 30);
    expect_error(&o, "metadata count");

    header(&o, 3, 0, 1);
    u64(&o, 1ull << 40);
    expect_error(&o, "key length");
    header(&o, 3, 0, 2);
    kv_u32(&o, "a.b", 1);
    kv_u32(&o, "a.b", 2);
    expect_error(&o, "duplicate metadata key 'a.b'");
    header(&o, 3, 0, 1);
    str(&o, "x");
    u32(&o, 99);
    expect_error(&o, "invalid value type 99");
    header(&o, 3, 0, 1);
    str(&o, "x");
    u32(&o, GGUF_VT_STRING);
    u64(&o, 1ull << 50);
    expect_error(&o, "string of");
    header(&o, 3, 0, 1);
    str(&o, "x");
    u32(&o, GGUF_VT_ARRAY);
    u32(&o, GGUF_VT_UINT32);
    u64(&o, 1ull << 60);
    expect_error(&o, "elements");
    header(&o, 3, 0, 1);
    str(&o, "general.alignment");
    u32(&o, GGUF_VT_UINT32);
    u32(&o, 48);
    expect_error(&o, "power of two");

    header(&o, 3, 1, 0);
    tensor(&o, "w", 32, 0, GF_TYPE_F32, 0);
    expect_error(&o, "dimension 1 is 0");
    header(&o, 3, 1, 0);
    tensor(&o, "w", 32, 4, 77, 0);
    expect_error(&o, "unknown type id 77");
    header(&o, 3, 1, 0);
    tensor(&o, "w", 33, 4, GF_TYPE_Q4_0, 0);
    expect_error(&o, "not a multiple of its block size");
    header(&o, 3, 1, 0);
    tensor(&o, "w", 1ull << 39, 1ull << 39, GF_TYPE_F32, 0);
    expect_error(&o, "more than 2^40 elements");
    header(&o, 3, 2, 0);
    tensor(&o, "a", 32, 4, GF_TYPE_F32, 0);
    tensor(&o, "b", 32, 4, GF_TYPE_F32, 256);
    expect_error(&o, "overlaps");
    header(&o, 3, 1, 0);
    tensor(&o, "a", 32, 4, GF_TYPE_F32, 16);
    expect_error(&o, "not a multiple of the alignment");
    header(&o, 3, 2, 0);
    tensor(&o, "a", 32, 4, GF_TYPE_F32, 0);
    tensor(&o, "a", 32, 4, GF_TYPE_F32, 512);
    expect_error(&o, "duplicate tensor name 'a'");

    /* a well-formed header with an unsupported (but known) type parses: the
     * model planner reports it by name */
    header(&o, 3, 1, 0);
    tensor(&o, "blk.3.ffn_up.weight", 256, 4, GF_TYPE_IQ2_XS, 0);
    gguf_reader *r = gguf_reader_new();
    CHECK(gguf_read_header(r, o.b, o.n) == GGUF_HEADER_DONE, "IQ2_XS layout: %s", gf_error_message());
    CHECK(gguf_n_tensors(r) == 1 && gguf_tensor_at(r, 0)->nbytes == 4 * 74, "IQ2_XS size");
    gguf_reader_free(r);

    /* truncation anywhere inside a header is "need more", never an error */
    header(&o, 3, 1, 2);
    kv_u32(&o, "a.x", 1);
    str(&o, "a.s");
    u32(&o, GGUF_VT_STRING);
    str(&o, "hello");
    tensor(&o, "w", 32, 1, GF_TYPE_F32, 0);
    for (size_t cut = 0; cut < o.n; cut++) {
        r = gguf_reader_new();
        size_t cap;
        uint8_t *w = gguf_header_window(r, &cap);
        memcpy(w, o.b, cut);
        CHECK(gguf_header_commit(r, cut) == GGUF_NEED_MORE, "cut at %zu", cut);
        gguf_reader_free(r);
    }
}

int main(void) {
    test_shared_file("models", "tiny-llama-Q4_0.gguf", 0);
    test_shared_file("models", "tiny-llama-Q4_K_M.gguf", 0);
    test_shared_file("tokenizers", "ggml-vocab-phi-3.gguf", 1);
    test_malformed();
    TEST_MAIN_END();
}
