#!/usr/bin/env node
// Writes random-weight llama GGUF files of realistic shapes directly in quantized
// formats (random blocks with realistic scales; no quantizer involved), with a
// synthetic SentencePiece vocabulary, so the benchmark needs nothing but this script.
//
//   node bench/make-model.mjs --shape 110m --type Q4_0 --out bench/models/110m-Q4_0.gguf
//   node bench/make-model.mjs --all            # the 6 files into bench/models/, skipping existing ones
//   options: --seed N (default 1), --force (overwrite with --all)
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

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODELS_DIR = path.join(here, 'models');

export const SHAPES = {
  '110m': { dim: 768, ffn: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000, ctx: 2048 },
  '1b': { dim: 2048, ffn: 5632, layers: 22, heads: 32, kvHeads: 4, vocab: 32000, ctx: 2048 },
  // A Qwen-sized vocabulary on a small body (bench/run.mjs --chat's grammar-mask cost):
  // not one of the default shapes (extra), made only when named.
  'bigvocab': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 151936, ctx: 2048, extra: true },
  // The same body with a llama-2 and a Gemma-3-sized vocabulary (bench/vocab.mjs: the
  // output matrix's and the sampler's share of a decode step as the vocabulary grows).
  'vocab32k': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 32000, ctx: 2048, extra: true },
  'vocab262k': { dim: 512, ffn: 1408, layers: 4, heads: 8, kvHeads: 8, vocab: 262144, ctx: 2048, extra: true },
};
/** The shapes the benchmark runs by default (all but the extra ones). */
export const DEFAULT_SHAPES = Object.keys(SHAPES).filter((k) => !SHAPES[k].extra);
const ROPE_BASE = 10000;
const RMS_EPS = 1e-5;

// general.file_type values: llama.cpp's enum llama_ftype (include/llama.h).
export const MIXES = {
  Q4_0: { fileType: 2, base: 'Q4_0' },   // LLAMA_FTYPE_MOSTLY_Q4_0
  Q8_0: { fileType: 7, base: 'Q8_0' },   // LLAMA_FTYPE_MOSTLY_Q8_0
  Q4_K_M: { fileType: 15, base: 'Q4_K' }, // LLAMA_FTYPE_MOSTLY_Q4_K_M
  Q5_K_M: { fileType: 17, base: 'Q5_K' }, // LLAMA_FTYPE_MOSTLY_Q5_K_M
};

export function modelPath(shape, type) {
  return path.join(MODELS_DIR, `${shape}-${type}.gguf`);
}

// llama.cpp's layer rule for spending more bits, from llama_tensor_get_type_impl in
// src/llama-quant.cpp (ggml-org/llama.cpp, read at commit 007dbbf3):
//   auto use_more_bits = [](int i_layer, int n_layers) -> bool {
//       return i_layer < n_layers/8 || i_layer >= 7*n_layers/8 || (i_layer - n_layers/8)%3 == 2; };
// For LLAMA_FTYPE_MOSTLY_Q4_K_M and _Q5_K_M it picks Q6_K for attn_v.weight when
// use_more_bits(i_attention_wv, n_attention_wv) and for ffn_down when
// use_more_bits(i_layer, n_layer) (non-Falcon); every other 2-D weight keeps the
// mix's base type Q4_K (token_embd included, since output.weight exists), and
// output.weight becomes Q6_K for every mix whose base type is not Q8_0. Integer
// division as in C; the first clause covers the negative operand of %.
export function useMoreBits(i, n) {
  const n8 = Math.trunc(n / 8);
  return i < n8 || i >= Math.trunc((7 * n) / 8) || (i - n8) % 3 === 2;
}

/** The tensors of a llama model in file order, with their ggml type for a mix. */
export function tensorPlan(shapeName, mixName) {
  const s = SHAPES[shapeName];
  const mix = MIXES[mixName];
  if (!s) throw new Error(`unknown shape ${shapeName} (${Object.keys(SHAPES).join(', ')})`);
  if (!mix) throw new Error(`unknown type ${mixName} (${Object.keys(MIXES).join(', ')})`);
  const base = mix.base;
  const kvDim = (s.dim / s.heads) * s.kvHeads;
  const outputType = base === 'Q8_0' ? 'Q8_0' : 'Q6_K';
  const more = (i) => ((mixName === 'Q4_K_M' || mixName === 'Q5_K_M') && useMoreBits(i, s.layers) ? 'Q6_K' : base);
  const t = [{ name: 'token_embd.weight', ne: [s.dim, s.vocab], type: base }];
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    t.push(
      { name: p + 'attn_norm.weight', ne: [s.dim], type: 'F32' },
      { name: p + 'attn_q.weight', ne: [s.dim, s.dim], type: base },
      { name: p + 'attn_k.weight', ne: [s.dim, kvDim], type: base },
      { name: p + 'attn_v.weight', ne: [s.dim, kvDim], type: more(i) },
      { name: p + 'attn_output.weight', ne: [s.dim, s.dim], type: base },
      { name: p + 'ffn_norm.weight', ne: [s.dim], type: 'F32' },
      { name: p + 'ffn_gate.weight', ne: [s.dim, s.ffn], type: base },
      { name: p + 'ffn_up.weight', ne: [s.dim, s.ffn], type: base },
      { name: p + 'ffn_down.weight', ne: [s.ffn, s.dim], type: more(i) },
    );
  }
  t.push({ name: 'output_norm.weight', ne: [s.dim], type: 'F32' });
  t.push({ name: 'output.weight', ne: [s.dim, s.vocab], type: outputType });
  return t;
}

