// Minimal GGUF v3 writer (header) and reader (metadata + tensor infos), little-endian.

import fs from 'node:fs';

export const VT = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };

// ggml tensor types: id, elements per block, bytes per block.
export const GGML = {
  F32: { id: 0, blk: 1, bytes: 4 },
  F16: { id: 1, blk: 1, bytes: 2 },
  Q4_0: { id: 2, blk: 32, bytes: 18 },
  Q4_1: { id: 3, blk: 32, bytes: 20 },
  Q5_0: { id: 6, blk: 32, bytes: 22 },
  Q5_1: { id: 7, blk: 32, bytes: 24 },
  Q8_0: { id: 8, blk: 32, bytes: 34 },
  Q4_K: { id: 12, blk: 256, bytes: 144 },
  Q5_K: { id: 13, blk: 256, bytes: 176 },
  Q6_K: { id: 14, blk: 256, bytes: 210 },
  IQ4_NL: { id: 20, blk: 32, bytes: 18 },
};
export const GGML_BY_ID = Object.fromEntries(Object.entries(GGML).map(([name, t]) => [t.id, { name, ...t }]));

export function tensorBytes(ne, typeName) {
  const t = GGML[typeName];
  const n = ne.reduce((a, b) => a * b, 1);
  if (ne[0] % t.blk) throw new Error(`row of ${ne[0]} not a multiple of ${typeName} block ${t.blk}`);
  return (n / t.blk) * t.bytes;
}

class ByteSink {
  constructor() { this.chunks = []; this.len = 0; }
  push(buf) { this.chunks.push(buf); this.len += buf.length; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  concat() { return Buffer.concat(this.chunks, this.len); }
}

function writeValue(sink, type, v) {
  switch (type) {
    case VT.U32: sink.u32(v); break;
    case VT.I32: sink.i32(v); break;
    case VT.F32: sink.f32(v); break;
    case VT.BOOL: sink.push(Buffer.from([v ? 1 : 0])); break;
    case VT.STR: sink.str(v); break;
    case VT.U64: sink.u64(v); break;
    default: throw new Error(`value type ${type} not supported by this writer`);
  }
}

/**
 * GGUF header bytes. kvs: [key, type, value] (arrays: [key, VT.ARR, { type, values }]).
 * tensors: [{ name, ne, type }] (type: GGML key). Returns { header, offsets, dataStart, dataSize },
 * with the header already padded to the alignment (the data section starts right after it).
 */
export function buildHeader(kvs, tensors, alignment = 32) {
  const s = new ByteSink();
  s.push(Buffer.from('GGUF', 'ascii'));
  s.u32(3);
  s.u64(tensors.length);
  s.u64(kvs.length);
  for (const [key, type, value] of kvs) {
    s.str(key);
    s.u32(type);
    if (type === VT.ARR) {
      s.u32(value.type);
      s.u64(value.values.length);
      if (value.type === VT.F32) {
        const b = Buffer.alloc(4 * value.values.length);
        value.values.forEach((x, i) => b.writeFloatLE(x, 4 * i));
        s.push(b);
      } else if (value.type === VT.I32) {
        const b = Buffer.alloc(4 * value.values.length);
        value.values.forEach((x, i) => b.writeInt32LE(x, 4 * i));
        s.push(b);
      } else {
        for (const x of value.values) writeValue(s, value.type, x);
      }
    } else {
      writeValue(s, type, value);
    }
  }
  const offsets = [];
  let off = 0;
  for (const t of tensors) {
    s.str(t.name);
    s.u32(t.ne.length);
    for (const n of t.ne) s.u64(n);
    s.u32(GGML[t.type].id);
    s.u64(off);
    offsets.push(off);
    off += tensorBytes(t.ne, t.type);
    off = Math.ceil(off / alignment) * alignment;
  }
  const pad = (alignment - (s.len % alignment)) % alignment;
  s.push(Buffer.alloc(pad));
  return { header: s.concat(), offsets, dataStart: s.len, dataSize: off };
}

/**
 * Reads a GGUF file's metadata and tensor infos (only the header is read).
 * Returns { version, kv: Map(key -> value), tensors: [{ name, ne, type, typeName, offset, nbytes }], dataStart }.
 */
export function readGGUF(path) {
  const fd = fs.openSync(path, 'r');
  try {
    let buf = Buffer.alloc(1 << 20);
    let have = fs.readSync(fd, buf, 0, buf.length, 0);
    let o = 0;
    const need = (n) => {
      while (o + n > have) {
        const nb = Buffer.alloc(buf.length * 2);
        buf.copy(nb, 0, 0, have);
        buf = nb;
        const r = fs.readSync(fd, buf, have, buf.length - have, have);
        if (r <= 0) throw new Error(`${path}: truncated GGUF header`);
        have += r;
      }
    };
    const u32 = () => { need(4); const v = buf.readUInt32LE(o); o += 4; return v; };
    const u64 = () => { need(8); const v = Number(buf.readBigUInt64LE(o)); o += 8; return v; };
    const str = () => { const n = u64(); need(n); const v = buf.toString('utf8', o, o + n); o += n; return v; };
    const val = (t) => {
      switch (t) {
        case VT.U8: need(1); return buf.readUInt8(o++);
        case VT.I8: need(1); return buf.readInt8(o++);
        case VT.U16: need(2); o += 2; return buf.readUInt16LE(o - 2);
        case VT.I16: need(2); o += 2; return buf.readInt16LE(o - 2);
        case VT.U32: return u32();
        case VT.I32: need(4); o += 4; return buf.readInt32LE(o - 4);
        case VT.F32: need(4); o += 4; return buf.readFloatLE(o - 4);
        case VT.BOOL: need(1); return buf.readUInt8(o++) !== 0;
        case VT.STR: return str();
        case VT.ARR: { const at = u32(); const n = u64(); const a = new Array(n); for (let i = 0; i < n; i++) a[i] = val(at); return a; }
        case VT.U64: return u64();
        case VT.I64: need(8); o += 8; return Number(buf.readBigInt64LE(o - 8));
        case VT.F64: need(8); o += 8; return buf.readDoubleLE(o - 8);
        default: throw new Error(`${path}: bad GGUF value type ${t}`);
      }
    };
    need(8);
    if (buf.toString('ascii', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file`);
    o = 4;
    const version = u32();
    const nt = u64();
    const nkv = u64();
    const kv = new Map();
    for (let i = 0; i < nkv; i++) { const k = str(); const t = u32(); kv.set(k, val(t)); }
    const tensors = [];
    for (let i = 0; i < nt; i++) {
      const name = str();
      const nd = u32();
      const ne = [];
      for (let j = 0; j < nd; j++) ne.push(u64());
      const type = u32();
      const offset = u64();
      const t = GGML_BY_ID[type];
      tensors.push({ name, ne, type, typeName: t ? t.name : `type${type}`, offset, nbytes: t ? tensorBytes(ne, t.name) : NaN });
    }
    const alignment = kv.get('general.alignment') ?? 32;
    const dataStart = Math.ceil(o / alignment) * alignment;
    return { version, kv, tensors, dataStart };
  } finally {
    fs.closeSync(fd);
  }
}
