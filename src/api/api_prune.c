/* The exported C API for structured pruning (web/prune.js calls it): a
 * session holding the loaded model and its calibration text, the pruning
 * statistics and choice (tools/prune.c), and the writer of the pruned file
 * (tools/prune_write.c). Same conventions as api.c. */
#include <stdlib.h>

#include "base/error.h"
#include "api/api_export.h"
#include "model/loader.h"
#include "tools/calibrate.h"
#include "tools/prune.h"
#include "tools/prune_write.h"


typedef struct {
    gf_calib *calib;
    gf_prune *prune;
} gf_psession;

/* Takes the model of a complete load (the loader is freed either way). */
GF_API gf_psession *gf_api_prune_open(gf_loader *l) {
    gf_clear_error();
    gf_psession *s = calloc(1, sizeof *s);
    if (!s) {
        gf_loader_free(l);
        gf_fail_nomem("the pruning session", sizeof *s);
        return NULL;
    }
    if (gf_calib_from_loader(l, &s->calib) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

GF_API void gf_api_prune_free(gf_psession *s) {
    if (!s) return;
    gf_prune_free(s->prune);
    gf_calib_free(s->calib);
    free(s);
}

GF_API int gf_api_prune_tokenize(gf_psession *s, const char *text, uint32_t len) { return gf_calib_set_text(s->calib, text, len); }
GF_API int gf_api_prune_chunks(const gf_psession *s) { return gf_calib_n_chunks(s->calib); }

/* ffn_keep / kv_keep: NULL, or block_count counts per layer (the planner's choice). */
GF_API int gf_api_prune_start(gf_psession *s, double ffn, double heads, const char *method, int compensate, const int32_t *ffn_keep,
                              const int32_t *kv_keep) {
    gf_clear_error();
    int m = gf_prune_method_parse(method);
    if (m < 0) return m;
    gf_prune_free(s->prune);
    s->prune = NULL;
    gf_prune_options opt = {ffn, heads, (gf_prune_method)m, compensate, ffn_keep, kv_keep};
    return gf_prune_new(s->calib, &opt, &s->prune);
}

GF_API int gf_api_prune_run(gf_psession *s, int chunk) { return s->prune ? gf_prune_run(s->prune, chunk) : gf_fail("prune: not started"); }
GF_API int gf_api_prune_select(gf_psession *s) { return s->prune ? gf_prune_select(s->prune) : gf_fail("prune: not started"); }
GF_API const char *gf_api_prune_json(const gf_psession *s) { return s->prune ? gf_prune_json(s->prune) : "null"; }

/* The writer of the pruned file; the session must outlive it (it holds the plan). */
GF_API gf_prune_writer *gf_api_prune_writer(gf_psession *s) {
    gf_clear_error();
    const gf_prune_plan *plan = s->prune ? gf_prune_get_plan(s->prune) : NULL;
    if (!plan) {
        gf_fail("prune: no units selected yet");
        return NULL;
    }
    gf_prune_writer *w;
    return gf_prune_writer_new(plan, &w) < 0 ? NULL : w;
}

GF_API uint8_t *gf_api_prune_writer_window(gf_prune_writer *w, uint32_t *cap) {
    size_t c;
    uint8_t *p = gf_prune_writer_window(w, &c);
    return gf_api_window(p, c, cap);
}

GF_API int gf_api_prune_writer_commit(gf_prune_writer *w, uint32_t n) { return gf_prune_writer_commit(w, n); }
GF_API int gf_api_prune_writer_end(gf_prune_writer *w) { return gf_prune_writer_end(w); }

GF_API const uint8_t *gf_api_prune_writer_output(gf_prune_writer *w, uint32_t *len) {
    size_t n;
    const uint8_t *p = gf_prune_writer_output(w, &n);
    *len = (uint32_t)n;
    return p;
}

GF_API void gf_api_prune_writer_drain(gf_prune_writer *w, uint32_t n) { gf_prune_writer_drain(w, n); }
GF_API const char *gf_api_prune_writer_json(const gf_prune_writer *w) { return gf_prune_writer_json(w); }
GF_API void gf_api_prune_writer_free(gf_prune_writer *w) { gf_prune_writer_free(w); }
