/* IQ4_NL (GGML type 20): llama.cpp's non-linear 4-bit type in blocks of 32,
 * x = d * kvalues[q], q a 4-bit index into a 16-value int8 codebook
 * (element j < 16 in the low nibble of qs[j], j + 16 in its high nibble).
 * llama-quantize writes it where a Q2_K, Q3_K or IQ4_XS row is not a
 * multiple of 256. IQ4_XS (iq4_xs.h) uses the same codebook.
 *
 * Activations: Q8_0, llama.cpp's vec_dot_type for IQ4_NL. */
#ifndef GF_QUANT_IQ4_NL_H
#define GF_QUANT_IQ4_NL_H

#include <stdint.h>

#include "quant/quant.h"

#define QK4_NL 32

typedef struct {
    gf_half d;
    uint8_t qs[QK4_NL / 2];
} block_iq4_nl;
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl layout");

/* The codebook (ggml's kvalues_iq4nl, a fact of the format). */
extern const int8_t gf_kvalues_iq4nl[16];

/* d * kvalues[q], value for value. n: a multiple of 32. */
void gf_dequantize_row_iq4_nl(const void *src, float *dst, int64_t n);
/* Scalar reference dot product of an IQ4_NL row with a Q8_0 row: per block
 * an exact integer sum of codebook values times activations, then
 * s += d * da * (float)sum (the order of the Q8_0 dot). */
float gf_dot_iq4_nl_ref(int n, const void *w_row, const void *act_row);

#endif
