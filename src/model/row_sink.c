#include "model/row_sink.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/quant.h"
#include "quant/registry.h"

int gf_row_sink_start(gf_row_sink *s, uint32_t in_type, int64_t n, size_t batch_bytes, int want_f32, gf_row_emit emit, void *ud) {
    size_t in_row = gf_row_bytes(in_type, (uint64_t)n);
    if (!in_row) return gf_fail("convert: rows of %lld %s elements are not whole blocks", (long long)n, gf_type_name(in_type));
    size_t cap = batch_bytes / in_row * in_row;
    if (cap < in_row) cap = in_row;
    if (cap > s->cap) {
        uint8_t *p = realloc(s->stage, cap);
        if (!p) return gf_fail_nomem("a conversion buffer", cap);
        s->stage = p;
        s->cap = cap;
    }
    if (want_f32 && (size_t)n > s->row_cap) {
        float *r = realloc(s->row, (size_t)n * sizeof *r);
        if (!r) return gf_fail_nomem("a conversion row", (size_t)n * sizeof *r);
        s->row = r;
        s->row_cap = (size_t)n;
    }
    s->in_type = in_type;
    s->n = n;
    s->in_row = in_row;
    s->want_f32 = want_f32;
    s->emit = emit;
    s->ud = ud;
    s->batch = cap;
    s->fill = 0;
    s->next_row = 0;
    return GF_OK;
}

uint8_t *gf_row_sink_window(gf_row_sink *s, uint64_t left, size_t *cap) {
    size_t room = s->batch - s->fill;
    *cap = left < room ? (size_t)left : room;
    return s->stage + s->fill;
}

int gf_row_sink_commit(gf_row_sink *s, size_t n) {
    s->fill += n;
    size_t rows = s->fill / s->in_row;
    for (size_t k = 0; k < rows; k++) {
        const uint8_t *raw = s->stage + k * s->in_row;
        const float *row = NULL;
        if (s->want_f32) {
            if (s->in_type == GF_TYPE_F32 && ((uintptr_t)raw & 3) == 0) {
                row = (const float *)raw;
            } else {
                gf_dequantize_row(s->in_type, raw, s->row, s->n);
                row = s->row;
            }
        }
        int st = s->emit(s->ud, s->next_row++, row, raw);
        if (st < 0) return st;
    }
    s->fill -= rows * s->in_row;
    if (rows && s->fill) memmove(s->stage, s->stage + rows * s->in_row, s->fill);
    return GF_OK;
}

void gf_row_sink_free(gf_row_sink *s) {
    free(s->stage);
    free(s->row);
    memset(s, 0, sizeof *s);
}
