/* Single-thread memory read bandwidth of wasm SIMD: sums a buffer much larger than
 * the CPU caches with 128-bit loads (four independent accumulators, 64 bytes per
 * iteration), the access pattern of a matrix-vector product streaming its weights.
 * Built by bench/run.mjs: emcc -O3 -msimd128 --no-entry -> bench/build/bandwidth.wasm */
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define BUF_BYTES (256u << 20)

static v128_t buf[BUF_BYTES / sizeof(v128_t)];

__attribute__((export_name("buffer_bytes"))) uint32_t buffer_bytes(void) { return BUF_BYTES; }

/* Writes every byte, so all pages are committed before timing. */
__attribute__((export_name("fill"))) void fill(uint32_t seed) {
    uint32_t *p = (uint32_t *)buf;
    for (uint32_t i = 0; i < BUF_BYTES / 4; i++) p[i] = (i * 2654435761u) ^ seed;
}

/* Reads the first `bytes` bytes (a multiple of 64) `reps` times; returns a checksum
 * so nothing is optimized away. */
__attribute__((export_name("sum"))) uint32_t sum(uint32_t bytes, uint32_t reps) {
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    const v128_t *p = buf;
    const uint32_t n = bytes / 64;
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
