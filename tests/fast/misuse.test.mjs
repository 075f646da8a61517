// The API under misuse: every number is checked at the JS boundary (nothing
// wraps at 2^32 or truncates on its way to C), every options object holds
// only known keys, dispose() always resolves and stops what runs, and
// generations interleave token by token with the tokens of a cold run.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

const Q4_0 = fixture('models', 'tiny-llama-Q4_0.gguf');
const BERT = fixture('models', 'tiny-bert-Q8_0.gguf');
const BAD_IDS = [[''], [null], [true], [[450]], [1.7], [NaN], [2 ** 32 + 450], [-1], [32000], ['450']];

async function collect(gen) {
  let text = '';
  for await (const piece of gen) text += piece;
  return text;
}

test('token ids: wrapping, coercible and fractional values are refused in forward, detokenize and generate', async () => {
  const model = await loadModel(Q4_0, { contextLength: 64 });
  try {
    const plain = await model.forward([1, 450]);
    for (const bad of BAD_IDS) {
      const ids = [1, ...bad];
      const message = /token id at index 1 must be an integer in 0\.\.31999, got /;
      await assert.rejects(model.forward(ids), message, `forward ${String(bad)}`);
      await assert.rejects(model.detokenize(ids), message, `detokenize ${String(bad)}`);
      await assert.rejects(collect(model.generate(ids, { maxTokens: 1 })), message, `generate ${String(bad)}`);
    }
    await assert.rejects(model.forward([1, 2 ** 32 + 450]), /got 4294967746/);
    await assert.rejects(model.forward('1,450'), /ids must be an array of token ids, got "1,450"/);
    await assert.rejects(model.detokenize(null), /ids must be an array of token ids, got null/);
    // typed arrays are fine, and the checks leave the model as it was
    assert.deepEqual(await model.forward(new Int32Array([1, 450])), plain);
    assert.deepEqual(await model.forward([1, 450]), plain);
  } finally {
    await model.dispose();
  }
  const bert = await loadModel(BERT);
  try {
    for (const bad of BAD_IDS) {
      await assert.rejects(bert.embed([101, ...bad]), /embed: token id at index 1 must be an integer in 0\.\.\d+, got /, `embed ${String(bad)}`);
    }
  } finally {
    await bert.dispose();
  }
});

test('numeric options: out of range, wrapping or non-integer values are errors naming the option and value', async () => {
  for (const [options, message] of [
    [{ contextLength: 2 ** 32 + 16 }, /contextLength must be an integer in 1\.\.1048576, got 4294967312/],
    [{ contextLength: 2 ** 31 }, /contextLength must be an integer in 1\.\.1048576, got 2147483648/],
    [{ contextLength: 16.5 }, /contextLength must be an integer in 1\.\.1048576, got 16\.5/],
    [{ contextLength: '16' }, /contextLength must be an integer in 1\.\.1048576, got "16"/],
    [{ batchSize: 2 ** 32 + 1 }, /batchSize must be an integer in 1\.\.4096, got 4294967297/],
    [{ batchSize: 0 }, /batchSize must be an integer in 1\.\.4096, got 0/],
    [{ maxMemory: -1 }, /maxMemory must be an integer in 1\.\./],
    [{ timeout: 0 }, /timeout \(ms\) must be a number in 1\.\.2147483647, got 0/],
    [{ retries: 1.5 }, /retries must be an integer in 0\.\.1000, got 1\.5/],
    [{ threads: 2 ** 32 + 1 }, /threads must be an integer in 1\.\.64, got 4294967297/],
    [{ vocabOnly: 'yes' }, /vocabOnly must be true or false, got "yes"/],
  ]) {
    await assert.rejects(loadModel(Q4_0, options), message, JSON.stringify(options));
  }
  const model = await loadModel(Q4_0, { contextLength: 64 });
  try {
    for (const [options, message] of [
      [{ topK: 2 ** 32 + 1 }, /topK must be an integer in 0\.\.2147483647, got 4294967297/],
      [{ repeatLastN: 2 ** 32 + 5 }, /repeatLastN must be an integer in 0\.\.1048576, got 4294967301/],
      [{ seed: 2 ** 32 }, /seed must be an integer in 0\.\.4294967295, got 4294967296/],
      [{ seed: -1 }, /seed must be an integer in 0\.\.4294967295, got -1/],
      [{ maxTokens: 2.5 }, /maxTokens must be an integer in 1\.\.\d+, got 2\.5/],
      [{ temperature: NaN }, /temperature must be a finite number >= 0, got NaN/],
      [{ topP: 0 }, /topP must be a number in \(0, 1\], got 0/],
      [{ ignoreEos: 1 }, /ignoreEos must be true or false, got 1/],
    ]) {
      await assert.rejects(collect(model.generate('Hello', options)), message, JSON.stringify(options));
    }
  } finally {
    await model.dispose();
  }
});

