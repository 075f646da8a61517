// The page side of the worker runtime: a model living in a Web Worker
// (worker.js) behind the same API as a Model in this thread. Requests are
// small messages; weights never cross; logits arrive as transferred buffers.

import { assetBaseUrl } from './asset-base.js';
import { attachOpenAI } from './openai.js';
import { abortError } from './sources.js';

function disposedError(what = 'model') {
  const err = new Error(`this ${what} has been disposed`);
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
  if (Array.isArray(source)) {
    // a split model's shards
    const parts = await Promise.all(source.map(sendable));
    return { source: parts.map((p) => p.source), transfer: parts.flatMap((p) => p.transfer) };
  }
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
  constructor(worker, where) {
    this.worker = worker;
    this.next = 1;
    this.pending = new Map(); // id -> { resolve, reject, onMessage }
    worker.onmessage = (e) => this.#receive(e.data);
    // an ErrorEvent without a message: the script did not load (missing, wrong MIME type, blocked)
    worker.onerror = (e) =>
      this.fail(new Error(e.message ? `greenformer worker failed: ${e.message}` : `greenformer worker failed to start from ${where}: is it served (HTTP 200, a JavaScript MIME type)?${WORKER_HINT}`));
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

  /** A session in the worker: its own KV cache (see Model.session()). */
  session() {
    if (this.#disposed) throw disposedError();
    const channel = this.#channel;
    const model = this;
    const sid = channel.request({ op: 'session' });
    sid.catch(() => {});
    let disposed = false;
    const call = async (method, ...args) => {
      if (disposed) throw disposedError('session');
      return channel.request({ op: 'call', method, args, session: await sid });
    };
    const stream = (op, input, options = {}) => {
      const inner = (async function* () {
        if (disposed) throw disposedError('session');
        const gen = model.#stream(op, input, options, await sid);
        try {
          for await (const piece of gen) {
            Object.assign(inner.stats, gen.stats);
            yield piece;
          }
        } finally {
          Object.assign(inner.stats, gen.stats);
        }
      })();
      inner.stats = { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [], logprobs: [], work: null };
      return inner;
    };
    const s = {
      info: () => model.info(),
      chatTemplate: () => model.chatTemplate(),
      tokenize: (text, options) => model.tokenize(text, options),
      detokenize: (ids, options) => model.detokenize(ids, options),
      renderChat: (messages, options) => model.renderChat(messages, options),
      embed: (input, options) => model.embed(input, options),
      forward: (ids, options) => call('forward', cloneableIds(ids), options),
      generate: (prompt, options) => stream('generate', cloneableIds(prompt), options),
      chat: (messages, options) => stream('chat', messages, options),
      dispose: async () => {
        if (disposed || model.#disposed) return;
        disposed = true;
        await channel.request({ op: 'session-dispose', session: await sid });
      },
    };
    attachOpenAI(s);
    return s;
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

  #stream(op, input, options, session) {
    const { signal, ...rest } = options ?? {};
    const stats = { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [], logprobs: [], work: null };
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
          { op, input, options: rest, session },
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
          // once the caller aborts, pieces the worker sent before it stopped are dropped: the next call throws, as
          // in Node (a busy page could otherwise be handed tens of them after its abort)
          if (signal?.aborted && (queue.length || !finished)) throw abortError(signal);
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

const WORKER_HINT = ' A bundler that does not copy new URL(…, import.meta.url) files (esbuild) needs node_modules/greenformer/dist/ copied to the site and { assetBase } pointing there.';

/** A module worker running url, through a same-origin blob: script that imports it (url may be on a CDN). */
function importingWorker(url) {
  const script = URL.createObjectURL(new Blob([`import ${JSON.stringify(url)};`], { type: 'text/javascript' }));
  const worker = new Worker(script, { type: 'module', name: 'greenformer' });
  setTimeout(() => URL.revokeObjectURL(script), 60_000);
  return worker;
}

/**
 * Starts the worker: with assetBase, the self-contained dist/worker.mjs
 * there; otherwise web/worker.js, named by the literal pattern Vite and
 * webpack bundle as a worker of its own. Where that cannot be started
 * directly (a CDN on another origin), a blob: script imports it.
 * @returns {[Worker, string]} the worker and where its script is (for errors)
 */
function startWorker(assetBase) {
  if (assetBase) {
    const url = new URL('worker.mjs', assetBase).href;
    return [importingWorker(url), url];
  }
  // not new URL('./worker.js', …) outside the Worker call: bundlers would copy the unbundled file too
  const file = ['.', 'worker.js'].join('/');
  let where = 'web/worker.js';
  try {
    where = new URL(file, import.meta.url).href;
  } catch {
    /* no import.meta.url (an IIFE bundle) */
  }
  try {
    return [new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'greenformer' }), where];
  } catch (e) {
    if (!/^https?:/.test(where)) throw new Error(`greenformer: cannot start its worker (${e.message}).${WORKER_HINT}`);
    return [importingWorker(where), where];
  }
}

/** Starts a worker and loads the model there. */
export async function loadInWorker(source, options = {}) {
  const { onProgress, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('loadModel: onProgress must be a function');
  if (signal?.aborted) throw abortError(signal);
  // the worker's location is not the page's: the base goes absolute
  const assetBase = options.assetBase === undefined ? undefined : assetBaseUrl(options.assetBase);
  const [worker, where] = startWorker(assetBase);
  const channel = new Channel(worker, where);
  try {
    const { source: s, transfer } = await sendable(source);
    const info = await channel.request(
      { op: 'load', source: s, options: { ...plainOptions(options), assetBase }, progress: !!onProgress },
      { transfer, signal, onMessage: (msg) => msg.op === 'progress' && onProgress(msg.p) },
    );
    info.runtime = 'worker';
    return new RemoteModel(channel, info);
  } catch (e) {
    worker.terminate();
    throw e;
  }
}
