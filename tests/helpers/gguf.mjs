// A small independent GGUF reader for tests: metadata entries (key, type,
// raw value bytes, decoded scalars and strings), the tensor table, and each
// tensor's data, so outputs can be checked against llama.cpp's files
// without going through the code under test.

const SCALAR = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const BLOCK = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176],
  14: [256, 210], 20: [32, 18], 23: [256, 136], 30: [1, 2],
};
export const TYPE_NAMES = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 20: 'IQ4_NL', 23: 'IQ4_XS', 30: 'BF16',
};

export function parseGguf(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const u32 = () => ((p += 4), dv.getUint32(p - 4, true));
  const u64 = () => ((p += 8), Number(dv.getBigUint64(p - 8, true)));
  const str = () => {
    const n = u64();
    p += n;
    return Buffer.from(buf.buffer, buf.byteOffset + p - n, n).toString('utf8');
  };
  const skip = (type) => {
    if (type === 8) return str();
    if (type === 9) {
      const et = u32();
      const n = u64();
      for (let i = 0; i < n; i++) skip(et);
      return undefined;
    }
    const size = SCALAR[type];
    if (!size) throw new Error(`bad value type ${type}`);
    p += size;
    return undefined;
  };
  if (buf.subarray(0, 4).toString() !== 'GGUF') throw new Error('not a GGUF file');
  p = 4;
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const kv = [];
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32();
    const start = p;
    const s = skip(type);
    const raw = buf.subarray(start, p);
    let value = s;
    if (type === 4) value = dv.getUint32(start, true);
    kv.push({ key, type, raw, value });
  }
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDims = u32();
    const ne = [];
    for (let d = 0; d < nDims; d++) ne.push(u64());
    const type = u32();
    const offset = u64();
    const [blk, bytes] = BLOCK[type] ?? [0, 0];
    const n = ne.reduce((a, b) => a * b, 1);
    tensors.push({ name, ne, type, typeName: TYPE_NAMES[type] ?? `type ${type}`, offset, nbytes: blk ? (n / blk) * bytes : 0 });
  }
  const alignKv = kv.find((e) => e.key === 'general.alignment');
  const alignment = alignKv ? alignKv.value : 32;
  const dataOffset = Math.ceil(p / alignment) * alignment;
  const data = (t) => buf.subarray(dataOffset + t.offset, dataOffset + t.offset + t.nbytes);
  const get = (key) => kv.find((e) => e.key === key)?.value;
  return { version, kv, tensors, alignment, dataOffset, data, get };
}
