// Every weight type llama-quantize writes, on the trained tiny-brown model:
// teacher-forced logits (F32 KV cache) against llama.cpp's own for the same
// file, within max(0.15, half of llama.cpp's own distance from F32) (BF16:
// 0.02), and no further from the F32 model's logits than llama.cpp is (x1.1).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { errRows, fixture, readF32, readJson } from '../helpers/fixtures.mjs';

const ref = readJson('reference', 'tiny-brown-types.json');
const f32 = readF32('reference', ref.f32_logits);
const rows = ref.tokens.length;

for (const [type, v] of Object.entries(ref.variants)) {
  test(`${type}: ${v.tensor_types} — logits match llama.cpp's`, async (t) => {
    const model = await loadModel(fixture('models', v.model), { kvCache: 'f32' });
    try {
      const ours = await model.forward(ref.tokens);
      const theirs = readF32('reference', v.logits);
      const err = errRows(ours, theirs, ref.n_vocab, rows);
      const fromF32 = errRows(ours, f32, ref.n_vocab, rows);
      const bound = type === 'BF16' ? 0.02 : Math.max(0.15, 0.5 * v.err_vs_f32);
      t.diagnostic(`${type}: err vs llama.cpp ${err.toFixed(5)} (bound ${bound.toFixed(3)}); from F32 ours ${fromF32.toFixed(4)}, llama.cpp ${v.err_vs_f32}`);
      assert.ok(err <= bound, `${type}: ${err} > ${bound}`);
      assert.ok(fromF32 <= 1.1 * v.err_vs_f32 + 1e-3, `${type}: ${fromF32} from F32 vs llama.cpp's ${v.err_vs_f32}`);
    } finally {
      await model.dispose();
    }
  });
}

// Splitting the work changes no bit: two threads against one, and a prompt
// evaluated in batches of 1 against batches of 7 (the prompt cache relies on it).
test('Q5_K_M: 2 threads and batchSize 1 vs 7 give bit-identical logits', async () => {
  const file = fixture('models', ref.variants.Q5_K_M.model);
  const run = async (options) => {
    const model = await loadModel(file, { kvCache: 'f32', ...options });
    try {
      const y = await model.forward(ref.tokens);
      return Buffer.from(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
    } finally {
      await model.dispose();
    }
  };
  const one = await run({ threads: 1, batchSize: 7 });
  assert.ok((await run({ threads: 2, batchSize: 7 })).equals(one), '2 threads differ from 1');
  assert.ok((await run({ threads: 1, batchSize: 1 })).equals(one), 'batchSize 1 differs from 7');
});
