// Rewrites a GGUF (the shared F32 tiny-llama) with every matrix in another
// type, written here in JS from the block formats, independently of the C
// core: Q5_0 and IQ4_NL (which greenformer's quantizer does not write), and
// Q8_0 holding exactly their values, so a test can hold the core's Q5_0 and
// IQ4_NL dot products to its Q8_0 ones. Vectors (norms) stay F32.
import { fromHalf, toHalf } from '../../bench/lib/rng.mjs';
import { parseGguf } from './gguf.mjs';

const TYPE_ID = { F32: 0, Q5_0: 6, Q8_0: 8, IQ4_NL: 20 };
const BLOCK_BYTES = { Q5_0: 22, Q8_0: 34, IQ4_NL: 18 };
// The IQ4_NL codebook (ggml-common.h's kvalues_iq4nl).
export const IQ4_NL_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** One block of 32 floats in `type`: the ints q (-> value d * q) and the block's bytes. */
function quantizeBlock(x, type) {
  let amax = 0, max = 0;
  for (const v of x) if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
  const b = Buffer.alloc(BLOCK_BYTES[type]);
  const scale = type === 'Q5_0' ? max / -16 : type === 'IQ4_NL' ? max / -127 : amax / 127;
  const dh = toHalf(scale), d = fromHalf(dh);
  b.writeUInt16LE(dh, 0);
  const q = new Int8Array(32); // the values as int8 (what Q8_0 holds)
  if (type === 'Q5_0') {
    let qh = 0;
    for (let j = 0; j < 32; j++) {
      const c = Math.max(0, Math.min(31, Math.round(d ? x[j] / d : 0) + 16));
      q[j] = c - 16;
      if (c & 16) qh |= 1 << j;
      const byte = 6 + (j & 15);
      b[byte] |= j < 16 ? c & 15 : (c & 15) << 4;
    }
    b.writeUInt32LE(qh >>> 0, 2);
  } else if (type === 'IQ4_NL') {
    for (let j = 0; j < 32; j++) {
      const t = d ? x[j] / d : 0;
      let best = 0;
      for (let k = 1; k < 16; k++) if (Math.abs(IQ4_NL_VALUES[k] - t) < Math.abs(IQ4_NL_VALUES[best] - t)) best = k;
      q[j] = IQ4_NL_VALUES[best];
      b[2 + (j & 15)] |= j < 16 ? best : best << 4;
    }
  } else {
    for (let j = 0; j < 32; j++) {
      q[j] = Math.round(d ? x[j] / d : 0);
      b[2 + j] = q[j] & 255;
    }
  }
  return { q, dh, bytes: b };
}

/**
 * The F32 GGUF at `buf` with every matrix in `type` (Q5_0, IQ4_NL), or, with
 * `widen`, in Q8_0 holding exactly the values and scales that type's blocks hold.
 */
export function withMatrices(buf, type, { widen = false } = {}) {
  const g = parseGguf(buf);
  const out = type && widen ? 'Q8_0' : type;
  const parts = [], tensors = [];
  let offset = 0;
  for (const t of g.tensors) {
    const src = g.data(t);
    let data = Buffer.from(src);
    let typeName = 'F32';
    if (t.ne.length === 2) {
      typeName = out;
      const x = new Float32Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
      const blocks = [];
      for (let i = 0; i < x.length; i += 32) {
        const blk = quantizeBlock(x.subarray(i, i + 32), type);
        if (!widen) { blocks.push(blk.bytes); continue; }
        const w = Buffer.alloc(34);
        w.writeUInt16LE(blk.dh, 0);
        for (let j = 0; j < 32; j++) w[2 + j] = blk.q[j] & 255;
        blocks.push(w);
      }
      data = Buffer.concat(blocks);
    }
    tensors.push({ name: t.name, ne: t.ne, type: TYPE_ID[typeName], offset });
    const padded = Math.ceil(data.length / g.alignment) * g.alignment;
    parts.push(data, Buffer.alloc(padded - data.length));
    offset += padded;
  }
  const head = [];
  const u32b = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); head.push(b); };
  const u64b = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); head.push(b); };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); u64b(b.length); head.push(b); };
  head.push(Buffer.from('GGUF'));
  u32b(3);
  u64b(tensors.length);
  u64b(g.kv.length);
  for (const e of g.kv) { str(e.key); u32b(e.type); head.push(Buffer.from(e.raw)); }
  for (const t of tensors) { str(t.name); u32b(t.ne.length); t.ne.forEach(u64b); u32b(t.type); u64b(t.offset); }
  const h = Buffer.concat(head);
  const padded = Math.ceil(h.length / g.alignment) * g.alignment;
  return Buffer.concat([h, Buffer.alloc(padded - h.length), ...parts]);
}

/**
 * A quantized GGUF (`quantized`) with every tensor of a type in `map` (e.g. { Q4_1: 'Q5_0' }) written again in the
 * mapped type (Q5_0, IQ4_NL) from the same tensor of the F32 file it was quantized from: llama-quantize's fallbacks
 * for rows that are not a multiple of 256, which greenformer's quantizer does not write. Returns { kv, tensors } as
 * tests/fixtures/gguf-write.mjs writeGguf takes them.
 */
export function retyped(quantized, f32, map) {
  const q = parseGguf(quantized), src = parseGguf(f32);
  const tensors = q.tensors.map((t) => {
    const to = map[t.typeName];
    if (!to) return { name: t.name, ne: t.ne, type: t.type, bytes: q.data(t) };
    const s = src.tensors.find((x) => x.name === t.name);
    if (!s || s.typeName !== 'F32') throw new Error(`retyped: ${t.name} is not an F32 tensor of the source`);
    const d = src.data(s);
    const x = new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    const blocks = [];
    for (let i = 0; i < x.length; i += 32) blocks.push(quantizeBlock(x.subarray(i, i + 32), to).bytes);
    return { name: t.name, ne: t.ne, type: TYPE_ID[to], bytes: Buffer.concat(blocks) };
  });
  return { kv: q.kv, tensors };
}
