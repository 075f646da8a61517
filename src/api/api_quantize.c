/* The exported C API for quantization (web/quantize.js calls it): the
 * streaming transcoder, calibration and mixed-precision assignment. Linked
 * only into the tools module (dist/greenformer-tools.wasm), with api_prune.c
 * and tools/; what the runtime needs (quantize while loading, file
 * summaries, the type registry) is in api.c. Same
 * conventions as api.c: 32-bit integers, doubles and pointers cross the
 * boundary; failures are NULL or a negative status with a message from
 * gf_api_error(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/calibrate.h"
#include "base/error.h"
#include "api/api_export.h"
#include "model/loader.h"
#include "tools/mix.h"
#include "tools/quantize_gptq.h"
#include "tools/mix_prune.h"
#include "quant/quantize.h"
#include "model/quantize_rules.h"
#include "tools/transcode.h"
#include "quant/registry.h"


/* A type name we can write ("Q4_K", "F16", ...); "" means no choice. */
static int parse_type(const char *name, const char *what, uint32_t *out) {
    *out = GF_TYPE_RULE;
    if (!name || !*name) return GF_OK;
    for (uint32_t i = 0; i < GF_TYPE_COUNT; i++) {
        const gf_type_traits *t = gf_type_info(i);
        if (t && !strcmp(t->name, name) && (gf_quantize_supported(i) || i == GF_TYPE_F16 || i == GF_TYPE_F32)) {
            *out = i;
            return GF_OK;
        }
    }
    return gf_fail("quantize: %s type '%s' is not one greenformer writes (%s, F16, F32)", what, name, gf_writable_types_list());
}

GF_API gf_transcoder *gf_api_quantize_new(const char *ftype, const char *method, const char *output_type, const char *embd_type) {
    gf_clear_error();
    gf_transcode_options opt;
    int f = gf_ftype_parse(ftype);
    if (f < 0) return NULL;
    int m = gf_quant_method_parse(method);
    if (m < 0) {
        gf_fail("quantize: unknown method '%s' (ref or search)", method);
        return NULL;
    }
    opt.ftype = f;
    opt.method = (gf_quant_method)m;
    if (parse_type(output_type, "output", &opt.output_type) < 0 || parse_type(embd_type, "token embedding", &opt.embd_type) < 0) return NULL;
    gf_transcoder *t;
    return gf_transcoder_new(&opt, &t) < 0 ? NULL : t;
}

GF_API int gf_api_quantize_set_type(gf_transcoder *t, const char *tensor, const char *type) {
    uint32_t ty;
    if (parse_type(type, tensor, &ty) < 0) return GF_ERR;
    if (ty == GF_TYPE_RULE) return gf_fail("quantize: no type given for '%s'", tensor);
    return gf_transcoder_set_type(t, tensor, ty);
}

GF_API int gf_api_quantize_set_importance(gf_transcoder *t, const char *tensor, const float *w, int n) {
    return gf_transcoder_set_importance(t, tensor, w, n);
}

GF_API uint8_t *gf_api_quantize_window(gf_transcoder *t, uint32_t *cap) {
    size_t c;
    uint8_t *w = gf_transcoder_window(t, &c);
    return gf_api_window(w, c, cap);
}

GF_API int gf_api_quantize_commit(gf_transcoder *t, uint32_t n) { return gf_transcoder_commit(t, n); }
GF_API int gf_api_quantize_end(gf_transcoder *t) { return gf_transcoder_end(t); }

GF_API const uint8_t *gf_api_quantize_output(gf_transcoder *t, uint32_t *len) {
    size_t n;
    const uint8_t *p = gf_transcoder_output(t, &n);
    *len = (uint32_t)n;
    return p;
}

GF_API void gf_api_quantize_drain(gf_transcoder *t, uint32_t n) { gf_transcoder_drain(t, n); }
GF_API const char *gf_api_quantize_plan(const gf_transcoder *t) { return gf_transcoder_plan_json(t); }
GF_API double gf_api_quantize_input_done(const gf_transcoder *t) { return (double)gf_transcoder_input_done(t); }
GF_API double gf_api_quantize_input_bytes(const gf_transcoder *t) { return (double)gf_transcoder_input_bytes(t); }
GF_API int gf_api_quantize_tensors_done(const gf_transcoder *t) { return (int)gf_transcoder_tensors_done(t); }
GF_API void gf_api_quantize_free(gf_transcoder *t) { gf_transcoder_free(t); }

/* ---- calibration and mixed precision ---- */

/* What a JS calibration session holds: the model, its statistics, and the
 * mix search once started. */
typedef struct {
    gf_calib *calib;
    gf_mix *mix;
    gf_mix_prune *mix_prune; /* pruning options in the mix (tools/mix_prune.h) */
} gf_qsession;

