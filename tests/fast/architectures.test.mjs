// qwen2, gpt2, phi3, gemma2 and bert from their GGUF files (random weights, real vocabularies: tests/fixtures),
// held to native llama.cpp's outputs (tests/fixtures/references.mjs; decoders: next-token log-probabilities, so
// our logits are compared as log-softmax):
//  - decoders, teacher-forced: err vs llama.cpp <= max(0.15, 0.5 x llama.cpp's err vs F32), and on the prompt rows
//    our distance from the F32 log-probabilities <= 1.1 x llama.cpp's;
//  - bert: the first and last tokens' final states and the mean-pooled vector, cosine >= 0.9999 (F16) / 0.999
//    (Q8_0) and max|delta| / std <= 0.02 / 0.15, against llama.cpp's own F16 / Q8_0 outputs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { writeArch } from '../helpers/fake-arch.mjs';
import { ROOT, errRows, fixture, logSoftmaxRows, readF32, readJson } from '../helpers/fixtures.mjs';
import { withStringValue } from '../helpers/patch.mjs';

/** Teacher-forced log-probabilities against the reference: err vs llama.cpp, and the prompt rows' distance from F32. */
async function compare(t, label, model, ref, v) {
  const logits = await model.forward(v.tokens);
  const ours = logSoftmaxRows(logits, ref.n_vocab);
  const err = errRows(ours, readF32('reference', v.logprobs), ref.n_vocab, v.rows);
  const bound = Math.max(0.15, 0.5 * v.llamacpp_err_vs_f32);
  const fromF32 = errRows(ours, readF32('reference', ref.f32_prompt_logprobs), ref.n_vocab, ref.prompt_ids.length);
  t.diagnostic(`${label}: err vs llama.cpp ${err.toFixed(5)} over ${v.rows} rows (bound ${bound}); prompt rows vs F32: ours ${fromF32.toFixed(4)}, llama.cpp ${v.llamacpp_err_vs_f32}`);
  assert.ok(err <= bound, `err ${err} > ${bound}`);
  assert.ok(fromF32 <= 1.1 * v.llamacpp_err_vs_f32, `distance from F32 ${fromF32} > 1.1 x ${v.llamacpp_err_vs_f32}`);
  return logits;
}

for (const arch of ['qwen2', 'gpt2']) {
  const ref = readJson('reference', `tiny-${arch}.json`);
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`${arch} ${type}: tokenizer and teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(fixture('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        assert.equal(model.info().architecture, arch);
        assert.deepEqual(await model.tokenize(ref.prompt), ref.prompt_ids);
        await compare(t, `${arch} ${type}`, model, ref, v);
        const gen = model.generate(ref.prompt, { temperature: 0, maxTokens: v.greedy.length, ignoreEos: true });
        for await (const _ of gen);
        assert.deepEqual(gen.stats.tokens, v.greedy, 'greedy continuation');
      } finally {
        await model.dispose();
      }
    });
  }
}

// phi3 (fused attn_qkv, fused gate/up in ffn_up, GQA, sliding_window 2047 in the metadata, which llama.cpp ignores
// for phi3: every layer attends globally).
{
  const ref = readJson('reference', 'tiny-phi3.json');
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`phi3 ${type}: teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(fixture('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        const info = model.info();
        assert.equal(info.architecture, 'phi3');
        assert.equal(info.blocks.fusedGateUp, true);
        assert.equal(info.slidingWindow, 0);
        assert.deepEqual(info.layers.attention, info.layers.rope.map(() => 'global'));
        await compare(t, `phi3 ${type}`, model, ref, v);
      } finally {
        await model.dispose();
      }
    });
  }
}

