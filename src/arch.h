/* Architectures as data: the few ways transformer decoders differ, read by
 * one forward pass. Adding an architecture is a table entry plus tests. */
#ifndef GF_ARCH_H
#define GF_ARCH_H

#include <stddef.h>

typedef enum { GF_NORM_RMS, GF_NORM_LAYER } gf_norm_kind;
typedef enum { GF_ROPE_NONE, GF_ROPE_ADJACENT, GF_ROPE_NEOX } gf_rope_kind;
typedef enum { GF_FFN_SWIGLU } gf_ffn_kind;

typedef struct {
    const char *name;  /* general.architecture */
    gf_norm_kind norm;
    gf_rope_kind rope; /* llama: adjacent pairs (x[2i], x[2i+1]), as llama.cpp's LLAMA_ROPE_TYPE_NORM */
    gf_ffn_kind ffn;
    int causal;
} gf_arch;

const gf_arch *gf_arch_find(const char *name, size_t len); /* NULL when unsupported */
const char *gf_arch_supported(void);                        /* "llama, ..." for error messages */

#endif
