/* Corruption checks on weights as they stream in: every fp16 block scale
 * (d, dmin, m) of the block-quantized types and every F32/F16/BF16 value
 * must be finite. A NaN or Inf there can only come from a damaged or
 * spliced file (no quantizer writes one), and it would otherwise turn every
 * logit into NaN. Bytes arrive in chunks split anywhere, so a block that
 * straddles two chunks is carried over; the check costs one 16-bit load per
 * block (a few percent of the bytes) and one pass over float tensors. */
#ifndef GF_INTEGRITY_H
#define GF_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;  /* the tensor's, for the message */
    uint32_t type;
    uint32_t block_bytes;
    uint8_t fields[2]; /* byte offsets of the fp16 scales in a block (0xff: unused) */
    int kind;          /* what the block holds: see integrity.c */
    uint64_t block;    /* index of the next block */
    uint32_t carry_len;
    uint8_t carry[320]; /* the start of a block split across chunks */
} gf_scan;

/* Starts checking a tensor of `type` (types without a check pass through). */
void gf_scan_start(gf_scan *s, const char *name, uint32_t type);
/* The tensor's next n bytes: GF_OK, or an error naming the tensor, the
 * block (or element) and what is wrong with it. */
int gf_scan_feed(gf_scan *s, const uint8_t *p, size_t n);

#endif
