#include "format/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/registry.h"

/* Limits that no real model comes near; they keep a crafted header from
 * making us allocate or loop on an absurd count. */
#define MAX_HEADER_BYTES (512u << 20)
#define MAX_KEY_LEN 65535u
#define MAX_STRING_LEN (64u << 20)
#define MAX_KV 1000000u
#define MAX_ARRAY_N (64u << 20)
#define MAX_TENSORS 1000000u
#define MAX_NE (1ull << 40)
#define MIN_WINDOW (64u << 10)

enum stage { ST_FIXED, ST_KV, ST_ARRAY_STRINGS, ST_TENSORS, ST_DONE, ST_FAILED };

/* What one parse step reports (errors are negative GF_ statuses). */
enum { STEP_PARSED = 1, STEP_MORE = 2 };

struct gguf_reader {
    uint8_t *buf;
    size_t len, cap;
    size_t pos; /* parse position: everything before it is parsed */
    enum stage stage;

    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    uint64_t kv_done;     /* complete KV entries */
    uint64_t arr_i;       /* next element of the string array being read */
    gguf_tensor_info *tensors;
    uint64_t tensors_done;
    uint32_t *order;
    uint32_t alignment;
    uint64_t data_offset, data_size;
    uint32_t *seen;   /* open-addressing set of key (then tensor name) indices + 1 */
    uint64_t seen_cap;
    int metadata_released;
};

static const uint32_t k_vsize[GGUF_VT_COUNT] = {
    [GGUF_VT_UINT8] = 1, [GGUF_VT_INT8] = 1, [GGUF_VT_UINT16] = 2, [GGUF_VT_INT16] = 2,
    [GGUF_VT_UINT32] = 4, [GGUF_VT_INT32] = 4, [GGUF_VT_FLOAT32] = 4, [GGUF_VT_BOOL] = 1,
    [GGUF_VT_UINT64] = 8, [GGUF_VT_INT64] = 8, [GGUF_VT_FLOAT64] = 8,
};

