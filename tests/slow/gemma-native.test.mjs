// gemma3 against native llama.cpp (node-llama-cpp's prebuilt CPU build, llama.cpp of 2026): the shared
// llama.cpp is too old for gemma3, so the test writes a small random-weight gemma3 GGUF itself (F32 weights,
// the real 32k llama SentencePiece vocabulary so llama.cpp accepts it) with a sliding window of 8 keys,
// shorter than the 40-token sequence, seven layers (llama.cpp's pattern: five windowed, one global, one
// windowed), heads wider than dim / heads (attention.key_length), a global RoPE base apart from the local
// layers' 10000, per-head q/k norms, sandwich norms and GeGLU. Each position's next-token log-probabilities
// must be within 0.01 nats of llama.cpp's, for every token. Again with linear RoPE scaling by 8 (Gemma 3 4B and
// larger have it), which llama.cpp applies to the global layers only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { buildHeader, readGGUF, VT } from '../../bench/lib/gguf.mjs';
import { Rng } from '../../bench/lib/rng.mjs';
import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

const SHAPE = { dim: 96, ffn: 192, layers: 7, heads: 4, kvHeads: 2, headDim: 32, window: 8, ctx: 256 };
const N_TOKENS = 40;

/** The tokenizer.ggml.* keys of a llama vocabulary file, with their GGUF value types. */
function vocabKeys(file) {
  const { kv } = readGGUF(file);
  const out = [];
  const arrays = { 'tokenizer.ggml.tokens': VT.STR, 'tokenizer.ggml.scores': VT.F32, 'tokenizer.ggml.token_type': VT.I32 };
  for (const [k, v] of kv) {
    if (!k.startsWith('tokenizer.ggml.')) continue;
    if (arrays[k] !== undefined) out.push([k, VT.ARR, { type: arrays[k], values: v }]);
    else if (typeof v === 'string') out.push([k, VT.STR, v]);
    else if (typeof v === 'boolean') out.push([k, VT.BOOL, v]);
    else if (Number.isInteger(v)) out.push([k, VT.U32, v]);
  }
  return { keys: out, nVocab: kv.get('tokenizer.ggml.tokens').length };
}

/** Writes a random gemma3 model: matrices N(0, 0.02), embeddings N(0, 0.05), norms 1 + U(-0.1, 0.1); extra metadata. */
function writeGemma3(file, extra = []) {
  const { dim, ffn, layers, heads, kvHeads, headDim, window, ctx } = SHAPE;
  const vocab = vocabKeys(fixture('tokenizers', 'ggml-vocab-llama-spm.gguf'));
  const n = vocab.nVocab;
  const kvs = [
    ['general.architecture', VT.STR, 'gemma3'],
    ['general.name', VT.STR, 'greenformer-test-gemma3'],
    ['gemma3.context_length', VT.U32, ctx],
    ['gemma3.embedding_length', VT.U32, dim],
    ['gemma3.block_count', VT.U32, layers],
    ['gemma3.feed_forward_length', VT.U32, ffn],
    ['gemma3.attention.head_count', VT.U32, heads],
    ['gemma3.attention.head_count_kv', VT.U32, kvHeads],
    ['gemma3.attention.key_length', VT.U32, headDim],
    ['gemma3.attention.value_length', VT.U32, headDim],
    ['gemma3.attention.layer_norm_rms_epsilon', VT.F32, 1e-6],
    ['gemma3.rope.freq_base', VT.F32, 1e6],
    ['gemma3.attention.sliding_window', VT.U32, window],
    ...extra,
    ...vocab.keys,
  ];
  const tensors = [{ name: 'token_embd.weight', ne: [dim, n], type: 'F32', std: 0.05 }];
  const norm = (name, len) => tensors.push({ name, ne: [len], type: 'F32', norm: true });
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    norm(p + 'attn_norm.weight', dim);
    tensors.push(
      { name: p + 'attn_q.weight', ne: [dim, heads * headDim], type: 'F32' },
      { name: p + 'attn_k.weight', ne: [dim, kvHeads * headDim], type: 'F32' },
      { name: p + 'attn_v.weight', ne: [dim, kvHeads * headDim], type: 'F32' },
    );
    norm(p + 'attn_q_norm.weight', headDim);
    norm(p + 'attn_k_norm.weight', headDim);
    tensors.push({ name: p + 'attn_output.weight', ne: [heads * headDim, dim], type: 'F32' });
    norm(p + 'post_attention_norm.weight', dim);
    norm(p + 'ffn_norm.weight', dim);
    tensors.push(
      { name: p + 'ffn_gate.weight', ne: [dim, ffn], type: 'F32' },
      { name: p + 'ffn_up.weight', ne: [dim, ffn], type: 'F32' },
      { name: p + 'ffn_down.weight', ne: [ffn, dim], type: 'F32' },
    );
    norm(p + 'post_ffw_norm.weight', dim);
  }
  norm('output_norm.weight', dim); // output tied to token_embd
  const { header, offsets, dataStart, dataSize } = buildHeader(kvs, tensors, 32);
  const buf = Buffer.alloc(dataStart + dataSize);
  header.copy(buf, 0);
  const rng = new Rng(20260);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  tensors.forEach((t, k) => {
    const count = t.ne.reduce((a, b) => a * b, 1);
    const f = new Float32Array(buf.buffer, buf.byteOffset + dataStart + offsets[k], count);
    for (let i = 0; i < count; i++) f[i] = t.norm ? 1 + (rng.float() - 0.5) * 0.2 : gauss() * (t.std ?? 0.02);
  });
  fs.writeFileSync(file, buf);
  return n;
}

