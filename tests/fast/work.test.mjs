// stats.work: the engine's counts of weight bytes, KV bytes and multiply-adds
// (src/model/work.h), held to the same quantities computed here, independently,
// from each file's GGUF tensor table (tests/helpers/gguf.mjs, not the core's reader).
//
// A decode step (one token at position p, so p + 1 keys) reads:
//   weight bytes = the bytes of every 2-D weight matrix the forward multiplies (each layer's
//                  attn_q/k/v/output, ffn_gate/up/down, and output.weight, or token_embd.weight
//                  when the output is tied: counted once, as the output) + one token_embd row;
//   MACs         = sum of rows x columns over the same matrices (integer for quantized types,
//                  float for F32/F16/BF16) + attention: per layer 2 x n_head x (p + 1) x head_dim
//                  (a score and a value multiply-add per key and head dimension; integer with a
//                  q8_0 KV cache, float with f32/f16);
//   KV bytes     = per layer, 2 (K and V) x n_head_kv x (p + 1) rows read, 2 x n_head_kv rows
//                  written, a row being head_dim x 4 bytes (f32), x 2 (f16), or head_dim / 32
//                  blocks of 34 bytes (q8_0).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ENERGY_CONSTANTS, estimateEnergy, loadModel } from '../../web/index.js';
import { parseGguf } from '../helpers/gguf.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const FLOAT_TYPES = new Set(['F32', 'F16', 'BF16']);

/** A tensor's bytes as the engine holds and reads them: the file's (every type is held as it is stored). */
function heldBytes(t) {
  assert.ok(t.nbytes > 0, `${t.name}: a type the test's parser knows (${t.typeName})`);
  return t.nbytes;
}

/** What one decode step multiplies, from the file's tensor table. */
function fileShape(path) {
  const g = parseGguf(readFileSync(path));
  const arch = g.get('general.architecture');
  const meta = (k) => g.get(`${arch}.${k}`);
  const tables = ['token_embd.weight', 'position_embd.weight']; // looked up a row per token, not multiplied
  const matrices = g.tensors.filter((t) => t.ne.length === 2 && !tables.includes(t.name));
  const embd = g.tensors.find((t) => t.name === 'token_embd.weight');
  if (!g.tensors.some((t) => t.name === 'output.weight')) matrices.push(embd); // tied: the embedding is the output matrix
  let weightBytes = 0;
  for (const t of g.tensors.filter((x) => tables.includes(x.name))) weightBytes += heldBytes(t) / t.ne[1]; // the looked-up rows
  let intMacs = 0, floatMacs = 0;
  for (const t of matrices) {
    weightBytes += heldBytes(t);
    if (FLOAT_TYPES.has(t.typeName)) floatMacs += t.ne[0] * t.ne[1];
    else intMacs += t.ne[0] * t.ne[1];
  }
  const nHead = meta('attention.head_count'), dim = meta('embedding_length');
  return {
    weightBytes, intMacs, floatMacs, matrices, embd,
    nLayer: meta('block_count'), nHead, nHeadKv: meta('attention.head_count_kv') ?? nHead, headDim: dim / nHead,
  };
}

const kvRow = (type, hd) => ({ f32: hd * 4, f16: hd * 2, q8_0: (hd / 32) * 34 })[type];

async function generate(model, prompt, maxTokens) {
  const gen = model.generate(prompt, { maxTokens, temperature: 0, ignoreEos: true });
  for await (const _ of gen);
  return gen.stats;
}

