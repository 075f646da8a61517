// Architectures the shared llama.cpp is too old for (qwen3, smollm3, olmo2 and
// OLMo 3), phi3's rarer features (LongRoPE factors and attn_factor, partial
// rotary, fused QKV and gate/up) and YaRN RoPE scaling, held to native llama.cpp (node-llama-cpp's 2026 build) on small
// random-weight F32 files written here: log-probabilities of every next token
// at every position within 0.01 nats. llama.cpp runs on one thread, without
// flash attention, with an F32 KV cache; greenformer with an F32 cache.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { writeArch } from '../helpers/fake-arch.mjs';
import { fixture } from '../helpers/fixtures.mjs';
import { nativeLlama, nativeLogProbMaps } from '../fixtures/native.mjs';

const dir = mkdtempSync(join(tmpdir(), 'gf-archs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// the llama SentencePiece vocabulary (32000 tokens); phi3's adds its chat tokens (32064), which llama.cpp requires for phi3
const VOCAB = fixture('tokenizers', 'ggml-vocab-llama-spm.gguf');
const PHI3_VOCAB = fixture('tokenizers', 'ggml-vocab-phi-3.gguf');
const CTX = 64;
const TOKENS = [1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366, 11203, 29889, 9038, 2501, 263, 931, 4952, 1570, 13716];
const TOL = 0.01;
// 48 positions, for the cases whose original context (YaRN) or window (OLMo 3) is shorter than the sequence
const LONG = [...TOKENS, ...Array.from({ length: 28 }, (_, i) => 3 + ((i + 1) * 7919) % 31000)];

const nativeLogProbs = (path, tokens) => nativeLogProbMaps(path, tokens, CTX);

/** greenformer's log-softmax of the forward() logits, rows of n_vocab. */
async function ourLogProbs(path, tokens, options = {}) {
  const model = await loadModel(path, { simd: 'plain', threads: 1, kvCache: 'f32', contextLength: CTX, ...options });
  try {
    const info = model.info();
    const logits = await model.forward(tokens);
    const n = info.nVocab, rows = [];
    for (let r = 0; r < tokens.length; r++) {
      const x = logits.subarray(r * n, (r + 1) * n);
      let max = -Infinity;
      for (const v of x) max = Math.max(max, v);
      let sum = 0;
      for (const v of x) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      rows.push(Float64Array.from(x, (v) => v - lse));
    }
    return { rows, info };
  } finally {
    await model.dispose();
  }
}

/** max |Δ log p| over every position and every token llama.cpp gives a probability above 1e-6. */
function maxDiff(ours, native) {
  let worst = 0, compared = 0;
  native.forEach((m, r) => {
    for (const [id, lp] of m) {
      if (lp < Math.log(1e-6)) continue;
      worst = Math.max(worst, Math.abs(ours[r][id] - lp));
      compared++;
    }
  });
  return { worst, compared };
}

const base = { dim: 64, ffn: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 32000, ctx: 256, std: 0.12 };
const cases = [
  // head size 32 from attention.key_length, not dim / heads = 16; per-head q/k RMS norms; tied output
  { name: 'qwen3', spec: { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, tied: true, ropeBase: 1e6 }, check: (i) => assert.equal(i.headDim, 32) },
  // four layers: the fourth is a NoPE layer ((il + 1) % 4 == 0)
  // four layers: the fourth is a NoPE layer ((il + 1) % 4 == 0); the same weights as a llama (RoPE everywhere) must
  // miss llama.cpp's smollm3 by far more than the tolerance, or the test could not see the NoPE layer
  {
    name: 'smollm3',
    spec: { ...base, arch: 'smollm3', layers: 4 },
    check: (i) => assert.deepEqual(i.layers.rope, [true, true, true, false]),
    controls: [{ ...base, arch: 'llama', layers: 4 }],
  },
  // olmo2: no norm before the blocks, RMSNorm of each block's output before the residual add (post_attention_norm,
  // post_ffw_norm), q/k RMSNorm over the whole Q / K projection (rows of heads x head_dim, not per head), NEOX RoPE,
  // separate output. (Normalizing per head instead, as qwen3 does, misses native llama.cpp by 2.35 nats here.)
  {
    name: 'olmo2',
    spec: { ...base, arch: 'olmo2', qkNorm: 'whole', outputNorms: true, std: 0.25 },
    check: (i) => assert.deepEqual([i.blocks.normPlace, i.blocks.qkNormScope, i.blocks.sandwichNorm, i.blocks.rope], ['output', 'whole', true, 'neox']),
  },
  // LayerNorm with biases, biases on every projection, GELU FFN (up, down), NEOX RoPE, GQA
  { name: 'starcoder2', spec: { ...base, arch: 'starcoder2', layerNorm: true, gelu: true, biases: true } },
  // LayerNorm, partial rotary (a quarter of the head), Q/K/V biases (stablelm-2-1_6b), SwiGLU
  { name: 'stablelm', spec: { ...base, arch: 'stablelm', layerNorm: true, qkvBiases: true, ropeDim: 4, kvHeads: 4 } },
  // granite: the embedding, each block's output and the logits scaled, attention.scale in place of 1 / sqrt(head_dim)
  { name: 'granite', spec: { ...base, arch: 'granite', scales: { embedding: 6, residual: 0.22, attention: 0.0625, logit: 0.5 } } },
  // fused attn_qkv and gate/up, partial rotary (Phi-4-mini: 3/4 of the head), LongRoPE short factors (context within the original)
  {
    name: 'phi3 (partial rotary, LongRoPE short factors)',
    vocab: PHI3_VOCAB,
    spec: { ...base, arch: 'phi3', vocab: 32064, fusedQkv: true, fusedGateUp: true, ropeDim: 12, longRope: { orig: 1024, attnFactor: 1.19 } },
    check: (i) => assert.equal(i.blocks.ropeFactors, 'longrope'),
  },
  // YaRN (Qwen3's long-context setting, factor 4) with an original context of 32 below the 48 positions: the
  // interpolated frequencies, the ramp (pairs 0..4 of 32 keep theirs at base 1e6) and the magnitude 1 + 0.1 ln 4;
  // the same weights with linear scaling by 4 (no ramp, no magnitude) must miss llama.cpp by far more than TOL
  {
    name: 'qwen3 with YaRN factor 4, original context 32',
    tokens: LONG,
    spec: { ...base, arch: 'qwen3', headDim: 64, qkNorm: true, tied: true, ropeBase: 1e6, ropeScaling: { type: 'yarn', factor: 4, orig: 32 } },
    check: (i) => {
      assert.deepEqual([i.blocks.ropeScaling, i.blocks.ropeContextOriginal, i.blocks.yarnExtFactor, i.blocks.yarnBetaFast, i.blocks.yarnBetaSlow], ['yarn', 32, 1, 32, 1]);
      assert.ok(Math.abs(i.blocks.ropeMagnitude - (1 + 0.1 * Math.log(4))) < 1e-5); // info prints 6 digits
      assert.deepEqual(i.layers.ropeScaled, [true, true]);
    },
    controls: [{ ...base, arch: 'qwen3', headDim: 64, qkNorm: true, tied: true, ropeBase: 1e6, ropeScaling: { type: 'linear', factor: 4 } }],
  },
  // OLMo 3 (llama.cpp's olmo2 with attention.sliding_window): a window of 8 on three layers in four (the pattern as
  // OLMo 3's converter writes it, one bool per layer), YaRN factor 8 with attn_factor 1.2 on the fourth (global)
  // layer only, the windowed layers' RoPE unscaled. Controls: without the window; and YaRN on every layer (a qwen3-like
  // reading of the file is not expressible as a file: that one is the mutation the source comment names)
  {
    name: 'olmo2 as OLMo 3 (sliding window 8 on 3 of 4 layers, YaRN on the global one)',
    tokens: LONG,
    spec: {
      ...base, arch: 'olmo2', layers: 4, qkNorm: 'whole', outputNorms: true, std: 0.25, window: 8, windowPattern: [true, true, true, false],
      ropeScaling: { type: 'yarn', factor: 8, orig: 32, attnFactor: 1.2 },
    },
    check: (i) => {
      assert.deepEqual(i.layers.attention, ['sliding:8', 'sliding:8', 'sliding:8', 'global']);
      assert.deepEqual(i.layers.ropeScaled, [false, false, false, true]);
      assert.equal(i.blocks.ropeScaling, 'yarn');
    },
    controls: [{ ...base, arch: 'olmo2', layers: 4, qkNorm: 'whole', outputNorms: true, std: 0.25, ropeScaling: { type: 'yarn', factor: 8, orig: 32, attnFactor: 1.2 } }],
  },
  // Llama 3.x (every Llama 3.1/3.2 GGUF): rope_freqs.weight divides each pair's frequency, RoPE base 500000; the same
  // weights without the tensor must miss llama.cpp by far more than TOL
  {
    name: 'llama with rope_freqs (Llama 3 rope scaling)',
    tokens: LONG,
    spec: { ...base, arch: 'llama', ropeBase: 500000, ropeFreqs: 8, std: 0.25 },
    check: (i) => assert.equal(i.blocks.ropeFactors, 'rope_freqs'),
    controls: [{ ...base, arch: 'llama', ropeBase: 500000, std: 0.25 }],
  },
  { name: 'phi3 (partial rotary)', vocab: PHI3_VOCAB, spec: { ...base, arch: 'phi3', vocab: 32064, fusedQkv: true, fusedGateUp: true, ropeDim: 12 } },
  { name: 'phi3 (LongRoPE short factors)', vocab: PHI3_VOCAB, spec: { ...base, arch: 'phi3', vocab: 32064, fusedQkv: true, fusedGateUp: true, longRope: { orig: 1024, attnFactor: 1.19 } } },
  // the original context below ours: the long factors (llama.cpp pads its context to a multiple of 256 before choosing)
  {
    name: 'phi3 (LongRoPE long factors)',
    vocab: PHI3_VOCAB,
    spec: { ...base, arch: 'phi3', vocab: 32064, fusedQkv: true, fusedGateUp: true, longRope: { orig: 32, attnFactor: 1.19 } },
  },
];

for (const [k, c] of cases.entries()) {
  test(`${c.name}: log-probabilities within ${TOL} nats of native llama.cpp at every position`, async (t) => {
    const path = join(dir, `case${k}.gguf`);
    const tokens = c.tokens ?? TOKENS;
    writeArch(path, c.spec, c.vocab ?? VOCAB, 7 + k);
    const native = await nativeLogProbs(path, tokens);
    const { rows, info } = await ourLogProbs(path, tokens);
    assert.equal(info.architecture, c.spec.arch);
    c.check?.(info);
    const { worst, compared } = maxDiff(rows, native);
    // how peaked the distributions are: an architecture mistake must move them by far more than TOL
    const top = native.map((m) => Math.max(...m.values()));
    t.diagnostic(`${c.name}: max |Δ log p| ${worst.toExponential(3)} over ${compared} (position, token) pairs; top log p ${Math.min(...top).toFixed(2)}..${Math.max(...top).toFixed(2)}`);
    assert.ok(compared >= tokens.length * 100, `only ${compared} probabilities compared`);
    assert.ok(worst <= TOL, `max |Δ log p| ${worst} > ${TOL}`);
    // the same weights read another way must miss llama.cpp by far more than TOL, or the test could not see the difference
    for (const [j, control] of (c.controls ?? []).entries()) {
      const controlPath = join(dir, `case${k}-control${j}.gguf`);
      writeArch(controlPath, control, c.vocab ?? VOCAB, 7 + k);
      const off = maxDiff((await ourLogProbs(controlPath, tokens)).rows, native).worst;
      const what = JSON.stringify({ arch: control.arch, ropeScaling: control.ropeScaling, window: control.window });
      t.diagnostic(`${c.name}: the same weights as ${what}: max |Δ log p| ${off.toFixed(3)}`);
      assert.ok(off > 10 * TOL, `the control ${what} is only ${off} away`);
    }
  });
}

// Qwen3-Embedding: a qwen3 decoder whose file sets pooling_type 3 (last token): the output norm's state of the
// last token, as llama.cpp's embedding context gives it.
test('qwen3 with pooling_type last: embed() matches native llama.cpp embeddings', async (t) => {
  const path = join(dir, 'qwen3-embedding.gguf');
  writeArch(path, { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, tied: true, ropeBase: 1e6, pooling: 3 }, VOCAB, 3);
  const llama = await nativeLlama();
  const nmodel = await llama.loadModel({ modelPath: path });
  let ref;
  try {
    const ectx = await nmodel.createEmbeddingContext({ contextSize: CTX, threads: 1 });
    try {
      ref = Float64Array.from((await ectx.getEmbeddingFor(TOKENS)).vector);
    } finally {
      await ectx.dispose();
    }
  } finally {
    await nmodel.dispose();
  }
  const model = await loadModel(path, { simd: 'plain', threads: 1, kvCache: 'f32', contextLength: CTX });
  try {
    assert.equal(model.info().pooling, 'last');
    const raw = await model.embed(TOKENS, { normalize: false });
    const unit = await model.embed(TOKENS);
    // node-llama-cpp may hand back the vector normalized: compare directions, and magnitudes when they are raw
    const norm = (v) => Math.hypot(...v);
    let cos = 0;
    for (let i = 0; i < ref.length; i++) cos += (unit[i] * ref[i]) / norm(ref);
    const scaleErr = Math.abs(norm(ref) - norm(raw)) / norm(raw);
    t.diagnostic(`qwen3 last-token embedding: cosine ${cos.toFixed(7)}, |ref| ${norm(ref).toFixed(4)}, |ours| ${norm(raw).toFixed(4)}`);
    assert.equal(raw.length, base.dim);
    assert.ok(cos > 0.99999, `cosine ${cos}`);
    assert.ok(Math.abs(norm(ref) - 1) < 1e-4 || scaleErr < 1e-4, `magnitude ${norm(ref)} vs ${norm(raw)}`);
  } finally {
    await model.dispose();
  }
});

// Split models: llama.cpp loads the shards `greenformer split` writes (from the first shard's path), with the
// log-probabilities of the unsplit file, and greenformer loads them with its own unsplit logits.
test('split model: native llama.cpp loads our gguf-split shards, same log-probabilities as the unsplit file', async (t) => {
  const { splitGguf } = await import('../../bin/commands/split.mjs');
  const path = join(dir, 'split-src.gguf');
  writeArch(path, { ...base, arch: 'qwen3', headDim: 32, qkNorm: true, tied: true, ropeBase: 1e6 }, VOCAB, 5);
  const shards = await splitGguf(path, join(dir, 'split'), { maxTensors: 5 });
  t.diagnostic(`${shards.length} shards`);
  assert.ok(shards.length >= 3);
  const whole = await nativeLogProbs(path, TOKENS);
  const split = await nativeLogProbs(shards[0], TOKENS);
  let same = 0;
  whole.forEach((m, r) => {
    for (const [id, lp] of m) assert.equal(split[r].get(id), lp), same++;
  });
  const ours = await ourLogProbs(shards[0], TOKENS);
  assert.equal(ours.info.shards, shards.length);
  assert.deepEqual(ours.rows, (await ourLogProbs(path, TOKENS)).rows);
  const { worst } = maxDiff(ours.rows, split);
  t.diagnostic(`native split == unsplit on ${same} log-probabilities; greenformer split vs native split max |Δ log p| ${worst.toExponential(3)}`);
  assert.ok(worst <= TOL);
});
