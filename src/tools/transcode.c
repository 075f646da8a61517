#include "tools/transcode.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "quant/integrity.h"
#include "quant/quant.h"
#include "tools/quantize_gptq.h"
#include "model/quantize_rules.h"
#include "model/row_sink.h"
#include "quant/registry.h"

#define STAGE_BYTES (1u << 20) /* input rows converted per batch (at least one row) */
#define SKIP_BYTES (64u << 10)

enum stage { ST_HEADER, ST_DATA, ST_COMPLETE, ST_FAILED };

typedef struct {
    char name[GGUF_TENSOR_NAME_MAX];
    uint32_t type; /* GF_TYPE_RULE: importance only */
    float *imp;
    int64_t n_imp;
    float *u; /* GPTQ factor, n_u x u_block */
    int64_t n_u;
    int u_block;
    int used;
} override;

typedef struct {
    uint32_t in_type, out_type;
    int64_t n;             /* row length */
    size_t in_row, out_row;
    const float *imp;
    const float *u;        /* GPTQ factor or NULL */
    int u_block;
    int convert;           /* 0: bytes copied as they are */
} plan_entry;

struct gf_transcoder {
    gf_transcode_options opt;
    enum stage stage;
    gguf_reader *r;
    gf_gguf_writer *w;
    override *ov;
    size_t n_ov, cap_ov;
    plan_entry *plan; /* by tensor index */
    char *plan_json;
    uint64_t pos, next, data_offset, input_bytes;
    int started; /* the sink holds the current tensor (and the scan checks it) */
    const uint8_t *win; /* the last data window: where committed bytes are */
    gf_scan scan;       /* NaN/Inf checks of the input tensor (integrity.h) */
    gf_row_sink sink;
    float *gptq_row;       /* scratch for GPTQ rows */
    uint8_t *skip;
};

int gf_transcoder_new(const gf_transcode_options *opt, gf_transcoder **out) {
    *out = NULL;
    if (opt->method != GF_QUANT_REF && opt->method != GF_QUANT_SEARCH) return gf_fail("quantize: unknown method %d", opt->method);
    if (gf_ftype_base_type(opt->ftype) == GF_TYPE_F32) return gf_fail("quantize: unknown file type %d", opt->ftype);
    if (!gf_quantize_has_method(gf_ftype_base_type(opt->ftype), opt->method))
        return gf_fail("quantize: type %s has no '%s' method (use 'ref')", gf_ftype_name(opt->ftype), gf_quant_method_name(opt->method));
    gf_transcoder *t = calloc(1, sizeof *t);
    if (!t) return gf_fail_nomem("the quantizer", sizeof *t);
    t->opt = *opt;
    if (!(t->r = gguf_reader_new())) {
        free(t);
        return GF_ERR_NOMEM;
    }
    *out = t;
    return GF_OK;
}

void gf_transcoder_free(gf_transcoder *t) {
    if (!t) return;
    gguf_reader_free(t->r);
    gf_gguf_writer_free(t->w);
    for (size_t i = 0; i < t->n_ov; i++) {
        free(t->ov[i].imp);
        free(t->ov[i].u);
    }
    free(t->gptq_row);
    free(t->ov);
    free(t->plan);
    free(t->plan_json);
    gf_row_sink_free(&t->sink);
    free(t->skip);
    free(t);
}

static int fail(gf_transcoder *t, int status) {
    t->stage = ST_FAILED;
    return status;
}

static override *find_override(gf_transcoder *t, const char *name, int create) {
    for (size_t i = 0; i < t->n_ov; i++)
        if (!strcmp(t->ov[i].name, name)) return &t->ov[i];
    if (!create) return NULL;
    if (strlen(name) >= GGUF_TENSOR_NAME_MAX) {
        gf_fail("quantize: tensor name '%.40s...' is too long", name);
        return NULL;
    }
    if (t->n_ov == t->cap_ov) {
        size_t cap = t->cap_ov ? 2 * t->cap_ov : 32;
        override *ov = realloc(t->ov, cap * sizeof *ov);
        if (!ov) {
            gf_fail_nomem("the quantizer's tensor table", cap * sizeof *ov);
            return NULL;
        }
        t->ov = ov;
        t->cap_ov = cap;
    }
    override *o = &t->ov[t->n_ov++];
    memset(o, 0, sizeof *o);
    strcpy(o->name, name);
    o->type = GF_TYPE_RULE;
    return o;
}