static const char *k_vnames[GGUF_VT_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *gguf_vtype_name(uint32_t type) { return type < GGUF_VT_COUNT ? k_vnames[type] : "invalid"; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

gguf_reader *gguf_reader_new(void) {
    gguf_reader *r = calloc(1, sizeof *r);
    if (!r) gf_fail_nomem("the GGUF reader", sizeof *r);
    return r;
}

static void free_metadata(gguf_reader *r) {
    if (r->kv) {
        for (uint64_t i = 0; i < r->n_kv; i++) free(r->kv[i].str_off);
        free(r->kv);
        r->kv = NULL;
    }
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
    r->metadata_released = 1;
}

void gguf_reader_free(gguf_reader *r) {
    if (!r) return;
    free_metadata(r);
    free(r->tensors);
    free(r->order);
    free(r->seen);
    free(r);
}

void gguf_release_metadata(gguf_reader *r) { free_metadata(r); }

int gguf_release_header(gguf_reader *r, const char *who, uint8_t **extra, size_t *n, uint64_t *pos) {
    const size_t have = r->len;
    const uint64_t start = r->data_offset;
    *extra = NULL;
    *n = have > start ? have - (size_t)start : 0;
    *pos = have < start ? have : start;
    if (*n) {
        if (!(*extra = malloc(*n))) return gf_fail_nomem(who, *n);
        memcpy(*extra, r->buf + start, *n);
    }
    free_metadata(r);
    return GF_OK;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Duplicate detection in O(1) per entry, so a crafted file with a million
 * names cannot make the check quadratic. */
static int seen_reset(gguf_reader *r, uint64_t n) {
    free(r->seen);
    r->seen_cap = 16;
    while (r->seen_cap < 2 * n) r->seen_cap *= 2;
    r->seen = calloc(r->seen_cap, sizeof *r->seen);
    return r->seen ? GF_OK : gf_fail_nomem("a name table", r->seen_cap * 4);
}

/* Inserts entry idx whose name is (p, n); returns 1 if an equal name with
 * index other than idx is already there. */
typedef const uint8_t *(*name_of_fn)(const gguf_reader *r, uint32_t idx, size_t *n);
static int seen_insert(gguf_reader *r, uint32_t idx, const uint8_t *p, size_t n, name_of_fn name_of) {
    uint64_t mask = r->seen_cap - 1, h = hash_bytes(p, n) & mask;
    for (;; h = (h + 1) & mask) {
        uint32_t e = r->seen[h];
        if (!e) {
            r->seen[h] = idx + 1;
            return 0;
        }
        if (e - 1 == idx) return 0; /* re-parsing an entry after NEED_MORE */
        size_t m;
        const uint8_t *q = name_of(r, e - 1, &m);
        if (m == n && !memcmp(p, q, n)) return 1;
    }
}

static const uint8_t *kv_name(const gguf_reader *r, uint32_t i, size_t *n) {
    *n = r->kv[i].key_len;
    return r->buf + r->kv[i].key_off;
}

static const uint8_t *tensor_name(const gguf_reader *r, uint32_t i, size_t *n) {
    *n = strlen(r->tensors[i].name);
    return (const uint8_t *)r->tensors[i].name;
}

static int fail(gguf_reader *r, int status) {
    r->stage = ST_FAILED;
    return status;
}

uint8_t *gguf_header_window(gguf_reader *r, size_t *cap) {
    *cap = 0;
    if (r->stage == ST_FAILED || r->stage == ST_DONE) {
        gf_fail("GGUF: header reader is %s", r->stage == ST_DONE ? "already complete" : "in an error state");
        return NULL;
    }
    if (r->cap - r->len < MIN_WINDOW) {
        size_t want = r->cap ? r->cap * 2 : 4 * MIN_WINDOW;
        if (want > MAX_HEADER_BYTES + MIN_WINDOW) want = MAX_HEADER_BYTES + MIN_WINDOW;
        if (want - r->len < MIN_WINDOW) {
            gf_fail("GGUF: header is larger than %u MiB; not a model this runtime can load", MAX_HEADER_BYTES >> 20);
            fail(r, GF_ERR);
            return NULL;
        }
        uint8_t *nb = realloc(r->buf, want);
        if (!nb) {
            gf_fail_nomem("the GGUF header", want);
            fail(r, GF_ERR_NOMEM);
            return NULL;
        }
        r->buf = nb;
        r->cap = want;
    }
    *cap = r->cap - r->len;
    return r->buf + r->len;
}

static int have(const gguf_reader *r, uint64_t n) { return r->len - r->pos >= n; }

static int parse_fixed(gguf_reader *r) {
    if (!have(r, 4)) return STEP_MORE;
    if (memcmp(r->buf, "GGUF", 4) != 0) {
        char shown[9] = {0};
        for (int i = 0; i < 4; i++) shown[i] = (r->buf[i] >= 32 && r->buf[i] < 127) ? (char)r->buf[i] : '?';
        if (r->buf[0] == '<' || !memcmp(r->buf, "{\"", 2))
            return gf_fail("not a GGUF file: it starts with \"%s\" (an HTML or JSON page, not model weights?)", shown);
        return gf_fail("not a GGUF file: expected magic \"GGUF\", found \"%s\"", shown);
    }
    if (!have(r, 24)) return STEP_MORE;
    r->version = rd32(r->buf + 4);
    if (r->version == 1) return gf_fail("GGUF: version 1 files are not supported (re-convert the model with a current llama.cpp)");
    if (r->version != 2 && r->version != 3) {
        if ((r->version & 0xffff) == 0 && (r->version >> 24) <= 3)
            return gf_fail("GGUF: big-endian file (version field 0x%08x); only little-endian GGUF is supported", r->version);
        return gf_fail("GGUF: unsupported version %u (supported: 2, 3)", r->version);
    }
    r->n_tensors = rd64(r->buf + 8);
    r->n_kv = rd64(r->buf + 16);
    if (r->n_tensors > MAX_TENSORS) return gf_fail("GGUF: tensor count %llu exceeds the limit of %u", (unsigned long long)r->n_tensors, MAX_TENSORS);
    if (r->n_kv > MAX_KV) return gf_fail("GGUF: metadata count %llu exceeds the limit of %u", (unsigned long long)r->n_kv, MAX_KV);
    r->kv = calloc(r->n_kv ? r->n_kv : 1, sizeof *r->kv);
    r->tensors = calloc(r->n_tensors ? r->n_tensors : 1, sizeof *r->tensors);
    if (!r->kv || !r->tensors) return gf_fail_nomem("the GGUF tables", (r->n_kv * sizeof *r->kv) + r->n_tensors * sizeof *r->tensors);
    r->pos = 24;
    r->stage = ST_KV;
    int s = seen_reset(r, r->n_kv);
    return s < 0 ? s : STEP_PARSED;
}

static void key_text(const gguf_reader *r, const gguf_kv *kv, char *out, size_t cap) {
    size_t n = kv->key_len < cap - 1 ? kv->key_len : cap - 1;
    memcpy(out, r->buf + kv->key_off, n);
    out[n] = 0;
}

/* Parses one KV entry's fixed part; string arrays continue element-wise. */
static int parse_kv(gguf_reader *r) {
    gguf_kv *kv = &r->kv[r->kv_done];
    size_t p = r->pos;
    if (!have(r, 8)) return STEP_MORE;
    uint64_t klen = rd64(r->buf + p);
    if (klen == 0 || klen > MAX_KEY_LEN)
        return gf_fail("GGUF: metadata entry %llu has a key length of %llu bytes (allowed 1..%u)",
                       (unsigned long long)r->kv_done, (unsigned long long)klen, MAX_KEY_LEN);
    if (!have(r, 8 + klen + 4)) return STEP_MORE;
    kv->key_off = (uint32_t)(p + 8);
    kv->key_len = (uint32_t)klen;
    char key[128];
    key_text(r, kv, key, sizeof key);
    if (seen_insert(r, (uint32_t)r->kv_done, r->buf + kv->key_off, klen, kv_name))
        return gf_fail("GGUF: duplicate metadata key '%s'", key);
    uint32_t type = rd32(r->buf + p + 8 + klen);
    if (type >= GGUF_VT_COUNT) return gf_fail("GGUF: metadata '%s' has invalid value type %u", key, type);
    kv->type = type;
    size_t q = p + 8 + klen + 4; /* value starts here */
    if (type == GGUF_VT_STRING) {
        if (r->len - q < 8) return STEP_MORE;
        uint64_t slen = rd64(r->buf + q);
        if (slen > MAX_STRING_LEN)
            return gf_fail("GGUF: metadata '%s' is a string of %llu bytes (limit %u)", key, (unsigned long long)slen, MAX_STRING_LEN);
        if (r->len - q - 8 < slen) return STEP_MORE;
        kv->val_off = (uint32_t)(q + 8);
        kv->val_len = (uint32_t)slen;
        r->pos = q + 8 + slen;
        r->kv_done++;
        return STEP_PARSED;
    }
    if (type == GGUF_VT_ARRAY) {
        if (r->len - q < 12) return STEP_MORE;
        uint32_t et = rd32(r->buf + q);
        uint64_t n = rd64(r->buf + q + 4);
        if (et >= GGUF_VT_COUNT || et == GGUF_VT_ARRAY)
            return gf_fail("GGUF: metadata '%s' is an array of %s elements, which is not supported", key,
                           et == GGUF_VT_ARRAY ? "array" : "invalid");
        if (n > MAX_ARRAY_N)
            return gf_fail("GGUF: metadata '%s' has %llu elements (limit %u)", key, (unsigned long long)n, MAX_ARRAY_N);
        kv->arr_type = et;
        kv->arr_n = n;
        kv->val_off = (uint32_t)(q + 12);
        if (et == GGUF_VT_STRING) {
            kv->str_off = malloc((n ? n : 1) * sizeof *kv->str_off);
            if (!kv->str_off) return gf_fail_nomem("a metadata string table", n * sizeof *kv->str_off);
            r->pos = q + 12;
            r->arr_i = 0;
            r->stage = ST_ARRAY_STRINGS;
            return STEP_PARSED;
        }
        uint64_t bytes = n * k_vsize[et];
        if (bytes > MAX_HEADER_BYTES)
            return gf_fail("GGUF: metadata '%s' array is %llu bytes (limit %u MiB)", key, (unsigned long long)bytes, MAX_HEADER_BYTES >> 20);
        if (r->len - q - 12 < bytes) return STEP_MORE;
        kv->val_len = (uint32_t)bytes;
        r->pos = q + 12 + bytes;
        r->kv_done++;
        return STEP_PARSED;
    }
    if (r->len - q < k_vsize[type]) return STEP_MORE;
    kv->val_off = (uint32_t)q;
    kv->val_len = k_vsize[type];
    r->pos = q + k_vsize[type];
    r->kv_done++;
    return STEP_PARSED;
}

static int parse_string_elements(gguf_reader *r) {
    gguf_kv *kv = &r->kv[r->kv_done];
    while (r->arr_i < kv->arr_n) {
        if (!have(r, 8)) return STEP_MORE;
        uint64_t slen = rd64(r->buf + r->pos);
        if (slen > MAX_STRING_LEN) {
            char key[128];
            key_text(r, kv, key, sizeof key);
            return gf_fail("GGUF: metadata '%s' element %llu is a string of %llu bytes (limit %u)", key,
                           (unsigned long long)r->arr_i, (unsigned long long)slen, MAX_STRING_LEN);
        }
        if (!have(r, 8 + slen)) return STEP_MORE;
        kv->str_off[r->arr_i++] = (uint32_t)(r->pos + 8);
        r->pos += 8 + slen;
    }
    kv->val_len = (uint32_t)(r->pos - kv->val_off);
    r->kv_done++;
    r->stage = ST_KV;
    return STEP_PARSED;
}

static int parse_tensor(gguf_reader *r) {
    gguf_tensor_info *t = &r->tensors[r->tensors_done];
    size_t p = r->pos;
    if (!have(r, 8)) return STEP_MORE;
    uint64_t nlen = rd64(r->buf + p);
    if (nlen == 0 || nlen >= GGUF_TENSOR_NAME_MAX)
        return gf_fail("GGUF: tensor %llu has a name length of %llu bytes (allowed 1..%d)",
                       (unsigned long long)r->tensors_done, (unsigned long long)nlen, GGUF_TENSOR_NAME_MAX - 1);
    if (!have(r, 8 + nlen + 4)) return STEP_MORE;
    memcpy(t->name, r->buf + p + 8, nlen);
    t->name[nlen] = 0;
    if (memchr(t->name, 0, nlen)) return gf_fail("GGUF: tensor %llu has a NUL byte in its name", (unsigned long long)r->tensors_done);
    uint32_t nd = rd32(r->buf + p + 8 + nlen);
    if (nd == 0 || nd > GGUF_MAX_DIMS) return gf_fail("GGUF: tensor '%s' has %u dimensions (allowed 1..%d)", t->name, nd, GGUF_MAX_DIMS);
    size_t need = 8 + nlen + 4 + 8ull * nd + 4 + 8;
    if (!have(r, need)) return STEP_MORE;
    const uint8_t *q = r->buf + p + 8 + nlen + 4;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= nd) continue;
        uint64_t ne = rd64(q + 8 * d);
        if (ne == 0 || ne > MAX_NE)
            return gf_fail("GGUF: tensor '%s' dimension %u is %llu (allowed 1..2^40)", t->name, d, (unsigned long long)ne);
        if (elements > MAX_NE / ne)
            return gf_fail("GGUF: tensor '%s' has more than 2^40 elements", t->name);
        elements *= ne;
        t->ne[d] = ne;
    }
    t->n_dims = nd;
    t->type = rd32(q + 8 * nd);
    t->offset = rd64(q + 8 * nd + 4);
    const gf_type_traits *tt = gf_type_info(t->type);
    if (!tt) return gf_fail("GGUF: tensor '%s' has %s", t->name, gf_type_name(t->type));
    if (t->ne[0] % tt->block)
        return gf_fail("GGUF: tensor '%s' of type %s has rows of %llu elements, not a multiple of its block size %u",
                       t->name, tt->name, (unsigned long long)t->ne[0], tt->block);
    t->nbytes = elements / tt->block * tt->bytes;
    if (seen_insert(r, (uint32_t)r->tensors_done, (const uint8_t *)t->name, nlen, tensor_name))
        return gf_fail("GGUF: duplicate tensor name '%s'", t->name);
    r->pos = p + need;
    r->tensors_done++;
    return STEP_PARSED;
}

static const gguf_tensor_info *g_sort_tensors; /* qsort has no context argument in C99 */
static int cmp_by_offset(const void *a, const void *b) {
    uint64_t x = g_sort_tensors[*(const uint32_t *)a].offset, y = g_sort_tensors[*(const uint32_t *)b].offset;
    return x < y ? -1 : x > y;
}

static int finish_header(gguf_reader *r) {
    r->alignment = 32;
    int64_t ai = gguf_find_key(r, "general.alignment");
    if (ai >= 0) {
        const gguf_kv *kv = &r->kv[ai];
        if (kv->type != GGUF_VT_UINT32) return gf_fail("GGUF: general.alignment must be uint32, found %s", gguf_vtype_name(kv->type));
        uint32_t a = rd32(r->buf + kv->val_off);
        if (a == 0 || (a & (a - 1)) || a > (1u << 20)) return gf_fail("GGUF: general.alignment %u is not a power of two up to 1 MiB", a);
        r->alignment = a;
    }
    r->data_offset = (r->pos + r->alignment - 1) / r->alignment * r->alignment;
    r->order = malloc((r->n_tensors ? r->n_tensors : 1) * sizeof *r->order);
    if (!r->order) return gf_fail_nomem("the tensor order", r->n_tensors * 4);
    for (uint64_t i = 0; i < r->n_tensors; i++) r->order[i] = (uint32_t)i;
    g_sort_tensors = r->tensors;
    qsort(r->order, r->n_tensors, sizeof *r->order, cmp_by_offset);
    uint64_t end = 0;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tensors[r->order[k]];
        if (t->offset % r->alignment)
            return gf_fail("GGUF: tensor '%s' offset %llu is not a multiple of the alignment %u", t->name,
                           (unsigned long long)t->offset, r->alignment);
        if (t->offset < end)
            return gf_fail("GGUF: tensor '%s' (offset %llu) overlaps the previous tensor, which ends at %llu", t->name,
                           (unsigned long long)t->offset, (unsigned long long)end);
        if (t->offset > (1ull << 52) || t->nbytes > (1ull << 52))
            return gf_fail("GGUF: tensor '%s' offset %llu is beyond any file size", t->name, (unsigned long long)t->offset);
        end = t->offset + t->nbytes;
    }
    r->data_size = end;
    free(r->seen);
    r->seen = NULL;
    r->stage = ST_DONE;
    return GGUF_HEADER_DONE;
}