function metadata(shapeName, mixName) {
  const s = SHAPES[shapeName];
  const v = buildVocab(undefined, s.vocab);
  return [
    ['general.architecture', VT.STR, 'llama'],
    ['general.name', VT.STR, `greenformer-bench-${shapeName}-${mixName}`],
    ['llama.context_length', VT.U32, s.ctx],
    ['llama.embedding_length', VT.U32, s.dim],
    ['llama.block_count', VT.U32, s.layers],
    ['llama.feed_forward_length', VT.U32, s.ffn],
    ['llama.attention.head_count', VT.U32, s.heads],
    ['llama.attention.head_count_kv', VT.U32, s.kvHeads],
    ['llama.rope.dimension_count', VT.U32, s.dim / s.heads],
    ['llama.attention.layer_norm_rms_epsilon', VT.F32, RMS_EPS],
    ['llama.rope.freq_base', VT.F32, ROPE_BASE],
    ['llama.vocab_size', VT.U32, s.vocab],
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
  ];
}

// ---------------------------------------------------------------------------
// Random blocks. `buf` holds nblocks blocks and has already been filled with random
// bytes; these functions write the scale fields (and fix up what must not be random).
// Target: dequantized weights with std ~0.02 and mean ~0.

const TARGET_STD = 0.02;
const jitter = (rng) => 0.75 + 0.5 * rng.float();
const putHalf = (buf, o, x) => { const h = toHalf(x); buf[o] = h & 255; buf[o + 1] = h >> 8; };

const FILL = {
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
const SCALE_FIELDS = { Q4_0: [0], Q8_0: [0], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208] };

// The rows of output.weight for <unk>, <s>, </s> and the 256 byte tokens get 10x
// smaller weights, so their logits stay far below the others and greedy decoding of
// a random model does not emit lone byte tokens (invalid UTF-8 on its own, which
// makes wllama 3.8.1's response encoding fail), much as a trained model seldom
// predicts them. Weight statistics elsewhere are unchanged.
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

function writeTensor(fd, pos, t, seed) {
  const total = tensorBytes(t.ne, t.type);
  if (t.type === 'F32') {
    const b = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4) b.writeFloatLE(1.0, i); // RMS norm weights
    fs.writeSync(fd, b, 0, total, pos);
    return total;
  }
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
    if (t.name === 'output.weight') {
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
    tensors.forEach((t, i) => {
      writeTensor(fd, dataStart + offsets[i], t, seed);
    });
    fs.ftruncateSync(fd, dataStart + dataSize); // trailing alignment padding
    log(`  ${path.basename(out)}: ${((dataStart + dataSize) / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
  return { path: out, bytes: dataStart + dataSize, tensors };
}

/** Makes the missing files of shapes x types (all of them with force). */
export function ensureModels(shapes, types, { force = false, seed = 1, log = console.log } = {}) {
  const paths = [];
  for (const shape of shapes) {
    for (const type of types) {
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
    else a[key] = argv[++i];
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const seed = a.seed !== undefined ? Number(a.seed) : 1;
  if (a.help || (!a.all && !(a.shape && a.type))) {
    console.log(`usage: node bench/make-model.mjs --shape ${Object.keys(SHAPES).join('|')} --type ${Object.keys(MIXES).join('|')} [--out FILE] [--seed N]\n` +
      '       node bench/make-model.mjs --all [--force] [--seed N]');
    process.exit(a.help ? 0 : 2);
  }
  if (a.all) {
    ensureModels(DEFAULT_SHAPES, Object.keys(MIXES), { force: !!a.force, seed }); // extra shapes only when named
  } else {
    const out = a.out || modelPath(a.shape, a.type);
    console.log(`make-model: writing ${out}`);
    makeModel({ shape: a.shape, type: a.type, out, seed, log: console.log });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
}
