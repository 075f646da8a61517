/* Streaming model loading. The caller (the JS loader) asks for a window,
 * copies the next bytes of the file there, and commits them. While the
 * header streams in, windows point into the header buffer; once the header
 * is parsed and the model planned, windows point straight at each tensor's
 * final place in the arena, so weights are written exactly once and the file
 * is never held twice. Unsupported models fail right after the header,
 * before the weights download. */
#ifndef GF_LOADER_H
#define GF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef struct gf_loader gf_loader;

enum { GF_LOAD_MORE = 0, GF_LOAD_HEADER = 1, GF_LOAD_COMPLETE = 2 };

/* total_size: the file's size when known (0 otherwise), to reject truncated
 * files before downloading them. */
int gf_loader_new(const gf_model_options *opt, uint64_t total_size, gf_loader **out);
void gf_loader_free(gf_loader *l);

/* Quantize F32/F16 matrices while they load (opt->quantize, model.h); only
 * before the header is complete. */
int gf_loader_set_quantize(gf_loader *l, int ftype);

/* Where the next bytes of the file go and at most how many (NULL on error). */
uint8_t *gf_loader_window(gf_loader *l, size_t *cap);
/* n bytes were written to the window. Returns GF_LOAD_MORE, GF_LOAD_HEADER
 * (the header was just parsed and the model planned: a good moment to report
 * the expected size), GF_LOAD_COMPLETE (every needed byte is in: stop
 * reading), or a negative error. */
int gf_loader_commit(gf_loader *l, size_t n);
/* The source ended: an error unless the load is complete. */
int gf_loader_end(gf_loader *l);

/* Bytes of the file the load needs (header + tensor data), once known. */
uint64_t gf_loader_expected_bytes(const gf_loader *l);
uint64_t gf_loader_bytes_done(const gf_loader *l);
const gf_model_options *gf_loader_options(const gf_loader *l);
/* Hands the loaded model to the caller (after GF_LOAD_COMPLETE). */
gf_model *gf_loader_take_model(gf_loader *l);

#endif
