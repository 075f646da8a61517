// Parity with native llama.cpp on a llama of dim 320 (tests/fixtures: tiny-llama320), whose rows of 320 are not a
// multiple of 256, in the two mixes llama-quantize writes for such models: Q4_K_M, mostly Q5_0 (its fallback for
// Q4_K), and IQ4_XS, mostly IQ4_NL (its fallback for IQ4_XS); both keep K-quants in ffn_down (rows of 512) and Q8_0
// for the embedding (Q6_K's fallback). Teacher-forced with an f32 KV cache, as the references were made
// (tests/fixtures/references.mjs), our logits compared as log-softmax with llama.cpp's log-probabilities:
//  - err vs llama.cpp <= 1e-4, the bound parity.test.mjs holds its exact types to (measured 2026-12-07: Q4_K_M
//    0.000007, IQ4_XS 0.000008, llama.cpp's float32 softmax alone differs by 1e-5), and no further from llama.cpp's
//    F32 log-probabilities than llama.cpp is (x 1.1, prompt rows);
//  - the weights take the file's bytes in memory (nothing held in a wider type), and the mix is what it says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { parseGguf } from '../helpers/gguf.mjs';
import { errRows, fixture, logSoftmaxRows, readF32, readJson } from '../helpers/fixtures.mjs';

const ref = readJson('reference', 'tiny-llama320.json');
const nVocab = ref.n_vocab;
const nPrompt = ref.prompt_ids.length;
const f32LogProbs = readF32('reference', ref.f32_prompt_logprobs);

// the bound (see the header), and the fallback type each mix must hold most matrices in
const PINNED = { Q4_K_M: 1e-4, IQ4_XS: 1e-4 };
const FALLBACK = { Q4_K_M: 'Q5_0', IQ4_XS: 'IQ4_NL' };

for (const [variant, v] of Object.entries(ref.variants)) {
  test(`parity ${variant} at dim 320 (${FALLBACK[variant]} rows): teacher-forced logits match llama.cpp, weights held as stored`, async (t) => {
    const path = fixture('models', v.model);
    const file = parseGguf(readFileSync(path));
    const model = await loadModel(path, { kvCache: 'f32' });
    try {
      const info = model.info();
      const matrices = file.tensors.filter((x) => x.ne.length === 2);
      const fallback = matrices.filter((x) => x.typeName === FALLBACK[variant]).length;
      assert.ok(fallback > matrices.length / 2, `${variant}: ${fallback} of ${matrices.length} matrices in ${FALLBACK[variant]}`);
      assert.equal(info.tensorTypes[FALLBACK[variant]], fallback);
      assert.equal(info.weightBytes, file.tensors.reduce((s, x) => s + x.nbytes, 0), 'weight bytes in memory = the file\'s tensor bytes');
      const ours = logSoftmaxRows(await model.forward(v.tokens), nVocab);
      const err = errRows(ours, readF32('reference', v.logprobs), nVocab, v.rows);
      const fromF32 = errRows(ours, f32LogProbs, nVocab, nPrompt);
      t.diagnostic(`${variant} (${JSON.stringify(info.tensorTypes)}): err vs llama.cpp ${err.toFixed(6)} (bound ${PINNED[variant]}); prompt-row err vs F32: ours ${fromF32.toFixed(4)}, llama.cpp ${v.llamacpp_err_vs_f32}`);
      assert.ok(err <= PINNED[variant], `${variant}: err vs llama.cpp ${err} exceeds ${PINNED[variant]}`);
      assert.ok(fromF32 <= 1.1 * v.llamacpp_err_vs_f32, `${variant}: distance from F32 ${fromF32} exceeds 1.1 x llama.cpp's ${v.llamacpp_err_vs_f32}`);
    } finally {
      await model.dispose();
    }
  });
}
