#include "tools/prune_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "quant/quant.h"
#include "quant/registry.h"
#include "tools/transcode.h"

#define SKIP_BYTES (64u << 10)

enum stage { ST_HEADER, ST_DATA, ST_COMPLETE, ST_FAILED };
enum sel { SEL_NONE, SEL_ROWS, SEL_COLS };

/* How one tensor is cut: its kept rows (ne[1]) or elements of each row (ne[0]), or replaced (refit). */
typedef struct {
    int sel;
    int32_t *keep; /* indices kept, ascending */
    int32_t n_keep;
    const float *replace; /* rows x n_keep f32, or NULL */
} cut;

struct gf_prune_writer {
    const gf_prune_plan *plan;
    enum stage stage;
    gguf_reader *r;
    gf_gguf_writer *w;
    cut *cuts;         /* by tensor index */
    uint32_t *order;   /* tensor indices by offset */
    uint64_t n_tensors, next; /* tensors done, in order */
    uint64_t pos, data_offset, input_bytes;
    uint8_t *tbuf;     /* the current tensor's bytes */
    size_t tbuf_cap;
    uint8_t *skip;
    char *json;
};

int gf_prune_writer_new(const gf_prune_plan *plan, gf_prune_writer **out) {
    *out = NULL;
    gf_prune_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->r = gguf_reader_new())) {
        free(w);
        return gf_fail_nomem("the pruned file's writer", sizeof *w);
    }
    w->plan = plan;
    *out = w;
    return GF_OK;
}

void gf_prune_writer_free(gf_prune_writer *w) {
    if (!w) return;
    if (w->cuts)
        for (uint64_t i = 0; i < w->n_tensors; i++) free(w->cuts[i].keep);
    free(w->cuts);
    free(w->order);
    free(w->tbuf);
    free(w->skip);
    free(w->json);
    gguf_reader_free(w->r);
    gf_gguf_writer_free(w->w);
    free(w);
}

static int fail(gf_prune_writer *w, int s) {
    w->stage = ST_FAILED;
    return s;
}

/* rows of width `width` per kept unit: unit u keeps [u * width, (u + 1) * width) */
static int32_t *expand(const int32_t *units, int32_t n, int32_t width) {
    int32_t *k = malloc((size_t)n * width * sizeof *k);
    if (!k) return NULL;
    for (int32_t i = 0; i < n; i++)
        for (int32_t c = 0; c < width; c++) k[i * width + c] = units[i] * width + c;
    return k;
}

/* The cut of tensor `name` from the plan (SEL_NONE for tensors pruning leaves alone). */
static int plan_cut(const gf_prune_plan *p, const char *name, cut *c) {
    memset(c, 0, sizeof *c);
    int il, len = 0;
    char role[64];
    if (sscanf(name, "blk.%d.%63[^.]%n", &il, role, &len) != 2 || il < 0 || il >= p->n_layer) return GF_OK;
    const char *ext = name + len; /* ".weight" / ".bias" */
    const gf_prune_layer *L = &p->layers[il];
    const int32_t hd = p->head_dim, qw = L->group * hd;
    const int bias = !strcmp(ext, ".bias");
    if (!bias && strcmp(ext, ".weight")) return GF_OK;
    const int32_t *units = NULL;
    int32_t n = 0, width = 1, cols = 0;
    if (!strcmp(role, "attn_q")) units = L->kv_kept, n = L->kv_out, width = qw;
    else if (!strcmp(role, "attn_k") || !strcmp(role, "attn_v")) units = L->kv_kept, n = L->kv_out, width = hd;
    else if (!strcmp(role, "attn_output") && !bias) units = L->kv_kept, n = L->kv_out, width = qw, cols = 1, c->replace = L->wo;
    else if (!strcmp(role, "ffn_gate") || !strcmp(role, "ffn_up")) units = L->ffn_kept, n = L->ffn_out;
    else if (!strcmp(role, "ffn_down") && !bias) units = L->ffn_kept, n = L->ffn_out, cols = 1, c->replace = L->down;
    if (!units) return GF_OK;
    if ((role[0] == 'a' && L->kv_out == L->kv_in) || (role[0] == 'f' && L->ffn_out == L->ffn_in)) {
        c->replace = NULL;
        return GF_OK;
    }
    if (!(c->keep = expand(units, n, width))) return gf_fail_nomem("the pruned file's plan", (size_t)n * width * 4);
    c->n_keep = n * width;
    c->sel = cols || bias ? SEL_COLS : SEL_ROWS; /* a bias is one row: its elements are cut */
    return GF_OK;
}

