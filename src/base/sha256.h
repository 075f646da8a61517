/* Incremental SHA-256 (FIPS 180-4), so a download can be verified as its
 * bytes stream past, in browsers (WebCrypto only hashes whole buffers) and
 * in Node alike. */
#ifndef GF_SHA256_H
#define GF_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    uint32_t fill;
} gf_sha256;

void gf_sha256_init(gf_sha256 *s);
void gf_sha256_update(gf_sha256 *s, const void *data, size_t n);
void gf_sha256_final(gf_sha256 *s, uint8_t digest[32]);

#endif
