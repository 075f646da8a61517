// Synthetic llama GGUF files of any shape for size and integrity tests: a
// small byte-level SentencePiece vocabulary, one weight type for every
// matrix, F32 norms. The data section is either left sparse (ftruncate: a
// 5 GB file costs no disk, and reads back as zeros) or filled by a callback.
import fs from 'node:fs';

import { buildHeader, tensorBytes, VT } from '../../bench/lib/gguf.mjs';

/** <unk>, <s>, </s>, the 256 byte tokens and a few pieces: 300 tokens. */
export function smallVocab() {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (const c of 'abcdefghijklmnopqrstuvwxyz') tokens.push(c), tokens.push(`\u2581${c}`), types.push(1, 1);
  while (tokens.length < 320) tokens.push(`\u2581w${tokens.length}`), types.push(1);
  return { tokens, types, scores: tokens.map((_, i) => (i < 259 ? 0 : -(i - 259))) };
}

/** The tensors of a llama model (untied output) with every matrix of `type`. */
export function llamaTensors({ dim, ffn, layers, heads, kvHeads = heads, vocab }, type) {
  const kvDim = (dim / heads) * kvHeads;
  const t = [{ name: 'token_embd.weight', ne: [dim, vocab], type }];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    t.push(
      { name: p + 'attn_norm.weight', ne: [dim], type: 'F32' },
      { name: p + 'attn_q.weight', ne: [dim, dim], type },
      { name: p + 'attn_k.weight', ne: [dim, kvDim], type },
      { name: p + 'attn_v.weight', ne: [dim, kvDim], type },
      { name: p + 'attn_output.weight', ne: [dim, dim], type },
      { name: p + 'ffn_norm.weight', ne: [dim], type: 'F32' },
      { name: p + 'ffn_gate.weight', ne: [dim, ffn], type },
      { name: p + 'ffn_up.weight', ne: [dim, ffn], type },
      { name: p + 'ffn_down.weight', ne: [ffn, dim], type },
    );
  }
  t.push({ name: 'output_norm.weight', ne: [dim], type: 'F32' });
  t.push({ name: 'output.weight', ne: [dim, vocab], type });
  return t;
}

function metadata(shape) {
  const v = smallVocab();
  return [
    ['general.architecture', VT.STR, 'llama'],
    ['general.name', VT.STR, 'greenformer-test-synthetic'],
    ['llama.context_length', VT.U32, shape.ctx ?? 256],
    ['llama.embedding_length', VT.U32, shape.dim],
    ['llama.block_count', VT.U32, shape.layers],
    ['llama.feed_forward_length', VT.U32, shape.ffn],
    ['llama.attention.head_count', VT.U32, shape.heads],
    ['llama.attention.head_count_kv', VT.U32, shape.kvHeads ?? shape.heads],
    ['llama.attention.layer_norm_rms_epsilon', VT.F32, 1e-5],
    ['tokenizer.ggml.model', VT.STR, 'llama'],
    ['tokenizer.ggml.tokens', VT.ARR, { type: VT.STR, values: v.tokens }],
    ['tokenizer.ggml.scores', VT.ARR, { type: VT.F32, values: v.scores }],
    ['tokenizer.ggml.token_type', VT.ARR, { type: VT.I32, values: v.types }],
    ['tokenizer.ggml.bos_token_id', VT.U32, 1],
    ['tokenizer.ggml.eos_token_id', VT.U32, 2],
    ['tokenizer.ggml.unknown_token_id', VT.U32, 0],
  ];
}

/**
 * The header of a synthetic llama: { header, tensors, offsets, dataStart,
 * dataSize, fileBytes }. shape: { dim, ffn, layers, heads, kvHeads?, vocab
 * (at most 320 tokens of vocabulary exist; more rows are allowed only if
 * vocab is 320), ctx? }.
 */
export function llamaHeader(shape, type) {
  const s = { vocab: 320, ...shape };
  if (s.vocab !== 320) throw new Error('fake-llama: the vocabulary has 320 tokens');
  const tensors = llamaTensors(s, type);
  const { header, offsets, dataStart, dataSize } = buildHeader(metadata(s), tensors, 32);
  return { header, tensors, offsets, dataStart, dataSize, fileBytes: dataStart + dataSize };
}

/**
 * Writes a synthetic llama to `path`. fill(tensor, bytes) may return a
 * Buffer of the tensor's data (nbytes long); without it (or when it returns
 * nothing) the data stays a hole: zeros that take no disk. F32 norm
 * weights are written as 1.0 unless fill gives them.
 */
export function writeLlama(path, shape, type, fill = () => undefined) {
  const h = llamaHeader(shape, type);
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, h.header, 0, h.header.length, 0);
    h.tensors.forEach((t, i) => {
      const nbytes = tensorBytes(t.ne, t.type);
      let data = fill(t, nbytes);
      if (!data && t.ne.length === 1) {
        data = Buffer.alloc(nbytes);
        for (let k = 0; k < nbytes; k += 4) data.writeFloatLE(1, k);
      }
      if (data) {
        if (data.length !== nbytes) throw new Error(`fake-llama: ${t.name} needs ${nbytes} bytes, got ${data.length}`);
        fs.writeSync(fd, data, 0, nbytes, h.dataStart + h.offsets[i]);
      }
    });
    fs.ftruncateSync(fd, h.fileBytes);
  } finally {
    fs.closeSync(fd);
  }
  return h;
}
