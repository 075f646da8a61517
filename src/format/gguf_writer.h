/* Streaming GGUF (v3) writer.
 *
 * The header (metadata, tensor table with types and offsets) depends only
 * on tensor names, shapes and types, so it is complete before any tensor
 * data exists: a transcoder can emit it at once and then tensor data as
 * its input streams in. Output goes into an internal buffer that the
 * caller drains (the mirror of the loader's window/commit): writers fill
 * it through reserve/commit, and the caller takes pending bytes and
 * drains them, so the whole file never needs to be in memory. */
#ifndef GF_GGUF_WRITER_H
#define GF_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"

typedef struct gf_gguf_writer gf_gguf_writer;

int gf_gguf_writer_new(uint32_t alignment, gf_gguf_writer **out);
void gf_gguf_writer_free(gf_gguf_writer *w);

/* ---- header, before gf_gguf_writer_begin_data ---- */
/* Copies metadata entry i of r as it is (r's metadata must not be released). */
int gf_gguf_writer_copy_kv(gf_gguf_writer *w, const gguf_reader *r, uint64_t i);
int gf_gguf_writer_add_u32(gf_gguf_writer *w, const char *key, uint32_t value);
/* Entry i of r under another key (a renamed architecture's keys). */
int gf_gguf_writer_copy_kv_as(gf_gguf_writer *w, const gguf_reader *r, uint64_t i, const char *key);
int gf_gguf_writer_add_str(gf_gguf_writer *w, const char *key, const char *value);
/* An array of UINT32 (llama.cpp's C++ model saver writes per-layer sizes so). */
int gf_gguf_writer_add_arr_u32(gf_gguf_writer *w, const char *key, const uint32_t *values, uint64_t n);
/* Appends a tensor; data follows in the order tensors were added. */
int gf_gguf_writer_add_tensor(gf_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type);
/* Serializes the header (padded to the alignment) into the output. */
int gf_gguf_writer_begin_data(gf_gguf_writer *w);

/* ---- tensor data ---- */
/* Room for up to n bytes of the current tensor's data (NULL on error). */
uint8_t *gf_gguf_writer_reserve(gf_gguf_writer *w, size_t n);
/* n bytes were written at the reserved place. Padding after each tensor
 * is added when its last byte is committed. */
int gf_gguf_writer_commit(gf_gguf_writer *w, size_t n);
/* Every tensor's data has been written. */
int gf_gguf_writer_complete(const gf_gguf_writer *w);

/* ---- output ---- */
const uint8_t *gf_gguf_writer_pending(const gf_gguf_writer *w, size_t *n);
void gf_gguf_writer_drain(gf_gguf_writer *w, size_t n);
/* Size of the whole file (known after begin_data). */
uint64_t gf_gguf_writer_file_size(const gf_gguf_writer *w);
uint64_t gf_gguf_writer_n_tensors(const gf_gguf_writer *w);

#endif
