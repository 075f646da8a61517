// Stop strings: the text ends before the first stop string, across token
// boundaries, and nothing of it (or after it) is ever shown.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

const MODEL = fixture('models', 'tiny-brown-f32.gguf');
const OPTS = { maxTokens: 60, seed: 5, temperature: 0.8, ignoreEos: true };

async function run(model, options) {
  const gen = model.generate('The old man said', options);
  const pieces = [];
  for await (const piece of gen) pieces.push(piece);
  return { text: pieces.join(''), pieces, stats: gen.stats };
}

test('stop strings end the text before the first match, across pieces, and hold back only what could still match', async () => {
  const model = await loadModel(MODEL);
  try {
    const full = await run(model, OPTS);
    assert.equal(full.stats.stopReason, 'length');
    // a stop string that spans a piece boundary in the middle of the text
    let at = 0, boundary = 0;
    for (const p of full.pieces.slice(0, 20)) {
      at += p.length;
      if (at > 20 && p.length > 1) { boundary = at; break; }
    }
    assert.ok(boundary > 0);
    const spanning = full.text.slice(boundary - 2, boundary + 3);
    const first = full.text.indexOf(spanning);
    const cut = await run(model, { ...OPTS, stop: [spanning] });
    assert.equal(cut.text, full.text.slice(0, first));
    assert.equal(cut.stats.stopReason, 'stop');
    assert.equal(cut.stats.stopString, spanning);
    assert.ok(cut.stats.generatedTokens < full.stats.generatedTokens);
    assert.deepEqual(cut.stats.tokens, full.stats.tokens.slice(0, cut.stats.tokens.length), 'the same tokens up to the stop');
    // the earliest of several wins; an absent one changes nothing
    const later = full.text.slice(first + 10, first + 16);
    assert.equal((await run(model, { ...OPTS, stop: [later, spanning, 'zzqqzz'] })).text, full.text.slice(0, first));
    const none = await run(model, { ...OPTS, stop: ['zzqqzz'] });
    assert.equal(none.text, full.text);
    assert.equal(none.stats.stopReason, 'length');
    // a stop string whose beginning ends the text is held back, then shown at the end
    const tailStart = full.text.slice(-3) + '\u0001';
    assert.equal((await run(model, { ...OPTS, stop: tailStart })).text, full.text);
    // no piece ever contains the stop string
    assert.ok(cut.pieces.every((p) => !p.includes(spanning)));
    for (const bad of ['', [''], [1], 5, Array(65).fill('x')]) {
      await assert.rejects(run(model, { ...OPTS, stop: bad }), /stop must be a non-empty string or an array of at most 64 non-empty strings/);
    }
  } finally {
    await model.dispose();
  }
});