static int key_is(const char *key, uint32_t len, const char *prefix, const char *suffix) {
    size_t pl = strlen(prefix), sl = strlen(suffix);
    return len == pl + sl && !memcmp(key, prefix, pl) && !memcmp(key + pl, suffix, sl);
}

static int header_done(gf_prune_writer *w) {
    const gguf_reader *r = w->r;
    const gf_prune_plan *p = w->plan;
    const char *arch;
    uint32_t arch_len;
    int s = gguf_get_str(r, "general.architecture", &arch, &arch_len);
    if (s <= 0) return s < 0 ? s : gf_fail("GGUF: missing metadata 'general.architecture'");
    char prefix[72];
    snprintf(prefix, sizeof prefix, "%.*s.", (int)(arch_len < 64 ? arch_len : 64), arch);
    uint32_t blocks;
    char key[160];
    snprintf(key, sizeof key, "%sblock_count", prefix);
    if ((s = gguf_get_u32(r, key, &blocks)) <= 0) return s < 0 ? s : gf_fail("GGUF: missing metadata '%s'", key);
    if ((int32_t)blocks != p->n_layer) return gf_fail("prune: the file has %u blocks, the plan %d (another file than the one measured?)", blocks, p->n_layer);
    int uniform = 1;
    for (int32_t i = 1; i < p->n_layer; i++)
        uniform &= p->layers[i].ffn_out == p->layers[0].ffn_out && p->layers[i].kv_out == p->layers[0].kv_out;
    const char *out_arch = uniform ? NULL : "deci"; /* NULL: the source's */
    char out_prefix[72];
    if (out_arch) snprintf(out_prefix, sizeof out_prefix, "%s.", out_arch);
    else memcpy(out_prefix, prefix, sizeof prefix);
    if ((s = gf_gguf_writer_new(gguf_alignment(r), &w->w)) < 0) return s;
    static const char *const replaced[] = {"feed_forward_length", "attention.head_count", "attention.head_count_kv", "attention.key_length",
                                           "attention.value_length"};
    for (uint64_t i = 0; i < gguf_n_kv(r) && s >= 0; i++) {
        uint32_t len;
        const char *k = gguf_key(r, gguf_kv_at(r, i), &len);
        int skip = 0;
        for (size_t q = 0; q < sizeof replaced / sizeof *replaced; q++) skip |= key_is(k, len, prefix, replaced[q]);
        if (skip) continue;
        if (key_is(k, len, "general.architecture", "")) {
            s = out_arch ? gf_gguf_writer_add_str(w->w, "general.architecture", out_arch) : gf_gguf_writer_copy_kv(w->w, r, i);
        } else if (out_arch && len > strlen(prefix) && !memcmp(k, prefix, strlen(prefix))) {
            snprintf(key, sizeof key, "%s%.*s", out_prefix, (int)(len - strlen(prefix)), k + strlen(prefix));
            s = gf_gguf_writer_copy_kv_as(w->w, r, i, key);
        } else {
            s = gf_gguf_writer_copy_kv(w->w, r, i);
        }
    }
    if (s < 0) return s;
    uint32_t *vals = malloc((size_t)p->n_layer * 3 * sizeof *vals);
    if (!vals) return gf_fail_nomem("the per-layer sizes", (size_t)p->n_layer * 12);
    for (int32_t i = 0; i < p->n_layer; i++) {
        vals[i] = (uint32_t)p->layers[i].ffn_out;
        vals[p->n_layer + i] = (uint32_t)(p->layers[i].kv_out * p->layers[i].group);
        vals[2 * p->n_layer + i] = (uint32_t)p->layers[i].kv_out;
    }
    const char *arr_keys[] = {"feed_forward_length", "attention.head_count", "attention.head_count_kv"};
    for (int q = 0; q < 3 && s >= 0; q++) {
        snprintf(key, sizeof key, "%s%s", out_prefix, arr_keys[q]);
        s = gf_gguf_writer_add_arr_u32(w->w, key, vals + (size_t)q * p->n_layer, (uint64_t)p->n_layer);
    }
    free(vals);
    for (int q = 3; q < 5 && s >= 0; q++) {
        snprintf(key, sizeof key, "%s%s", out_prefix, replaced[q]);
        s = gf_gguf_writer_add_u32(w->w, key, (uint32_t)p->head_dim);
    }
    if (s < 0) return s;
    /* tensors in file order, cut */
    w->n_tensors = gguf_n_tensors(r);
    w->cuts = calloc(w->n_tensors ? w->n_tensors : 1, sizeof *w->cuts);
    w->order = malloc((w->n_tensors ? w->n_tensors : 1) * sizeof *w->order);
    if (!w->cuts || !w->order) return gf_fail_nomem("the pruned file's tensor table", w->n_tensors * sizeof *w->cuts);
    memcpy(w->order, gguf_tensor_order(r), w->n_tensors * sizeof *w->order);
    size_t largest = 0;
    for (uint64_t oi = 0; oi < w->n_tensors; oi++) {
        uint32_t i = w->order[oi];
        const gguf_tensor_info *t = gguf_tensor_at(r, i);
        cut *c = &w->cuts[i];
        if ((s = plan_cut(p, t->name, c)) < 0) return s;
        uint64_t ne[GGUF_MAX_DIMS];
        memcpy(ne, t->ne, sizeof ne);
        if (c->sel == SEL_ROWS) ne[1] = (uint64_t)c->n_keep;
        if (c->sel == SEL_COLS) {
            const gf_type_traits *tt = gf_type_info(t->type);
            if (!tt || tt->block != 1 || (c->replace && t->type != GF_TYPE_F32 && t->type != GF_TYPE_F16 && t->type != GF_TYPE_BF16))
                return gf_fail("prune: tensor '%s' is %s; its columns are cut, which needs F32, F16 or BF16 weights (prune first, then quantize)",
                               t->name, gf_type_name(t->type));
            ne[0] = (uint64_t)c->n_keep;
        }
        if ((s = gf_gguf_writer_add_tensor(w->w, t->name, t->n_dims, ne, t->type)) < 0) return s;
        if (t->nbytes > largest) largest = (size_t)t->nbytes;
    }
    w->tbuf_cap = largest ? largest : 1;
    if (!(w->tbuf = malloc(w->tbuf_cap)) || !(w->skip = malloc(SKIP_BYTES))) return gf_fail_nomem("the pruned file's tensor buffer", w->tbuf_cap);
    if ((s = gf_gguf_writer_begin_data(w->w)) < 0) return s;
    w->data_offset = gguf_data_offset(r);
    w->input_bytes = w->data_offset + gguf_data_size(r);
    /* the plan as JSON */
    size_t cap = 512 + w->n_tensors * 200;
    if (!(w->json = malloc(cap))) return gf_fail_nomem("the pruned file's plan", cap);
    char arch_out[72];
    snprintf(arch_out, sizeof arch_out, "%.*s", (int)strlen(out_prefix) - 1, out_prefix);
    size_t n = (size_t)snprintf(w->json, cap, "{\"architecture\":\"%s\",\"inputBytes\":%llu,\"outputBytes\":%llu,\"tensors\":[", arch_out,
                                (unsigned long long)w->input_bytes, (unsigned long long)gf_gguf_writer_file_size(w->w));
    for (uint64_t oi = 0; oi < w->n_tensors && n < cap; oi++) {
        const gguf_tensor_info *t = gguf_tensor_at(r, w->order[oi]);
        const cut *c = &w->cuts[w->order[oi]];
        uint64_t ne0 = c->sel == SEL_COLS ? (uint64_t)c->n_keep : t->ne[0], ne1 = c->sel == SEL_ROWS ? (uint64_t)c->n_keep : t->ne[1];
        n += (size_t)snprintf(w->json + n, cap - n, "%s{\"name\":\"%s\",\"shape\":[%llu,%llu],\"type\":\"%s\",\"cut\":\"%s\"%s}", oi ? "," : "", t->name,
                              (unsigned long long)ne0, (unsigned long long)(t->n_dims > 1 ? ne1 : 1), gf_type_name(t->type),
                              c->sel == SEL_ROWS ? "rows" : c->sel == SEL_COLS ? "columns" : "none", c->replace ? ",\"refit\":true" : "");
    }
    if (n < cap) snprintf(w->json + n, cap - n, "]}");
    return GF_OK;
}

