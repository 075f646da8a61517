// Small random-weight GGUF files of several architectures (qwen3, smollm3,
// phi3), F32 throughout, with a real vocabulary (tokenizer.* keys copied from
// a vocabulary file, tests/fixtures/tokenizers) so that native llama.cpp loads them too: the
// architecture tests compare greenformer with llama.cpp on exactly these bytes.
// Weights ~ N(0, std) from a seeded generator (std 0.02 unless s.std says;
// larger values make the distributions peaked enough that an architecture
// mistake shows), embeddings N(0, 2 std), norms 1 + U(-0.1, 0.1).
import fs from 'node:fs';

import { buildHeader, readGGUF, tensorBytes, VT } from '../../bench/lib/gguf.mjs';

/** The tokenizer.* metadata of a GGUF file, as writer entries. */
export function vocabKeys(path) {
  const arrays = { 'tokenizer.ggml.tokens': VT.STR, 'tokenizer.ggml.scores': VT.F32, 'tokenizer.ggml.token_type': VT.I32 };
  const out = [];
  for (const [k, v] of readGGUF(path).kv) {
    if (!k.startsWith('tokenizer.')) continue;
    if (Array.isArray(v)) {
      if (!(k in arrays)) continue;
      out.push([k, VT.ARR, { type: arrays[k], values: v }]);
    } else if (typeof v === 'string') out.push([k, VT.STR, v]);
    else if (typeof v === 'boolean') out.push([k, VT.BOOL, v]);
    else out.push([k, VT.U32, v]);
  }
  return out;
}

/** mulberry32: a small deterministic generator. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next) {
  const u = Math.max(next(), 1e-12), v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * The tensors and metadata of one architecture. s: { arch, dim, ffn, layers, heads, kvHeads, headDim, vocab,
 * ctx, ropeDim?, ropeBase?, fusedQkv?, fusedGateUp?, qkNorm?, longRope?: { orig, attnFactor }, pooling?,
 * layerNorm? (LayerNorm with biases, eps key layer_norm_epsilon), gelu? (up and down, no gate), biases? (attention
 * and FFN biases), qkvBiases? (Q, K, V biases only), scales?: { embedding, residual, attention, logit } (granite),
 * qkNorm: 'whole' (q/k norms over the whole projection, olmo2's; true: per head), outputNorms? (olmo2:
 * post_attention_norm and post_ffw_norm on each block's output, no attn_norm / ffn_norm), ropeScaling?: { type,
 * factor?, orig?, attnFactor?, yarn?: { extFactor?, betaFast?, betaSlow? } } (rope.scaling.*), window? (attention.
 * sliding_window), windowPattern? (attention.sliding_window_pattern: a period, or an array of bools, one per layer) }.
 */
