// Model sources as byte streams: a Node path, a URL (string or URL), a
// fetch Response, a Blob/File, an ArrayBuffer/typed array or a
// ReadableStream. Every source yields Uint8Array chunks in order, and says
// its size when it knows it. Nothing here ever holds the whole file.

const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined';
const NODE_CHUNK = 1 << 20;

function abortError(signal) {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * A stream's reader that reads byte streams (fetch bodies, Blobs) into one
 * reused buffer (BYOB): a default reader returns a new buffer per chunk,
 * freed only when the garbage collector runs, which in Chromium left tens of
 * MB above the model at the load's peak. A chunk is valid until the next
 * read; every consumer copies it before asking for more.
 */
const READ_BUFFER = 1 << 20;
function chunkReader(stream) {
  let reader, buf = null;
  try {
    reader = stream.getReader({ mode: 'byob' });
    buf = new ArrayBuffer(READ_BUFFER);
  } catch {
    reader = stream.getReader(); // not a byte stream
  }
  const read = async () => {
    if (!buf) return reader.read();
    const step = await reader.read(new Uint8Array(buf));
    if (step.value) buf = step.value.buffer; // the same memory, transferred back
    return step;
  };
  return { read, cancel: (why) => reader.cancel(why), releaseLock: () => reader.releaseLock?.() };
}

async function* readStream(stream, signal) {
  const reader = chunkReader(stream);
  const onAbort = () => reader.cancel(abortError(signal)).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const { done, value } = await reader.read();
      if (signal?.aborted) throw abortError(signal);
      if (done) return;
      yield value instanceof Uint8Array ? value : new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => {});
    reader.releaseLock?.();
  }
}

function httpError(res, label) {
  return new Error(`HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''} while fetching ${label}`);
}

/** The file size a response describes (0 when unknown). */
function sizeOf(res) {
  const range = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  if (range) return Number(range[1]);
  const len = Number(res.headers.get('content-length'));
  // a compressed transfer's Content-Length counts compressed bytes: not the file size
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  return Number.isFinite(len) && len > 0 && !encoded ? len : 0;
}

function fromResponse(res, label, signal) {
  if (!res.ok) throw httpError(res, label);
  if (!res.body) throw new Error(`the response for ${label} has no body`);
  return { name: label, size: sizeOf(res), chunks: readStream(res.body, signal) };
}

/**
 * A URL source that survives dropped and stalled connections: when the body
 * stops early it asks for the rest (Range, validated with If-Range so a
 * changed file is never spliced) up to `retries` times. `offset` starts the
 * download part-way, to resume a partial cached file; the source reports
 * where it really starts (`offset` is 0 when the server ignored the Range).
 */
async function fromUrl(url, { signal, fetchOptions, offset = 0, validator, retries = 3, timeout = 60_000 }) {
  const label = String(url);
  const attempt = async (from, ifRange) => {
    const headers = new Headers(fetchOptions?.headers);
    if (from > 0) {
      headers.set('range', `bytes=${from}-`);
      if (ifRange) headers.set('if-range', ifRange);
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    let res;
    try {
      res = await fetch(url, { ...fetchOptions, headers, signal: controller.signal });
    } catch (e) {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) throw abortError(signal);
      throw new Error(`cannot fetch ${label}: ${e.cause?.message ?? e.message}`);
    }
    return { res, controller, done: () => signal?.removeEventListener('abort', onAbort) };
  };

  let { res, controller, done } = await attempt(offset, validator);
  if (!res.ok) {
    done();
    throw httpError(res, label);
  }
  if (!res.body) throw new Error(`the response for ${label} has no body`);
  const start = res.status === 206 ? offset : 0;
  const size = sizeOf(res);
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  const resumeValidator = etag && !etag.startsWith('W/') ? etag : lastModified;

  async function* chunks() {
    let received = start;
    let left = retries;
    for (;;) {
      const reader = chunkReader(res.body);
      let failure = null;
      try {
        for (;;) {
          let timer;
          const stalled = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`download stalled: no data for ${timeout / 1000} s`)), timeout);
          });
          let step;
          try {
            step = await Promise.race([reader.read(), stalled]);
          } finally {
            clearTimeout(timer);
          }
          if (step.done) break;
          const value = step.value;
          received += value.byteLength;
          yield value;
        }
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        failure = e;
      } finally {
        reader.cancel().catch(() => {});
        controller.abort();
        done();
      }
      if (signal?.aborted) throw abortError(signal);
      const complete = size ? received >= size : !failure;
      if (complete) return;
      let why = failure ? failure.message : `connection closed after ${received} of ${size} bytes`;
      // ask for the rest; a retry that cannot connect counts as one too
      for (;;) {
        if (left-- <= 0 || !resumeValidator) {
          const how = resumeValidator ? `after ${retries} retries` : 'and the server gives no ETag or Last-Modified to resume safely';
          throw new Error(`download of ${label} failed at byte ${received}${size ? ` of ${size}` : ''} ${how}: ${why}`);
        }
        try {
          ({ res, controller, done } = await attempt(received, resumeValidator));
        } catch (e) {
          if (signal?.aborted) throw abortError(signal);
          why = e.message;
          continue;
        }
        if (res.status === 206) break;
        done();
        controller.abort();
        throw new Error(`download of ${label} was interrupted at byte ${received} and cannot resume: ` +
          (res.ok ? 'the server ignored the Range request or the file changed' : `HTTP ${res.status}`));
      }
    }
  }
  return { name: label, size, start, validator: resumeValidator, chunks: chunks() };
}