/* element i of a row of a block-1 type */
static void put_elem(uint32_t type, uint8_t *dst, const uint8_t *src, int64_t i, int64_t o) {
    size_t es = type == GF_TYPE_F32 ? 4 : 2;
    memcpy(dst + o * es, src + i * es, es);
}

static void put_float(uint32_t type, uint8_t *dst, int64_t o, float v) {
    if (type == GF_TYPE_F32) memcpy(dst + o * 4, &v, 4);
    else if (type == GF_TYPE_F16) {
        gf_half h = gf_float_to_half(v);
        memcpy(dst + o * 2, &h, 2);
    } else {
        gf_bf16 h = gf_float_to_bf16(v);
        memcpy(dst + o * 2, &h, 2);
    }
}

/* writes tensor i (whole in tbuf) cut to the output */
static int emit(gf_prune_writer *w, uint32_t i) {
    const gguf_tensor_info *t = gguf_tensor_at(w->r, i);
    const cut *c = &w->cuts[i];
    const uint64_t rows = t->nbytes / gf_row_bytes(t->type, t->ne[0]);
    const size_t in_row = gf_row_bytes(t->type, t->ne[0]);
    const int64_t out_ne0 = c->sel == SEL_COLS ? c->n_keep : (int64_t)t->ne[0];
    const size_t out_row = gf_row_bytes(t->type, (uint64_t)out_ne0);
    uint64_t out_rows = c->sel == SEL_ROWS ? (uint64_t)c->n_keep : rows;
    for (uint64_t r = 0; r < out_rows; r++) {
        uint8_t *dst = gf_gguf_writer_reserve(w->w, out_row);
        if (!dst) return GF_ERR;
        uint64_t src_row = c->sel == SEL_ROWS ? (uint64_t)c->keep[r] : r;
        const uint8_t *src = w->tbuf + src_row * in_row;
        if (c->sel == SEL_COLS && c->replace)
            for (int64_t k = 0; k < c->n_keep; k++) put_float(t->type, dst, k, c->replace[r * c->n_keep + k]);
        else if (c->sel == SEL_COLS)
            for (int64_t k = 0; k < c->n_keep; k++) put_elem(t->type, dst, src, c->keep[k], k);
        else
            memcpy(dst, src, out_row);
        int s = gf_gguf_writer_commit(w->w, out_row);
        if (s < 0) return s;
    }
    return GF_OK;
}