int gf_transcoder_set_type(gf_transcoder *t, const char *name, uint32_t type) {
    if (t->stage != ST_HEADER) return gf_fail("quantize: tensor types must be set before the model streams in");
    if (!gf_quantize_supported(type) && type != GF_TYPE_F16 && type != GF_TYPE_F32)
        return gf_fail("quantize: cannot write tensor '%s' as %s (supported: %s, F16, F32)", name, gf_type_name(type), gf_writable_types_list());
    if (gf_quantize_supported(type) && !gf_quantize_has_method(type, t->opt.method))
        return gf_fail("quantize: cannot write tensor '%s' as %s with method '%s' (use 'ref')", name, gf_type_name(type), gf_quant_method_name(t->opt.method));
    override *o = find_override(t, name, 1);
    if (!o) return GF_ERR;
    o->type = type;
    return GF_OK;
}

int gf_transcoder_set_importance(gf_transcoder *t, const char *name, const float *w, int64_t n) {
    if (t->stage != ST_HEADER) return gf_fail("quantize: importance must be set before the model streams in");
    if (n <= 0 || n > (1 << 24)) return gf_fail("quantize: importance for '%s' has %lld values", name, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!(w[i] >= 0 && isfinite(w[i]))) return gf_fail("quantize: importance for '%s' has an invalid value %g at %lld", name, w[i], (long long)i);
    override *o = find_override(t, name, 1);
    if (!o) return GF_ERR;
    float *copy = malloc((size_t)n * sizeof *copy);
    if (!copy) return gf_fail_nomem("importance weights", (size_t)n * sizeof *copy);
    memcpy(copy, w, (size_t)n * sizeof *copy);
    free(o->imp);
    o->imp = copy;
    o->n_imp = n;
    return GF_OK;
}

int gf_transcoder_set_gptq(gf_transcoder *t, const char *name, const float *u, int64_t n, int block) {
    if (t->stage != ST_HEADER) return gf_fail("quantize: GPTQ factors must be set before the model streams in");
    if (n <= 0 || n > (1 << 24) || block <= 0 || block > 4096) return gf_fail("quantize: bad GPTQ factor for '%s'", name);
    override *o = find_override(t, name, 1);
    if (!o) return GF_ERR;
    size_t bytes = (size_t)n * (size_t)block * sizeof(float);
    float *copy = malloc(bytes);
    if (!copy) return gf_fail_nomem("GPTQ factors", bytes);
    memcpy(copy, u, bytes);
    free(o->u);
    o->u = copy;
    o->n_u = n;
    o->u_block = block;
    return GF_OK;
}

/* ---- the plan, built when the header is complete ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* Tensor names are arbitrary bytes: keep them valid inside a JSON string. */
static void sb_name(sbuf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_printf(b, "%c", c);
    }
}

static int is_float_type(uint32_t type) { return type == GF_TYPE_F32 || type == GF_TYPE_F16; }

static int plan_tensors(gf_transcoder *t, gf_quant_rules *rules, int *requantized, uint32_t *requant_from) {
    gguf_reader *r = t->r;
    uint64_t nt = gguf_n_tensors(r);
    t->plan = calloc(nt, sizeof *t->plan);
    if (!t->plan) return gf_fail_nomem("the quantization plan", nt * sizeof *t->plan);
    size_t widest = 0;
    /* output offsets follow the input's data order, so data streams straight through */
    for (uint64_t k = 0; k < nt; k++) {
        uint64_t i = gguf_tensor_order(r)[k];
        const gguf_tensor_info *ti = gguf_tensor_at(r, i);
        plan_entry *p = &t->plan[i];
        override *o = find_override(t, ti->name, 0);
        if (o) o->used = 1;
        p->in_type = ti->type;
        p->out_type = gf_quant_rules_type(rules, ti, o ? o->type : GF_TYPE_RULE);
        p->n = (int64_t)ti->ne[0];
        p->in_row = gf_row_bytes(p->in_type, ti->ne[0]);
        p->out_row = gf_row_bytes(p->out_type, ti->ne[0]);
        p->convert = p->out_type != p->in_type;
        if (!p->in_row || !p->out_row || ti->nbytes % p->in_row)
            return gf_fail("quantize: tensor '%s' has rows of %lld %s elements, which cannot be converted", ti->name, (long long)p->n,
                           gf_type_name(p->in_type));
        if (p->convert && !gf_type_computable(p->in_type))
            return gf_fail("quantize: tensor '%s' has type %s, which greenformer cannot read (the input must be F32 or F16, or "
                           "a type it computes with, to re-quantize)",
                           ti->name, gf_type_name(p->in_type));
        if (p->convert && !is_float_type(p->in_type)) {
            (*requantized)++;
            *requant_from = p->in_type;
        }
        if (o && o->imp) {
            if (o->n_imp != p->n)
                return gf_fail("quantize: importance for '%s' has %lld values but its rows have %lld", ti->name, (long long)o->n_imp,
                               (long long)p->n);
            p->imp = o->imp;
        }
        if (o && o->u) {
            if (o->n_u != p->n) return gf_fail("quantize: GPTQ factor for '%s' has %lld rows but the tensor's rows have %lld", ti->name, (long long)o->n_u, (long long)p->n);
            p->u = o->u;
            p->u_block = o->u_block;
            if (!t->gptq_row || (size_t)p->n > widest) {
                float *grown = realloc(t->gptq_row, (size_t)p->n * sizeof *grown);
                if (!grown) return gf_fail_nomem("a GPTQ row", (size_t)p->n * sizeof *grown);
                t->gptq_row = grown;
                widest = (size_t)p->n;
            }
        }
        int s2 = gf_gguf_writer_add_tensor(t->w, ti->name, ti->n_dims, ti->ne, p->out_type);
        if (s2 < 0) return s2;
    }
    for (size_t k = 0; k < t->n_ov; k++)
        if (!t->ov[k].used) return gf_fail("quantize: the file has no tensor '%s' (named by a type or importance setting)", t->ov[k].name);
    return GF_OK;
}

