#include "format/gguf_writer.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/registry.h"

typedef struct {
    char name[GGUF_TENSOR_NAME_MAX];
    uint32_t n_dims, type;
    uint64_t ne[GGUF_MAX_DIMS];
    uint64_t offset, nbytes;
} out_tensor;

typedef struct {
    uint8_t *p;
    size_t len, cap, head; /* bytes [head, len) are pending */
} bytes;

struct gf_gguf_writer {
    uint32_t alignment;
    bytes kv;  /* serialized metadata entries */
    uint64_t n_kv;
    out_tensor *t;
    uint64_t n_t, cap_t;
    uint64_t data_size;
    bytes out;
    int data_started;
    uint64_t cur, cur_written; /* tensor being written, bytes of it done */
    uint64_t file_size;
};

static int grow(bytes *b, size_t extra) {
    if (b->head && b->head == b->len) b->head = b->len = 0;
    if (b->len + extra <= b->cap) return GF_OK;
    if (b->head) { /* reuse drained space before growing */
        memmove(b->p, b->p + b->head, b->len - b->head);
        b->len -= b->head;
        b->head = 0;
        if (b->len + extra <= b->cap) return GF_OK;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return gf_fail_nomem("the GGUF writer's buffer", cap);
    b->p = p;
    b->cap = cap;
    return GF_OK;
}

static int put(bytes *b, const void *src, size_t n) {
    if (grow(b, n) < 0) return GF_ERR_NOMEM;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return GF_OK;
}

static int put_u32(bytes *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(b, x, 4);
}

static int put_u64(bytes *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    return put(b, x, 8);
}

static int put_str(bytes *b, const char *s, size_t n) {
    int st = put_u64(b, n);
    return st < 0 ? st : put(b, s, n);
}

int gf_gguf_writer_new(uint32_t alignment, gf_gguf_writer **out) {
    *out = NULL;
    if (!alignment || (alignment & (alignment - 1))) return gf_fail("GGUF writer: alignment %u is not a power of two", alignment);
    gf_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return gf_fail_nomem("the GGUF writer", sizeof *w);
    w->alignment = alignment;
    *out = w;
    return GF_OK;
}

void gf_gguf_writer_free(gf_gguf_writer *w) {
    if (!w) return;
    free(w->kv.p);
    free(w->out.p);
    free(w->t);
    free(w);
}

static int header_open(const gf_gguf_writer *w) {
    return w->data_started ? gf_fail("GGUF writer: the header was already written") : GF_OK;
}

int gf_gguf_writer_copy_kv(gf_gguf_writer *w, const gguf_reader *r, uint64_t i) {
    if (header_open(w) < 0) return GF_ERR;
    if (i >= gguf_n_kv(r)) return gf_fail("GGUF writer: no metadata entry %llu", (unsigned long long)i);
    const gguf_kv *kv = gguf_kv_at(r, i);
    size_t n;
    const uint8_t *buf = gguf_buffer(r, &n);
    /* an entry's bytes run from its key's length prefix to the end of its value */
    int s = put(&w->kv, buf + kv->key_off - 8, (size_t)(kv->val_off + kv->val_len) - (kv->key_off - 8));
    if (s == GF_OK) w->n_kv++;
    return s;
}

int gf_gguf_writer_add_u32(gf_gguf_writer *w, const char *key, uint32_t value) {
    if (header_open(w) < 0) return GF_ERR;
    int s;
    if ((s = put_str(&w->kv, key, strlen(key))) < 0 || (s = put_u32(&w->kv, GGUF_VT_UINT32)) < 0 || (s = put_u32(&w->kv, value)) < 0) return s;
    w->n_kv++;
    return GF_OK;
}

/* Entry i of r under another key (its type and value as they are). */
int gf_gguf_writer_copy_kv_as(gf_gguf_writer *w, const gguf_reader *r, uint64_t i, const char *key) {
    if (header_open(w) < 0) return GF_ERR;
    if (i >= gguf_n_kv(r)) return gf_fail("GGUF writer: no metadata entry %llu", (unsigned long long)i);
    const gguf_kv *kv = gguf_kv_at(r, i);
    size_t n;
    const uint8_t *buf = gguf_buffer(r, &n);
    /* the value's bytes start with its type, right after the key */
    size_t from = kv->key_off + kv->key_len;
    int s;
    if ((s = put_str(&w->kv, key, strlen(key))) < 0 || (s = put(&w->kv, buf + from, (size_t)(kv->val_off + kv->val_len) - from)) < 0) return s;
    w->n_kv++;
    return GF_OK;
}

int gf_gguf_writer_add_str(gf_gguf_writer *w, const char *key, const char *value) {
    if (header_open(w) < 0) return GF_ERR;
    int s;
    if ((s = put_str(&w->kv, key, strlen(key))) < 0 || (s = put_u32(&w->kv, GGUF_VT_STRING)) < 0 || (s = put_str(&w->kv, value, strlen(value))) < 0)
        return s;
    w->n_kv++;
    return GF_OK;
}

int gf_gguf_writer_add_arr_u32(gf_gguf_writer *w, const char *key, const uint32_t *values, uint64_t n) {
    if (header_open(w) < 0) return GF_ERR;
    int s;
    if ((s = put_str(&w->kv, key, strlen(key))) < 0 || (s = put_u32(&w->kv, GGUF_VT_ARRAY)) < 0 || (s = put_u32(&w->kv, GGUF_VT_UINT32)) < 0 ||
        (s = put_u64(&w->kv, n)) < 0)
        return s;
    for (uint64_t i = 0; i < n; i++)
        if ((s = put_u32(&w->kv, values[i])) < 0) return s;
    w->n_kv++;
    return GF_OK;
}

static uint64_t align_up(uint64_t v, uint32_t a) { return (v + a - 1) / a * a; }

int gf_gguf_writer_add_tensor(gf_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type) {
    if (header_open(w) < 0) return GF_ERR;
    if (strlen(name) >= GGUF_TENSOR_NAME_MAX) return gf_fail("GGUF writer: tensor name '%.40s...' is too long", name);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) return gf_fail("GGUF writer: tensor '%s' has %u dimensions", name, n_dims);
    uint64_t rows = 1;
    for (uint32_t i = 1; i < n_dims; i++) rows *= ne[i];
    size_t rb = gf_row_bytes(type, ne[0]);
    if (!rb) return gf_fail("GGUF writer: tensor '%s' rows of %llu are not whole %s blocks", name, (unsigned long long)ne[0], gf_type_name(type));
    if (w->n_t == w->cap_t) {
        uint64_t cap = w->cap_t ? 2 * w->cap_t : 64;
        out_tensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return gf_fail_nomem("the GGUF writer's tensor table", cap * sizeof *t);
        w->t = t;
        w->cap_t = cap;
    }
    out_tensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->n_dims = n_dims;
    t->type = type;
    for (uint32_t i = 0; i < GGUF_MAX_DIMS; i++) t->ne[i] = i < n_dims ? ne[i] : 1;
    t->nbytes = rows * rb;
    t->offset = w->data_size;
    w->data_size = align_up(w->data_size + t->nbytes, w->alignment);
    return GF_OK;
}

