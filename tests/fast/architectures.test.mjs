// qwen2, gpt2, phi3, gemma2 and bert from their GGUF files, held to llama.cpp's outputs:
//  - decoders, teacher-forced: err vs llama.cpp <= max(0.15, 0.5 x llama.cpp's err vs F32), and on the prompt rows
//    our distance from the F32 logits <= 1.1 x llama.cpp's;
//  - bert: per-token states and the mean-pooled vector, cosine >= 0.9999 (F16) / 0.999 (Q8_0) and
//    max|delta| / std <= 0.02 / 0.15, against llama.cpp's own F16 / Q8_0 outputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { errRows, readF32, readJson, sharedPath } from '../helpers/shared.mjs';

for (const arch of ['qwen2', 'gpt2']) {
  const ref = readJson('reference', `tiny-${arch}.json`);
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`${arch} ${type}: tokenizer and teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(sharedPath('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        assert.equal(model.info().architecture, arch);
        assert.deepEqual(await model.tokenize(ref.prompt), ref.prompt_ids);
        const logits = await model.forward(v.tokens);
        const err = errRows(logits, readF32('reference', v.logits), ref.n_vocab, v.rows);
        const bound = Math.max(0.15, 0.5 * v.llamacpp_err_vs_f32);
        const ours = errRows(logits, readF32('reference', ref.f32_prompt_logits), ref.n_vocab, ref.prompt_ids.length);
        t.diagnostic(`${arch} ${type}: err vs llama.cpp ${err.toFixed(5)} (bound ${bound}); prompt rows vs F32: ours ${ours.toFixed(4)}, llama.cpp ${v.llamacpp_err_vs_f32}`);
        assert.ok(err <= bound, `err ${err} > ${bound}`);
        assert.ok(ours <= 1.1 * v.llamacpp_err_vs_f32, `distance from F32 ${ours} > 1.1 x ${v.llamacpp_err_vs_f32}`);
        const gen = model.generate(ref.prompt, { temperature: 0, maxTokens: v.greedy.length, ignoreEos: true });
        for await (const _ of gen);
        assert.deepEqual(gen.stats.tokens, v.greedy, 'greedy continuation');
      } finally {
        await model.dispose();
      }
    });
  }
}

// tiny-archs.json: phi3 (fused attn_qkv, fused gate/up in ffn_up, GQA, sliding_window 2047 in the metadata,
// which llama.cpp ignores for phi3: every layer attends globally).
const archs = readJson('reference', 'tiny-archs.json');
for (const arch of ['phi3']) {
  const ref = archs.archs[arch];
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`${arch} ${type}: teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(sharedPath('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        const info = model.info();
        assert.equal(info.architecture, arch);
        assert.equal(info.blocks.fusedGateUp, true);
        assert.equal(info.slidingWindow, 0);
        assert.deepEqual(info.layers.attention, info.layers.rope.map(() => 'global'));
        const logits = await model.forward(v.tokens);
        const err = errRows(logits, readF32('reference', v.logits), ref.n_vocab, v.tokens.length);
        const bound = Math.max(0.15, 0.5 * v.err_vs_f32);
        const ours = errRows(logits, readF32('reference', ref.f32_prompt_logits), ref.n_vocab, v.prompt_rows);
        t.diagnostic(`${arch} ${type}: err vs llama.cpp ${err.toFixed(5)} (bound ${bound}); prompt rows vs F32: ours ${ours.toFixed(4)}, llama.cpp ${v.err_vs_f32}`);
        assert.ok(err <= bound, `err ${err} > ${bound}`);
        assert.ok(ours <= 1.1 * v.err_vs_f32, `distance from F32 ${ours} > 1.1 x ${v.err_vs_f32}`);
      } finally {
        await model.dispose();
      }
    });
  }
}