export function archSpec(s) {
  const hd = s.headDim ?? s.dim / s.heads, qd = s.heads * hd, kd = s.kvHeads * hd;
  const t = [{ name: 'token_embd.weight', ne: [s.dim, s.vocab], kind: 'embd' }];
  const norm = (name, n) => {
    t.push({ name: `${name}.weight`, ne: [n], kind: 'norm' });
    if (s.layerNorm) t.push({ name: `${name}.bias`, ne: [n], kind: 'bias' });
  };
  const bias = (name, n, on = s.biases) => on && t.push({ name: `${name}.bias`, ne: [n], kind: 'bias' });
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    if (!s.outputNorms) norm(p + 'attn_norm', s.dim);
    if (s.fusedQkv) t.push({ name: p + 'attn_qkv.weight', ne: [s.dim, qd + 2 * kd] });
    else {
      t.push({ name: p + 'attn_q.weight', ne: [s.dim, qd] }, { name: p + 'attn_k.weight', ne: [s.dim, kd] }, { name: p + 'attn_v.weight', ne: [s.dim, kd] });
      bias(p + 'attn_q', qd, s.biases || s.qkvBiases), bias(p + 'attn_k', kd, s.biases || s.qkvBiases), bias(p + 'attn_v', kd, s.biases || s.qkvBiases);
    }
    const whole = s.qkNorm === 'whole';
    if (s.qkNorm) t.push({ name: p + 'attn_q_norm.weight', ne: [whole ? qd : hd], kind: 'norm' }, { name: p + 'attn_k_norm.weight', ne: [whole ? kd : hd], kind: 'norm' });
    t.push({ name: p + 'attn_output.weight', ne: [qd, s.dim] });
    bias(p + 'attn_output', s.dim);
    if (s.outputNorms) norm(p + 'post_attention_norm', s.dim);
    else norm(p + 'ffn_norm', s.dim);
    if (s.fusedGateUp) t.push({ name: p + 'ffn_up.weight', ne: [s.dim, 2 * s.ffn] });
    else if (s.gelu) t.push({ name: p + 'ffn_up.weight', ne: [s.dim, s.ffn] });
    else t.push({ name: p + 'ffn_gate.weight', ne: [s.dim, s.ffn] }, { name: p + 'ffn_up.weight', ne: [s.dim, s.ffn] });
    bias(p + 'ffn_up', s.ffn);
    t.push({ name: p + 'ffn_down.weight', ne: [s.ffn, s.dim] });
    bias(p + 'ffn_down', s.dim);
    if (s.outputNorms) norm(p + 'post_ffw_norm', s.dim);
  }
  norm('output_norm', s.dim);
  if (!s.tied) t.push({ name: 'output.weight', ne: [s.dim, s.vocab] });
  if (s.longRope) {
    const n = (s.ropeDim ?? hd) / 2;
    t.push({ name: 'rope_factors_long.weight', ne: [n], kind: 'factors', scale: 4 }, { name: 'rope_factors_short.weight', ne: [n], kind: 'factors', scale: 1.5 });
  }
  // Llama 3.x's rope scaling as its converter writes it: one divisor per rotary pair in rope_freqs.weight
  if (s.ropeFreqs) t.push({ name: 'rope_freqs.weight', ne: [(s.ropeDim ?? hd) / 2], kind: 'factors', scale: s.ropeFreqs });
  const a = s.arch;
  const kv = [
    ['general.architecture', VT.STR, a],
    ['general.name', VT.STR, `greenformer-test-${a}`],
    [`${a}.context_length`, VT.U32, s.ctx],
    [`${a}.embedding_length`, VT.U32, s.dim],
    [`${a}.block_count`, VT.U32, s.layers],
    [`${a}.feed_forward_length`, VT.U32, s.ffn],
    [`${a}.attention.head_count`, VT.U32, s.heads],
    [`${a}.attention.head_count_kv`, VT.U32, s.kvHeads],
    [`${a}.attention.${s.layerNorm ? 'layer_norm_epsilon' : 'layer_norm_rms_epsilon'}`, VT.F32, 1e-5],
    [`${a}.rope.freq_base`, VT.F32, s.ropeBase ?? 10000],
  ];
  if (s.headDim) kv.push([`${a}.attention.key_length`, VT.U32, hd], [`${a}.attention.value_length`, VT.U32, hd]);
  if (s.ropeDim) kv.push([`${a}.rope.dimension_count`, VT.U32, s.ropeDim]);
  if (s.longRope) {
    kv.push([`${a}.rope.scaling.original_context_length`, VT.U32, s.longRope.orig]);
    kv.push([`${a}.rope.scaling.attn_factor`, VT.F32, s.longRope.attnFactor]);
  }
  if (s.ropeScaling) {
    const r = s.ropeScaling;
    kv.push([`${a}.rope.scaling.type`, VT.STR, r.type]);
    if (r.factor !== undefined) kv.push([`${a}.rope.scaling.factor`, VT.F32, r.factor]);
    if (r.orig !== undefined) kv.push([`${a}.rope.scaling.original_context_length`, VT.U32, r.orig]);
    if (r.attnFactor !== undefined) kv.push([`${a}.rope.scaling.attn_factor`, VT.F32, r.attnFactor]);
    for (const [k, v] of Object.entries(r.yarn ?? {})) kv.push([`${a}.rope.scaling.yarn_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, VT.F32, v]);
  }
  if (s.window !== undefined) kv.push([`${a}.attention.sliding_window`, VT.U32, s.window]);
  if (Array.isArray(s.windowPattern)) kv.push([`${a}.attention.sliding_window_pattern`, VT.ARR, { type: VT.BOOL, values: s.windowPattern }]);
  else if (s.windowPattern !== undefined) kv.push([`${a}.attention.sliding_window_pattern`, VT.U32, s.windowPattern]);
  if (s.scales) {
    kv.push([`${a}.embedding_scale`, VT.F32, s.scales.embedding], [`${a}.residual_scale`, VT.F32, s.scales.residual]);
    kv.push([`${a}.attention.scale`, VT.F32, s.scales.attention], [`${a}.logit_scale`, VT.F32, s.scales.logit]);
  }
  if (s.pooling !== undefined) kv.push([`${a}.pooling_type`, VT.U32, s.pooling]);
  return { tensors: t.map((x) => ({ ...x, type: 'F32' })), kv };
}

/** Writes the model of archSpec(s) to path with the vocabulary of vocabPath; returns the spec. */
export function writeArch(path, s, vocabPath, seed = 1) {
  const spec = archSpec(s);
  const { header, offsets, dataStart, dataSize } = buildHeader([...spec.kv, ...vocabKeys(vocabPath)], spec.tensors, 32);
  const next = rng(seed);
  const data = Buffer.alloc(dataSize);
  spec.tensors.forEach((t, i) => {
    const n = tensorBytes(t.ne, 'F32') / 4;
    const f = new Float32Array(data.buffer, data.byteOffset + offsets[i], n);
    for (let k = 0; k < n; k++) {
      if (t.kind === 'norm') f[k] = 1 + 0.2 * (next() - 0.5);
      else if (t.kind === 'bias') f[k] = 0.1 * (next() - 0.5);
      else if (t.kind === 'factors') f[k] = 1 + (t.scale - 1) * (k / n); // divisors growing toward the low frequencies
      else f[k] = (t.kind === 'embd' ? 2 : 1) * (s.std ?? 0.02) * gaussian(next);
    }
  });
  fs.writeFileSync(path, Buffer.concat([header, data]));
  void dataStart;
  return spec;
}
