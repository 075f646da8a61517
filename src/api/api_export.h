/* What every file of the exported C API shares. GF_API marks a function JS
 * calls (kept alive through the linker in wasm; plain in native tests).
 *
 * The streaming windows the JS side writes into (loader, quantizer, pruner,
 * GGUF header reader): their capacity goes to JS as a uint32 and is capped
 * at 1 GiB, so a window's length always fits the call's u32 and one JS
 * typed-array view over the wasm heap. */
#ifndef GF_API_EXPORT_H
#define GF_API_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define GF_API EMSCRIPTEN_KEEPALIVE
#else
#define GF_API
#endif

#define GF_API_WINDOW_MAX 0x40000000u

static inline uint8_t *gf_api_window(uint8_t *p, size_t c, uint32_t *cap) {
    *cap = c > GF_API_WINDOW_MAX ? GF_API_WINDOW_MAX : (uint32_t)c;
    return p;
}

#endif
