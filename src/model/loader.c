#include "model/loader.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/integrity.h"
#include "quant/quant.h"
#include "quant/quantize.h"
#include "model/row_sink.h"

#define SKIP_BYTES (64u << 10)
#define CONVERT_BYTES (256u << 10) /* rows staged per batch when quantizing while loading */

enum stage { ST_HEADER, ST_DATA, ST_COMPLETE, ST_FAILED };

struct gf_loader {
    enum stage stage;
    gf_model_options opt;
    uint64_t total_size;
    gguf_reader *r;
    gf_model *model;
    gf_model_plan plan;
    uint64_t pos;  /* file bytes consumed */
    uint64_t next; /* index into the tensor order of the tensor being filled */
    uint8_t *skip; /* sink for bytes nothing needs (padding, unused tensors) */
    /* tensors stored in another type than the file's arrive in a staging
     * buffer of whole rows and are converted into the arena row by row */
    gf_row_sink convert;
    uint64_t converting; /* 1 + tensor index the sink is set up for */
    uint8_t *convert_dest;
    uint32_t convert_type;
    const uint8_t *win; /* the last window handed out: where committed bytes are */
    gf_scan scan;       /* NaN/Inf checks of the tensor being filled (integrity.h) */
    uint64_t scanning;  /* 1 + tensor index the scan is set up for */
};

int gf_loader_new(const gf_model_options *opt, uint64_t total_size, gf_loader **out) {
    *out = NULL;
    gf_loader *l = calloc(1, sizeof *l);
    if (!l) return gf_fail_nomem("the loader", sizeof *l);
    l->opt = *opt;
    l->total_size = total_size;
    l->r = gguf_reader_new();
    if (!l->r) {
        free(l);
        return GF_ERR_NOMEM;
    }
    *out = l;
    return GF_OK;
}

void gf_loader_free(gf_loader *l) {
    if (!l) return;
    gguf_reader_free(l->r);
    gf_model_free(l->model);
    free(l->plan.dest);
    free(l->plan.type);
    free(l->skip);
    gf_row_sink_free(&l->convert);
    free(l);
}

int gf_loader_set_quantize(gf_loader *l, int ftype) {
    if (l->stage != ST_HEADER) return gf_fail("load: quantization must be chosen before the header is read");
    l->opt.quantize = ftype;
    return GF_OK;
}

static int fail(gf_loader *l, int status) {
    l->stage = ST_FAILED;
    return status;
}

static const gguf_tensor_info *current(const gf_loader *l, uint64_t *start) {
    const gguf_tensor_info *t = gguf_tensor_at(l->r, gguf_tensor_order(l->r)[l->next]);
    *start = gguf_data_offset(l->r) + t->offset;
    return t;
}

static void advance_finished_tensors(gf_loader *l) {
    uint64_t n = gguf_n_tensors(l->r), start;
    while (l->next < n) {
        const gguf_tensor_info *t = current(l, &start);
        if (l->pos < start + t->nbytes) break;
        l->next++;
    }
    if (l->next == n) l->stage = ST_COMPLETE;
}

/* A row of a tensor stored converted: an F32/F16 matrix quantized while loading. */
static int convert_row(void *ud, int64_t index, const float *row, const uint8_t *raw) {
    gf_loader *l = ud;
    (void)raw;
    size_t rb = gf_row_bytes(l->convert_type, (uint64_t)l->convert.n);
    return gf_quantize_row_ref(l->convert_type, row, l->convert_dest + (size_t)index * rb, l->convert.n);
}

/* The tensor at order index `next` is stored converted: its bytes go through the row sink. */
static int converted(gf_loader *l, const gguf_tensor_info *t, uint32_t idx) {
    if (!l->plan.type || l->plan.type[idx] == t->type || !l->plan.dest[idx]) return 0;
    if (l->converting != l->next + 1) {
        l->convert_dest = l->plan.dest[idx];
        l->convert_type = l->plan.type[idx];
        if (gf_row_sink_start(&l->convert, t->type, (int64_t)t->ne[0], CONVERT_BYTES, 1, convert_row, l) < 0) return GF_ERR;
        l->converting = l->next + 1;
    }
    return 1;
}

static uint8_t *data_window_at(gf_loader *l, size_t *cap);

static uint8_t *data_window(gf_loader *l, size_t *cap) {
    uint8_t *w = data_window_at(l, cap);
    l->win = w;
    return w;
}

static uint8_t *data_window_at(gf_loader *l, size_t *cap) {
    uint64_t start;
    const gguf_tensor_info *t = current(l, &start);
    uint64_t left;
    if (l->pos < start) {
        left = start - l->pos; /* padding before this tensor */
    } else {
        uint32_t idx = gguf_tensor_order(l->r)[l->next];
        uint8_t *dest = l->plan.dest[idx];
        left = start + t->nbytes - l->pos;
        int conv = converted(l, t, idx);
        if (conv < 0) {
            fail(l, GF_ERR);
            return NULL;
        }
        if (conv) return gf_row_sink_window(&l->convert, left, cap);
        if (dest) {
            *cap = left > SIZE_MAX ? SIZE_MAX : (size_t)left;
            return dest + (l->pos - start);
        }
    }
    if (!l->skip && !(l->skip = malloc(SKIP_BYTES))) {
        gf_fail_nomem("the loader", SKIP_BYTES);
        fail(l, GF_ERR_NOMEM);
        return NULL;
    }
    *cap = left < SKIP_BYTES ? (size_t)left : SKIP_BYTES;
    return l->skip;
}

