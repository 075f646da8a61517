/* Whole-file quantization as a stream: GGUF bytes in, GGUF bytes out.
 *
 * Input is fed like the loader's (window, copy, commit); once the header
 * is parsed the output header is emitted, and then each tensor's rows are
 * converted as soon as whole rows have arrived (dequantized to f32 if
 * needed, quantized to the tensor's output type). The caller drains the
 * output after each commit, so memory stays at one batch of rows plus the
 * header, whatever the model's size.
 *
 * The output keeps the input's tensor names, order, shapes and alignment
 * and copies its metadata, with general.quantization_version = 2 and
 * general.file_type set (as llama-quantize writes them, at the end). */
#ifndef GF_TRANSCODE_H
#define GF_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quantize.h"

typedef struct gf_transcoder gf_transcoder;

typedef struct {
    int ftype;              /* GF_FTYPE_* (quantize_rules.h): the rules' target */
    gf_quant_method method;
    uint32_t output_type;   /* GF_TYPE_RULE or a type for the output matrix */
    uint32_t embd_type;     /* GF_TYPE_RULE or a type for token_embd (when not the output) */
} gf_transcode_options;

enum { GF_TC_MORE = 0, GF_TC_HEADER = 1, GF_TC_COMPLETE = 2 };

int gf_transcoder_new(const gf_transcode_options *opt, gf_transcoder **out);
void gf_transcoder_free(gf_transcoder *t);

/* Before the header arrives: a type for one tensor (by name), replacing the
 * rules' choice; importance weights (one per row element) for a matrix, used
 * by the search method. Both are checked against the file at the header. */
int gf_transcoder_set_type(gf_transcoder *t, const char *name, uint32_t type);
int gf_transcoder_set_importance(gf_transcoder *t, const char *name, const float *w, int64_t n);
/* GPTQ factor for a matrix (quantize_gptq.h: n x block floats, copied); with
 * the search method its rows are quantized output-aware. */
int gf_transcoder_set_gptq(gf_transcoder *t, const char *name, const float *u, int64_t n, int block);

/* Input, as gf_loader_window/commit: GF_TC_MORE, GF_TC_HEADER (the plan is
 * known: a good moment to print it), GF_TC_COMPLETE, or a negative error. */
uint8_t *gf_transcoder_window(gf_transcoder *t, size_t *cap);
int gf_transcoder_commit(gf_transcoder *t, size_t n);
/* The input ended: an error unless every tensor was converted. */
int gf_transcoder_end(gf_transcoder *t);

/* Output bytes ready to be written, and how many were written. */
const uint8_t *gf_transcoder_output(const gf_transcoder *t, size_t *n);
void gf_transcoder_drain(gf_transcoder *t, size_t n);

/* After GF_TC_HEADER: sizes, progress, and the plan as JSON:
 * {"fileType", "inputBytes", "outputBytes", "elements", "bitsPerWeight",
 *  "tensors": [{"name", "shape", "from", "to", "bytes"}], "warnings": [...]}
 * (bitsPerWeight: tensor bytes * 8 / elements, all tensors counted, as
 * llama.cpp reports it). */
uint64_t gf_transcoder_input_bytes(const gf_transcoder *t);
uint64_t gf_transcoder_input_done(const gf_transcoder *t);
uint64_t gf_transcoder_output_bytes(const gf_transcoder *t);
uint64_t gf_transcoder_tensors_done(const gf_transcoder *t);
const char *gf_transcoder_plan_json(const gf_transcoder *t);

#endif
