// Persistent model cache in the Origin Private File System (browsers).
//
// A URL's bytes are written to a file as they stream past on their way into
// wasm memory (one pass over the network, no second copy in memory), so the
// next load of that URL reads from disk. Writes use a synchronous access
// handle, which exists only in dedicated workers: that is where greenformer
// runs models in a page. Each write lands in the file at once, so a
// download cut short (closed tab, lost network) leaves a partial file that
// the next load resumes with a Range request instead of starting over.
//
// Layout: greenformer-cache/<sha256(url)>.gguf (bytes) and .json (metadata:
// url, size, bytes, validator, complete, cachedAt).

import { fromUrl, readStream } from './sources.js';

const DIR = 'greenformer-cache';

function opfsAvailable() {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

/** Whether loads here can write the cache (OPFS sync handles: dedicated workers only). */
export function cacheWritable() {
  return opfsAvailable() && typeof FileSystemFileHandle !== 'undefined' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype;
}

async function directory() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIR, { create: true });
}

async function keyOf(url) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readMeta(dir, key) {
  try {
    const file = await (await dir.getFileHandle(`${key}.json`)).getFile();
    return JSON.parse(await file.text());
  } catch {
    return null;
  }
}

async function writeMeta(dir, key, meta) {
  const handle = await (await dir.getFileHandle(`${key}.json`, { create: true })).createSyncAccessHandle();
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(meta));
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

async function remove(dir, key) {
  for (const ext of ['gguf', 'json']) await dir.removeEntry(`${key}.${ext}`).catch(() => {});
}

/** Every cached URL: [{ url, size, bytes, complete, cachedAt }]. */
export async function listCachedModels() {
  if (!opfsAvailable()) return [];
  const dir = await directory();
  const out = [];
  for await (const [name] of dir.entries()) {
    if (!name.endsWith('.json')) continue;
    const meta = await readMeta(dir, name.slice(0, -5));
    if (meta) out.push({ url: meta.url, size: meta.size, bytes: meta.bytes, complete: meta.complete, cachedAt: meta.cachedAt });
  }
  return out.sort((a, b) => a.url.localeCompare(b.url));
}

/** Removes a URL's cached bytes; true if there were any. */
export async function deleteCachedModel(url) {
  if (!opfsAvailable()) return false;
  const dir = await directory();
  const key = await keyOf(String(url));
  const had = !!(await readMeta(dir, key));
  await remove(dir, key);
  return had;
}

/**
 * A source for an http(s) URL that reads from the cache when it can and
 * fills it while downloading. `status` says what happened: 'hit' (no network),
 * 'resumed' (partial file + Range request), 'stored' (downloaded and cached),
 * or 'off: <reason>' (caching failed; the load goes on without it).
 */
export async function openCachedUrl(url, { signal, fetchOptions, timeout, retries, reload = false, warn = console.warn }) {
  // Any storage failure before the download (quota already used up by other
  // files, another tab holding this one, OPFS disabled) means: load from the
  // network without caching, and say why. Caching is never a reason to fail.
  let dir, key, meta, fileHandle, handle;
  try {
    dir = await directory();
    key = await keyOf(url);
    meta = await readMeta(dir, key);
    fileHandle = await dir.getFileHandle(`${key}.gguf`, { create: true });
    handle = await fileHandle.createSyncAccessHandle();
  } catch (e) {
    const reason = cacheFailure(e);
    warn(`greenformer: not caching ${url}: ${reason}`);
    const src = await fromUrl(url, { signal, fetchOptions, timeout, retries });
    return Object.assign(src, { cache: `off: ${reason}` });
  }

  const onDisk = handle.getSize();
  if (!reload && meta?.complete && meta.size === onDisk && onDisk > 0) {
    // read as a Blob (no lock on the file while it loads), through readStream's one reused buffer
    handle.close();
    const file = await fileHandle.getFile();
    return { name: url, size: file.size, cache: 'hit', chunks: readStream(file.stream(), signal) };
  }

  let have = !reload && meta && meta.bytes > 0 && meta.validator && onDisk >= meta.bytes ? meta.bytes : 0;
  let src;
  try {
    src = await fromUrl(url, { signal, fetchOptions, timeout, retries, offset: have, validator: meta?.validator, expectedSize: have ? Number(meta.size) || 0 : 0 });
  } catch (e) {
    handle.close();
    throw e;
  }
  if (src.start !== have) have = 0; // the server sent the whole file: start over
  const info = { url, size: src.size, bytes: have, validator: src.validator, complete: false, cachedAt: Date.now() };
  let cache = have ? 'resumed' : 'stored';
  let writing = !!src.validator || !have;
  try {
    handle.truncate(have);
  } catch (e) {
    writing = false;
    cache = `off: ${cacheFailure(e)}`;
    warn(`greenformer: not caching ${url}: ${cache.slice(5)}`);
  }

  async function* chunks() {
    try {
      if (have) yield* readHandle(handle, have, signal);
      let at = have;
      for await (const chunk of src.chunks) {
        if (writing) {
          try {
            handle.write(chunk, { at });
            info.bytes = at + chunk.byteLength;
          } catch (e) {
            writing = false;
            cache = `off: ${cacheFailure(e)}`;
            warn(`greenformer: not caching ${url}: ${cache.slice(5)}`);
          }
        }
        at += chunk.byteLength;
        yield chunk;
      }
      if (writing && info.size && info.bytes === info.size) info.complete = true;
    } finally {
      try {
        handle.flush();
        handle.close();
      } catch {
        /* already closed */
      }
      if (writing) await writeMeta(dir, key, info).catch(() => {});
      else await remove(dir, key);
    }
  }
  return { name: url, size: src.size, get cache() { return cache; }, chunks: chunks() };
}

function cacheFailure(e) {
  return e?.name === 'QuotaExceededError' ? 'storage quota exceeded' : String(e?.message ?? e);
}

/** The first n bytes of a cached file, through one reused buffer (each chunk is copied before the next). */
async function* readHandle(handle, n, signal) {
  const CHUNK = 1 << 20;
  const buf = new Uint8Array(Math.min(CHUNK, n));
  for (let at = 0; at < n; at += CHUNK) {
    if (signal?.aborted) throw signal.reason;
    const view = buf.subarray(0, Math.min(CHUNK, n - at));
    handle.read(view, { at });
    yield view;
  }
}