uint8_t *gf_loader_window(gf_loader *l, size_t *cap) {
    *cap = 0;
    switch (l->stage) {
    case ST_HEADER: {
        uint8_t *w = gguf_header_window(l->r, cap);
        if (!w) fail(l, GF_ERR);
        return w;
    }
    case ST_DATA: return data_window(l, cap);
    case ST_COMPLETE: gf_fail("load: the model is complete; no more bytes are needed"); return NULL;
    default: gf_fail("load: the loader is in an error state"); return NULL;
    }
}

static int commit_data(gf_loader *l, size_t n) {
    uint64_t start;
    const gguf_tensor_info *t = current(l, &start);
    if (l->pos >= start && l->plan.dest[gguf_tensor_order(l->r)[l->next]]) {
        /* every tensor the model uses is checked in its file type, before any conversion */
        if (l->scanning != l->next + 1) {
            gf_scan_start(&l->scan, t->name, t->type);
            l->scanning = l->next + 1;
        }
        int s = gf_scan_feed(&l->scan, l->win, n);
        if (s < 0) return fail(l, s);
    }
    if (l->converting == l->next + 1 && l->pos >= start) {
        int s = gf_row_sink_commit(&l->convert, n);
        if (s < 0) return fail(l, s);
    }
    l->pos += n;
    advance_finished_tensors(l);
    return l->stage == ST_COMPLETE ? GF_LOAD_COMPLETE : GF_LOAD_MORE;
}

/* Places bytes that arrived together with the header. */
static int route(gf_loader *l, const uint8_t *src, size_t n) {
    while (n && l->stage == ST_DATA) {
        size_t cap;
        uint8_t *w = data_window(l, &cap);
        if (!w) return GF_ERR_NOMEM;
        size_t k = n < cap ? n : cap;
        memcpy(w, src, k);
        src += k;
        n -= k;
        int s = commit_data(l, k);
        if (s < 0) return s;
    }
    return GF_OK;
}

static int header_done(gf_loader *l) {
    gguf_reader *r = l->r;
    uint64_t need = gguf_n_tensors(r) ? gguf_data_offset(r) + gguf_data_size(r) : 0;
    if (l->total_size && l->opt.mode == GF_LOAD_WEIGHTS && need > l->total_size)
        return gf_fail("GGUF: the file is %llu bytes but its tensors end at byte %llu (truncated download?)",
                       (unsigned long long)l->total_size, (unsigned long long)need);
    int s = gf_model_plan_from_gguf(r, &l->opt, &l->model, &l->plan);
    if (s < 0) return s;
    if (l->opt.mode != GF_LOAD_WEIGHTS || gguf_n_tensors(r) == 0) {
        size_t have;
        gguf_buffer(r, &have);
        l->stage = ST_COMPLETE;
        l->pos = have;
        gguf_release_metadata(r);
        return GF_LOAD_COMPLETE;
    }
    l->stage = ST_DATA;
    uint8_t *extra;
    size_t n_extra;
    if ((s = gguf_release_header(r, "the loader", &extra, &n_extra, &l->pos)) < 0) return s;
    advance_finished_tensors(l);
    s = route(l, extra, n_extra);
    free(extra);
    if (s < 0) return s;
    return l->stage == ST_COMPLETE ? GF_LOAD_COMPLETE : GF_LOAD_HEADER;
}

int gf_loader_commit(gf_loader *l, size_t n) {
    switch (l->stage) {
    case ST_HEADER: {
        int s = gguf_header_commit(l->r, n);
        if (s < 0) return fail(l, s);
        if (s == GGUF_NEED_MORE) return GF_LOAD_MORE;
        s = header_done(l);
        return s < 0 ? fail(l, s) : s;
    }
    case ST_DATA: return commit_data(l, n);
    case ST_COMPLETE: return GF_LOAD_COMPLETE;
    default: return gf_fail("load: the loader is in an error state");
    }
}

int gf_loader_end(gf_loader *l) {
    if (l->stage == ST_COMPLETE) return GF_OK;
    if (l->stage == ST_FAILED) return gf_fail("load: the loader is in an error state");
    if (l->stage == ST_HEADER) {
        size_t have;
        gguf_buffer(l->r, &have);
        if (have == 0) return fail(l, gf_fail("GGUF: the file is empty"));
        return fail(l, gf_fail("GGUF: file ends inside the header, after %zu bytes (truncated, or not a model file)", have));
    }
    uint64_t start;
    const gguf_tensor_info *t = current(l, &start);
    return fail(l, gf_fail("GGUF: file ends after %llu bytes, inside tensor '%s' (the model needs %llu bytes; truncated download?)",
                           (unsigned long long)l->pos, t->name, (unsigned long long)gf_loader_expected_bytes(l)));
}

uint64_t gf_loader_expected_bytes(const gf_loader *l) {
    if (l->stage == ST_HEADER || !l->model) return 0;
    if (l->opt.mode != GF_LOAD_WEIGHTS) return l->pos;
    return gguf_data_offset(l->r) + gguf_data_size(l->r);
}

uint64_t gf_loader_bytes_done(const gf_loader *l) {
    if (l->stage != ST_HEADER) return l->pos;
    size_t have;
    gguf_buffer(l->r, &have);
    return have;
}

const gf_model_options *gf_loader_options(const gf_loader *l) { return &l->opt; }

gf_model *gf_loader_take_model(gf_loader *l) {
    if (l->stage != ST_COMPLETE) {
        gf_fail("load: the model is not complete");
        return NULL;
    }
    gf_model *m = l->model;
    l->model = NULL;
    return m;
}