/* Takes the model of a complete load (the loader is freed either way). */
GF_API gf_qsession *gf_api_calib_open(gf_loader *l) {
    gf_qsession *s = calloc(1, sizeof *s);
    if (!s) {
        gf_loader_free(l);
        gf_fail_nomem("the calibration session", sizeof *s);
        return NULL;
    }
    if (gf_calib_from_loader(l, &s->calib) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

GF_API void gf_api_calib_free(gf_qsession *s) {
    if (!s) return;
    gf_mix_prune_free(s->mix_prune);
    gf_mix_free(s->mix);
    gf_calib_free(s->calib);
    free(s);
}

GF_API int gf_api_calib_tokenize(gf_qsession *s, const char *text, uint32_t len) { return gf_calib_set_text(s->calib, text, len); }
GF_API int gf_api_calib_chunks(const gf_qsession *s) { return gf_calib_n_chunks(s->calib); }
GF_API int gf_api_calib_run(gf_qsession *s, int chunk) { return gf_calib_run(s->calib, chunk); }

/* Importance weights, and the mix's types when one was assigned. */
GF_API int gf_api_calib_apply(gf_qsession *s, gf_transcoder *t) {
    int st = gf_calib_apply(s->calib, t);
    if (st == GF_OK && s->mix) st = gf_mix_apply(s->mix, t);
    return st;
}

/* Starts the sensitivity measurement on at most max_chunks chunks; returns the number of steps. */
GF_API int gf_api_mix_prepare(gf_qsession *s, int max_chunks) {
    gf_mix_free(s->mix);
    s->mix = NULL;
    if (gf_mix_new(s->calib, max_chunks, &s->mix) < 0) return GF_ERR;
    return gf_mix_steps(s->mix);
}

GF_API int gf_api_mix_measure(gf_qsession *s, int step) {
    return s->mix ? gf_mix_measure(s->mix, step) : gf_fail("mix: not prepared");
}

GF_API int gf_api_mix_assign(gf_qsession *s, double target_bpw) {
    return s->mix ? gf_mix_assign(s->mix, target_bpw) : gf_fail("mix: not prepared");
}

GF_API const char *gf_api_mix_json(const gf_qsession *s) { return s->mix ? gf_mix_json(s->mix) : "null"; }

/* Pruning options in the mix: after every mix step was measured (and assigned: the types-only plan is the
 * comparison); returns the number of pruning measurement steps. */
GF_API int gf_api_mix_prune_prepare(gf_qsession *s, const char *method) {
    if (!s->mix) return gf_fail("mix: not prepared");
    int m = gf_prune_method_parse(method);
    if (m < 0) return m;
    gf_mix_prune_free(s->mix_prune);
    s->mix_prune = NULL;
    if (gf_mix_prune_new(s->mix, (gf_prune_method)m, &s->mix_prune) < 0) return GF_ERR;
    return gf_mix_prune_steps(s->mix_prune);
}

GF_API int gf_api_mix_prune_measure(gf_qsession *s, int step) {
    return s->mix_prune ? gf_mix_prune_measure(s->mix_prune, step) : gf_fail("mix: pruning not prepared");
}

GF_API int gf_api_mix_prune_assign(gf_qsession *s, double target_bpw) {
    return s->mix_prune ? gf_mix_prune_assign(s->mix_prune, target_bpw) : gf_fail("mix: pruning not prepared");
}

GF_API const char *gf_api_mix_prune_json(const gf_qsession *s) { return s->mix_prune ? gf_mix_prune_json(s->mix_prune) : "null"; }

/* ---- the type registry, with what the quantizer does with each type ---- */

/* "methods":["ref","search"],"gptq":true, for a writable type (calibration
 * is search with importance weights, plus GPTQ where it has the levels). */
static size_t quantizer_fields(uint32_t type, char *buf, size_t cap) {
    const int ref = gf_quantize_has_method(type, GF_QUANT_REF), search = gf_quantize_has_method(type, GF_QUANT_SEARCH);
    int n = snprintf(buf, cap, "\"methods\":[%s%s%s],\"gptq\":%s,", ref ? "\"ref\"" : "", ref && search ? "," : "",
                     search ? "\"search\"" : "", gf_gptq_supported(type) ? "true" : "false");
    return n > 0 ? (size_t)n : 0;
}

/* The weight-type registry as JSON (quant/registry.h: gf_types_json), each
 * row with its quantizer methods: api.c's gf_api_types_json plus what only
 * the tools module knows, for Core#types() there and tools/gen-types.mjs;
 * NULL (with an error) when memory runs out. */
GF_API const char *gf_api_quantize_types_json(void) {
    static char *json;
    if (!json) json = gf_types_json_alloc(quantizer_fields);
    return json;
}
