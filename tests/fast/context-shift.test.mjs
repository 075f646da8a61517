// Endless generation: with contextShift 'sinks' a full context keeps the first
// four tokens and the newer half of the rest, and the generation goes on; the
// kept tokens are evaluated again at their new positions, so the step after a
// shift sees exactly the logits of the kept sequence run cold.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

const MODEL = fixture('models', 'tiny-brown-f32.gguf'); // context 256

test('contextShift sinks: a generation past the context goes on, and the step after a shift equals the kept tokens run cold', async () => {
  const model = await loadModel(MODEL);
  try {
    const prompt = await model.tokenize('The old man said');
    const gen = model.generate(prompt, { maxTokens: 700, seed: 2, ignoreEos: true, contextShift: 'sinks', logprobs: true });
    let text = '';
    for await (const piece of gen) text += piece;
    assert.equal(gen.stats.generatedTokens, 700);
    assert.equal(gen.stats.stopReason, 'length');
    assert.ok(gen.stats.contextShifts >= 3, `shifts: ${gen.stats.contextShifts}`);
    // the first shift: after sampling the sequence's token 256, it keeps 4 + (256 - 4 - 126) + 1 tokens
    const all = [...prompt, ...gen.stats.tokens];
    const kept = [...all.slice(0, 4), ...all.slice(4 + 126, 256), all[256]];
    const logits = await model.forward(kept, { logits: 'last' });
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const expected = logits[all[257]] - max - Math.log(sum);
    const got = gen.stats.logprobs[257 - prompt.length].logprob;
    assert.ok(Math.abs(got - expected) < 1e-5, `after the shift: ${got} vs ${expected}`);

    const plain = model.generate(prompt, { maxTokens: 700, seed: 2, ignoreEos: true });
    for await (const _ of plain);
    assert.equal(plain.stats.stopReason, 'context');
    assert.deepEqual(plain.stats.tokens.slice(0, 200), gen.stats.tokens.slice(0, 200), 'the same tokens until the first shift');
    for (const [bad, message] of [['on', /contextShift must be 'off', 'sinks' or \{ sinks: n \}, got "on"/], [{ sinks: 300 }, /contextShift\.sinks must be an integer in 0\.\.254, got 300/], [{ sink: 2 }, /unknown option 'sink'/]]) {
      await assert.rejects(async () => {
        for await (const _ of model.generate(prompt, { contextShift: bad }));
      }, message);
    }
  } finally {
    await model.dispose();
  }
});
