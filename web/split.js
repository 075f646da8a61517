// Split models (llama.cpp's gguf-split): model-00001-of-00003.gguf, ...
// Every shard is a GGUF file of its own with `split.no` (u16, from 0),
// `split.count` (u16) and `split.tensors.count` (i32, the whole model's);
// the first carries the model's metadata, each holds some of the tensors.
//
// The shards are presented to the loader as one GGUF byte stream: a merged
// header (the first shard's metadata without the split keys, then every
// shard's tensor table with offsets moved past the shards before it), then
// each shard's data in order, padded to the alignment. So the C core loads a
// split model exactly as the same model in one file, and the bytes still go
// once, chunk by chunk, to their place in wasm memory.
//
// Shards are read twice at the start, headers only: all tensor tables are
// needed before the first weight byte. URL shards are closed after their
// header and fetched again for their data (a browser opens few connections
// per host; through the persistent cache the second request resumes the
// first), other sources stay open.

import { HeaderWriter, alignUp, kvInteger, parseGgufHeader } from './gguf-header.js';
import { show } from './options.js';

const SPLIT_NAME = /-(\d{5})-of-(\d{5})\.gguf$/;
const SPLIT_KEYS = ['split.no', 'split.count', 'split.tensors.count'];

function nameOf(source) {
  if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    if (/^[a-z]:[\\/]/i.test(s)) return { kind: 'path', path: s }; // C:\ or C:/
    try {
      const u = new URL(s);
      return { kind: 'url', url: u, path: u.pathname };
    } catch {
      return { kind: 'path', path: s }; // a path, or a URL relative to a page
    }
  }
  if (typeof File !== 'undefined' && source instanceof File) return { kind: 'file', path: source.name };
  return null;
}

/** The shard number and count a name says (`-00001-of-00003.gguf`), or null. */
export function splitPattern(name) {
  const m = SPLIT_NAME.exec(name);
  return m ? { no: Number(m[1]), count: Number(m[2]) } : null;
}

/**
 * The shard list a source names, or null when it is one file: an array
 * (at least one entry) is the shards in order (one entry: a single file); a path or URL named like
 * the first of several shards names its siblings by the same pattern. `what` names the caller in errors.
 */
export function splitSources(source, what = 'loadModel') {
  if (Array.isArray(source)) {
    if (!source.length) throw new TypeError(`${what}: an array source lists the shards of a split model; got an empty array`);
    return source;
  }
  const n = nameOf(source);
  const m = n && splitPattern(n.path);
  if (!m || m.count <= 1) return null;
  if (n.kind === 'file') {
    throw new TypeError(`${what}: ${n.path} is shard ${m.no} of ${m.count} of a split model: pass all ${m.count} files as an array, in order`);
  }
  if (m.no !== 1) {
    throw new TypeError(`${what}: ${show(String(source))} is shard ${m.no} of ${m.count} of a split model: give the first (-00001-of-${String(m.count).padStart(5, '0')}.gguf)`);
  }
  const count = String(m.count).padStart(5, '0');
  const name = (i) => `-${String(i).padStart(5, '0')}-of-${count}.gguf`;
  if (n.kind === 'url') {
    return Array.from({ length: m.count }, (_, i) => {
      const u = new URL(n.url.href);
      u.pathname = u.pathname.replace(SPLIT_NAME, name(i + 1));
      return u.href;
    });
  }
  return Array.from({ length: m.count }, (_, i) => n.path.replace(SPLIT_NAME, name(i + 1)));
}

/**
 * Opens a model source as one GGUF byte stream: a split model (splitSources) through openSplit, its shards opened
 * with `open`; anything else with `open` itself. loadModel, quantize, prune and ggufSummary all open models so.
 */
export async function openModelSource(source, open, { signal, what = 'loadModel' } = {}) {
  const shards = splitSources(source, what);
  return shards?.length > 1 ? openSplit(shards, open, { signal }) : open(shards ? shards[0] : source);
}

/** The files a source names: a split model's shards, else the source itself. */
export function sourceFiles(source, what = 'loadModel') {
  return splitSources(source, what) ?? [source];
}

function labelOf(source, i, count) {
  const n = nameOf(source);
  const what = n ? n.path.split('/').pop() : typeof Blob !== 'undefined' && source instanceof Blob ? 'a Blob' : typeof source;
  return `shard ${i + 1} of ${count} (${what})`;
}

