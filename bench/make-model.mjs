#!/usr/bin/env node
// Writes random-weight GGUF files of realistic shapes (llama, and the real shapes of
// qwen3, gemma3, llama 3.2 and SmolLM2 models) directly in quantized formats (random
// blocks with realistic scales; no quantizer involved), each tensor in the type
// llama-quantize gives it (lib/quant-rules.mjs), with a synthetic SentencePiece
// vocabulary, so the benchmark needs nothing but this script.
//
//   node bench/make-model.mjs --shape 110m --type Q4_0 --out bench/models/110m-Q4_0.gguf
//   node bench/make-model.mjs --shape real     # a group: the shapes' own types, into bench/models/
//   node bench/make-model.mjs --all            # the default shapes x every type, skipping existing files
//   options: --seed N (default 1), --force (overwrite existing files; not with --out)
//
// Weights: every block is random quantized values with scales chosen so the
// dequantized weights have a standard deviation of about 0.02 and mean about 0 (a
// trained llama's typical magnitude), which keeps activations O(1) through the
// layers (RMS norm weights are 1). Deterministic: same seed, same bytes.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, hashString, toHalf, fromHalf } from './lib/rng.mjs';
import { buildHeader, tensorBytes, GGML, VT } from './lib/gguf.mjs';
import { buildVocab, BOS_ID, EOS_ID, UNK_ID } from './lib/vocab.mjs';
import { MIXES, tensorType } from './lib/quant-rules.mjs';

export { MIXES }; // run.mjs takes the mixes from here, with the shapes

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODELS_DIR = path.join(here, 'models');

// Shape fields: arch (default llama), dim, ffn, layers, heads, kvHeads, headDim (default
// dim / heads; written as attention.key_length / value_length when it differs), vocab, ctx
// (context_length), tied (no output.weight: token_embd is the output too), qkNorm (per-head
// attn_q_norm / attn_k_norm), sandwich (post_attention_norm and post_ffw_norm), window
// (attention.sliding_window), ropeBase (default 10000), rmsEps (default 1e-5), llama3Rope
// (rope_freqs.weight from Llama 3's rope scaling), types (the types made when none are
// asked for; default all of MIXES), group (made only when named, alone or by the group's
// name), extra (made only when named).
export const SHAPES = {
  '110m': { dim: 768, ffn: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000, ctx: 2048 },
  '1b': { dim: 2048, ffn: 5632, layers: 22, heads: 32, kvHeads: 4, vocab: 32000, ctx: 2048 },
  // A Qwen-sized vocabulary on a small body (bench/run.mjs --chat's grammar-mask cost):
  // not one of the default shapes (extra), made only when named.
  'bigvocab': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 151936, ctx: 2048, extra: true },
  // The real shapes of 2026's small models (their config.json / GGUF metadata), group 'real'.
  // Qwen3-0.6B: heads x head size 2048 > dim 1024, per-head q/k norms, NEOX RoPE.
  'qwen3-0.6b': {
    arch: 'qwen3', dim: 1024, ffn: 3072, layers: 28, heads: 16, kvHeads: 8, headDim: 128, vocab: 151936, ctx: 40960,
    tied: true, qkNorm: true, ropeBase: 1e6, rmsEps: 1e-6, group: 'real', types: ['Q4_K_M', 'Q5_K_M', 'Q8_0'],
  },
  // Gemma 3 270M: dim 640 is not a multiple of 256 (k-quant fallbacks), sandwich norms, GeGLU,
  // q/k norms, a 512-key window on 5 of every 6 layers (llama.cpp: set_swa_pattern(6), the
  // windowed layers' RoPE base fixed at 10000; greenformer's gemma3 row: the same).
  'gemma3-270m': {
    arch: 'gemma3', dim: 640, ffn: 2048, layers: 18, heads: 4, kvHeads: 1, headDim: 256, vocab: 262144, ctx: 32768,
    tied: true, qkNorm: true, sandwich: true, window: 512, ropeBase: 1e6, rmsEps: 1e-6, group: 'real', types: ['Q4_K_M', 'Q5_K_M', 'Q8_0'],
  },
  // Llama 3.2 1B: rope_freqs.weight as its converted files carry it (Llama 3 rope scaling,
  // factor 32 over an original context of 8192), read by llama.cpp and greenformer alike.
  'llama3.2-1b': {
    dim: 2048, ffn: 8192, layers: 16, heads: 32, kvHeads: 8, vocab: 128256, ctx: 131072, tied: true, ropeBase: 500000,
    llama3Rope: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 }, group: 'real', types: ['Q4_K_M', 'Q5_K_M', 'Q8_0'],
  },
  // SmolLM2-360M: dim 960 is not a multiple of 256 (k-quant fallbacks), 15 heads.
  'smollm2-360m': {
    dim: 960, ffn: 2560, layers: 32, heads: 15, kvHeads: 5, vocab: 49152, ctx: 8192, tied: true, ropeBase: 100000,
    group: 'real', types: ['Q4_K_M', 'Q5_K_M', 'Q8_0'],
  },
  // The same body with a llama-2 and a Gemma-3-sized vocabulary (bench/vocab.mjs: the
  // output matrix's and the sampler's share of a decode step as the vocabulary grows).
  'vocab32k': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 32000, ctx: 2048, extra: true },
  'vocab262k': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 262144, ctx: 2048, extra: true },
};
/** The shapes the benchmark runs by default (neither extra nor in a group). */
export const DEFAULT_SHAPES = Object.keys(SHAPES).filter((k) => !SHAPES[k].extra && !SHAPES[k].group);
/** Group names: each stands for its shapes wherever shapes are listed (--models real). */
export const SHAPE_GROUPS = {};
for (const [k, s] of Object.entries(SHAPES)) if (s.group) (SHAPE_GROUPS[s.group] ??= []).push(k);

