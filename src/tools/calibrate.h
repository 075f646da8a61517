/* Calibration: run a model (F32/F16 weights) on text and record, for every
 * matrix, the mean squared activation of each input channel, E[x_j^2].
 * For y = W x the output error of a weight error dW is
 * E[(dW x)^2] ~ sum_j dW_j^2 E[x_j^2] (activations treated as uncorrelated),
 * so these are the weights the search quantizer minimizes its error under
 * (llama.cpp's "importance matrix" holds the same statistic).
 *
 * The text is tokenized with BOS and cut into chunks of the model's context
 * (at most GF_CALIB_CTX tokens), each starting with BOS, as llama.cpp's
 * imatrix tool does. The session also serves the mixed-precision search
 * (mix.c), which needs the model, a context and the chunks. */
#ifndef GF_CALIBRATE_H
#define GF_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "model/loader.h"
#include "tools/transcode.h"

#define GF_CALIB_CTX 512

typedef struct gf_calib gf_calib;

/* Takes ownership of m (freed with the session, also on failure). */
int gf_calib_new(gf_model *m, gf_calib **out);
/* The same from a complete load: takes its model; the loader is freed either way. */
int gf_calib_from_loader(gf_loader *l, gf_calib **out);
void gf_calib_free(gf_calib *c);

/* Tokenizes the calibration text; returns the token count (at least one
 * chunk's worth is needed: 16 tokens) or an error. */
int gf_calib_set_text(gf_calib *c, const char *text, size_t len);
int gf_calib_n_chunks(const gf_calib *c);
/* Runs chunk i (0 <= i < n_chunks), accumulating the statistics. */
int gf_calib_run(gf_calib *c, int chunk);
/* Hands every observed matrix's importance and GPTQ factor to the transcoder. */
int gf_calib_apply(gf_calib *c, gf_transcoder *t);

/* Block size of the block-diagonal input second moments kept for GPTQ
 * (quantize_gptq.h): memory and time n x block per distinct matrix input. */
#define GF_GPTQ_BLOCK 256
#define GF_GPTQ_DAMP 0.01

/* ---- for mix.c ---- */
typedef struct {
    char name[GGUF_TENSOR_NAME_MAX];
    gf_matrix *mat;   /* the model's slot (tok_embd for a tied output) */
    int64_t rows;
    int leader;       /* the matrix whose statistics this one shares (same input: q/k/v, gate/up) */
    double *sum_sq;   /* leaders: per input channel */
    float *h;         /* leaders: block-diagonal second moments, then their GPTQ factor */
    int factored;
    int64_t count;    /* rows observed */
} gf_calib_matrix;

gf_model *gf_calib_model(gf_calib *c);
gf_context *gf_calib_context(gf_calib *c);
int gf_calib_n_matrices(const gf_calib *c);
gf_calib_matrix *gf_calib_matrix_at(gf_calib *c, int i);
/* Mean squared activations of matrix i into w (mat->n values); 0 when it
 * was never observed (an untied embedding table). */
int gf_calib_importance(const gf_calib *c, int i, float *w);
/* Matrix i's GPTQ factor (n x GF_GPTQ_BLOCK), computed on first use; NULL
 * when it was never observed. */
const float *gf_calib_gptq(gf_calib *c, int i);
/* Chunk i's token ids and count. */
const int32_t *gf_calib_chunk(const gf_calib *c, int i, int32_t *n);
/* Runs chunk i (BOS first); logits: NULL, or room for every row's logits. */
int gf_calib_eval(gf_calib *c, int chunk, float *logits);
/* Statistics are gathered (on, the default) or not (while mix.c measures). */
void gf_calib_observe(gf_calib *c, int on);
/* Elements of every tensor the model holds, and the bits of those that are
 * not calibration matrices (norms, biases, position tables: written as they are). */
void gf_calib_budget(const gf_calib *c, double *elements, double *fixed_bits);

#endif