/** Checks a generation's decode counters against the file: every step, exactly. */
function checkDecode(s, shape, kvType, promptLength) {
  const w = s.work.generated;
  const steps = s.generatedTokens - 1; // the last sampled token is never evaluated
  assert.equal(w.tokens, steps);
  assert.equal(w.steps, steps);
  assert.equal(w.weightBytes, steps * shape.weightBytes, 'weight bytes = the matrices and the embedding row, every step');
  assert.equal(s.work.perToken.generated.weightBytes, shape.weightBytes);
  // positions promptLength .. promptLength + steps - 1, each seeing p + 1 keys
  let keys = 0;
  for (let p = promptLength; p < promptLength + steps; p++) keys += p + 1;
  const row = kvRow(kvType, shape.headDim);
  assert.equal(w.kvBytesRead, shape.nLayer * 2 * shape.nHeadKv * keys * row, 'KV bytes read grow with the position');
  assert.equal(w.kvBytesWritten, shape.nLayer * 2 * shape.nHeadKv * steps * row);
  const attention = shape.nLayer * 2 * shape.nHead * keys * shape.headDim;
  const intAttention = kvType === 'q8_0' ? attention : 0;
  assert.equal(w.intMacs, steps * shape.intMacs + intAttention, 'integer multiply-adds');
  assert.equal(w.floatMacs, steps * shape.floatMacs + attention - intAttention, 'float multiply-adds');
  assert.equal(w.macs, w.intMacs + w.floatMacs);
}

for (const [file, kvCache] of [
  ['tiny-llama-Q4_K_M.gguf', 'q8_0'],
  ['tiny-llama-f32.gguf', 'q8_0'],
  ['tiny-llama-f32.gguf', 'f16'],
  ['tiny-brown-Q4_K_S.gguf', 'f32'],
  ['tiny-brown-f32.gguf', 'q8_0'],
  ['tiny-phi3-Q4_K_M.gguf', 'q8_0'], // fused QKV and gate/up matrices
  ['tiny-qwen2-Q8_0.gguf', 'q8_0'],
  ['tiny-gpt2-Q8_0.gguf', 'f32'], // learned positions: a position row per token too
  ['tiny-llama320-Q4_K_M.gguf', 'q8_0'], // mostly Q5_0 (22 bytes per 32 weights), a Q8_0 embedding row
  ['tiny-llama320-IQ4_XS.gguf', 'q8_0'], // mostly IQ4_NL (18 bytes per 32)
]) {
  test(`stats.work: ${file}, ${kvCache} cache: a decode step's bytes and multiply-adds are the tensor table's`, async () => {
    const path = fixture('models', file);
    const shape = fileShape(path);
    const model = await loadModel(path, { threads: 1, kvCache, contextLength: 256 });
    try {
      const prompt = await model.tokenize('The old man said');
      const s = await generate(model, prompt, 9);
      checkDecode(s, shape, kvCache, prompt.length);
      assert.equal(model.info().kvCache, kvCache);
    } finally {
      await model.dispose();
    }
  });
}

test('stats.work: the prompt counts scale with its length; each generation counts only its own work', async () => {
  const path = fixture('models', 'tiny-llama-Q4_K_M.gguf');
  const shape = fileShape(path);
  const embdRow = heldBytes(shape.embd) / shape.embd.ne[1];
  const output = shape.matrices.find((t) => t.name === 'token_embd.weight' || t.name === 'output.weight');
  const layerMacs = shape.intMacs - output.ne[0] * output.ne[1];
  const model = await loadModel(path, { threads: 1, kvCache: 'f32' });
  try {
    const row = kvRow('f32', shape.headDim);
    const prompts = [];
    for (const n of [3, 7, 12]) {
      // a fresh model state for each prompt: forward() of another sequence leaves nothing in common but BOS
      await model.forward([2]);
      const ids = [1, ...Array.from({ length: n - 1 }, (_, i) => 100 + i)];
      const s = await generate(model, ids, 1);
      const p = s.work.prompt;
      prompts.push(p);
      assert.equal(s.cachedTokens, 0);
      assert.equal(p.tokens, n);
      assert.equal(p.steps, 1, 'one batch');
      // one batch reads every matrix once; the embedding is looked up per token
      assert.equal(p.weightBytes, shape.weightBytes - embdRow + n * embdRow);
      // every token through the layers, only the last through the output matrix
      const keys = (n * (n + 1)) / 2; // token t sees t + 1 keys
      assert.equal(p.intMacs, n * layerMacs + output.ne[0] * output.ne[1]);
      assert.equal(p.floatMacs, shape.nLayer * 2 * shape.nHead * keys * shape.headDim, 'f32 cache: attention in floats');
      // n <= 16 tokens: one unit of queries per KV head, which reads the n rows once
      assert.equal(p.kvBytesRead, shape.nLayer * 2 * shape.nHeadKv * n * row);
      assert.equal(p.kvBytesWritten, shape.nLayer * 2 * shape.nHeadKv * n * row);
      assert.equal(s.work.generated.tokens, 0, 'one token generated: nothing evaluated after the prompt');
      assert.equal(s.work.perToken.generated, null);
    }
    assert.ok(prompts[0].joules < prompts[1].joules && prompts[1].joules < prompts[2].joules);

    // the same prompt again: the cache holds it, one token is evaluated, and the counters start from zero
    const ids = [1, 100, 101, 102];
    const first = await generate(model, ids, 6);
    const again = await generate(model, ids, 6);
    assert.equal(again.cachedTokens, 3);
    assert.equal(again.work.prompt.tokens, 1);
    assert.equal(again.work.prompt.weightBytes, shape.weightBytes);
    assert.deepEqual(again.work.generated, first.work.generated, 'the same steps, counted afresh');
  } finally {
    await model.dispose();
  }
});