/** Shape names with group names replaced by their shapes; an unknown name is an error. */
export function expandShapes(names) {
  const out = [];
  for (const n of names) {
    const add = SHAPE_GROUPS[n] ?? [n];
    for (const k of add) {
      if (!SHAPES[k]) throw new Error(`unknown model shape ${k} (${Object.keys(SHAPES).join(', ')}; groups: ${Object.keys(SHAPE_GROUPS).join(', ')})`);
      if (!out.includes(k)) out.push(k);
    }
  }
  return out;
}

/** The types made for a shape when none are asked for. */
export const shapeTypes = (shape) => SHAPES[shape].types ?? Object.keys(MIXES);

export function modelPath(shape, type) {
  return path.join(MODELS_DIR, `${shape}-${type}.gguf`);
}

const headDim = (s) => s.headDim ?? s.dim / s.heads;

/** The tensors of a shape in file order, each with its ggml type for a mix (lib/quant-rules.mjs). */
export function tensorPlan(shapeName, mixName) {
  const s = SHAPES[shapeName];
  if (!s) throw new Error(`unknown shape ${shapeName} (${Object.keys(SHAPES).join(', ')})`);
  if (!MIXES[mixName]) throw new Error(`unknown type ${mixName} (${Object.keys(MIXES).join(', ')})`);
  const hd = headDim(s), qDim = s.heads * hd, kvDim = s.kvHeads * hd;
  const t = [{ name: 'token_embd.weight', ne: [s.dim, s.vocab] }];
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    const w = (name, ne) => t.push({ name: p + name, ne, layer: i });
    w('attn_norm.weight', [s.dim]);
    w('attn_q.weight', [s.dim, qDim]);
    w('attn_k.weight', [s.dim, kvDim]);
    w('attn_v.weight', [s.dim, kvDim]);
    if (s.qkNorm) w('attn_q_norm.weight', [hd]), w('attn_k_norm.weight', [hd]);
    w('attn_output.weight', [qDim, s.dim]);
    if (s.sandwich) w('post_attention_norm.weight', [s.dim]);
    w('ffn_norm.weight', [s.dim]);
    w('ffn_gate.weight', [s.dim, s.ffn]);
    w('ffn_up.weight', [s.dim, s.ffn]);
    w('ffn_down.weight', [s.ffn, s.dim]);
    if (s.sandwich) w('post_ffw_norm.weight', [s.dim]);
  }
  t.push({ name: 'output_norm.weight', ne: [s.dim] });
  if (!s.tied) t.push({ name: 'output.weight', ne: [s.dim, s.vocab] });
  if (s.llama3Rope) t.push({ name: 'rope_freqs.weight', ne: [hd / 2], values: llama3RopeFactors(s.ropeBase, hd, s.llama3Rope) });
  const model = { layers: s.layers, tied: !!s.tied };
  return t.map((x) => ({ ...x, type: tensorType(x, mixName, model) }));
}

