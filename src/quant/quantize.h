/* Weight quantization: one row of f32 into a ggml block format.
 *
 * Two methods share every output format, so any runtime reads the result:
 *  - GF_QUANT_REF: llama.cpp's reference quantizers (no importance matrix).
 *    Q8_0, Q4_0 and Q4_1 give exactly the bytes llama-quantize writes;
 *    Q4_K and Q6_K follow its algorithm (make_qkx2_quants / make_qx_quants).
 *  - GF_QUANT_SEARCH: per block, scales (and minimums) chosen by searching
 *    candidate scales, refitting by weighted least squares with the stored
 *    (fp16-rounded) values, and keeping whichever of the search and the
 *    reference result has the smaller weighted squared error. So its error
 *    is never larger than the reference's.
 *
 * Importance weights (one per element of the row, i.e. per input channel of
 * the matrix: mean squared activations from calibration) weight the error;
 * NULL weights every element equally. */
#ifndef GF_QUANTIZE_H
#define GF_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { GF_QUANT_REF = 0, GF_QUANT_SEARCH = 1 } gf_quant_method;

/* The types greenformer writes: the registry's writable rows (gf_type_writable). */
int gf_quantize_supported(uint32_t type);
/* Whether the method can write the type: every writable type has "ref" and
 * "search" (for BF16 search is the reference rounding, already the least
 * error); calibration uses search with importance weights. */
int gf_quantize_has_method(uint32_t type, gf_quant_method method);

/* The weights a type's search uses when it is given no importance: Q3_K and
 * Q2_K weight each element by rms(its 16-element group) + |x| (larger
 * weights count more; measured on tiny-brown, plain squared error lowers the
 * weight error but raises the KL at 2-3 bits, as llama.cpp's own reference
 * fits weight by magnitude too); fills w[0..n) and returns 1, or returns 0
 * (plain squared error) for the other types. */
int gf_search_default_weights(uint32_t type, const float *x, float *w, int64_t n);

/* Quantizes x[0..n) into dst (gf_row_bytes(type, n) bytes). Errors (with a
 * message) for a type it cannot write or n not a whole number of blocks. */
int gf_quantize_row(uint32_t type, gf_quant_method method, const float *x, const float *importance, void *dst, int64_t n);

/* gf_quantize_row with GF_QUANT_REF: the reference quantizers alone. The
 * loader (quantize while loading) calls this one, so the runtime wasm links
 * none of the searches (they are the offline tools'). */
int gf_quantize_row_ref(uint32_t type, const float *x, void *dst, int64_t n);

/* sum_i w_i (x_i - dequant(q)_i)^2 (w = 1 when NULL): what the search
 * minimizes, for tests and tools. */
double gf_quantize_error(uint32_t type, const void *q, const float *x, const float *w, int64_t n);


/* Name of a method ("ref", "search"); parse back with gf_quant_method_parse
 * (returns -1 for unknown names). */
const char *gf_quant_method_name(gf_quant_method m);
int gf_quant_method_parse(const char *name);

#endif