test('stats.work: two threads count what one counts', async () => {
  const path = fixture('models', 'tiny-llama-f32.gguf');
  const counts = [];
  for (const threads of [1, 2]) {
    const model = await loadModel(path, { threads });
    try {
      assert.equal(model.info().threads, threads);
      const s = await generate(model, 'Once upon a time', 5);
      counts.push({ prompt: s.work.prompt, generated: s.work.generated });
    } finally {
      await model.dispose();
    }
  }
  assert.deepEqual(counts[1], counts[0]);
});

test('stats.work energy: an estimate from the cited constants; DRAM once a step reads more than the last-level cache', () => {
  const work = {
    prompt: { tokens: 10, steps: 1, weightBytes: 1e6, kvBytesRead: 0, kvBytesWritten: 1000, intMacs: 1e7, floatMacs: 1e5 },
    generated: { tokens: 4, steps: 4, weightBytes: 4e8, kvBytesRead: 4000, kvBytesWritten: 400, intMacs: 4e8, floatMacs: 0 },
  };
  const w = estimateEnergy(work);
  assert.equal(w.energy.estimate, true);
  assert.match(w.energy.source, /Horowitz.*ISSCC 2014/);
  assert.match(w.energy.leavesOut, /static and idle power/);
  assert.deepEqual(w.energy.memory, { prompt: 'cache', generated: 'dram' });
  const k = ENERGY_CONSTANTS;
  const close = (a, b) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.abs(b), `${a} vs ${b}`);
  close(w.prompt.joules, ((1e6 + 1000) * k.cacheBytePj + 1e7 * k.intMacPj + 1e5 * k.floatMacPj) * 1e-12);
  close(w.generated.joules, ((4e8 + 4400) * k.dramBytePj + 4e8 * k.intMacPj) * 1e-12);
  close(w.perToken.generated.joules, w.generated.joules / 4);
  close(w.energy.joules, w.prompt.joules + w.generated.joules);
  // a 1 GB last-level cache keeps the 100 MB step in cache
  assert.equal(estimateEnergy(work, { llcBytes: 2 ** 30 }).energy.memory.generated, 'cache');
  assert.throws(() => estimateEnergy(work, { dramBytePj: -1 }), /dramBytePj must be a finite number >= 0, got -1/);
});

