#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

/* One message slot: the core is driven from one thread at a time (worker
 * threads only run kernels, which cannot fail). */
static char g_message[512];

int gf_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_message, sizeof g_message, fmt, ap);
    va_end(ap);
    return GF_ERR;
}

int gf_fail_nomem(const char *what, unsigned long long bytes) {
    snprintf(g_message, sizeof g_message,
             "out of memory: could not allocate %.1f MB for %s", (double)bytes / 1048576.0, what);
    return GF_ERR_NOMEM;
}

const char *gf_error_message(void) { return g_message[0] ? g_message : "unknown error"; }

void gf_clear_error(void) { g_message[0] = 0; }
