#include "base/clock.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>

double gf_now_ms(void) { return emscripten_get_now(); }
#else
#include <time.h>

double gf_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
#endif
