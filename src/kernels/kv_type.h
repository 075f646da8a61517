/* The element types of the KV cache: the attention kernels read them, the
 * model (model/attention.h) lays the cache out in them. */
#ifndef GF_KV_TYPE_H
#define GF_KV_TYPE_H

/* What the KV cache holds. f16 halves it exactly-rounded; Q8_0 (llama.cpp's
 * block of 32 int8 with an f16 scale) quarters it, and its keys are scored
 * with the Q8_0 matmul kernel against the query quantized once, as llama.cpp
 * does for a q8_0 cache. The numbering is the JS API's. */
typedef enum {
    GF_KV_AUTO = -1, /* chosen at load (gf_kv_type_resolve) */
    GF_KV_F32 = 0,
    GF_KV_F16 = 1,
    GF_KV_Q8_0 = 2,
    GF_KV_TYPE_COUNT
} gf_kv_type;

#endif
