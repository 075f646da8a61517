// greenformer split IN.gguf OUT-PREFIX --max-size 500M: writes a split model
// in llama.cpp's gguf-split layout (OUT-PREFIX-00001-of-0000N.gguf, ...):
// the first shard carries the metadata, every shard the split keys
// (split.no u16, split.count u16, split.tensors.count i32) and a run of
// tensors in the input's order. The tensor bytes are copied as they are.
import { open } from 'node:fs/promises';

import { openOutput, refuseSameFile } from '../../web/files.js';
import { HeaderWriter, alignUp, parseGgufHeader } from '../../web/gguf-header.js';
import { UsageError } from './common.mjs';

export const usage = `split IN.gguf OUT-PREFIX [--max-size SIZE] [--max-tensors N]
        write IN as llama.cpp's gguf-split shards OUT-PREFIX-00001-of-0000N.gguf, ...: each holds tensors
        of at most SIZE bytes (K, M or G suffix; a larger tensor gets a shard of its own) and at most N
        tensors (default 128 when no --max-size); greenformer and llama.cpp load them from the first`;

export const options = {
  'max-size': { type: 'string' },
  'max-tensors': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const extraPositionals = 1;

const SPLIT_KEYS = ['split.no', 'split.count', 'split.tensors.count'];
const U16 = 2;
const I32 = 5;

export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)B?$/i.exec(String(text).trim());
  if (!m) throw new UsageError(`--max-size must be a size such as 500M or 2G, got "${text}"`);
  const bytes = Math.floor(Number(m[1]) * { '': 1, K: 1024, M: 1048576, G: 1073741824 }[m[2].toUpperCase()]);
  if (!(bytes >= 1)) throw new UsageError(`--max-size must be at least 1 byte, got "${text}"`);
  return bytes;
}

async function readHeader(handle, path) {
  let buf = new Uint8Array(1 << 16);
  let len = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, len, buf.length - len, len);
    len += bytesRead;
    const header = parseGgufHeader(buf.subarray(0, len), path);
    if (header) return { header, bytes: buf.subarray(0, header.headerEnd) };
    if (bytesRead === 0) throw new Error(`${path}: the file ends inside its GGUF header`);
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
  }
}

/**
 * Splits a GGUF file: returns the shard paths. maxSize: tensor bytes per
 * shard (soft: one tensor larger than it gets its own shard); maxTensors:
 * tensors per shard.
 */
export async function splitGguf(input, prefix, { maxSize = Infinity, maxTensors = Infinity } = {}) {
  const handle = await open(input, 'r');
  const written = [];
  try {
    const size = (await handle.stat()).size;
    const { header, bytes } = await readHeader(handle, input);
    const { tensors, alignment, dataStart } = header;
    if (!tensors.length) throw new Error(`${input} has no tensors to split`);
    if (header.kv.some((e) => e.key === 'split.count')) throw new Error(`${input} is already a shard of a split model`);
    // each tensor's bytes run to the next tensor's offset (its padding included)
    const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
    const span = new Map(byOffset.map((t, i) => [t, (i + 1 < byOffset.length ? byOffset[i + 1].offset : size - dataStart) - t.offset]));
    const groups = [];
    let group = null;
    let bytesIn = 0;
    for (const t of tensors) {
      const n = alignUp(span.get(t), alignment);
      if (!group || group.length >= maxTensors || (bytesIn + n > maxSize && group.length)) {
        groups.push((group = []));
        bytesIn = 0;
      }
      group.push(t);
      bytesIn += n;
    }
    if (groups.length > 65535) throw new Error(`${groups.length} shards: split.count is 16 bits`);
    const count = groups.length;
    const alignKv = header.kv.find((e) => e.key === 'general.alignment');
    for (const [i, g] of groups.entries()) {
      const path = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`;
      await refuseSameFile(input, path, 'split');
      const kept = i === 0 ? header.kv.filter((e) => !SPLIT_KEYS.includes(e.key)) : alignKv ? [alignKv] : [];
      const w = new HeaderWriter();
      w.bytes(bytes.subarray(0, 8)); // magic and version
      w.u64(g.length);
      w.u64(kept.length + 3);
      for (const e of kept) w.bytes(bytes.subarray(e.start, e.end));
      w.kvInt('split.no', U16, i);
      w.kvInt('split.count', U16, count);
      w.kvInt('split.tensors.count', I32, tensors.length);
      let at = 0;
      for (const t of g) {
        w.tensor(t, at);
        at += alignUp(span.get(t), alignment);
      }
      w.pad(alignment);
      const out = await openOutput(path);
      try {
        await out.write(w.finish());
        for (const t of g) {
          const n = span.get(t);
          const buf = new Uint8Array(alignUp(n, alignment));
          for (let got = 0; got < n; ) {
            const { bytesRead } = await handle.read(buf, got, n - got, dataStart + t.offset + got);
            if (!bytesRead) throw new Error(`${input} ends inside tensor '${t.name}'`);
            got += bytesRead;
          }
          await out.write(buf);
        }
      } catch (e) {
        await out.abort();
        throw e;
      }
      await out.close();
      written.push(path);
    }
    return written;
  } finally {
    await handle.close();
  }
}

export async function run(input, v, [prefix]) {
  if (!prefix) throw new UsageError('split needs an output prefix: split IN.gguf OUT-PREFIX --max-size 500M');
  if (/\.gguf$/i.test(prefix)) throw new UsageError(`split's OUT-PREFIX is a name without .gguf (shards are PREFIX-00001-of-0000N.gguf), got "${prefix}"`);
  const maxSize = v['max-size'] === undefined ? Infinity : parseSize(v['max-size']);
  let maxTensors = Infinity;
  if (v['max-tensors'] !== undefined) {
    maxTensors = Number(v['max-tensors']);
    if (!Number.isSafeInteger(maxTensors) || maxTensors < 1) throw new UsageError(`--max-tensors must be a positive integer, got "${v['max-tensors']}"`);
  } else if (maxSize === Infinity) maxTensors = 128;
  const paths = await splitGguf(input, prefix, { maxSize, maxTensors });
  if (!v.quiet) process.stderr.write(`wrote ${paths.length} shard${paths.length === 1 ? '' : 's'}: ${paths.join(', ')}\n`);
}