/** Bytes from a source (readInto or chunks), with bytes read too far put back. */
function byteReader(src) {
  let pending = null;
  const iterator = src.chunks?.[Symbol.asyncIterator]();
  return {
    async read(target) {
      if (pending) {
        const n = Math.min(pending.length, target.length);
        target.set(pending.subarray(0, n));
        pending = n < pending.length ? pending.subarray(n) : null;
        return n;
      }
      if (src.readInto) return src.readInto(target);
      for (;;) {
        const step = await iterator.next();
        if (step.done) return 0;
        if (!step.value.length) continue;
        const n = Math.min(step.value.length, target.length);
        target.set(step.value.subarray(0, n));
        if (n < step.value.length) pending = step.value.slice(n); // chunks may be reused: copy the rest
        return n;
      }
    },
    unread(bytes) {
      pending = pending ? concat(bytes, pending) : bytes;
    },
    async close() {
      await src.close?.();
      await iterator?.return?.();
    },
  };
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reads a shard's header: { header, bytes (the header's bytes up to the data start) }; the rest stays in the reader. */
async function readHeader(reader, label) {
  let buf = new Uint8Array(1 << 16);
  let len = 0;
  let tried = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await reader.read(buf.subarray(len));
    len += n;
    if (n === 0 || len >= 2 * tried) {
      tried = len;
      const header = parseGgufHeader(buf.subarray(0, len), label);
      if (header && len >= header.dataStart) {
        if (len > header.dataStart) reader.unread(buf.slice(header.dataStart, len));
        return { header, bytes: buf.slice(0, header.dataStart) };
      }
      if (n === 0) throw new Error(`${label}: the file ends inside its GGUF header (${len} bytes)`);
    }
  }
}

function splitValue(header, key, label) {
  const v = kvInteger(header, key);
  if (v === undefined) throw new Error(`split model: ${label} has no ${key} (not a gguf-split shard)`);
  return v;
}

/**
 * Opens the shards as one GGUF source ({ name, size, shards, cache,
 * readInto, close, checkTypes }). `openOne(source)` opens a shard the way
 * the loader opens a file (cache, resumable downloads, paths).
 */
export async function openSplit(list, openOne, { signal } = {}) {
  const count = list.length;
  const shards = [];
  const fail = async (e) => {
    for (const s of shards) await s.reader?.close().catch(() => {});
    throw e;
  };
  for (let i = 0; i < count; i++) {
    const label = labelOf(list[i], i, count);
    let src;
    try {
      src = await openOne(list[i]);
    } catch (e) {
      return fail(new Error(`split model: cannot open ${label}: ${e.message}`, { cause: e }));
    }
    const reader = byteReader(src);
    const shard = { source: list[i], label, src, reader, reopen: i > 0 && nameOf(list[i])?.kind === 'url' && /^https?:$/.test(nameOf(list[i]).url.protocol) };
    shards.push(shard);
    try {
      Object.assign(shard, await readHeader(reader, label));
      if (signal?.aborted) throw signal.reason;
      if (!src.size) throw new Error(`split model: the size of ${label} is unknown (the server sent no Content-Length)`);
      shard.size = src.size;
      if (shard.size < shard.header.dataStart) throw new Error(`split model: ${label} is shorter than its header`);
      if (shard.reopen) {
        await reader.close();
        shard.reader = null;
      }
    } catch (e) {
      return fail(e);
    }
  }
  try {
    return merged(shards, openOne, signal);
  } catch (e) {
    return fail(e);
  }
}