static int build_plan_json(gf_transcoder *t, int requantized, uint32_t requant_from) {
    gguf_reader *r = t->r;
    sbuf b = {0};
    uint64_t elements = 0, bytes = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(r); i++) {
        const gguf_tensor_info *ti = gguf_tensor_at(r, i);
        uint64_t ne = 1;
        for (uint32_t d = 0; d < ti->n_dims; d++) ne *= ti->ne[d];
        elements += ne;
        bytes += ne / (uint64_t)t->plan[i].n * t->plan[i].out_row;
    }
    sb_printf(&b, "{\"fileType\":\"%s\",\"method\":\"%s\",\"inputBytes\":%llu,\"outputBytes\":%llu,\"elements\":%llu,\"bitsPerWeight\":%.4f,\"tensors\":[",
              gf_ftype_name(t->opt.ftype), gf_quant_method_name(t->opt.method), (unsigned long long)t->input_bytes,
              (unsigned long long)gf_gguf_writer_file_size(t->w), (unsigned long long)elements,
              elements ? (double)bytes * 8 / (double)elements : 0.0);
    for (uint64_t k = 0; k < gguf_n_tensors(r); k++) {
        uint64_t i = gguf_tensor_order(r)[k];
        const gguf_tensor_info *ti = gguf_tensor_at(r, i);
        const plan_entry *p = &t->plan[i];
        sb_printf(&b, "%s{\"name\":\"", k ? "," : "");
        sb_name(&b, ti->name);
        sb_printf(&b, "\",\"shape\":[");
        for (uint32_t d = 0; d < ti->n_dims; d++) sb_printf(&b, "%s%llu", d ? "," : "", (unsigned long long)ti->ne[d]);
        sb_printf(&b, "],\"from\":\"%s\",\"to\":\"%s\",\"bytes\":%llu,\"importance\":%s}", gf_type_name(p->in_type), gf_type_name(p->out_type),
                  (unsigned long long)(ti->nbytes / p->in_row * p->out_row), p->imp ? "true" : "false");
    }
    sb_printf(&b, "],\"warnings\":[");
    if (requantized)
        sb_printf(&b, "\"%d tensors were already quantized (%s) and were dequantized before quantizing again: quality is lost twice; "
                      "quantize from the F16/F32 original when you have it\"",
                  requantized, gf_type_name(requant_from));
    sb_printf(&b, "]}");
    if (b.failed) {
        free(b.p);
        return gf_fail_nomem("the quantization plan", b.cap);
    }
    t->plan_json = b.p;
    return GF_OK;
}