/**
 * Llama 3's frequency divisors, one per rotated pair, as llama.cpp's converter computes
 * them from config.json's rope_scaling (rope_type llama3): wavelengths shorter than
 * originalContext / highFreqFactor keep theirs (1), longer than originalContext /
 * lowFreqFactor are divided by factor, those between are interpolated smoothly.
 */
export function llama3RopeFactors(base, dims, { factor, lowFreqFactor, highFreqFactor, originalContext }) {
  const out = [];
  for (let i = 0; i < dims; i += 2) {
    const wavelen = 2 * Math.PI * base ** (i / dims);
    if (wavelen < originalContext / highFreqFactor) out.push(1);
    else if (wavelen > originalContext / lowFreqFactor) out.push(factor);
    else {
      const smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out.push(1 / ((1 - smooth) / factor + smooth));
    }
  }
  return out;
}

// The metadata ([key, type, value]) of a shape and mix: the keys llama.cpp reads for each
// architecture (llama-model.cpp load_hparams; the same keys as the test files of qwen3 and
// gemma3 that native llama.cpp loads, tests/helpers/fake-arch.mjs and
// tests/slow/gemma-native.test.mjs).
export function metadata(shapeName, mixName) {
  const s = SHAPES[shapeName];
  const a = s.arch ?? 'llama';
  const v = buildVocab(undefined, s.vocab);
  const hd = headDim(s);
  const kv = [
    ['general.architecture', VT.STR, a],
    ['general.name', VT.STR, `greenformer-bench-${shapeName}-${mixName}`],
    [`${a}.context_length`, VT.U32, s.ctx],
    [`${a}.embedding_length`, VT.U32, s.dim],
    [`${a}.block_count`, VT.U32, s.layers],
    [`${a}.feed_forward_length`, VT.U32, s.ffn],
    [`${a}.attention.head_count`, VT.U32, s.heads],
    [`${a}.attention.head_count_kv`, VT.U32, s.kvHeads],
  ];
  // llama's converter writes the rotated dimensions (llama.cpp insists they equal the head size for llama)
  if (a === 'llama') kv.push([`${a}.rope.dimension_count`, VT.U32, hd]);
  kv.push(
    [`${a}.attention.layer_norm_rms_epsilon`, VT.F32, s.rmsEps ?? 1e-5],
    [`${a}.rope.freq_base`, VT.F32, s.ropeBase ?? 10000],
  );
  if (hd !== s.dim / s.heads) kv.push([`${a}.attention.key_length`, VT.U32, hd], [`${a}.attention.value_length`, VT.U32, hd]);
  if (s.window) kv.push([`${a}.attention.sliding_window`, VT.U32, s.window]);
  kv.push(
    [`${a}.vocab_size`, VT.U32, s.vocab],
    ['tokenizer.ggml.model', VT.STR, 'llama'],
    ['tokenizer.ggml.tokens', VT.ARR, { type: VT.STR, values: v.tokens }],
    ['tokenizer.ggml.scores', VT.ARR, { type: VT.F32, values: v.scores }],
    ['tokenizer.ggml.token_type', VT.ARR, { type: VT.I32, values: v.types }],
    ['tokenizer.ggml.bos_token_id', VT.U32, BOS_ID],
    ['tokenizer.ggml.eos_token_id', VT.U32, EOS_ID],
    ['tokenizer.ggml.unknown_token_id', VT.U32, UNK_ID],
    ['tokenizer.ggml.add_bos_token', VT.BOOL, true],
    ['tokenizer.ggml.add_eos_token', VT.BOOL, false],
    ['general.quantization_version', VT.U32, 2],
    ['general.file_type', VT.U32, MIXES[mixName].fileType],
  );
  return kv;
}