function merged(shards, openOne, signal) {
  const count = shards.length;
  const first = shards[0].header;
  const total = splitValue(first, 'split.tensors.count', shards[0].label);
  const seen = new Map();
  let held = 0;
  let base = 0;
  for (const [i, s] of shards.entries()) {
    const no = splitValue(s.header, 'split.no', s.label);
    const n = splitValue(s.header, 'split.count', s.label);
    const t = splitValue(s.header, 'split.tensors.count', s.label);
    if (n !== count) throw new Error(`split model: ${s.label} has split.count ${n}, but ${count} shards were given`);
    if (no !== i) throw new Error(`split model: ${s.label} has split.no ${no} (it is shard ${no + 1}); shard ${i + 1} should have split.no ${i}`);
    if (t !== total) {
      throw new Error(`split model: ${s.label} has split.tensors.count ${t} but shard 1 has ${total}: it belongs to another model`);
    }
    if (s.header.alignment !== first.alignment && s.header.tensors.length) {
      throw new Error(`split model: ${s.label} has general.alignment ${s.header.alignment}, shard 1 ${first.alignment}`);
    }
    for (const t of s.header.tensors) {
      const other = seen.get(t.name);
      if (other !== undefined) throw new Error(`split model: tensor '${t.name}' is in ${shards[other].label} and again in ${s.label}`);
      seen.set(t.name, i);
    }
    held += s.header.tensors.length;
    s.base = base; // where the shard's data starts in the merged data section
    s.dataLength = s.size - s.header.dataStart;
    base = alignUp(base + s.dataLength, first.alignment);
  }
  if (held !== total) {
    throw new Error(`split model: the ${count} shards hold ${held} tensors but split.tensors.count is ${total}: ${held < total ? 'tensors are missing (a shard of another split?)' : 'too many tensors'}`);
  }
  // the merged header: shard 1's metadata without the split keys, every tensor table, padding
  const w = new HeaderWriter();
  const kept = first.kv.filter((e) => !SPLIT_KEYS.includes(e.key));
  w.bytes(shards[0].bytes.subarray(0, 8)); // magic and version
  w.u64(total);
  w.u64(kept.length);
  for (const e of kept) w.bytes(shards[0].bytes.subarray(e.start, e.end));
  for (const s of shards) for (const t of s.header.tensors) w.tensor(t, s.base + t.offset);
  w.pad(first.alignment);
  const header = w.finish();
  const last = shards[count - 1];
  const size = header.length + last.base + last.dataLength;

  // reading: the header, then each shard's data and the padding after it
  let at = 0; // position in the merged stream
  let k = -1; // the shard being read (-1: the header)
  let left = 0; // bytes of shard k's data still to read
  let pad = 0; // zero bytes after it
  // a shard's data is all read: read on to its end at once (a cached download then records itself
  // complete, even for the last shard, after whose last byte the loader asks for no more), then close it
  const finish = async (s) => {
    const scratch = new Uint8Array(4096);
    while ((await s.reader.read(scratch)) > 0);
    await s.reader.close();
    s.reader = null;
  };
  const next = async () => {
    const s = shards[k];
    if (s?.reader) await finish(s);
    k++;
    if (k >= count) return;
    const t = shards[k];
    left = t.dataLength;
    pad = (k + 1 < count ? shards[k + 1].base : t.base + t.dataLength) - t.base - t.dataLength;
    if (!t.reader) {
      // fetched again: its header must be the one read before
      try {
        t.reader = byteReader(await openOne(t.source));
      } catch (e) {
        throw new Error(`split model: cannot open ${t.label} again: ${e.message}`, { cause: e });
      }
      const again = await readHeader(t.reader, t.label);
      if (again.bytes.length !== t.bytes.length || again.bytes.some((b, i) => b !== t.bytes[i])) {
        throw new Error(`split model: ${t.label} changed between reading its header and its data`);
      }
    }
  };
  return {
    name: String(shards[0].src.name),
    size,
    shards: count,
    get cache() {
      const all = [...new Set(shards.map((s) => s.src.cache ?? 'none'))];
      return all.length === 1 ? all[0] : `mixed: ${shards.map((s) => s.src.cache ?? 'none').join(', ')}`;
    },
    /** Checks that every tensor lies inside its shard (rows { id, blockElements, blockBytes } of Core#types()). */
    checkTypes(types) {
      const byId = new Map(types.map((r) => [r.id, r]));
      for (const s of shards) {
        for (const t of s.header.tensors) {
          const row = byId.get(t.type);
          if (!row) continue; // the core names an unknown type itself
          const n = t.dims.reduce((a, b) => a * b, 1);
          const end = t.offset + (n / row.blockElements) * row.blockBytes;
          if (end > s.dataLength) {
            throw new Error(`split model: ${s.label} is truncated: tensor '${t.name}' ends at data byte ${end}, the shard has ${s.dataLength}`);
          }
        }
      }
    },
    async readInto(target) {
      if (signal?.aborted) throw signal.reason;
      if (k < 0) {
        const n = Math.min(target.length, header.length - at);
        target.set(header.subarray(at, at + n));
        at += n;
        if (at === header.length) await next();
        return n;
      }
      while (k < count && !left && !pad) await next();
      if (k >= count) return 0;
      if (left) {
        const n = await shards[k].reader.read(target.subarray(0, Math.min(target.length, left)));
        if (n === 0) throw new Error(`split model: ${shards[k].label} ended ${left} bytes early`);
        left -= n;
        at += n;
        if (!left) await finish(shards[k]);
        return n;
      }
      const n = Math.min(target.length, pad);
      target.fill(0, 0, n);
      pad -= n;
      at += n;
      return n;
    },
    async close() {
      for (const s of shards) await s.reader?.close().catch(() => {});
    },
  };
}