static int header_done(gf_transcoder *t) {
    gguf_reader *r = t->r;
    uint64_t nt = gguf_n_tensors(r);
    if (!nt) return gf_fail("quantize: the file has no tensors (a vocabulary-only file?)");
    int s;
    if ((s = gf_gguf_writer_new(gguf_alignment(r), &t->w)) < 0) return s;
    /* metadata as it is, file type and quantization version last (llama-quantize's order) */
    for (uint64_t i = 0; i < gguf_n_kv(r); i++) {
        uint32_t len;
        const char *key = gguf_key(r, gguf_kv_at(r, i), &len);
        if ((len == 17 && !memcmp(key, "general.file_type", 17)) || (len == 28 && !memcmp(key, "general.quantization_version", 28))) continue;
        if ((s = gf_gguf_writer_copy_kv(t->w, r, i)) < 0) return s;
    }
    if ((s = gf_gguf_writer_add_u32(t->w, "general.quantization_version", 2)) < 0) return s;
    if ((s = gf_gguf_writer_add_u32(t->w, "general.file_type", (uint32_t)t->opt.ftype)) < 0) return s;

    gf_quant_rules rules;
    gf_quant_rules_init(&rules, r, t->opt.ftype);
    rules.output_type = t->opt.output_type;
    rules.embd_type = t->opt.embd_type;
    int requantized = 0;
    uint32_t requant_from = 0;
    if ((s = plan_tensors(t, &rules, &requantized, &requant_from)) < 0) return s;
    if ((s = gf_gguf_writer_begin_data(t->w)) < 0) return s;
    t->data_offset = gguf_data_offset(r);
    t->input_bytes = t->data_offset + gguf_data_size(r);
    return build_plan_json(t, requantized, requant_from);
}

/* ---- data ---- */

static const gguf_tensor_info *current(const gf_transcoder *t, uint64_t *start) {
    const gguf_tensor_info *ti = gguf_tensor_at(t->r, gguf_tensor_order(t->r)[t->next]);
    *start = t->data_offset + ti->offset;
    return ti;
}

static int start_tensor(gf_transcoder *t);

static uint8_t *data_window(gf_transcoder *t, size_t *cap) {
    uint64_t start;
    const gguf_tensor_info *ti = current(t, &start);
    if (t->pos >= start) {
        if (!t->started && start_tensor(t) < 0) {
            fail(t, GF_ERR);
            return NULL;
        }
        uint8_t *w = gf_row_sink_window(&t->sink, start + ti->nbytes - t->pos, cap);
        t->win = w;
        return w;
    }
    if (!t->skip && !(t->skip = malloc(SKIP_BYTES))) {
        gf_fail_nomem("the quantizer", SKIP_BYTES);
        fail(t, GF_ERR_NOMEM);
        return NULL;
    }
    uint64_t pad = start - t->pos;
    *cap = pad < SKIP_BYTES ? (size_t)pad : SKIP_BYTES;
    return t->skip;
}

static int emit_row(void *ud, int64_t index, const float *row, const uint8_t *raw) {
    gf_transcoder *t = ud;
    uint32_t idx = gguf_tensor_order(t->r)[t->next];
    const plan_entry *p = &t->plan[idx];
    uint8_t *out = gf_gguf_writer_reserve(t->w, p->out_row);
    if (!out) return GF_ERR;
    int s = GF_OK;
    if (!p->convert) {
        memcpy(out, raw, p->in_row);
    } else {
        for (int64_t i = 0; i < p->n; i++)
            if (!isfinite(row[i]))
                return gf_fail("quantize: tensor '%s' has a non-finite value (%g) in row %lld", gguf_tensor_at(t->r, idx)->name, row[i],
                               (long long)index);
        if (p->out_type == GF_TYPE_F32) memcpy(out, row, p->out_row);
        else if (p->out_type == GF_TYPE_F16)
            for (int64_t i = 0; i < p->n; i++) ((gf_half *)out)[i] = gf_float_to_half(row[i]);
        else if (p->u && t->opt.method == GF_QUANT_SEARCH && gf_gptq_supported(p->out_type))
            s = gf_quantize_row_gptq(p->out_type, row, p->imp, p->u, p->u_block, out, p->n, t->gptq_row);
        else s = gf_quantize_row(p->out_type, t->opt.method, row, p->imp, out, p->n);
    }
    return s < 0 ? s : gf_gguf_writer_commit(t->w, p->out_row);
}

static int start_tensor(gf_transcoder *t) {
    const plan_entry *p = &t->plan[gguf_tensor_order(t->r)[t->next]];
    const gguf_tensor_info *ti = gguf_tensor_at(t->r, gguf_tensor_order(t->r)[t->next]);
    gf_scan_start(&t->scan, ti->name, ti->type);
    int s = gf_row_sink_start(&t->sink, p->in_type, p->n, STAGE_BYTES, p->convert, emit_row, t);
    t->started = s == GF_OK;
    return s;
}

