// The page side of the worker runtime: a model living in a Web Worker
// (worker.js) behind the same API as a Model in this thread. Requests are
// small messages; weights never cross; logits arrive as transferred buffers.

import { attachOpenAI } from './openai.js';
import { abortError } from './sources.js';

function disposedError() {
  const err = new Error('this model has been disposed');
  err.code = 'GF_DISPOSED';
  return err;
}

function rebuildError(e) {
  if (e.name === 'AbortError') return new DOMException(e.message, 'AbortError');
  const err = new (e.name === 'TypeError' ? TypeError : e.name === 'RangeError' ? RangeError : Error)(e.message);
  if (e.code) err.code = e.code;
  return err;
}

/** Sources the worker can receive: URLs as absolute strings, streams transferred. */
async function sendable(source) {
  if (typeof source === 'string' || source instanceof URL) return { source: new URL(String(source), document.baseURI).href, transfer: [] };
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new Error(`HTTP ${source.status}${source.statusText ? ' ' + source.statusText : ''} while fetching ${source.url || 'response'}`);
    source = source.body;
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) return { source, transfer: [source] };
  return { source, transfer: [] }; // Blob/File and bytes are cloned (Blobs by reference)
}

/** Typed arrays cross as plain arrays; anything else as it is, for the worker's Model to check (never coerced here). */
function cloneableIds(ids) {
  return ArrayBuffer.isView(ids) ? Array.from(ids) : ids;
}

function plainOptions(options) {
  const { onProgress, signal, fetchOptions, ...rest } = options;
  const out = { ...rest };
  if (fetchOptions) {
    out.fetchOptions = { ...fetchOptions };
    if (fetchOptions.headers) out.fetchOptions.headers = Object.fromEntries(new Headers(fetchOptions.headers));
    delete out.fetchOptions.signal;
  }
  return out;
}

class Channel {
  constructor(worker) {
    this.worker = worker;
    this.next = 1;
    this.pending = new Map(); // id -> { resolve, reject, onMessage }
    worker.onmessage = (e) => this.#receive(e.data);
    worker.onerror = (e) => this.fail(new Error(`greenformer worker failed: ${e.message ?? 'could not start (is web/worker.js served with a JavaScript MIME type?)'}`));
  }

  #receive(msg) {
    if (msg.op === 'warn') return console.warn(msg.message);
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.op === 'result') {
      this.pending.delete(msg.id);
      p.resolve(msg.value);
    } else if (msg.op === 'error') {
      this.pending.delete(msg.id);
      p.reject(rebuildError(msg.error));
    } else {
      p.onMessage?.(msg);
    }
  }

  /** Rejects every pending request (the worker is gone or going). */
  fail(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.dead = err;
  }

  /** Sends a request; resolves with its result. onMessage sees progress/pieces. */
  request(msg, { transfer = [], signal, onMessage } = {}) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ op: 'abort', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
        onMessage,
      });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }
}

/** A model running in a Web Worker. Same API as Model. */
export class RemoteModel {
  #channel;
  #info;
  #disposed = false;

  constructor(channel, info) {
    this.#channel = channel;
    this.#info = info;
    attachOpenAI(this);
  }

  info() {
    return structuredClone(this.#info);
  }

  #call(method, ...args) {
    if (this.#disposed) return Promise.reject(disposedError());
    return this.#channel.request({ op: 'call', method, args });
  }

  tokenize(text, options) {
    return this.#call('tokenize', text, options);
  }

  detokenize(ids, options) {
    return this.#call('detokenize', cloneableIds(ids), options);
  }

  forward(ids, options) {
    return this.#call('forward', cloneableIds(ids), options);
  }

  embed(input, options) {
    return this.#call('embed', ArrayBuffer.isView(input) ? Array.from(input) : input, options);
  }

  chatTemplate() {
    return this.#info.chatTemplate;
  }

  renderChat(messages, options) {
    return this.#call('renderChat', messages, options);
  }

  generate(prompt, options = {}) {
    return this.#stream('generate', cloneableIds(prompt), options);
  }

  chat(messages, options = {}) {
    return this.#stream('chat', messages, options);
  }

  #stream(op, input, options) {
    const { signal, ...rest } = options ?? {};
    const stats = { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [], logprobs: [] };
    const queue = [];
    let wake = null;
    let finished = false;
    let failure = null;
    const channel = this.#channel;
    const disposed = this.#disposed;
    const iterator = (async function* () {
      if (disposed) throw disposedError();
      if (signal?.aborted) throw abortError(signal);
      const local = new AbortController(); // ends the worker's generation when the caller stops early
      const onAbort = () => local.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      channel
        .request(
          { op, input, options: rest },
          {
            signal: local.signal,
            onMessage: (msg) => {
              Object.assign(stats, msg.stats, { tokens: stats.tokens, logprobs: stats.logprobs });
              queue.push(msg.text);
              wake?.();
            },
          },
        )
        .then(
          (final) => Object.assign(stats, final),
          (e) => (failure = signal?.aborted ? abortError(signal) : e),
        )
        .finally(() => {
          finished = true;
          signal?.removeEventListener('abort', onAbort);
          wake?.();
        });
      try {
        for (;;) {
          if (queue.length) yield queue.shift();
          else if (failure) throw failure;
          else if (finished) return;
          else await new Promise((r) => (wake = r));
        }
      } finally {
        if (!finished) local.abort();
      }
    })();
    iterator.stats = stats;
    return iterator;
  }

  /** Frees the model at once: the worker ends; queued calls and running generations reject ('GF_DISPOSED'). */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.#channel.request({ op: 'dispose' });
    } finally {
      this.#channel.fail(disposedError());
      this.#channel.worker.terminate();
    }
  }
}

/** Starts a worker and loads the model there. */
export async function loadInWorker(source, options = {}) {
  const { onProgress, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('loadModel: onProgress must be a function');
  if (signal?.aborted) throw abortError(signal);
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'greenformer' });
  const channel = new Channel(worker);
  try {
    const { source: s, transfer } = await sendable(source);
    const info = await channel.request(
      { op: 'load', source: s, options: plainOptions(options), progress: !!onProgress },
      { transfer, signal, onMessage: (msg) => msg.op === 'progress' && onProgress(msg.p) },
    );
    info.runtime = 'worker';
    return new RemoteModel(channel, info);
  } catch (e) {
    worker.terminate();
    throw e;
  }
}