int gguf_header_commit(gguf_reader *r, size_t n) {
    if (r->stage == ST_FAILED) return gf_fail("GGUF: header reader is in an error state");
    if (r->stage == ST_DONE) return GGUF_HEADER_DONE;
    if (n > r->cap - r->len) return fail(r, gf_fail("GGUF: committed %zu bytes into a window of %zu", n, r->cap - r->len));
    r->len += n;
    for (;;) {
        int s;
        switch (r->stage) {
        case ST_FIXED: s = parse_fixed(r); break;
        case ST_KV:
            if (r->kv_done == r->n_kv) {
                if ((s = seen_reset(r, r->n_tensors)) < 0) return fail(r, s);
                r->stage = ST_TENSORS;
                continue;
            }
            s = parse_kv(r);
            break;
        case ST_ARRAY_STRINGS: s = parse_string_elements(r); break;
        case ST_TENSORS:
            if (r->tensors_done == r->n_tensors) return (s = finish_header(r)) < 0 ? fail(r, s) : s;
            s = parse_tensor(r);
            break;
        default: return GGUF_HEADER_DONE;
        }
        if (s < 0) return fail(r, s);
        if (s == STEP_MORE) return GGUF_NEED_MORE;
    }
}

int gguf_read_header(gguf_reader *r, const uint8_t *bytes, size_t n) {
    size_t off = 0;
    for (;;) {
        size_t cap;
        uint8_t *w = gguf_header_window(r, &cap);
        if (!w) return GF_ERR;
        size_t k = n - off < cap ? n - off : cap;
        memcpy(w, bytes + off, k);
        off += k;
        int s = gguf_header_commit(r, k);
        if (s != GGUF_NEED_MORE) return s;
        if (off == n) return gf_fail("GGUF: file ends inside the header (after %zu bytes)", n);
    }
}

