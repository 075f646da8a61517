/* The weight-type registry: one row per GGML type id, with everything the
 * core knows about the type. Every question about a type (its block, how
 * to read it, what it computes against, how to write it) is answered here,
 * so a new type is one row (registry.c) plus its kernel (kernels/kernels.c's
 * table); README.md's Design section shows the recipe.
 *
 * A lookup of something a type does not have is a loud failure: the
 * dispatchers below abort naming the type (the loader and the quantizer
 * refuse such types earlier, with an error, so this is a bug's trap). */
#ifndef GF_REGISTRY_H
#define GF_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "quant/types.h"

/* The per-type functions a row points to (src/quant/<t>.c for a type):
 * gf_dequantize_row_<t>: n elements (whole blocks) to f32;
 * gf_dot_<t>_ref: the scalar reference dot of a weight row of n elements
 *   with an activation row in the type's activation format;
 * gf_quantize_row_<t>_ref: llama.cpp's reference quantizer, n elements. */
typedef void (*gf_dequantize_fn)(const void *src, float *dst, int64_t n);
typedef float (*gf_dot_fn)(int n, const void *w, const void *act);
typedef void (*gf_quantize_fn)(const float *x, void *dst, int64_t n);

typedef struct {
    const char *name;   /* "Q4_K"; NULL: no such type id */
    uint32_t block;     /* elements per block */
    uint32_t bytes;     /* bytes per block */
    int computable;     /* read and computed with as it is (kernels/kernels.c has its matmul); the others are refused */
    gf_act_format act;  /* what its dot product consumes (computable types) */
    gf_dequantize_fn dequantize; /* computable types */
    gf_dot_fn dot_ref;           /* computable types */
    gf_quantize_fn quantize_ref; /* writable types */
    int writable;                /* gf_quantize_row writes it */
} gf_type_traits;

const gf_type_traits *gf_type_info(uint32_t type); /* NULL for unknown ids */
const char *gf_type_name(uint32_t type);           /* "unknown type id 31" for unknown ids */
/* Bytes of a row of n elements; 0 if n is not a whole number of blocks (or the id is unknown). */
size_t gf_row_bytes(uint32_t type, uint64_t n);

/* Whether greenformer reads and computes with the type (the row's computable):
 * every weight is held in memory in its file's type, never converted to
 * another one (Q5_0 and IQ4_NL, llama.cpp's fallbacks for Q4_K and the
 * 2-3-bit types in rows that are not a multiple of 256, included). */
int gf_type_computable(uint32_t type);
/* Row of n elements of a computable type to f32. */
void gf_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);
/* The activation format of a computable type's dot product. */
gf_act_format gf_act_format_for(uint32_t weight_type);
const char *gf_act_format_name(gf_act_format f); /* "f32", "f16", "q8_0", "q8_1", "q8_K" */
size_t gf_act_row_bytes(gf_act_format f, int64_t n);
/* The scalar reference dot of a computable type (kernels hold their SIMD versions equal to it). */
float gf_dot_ref(uint32_t wtype, int n, const void *w_row, const void *act_row);
/* Whether gf_quantize_row writes the type. */
int gf_type_writable(uint32_t type);
/* The writable types' names, ", "-separated, in id order (for messages). */
const char *gf_writable_types_list(void);

/* Fields a higher layer adds to each row (e.g. the quantizer's methods):
 * writes "key":value, pairs (each followed by a comma) like snprintf
 * (returns the full length; buf may be NULL when cap is 0). */
typedef size_t (*gf_type_json_extra)(uint32_t type, char *buf, size_t cap);

/* The registry as JSON: [{"id":2,"name":"Q4_0","blockElements":32,"blockBytes":18,
 * "computable":true,"activation":"q8_0",<extra>"writable":true}, ...]
 * (activation null unless computable; extra may
 * be NULL). Returns the length (may exceed cap, like snprintf); buf holds a
 * NUL-terminated prefix when cap > 0. */
size_t gf_types_json(char *buf, size_t cap, gf_type_json_extra extra);

/* gf_types_json in a malloc'd string (the caller keeps it); NULL, with the
 * error set (gf_fail_nomem), when memory runs out. */
char *gf_types_json_alloc(gf_type_json_extra extra);

/* Aborts with "<what>: type <name> has no <field>" (the registry trap). */
void gf_type_missing(uint32_t type, const char *what) __attribute__((noreturn));

#endif
