// Small edits of real GGUF files for error tests: find a length-prefixed
// string in the header and change what follows it.
import { readFileSync } from 'node:fs';

function findString(buf, s) {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  const at = buf.indexOf(Buffer.concat([len, bytes]));
  if (at < 0) throw new Error(`"${s}" not found in the GGUF header`);
  return at + 8 + bytes.length;
}

/** Copy of a GGUF with one tensor's type id replaced (the layout stays valid when the new type is not larger). */
export function withTensorType(path, tensorName, typeId) {
  const buf = Buffer.from(readFileSync(path));
  const at = findString(buf, tensorName);
  const nDims = buf.readUInt32LE(at);
  buf.writeUInt32LE(typeId, at + 4 + 8 * nDims);
  return buf;
}

/** Copy of a GGUF with a string metadata value replaced by one of the same length. */
export function withStringValue(path, key, value) {
  const buf = Buffer.from(readFileSync(path));
  const at = findString(buf, key) + 4 + 8; // type, length
  const old = buf.subarray(at, at + Buffer.byteLength(value));
  if (old.length !== Buffer.byteLength(value)) throw new Error('value must keep its length');
  buf.write(value, at, 'utf8');
  return buf;
}

/** Copy of a GGUF (path or bytes) with a u32 metadata value replaced. */
export function withU32Value(source, key, value) {
  const buf = Buffer.from(typeof source === 'string' ? readFileSync(source) : source);
  const at = findString(buf, key);
  if (buf.readUInt32LE(at) !== 4) throw new Error(`${key} is not a u32`);
  buf.writeUInt32LE(value, at + 4);
  return buf;
}

function kvString(key, value) {
  const k = Buffer.from(key, 'utf8'), v = Buffer.from(value, 'utf8');
  const b = Buffer.alloc(8 + k.length + 4 + 8 + v.length);
  let o = b.writeBigUInt64LE(BigInt(k.length), 0);
  o += k.copy(b, o);
  o = b.writeUInt32LE(8, o); // string
  o = b.writeBigUInt64LE(BigInt(v.length), o);
  v.copy(b, o);
  return b;
}

/**
 * Copy of a GGUF with a string metadata key added (e.g. a chat template): the
 * new entries go first and are padded, with a second key, to a multiple of
 * 64 bytes, so the data section stays aligned and every tensor offset holds.
 */
export function withAddedString(path, key, value) {
  const buf = readFileSync(path);
  const entry = kvString(key, value);
  let pad = kvString('test.pad', '');
  const extra = (64 - ((entry.length + pad.length) % 64)) % 64;
  pad = kvString('test.pad', ' '.repeat(extra));
  const nKv = buf.readBigUInt64LE(16);
  const head = Buffer.from(buf.subarray(0, 24));
  head.writeBigUInt64LE(nKv + 2n, 16);
  return Buffer.concat([head, entry, pad, buf.subarray(24)]);
}

/**
 * Copy of a GGUF (path or bytes) with a u32 metadata value replaced by an array (elemType: 4 UINT32, 5 INT32,
 * 6 FLOAT32; values one per element), as llama.cpp's per-layer keys are written. The entry grows, so a
 * `test.pad` string entry is added making the header grow by a multiple of 64 bytes: the data section stays
 * aligned and every tensor offset holds (one pad entry per key replaced).
 */
export function withArrayValue(source, key, elemType, values) {
  const buf = Buffer.from(typeof source === 'string' ? readFileSync(source) : source);
  const at = findString(buf, key);
  if (buf.readUInt32LE(at) !== 4) throw new Error(`${key} is not a u32`);
  const arr = Buffer.alloc(4 + 4 + 8 + 4 * values.length);
  let o = arr.writeUInt32LE(9, 0); // array
  o = arr.writeUInt32LE(elemType, o);
  o = arr.writeBigUInt64LE(BigInt(values.length), o);
  for (const v of values) o = elemType === 6 ? arr.writeFloatLE(v, o) : elemType === 5 ? arr.writeInt32LE(v, o) : arr.writeUInt32LE(v, o);
  const grown = arr.length - 8; // the u32 entry was its type and 4 bytes
  const padKey = `test.pad.${key}`;
  let pad = kvString(padKey, '');
  pad = kvString(padKey, ' '.repeat((64 - ((grown + pad.length) % 64)) % 64));
  const nKv = buf.readBigUInt64LE(16);
  const head = Buffer.from(buf.subarray(0, 24));
  head.writeBigUInt64LE(nKv + 1n, 16);
  return Buffer.concat([head, pad, buf.subarray(24, at), arr, buf.subarray(at + 8)]);
}
