// Parity with llama.cpp on the shared tiny-llama files, teacher-forced, with
// exactly the bounds of the core issue:
//  - F32: err vs llama.cpp <= 0.01
//  - quantized: err vs llama.cpp <= max(0.15, 0.5 * llama.cpp's own err vs F32)
//  - prompt rows: our err vs llama.cpp's F32 logits <= 1.1 * llama.cpp's err vs F32
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../web/index.js';
import { errRows, readF32, readJson, sharedPath } from './helpers/shared.mjs';

const ref = readJson('reference', 'tiny-llama.json');
const nVocab = ref.n_vocab;
const nPrompt = ref.prompt_ids.length;
const f32Logits = readF32('reference', ref.variants.F32.logits);

for (const [type, v] of Object.entries(ref.variants)) {
  test(`parity ${type}: teacher-forced logits match llama.cpp (${v.model})`, async (t) => {
    const model = await loadModel(sharedPath('models', v.model));
    try {
      const logits = await model.forward(v.tokens);
      const theirs = readF32('reference', v.logits);
      assert.equal(logits.length, v.rows * nVocab);
      const err = errRows(logits, theirs, nVocab, v.rows);
      const bound = type === 'F32' ? 0.01 : Math.max(0.15, 0.5 * v.llamacpp_err_vs_f32);
      const ours = errRows(logits, f32Logits, nVocab, nPrompt);
      const theirsVsF32 = v.llamacpp_err_vs_f32;
      t.diagnostic(`${type}: err vs llama.cpp ${err.toFixed(5)} (bound ${bound}); prompt-row err vs F32: ours ${ours.toFixed(4)}, llama.cpp ${theirsVsF32}`);
      assert.ok(err <= bound, `${type}: err vs llama.cpp ${err} exceeds ${bound}`);
      if (type !== 'F32') assert.ok(ours <= 1.1 * theirsVsF32, `${type}: distance from F32 ${ours} exceeds 1.1 x llama.cpp's ${theirsVsF32}`);
    } finally {
      await model.dispose();
    }
  });
}

test('greedy generation reproduces llama.cpp greedy continuation (F32)', async () => {
  const v = ref.variants.F32;
  const model = await loadModel(sharedPath('models', v.model));
  try {
    const gen = model.generate(ref.prompt_ids, { temperature: 0, maxTokens: v.greedy.length, ignoreEos: true });
    for await (const _ of gen);
    assert.deepEqual(gen.stats.tokens, v.greedy);
  } finally {
    await model.dispose();
  }
});

test('batching never changes a bit: one token at a time equals batches of 7', async () => {
  const v = ref.variants.Q4_K_M;
  const one = await loadModel(sharedPath('models', v.model), { batchSize: 1 });
  const seven = await loadModel(sharedPath('models', v.model), { batchSize: 7 });
  try {
    const a = await one.forward(v.tokens);
    const b = await seven.forward(v.tokens);
    assert.ok(a.every((x, i) => Object.is(x, b[i])), 'logits differ between batch sizes 1 and 7');
  } finally {
    await one.dispose();
    await seven.dispose();
  }
});

test('an f16 KV cache stays within the F32 bound (as llama.cpp documents for its F16 cache)', async (t) => {
  for (const type of ['F32', 'Q8_0']) {
    const v = ref.variants[type];
    const model = await loadModel(sharedPath('models', v.model), { kvCache: 'f16' });
    try {
      assert.equal(model.info().kvCache, 'f16');
      const logits = await model.forward(v.tokens);
      const err = errRows(logits, readF32('reference', v.logits), nVocab, v.rows);
      t.diagnostic(`${type} with an f16 KV cache: err vs llama.cpp (F32 cache) ${err.toFixed(5)}`);
      assert.ok(err <= (type === 'F32' ? 0.01 : 0.15), `err ${err}`);
    } finally {
      await model.dispose();
    }
  }
});
