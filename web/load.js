// Loading a model into a wasm instance in this thread. In a page, index.js
// runs this inside a Web Worker; in Node and in workers it runs directly.
//
// The file streams through the C loader: window -> copy -> commit, chunk by
// chunk, each chunk copied once to its tensor's final place in wasm memory.
// The header is parsed first, so an unsupported or oversized model fails
// before its weights are downloaded.

import { checkAssetBase } from './asset-base.js';
import { cacheWritable, openCachedUrl } from './cache.js';
import { Core, planThreads } from './core.js';
import { Model } from './model.js';
import { boolean, integer, knownKeys, number } from './options.js';
import { abortError, openSource } from './sources.js';
import { openModelSource, sourceFiles } from './split.js';
import { WRITABLE_TYPE_NAMES } from './types.js';

const LOAD_MORE = 0;
const LOAD_HEADER = 1;
const LOAD_COMPLETE = 2;
const WASM32_LIMIT = 4096 * 1048576;
// The core's writable types (web/types.js, generated from the core's registry): checked
// before any core exists.
export const QUANTIZE_TYPES = WRITABLE_TYPE_NAMES;
// the C core's gf_kv_type numbering
const KV_CACHE_TYPES = ['f32', 'f16', 'q8_0'];
const DEFAULT_MAX_MEMORY = WASM32_LIMIT - 128 * 1048576; // room for code, stack and tokenizer

/** Every option loadModel takes (an unknown key is an error naming the nearest). */
export const LOAD_OPTIONS = ['onProgress', 'contextLength', 'batchSize', 'signal', 'vocabOnly', 'inspect', 'maxMemory', 'threads',
  'simd', 'quantize', 'kvCache', 'warmup', 'sha256', 'cache', 'timeout', 'retries', 'worker', 'fetchOptions', 'assetBase',
  'hubEndpoint'];
// the largest context and batch the core plans for (its sizes are 64-bit, but a wasm32 arena holds 4 GiB)
export const MAX_CONTEXT = 1048576;
export const MAX_BATCH = 4096;

/** The absolute http(s) URL a source names, or null. */
function httpUrl(source) {
  if (typeof source !== 'string' && !(source instanceof URL)) return null;
  try {
    const url = new URL(String(source), globalThis.location?.href);
    return /^https?:$/.test(url.protocol) ? url.href : null;
  } catch {
    return null; // a relative path in Node
  }
}

