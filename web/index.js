// greenformer's public API: the same in Node and in browsers.
//
//   const model = await loadModel('model.gguf', { onProgress });
//   for await (const piece of model.generate('Once upon a time', { seed: 1 })) write(piece);
//
// loadModel streams the file into wasm memory: each chunk is copied once,
// straight to where its tensor lives; the whole file is never held in JS.

import { Core, planThreads } from './core.js';
import { Model } from './model.js';
import { abortError, openSource } from './sources.js';

export { Model };

const LOAD_MORE = 0;
const LOAD_HEADER = 1;
const LOAD_COMPLETE = 2;
const WASM32_LIMIT = 4096 * 1048576;
const DEFAULT_MAX_MEMORY = WASM32_LIMIT - 128 * 1048576; // room for code, stack and tokenizer

function positiveInt(value, name) {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`loadModel: ${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Loads a GGUF model.
 * @param {string | URL | Response | Blob | ArrayBuffer | ArrayBufferView | ReadableStream} source
 * @param {import('./index.d.ts').LoadOptions} [options]
 * @returns {Promise<Model>}
 */
export async function loadModel(source, options = {}) {
  const { onProgress, signal, vocabOnly = false, inspect = false, fetchOptions } = options;
  const mode = vocabOnly ? 1 : inspect ? 2 : 0; // gf_model_options.mode
  const contextLength = positiveInt(options.contextLength, 'contextLength');
  const batchSize = positiveInt(options.batchSize, 'batchSize');
  const maxMemory = options.maxMemory === undefined ? DEFAULT_MAX_MEMORY : positiveInt(options.maxMemory, 'maxMemory');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('loadModel: onProgress must be a function');
  const started = performance.now();

  const src = await openSource(source, { signal, fetchOptions });
  let core, plan;
  try {
    plan = mode ? { build: 'greenformer', threads: 1, reason: '1 thread: no weights to run' } : await planThreads(options.threads ?? 'auto', src.size);
    core = await Core.create(plan);
  } catch (e) {
    await src.close?.();
    throw e;
  }
  const em = core.em;
  let loader = 0;
  let capPtr = 0;
  let total = src.size;
  let status = LOAD_MORE;
  const progress = () => {
    if (!onProgress) return;
    const loaded = em._gf_api_loader_done(loader);
    const fraction = status === LOAD_COMPLETE ? 1 : total ? Math.min(1, loaded / total) : 0;
    onProgress({ loaded, total, fraction });
  };
  const window = () => {
    const ptr = core.checkPtr(em._gf_api_loader_window(loader, capPtr));
    return [ptr, core.u32At(capPtr)];
  };
  const commit = (n) => {
    status = core.check(em._gf_api_loader_commit(loader, n));
    if (status === LOAD_HEADER && !total) total = em._gf_api_loader_expected(loader);
  };
  try {
    loader = core.checkPtr(em._gf_api_loader_new(mode, contextLength, batchSize, Math.min(maxMemory, WASM32_LIMIT), src.size));
    capPtr = core.malloc(4);
    progress();
    if (src.readInto) {
      // the source writes straight into the loader's window
      while (status !== LOAD_COMPLETE) {
        const [ptr, cap] = window();
        const n = await src.readInto(core.u8().subarray(ptr, ptr + cap));
        if (n === 0) break;
        commit(n);
        progress();
      }
    } else {
      read: for await (const chunk of src.chunks) {
        for (let off = 0; off < chunk.length; ) {
          const [ptr, cap] = window();
          const n = Math.min(cap, chunk.length - off);
          core.u8().set(chunk.subarray(off, off + n), ptr);
          off += n;
          commit(n);
          if (status === LOAD_COMPLETE) break read;
        }
        if (signal?.aborted) throw abortError(signal);
        progress();
      }
    }
    if (signal?.aborted) throw abortError(signal);
    core.check(em._gf_api_loader_end(loader));
    if (!total || mode) total = em._gf_api_loader_done(loader);
    status = LOAD_COMPLETE;
    progress();
    const l = loader;
    loader = 0; // gf_api_open takes ownership, even when it fails
    const handle = core.checkPtr(em._gf_api_open(l));
    const info = JSON.parse(core.readString(em._gf_api_info(handle) >>> 0));
    Object.assign(info, {
      build: core.build,
      threads: core.threads,
      threadsReason: core.threads === plan.threads ? plan.reason : `${core.threads} of ${plan.threads} threads started`,
      source: src.name,
      fileBytes: src.size || null,
      loadMs: Math.round(performance.now() - started),
      wasmMemoryBytes: core.memoryBytes,
    });
    return new Model(core, handle, info);
  } catch (e) {
    if (loader) em._gf_api_loader_free(loader);
    loader = 0;
    core.shutdown();
    throw e;
  } finally {
    await src.close?.();
    core.free(capPtr);
    if (loader) em._gf_api_loader_free(loader);
  }
}

export const version = '0.1.0';
