/* A tensor's bytes, arriving in any chunking, gathered into whole rows:
 * the caller writes into windows of a staging buffer and commits, and each
 * complete row is handed to emit(), dequantized to f32 when asked. Used to
 * convert tensors while they stream (the loader's quantize-while-loading,
 * the file transcoder) with one batch of rows in memory. */
#ifndef GF_ROW_SINK_H
#define GF_ROW_SINK_H

#include <stddef.h>
#include <stdint.h>

/* row: the row as f32 (NULL unless want_f32); raw: its bytes in the input type. */
typedef int (*gf_row_emit)(void *ud, int64_t index, const float *row, const uint8_t *raw);

typedef struct {
    uint32_t in_type;
    int64_t n;          /* elements per row */
    size_t in_row;      /* bytes per input row */
    int want_f32;
    gf_row_emit emit;
    void *ud;
    uint8_t *stage;
    size_t cap, batch, fill; /* allocated, used for this tensor, filled */
    float *row;
    size_t row_cap;
    int64_t next_row;
} gf_row_sink;

/* Starts a tensor (buffers are kept across tensors and grown when needed).
 * batch_bytes: staging size, rounded to whole rows (at least one). */
int gf_row_sink_start(gf_row_sink *s, uint32_t in_type, int64_t n, size_t batch_bytes, int want_f32, gf_row_emit emit, void *ud);
/* Where the next bytes go; left: bytes of the tensor still to come. */
uint8_t *gf_row_sink_window(gf_row_sink *s, uint64_t left, size_t *cap);
/* n bytes were written to the window: emits every row now complete. */
int gf_row_sink_commit(gf_row_sink *s, size_t n);
void gf_row_sink_free(gf_row_sink *s);

#endif