uint32_t gguf_version(const gguf_reader *r) { return r->version; }
uint32_t gguf_alignment(const gguf_reader *r) { return r->alignment; }
uint64_t gguf_data_offset(const gguf_reader *r) { return r->data_offset; }
uint64_t gguf_data_size(const gguf_reader *r) { return r->data_size; }
const uint8_t *gguf_buffer(const gguf_reader *r, size_t *n) {
    *n = r->len;
    return r->buf;
}

uint64_t gguf_n_kv(const gguf_reader *r) { return r->metadata_released ? 0 : r->kv_done; }
const gguf_kv *gguf_kv_at(const gguf_reader *r, uint64_t i) { return &r->kv[i]; }

const char *gguf_key(const gguf_reader *r, const gguf_kv *kv, uint32_t *len) {
    *len = kv->key_len;
    return (const char *)r->buf + kv->key_off;
}

int64_t gguf_find_key(const gguf_reader *r, const char *key) {
    if (r->metadata_released) return -1;
    size_t n = strlen(key);
    for (uint64_t i = 0; i < r->kv_done; i++)
        if (r->kv[i].key_len == n && !memcmp(r->buf + r->kv[i].key_off, key, n)) return (int64_t)i;
    return -1;
}

/* Reads any integer-typed value as int64 (uint64 above INT64_MAX fails). */
static int read_int(const gguf_reader *r, const gguf_kv *kv, const char *key, int64_t *out) {
    const uint8_t *p = r->buf + kv->val_off;
    switch (kv->type) {
    case GGUF_VT_UINT8: *out = p[0]; return 1;
    case GGUF_VT_INT8: *out = (int8_t)p[0]; return 1;
    case GGUF_VT_UINT16: *out = rd16(p); return 1;
    case GGUF_VT_INT16: *out = (int16_t)rd16(p); return 1;
    case GGUF_VT_UINT32: *out = rd32(p); return 1;
    case GGUF_VT_INT32: *out = (int32_t)rd32(p); return 1;
    case GGUF_VT_INT64: *out = (int64_t)rd64(p); return 1;
    case GGUF_VT_UINT64:
        if (rd64(p) > (uint64_t)INT64_MAX) return gf_fail("GGUF: metadata '%s' = %llu is out of range", key, (unsigned long long)rd64(p));
        *out = (int64_t)rd64(p);
        return 1;
    default: return gf_fail("GGUF: metadata '%s' should be an integer, found %s", key, gguf_vtype_name(kv->type));
    }
}

