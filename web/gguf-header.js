// A GGUF header reader for the JS side's own needs (split models, the CLI's
// split command): where each metadata entry's bytes are, the few integers it
// needs (split.*, general.alignment), the tensor table and where the data
// starts. The C core parses and validates everything else; this reader only
// has to find its way through the bytes.
//
// parseGgufHeader(bytes) returns null while `bytes` holds only part of the
// header (read more and call again), and throws on anything malformed.

const SCALAR_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8]; // GGUF value types 0..12; 8 string, 9 array
const STRING = 8;
const ARRAY = 9;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** The largest header read into memory (a 256k-token vocabulary takes ~10 MB). */
export const MAX_HEADER_BYTES = 64 << 20;

class Short extends Error {}

/**
 * @returns {null | { version: number, kv: Array<{ key: string, type: number, start: number, end: number, value?: number }>,
 *   tensors: Array<{ name: string, dims: number[], type: number, offset: number, start: number, end: number }>,
 *   headerEnd: number, alignment: number, dataStart: number }}
 *   kv[i].start..end: the entry's bytes (key, type and value); value: integer entries only.
 */
export function parseGgufHeader(bytes, label = 'file') {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n) => {
    if (p + n > bytes.length) throw new Short();
  };
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${label}: GGUF header value ${v} at byte ${p - 8} is out of range`);
    return Number(v);
  };
  const str = () => {
    const n = u64();
    if (n > MAX_HEADER_BYTES) throw new Error(`${label}: GGUF string of ${n} bytes at byte ${p - 8}`);
    need(n);
    p += n;
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(p - n, p));
  };
  const integerAt = (type, at) => {
    switch (type) {
      case 0: return dv.getUint8(at);
      case 1: return dv.getInt8(at);
      case 2: return dv.getUint16(at, true);
      case 3: return dv.getInt16(at, true);
      case 4: return dv.getUint32(at, true);
      case 5: return dv.getInt32(at, true);
      case 10: return Number(dv.getBigUint64(at, true));
      case 11: return Number(dv.getBigInt64(at, true));
      default: return undefined;
    }
  };
  const skipValue = (type, depth = 0) => {
    if (type === STRING) return void str();
    if (type === ARRAY) {
      if (depth > 2) throw new Error(`${label}: GGUF arrays nested too deep at byte ${p}`);
      const et = u32();
      const n = u64();
      if (et === STRING || et === ARRAY) {
        for (let i = 0; i < n; i++) skipValue(et, depth + 1);
        return;
      }
      const size = SCALAR_BYTES[et];
      if (!size) throw new Error(`${label}: GGUF array of unknown value type ${et} at byte ${p}`);
      if (n * size > MAX_HEADER_BYTES) throw new Error(`${label}: GGUF array of ${n} values at byte ${p}`);
      need(n * size);
      p += n * size;
      return;
    }
    const size = SCALAR_BYTES[type];
    if (!size) throw new Error(`${label}: GGUF value of unknown type ${type} at byte ${p}`);
    need(size);
    p += size;
  };
  try {
    need(4);
    if (String.fromCharCode(...bytes.subarray(0, 4)) !== 'GGUF') throw new Error(`${label} is not a GGUF file (no GGUF magic)`);
    p = 4;
    const version = u32();
    if (version !== 2 && version !== 3) throw new Error(`${label}: GGUF version ${version} (2 and 3 are read)`);
    const nTensors = u64();
    const nKv = u64();
    const kv = [];
    for (let i = 0; i < nKv; i++) {
      const start = p;
      const key = str();
      const type = u32();
      const at = p;
      skipValue(type);
      kv.push({ key, type, start, end: p, value: integerAt(type, at) });
      if (p > MAX_HEADER_BYTES) throw new Error(`${label}: GGUF header larger than ${MAX_HEADER_BYTES >> 20} MiB`);
    }
    const tensors = [];
    for (let i = 0; i < nTensors; i++) {
      const start = p;
      const name = str();
      const nDims = u32();
      if (nDims > 4) throw new Error(`${label}: tensor '${name}' has ${nDims} dimensions (at most 4)`);
      const dims = [];
      for (let d = 0; d < nDims; d++) dims.push(u64());
      const type = u32();
      const offset = u64();
      tensors.push({ name, dims, type, offset, start, end: p });
      if (p > MAX_HEADER_BYTES) throw new Error(`${label}: GGUF header larger than ${MAX_HEADER_BYTES >> 20} MiB`);
    }
    const a = kv.find((e) => e.key === 'general.alignment');
    const alignment = a ? a.value : GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment & (alignment - 1)) {
      throw new Error(`${label}: general.alignment ${a?.value} is not a power of two`);
    }
    return { version, kv, tensors, headerEnd: p, alignment, dataStart: alignUp(p, alignment) };
  } catch (e) {
    if (e instanceof Short) {
      if (bytes.length >= MAX_HEADER_BYTES) throw new Error(`${label}: GGUF header larger than ${MAX_HEADER_BYTES >> 20} MiB`);
      return null;
    }
    throw e;
  }
}

export function alignUp(n, a) {
  return Math.ceil(n / a) * a;
}

/** The integer value of metadata entry `key`, or undefined. */
export function kvInteger(header, key) {
  return header.kv.find((e) => e.key === key)?.value;
}

/** GGUF bytes writers for the merged / split headers. */
export class HeaderWriter {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  bytes(b) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.bytes(b);
  }
  u64(v) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.bytes(b);
  }
  str(s) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  /** A metadata entry of an integer type (2 u16, 4 u32, 5 i32). */
  kvInt(key, type, v) {
    this.str(key);
    this.u32(type);
    const b = new Uint8Array(type === 2 ? 2 : 4);
    const dv = new DataView(b.buffer);
    if (type === 2) dv.setUint16(0, v, true);
    else if (type === 4) dv.setUint32(0, v, true);
    else dv.setInt32(0, v, true);
    this.bytes(b);
  }
  tensor(t, offset) {
    this.str(t.name);
    this.u32(t.dims.length);
    for (const d of t.dims) this.u64(d);
    this.u32(t.type);
    this.u64(offset);
  }
  pad(alignment) {
    const n = alignUp(this.length, alignment) - this.length;
    if (n) this.bytes(new Uint8Array(n));
  }
  /** The whole header as one Uint8Array. */
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const b of this.parts) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}