static uint8_t *data_window(gf_prune_writer *w, size_t *cap) {
    *cap = 0;
    if (w->next >= w->n_tensors) {
        gf_fail("prune: the input is complete; no more bytes are needed");
        return NULL;
    }
    const gguf_tensor_info *t = gguf_tensor_at(w->r, w->order[w->next]);
    uint64_t start = w->data_offset + t->offset;
    if (w->pos < start) {
        uint64_t gap = start - w->pos;
        *cap = gap < SKIP_BYTES ? (size_t)gap : SKIP_BYTES;
        return w->skip;
    }
    uint64_t done = w->pos - start;
    *cap = (size_t)(t->nbytes - done);
    return w->tbuf + done;
}

/* n bytes arrived at the window: advance, emitting finished tensors */
static int advance(gf_prune_writer *w, size_t n) {
    w->pos += n;
    while (w->next < w->n_tensors) {
        uint32_t i = w->order[w->next];
        const gguf_tensor_info *t = gguf_tensor_at(w->r, i);
        if (w->pos < w->data_offset + t->offset + t->nbytes) return GF_TC_MORE;
        int s = emit(w, i);
        if (s < 0) return s;
        w->next++;
        if (w->next < w->n_tensors) return GF_TC_MORE;
    }
    w->stage = ST_COMPLETE;
    return GF_TC_COMPLETE;
}