function cli(...args) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('run --report prints the counted work per prompt and generated token and the energy estimate', () => {
  const path = fixture('models', 'tiny-brown-Q4_K_S.gguf');
  const shape = fileShape(path);
  const r = cli('run', path, '-p', 'The old man said', '-n', '8', '--temp', '0', '--report');
  assert.equal(r.code, 0, r.err);
  const mb = (shape.weightBytes / 1e6).toFixed(3);
  assert.match(r.err, new RegExp(`generated 7 token\\(s\\) evaluated in 7 step\\(s\\): ${mb} MB weights read`));
  // 5 prompt tokens, then positions 5..11 (p + 1 keys each); a q8_0 cache (auto): attention in integers too
  const attention = (shape.nLayer * 2 * shape.nHead * shape.headDim * (6 + 7 + 8 + 9 + 10 + 11 + 12)) / 7;
  assert.match(r.err, new RegExp(`${((shape.intMacs + attention) / 1e6).toFixed(3)} M int \\+ 0\\.000 M float`));
  assert.match(r.err, /prompt\s+5 token\(s\) evaluated in 1 step\(s\)/);
  assert.match(r.err, /energy: ≈[\d.]+ [µm]?J for the whole generation, an estimate/);
  assert.match(r.err, /constants: M\. Horowitz, "Computing's energy problem/);
  assert.match(r.err, /leaves out: static and idle power/);
  assert.doesNotMatch(cli('run', path, '-p', 'x', '-n', '2').err, /work counted/, 'only with --report');
});

test('eval prints the weight bytes and multiply-adds per generated token beside KL and perplexity', () => {
  const path = fixture('models', 'tiny-brown-Q4_K_S.gguf');
  const shape = fileShape(path);
  const args = ['eval', path, '--ref', fixture('models', 'tiny-brown-f32.gguf'), '--text', fixture('reference', 'brown-heldout.txt'), '--chunks', '1'];
  const json = cli(...args, '--json');
  assert.equal(json.code, 0, json.err);
  const w = JSON.parse(json.out).workPerToken;
  assert.equal(w.weightBytes, shape.weightBytes);
  // eval's steps run at positions [first, last] with an f32 cache: attention in floats
  const [first, last] = w.positions;
  let keys = 0;
  for (let p = first; p <= last; p++) keys += p + 1;
  const attention = (shape.nLayer * 2 * shape.nHead * shape.headDim * keys) / (last - first + 1);
  assert.equal(w.intMacs, shape.intMacs);
  assert.equal(w.floatMacs, attention);
  assert.equal(w.macs, shape.intMacs + attention);
  assert.ok(w.joules > 0);
  const text = cli(...args);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, new RegExp(`work/token:  ${(shape.weightBytes / 1e6).toFixed(3)} MB weights \\+ [\\d.]+ MB KV read, [\\d.]+ M multiply-adds, ≈`));
});

test('stats.work: sliding-window layers read only the key tiles their window reaches (gemma2, window 16 on even layers)', async () => {
  const path = fixture('models', 'tiny-gemma2-Q4_K_M.gguf');
  const shape = fileShape(path);
  const window = parseGguf(readFileSync(path)).get('gemma2.attention.sliding_window');
  const model = await loadModel(path, { threads: 1, kvCache: 'q8_0', contextLength: 256 });
  try {
    const prompt = [2, 651, 2187, 576];
    const s = await generate(model, prompt, 140); // decode steps at positions 4..142: past the second 64-key tile
    const w = s.work.generated;
    assert.equal(w.weightBytes, w.tokens * shape.weightBytes);
    // per step at position p: a full layer reads p + 1 rows; a windowed one (even layers) from the 64-key tile
    // holding its first key, max(0, p - window + 1), on; a q8_0 cache scores every row read for every query head,
    // and sums values over the window's keys
    const row = kvRow('q8_0', shape.headDim), hd = shape.headDim;
    let rows = 0, macs = 0;
    for (let p = prompt.length; p < prompt.length + w.tokens; p++) {
      for (let l = 0; l < shape.nLayer; l++) {
        const first = l % 2 === 0 ? Math.max(0, p - window + 1) : 0;
        const read = p + 1 - Math.floor(first / 64) * 64;
        rows += read;
        macs += shape.nHead * hd * (read + (p + 1 - first));
      }
    }
    assert.equal(w.kvBytesRead, 2 * shape.nHeadKv * rows * row);
    assert.equal(w.intMacs, w.tokens * shape.intMacs + macs);
  } finally {
    await model.dispose();
  }
});
