/* Single-thread memory read bandwidth of wasm SIMD: sums a buffer with 128-bit
 * loads (four independent accumulators, 64 bytes per iteration), the access
 * pattern of a matrix-vector product streaming its weights. The buffer is
 * sized by the caller: 256 MiB for "beyond the caches", and each model's
 * weight bytes per token for the ceiling of that model's decode, which
 * re-reads exactly that much every token (this machine's last-level cache
 * holds part of a 70 MB working set: 16-18 GB/s there against 12-14 at
 * 256 MiB, 2026-11-23).
 * Built by bench/run.mjs: emcc -O3 -msimd128 --no-entry -> bench/build/bandwidth.wasm */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <wasm_simd128.h>

static v128_t *buf;
static uint32_t buf_bytes;

/* Allocates `bytes` (rounded down to 64) and writes every byte, so all pages
 * are committed before timing. Returns the size, 0 if memory ran out. */
__attribute__((export_name("reserve"))) uint32_t reserve(uint32_t bytes, uint32_t seed) {
    free(buf);
    buf_bytes = bytes / 64 * 64;
    buf = aligned_alloc(64, buf_bytes);
    if (!buf) return buf_bytes = 0;
    uint32_t *p = (uint32_t *)buf;
    for (uint32_t i = 0; i < buf_bytes / 4; i++) p[i] = (i * 2654435761u) ^ seed;
    return buf_bytes;
}

/* Reads the buffer `reps` times; returns a checksum so nothing is optimized away. */
__attribute__((export_name("sum"))) uint32_t sum(uint32_t reps) {
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    const v128_t *p = buf;
    const uint32_t n = buf_bytes / 64;
    for (uint32_t r = 0; r < reps; r++) {
        for (uint32_t i = 0; i < n; i++) {
            a0 = wasm_i32x4_add(a0, wasm_v128_load(p + 4 * i + 0));
            a1 = wasm_i32x4_add(a1, wasm_v128_load(p + 4 * i + 1));
            a2 = wasm_i32x4_add(a2, wasm_v128_load(p + 4 * i + 2));
            a3 = wasm_i32x4_add(a3, wasm_v128_load(p + 4 * i + 3));
        }
        __asm__ volatile("" ::: "memory");
    }
    v128_t s = wasm_i32x4_add(wasm_i32x4_add(a0, a1), wasm_i32x4_add(a2, a3));
    return wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) +
           wasm_i32x4_extract_lane(s, 3);
}