test('unknown options are errors naming the key and the nearest known one', async () => {
  await assert.rejects(loadModel(Q4_0, { contextLenght: 64 }), /loadModel: unknown option 'contextLenght' \(did you mean 'contextLength'\?\)/);
  await assert.rejects(loadModel(Q4_0, null), /loadModel: options must be an object, got null/);
  const model = await loadModel(Q4_0, { contextLength: 64 });
  try {
    await assert.rejects(collect(model.generate('Hi', { maxTokenz: 3 })), /generate: unknown option 'maxTokenz' \(did you mean 'maxTokens'\?\)/);
    await assert.rejects(collect(model.generate('Hi', { topk: 3 })), /did you mean 'topK'/);
    await assert.rejects(collect(model.generate('Hi', { stops: ['.'] })), /generate: unknown option 'stops' \(did you mean 'stop'\?\)/);
    const template = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
    await assert.rejects(collect(model.chat([{ role: 'user', content: 'x' }], { template, temprature: 1 })), /chat: unknown option 'temprature' \(did you mean 'temperature'\?\)/);
    await assert.rejects(model.tokenize('x', { addSpecials: false }), /tokenize: unknown option 'addSpecials' \(did you mean 'addSpecial'\?\)/);
    await assert.rejects(model.detokenize([1], { skipSpecials: true }), /did you mean 'skipSpecial'/);
    await assert.rejects(model.forward([1], { logit: 'last' }), /forward: unknown option 'logit' \(did you mean 'logits'\?\)/);
    await assert.rejects(model.renderChat([], { templat: template }), /renderChat: unknown option 'templat' \(did you mean 'template'\?\)/);
  } finally {
    await model.dispose();
  }
});