int gguf_get_i64(const gguf_reader *r, const char *key, int64_t *out) {
    int64_t i = gguf_find_key(r, key);
    if (i < 0) return 0;
    return read_int(r, &r->kv[i], key, out);
}

int gguf_get_u32(const gguf_reader *r, const char *key, uint32_t *out) {
    int64_t v;
    int s = gguf_get_i64(r, key, &v);
    if (s <= 0) return s;
    if (v < 0 || v > (int64_t)UINT32_MAX) return gf_fail("GGUF: metadata '%s' = %lld is out of range", key, (long long)v);
    *out = (uint32_t)v;
    return 1;
}

int gguf_get_f32(const gguf_reader *r, const char *key, float *out) {
    int64_t i = gguf_find_key(r, key);
    if (i < 0) return 0;
    const gguf_kv *kv = &r->kv[i];
    const uint8_t *p = r->buf + kv->val_off;
    if (kv->type == GGUF_VT_FLOAT32) {
        uint32_t b = rd32(p);
        memcpy(out, &b, 4);
        return 1;
    }
    if (kv->type == GGUF_VT_FLOAT64) {
        uint64_t b = rd64(p);
        double d;
        memcpy(&d, &b, 8);
        *out = (float)d;
        return 1;
    }
    int64_t v;
    int s = read_int(r, kv, key, &v);
    if (s <= 0) return gf_fail("GGUF: metadata '%s' should be a number, found %s", key, gguf_vtype_name(kv->type));
    *out = (float)v;
    return 1;
}

