// Model sources as byte streams: a Node path, a URL (string or URL), a
// fetch Response, a Blob/File, an ArrayBuffer/typed array or a
// ReadableStream. Every source yields Uint8Array chunks in order, and says
// its size when it knows it. Nothing here ever holds the whole file.

import { integer, number } from './options.js';
import { nodePlatform } from './platform.js';

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

// The stall rule, per response, on the clock of time spent waiting for its
// bytes (time the loader spends on bytes it already has does not count): a
// response is stalled when no byte arrives for `timeout` ms, or when a
// window of `timeout` ms (consecutive windows from the response's start)
// brings fewer than STALL_BYTES. A stall is resumed like a dropped
// connection. With the default 60 s the floor is ~1.1 KiB/s: a trickle
// that would reset a plain "no data for N s" timer with every byte trips it.
const STALL_BYTES = 64 << 10;

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

/** Content-Range `bytes START-END/TOTAL` (TOTAL 0 for `*`), or null when it does not parse. */
function parseContentRange(header) {
  const m = CONTENT_RANGE.exec(header.trim());
  if (!m) return null;
  const [start, end, total] = [Number(m[1]), Number(m[2]), m[3] === '*' ? 0 : Number(m[3])];
  if (end < start || (total && end >= total) || !Number.isSafeInteger(end)) return null;
  return { start, end, total };
}

/**
 * A URL source that survives dropped and stalled connections: when the body
 * stops early it asks for the rest (Range, validated with If-Range so a
 * changed file is never spliced) up to `retries` times. `offset` starts the
 * download part-way, to resume a partial cached file (`expectedSize`: the
 * file's size as seen before, 0 if unknown); the source reports where it
 * really starts (`offset` is 0 when the server ignored the Range).
 *
 * Every 206 is checked before a byte of it is used: its Content-Range must
 * parse, start at the byte asked for and give the total size seen before
 * (same validator, different size: a swapped file), and its body may not
 * run past the range's end or the file's size. Any mismatch rejects.
 */