static int pad_to(bytes *b, uint64_t pos, uint32_t alignment) {
    static const uint8_t zeros[64];
    uint64_t pad = align_up(pos, alignment) - pos;
    while (pad) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        int s = put(b, zeros, k);
        if (s < 0) return s;
        pad -= k;
    }
    return GF_OK;
}

int gf_gguf_writer_begin_data(gf_gguf_writer *w) {
    if (header_open(w) < 0) return GF_ERR;
    bytes *o = &w->out;
    int s;
    if ((s = put(o, "GGUF", 4)) < 0 || (s = put_u32(o, 3)) < 0 || (s = put_u64(o, w->n_t)) < 0 || (s = put_u64(o, w->n_kv)) < 0 ||
        (s = put(o, w->kv.p, w->kv.len)) < 0)
        return s;
    for (uint64_t i = 0; i < w->n_t; i++) {
        const out_tensor *t = &w->t[i];
        if ((s = put_str(o, t->name, strlen(t->name))) < 0 || (s = put_u32(o, t->n_dims)) < 0) return s;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if ((s = put_u64(o, t->ne[d])) < 0) return s;
        if ((s = put_u32(o, t->type)) < 0 || (s = put_u64(o, t->offset)) < 0) return s;
    }
    uint64_t header = o->len;
    if ((s = pad_to(o, header, w->alignment)) < 0) return s;
    w->file_size = align_up(header, w->alignment) + w->data_size;
    free(w->kv.p);
    memset(&w->kv, 0, sizeof w->kv);
    w->data_started = 1;
    return GF_OK;
}

uint8_t *gf_gguf_writer_reserve(gf_gguf_writer *w, size_t n) {
    if (!w->data_started || w->cur >= w->n_t) {
        gf_fail("GGUF writer: no tensor data is expected now");
        return NULL;
    }
    if (grow(&w->out, n) < 0) return NULL;
    return w->out.p + w->out.len;
}

int gf_gguf_writer_commit(gf_gguf_writer *w, size_t n) {
    if (!w->data_started || w->cur >= w->n_t) return gf_fail("GGUF writer: no tensor data is expected now");
    const out_tensor *t = &w->t[w->cur];
    if (n > t->nbytes - w->cur_written)
        return gf_fail("GGUF writer: %zu bytes overflow tensor '%s' (%llu of %llu bytes written)", n, t->name,
                       (unsigned long long)w->cur_written, (unsigned long long)t->nbytes);
    w->out.len += n;
    w->cur_written += n;
    if (w->cur_written == t->nbytes) {
        int s = pad_to(&w->out, t->nbytes, w->alignment);
        if (s < 0) return s;
        w->cur++;
        w->cur_written = 0;
    }
    return GF_OK;
}

int gf_gguf_writer_complete(const gf_gguf_writer *w) { return w->data_started && w->cur == w->n_t; }

const uint8_t *gf_gguf_writer_pending(const gf_gguf_writer *w, size_t *n) {
    *n = w->out.len - w->out.head;
    return w->out.p ? w->out.p + w->out.head : NULL;
}

void gf_gguf_writer_drain(gf_gguf_writer *w, size_t n) {
    size_t have = w->out.len - w->out.head;
    w->out.head += n < have ? n : have;
}

uint64_t gf_gguf_writer_file_size(const gf_gguf_writer *w) { return w->file_size; }
uint64_t gf_gguf_writer_n_tensors(const gf_gguf_writer *w) { return w->n_t; }
