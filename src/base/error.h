/* Errors are values: a failing function records a message and returns a
 * negative status; the API surfaces the message as a JS Error. */
#ifndef GF_ERROR_H
#define GF_ERROR_H

enum {
    GF_OK = 0,
    GF_ERR = -1,       /* bad input, unsupported feature: see gf_error_message() */
    GF_ERR_NOMEM = -2, /* an allocation failed (wasm memory ceiling reached) */
};

/* Records a printf-style message and returns GF_ERR, so callers can write
 * `return gf_fail("GGUF: ...", ...);`. */
int gf_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, for allocation failures. */
int gf_fail_nomem(const char *what, unsigned long long bytes);
const char *gf_error_message(void);
void gf_clear_error(void);

#endif