async function fromUrl(url, { signal, fetchOptions, offset = 0, validator, expectedSize = 0, retries, timeout }) {
  const label = String(url);
  timeout = number(timeout, 'timeout (ms)', { min: 1, max: 2 ** 31 - 1, fallback: 60_000 }); // setTimeout's range
  retries = integer(retries, 'retries', { min: 0, max: 1000, fallback: 3 });
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

  /**
   * Checks a 206 for bytes from `from` against the file's known size (0:
   * unknown; `knownFrom` names where it was learned) and returns { end,
   * total, declared }: end is one past its last byte. `validatorName` says
   * what If-Range carried.
   */
  const partial = (res, from, known, knownFrom, validatorName) => {
    const header = res.headers.get('content-range');
    const what = from > 0 ? 'resumed response' : 'partial response';
    const length = Number(res.headers.get('content-length') ?? NaN);
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    if (header === null) {
      // A cross-origin response shows Content-Range only if the server exposes it (Access-Control-Expose-Headers);
      // Content-Length is always visible: then it must be exactly the rest of a file of known size.
      const hidden = res.type === 'cors';
      if (hidden && known && !encoded && length === known - from) return { end: known, total: known, declared: `Content-Length: ${length}` };
      throw new Error(`download of ${label}: ${what} (HTTP 206) has no Content-Range header` +
        (hidden ? ` (cross-origin: the server must list Content-Range in Access-Control-Expose-Headers, or send a Content-Length of ${known ? known - from : 'the rest of the file'})` : '') +
        ': refusing to splice');
    }
    const range = parseContentRange(header);
    if (!range) throw new Error(`download of ${label}: ${what} (HTTP 206) has an unparsable Content-Range: ${JSON.stringify(header)}`);
    const declared = `Content-Range: ${header.trim()}`;
    if (range.start !== from) {
      throw new Error(`download of ${label}: ${what} starts at byte ${range.start} but byte ${from} was requested (${declared})`);
    }
    if (known && range.total && range.total !== known) {
      throw new Error(`download of ${label}: the file's size changed from ${known} to ${range.total} bytes while resuming ` +
        `(same ${validatorName}): refusing to splice (${knownFrom}, now ${declared})`);
    }
    if (Number.isFinite(length) && !encoded && length !== range.end - range.start + 1) {
      throw new Error(`download of ${label}: ${what} has Content-Length ${length} but its ${declared} holds ` +
        `${range.end - range.start + 1} bytes: refusing to splice`);
    }
    return { end: range.end + 1, total: range.total, declared };
  };
  const nameOf = (v) => (v && !v.startsWith('"') && !v.startsWith('W/') ? 'Last-Modified' : 'ETag');

  let { res, controller, done } = await attempt(offset, validator);
  let first;
  try {
    if (!res.ok) throw httpError(res, label);
    if (!res.body) throw new Error(`the response for ${label} has no body`);
    first = res.status === 206 ? partial(res, offset, expectedSize, `size ${expectedSize} seen before`, nameOf(validator)) : null;
  } catch (e) {
    done();
    controller.abort();
    throw e;
  }
  const start = first ? offset : 0;
  const size = first ? first.total : sizeOf(res); // a 206's Content-Length counts only its range
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  const resumeValidator = etag && !etag.startsWith('W/') ? etag : lastModified;
  // where the current response's body must end (Infinity: not declared), and what declared it
  let limit = first ? first.end : size || Infinity;
  let declared = first ? first.declared : `Content-Length: ${size}`;
  // the file's size, for the checks of later responses, and where it was learned
  let known = size || (first ? expectedSize : 0);
  let knownFrom = size ? `first response: ${first ? first.declared : `Content-Length: ${size}`}` : `size ${known} seen before`;

  async function* chunks() {
    let received = start;
    let left = retries;
    for (;;) {
      const from = received;
      const reader = chunkReader(res.body);
      let failure = null;
      let fatal = null;
      // the stall rule: waited = ms spent waiting on this response's reads
      let waited = 0, lastData = 0, windowStart = 0, inWindow = 0;
      try {
        for (;;) {
          const pending = reader.read();
          let step = null;
          while (!step) {
            const idleEnd = lastData + timeout;
            const windowEnd = windowStart + timeout;
            const deadline = Math.min(idleEnd, windowEnd);
            let timer;
            const t0 = performance.now();
            try {
              step = await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - waited), null)))]);
            } finally {
              clearTimeout(timer);
            }
            // bytes that arrive win a tie with the timer; the rule is judged when the timer fires
            waited = step ? Math.min(waited + performance.now() - t0, deadline) : deadline;
            if (step) break;
            if (deadline === idleEnd) throw new Error(`download stalled: no data for ${timeout / 1000} s`);
            if (inWindow < STALL_BYTES) {
              throw new Error(`download stalled: ${inWindow} bytes in the last ${timeout / 1000} s (less than ${STALL_BYTES >> 10} KiB per timeout window)`);
            }
            windowStart = windowEnd;
            inWindow = 0;
          }
          if (step.done) break;
          const value = step.value;
          if (received + value.byteLength > limit) {
            fatal = new Error(`download of ${label}: the response body is longer than declared: more than ${limit - from} bytes ` +
              `from byte ${from} (${declared}): refusing to splice`);
            break;
          }
          received += value.byteLength;
          lastData = waited;
          inWindow += value.byteLength;
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
      if (fatal) throw fatal;
      // done: every byte of a known size; else a body that ended cleanly (at its range's end, if it declared one)
      const complete = known ? received >= known : !failure && (limit === Infinity || received >= limit);
      if (complete) return;
      let why = failure ? failure.message : `connection closed after ${received}${known ? ` of ${known}` : ''} bytes`;
      // ask for the rest; a retry that cannot connect counts as one too
      for (;;) {
        if (left-- <= 0 || !resumeValidator) {
          const how = resumeValidator ? `after ${retries} retries` : 'and the server gives no ETag or Last-Modified to resume safely';
          throw new Error(`download of ${label} failed at byte ${received}${known ? ` of ${known}` : ''} ${how}: ${why}`);
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
      let range;
      try {
        if (!res.body) throw new Error(`the response for ${label} has no body`);
        range = partial(res, received, known, knownFrom, nameOf(resumeValidator));
      } catch (e) {
        done();
        controller.abort();
        throw e;
      }
      limit = range.total ? Math.min(range.end, range.total) : range.end;
      declared = range.declared;
      if (!known && range.total) [known, knownFrom] = [range.total, `an earlier ${range.declared}`];
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
  const { open } = await nodePlatform();
  let handle;
  try {
    handle = await open(path, 'r');
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
      const { fileURLToPath } = await nodePlatform();
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