static int commit_data(gf_transcoder *t, size_t n) {
    uint64_t start;
    const gguf_tensor_info *ti = current(t, &start);
    if (t->pos < start) {
        t->pos += n;
        return GF_TC_MORE;
    }
    t->pos += n;
    int s = gf_scan_feed(&t->scan, t->win, n);
    if (s < 0) return s;
    s = gf_row_sink_commit(&t->sink, n);
    if (s < 0) return s;
    if (t->pos == start + ti->nbytes) {
        t->started = 0;
        if (++t->next == gguf_n_tensors(t->r)) {
            t->stage = ST_COMPLETE;
            return GF_TC_COMPLETE;
        }
    }
    return GF_TC_MORE;
}

/* Data bytes that arrived together with the header. */
static int route(gf_transcoder *t, const uint8_t *src, size_t n) {
    while (n && t->stage == ST_DATA) {
        size_t cap;
        uint8_t *w = data_window(t, &cap);
        if (!w) return GF_ERR;
        size_t k = n < cap ? n : cap;
        memcpy(w, src, k);
        src += k;
        n -= k;
        int s = commit_data(t, k);
        if (s < 0) return s;
    }
    return GF_OK;
}

uint8_t *gf_transcoder_window(gf_transcoder *t, size_t *cap) {
    *cap = 0;
    switch (t->stage) {
    case ST_HEADER: {
        uint8_t *w = gguf_header_window(t->r, cap);
        if (!w) fail(t, GF_ERR);
        return w;
    }
    case ST_DATA: return data_window(t, cap);
    case ST_COMPLETE: gf_fail("quantize: the input is complete; no more bytes are needed"); return NULL;
    default: gf_fail("quantize: the quantizer is in an error state"); return NULL;
    }
}

int gf_transcoder_commit(gf_transcoder *t, size_t n) {
    switch (t->stage) {
    case ST_HEADER: {
        int s = gguf_header_commit(t->r, n);
        if (s < 0) return fail(t, s);
        if (s == GGUF_NEED_MORE) return GF_TC_MORE;
        if ((s = header_done(t)) < 0) return fail(t, s);
        t->stage = ST_DATA;
        uint8_t *extra;
        size_t n_extra;
        if ((s = gguf_release_header(t->r, "the quantizer", &extra, &n_extra, &t->pos)) < 0) return fail(t, s);
        s = route(t, extra, n_extra);
        free(extra);
        if (s < 0) return fail(t, s);
        return t->stage == ST_COMPLETE ? GF_TC_COMPLETE : GF_TC_HEADER;
    }
    case ST_DATA: {
        int s = commit_data(t, n);
        return s < 0 ? fail(t, s) : s;
    }
    case ST_COMPLETE: return GF_TC_COMPLETE;
    default: return gf_fail("quantize: the quantizer is in an error state");
    }
}

int gf_transcoder_end(gf_transcoder *t) {
    if (t->stage == ST_COMPLETE) return GF_OK;
    if (t->stage == ST_FAILED) return gf_fail("quantize: the quantizer is in an error state");
    if (t->stage == ST_HEADER) {
        size_t have;
        gguf_buffer(t->r, &have);
        return fail(t, have ? gf_fail("GGUF: file ends inside the header, after %zu bytes (truncated, or not a model file)", have)
                            : gf_fail("GGUF: the file is empty"));
    }
    uint64_t start;
    const gguf_tensor_info *ti = current(t, &start);
    return fail(t, gf_fail("GGUF: file ends after %llu bytes, inside tensor '%s' (the model needs %llu bytes; truncated?)",
                           (unsigned long long)t->pos, ti->name, (unsigned long long)t->input_bytes));
}

const uint8_t *gf_transcoder_output(const gf_transcoder *t, size_t *n) {
    *n = 0;
    return t->w ? gf_gguf_writer_pending(t->w, n) : NULL;
}

void gf_transcoder_drain(gf_transcoder *t, size_t n) {
    if (t->w) gf_gguf_writer_drain(t->w, n);
}

uint64_t gf_transcoder_input_bytes(const gf_transcoder *t) { return t->input_bytes; }
uint64_t gf_transcoder_input_done(const gf_transcoder *t) {
    if (t->stage != ST_HEADER) return t->pos;
    size_t have;
    gguf_buffer(t->r, &have);
    return have;
}
uint64_t gf_transcoder_output_bytes(const gf_transcoder *t) { return t->w ? gf_gguf_writer_file_size(t->w) : 0; }
uint64_t gf_transcoder_tensors_done(const gf_transcoder *t) { return t->next; }
const char *gf_transcoder_plan_json(const gf_transcoder *t) { return t->plan_json ? t->plan_json : "null"; }