int gguf_get_bool(const gguf_reader *r, const char *key, int *out) {
    int64_t i = gguf_find_key(r, key);
    if (i < 0) return 0;
    const gguf_kv *kv = &r->kv[i];
    if (kv->type != GGUF_VT_BOOL) return gf_fail("GGUF: metadata '%s' should be a bool, found %s", key, gguf_vtype_name(kv->type));
    *out = r->buf[kv->val_off] != 0;
    return 1;
}

int gguf_get_str(const gguf_reader *r, const char *key, const char **s, uint32_t *len) {
    int64_t i = gguf_find_key(r, key);
    if (i < 0) return 0;
    const gguf_kv *kv = &r->kv[i];
    if (kv->type != GGUF_VT_STRING) return gf_fail("GGUF: metadata '%s' should be a string, found %s", key, gguf_vtype_name(kv->type));
    *s = (const char *)r->buf + kv->val_off;
    *len = kv->val_len;
    return 1;
}

int gguf_get_arr(const gguf_reader *r, const char *key, uint32_t elem_type, const gguf_kv **out) {
    int64_t i = gguf_find_key(r, key);
    if (i < 0) return 0;
    const gguf_kv *kv = &r->kv[i];
    if (kv->type != GGUF_VT_ARRAY || kv->arr_type != elem_type)
        return gf_fail("GGUF: metadata '%s' should be an array of %s, found %s%s%s", key, gguf_vtype_name(elem_type),
                       kv->type == GGUF_VT_ARRAY ? "an array of " : "", kv->type == GGUF_VT_ARRAY ? gguf_vtype_name(kv->arr_type) : "",
                       kv->type == GGUF_VT_ARRAY ? "" : gguf_vtype_name(kv->type));
    *out = kv;
    return 1;
}