/* bytes already read (past the header): fed through the windows */
static int route(gf_prune_writer *w, const uint8_t *bytes, size_t n) {
    int s = GF_TC_MORE;
    while (n && w->stage == ST_DATA) {
        size_t cap;
        uint8_t *win = data_window(w, &cap);
        if (!win) return GF_ERR;
        size_t k = n < cap ? n : cap;
        memcpy(win, bytes, k);
        bytes += k;
        n -= k;
        if ((s = advance(w, k)) < 0) return s;
    }
    return s;
}

uint8_t *gf_prune_writer_window(gf_prune_writer *w, size_t *cap) {
    *cap = 0;
    if (w->stage == ST_HEADER) {
        uint8_t *p = gguf_header_window(w->r, cap);
        if (!p) fail(w, GF_ERR);
        return p;
    }
    if (w->stage == ST_DATA) return data_window(w, cap);
    gf_fail(w->stage == ST_COMPLETE ? "prune: the input is complete; no more bytes are needed" : "prune: the writer is in an error state");
    return NULL;
}

int gf_prune_writer_commit(gf_prune_writer *w, size_t n) {
    if (w->stage == ST_HEADER) {
        int s = gguf_header_commit(w->r, n);
        if (s < 0) return fail(w, s);
        if (s == GGUF_NEED_MORE) return GF_TC_MORE;
        if ((s = header_done(w)) < 0) return fail(w, s);
        w->stage = ST_DATA;
        if (w->n_tensors == 0) {
            size_t have;
            gguf_buffer(w->r, &have);
            w->pos = have < w->data_offset ? have : w->data_offset;
            w->stage = ST_COMPLETE;
            return GF_TC_COMPLETE;
        }
        uint8_t *extra;
        size_t n_extra;
        if ((s = gguf_release_header(w->r, "the pruned file's writer", &extra, &n_extra, &w->pos)) < 0) return fail(w, s);
        s = route(w, extra, n_extra);
        free(extra);
        if (s < 0) return fail(w, s);
        return w->stage == ST_COMPLETE ? GF_TC_COMPLETE : GF_TC_HEADER;
    }
    if (w->stage == ST_DATA) {
        int s = advance(w, n);
        return s < 0 ? fail(w, s) : s;
    }
    if (w->stage == ST_COMPLETE) return GF_TC_COMPLETE;
    return gf_fail("prune: the writer is in an error state");
}

int gf_prune_writer_end(gf_prune_writer *w) {
    if (w->stage == ST_COMPLETE) return GF_OK;
    if (w->stage == ST_FAILED) return gf_fail("prune: the writer is in an error state");
    if (w->stage == ST_HEADER) return fail(w, gf_fail("GGUF: the file ends inside its header (truncated, or not a model file)"));
    return fail(w, gf_fail("GGUF: the file ends after %llu of %llu bytes (truncated)", (unsigned long long)w->pos, (unsigned long long)w->input_bytes));
}

const uint8_t *gf_prune_writer_output(const gf_prune_writer *w, size_t *n) {
    *n = 0;
    return w->w ? gf_gguf_writer_pending(w->w, n) : NULL;
}

void gf_prune_writer_drain(gf_prune_writer *w, size_t n) {
    if (w->w) gf_gguf_writer_drain(w->w, n);
}

const char *gf_prune_writer_json(const gf_prune_writer *w) { return w->json ? w->json : "null"; }
