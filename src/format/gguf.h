/* Incremental GGUF (v2, v3) header reader.
 *
 * Bytes arrive in chunks of any size split at any point (a fetch body, a
 * file stream). The reader owns one growing buffer holding the header: the
 * caller asks for a window, writes up to its size there, and commits. Every
 * count, length and offset is checked against sane limits before use, and
 * errors name the field and the offending value. Parsing resumes where the
 * last commit stopped, element by element, so tiny chunks cost no more than
 * big ones.
 *
 * Once the header is complete, metadata is read through the accessors
 * below; tensor data is placed by the loader (loader.c), not here. */
#ifndef GF_GGUF_H
#define GF_GGUF_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GGUF_VT_UINT8 = 0,
    GGUF_VT_INT8 = 1,
    GGUF_VT_UINT16 = 2,
    GGUF_VT_INT16 = 3,
    GGUF_VT_UINT32 = 4,
    GGUF_VT_INT32 = 5,
    GGUF_VT_FLOAT32 = 6,
    GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8,
    GGUF_VT_ARRAY = 9,
    GGUF_VT_UINT64 = 10,
    GGUF_VT_INT64 = 11,
    GGUF_VT_FLOAT64 = 12,
    GGUF_VT_COUNT
} gguf_vtype;

#define GGUF_MAX_DIMS 4
#define GGUF_TENSOR_NAME_MAX 128

typedef struct {
    uint32_t key_off, key_len; /* key bytes inside the header buffer */
    uint32_t type;             /* gguf_vtype */
    uint32_t arr_type;         /* element type, for arrays */
    uint64_t arr_n;            /* element count, for arrays */
    uint32_t val_off;          /* scalar/array bytes; string characters */
    uint32_t val_len;          /* string length; numeric array byte length */
    uint32_t *str_off;         /* array of strings: where each element's characters start */
} gguf_kv;

typedef struct {
    char name[GGUF_TENSOR_NAME_MAX];
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the row length; unused dims are 1 */
    uint32_t type;              /* gf_type */
    uint64_t offset;            /* from the start of the data section */
    uint64_t nbytes;
} gguf_tensor_info;

typedef struct gguf_reader gguf_reader;

enum { GGUF_NEED_MORE = 0, GGUF_HEADER_DONE = 1 };

gguf_reader *gguf_reader_new(void);
void gguf_reader_free(gguf_reader *r);

/* Where the next header bytes go, and at most how many; NULL (with an error
 * message) when the buffer cannot grow. */
uint8_t *gguf_header_window(gguf_reader *r, size_t *cap);
/* n bytes were written into the window: GGUF_NEED_MORE, GGUF_HEADER_DONE,
 * or a negative error status. */
int gguf_header_commit(gguf_reader *r, size_t n);
/* Convenience for whole buffers (tools, tests): feeds everything it needs. */
int gguf_read_header(gguf_reader *r, const uint8_t *bytes, size_t n);

/* After GGUF_HEADER_DONE: */
uint32_t gguf_version(const gguf_reader *r);
uint32_t gguf_alignment(const gguf_reader *r);
uint64_t gguf_data_offset(const gguf_reader *r); /* file offset of the data section */
uint64_t gguf_data_size(const gguf_reader *r);   /* end of the last tensor, from data start */
/* Header bytes received so far (all of them belong to the file's first
 * gguf_bytes_received bytes, possibly reaching into the data section). */
const uint8_t *gguf_buffer(const gguf_reader *r, size_t *n);

uint64_t gguf_n_kv(const gguf_reader *r);
const gguf_kv *gguf_kv_at(const gguf_reader *r, uint64_t i);
int64_t gguf_find_key(const gguf_reader *r, const char *key); /* -1 when absent */
const char *gguf_key(const gguf_reader *r, const gguf_kv *kv, uint32_t *len);
const char *gguf_vtype_name(uint32_t type);

/* Typed getters. Return 1 when found, 0 when absent, GF_ERR (message set)
 * when present with a type that cannot convert or a value out of range.
 * Integer getters accept any integer type; float getters any number. */
int gguf_get_u32(const gguf_reader *r, const char *key, uint32_t *out);
int gguf_get_i64(const gguf_reader *r, const char *key, int64_t *out);
int gguf_get_f32(const gguf_reader *r, const char *key, float *out);
int gguf_get_bool(const gguf_reader *r, const char *key, int *out);
int gguf_get_str(const gguf_reader *r, const char *key, const char **s, uint32_t *len);
/* Array of the given element type: kv and count. */
int gguf_get_arr(const gguf_reader *r, const char *key, uint32_t elem_type, const gguf_kv **kv);

/* Array element access (no bounds checks: callers loop below arr_n). */
const char *gguf_arr_str(const gguf_reader *r, const gguf_kv *kv, uint64_t i, uint32_t *len);
const void *gguf_arr_data(const gguf_reader *r, const gguf_kv *kv); /* little-endian, maybe unaligned */
float gguf_arr_f32(const gguf_reader *r, const gguf_kv *kv, uint64_t i);
int32_t gguf_arr_i32(const gguf_reader *r, const gguf_kv *kv, uint64_t i);

uint64_t gguf_n_tensors(const gguf_reader *r);
const gguf_tensor_info *gguf_tensor_at(const gguf_reader *r, uint64_t i);
int64_t gguf_find_tensor(const gguf_reader *r, const char *name); /* -1 when absent */
/* Tensor indices in file order (by offset). */
const uint32_t *gguf_tensor_order(const gguf_reader *r);

/* Gives up the header buffer (metadata accessors stop working); tensor
 * infos stay. Loaders call it once they have taken what they need. */
void gguf_release_metadata(gguf_reader *r);
/* The same for a streaming reader at the end of its header: the data-section
 * bytes that arrived in the header buffer are handed over first, copied into
 * *extra (malloc'd, the caller frees and feeds them on; NULL when none) with
 * their count in *n. *pos: how many of the file's bytes the caller has now
 * consumed (the data offset, or fewer when the buffer stopped short of it).
 * GF_OK, or an error naming `who` when out of memory (nothing released). */
int gguf_release_header(gguf_reader *r, const char *who, uint8_t **extra, size_t *n, uint64_t *pos);

#endif