// gemma2 (a sliding window of 4 keys on even layers, shorter than the 8-token sequence; soft-capped scores and
// logits; embedding scale, GeGLU, sandwich norms): teacher-forced, with the same bounds as the decoders above.
{
  const ref = readJson('reference', 'tiny-gemma2.json');
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`gemma2 ${type}: teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(fixture('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        const info = model.info();
        assert.equal(info.architecture, 'gemma2');
        assert.equal(info.slidingWindow, 4);
        assert.ok(v.tokens.length > info.slidingWindow + 2, 'the sequence is longer than the window');
        // the descriptor's per-layer values: even layers windowed, every layer soft-capped at 50, one RoPE base
        assert.deepEqual(info.layers.attention, info.layers.rope.map((_, il) => (il % 2 === 0 ? 'sliding:4' : 'global')));
        assert.deepEqual(info.layers.attentionSoftcap, info.layers.rope.map(() => 50));
        assert.deepEqual([info.blocks.ffn, info.blocks.sandwichNorm, info.blocks.slidingWindowPattern, info.blocks.finalSoftcap], ['geglu', true, 2, 30]);
        assert.ok(Math.abs(info.blocks.embeddingScale - Math.sqrt(info.dim)) < 1e-4);
        const logits = await compare(t, `gemma2 ${type}`, model, ref, v);
        // the final soft-cap bounds every logit by 30
        let most = 0;
        for (const x of logits) most = Math.max(most, Math.abs(x));
        assert.ok(most <= 30, `logit ${most} above the cap`);
        // a batch, decoding one token at a time and a mix give the same logits (the window across batch edges)
        const n = 6;
        const step = await model.forward(v.tokens.slice(0, n));
        assert.deepEqual(Array.from(step.subarray((n - 1) * ref.n_vocab)), Array.from(logits.subarray((n - 1) * ref.n_vocab, n * ref.n_vocab)));
      } finally {
        await model.dispose();
      }
    });
  }
}

function cosine(a, b) {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return d / Math.sqrt(x * y);
}

const bert = readJson('reference', 'tiny-bert.json');
for (const [type, bounds] of [['F16', { cos: 0.9999, err: 0.02 }], ['Q8_0', { cos: 0.999, err: 0.15 }]]) {
  test(`bert ${type}: token states and mean pooling match llama.cpp`, async (t) => {
    const v = bert.variants[type];
    const model = await loadModel(fixture('models', v.model));
    try {
      const info = model.info();
      assert.equal(info.encoder, true);
      assert.equal(info.causal, false);
      assert.equal(info.pooling, 'mean');
      assert.deepEqual(await model.tokenize(bert.prompt), bert.prompt_ids);
      const n = bert.prompt_ids.length, dim = bert.dim;
      const states = await model.embed(bert.prompt_ids, { pooling: 'none', normalize: false });
      assert.equal(states.length, n * dim);
      // llama.cpp gives one vector per sequence: the first and the last token's states (pooling cls, last)
      const refStates = Float32Array.from([...v.first, ...v.last]);
      const ends = Float32Array.from([...states.subarray(0, dim), ...states.subarray((n - 1) * dim)]);
      const minCos = Math.min(cosine(ends.subarray(0, dim), refStates.subarray(0, dim)), cosine(ends.subarray(dim), refStates.subarray(dim)));
      const stateErr = errRows(ends, refStates, dim, 2);
      const mean = await model.embed(bert.prompt, { normalize: false });
      const refMean = Float32Array.from(v.mean);
      const meanCos = cosine(mean, refMean);
      const meanErr = errRows(mean, refMean, dim, 1);
      t.diagnostic(`bert ${type}: first/last token cosine >= ${minCos.toFixed(6)}, max|d|/std ${stateErr.toFixed(4)}; mean cosine ${meanCos.toFixed(6)}, max|d|/std ${meanErr.toFixed(4)}`);
      assert.ok(minCos >= bounds.cos && meanCos >= bounds.cos);
      assert.ok(stateErr <= bounds.err && meanErr <= bounds.err);
      // normalization, cls pooling, batches of texts
      const unit = await model.embed(bert.prompt);
      assert.ok(Math.abs(Math.hypot(...unit) - 1) < 1e-5);
      assert.ok(cosine(unit, refMean) >= bounds.cos);
      const cls = await model.embed(bert.prompt_ids, { pooling: 'cls', normalize: false });
      assert.deepEqual(Array.from(cls), Array.from(states.subarray(0, bert.dim)));
      const batch = await model.embed([bert.prompt, 'hello world']);
      assert.equal(batch.length, 2);
      assert.deepEqual(Array.from(batch[0]), Array.from(unit));
      await assert.rejects(model.forward([101, 102]), /encoder: use embed/);
      await assert.rejects(async () => {
        for await (const _ of model.generate('x'));
      }, /encoder/);
      await assert.rejects(model.embed('x', { pooling: 'max' }), /pooling must be/);
    } finally {
      await model.dispose();
    }
  });
}

test('decoders refuse embed; unsupported architectures are named with the supported list', async () => {
  const model = await loadModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'));
  try {
    await assert.rejects(model.embed('x'), /qwen2 is a decoder/);
  } finally {
    await model.dispose();
  }
  await assert.rejects(
    loadModel(withStringValue(fixture('models', 'tiny-qwen2-Q8_0.gguf'), 'general.architecture', 'qwen9')),
    /architecture 'qwen9' is not supported \(supported: llama, deci, qwen2, qwen3, phi3, smollm3, granite, starcoder2, stablelm, gpt2, bert, gemma2, gemma3, olmo2\)/,
  );
});

// The descriptor rows as info() and `greenformer info` show them, on small random files of each architecture.
test('info: block choices and per-layer values (API and CLI)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-arch-info-'));
  try {
    const vocab = fixture('tokenizers', 'ggml-vocab-llama-spm.gguf');
    const base = { dim: 64, ffn: 128, layers: 4, heads: 4, kvHeads: 2, vocab: 32000, ctx: 256 };
    const files = {
      qwen3: writeArch(join(dir, 'qwen3.gguf'), { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, tied: true, pooling: 3 }, vocab) && join(dir, 'qwen3.gguf'),
      smollm3: writeArch(join(dir, 'smollm3.gguf'), { ...base, arch: 'smollm3' }, vocab) && join(dir, 'smollm3.gguf'),
      phi3: writeArch(join(dir, 'phi3.gguf'), { ...base, arch: 'phi3', fusedQkv: true, fusedGateUp: true, ropeDim: 12, longRope: { orig: 128, attnFactor: 1.19 } }, vocab) && join(dir, 'phi3.gguf'),
      granite: writeArch(join(dir, 'granite.gguf'), { ...base, arch: 'granite', scales: { embedding: 12, residual: 0.22, attention: 0.0078125, logit: 8 } }, vocab) && join(dir, 'granite.gguf'),
      starcoder2: writeArch(join(dir, 'starcoder2.gguf'), { ...base, arch: 'starcoder2', layerNorm: true, gelu: true, biases: true }, vocab) && join(dir, 'starcoder2.gguf'),
      olmo2: writeArch(join(dir, 'olmo2.gguf'), { ...base, arch: 'olmo2', qkNorm: 'whole', outputNorms: true }, vocab) && join(dir, 'olmo2.gguf'),
    };
    const infos = {};
    for (const [arch, path] of Object.entries(files)) {
      const model = await loadModel(path, { inspect: true });
      infos[arch] = model.info();
      await model.dispose();
    }
    const q = infos.qwen3;
    assert.equal(q.headDim, 32); // attention.key_length, not 64 / 4
    assert.equal(q.pooling, 'last');
    assert.deepEqual([q.blocks.norm, q.blocks.rope, q.blocks.ffn, q.blocks.qkNorm, q.blocks.fusedQkv], ['rms', 'neox', 'swiglu', true, false]);
    assert.deepEqual(q.layers.rope, [true, true, true, true]);
    const s = infos.smollm3;
    assert.equal(s.blocks.noRopeEvery, 4);
    assert.equal(s.blocks.rope, 'adjacent');
    assert.deepEqual(s.layers.rope, [true, true, true, false]);
    assert.deepEqual(s.layers.ropeBase, [10000, 10000, 10000, 0]);
    assert.deepEqual(s.layers.nHead, [4, 4, 4, 4]);
    assert.deepEqual(s.layers.ffnDim, [128, 128, 128, 128]);
    const p = infos.phi3;
    assert.deepEqual([p.blocks.fusedQkv, p.blocks.fusedGateUp, p.blocks.ropeFactors, p.ropeDim, p.headDim], [true, true, 'longrope', 12, 16]);
    assert.ok(Math.abs(p.blocks.ropeAttnFactor - 1.19) < 1e-6);
    assert.deepEqual(p.layers.attention, ['global', 'global', 'global', 'global']);

    const g = infos.granite.blocks;
    assert.deepEqual([g.embeddingScale, g.residualScale, g.attentionScale, g.logitScale].map((x) => +x.toPrecision(6)), [12, 0.22, 0.0078125, 8]);
    assert.ok(Math.abs(q.blocks.attentionScale - 1 / Math.sqrt(32)) < 1e-6);
    const sc = infos.starcoder2.blocks;
    assert.deepEqual([sc.norm, sc.rope, sc.ffn], ['layer', 'neox', 'gelu']);
    // olmo2: norms only on each block's output (before the residual add), q/k norms over the whole projection
    const o = infos.olmo2.blocks;
    assert.deepEqual([o.norm, o.normPlace, o.sandwichNorm, o.qkNorm, o.qkNormScope, o.rope, o.ffn], ['rms', 'output', true, true, 'whole', 'neox', 'swiglu']);
    assert.deepEqual([q.blocks.normPlace, q.blocks.qkNormScope, sc.qkNormScope], ['pre', 'head', null]);

    const r = spawnSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), 'info', files.smollm3], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(r.stdout);
    assert.equal(cli.layers, 4);
    assert.deepEqual(cli.blocks, s.blocks);
    assert.deepEqual(cli.perLayer, s.layers);
    assert.match(r.stdout, /"rope": \[true,true,true,false\]/); // one line per per-layer array
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// RoPE scaling as llama.cpp reads rope.scaling.*, and OLMo 3's window (llama.cpp's olmo2 with
// attention.sliding_window): which layers are windowed and which RoPE is scaled, in info() and `greenformer info`;
// the values llama.cpp's output depends on are held to native llama.cpp in tests/slow/archs-native.test.mjs.
test('info: YaRN scaling, OLMo 3 window patterns and unscaled windowed layers; bad scaling keys named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-rope-scaling-'));
  const vocab = fixture('tokenizers', 'ggml-vocab-llama-spm.gguf');
  const base = { dim: 64, ffn: 128, layers: 4, heads: 4, kvHeads: 2, vocab: 32000, ctx: 256 };
  const olmo = { ...base, arch: 'olmo2', qkNorm: 'whole', outputNorms: true };
  const info = async (name, spec) => {
    const path = join(dir, `${name}.gguf`);
    writeArch(path, spec, vocab);
    const model = await loadModel(path, { inspect: true });
    try {
      return { path, i: model.info() };
    } finally {
      await model.dispose();
    }
  };
  try {
    // YaRN with the defaults llama.cpp takes (ext_factor 1, beta_fast 32, beta_slow 1), magnitude (1 + 0.1 ln 4) x attn_factor
    const yarn = await info('qwen3-yarn', { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, ropeScaling: { type: 'yarn', factor: 4, orig: 64, attnFactor: 1.5 } });
    const b = yarn.i.blocks;
    assert.deepEqual([b.ropeScaling, b.ropeFreqScale, b.ropeContextOriginal, b.yarnExtFactor, b.yarnBetaFast, b.yarnBetaSlow], ['yarn', 0.25, 64, 1, 32, 1]);
    assert.ok(Math.abs(b.ropeMagnitude - 1.5 * (1 + 0.1 * Math.log(4))) < 1e-5, `magnitude ${b.ropeMagnitude}`);
    assert.deepEqual(yarn.i.layers.ropeScaled, [true, true, true, true]);
    // the rope.scaling.yarn_* keys when a file has them; linear has no magnitude; no keys: no scaling
    const keyed = await info('qwen3-yarn-keys', { ...base, arch: 'qwen3', qkNorm: true, ropeScaling: { type: 'yarn', factor: 2, yarn: { betaFast: 16, betaSlow: 2, extFactor: 0.5 } } });
    assert.deepEqual([keyed.i.blocks.yarnBetaFast, keyed.i.blocks.yarnBetaSlow, keyed.i.blocks.yarnExtFactor, keyed.i.blocks.ropeContextOriginal], [16, 2, 0.5, 256]);
    const linear = await info('llama-linear', { ...base, arch: 'llama', ropeScaling: { type: 'linear', factor: 2 } });
    assert.deepEqual([linear.i.blocks.ropeScaling, linear.i.blocks.ropeFreqScale, linear.i.blocks.ropeMagnitude, linear.i.blocks.yarnExtFactor], ['linear', 0.5, 1, 0]);
    const plain = await info('llama', { ...base, arch: 'llama' });
    assert.deepEqual([plain.i.blocks.ropeScaling, plain.i.blocks.ropeFreqScale], ['none', 1]);
    assert.deepEqual(plain.i.layers.ropeScaled, [false, false, false, false]);

    // OLMo 3: three windowed layers in four by default, unscaled; OLMo 2 (no window): every layer global and scaled
    const olmo3 = await info('olmo3', { ...olmo, window: 16, ropeScaling: { type: 'yarn', factor: 8, orig: 64 } });
    assert.deepEqual(olmo3.i.layers.attention, ['sliding:16', 'sliding:16', 'sliding:16', 'global']);
    assert.deepEqual(olmo3.i.layers.ropeScaled, [false, false, false, true]);
    assert.equal(olmo3.i.slidingWindow, 16);
    const olmo2 = await info('olmo2-yarn', { ...olmo, ropeScaling: { type: 'yarn', factor: 8, orig: 64 } });
    assert.deepEqual(olmo2.i.layers.attention, ['global', 'global', 'global', 'global']);
    assert.deepEqual(olmo2.i.layers.ropeScaled, [true, true, true, true]);
    // attention.sliding_window_pattern: a period, or one bool per layer (OLMo 3's converter)
    const period = await info('olmo3-period', { ...olmo, window: 16, windowPattern: 2 });
    assert.deepEqual(period.i.layers.attention, ['sliding:16', 'global', 'sliding:16', 'global']);
    assert.deepEqual(period.i.layers.ropeScaled, [false, false, false, false]); // no scaling
    const bools = await info('olmo3-bools', { ...olmo, window: 16, windowPattern: [false, true, true, false], ropeScaling: { type: 'yarn', factor: 8 } });
    assert.deepEqual(bools.i.layers.attention, ['global', 'sliding:16', 'sliding:16', 'global']);
    assert.deepEqual(bools.i.layers.ropeScaled, [true, false, false, true]);

    // `greenformer info` shows the same
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), 'info', olmo3.path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(r.stdout);
    assert.deepEqual(cli.blocks, olmo3.i.blocks);
    assert.deepEqual(cli.perLayer.ropeScaled, [false, false, false, true]);
    assert.equal(cli.blocks.ropeScaling, 'yarn');

    const bad = [
      [{ ...base, arch: 'llama', ropeScaling: { type: 'dynamic', factor: 2 } }, /rope scaling 'dynamic' is not supported \(supported: none, linear, yarn, longrope\)/],
      [{ ...base, arch: 'qwen3', qkNorm: true, ropeScaling: { type: 'yarn', factor: 4, yarn: { betaFast: -1 } } }, /qwen3\.rope\.scaling\.yarn_beta_fast -1 is out of range/],
      [{ ...base, arch: 'qwen3', qkNorm: true, ropeScaling: { type: 'yarn', factor: -4 } }, /rope\.scaling\.factor -4 is out of range/],
      [{ ...olmo, window: 16, windowPattern: [true, false] }, /'olmo2\.attention\.sliding_window_pattern' is an array of 2 bool; a per-layer pattern is one bool per layer \(block_count 4\)/],
      [{ ...olmo, window: 16, windowPattern: 0 }, /'olmo2\.attention\.sliding_window_pattern' = 0 must be positive/],
    ];
    for (const [k, [spec, message]] of bad.entries()) {
      const path = join(dir, `bad${k}.gguf`);
      writeArch(path, spec, vocab);
      await assert.rejects(loadModel(path, { inspect: true }), message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
