// Sampling options apps need: logprobs with top alternatives (the model's
// log-softmax, checked against forward()), logit bias, presence and
// frequency penalties — through the API, as the core computes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

const MODEL = fixture('models', 'tiny-brown-f32.gguf');

async function run(model, prompt, options) {
  const gen = model.generate(prompt, options);
  let text = '';
  for await (const piece of gen) text += piece;
  return { text, stats: gen.stats };
}

function logSoftmax(row) {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let total = 0;
  for (const v of row) total += Math.exp(v - max);
  const lse = Math.log(total) + max;
  return Array.from(row, (v) => v - lse);
}

test('logprobs: each generated token\'s log-probability and its top alternatives are the model\'s log-softmax', async () => {
  const model = await loadModel(MODEL, { kvCache: 'f32' });
  try {
    const { nVocab } = model.info();
    const prompt = await model.tokenize('The old man said');
    const { stats } = await run(model, prompt, { maxTokens: 6, temperature: 0.9, seed: 3, logprobs: true, topLogprobs: 5, ignoreEos: true });
    assert.equal(stats.logprobs.length, stats.tokens.length);
    const logits = await model.forward([...prompt, ...stats.tokens]);
    stats.logprobs.forEach((entry, i) => {
      const row = logSoftmax(logits.subarray((prompt.length - 1 + i) * nVocab, (prompt.length + i) * nVocab));
      assert.equal(entry.token, stats.tokens[i]);
      assert.ok(Math.abs(entry.logprob - row[entry.token]) < 1e-4, `step ${i}: ${entry.logprob} vs ${row[entry.token]}`);
      assert.equal(entry.top.length, 5);
      const best = row.map((v, id) => [v, id]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 5);
      assert.deepEqual(entry.top.map((t) => t.token), best.map(([, id]) => id));
      entry.top.forEach((t, k) => assert.ok(Math.abs(t.logprob - best[k][0]) < 1e-4));
    });
    // greedy: the chosen token is the top alternative
    const greedy = await run(model, prompt, { maxTokens: 4, temperature: 0, logprobs: true, topLogprobs: 1 });
    greedy.stats.logprobs.forEach((e) => assert.equal(e.top[0].token, e.token));
    assert.deepEqual((await run(model, prompt, { maxTokens: 2, temperature: 0, logprobs: true })).stats.logprobs[0].top, []);
    await assert.rejects(run(model, prompt, { topLogprobs: 2 }), /topLogprobs needs logprobs: true/);
    await assert.rejects(run(model, prompt, { logprobs: true, topLogprobs: 21 }), /topLogprobs must be an integer in 0\.\.20, got 21/);
  } finally {
    await model.dispose();
  }
});

test('logitBias bans or forces tokens; presence and frequency penalties change what repeats', async () => {
  const model = await loadModel(MODEL);
  try {
    const greedy = (extra) => run(model, 'The old man said', { maxTokens: 12, temperature: 0, ignoreEos: true, ...extra });
    const plain = await greedy({});
    const first = plain.stats.tokens[0];
    const banned = await greedy({ logitBias: { [first]: -Infinity } });
    assert.notEqual(banned.stats.tokens[0], first);
    assert.ok(!banned.stats.tokens.includes(first), 'a banned token never appears');
    const forced = await greedy({ logitBias: new Map([[42, 100]]) });
    assert.ok(forced.stats.tokens.every((t) => t === 42), 'a +100 bias wins every step');
    assert.deepEqual((await greedy({ logitBias: [[42, 100]] })).stats.tokens, forced.stats.tokens);
    // penalties: a strong frequency penalty makes a forced token give way after its first use
    const penalized = await greedy({ logitBias: { 42: 3 }, frequencyPenalty: 2, presencePenalty: 2 });
    assert.ok(penalized.stats.tokens.filter((t) => t === 42).length < forced.stats.tokens.length);
    assert.deepEqual((await greedy({ logitBias: { 42: 3 }, frequencyPenalty: 2, presencePenalty: 2 })).stats.tokens, penalized.stats.tokens);
    for (const [options, message] of [
      [{ logitBias: { 99999: 1 } }, /logitBias: token id must be an integer in 0\.\.2047, got "99999"/],
      [{ logitBias: { 5: NaN } }, /the bias of token 5 must be a finite number or -Infinity, got NaN/],
      [{ logitBias: 'x' }, /logitBias must be an object/],
      [{ presencePenalty: 3 }, /presencePenalty must be a number in -2\.\.2, got 3/],
      [{ frequencyPenalty: -2.5 }, /frequencyPenalty must be a number in -2\.\.2, got -2\.5/],
    ]) {
      await assert.rejects(greedy(options), message);
    }
  } finally {
    await model.dispose();
  }
});

test('stats.outputMs and stats.sampleMs: the decode steps\' output projection and sampler time, parts of decodeMs', async () => {
  const model = await loadModel(MODEL, { kvCache: 'f32' });
  try {
    const prompt = await model.tokenize('The old man said');
    for (const options of [{ temperature: 0 }, { temperature: 0.9, seed: 2 }]) {
      const { stats } = await run(model, prompt, { maxTokens: 8, ignoreEos: true, ...options });
      assert.equal(stats.generatedTokens, 8);
      for (const key of ['outputMs', 'sampleMs']) {
        assert.ok(Number.isFinite(stats[key]) && stats[key] >= 0, `${key}: ${stats[key]}`);
      }
      // nested intervals of the same clock: the two parts never add up to more than the steps they are in
      assert.ok(stats.outputMs + stats.sampleMs <= stats.decodeMs, `${stats.outputMs} + ${stats.sampleMs} > ${stats.decodeMs}`);
    }
  } finally {
    await model.dispose();
  }
});