/**
 * Files are read with fs.read straight into the destination the loader
 * names (wasm memory): no intermediate buffers, so nothing waits for the
 * garbage collector and peak memory stays at the model's size.
 */
async function fromPath(path, signal) {
  const fs = await import('node:fs');
  let handle;
  try {
    handle = await fs.promises.open(path, 'r');
  } catch (e) {
    throw new Error(e.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${e.message}`);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new Error(`not a file: ${path}`);
  }
  let position = 0;
  return {
    name: path,
    size: stat.size,
    /** Reads up to target.length bytes into target; 0 at the end of the file. */
    async readInto(target) {
      if (signal?.aborted) throw abortError(signal);
      const { bytesRead } = await handle.read(target, 0, Math.min(target.length, NODE_CHUNK), position);
      position += bytesRead;
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

function fromBytes(view, name) {
  async function* chunks() {
    for (let off = 0; off < view.byteLength; off += NODE_CHUNK) yield view.subarray(off, off + NODE_CHUNK);
  }
  return { name, size: view.byteLength, chunks: chunks() };
}

/**
 * @returns {Promise<{ name: string, size: number, chunks?: AsyncIterable<Uint8Array>,
 *   readInto?: (target: Uint8Array) => Promise<number>, close?: () => Promise<void> }>}
 *   size 0 = unknown; a source offers chunks or readInto (then close). A chunk
 *   may be overwritten by the next: copy it before asking for another.
 */
export async function openSource(source, { signal, fetchOptions, timeout, retries } = {}) {
  if (signal?.aborted) throw abortError(signal);
  if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    const isUrl = source instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s);
    if (isNode && !isUrl) return fromPath(s, signal);
    if (isNode && s.startsWith('file:')) {
      const { fileURLToPath } = await import('node:url');
      return fromPath(fileURLToPath(s), signal);
    }
    return fromUrl(isNode || isUrl ? s : new URL(s, globalThis.location?.href).href, { signal, fetchOptions, timeout, retries });
  }
  if (typeof Response !== 'undefined' && source instanceof Response) return fromResponse(source, source.url || 'response', signal);
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { name: source.name ?? 'blob', size: source.size, chunks: readStream(source.stream(), signal) };
  }
  if (source instanceof ArrayBuffer) return fromBytes(new Uint8Array(source), 'ArrayBuffer');
  if (ArrayBuffer.isView(source)) return fromBytes(new Uint8Array(source.buffer, source.byteOffset, source.byteLength), 'bytes');
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    return { name: 'stream', size: 0, chunks: readStream(source, signal) };
  }
  throw new TypeError(
    'loadModel: source must be a path or URL string, URL, Response, Blob/File, ArrayBuffer, typed array or ReadableStream',
  );
}

export { abortError, fromUrl, readStream };