// gemma2 (sliding window of 16 on even layers, a 32-token sequence; soft-capped scores and logits; embedding scale,
// GeGLU, sandwich norms): teacher-forced against tiny-archs.json, with the same bounds as the decoders above.
{
  const ref = archs.archs.gemma2;
  for (const [type, v] of Object.entries(ref.variants)) {
    test(`gemma2 ${type}: teacher-forced logits match llama.cpp`, async (t) => {
      const model = await loadModel(sharedPath('models', v.model), { kvCache: 'f32' }); // as the references were made
      try {
        const info = model.info();
        assert.equal(info.architecture, 'gemma2');
        assert.equal(info.slidingWindow, 16);
        assert.ok(v.tokens.length > info.slidingWindow, 'the sequence is longer than the window');
        // the descriptor's per-layer values: even layers windowed, every layer soft-capped at 50, one RoPE base
        assert.deepEqual(info.layers.attention, info.layers.rope.map((_, il) => (il % 2 === 0 ? 'sliding:16' : 'global')));
        assert.deepEqual(info.layers.attentionSoftcap, info.layers.rope.map(() => 50));
        assert.deepEqual([info.blocks.ffn, info.blocks.sandwichNorm, info.blocks.slidingWindowPattern, info.blocks.finalSoftcap], ['geglu', true, 2, 30]);
        assert.ok(Math.abs(info.blocks.embeddingScale - Math.sqrt(info.dim)) < 1e-4);
        const logits = await model.forward(v.tokens);
        const rows = v.tokens.length;
        const err = errRows(logits, readF32('reference', v.logits), ref.n_vocab, rows);
        const bound = Math.max(0.15, 0.5 * v.err_vs_f32);
        const ours = errRows(logits, readF32('reference', ref.f32_prompt_logits), ref.n_vocab, v.prompt_rows);
        t.diagnostic(`gemma2 ${type}: err vs llama.cpp ${err.toFixed(5)} over ${rows} rows (bound ${bound}); prompt rows vs F32: ours ${ours.toFixed(4)}, llama.cpp ${v.err_vs_f32}`);
        assert.ok(err <= bound, `err ${err} > ${bound}`);
        assert.ok(ours <= 1.1 * v.err_vs_f32, `distance from F32 ${ours} > 1.1 x ${v.err_vs_f32}`);
        // the final soft-cap bounds every logit by 30
        let most = 0;
        for (const x of logits) most = Math.max(most, Math.abs(x));
        assert.ok(most <= 30, `logit ${most} above the cap`);
        // a batch, decoding one token at a time and a mix give the same logits (the window across batch edges)
        const step = await model.forward(v.tokens.slice(0, 20));
        assert.deepEqual(Array.from(step.subarray(19 * ref.n_vocab)), Array.from(logits.subarray(19 * ref.n_vocab, 20 * ref.n_vocab)));
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
    const model = await loadModel(sharedPath('models', v.model));
    try {
      const info = model.info();
      assert.equal(info.encoder, true);
      assert.equal(info.causal, false);
      assert.equal(info.pooling, 'mean');
      assert.deepEqual(await model.tokenize(bert.prompt), bert.prompt_ids);
      const states = await model.embed(bert.prompt_ids, { pooling: 'none', normalize: false });
      const refStates = readF32('reference', v.tokens);
      assert.equal(states.length, bert.prompt_ids.length * bert.dim);
      let minCos = 1;
      for (let r = 0; r < bert.prompt_ids.length; r++) {
        minCos = Math.min(minCos, cosine(states.subarray(r * bert.dim, (r + 1) * bert.dim), refStates.subarray(r * bert.dim, (r + 1) * bert.dim)));
      }
      const stateErr = errRows(states, refStates, bert.dim, bert.prompt_ids.length);
      const mean = await model.embed(bert.prompt, { normalize: false });
      const refMean = readF32('reference', v.mean);
      const meanCos = cosine(mean, refMean);
      const meanErr = errRows(mean, refMean, bert.dim, 1);
      t.diagnostic(`bert ${type}: token cosine >= ${minCos.toFixed(6)}, max|d|/std ${stateErr.toFixed(4)}; mean cosine ${meanCos.toFixed(6)}, max|d|/std ${meanErr.toFixed(4)}`);
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
  const model = await loadModel(sharedPath('models', 'tiny-qwen2-Q8_0.gguf'));
  try {
    await assert.rejects(model.embed('x'), /qwen2 is a decoder/);
  } finally {
    await model.dispose();
  }
  const { withStringValue } = await import('../helpers/patch.mjs');
  await assert.rejects(
    loadModel(withStringValue(sharedPath('models', 'tiny-qwen2-Q8_0.gguf'), 'general.architecture', 'qwen9')),
    /architecture 'qwen9' is not supported \(supported: llama, deci, qwen2, qwen3, phi3, smollm3, granite, starcoder2, stablelm, gpt2, bert, gemma2, gemma3\)/,
  );
});

// The descriptor rows as info() and `greenformer info` show them, on small random files of each architecture.
test('info: block choices and per-layer values (API and CLI)', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const { writeArch } = await import('../helpers/fake-arch.mjs');
  const { ROOT } = await import('../helpers/shared.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'gf-arch-info-'));
  try {
    const vocab = sharedPath('models', 'tiny-llama-Q4_0.gguf');
    const base = { dim: 64, ffn: 128, layers: 4, heads: 4, kvHeads: 2, vocab: 32000, ctx: 256 };
    const files = {
      qwen3: writeArch(join(dir, 'qwen3.gguf'), { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, tied: true, pooling: 3 }, vocab) && join(dir, 'qwen3.gguf'),
      smollm3: writeArch(join(dir, 'smollm3.gguf'), { ...base, arch: 'smollm3' }, vocab) && join(dir, 'smollm3.gguf'),
      phi3: writeArch(join(dir, 'phi3.gguf'), { ...base, arch: 'phi3', fusedQkv: true, fusedGateUp: true, ropeDim: 12, longRope: { orig: 128, attnFactor: 1.19 } }, vocab) && join(dir, 'phi3.gguf'),
      granite: writeArch(join(dir, 'granite.gguf'), { ...base, arch: 'granite', scales: { embedding: 12, residual: 0.22, attention: 0.0078125, logit: 8 } }, vocab) && join(dir, 'granite.gguf'),
      starcoder2: writeArch(join(dir, 'starcoder2.gguf'), { ...base, arch: 'starcoder2', layerNorm: true, gelu: true, biases: true }, vocab) && join(dir, 'starcoder2.gguf'),
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