function logSoftmax(row) {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

const SCALED = [['gemma3.rope.scaling.type', VT.STR, 'linear'], ['gemma3.rope.scaling.factor', VT.F32, 8]];
for (const [label, extra] of [['', []], [', linear RoPE scaling by 8', SCALED]]) test(`gemma3 (F32, sliding window 8 < 40 tokens${label}): log-probabilities within 0.01 nats of native llama.cpp at every position and token`, async (t) => {
  let mod;
  try {
    mod = await import('node-llama-cpp');
  } catch (e) {
    t.skip(`node-llama-cpp is not installed: ${e.message}`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gf-gemma3-'));
  const file = path.join(dir, 'tiny-gemma3-f32.gguf');
  try {
    const nVocab = writeGemma3(file, extra);
    const rng = new Rng(7);
    const tokens = [1];
    while (tokens.length < N_TOKENS) tokens.push(rng.int(3, nVocab - 1));

    // greenformer: every row's logits, F32 KV cache (as llama.cpp's below)
    const model = await loadModel(file, { kvCache: 'f32' });
    let ours;
    try {
      const info = model.info();
      assert.equal(info.architecture, 'gemma3');
      assert.equal(info.slidingWindow, SHAPE.window);
      assert.equal(info.headDim, SHAPE.headDim);
      // the windowed layers (five of six) keep their RoPE unscaled
      assert.deepEqual(info.layers.ropeScaled, extra.length ? [false, false, false, false, false, true, false] : Array(7).fill(false));
      ours = await model.forward(tokens);
      // batches of 3 tokens (windows that start in earlier batches, a unit's tokens in different tiles) give the same rows
      const small = await loadModel(file, { kvCache: 'f32', batchSize: 3 });
      try {
        const rows = await small.forward(tokens);
        let d = 0;
        for (let i = 0; i < rows.length; i++) d = Math.max(d, Math.abs(rows[i] - ours[i]));
        assert.ok(d < 1e-4, `batches of 3 differ from one batch by ${d}`);
      } finally {
        await small.dispose();
      }
    } finally {
      await model.dispose();
    }

    // native llama.cpp: each position's full next-token distribution
    const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: mod.LlamaLogLevel.error });
    const lm = await llama.loadModel({ modelPath: file });
    let theirs;
    try {
      const ctx = await lm.createContext({
        contextSize: 128, batchSize: 128, sequences: 1, threads: { ideal: 1, min: 1 }, flashAttention: false,
        experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', swaFullCache: true,
      });
      try {
        const seq = ctx.getSequence();
        const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
        theirs = await seq.controlledEvaluate(tokens.map((id) => [id, { generateNext: { probabilities: true, options } }]));
      } finally {
        await ctx.dispose();
      }
    } finally {
      await lm.dispose();
    }

    let worst = 0, at = null, compared = 0;
    for (let r = 0; r < tokens.length; r++) {
      const probs = theirs[r]?.next?.probabilities;
      assert.ok(probs instanceof Map, `no distribution from llama.cpp at position ${r}`);
      assert.equal(probs.size, nVocab, `llama.cpp gave ${probs.size} probabilities at position ${r}`);
      const lp = logSoftmax(ours.subarray(r * nVocab, (r + 1) * nVocab));
      for (const [id, p] of probs) {
        const d = Math.abs(Math.log(p) - lp[id]);
        compared++;
        if (!(d <= worst)) worst = d, at = { position: r, token: id };
      }
    }
    t.diagnostic(`gemma3: max |delta log-prob| vs native llama.cpp ${worst.toExponential(3)} nats over ${compared} (position, token) pairs (at ${JSON.stringify(at)})`);
    assert.ok(worst <= 0.01, `max |delta log-prob| ${worst} > 0.01 at ${JSON.stringify(at)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