const char *gguf_arr_str(const gguf_reader *r, const gguf_kv *kv, uint64_t i, uint32_t *len) {
    uint32_t off = kv->str_off[i];
    *len = (uint32_t)rd64(r->buf + off - 8);
    return (const char *)r->buf + off;
}

const void *gguf_arr_data(const gguf_reader *r, const gguf_kv *kv) { return r->buf + kv->val_off; }

float gguf_arr_f32(const gguf_reader *r, const gguf_kv *kv, uint64_t i) {
    uint32_t b = rd32(r->buf + kv->val_off + 4 * i);
    float f;
    memcpy(&f, &b, 4);
    return f;
}

int32_t gguf_arr_i32(const gguf_reader *r, const gguf_kv *kv, uint64_t i) { return (int32_t)rd32(r->buf + kv->val_off + 4 * i); }

uint64_t gguf_n_tensors(const gguf_reader *r) { return r->tensors_done; }
const gguf_tensor_info *gguf_tensor_at(const gguf_reader *r, uint64_t i) { return &r->tensors[i]; }
const uint32_t *gguf_tensor_order(const gguf_reader *r) { return r->order; }

int64_t gguf_find_tensor(const gguf_reader *r, const char *name) {
    for (uint64_t i = 0; i < r->tensors_done; i++)
        if (!strcmp(r->tensors[i].name, name)) return (int64_t)i;
    return -1;
}