// ---------------------------------------------------------------------------
// Random blocks. `buf` holds nblocks blocks and has already been filled with random
// bytes; these functions write the scale fields (and fix up what must not be random).
// Target: dequantized weights with std ~0.02 and mean ~0.

const TARGET_STD = 0.02;
const jitter = (rng) => 0.75 + 0.5 * rng.float();
const putHalf = (buf, o, x) => { const h = toHalf(x); buf[o] = h & 255; buf[o + 1] = h >> 8; };

/** Per type: fill(buf, nblocks, rng) writes the scale fields of nblocks random blocks (exported for the tests). */
export const FILL = {
  // block_q4_0 { f16 d; u8 qs[16] }: x = d * (q - 8), q uniform in 0..15 (std 4.61).
  // llama's quantizer sets d = max / -8 with max the signed extreme, so d has either sign.
  Q4_0(buf, nblocks, rng) {
    const d0 = TARGET_STD / 4.61;
    for (let b = 0, o = 0; b < nblocks; b++, o += 18) {
      putHalf(buf, o, d0 * jitter(rng) * (rng.u32() & 1 ? -1 : 1));
    }
  },
  // block_q8_0 { f16 d; i8 qs[32] }: x = d * q, q uniform in -127..127 (std 73.3).
  Q8_0(buf, nblocks, rng) {
    for (let i = 0; i < buf.length; i++) if (buf[i] === 0x80) buf[i] = 0x81; // the quantizer never writes -128
    const d0 = TARGET_STD / 73.3;
    for (let b = 0, o = 0; b < nblocks; b++, o += 34) putHalf(buf, o, d0 * jitter(rng));
  },
  // block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }: x = d * (q - 16), q uniform in 0..31 (std 9.23; random
  // qh and qs bytes are exactly uniform 5-bit q). d of either sign, as llama's quantizer (max / -16) sets it.
  // llama-quantize's fallback for Q4_K rows that are not a multiple of 256.
  Q5_0(buf, nblocks, rng) {
    const d0 = TARGET_STD / 9.23;
    for (let b = 0, o = 0; b < nblocks; b++, o += 22) {
      putHalf(buf, o, d0 * jitter(rng) * (rng.u32() & 1 ? -1 : 1));
    }
  },
  // block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16] }: x = d * q + m, q uniform in 0..31; m is the
  // block's minimum, about -15.5 d, so the mean is ~0. The fallback for Q5_K rows.
  Q5_1(buf, nblocks, rng) {
    const d0 = TARGET_STD / 9.23;
    for (let b = 0, o = 0; b < nblocks; b++, o += 24) {
      const d = d0 * jitter(rng);
      putHalf(buf, o, d);
      putHalf(buf, o + 2, -15.5 * d * (0.95 + 0.1 * rng.float()));
    }
  },
  // block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: 8 sub-blocks of 32,
  // x = d*sc[j]*q - dmin*m[j], 6-bit sc and m, q uniform in 0..15. m is chosen so the
  // sub-block mean is ~0 (dmin*m = d*sc*7.5), as the quantizer's min would make it.
  Q4_K(buf, nblocks, rng) {
    const sc = new Uint8Array(8), m = new Uint8Array(8);
    for (let b = 0, o = 0; b < nblocks; b++, o += 144) {
      const d = (TARGET_STD / 4.61 / 49.5) * jitter(rng);
      const dmin = d * 8;
      for (let j = 0; j < 8; j++) {
        sc[j] = rng.int(36, 63);
        m[j] = Math.min(63, Math.max(0, Math.round((sc[j] * 7.5) / 8) + rng.int(-2, 2)));
      }
      putHalf(buf, o, d);
      putHalf(buf, o + 2, dmin);
      const s = o + 4; // ggml's 12-byte packing of eight 6-bit (scale, min) pairs
      for (let j = 0; j < 4; j++) { buf[s + j] = sc[j]; buf[s + j + 4] = m[j]; }
      for (let j = 4; j < 8; j++) {
        buf[s + j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
        buf[s + j - 4] |= (sc[j] >> 4) << 6;
        buf[s + j] |= (m[j] >> 4) << 6;
      }
    }
  },
  // block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: as Q4_K with
  // a fifth bit (qh), q uniform in 0..31 (std 9.23), dmin*m = d*sc*15.5.
  Q5_K(buf, nblocks, rng) {
    const sc = new Uint8Array(8), m = new Uint8Array(8);
    for (let b = 0, o = 0; b < nblocks; b++, o += 176) {
      const d = (TARGET_STD / 9.23 / 49.5) * jitter(rng);
      const dmin = d * 16;
      for (let j = 0; j < 8; j++) {
        sc[j] = rng.int(36, 63);
        m[j] = Math.min(63, Math.max(0, Math.round((sc[j] * 15.5) / 16) + rng.int(-2, 2)));
      }
      putHalf(buf, o, d);
      putHalf(buf, o + 2, dmin);
      const s = o + 4; // the same 12-byte packing as Q4_K
      for (let j = 0; j < 4; j++) { buf[s + j] = sc[j]; buf[s + j + 4] = m[j]; }
      for (let j = 4; j < 8; j++) {
        buf[s + j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
        buf[s + j - 4] |= (sc[j] >> 4) << 6;
        buf[s + j] |= (m[j] >> 4) << 6;
      }
    }
  },
  // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: 16 sub-blocks of 16,
  // x = d * scales[j] * (q - 32), q uniform in 0..63 (std 18.47); random ql/qh bytes
  // are exactly uniform 6-bit q. As in real files, d is tiny (often an f16 subnormal).
  Q6_K(buf, nblocks, rng) {
    for (let b = 0, o = 0; b < nblocks; b++, o += 210) {
      for (let j = 0; j < 16; j++) {
        const mag = rng.int(64, 127);
        buf[o + 192 + j] = (rng.u32() & 1 ? -mag : mag) & 0xff;
      }
      putHalf(buf, o + 208, (TARGET_STD / 18.47 / 95.5) * jitter(rng));
    }
  },
};

const CHUNK_TARGET = 8 << 20;

// Where each block type keeps its f16 scales (byte offsets in the block).
const SCALE_FIELDS = { Q4_0: [0], Q8_0: [0], Q5_0: [0], Q5_1: [0, 2], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208] };

// The rows of the output matrix (output.weight, or token_embd.weight when tied) for <unk>,
// <s>, </s> and the 256 byte tokens get 10x smaller weights, so their logits stay far below
// the others and greedy decoding of a random model does not emit lone byte tokens (invalid
// UTF-8 on its own, which makes wllama 3.8.1's response encoding fail), much as a trained
// model seldom predicts them. Weight statistics elsewhere are unchanged. (Tied, the <s>
// embedding the prompt starts with is 10x smaller too: the first block's RMS norm makes
// its scale irrelevant.)
const QUIET_ROWS = 259;
const QUIET_FACTOR = 0.1;

function scaleBlocks(type, buf, firstBlock, endBlock, factor) {
  const { bytes } = GGML[type];
  for (let b = firstBlock; b < endBlock; b++) {
    for (const f of SCALE_FIELDS[type]) {
      const o = b * bytes + f;
      putHalf(buf, o, fromHalf(buf[o] | (buf[o + 1] << 8)) * factor);
    }
  }
}

function writeTensor(fd, pos, t, seed, outputName) {
  const total = tensorBytes(t.ne, t.type);
  if (t.type === 'F32') {
    const b = Buffer.alloc(total);
    // RMS norm weights are 1; rope_freqs.weight has its values
    for (let i = 0; i < total; i += 4) b.writeFloatLE(t.values ? t.values[i / 4] : 1.0, i);
    fs.writeSync(fd, b, 0, total, pos);
    return total;
  }
  if (!FILL[t.type]) throw new Error(`${t.name}: no random-block writer for ${t.type}`);
  const { bytes: bb } = GGML[t.type];
  const rng = new Rng(hashString(t.name, seed));
  const blocksPerChunk = Math.max(1, Math.floor(CHUNK_TARGET / bb));
  const ab = new ArrayBuffer(Math.ceil((blocksPerChunk * bb) / 4) * 4);
  const u32 = new Uint32Array(ab);
  const u8 = new Uint8Array(ab);
  let done = 0;
  while (done < total) {
    const nblocks = Math.min(blocksPerChunk, (total - done) / bb);
    const len = nblocks * bb;
    rng.fillU32(len === u8.length ? u32 : u32.subarray(0, Math.ceil(len / 4)));
    const buf = u8.subarray(0, len);
    FILL[t.type](buf, nblocks, rng);
    if (t.name === outputName) {
      const quietEnd = (QUIET_ROWS * t.ne[0]) / GGML[t.type].blk; // global block index
      const first = done / bb;
      if (first < quietEnd) scaleBlocks(t.type, buf, 0, Math.min(nblocks, quietEnd - first), QUIET_FACTOR);
    }
    fs.writeSync(fd, buf, 0, len, pos + done);
    done += len;
  }
  return total;
}

/** Writes one model file. Returns { path, bytes, tensors }. */
export function makeModel({ shape, type, out, seed = 1, log = () => {} }) {
  const tensors = tensorPlan(shape, type);
  const { header, offsets, dataStart, dataSize } = buildHeader(metadata(shape, type), tensors, 32);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, header, 0, header.length, 0);
    const t0 = Date.now();
    const outputName = tensors.some((t) => t.name === 'output.weight') ? 'output.weight' : 'token_embd.weight';
    tensors.forEach((t, i) => {
      writeTensor(fd, dataStart + offsets[i], t, seed, outputName);
    });
    fs.ftruncateSync(fd, dataStart + dataSize); // trailing alignment padding
    log(`  ${path.basename(out)}: ${((dataStart + dataSize) / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
  return { path: out, bytes: dataStart + dataSize, tensors };
}

/**
 * Makes the missing files of shapes x types (all of them with force); types null: each
 * shape's own (shapeTypes). Returns their paths.
 */
export function ensureModels(shapes, types, { force = false, seed = 1, log = console.log } = {}) {
  const paths = [];
  for (const shape of shapes) {
    for (const type of types ?? shapeTypes(shape)) {
      const p = modelPath(shape, type);
      if (force || !fs.existsSync(p)) {
        log(`make-model: writing ${path.relative(process.cwd(), p)}`);
        makeModel({ shape, type, out: p, seed, log });
      }
      paths.push(p);
    }
  }
  return paths;
}

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) throw new Error(`unexpected argument ${k}`);
    const key = k.slice(2);
    if (key === 'all' || key === 'force' || key === 'help') a[key] = true;
    else if (['shape', 'type', 'out', 'seed'].includes(key)) {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      a[key] = argv[++i];
    } else throw new Error(`unknown option ${k} (try --help)`);
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const seed = a.seed !== undefined ? Number(a.seed) : 1;
  if (a.help || (!a.all && !a.shape)) {
    console.log(`usage: node bench/make-model.mjs --shape SHAPES [--type TYPES] [--out FILE] [--force] [--seed N]
       node bench/make-model.mjs --all [--force] [--seed N]
  SHAPES: comma-separated, of ${Object.keys(SHAPES).join(', ')}, or a group (${Object.keys(SHAPE_GROUPS).join(', ')})
  TYPES:  comma-separated, of ${Object.keys(MIXES).join(', ')} (default: each shape's own)
  --all:  the default shapes (${DEFAULT_SHAPES.join(', ')}) in every type; files go to bench/models/ unless --out (one file)`);
    process.exit(a.help ? 0 : 2);
  }
  const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const shapes = a.all ? DEFAULT_SHAPES : expandShapes(list(a.shape));
  const types = a.all ? Object.keys(MIXES) : a.type ? list(a.type) : null;
  for (const t of types ?? []) if (!MIXES[t]) throw new Error(`unknown type ${t} (${Object.keys(MIXES).join(', ')})`);
  if (a.out) {
    if (a.all || shapes.length !== 1 || types?.length !== 1) throw new Error('--out writes one file: give one --shape and one --type');
    console.log(`make-model: writing ${a.out}`);
    makeModel({ shape: shapes[0], type: types[0], out: a.out, seed, log: console.log });
    return;
  }
  ensureModels(shapes, types, { force: !!a.force, seed });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e.message); process.exit(1); });
}
