/* libFuzzer target: sampler options and logits from the input (NaN, inf,
 * huge and negative values included). Invalid options must be refused;
 * valid ones must always return an id inside the vocabulary. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample/sampler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 28) return 0;
    gf_sampler_params p;
    memcpy(&p.temperature, data, 4);
    memcpy(&p.top_k, data + 4, 4);
    memcpy(&p.top_p, data + 8, 4);
    memcpy(&p.min_p, data + 12, 4);
    memcpy(&p.repeat_penalty, data + 16, 4);
    memcpy(&p.repeat_last_n, data + 20, 4);
    memcpy(&p.seed, data + 24, 4);
    p.repeat_last_n &= 0x3ff; /* keep memory small; the range check is tested natively */
    data += 28, n -= 28;
    int32_t vocab = (int32_t)(n / 4);
    if (vocab < 1) return 0;
    float *logits = malloc((size_t)vocab * sizeof *logits);
    memcpy(logits, data, (size_t)vocab * 4);
    gf_sampler *s;
    if (gf_sampler_new(&p, vocab, &s) == 0) {
        for (int i = 0; i < 4; i++) {
            int32_t id = gf_sampler_sample(s, logits, i == 3 ? 0 : -1);
            if (id < 0 || id >= vocab) __builtin_trap();
            gf_sampler_accept(s, id);
        }
        gf_sampler_free(s);
    }
    free(logits);
    return 0;
}