async function open(source, options, signal) {
  const { fetchOptions, timeout, retries, cache = true, vocabOnly, inspect } = options;
  // the cache holds whole models: header-only loads neither need nor fill it
  const url = httpUrl(source);
  if (cache && !vocabOnly && !inspect && url && cacheWritable()) {
    return openCachedUrl(url, { signal, fetchOptions, timeout, retries, reload: cache === 'reload' });
  }
  const src = await openSource(source, { signal, fetchOptions, timeout, retries });
  src.cache = !url ? 'none' : !cache ? 'off: disabled' : vocabOnly || inspect ? 'off: header-only load' : 'off: persistent caching needs the worker runtime (OPFS)';
  return src;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The warm-up (gf_warmup in src/model/forward.c) runs the kernels on one batch so
// that the engine optimizes them before the first prompt: rounds until
// WARMUP_MS have passed, at least one, at most WARMUP_ROUNDS (one round of
// ~60 ms for the 110M shape at 2 threads; docs/performance.md, "The first
// prompt after a load").
const WARMUP_ROUNDS = 8;
const WARMUP_MS = 40;

/**
 * Checks what both runtimes (this thread, a worker) take before anything
 * starts: known keys, and the options whose bad values would otherwise only
 * show up late (after a download started) or never.
 */
export function checkLoadOptions(options) {
  knownKeys(options, LOAD_OPTIONS, 'loadModel');
  const { onProgress, timeout, retries, threads } = options ?? {};
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('loadModel: onProgress must be a function');
  number(timeout, 'timeout (ms)', { min: 1, max: 2 ** 31 - 1, fallback: 0 }); // as web/sources.js checks it
  integer(retries, 'retries', { min: 0, max: 1000, fallback: 0 });
  if (threads !== undefined && threads !== 'auto') integer(threads, 'threads', { min: 1, max: 64 });
  boolean(options?.worker, 'loadModel: worker', true);
  checkAssetBase(options?.assetBase, 'loadModel');
}

/** @returns {Promise<Model>} */
export async function loadDirect(source, options = {}) {
  checkLoadOptions(options);
  const { onProgress, signal, sha256, quantize, kvCache = 'auto' } = options;
  const vocabOnly = boolean(options.vocabOnly, 'loadModel: vocabOnly', false);
  const inspect = boolean(options.inspect, 'loadModel: inspect', false);
  const warmup = boolean(options.warmup, 'loadModel: warmup', true);
  const mode = vocabOnly ? 1 : inspect ? 2 : 0; // gf_model_options.mode
  const contextLength = integer(options.contextLength, 'contextLength', { min: 1, max: MAX_CONTEXT, fallback: 0 });
  const batchSize = integer(options.batchSize, 'batchSize', { min: 1, max: MAX_BATCH, fallback: 0 });
  const maxMemory = integer(options.maxMemory, 'maxMemory', { min: 1, fallback: DEFAULT_MAX_MEMORY });
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256))) throw new TypeError('loadModel: sha256 must be 64 hexadecimal digits');
  const kvType = kvCache === 'auto' ? -1 : KV_CACHE_TYPES.indexOf(kvCache);
  if (kvType === -1 && kvCache !== 'auto')
    throw new RangeError(`loadModel: kvCache must be 'auto' or one of ${KV_CACHE_TYPES.map((t) => `'${t}'`).join(', ')}, got ${kvCache}`);
  if (quantize !== undefined && !QUANTIZE_TYPES.includes(quantize)) {
    throw new RangeError(`loadModel: quantize must be one of ${QUANTIZE_TYPES.join(', ')}, got ${quantize}`);
  }
  if (signal?.aborted) throw abortError(signal);
  const started = performance.now();

  // a split model (an array, or the first of model-0000N-of-0000M.gguf) reads as one GGUF stream
  if (sha256 !== undefined && sourceFiles(source).length > 1) throw new TypeError('loadModel: sha256 checks a single file; a split model has one file per shard');
  const src = await openModelSource(source, (s) => open(s, options, signal), { signal });
  let core, plan;
  try {
    plan = mode
      ? { build: 'greenformer', threads: 1, reason: '1 thread: no weights to run', simdReason: 'plain: no weights to run' }
      : await planThreads(options.threads ?? 'auto', src.size, options.simd ?? 'auto');
    core = await Core.create({ ...plan, assetBase: options.assetBase === undefined ? undefined : String(options.assetBase) });
    src.checkTypes?.(core.types());
  } catch (e) {
    await src.close?.();
    await src.chunks?.return?.();
    throw e;
  }
  const em = core.em;
  let loader = 0;
  let capPtr = 0;
  let hash = 0;
  let failed = false;
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
  const commit = (ptr, n) => {
    if (hash) em._gf_api_sha256_update(hash, ptr, n);
    status = core.check(em._gf_api_loader_commit(loader, n));
    if (status === LOAD_HEADER && !total) total = em._gf_api_loader_expected(loader);
  };
  // bytes after the last tensor (rare) still count for the hash and the cache
  const hashOnly = (chunk) => {
    if (!hash || !chunk.length) return;
    const p = core.malloc(chunk.length);
    core.u8().set(chunk, p);
    em._gf_api_sha256_update(hash, p, chunk.length);
    core.free(p);
  };
  try {
    loader = core.checkPtr(
      em._gf_api_loader_new(mode, contextLength, batchSize, Math.min(maxMemory, WASM32_LIMIT), src.size, kvType),
    );
    if (quantize) {
      const [p] = core.writeString(quantize);
      try {
        core.check(em._gf_api_loader_quantize(loader, p)); // F32/F16 matrices are quantized as they stream in
      } finally {
        core.free(p);
      }
    }
    capPtr = core.malloc(32); // the window size out-parameter; also digest scratch
    if (sha256) hash = core.checkPtr(em._gf_api_sha256_new());
    const drain = !!hash || (src.cache && src.cache !== 'hit' && !src.cache.startsWith('off'));
    progress();
    if (src.readInto) {
      // the source writes straight into the loader's window
      for (;;) {
        if (status === LOAD_COMPLETE) {
          if (!hash) break;
          const buf = new Uint8Array(1 << 20);
          for (let n; (n = await src.readInto(buf)) > 0; ) hashOnly(buf.subarray(0, n));
          break;
        }
        const [ptr, cap] = window();
        const n = await src.readInto(core.u8().subarray(ptr, ptr + cap));
        if (n === 0) break;
        commit(ptr, n);
        progress();
      }
    } else {
      read: for await (const chunk of src.chunks) {
        for (let off = 0; off < chunk.length; ) {
          if (status === LOAD_COMPLETE) {
            if (!drain) break read;
            hashOnly(chunk.subarray(off));
            break;
          }
          const [ptr, cap] = window();
          const n = Math.min(cap, chunk.length - off);
          core.u8().set(chunk.subarray(off, off + n), ptr);
          off += n;
          commit(ptr, n);
        }
        if (signal?.aborted) throw abortError(signal);
        progress();
        if (status === LOAD_COMPLETE && !drain) break; // everything needed is here: read no further
      }
    }
    if (signal?.aborted) throw abortError(signal);
    core.check(em._gf_api_loader_end(loader));
    if (hash) {
      const digest = core.malloc(32);
      em._gf_api_sha256_final(hash, digest);
      hash = 0;
      const got = hex(core.u8().slice(digest, digest + 32));
      core.free(digest);
      if (got !== sha256.toLowerCase()) {
        if (src.cache === 'hit' || src.cache === 'stored' || src.cache === 'resumed') {
          const { deleteCachedModel } = await import('./cache.js');
          await deleteCachedModel(src.name);
        }
        throw new Error(`sha256 mismatch for ${src.name}: expected ${sha256.toLowerCase()}, got ${got}`);
      }
    }
    if (!total || mode) total = em._gf_api_loader_done(loader);
    status = LOAD_COMPLETE;
    progress();
    const l = loader;
    loader = 0; // gf_api_open takes ownership, even when it fails
    const handle = core.checkPtr(em._gf_api_open(l));
    let warmupMs = null;
    if (warmup && !mode) {
      const t0 = performance.now();
      for (let r = 0; r < WARMUP_ROUNDS && (r === 0 || performance.now() - t0 < WARMUP_MS); r++) em._gf_api_warmup(handle, 1);
      warmupMs = Math.round((performance.now() - t0) * 10) / 10;
    }
    const info = JSON.parse(core.readString(em._gf_api_info(handle) >>> 0));
    const template = em._gf_api_chat_template(handle) >>> 0;
    info.chatTemplate = template ? core.readString(template) : null;
    Object.assign(info, {
      build: core.build,
      threads: core.threads,
      threadsReason: core.threads === plan.threads ? plan.reason : `${core.threads} of ${plan.threads} threads started`,
      simdReason: core.build === plan.build ? plan.simdReason : `plain: the ${plan.build} build is missing`,
      source: src.name,
      fileBytes: src.size || null,
      shards: src.shards ?? 1,
      cache: src.cache ?? 'none',
      runtime: 'thread',
      sha256: sha256 ? sha256.toLowerCase() : null,
      loadMs: Math.round(performance.now() - started),
      warmupMs,
      wasmMemoryBytes: core.memoryBytes,
    });
    return new Model(core, handle, info);
  } catch (e) {
    if (loader) em._gf_api_loader_free(loader);
    loader = 0;
    failed = true; // shut down last: shutdown() drops core.em, which the finally still uses
    throw e;
  } finally {
    if (hash) em._gf_api_sha256_final(hash, capPtr); // frees the hash state; capPtr has room for the digest
    await src.close?.();
    await src.chunks?.return?.();
    if (capPtr) core.free(capPtr);
    if (loader) em._gf_api_loader_free(loader);
    if (failed) await core.shutdown();
  }
}
