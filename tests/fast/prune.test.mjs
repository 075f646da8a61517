// Structured pruning (greenformer prune / pruneModel): the file llama.cpp's way (per-layer sizes as UINT32 arrays of
// block_count values, key_length / value_length set), the kept units the criterion's, sizes and multiply-adds shrunk
// by the pruned share, and bad shares refused naming the flag and value. The criteria's quality and native
// llama.cpp's agreement on pruned files: tests/slow/prune.test.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel, pruneModel } from '../../web/index.js';
import { parseGguf } from '../helpers/gguf.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const BROWN = fixture('models', 'tiny-brown-f32.gguf');
const CLI = join(ROOT, 'bin/greenformer.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'gf-prune-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A metadata value: scalars as numbers/strings, arrays as { elemType, values }. */
function meta(g, key) {
  const e = g.kv.find((x) => x.key === key);
  if (!e) return undefined;
  const dv = new DataView(e.raw.buffer, e.raw.byteOffset, e.raw.byteLength);
  if (e.type === 9) {
    const elemType = dv.getUint32(0, true), n = Number(dv.getBigUint64(4, true));
    return { elemType, values: Array.from({ length: n }, (_, i) => (elemType === 5 ? dv.getInt32(12 + 4 * i, true) : dv.getUint32(12 + 4 * i, true))) };
  }
  if (e.type === 8) return Buffer.from(e.raw.subarray(8)).toString('utf8');
  return e.value;
}

const f32 = (g, name) => {
  const t = g.tensors.find((x) => x.name === name);
  const b = g.data(t);
  return { t, v: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
};

/** Multiply-adds per token of the layers' matrices, from the file's shapes. */
const layerMacs = (g) => g.tensors.filter((t) => t.name.startsWith('blk.') && t.ne.length === 2).reduce((s, t) => s + t.ne[0] * t.ne[1], 0);

async function pruned(options) {
  const parts = [];
  const result = await pruneModel(BROWN, (b) => parts.push(b), options);
  return { bytes: Buffer.concat(parts), result };
}

test('25% of FFN neurons by magnitude: llama.cpp\'s per-layer arrays, the top-scoring neurons kept, bytes and MACs down by the share', async () => {
  const src = parseGguf(readFileSync(BROWN));
  const { bytes, result } = await pruned({ ffn: 0.25, method: 'magnitude' });
  const g = parseGguf(bytes);
  assert.equal(meta(g, 'general.architecture'), 'llama'); // every layer the same size: llama.cpp's llama reads it
  assert.deepEqual(meta(g, 'llama.feed_forward_length'), { elemType: 4, values: [576, 576, 576, 576] }); // UINT32, as llama.cpp's saver
  assert.deepEqual(meta(g, 'llama.attention.head_count'), { elemType: 4, values: [8, 8, 8, 8] });
  assert.deepEqual(meta(g, 'llama.attention.head_count_kv'), { elemType: 4, values: [4, 4, 4, 4] });
  assert.equal(meta(g, 'llama.attention.key_length'), 32); // llama.cpp would take dim / layer 0's heads otherwise
  assert.equal(meta(g, 'llama.attention.value_length'), 32);
  assert.deepEqual(result.prune.layers.map((l) => l.ffn), [[768, 576], [768, 576], [768, 576], [768, 576]]);
  // every tensor's bytes: FFN matrices lose a quarter, nothing else changes
  const removed = 4 * 3 * 256 * 192 * 4;
  const dataBytes = (x) => x.tensors.reduce((s, t) => s + t.nbytes, 0);
  assert.equal(dataBytes(g), dataBytes(src) - removed);
  assert.ok(Math.abs(bytes.length - (readFileSync(BROWN).length - removed)) < 4096);
  const ffnMacs = 4 * 3 * 256 * 768;
  assert.equal(layerMacs(g), layerMacs(src) - 0.25 * ffnMacs);
  // the kept neurons are the ones with the largest sum of squared weights (gate row, up row, down column), in order
  for (const il of [0, 3]) {
    const gate = f32(src, `blk.${il}.ffn_gate.weight`).v, up = f32(src, `blk.${il}.ffn_up.weight`).v, down = f32(src, `blk.${il}.ffn_down.weight`).v;
    const score = Array.from({ length: 768 }, (_, j) => {
      let s = 0;
      for (let i = 0; i < 256; i++) s += gate[j * 256 + i] ** 2 + up[j * 256 + i] ** 2 + down[i * 768 + j] ** 2;
      return s;
    });
    const kept = [...score.keys()].sort((a, b) => score[b] - score[a]).slice(0, 576).sort((a, b) => a - b);
    const pg = f32(g, `blk.${il}.ffn_gate.weight`).v, pd = f32(g, `blk.${il}.ffn_down.weight`).v;
    kept.forEach((j, k) => {
      assert.deepEqual(pg.subarray(k * 256, (k + 1) * 256), gate.subarray(j * 256, (j + 1) * 256), `layer ${il}: gate row ${k} is neuron ${j}`);
      assert.equal(pd[5 * 576 + k], down[5 * 768 + j]);
    });
  }
  // greenformer runs it, with the layer sizes it says; the engine's own counts (stats.work) of a decode step drop by
  // exactly the pruned FFN's bytes and multiply-adds (same positions, so attention's share is the same)
  const opts = { simd: 'plain', threads: 1, warmup: false, contextLength: 64 };
  const work = async (model) => {
    const gen = model.generate([1, 45, 300], { maxTokens: 6, temperature: 0, ignoreEos: true });
    for await (const _ of gen);
    return gen.stats.work.generated;
  };
  const m = await loadModel(bytes, opts);
  const full = await loadModel(BROWN, opts);
  try {
    assert.deepEqual(m.info().layers.ffnDim, [576, 576, 576, 576]);
    const logits = await m.forward([1, 45, 300]);
    assert.ok(logits.every(Number.isFinite));
    const [wp, wf] = [await work(m), await work(full)];
    assert.equal(wp.tokens, 5);
    assert.equal(wf.tokens, 5);
    assert.equal(wf.weightBytes - wp.weightBytes, 5 * removed);
    assert.equal(wf.floatMacs - wp.floatMacs, 5 * 0.25 * ffnMacs);
    assert.equal(wf.kvBytesRead, wp.kvBytesRead);
  } finally {
    await m.dispose();
    await full.dispose();
  }
});

test('heads go in whole KV groups, the layers chosen by the criterion; layers that differ make a deci file', async () => {
  const { bytes, result } = await pruned({ heads: 0.25, ffn: 0.1, method: 'magnitude' });
  const g = parseGguf(bytes);
  const kv = result.prune.layers.map((l) => l.kvHeads[1]);
  assert.equal(kv.reduce((a, b) => a + b, 0), 12); // 4 of 16 KV groups
  assert.ok(kv.every((k) => k >= 1));
  assert.deepEqual(result.prune.layers.map((l) => l.heads[1]), kv.map((k) => 2 * k)); // the group size stays 2
  const uniform = kv.every((k) => k === kv[0]);
  const arch = uniform ? 'llama' : 'deci';
  assert.equal(meta(g, 'general.architecture'), arch);
  assert.deepEqual(meta(g, `${arch}.attention.head_count_kv`).values, kv);
  assert.deepEqual(meta(g, `${arch}.feed_forward_length`).values, [704, 704, 704, 704]); // 10%: the nearest multiple of 32
  assert.ok(!g.kv.some((e) => e.key.startsWith(uniform ? 'deci.' : 'llama.')), 'every architecture key renamed');
  for (let il = 0; il < 4; il++) {
    assert.deepEqual(g.tensors.find((t) => t.name === `blk.${il}.attn_k.weight`).ne, [256, 32 * kv[il]]);
    assert.deepEqual(g.tensors.find((t) => t.name === `blk.${il}.attn_output.weight`).ne, [64 * kv[il], 256]);
  }
  const m = await loadModel(bytes, { simd: 'plain', threads: 1, warmup: false, contextLength: 64 });
  try {
    assert.deepEqual(m.info().layers.nHeadKv, kv);
    assert.ok((await m.forward([1, 45, 300, 17])).every(Number.isFinite));
  } finally {
    await m.dispose();
  }
});

test('bad shares and options are refused, naming the flag or option and the value', async () => {
  const r = spawnSync(process.execPath, [CLI, 'prune', BROWN, join(tmp, 'x.gguf'), '--ffn', '1.5'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--ffn must be .*1\.5/);
  const one = spawnSync(process.execPath, [CLI, 'prune', BROWN, join(tmp, 'x.gguf'), '--heads', '1'], { encoding: 'utf8' });
  assert.equal(one.status, 2);
  assert.match(one.stderr, /--heads must be a share in \[0, 1\).*got 1/);
  const nocalib = spawnSync(process.execPath, [CLI, 'prune', BROWN, join(tmp, 'x.gguf'), '--ffn', '0.2', '--method', 'hessian'], { encoding: 'utf8' });
  assert.equal(nocalib.status, 2);
  assert.match(nocalib.stderr, /--method hessian needs --calib/);
  await assert.rejects(pruneModel(BROWN, () => {}, { ffn: 1.5 }), /prune: ffn must be a share 0 <= ffn < 1, got 1\.5/);
  await assert.rejects(pruneModel(BROWN, () => {}, { heads: -0.1 }), /prune: heads must be a share 0 <= heads < 1, got -0\.1/);
  await assert.rejects(pruneModel(BROWN, () => {}, { ffn: 0.2, method: 'random' }), /prune: method must be one of 'magnitude', 'activation', 'hessian', got "random"/);
  await assert.rejects(pruneModel(BROWN, () => {}, { heads: 0.99 }), /removes 16 of 16 KV groups; at most 12 can go/);
  await assert.rejects(pruneModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'), () => {}, { ffn: 0.2 }), /prunes llama-architecture models .* this one is qwen2/);
});

test('the planner\'s pruning flag is checked before anything runs', () => {
  const bad = spawnSync(process.execPath, [CLI, 'quantize', BROWN, join(tmp, 'x.gguf'), '--mix', '5', '--calib', BROWN, '--mix-prune', 'random'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--mix-prune must be one of magnitude, activation, hessian, got "random"/);
  const nomix = spawnSync(process.execPath, [CLI, 'quantize', BROWN, join(tmp, 'x.gguf'), '--type', 'Q4_K', '--mix-prune', 'hessian'], { encoding: 'utf8' });
  assert.equal(nomix.status, 2);
  assert.match(nomix.stderr, /--mix-prune needs --mix BITS/);
});

test('prune then quantize in one go (type)', async () => {
  const { bytes, result } = await pruned({ ffn: 0.25, method: 'magnitude', type: 'Q4_0' });
  const g = parseGguf(bytes);
  assert.equal(result.quantize.fileType, 'Q4_0');
  const down = g.tensors.find((t) => t.name === 'blk.2.ffn_down.weight');
  assert.deepEqual([down.ne, down.typeName], [[576, 256], 'Q4_0']);
  assert.deepEqual(meta(g, 'llama.feed_forward_length').values, [576, 576, 576, 576]);
});