test('dispose during a generation resolves at once, stops it at its next token and rejects queued calls', async () => {
  const model = await loadModel(Q4_0, { contextLength: 128 });
  const gen = model.generate('Once upon a time', { maxTokens: 30, ignoreEos: true, seed: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await gen.next()).done, false);
  // queued behind nothing (generations hold the queue a token at a time), but not run before the dispose
  const queued = model.forward([1, 450]).catch((e) => e);
  const queuedToo = model.tokenize('x').catch((e) => e);
  const disposing = model.dispose();
  const outcome = await Promise.race([disposing.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
  assert.equal(outcome, 'resolved');
  await assert.rejects(gen.next(), (e) => e.code === 'GF_DISPOSED');
  assert.equal(gen.stats.generatedTokens, 3, 'no token after the dispose');
  assert.equal((await queued).code, 'GF_DISPOSED');
  assert.equal((await queuedToo).code, 'GF_DISPOSED');
  await assert.rejects(model.forward([1]), /disposed/);

  // a generator abandoned mid-way (its consumer never asks again) does not keep dispose waiting
  const other = await loadModel(Q4_0, { contextLength: 128 });
  const abandoned = other.generate('Hello', { maxTokens: 30, ignoreEos: true });
  await abandoned.next();
  assert.equal(await Promise.race([other.dispose().then(() => 'resolved'), new Promise((r) => setTimeout(() => r('hung'), 5000))]), 'resolved');
});

test('generations interleave token by token and each gives a cold run\'s tokens', async () => {
  const model = await loadModel(Q4_0, { contextLength: 128 });
  try {
    // 50 generators whose first next() is asked for at once all answer
    const gens = Array.from({ length: 50 }, (_, i) => model.generate(`Story ${i}:`, { maxTokens: 4, seed: i, ignoreEos: true }));
    const firsts = await Promise.race([
      Promise.all(gens.map((g) => g.next())),
      new Promise((_, reject) => setTimeout(() => reject(new Error('first tokens still pending after 10 s')), 10_000)),
    ]);
    assert.equal(firsts.length, 50);
    assert.ok(firsts.every((r) => r.done === false));

    // three seeds stepped round-robin, with a forward pass between steps, against each run alone
    const prompts = ['Once upon a time', 'Once upon a day', 'The little dog'];
    const alone = [];
    for (const [i, p] of prompts.entries()) {
      const cold = await loadModel(Q4_0, { contextLength: 128 });
      const g = cold.generate(p, { maxTokens: 12, seed: 40 + i, temperature: 0.9, ignoreEos: true });
      alone.push(await collect(g).then(() => g.stats.tokens));
      await cold.dispose();
    }
    const mixed = prompts.map((p, i) => model.generate(p, { maxTokens: 12, seed: 40 + i, temperature: 0.9, ignoreEos: true }));
    for (let step = 0; step < 12; step++) {
      for (const g of mixed) await g.next();
      await model.forward([1, 450, 4996]);
    }
    mixed.forEach((g, i) => assert.deepEqual(g.stats.tokens, alone[i], `generation ${i}`));
    for (const g of [...gens, ...mixed]) await g.return();
  } finally {
    await model.dispose();
  }
});

test('the KV cache is reused from the longest common prefix, with the same tokens as a cold model', async () => {
  const model = await loadModel(Q4_0, { contextLength: 256 });
  const cold = await loadModel(Q4_0, { contextLength: 256 });
  try {
    const first = model.generate('Once upon a time there was', { maxTokens: 16, seed: 9, ignoreEos: true });
    const text = await collect(first);
    assert.equal(first.stats.cachedTokens, 0);
    const prompt = `Once upon a time there was${text} and then`;
    const second = model.generate(prompt, { maxTokens: 16, seed: 10, ignoreEos: true });
    await collect(second);
    const promptIds = await model.tokenize(prompt);
    assert.ok(second.stats.cachedTokens >= first.stats.promptTokens, `cached ${second.stats.cachedTokens}`);
    assert.ok(second.stats.cachedTokens < promptIds.length);
    const reference = cold.generate(prompt, { maxTokens: 16, seed: 10, ignoreEos: true });
    await collect(reference);
    assert.equal(reference.stats.cachedTokens, 0);
    assert.deepEqual(second.stats.tokens, reference.stats.tokens);
    // the same prompt again: everything but the last token is reused
    const again = model.generate(prompt, { maxTokens: 16, seed: 10, ignoreEos: true });
    await collect(again);
    assert.equal(again.stats.cachedTokens, promptIds.length - 1);
    assert.deepEqual(again.stats.tokens, reference.stats.tokens);
    // forward after generations equals a cold forward
    assert.deepEqual(await model.forward(promptIds), await cold.forward(promptIds));
  } finally {
    await model.dispose();
    await cold.dispose();
  }
});

test('sessions: each keeps its own prompt cache, so two conversations stepped in turn both reuse their history', async () => {
  const model = await loadModel(Q4_0, { contextLength: 256 });
  const cold = await loadModel(Q4_0, { contextLength: 256 });
  try {
    const a = model.session(), b = model.session();
    const turn = async (s, prompt, seed) => {
      const g = s.generate(prompt, { maxTokens: 8, seed, ignoreEos: true });
      let text = '';
      for await (const piece of g) text += piece;
      return { text, stats: g.stats };
    };
    const a1 = await turn(a, 'Once upon a time', 1);
    const b1 = await turn(b, 'The little dog', 2);
    const a2 = await turn(a, `Once upon a time${a1.text} and`, 3);
    const b2 = await turn(b, `The little dog${b1.text} and`, 4);
    assert.ok(a2.stats.cachedTokens >= a1.stats.promptTokens, `a: ${a2.stats.cachedTokens}`);
    assert.ok(b2.stats.cachedTokens >= b1.stats.promptTokens, `b: ${b2.stats.cachedTokens}`);
    // one cache for both (the model's own) would have lost a's history to b's turn
    const m1 = await turn(model, 'Once upon a time', 1);
    await turn(model, 'The little dog', 2);
    const m2 = await turn(model, `Once upon a time${m1.text} and`, 3);
    assert.ok(m2.stats.cachedTokens <= 1, `the main cache held b's tokens: ${m2.stats.cachedTokens}`);
    assert.equal(m2.text, a2.text, 'the same tokens whichever cache');
    const ref = await turn(cold, `Once upon a time${a1.text} and`, 3);
    assert.deepEqual(a2.stats.tokens, ref.stats.tokens);
    // OpenAI shapes on a session; forward on a session equals the model's
    assert.equal((await a.completions.create({ prompt: 'Hello', max_tokens: 2, seed: 1 })).object, 'text_completion');
    assert.deepEqual(await b.forward([1, 450]), await model.forward([1, 450]));
    await a.dispose();
    await a.dispose();
    await assert.rejects(a.forward([1]), (e) => e.code === 'GF_DISPOSED' && /session has been disposed/.test(e.message));
    assert.equal((await turn(b, 'Hi', 5)).stats.generatedTokens, 8, 'the other session goes on');
  } finally {
    await model.dispose();
    await cold.dispose();
  }
});
