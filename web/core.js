// The wasm core: compiles the module once per process/page, gives every
// model its own instance (so dispose() returns all of its memory), and wraps
// the C API (src/api/api.c) so that C errors become JS Errors.

import { buildFiles, workerScriptUrl } from './assets.js';
import { nodePlatform } from './platform.js';

const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined';

const compiled = new Map(); // build name (and asset base) -> Promise<{ factory, module }>

async function loadBuild(name, assetBase) {
  if (isNode) return (await nodePlatform()).loadBuild(name);
  const { glue: glueUrl, wasm: wasmUrl } = buildFiles(name, assetBase);
  // Both in parallel; when both fail (a build that is not deployed) the error is the glue's, whichever
  // failed first, so it does not depend on timing. The glue is a file of its own, never bundled.
  const [glue, module] = await Promise.allSettled([
    import(/* webpackIgnore: true */ /* @vite-ignore */ glueUrl).catch((e) => {
      throw new Error(`greenformer: cannot load ${glueUrl} (${e.message})${hint(assetBase)}`);
    }),
    WebAssembly.compileStreaming(fetch(wasmUrl)).catch(async (e) => {
      // servers that send the wrong MIME type: compile from bytes instead
      const res = await fetch(wasmUrl);
      if (!res.ok) throw new Error(`greenformer: cannot fetch ${wasmUrl} (HTTP ${res.status})${hint(assetBase)}`);
      return WebAssembly.compile(await res.arrayBuffer());
    }),
  ]);
  if (glue.status === 'rejected') throw glue.reason;
  if (module.status === 'rejected') throw module.reason;
  return { factory: glue.value.default, module: module.value };
}

function hint(assetBase) {
  return assetBase
    ? `: is node_modules/greenformer/dist/ copied to assetBase (${assetBase})?`
    : ': a bundler that does not copy new URL(…, import.meta.url) files (esbuild) needs node_modules/greenformer/dist/ copied to the site and { assetBase } pointing there';
}

function getBuild(name, assetBase) {
  const key = `${assetBase ?? ''}|${name}`;
  if (!compiled.has(key)) {
    const p = loadBuild(name, assetBase);
    p.catch(() => compiled.delete(key));
    compiled.set(key, p);
  }
  return compiled.get(key);
}

function findMemory(obj) {
  return Object.values(obj ?? {}).find((v) => v instanceof WebAssembly.Memory);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Why the threaded build can or cannot run here: null when it can. */
export function threadsUnavailableReason() {
  if (isNode) return null;
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) {
    return 'not cross-origin isolated: serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';
  }
  return null;
}

export async function availableCores() {
  if (isNode) return (await nodePlatform()).cores();
  return globalThis.navigator?.hardwareConcurrency || 1;
}

/** Below this file size 'auto' runs one thread: a worker costs ~10 MB and a small model gains little. */
export const SMALL_MODEL_BYTES = 64 * 1048576;

// A module whose one function, f(a, b), returns lane 0 of
// i32x4.relaxed_dot_i8x16_i7x16_add_s(i8x16.splat(a), i8x16.splat(b), 0)
// (0xfd 0x113): engines without relaxed SIMD refuse to compile it.
const RELAXED_DOT_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // types: (i32 i32) -> i32
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
  0x0a, 0x24, 0x01, 0x22, 0x00, // code: one body of 34 bytes, no locals
  0x20, 0x00, 0xfd, 0x0f, 0x20, 0x01, 0xfd, 0x0f, // i8x16.splat a, i8x16.splat b
  0xfd, 0x0c, ...new Array(16).fill(0), // v128.const 0
  0xfd, 0x93, 0x02, 0xfd, 0x1b, 0x00, 0x0b, // relaxed dot, i32x4.extract_lane 0, end
]);

let relaxedDot;

/**
 * How this engine runs relaxed SIMD's int8 dot product: 'none' (no relaxed
 * SIMD), 'emulated' or 'native'. The dot of 127s with 255s (a 7-bit operand
 * out of range: the result is implementation-defined, which is what tells
 * the lowerings apart) is 65534 on x86 without AVX-VNNI, where V8 emulates
 * the instruction with pmaddubsw (pairs saturate at 32767), pmaddwd and
 * paddd, and in Firefox on x86 even with AVX-VNNI (SpiderMonkey lowers it
 * the same way: Firefox ESR 153, tests/slow/browser-firefox.test.mjs);
 * 4 * 127 * 255 = 129540 with VNNI's vpdpbusd; -508 with ARM's signed dot
 * product. Emulated, the relaxed build is slower than the plain
 * one (docs/performance.md), so 'auto' takes the relaxed16 build there.
 */
export function relaxedDotKind() {
  if (relaxedDot === undefined) {
    try {
      const { f } = new WebAssembly.Instance(new WebAssembly.Module(RELAXED_DOT_PROBE)).exports;
      relaxedDot = f(127, 255) === 65534 ? 'emulated' : 'native';
    } catch {
      relaxedDot = 'none';
    }
  }
  return relaxedDot;
}

// Node before V8 11.4 (Node 20) has relaxed SIMD only behind
// --experimental-wasm-relaxed-simd, and its baseline compiler (Liftoff)
// computes relaxed dot products wrongly when an operand is reused
// (measured: the kernel tests fail; its optimizing tier is right).
// There the relaxed build needs --no-liftoff, and 'auto' never picks it.
function oldNodeRelaxed() {
  if (!isNode) return false;
  const [major, minor] = String(process.versions.v8).split('.').map(Number);
  return major < 11 || (major === 11 && minor < 4);
}

function withoutLiftoff() {
  return [...process.execArgv, ...String(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--no-liftoff');
}

const SIMD_OPTIONS = ['auto', 'relaxed', 'relaxed16', 'plain'];

/**
 * Picks the build and thread count for a `threads` option ('auto' or n),
 * the model's file size (0 = unknown) and a `simd` option ('auto',
 * 'relaxed', 'relaxed16' or 'plain'). Never fails for lack of threads:
 * falls back to one, and says why (reason); simdReason says why this SIMD
 * build. With simd 'auto' the relaxed build is used where the engine runs
 * relaxed SIMD's int8 dot product natively, the relaxed16 build where it
 * emulates it (x86 without AVX-VNNI: its kernels use the 16-bit form,
 * one pmaddubsw there); all give bit-identical results. `fallback` names
 * the plain build to load instead when the chosen one is missing.
 */
export async function planThreads(threads = 'auto', fileBytes = 0, simd = 'auto') {
  if (!SIMD_OPTIONS.includes(simd)) {
    throw new RangeError(`simd must be one of ${SIMD_OPTIONS.map((o) => `'${o}'`).join(', ')}; got ${simd}`);
  }
  let variant = null, simdReason;
  const dot = relaxedDotKind();
  if (simd === 'relaxed' || simd === 'relaxed16') {
    if (dot === 'none') throw new Error(`simd: '${simd}' needs an engine with relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd --no-liftoff)`);
    if (oldNodeRelaxed() && !withoutLiftoff()) throw new Error(`simd: '${simd}' on V8 ${process.versions.v8} needs --no-liftoff (its baseline compiler computes relaxed dot products wrongly)`);
    variant = simd;
    simdReason = `${simd}: requested`;
  } else if (simd === 'plain') {
    simdReason = 'plain: requested';
  } else if (dot === 'none') {
    simdReason = 'plain: auto, this engine has no relaxed SIMD';
  } else if (oldNodeRelaxed()) {
    simdReason = `plain: auto, relaxed SIMD on V8 ${process.versions.v8} needs flags (--no-liftoff)`;
  } else if (dot === 'emulated') {
    variant = 'relaxed16';
    simdReason = 'relaxed16: auto, this engine emulates the relaxed int8 dot product (V8 on x86 without AVX-VNNI, Firefox on any x86); its 16-bit form is one instruction (pmaddubsw)';
  } else {
    variant = 'relaxed';
    simdReason = 'relaxed: auto, this engine has relaxed SIMD with a native int8 dot product';
  }
  const plan = { ...(await planThreadCount(threads, fileBytes)), simdReason };
  if (!variant) return plan;
  const build = plan.build.replace(/^greenformer/, `greenformer-${variant}`);
  return { ...plan, build, fallback: simd === 'auto' ? plan.build : undefined };
}

async function planThreadCount(threads, fileBytes) {
  const cores = await availableCores();
  let want;
  if (threads === 'auto' && fileBytes && fileBytes < SMALL_MODEL_BYTES) {
    return { build: 'greenformer', threads: 1, reason: `1 thread: auto, model under ${SMALL_MODEL_BYTES >> 20} MB (threads cost memory and gain little)` };
  }
  if (threads === 'auto') want = Math.min(cores, 8);
  else if (Number.isInteger(threads) && threads >= 1 && threads <= 64) want = threads;
  else throw new RangeError(`threads must be 'auto' or an integer from 1 to 64, got ${threads}`);
  const unavailable = threadsUnavailableReason();
  if (want > 1 && unavailable) return { build: 'greenformer', threads: 1, reason: `1 thread: ${unavailable}` };
  if (want === 1) return { build: 'greenformer', threads: 1, reason: threads === 'auto' ? `1 thread: ${cores} core available` : '1 thread: requested' };
  return { build: 'greenformer-mt', threads: want, reason: `${want} threads: ${threads === 'auto' ? `auto (${cores} cores)` : 'requested'}` };
}

/** One wasm instance: raw C API plus memory helpers. */
// A full collection (Node only; the flag can be set at run time, and gc is
// then reachable from a fresh context).
let gcFunction;
async function loadGc() {
  gcFunction = (await nodePlatform()).gcFunction();
}
async function collectGarbage() {
  if (!gcFunction) return;
  // a worker's isolate lets go of the memory just after its 'exit' event
  await new Promise((r) => setImmediate(r));
  gcFunction();
}

export class Core {
  static async create({ build = 'greenformer', threads = 1, fallback, assetBase } = {}) {
    let loaded;
    try {
      loaded = await getBuild(build, assetBase);
    } catch (e) {
      // an optional build (relaxed SIMD) that was not built or not deployed
      if (!fallback) throw e;
      build = fallback;
      loaded = await getBuild(build, assetBase);
    }
    const { factory, module } = loaded;
    if (isNode && threads > 1) {
      if (!gcFunction) await loadGc();
      // an instance disposed while its model object was still referenced is
      // only freed by a later collection (see shutdown()); by now it usually
      // is garbage, and without this it stayed resident beside the new one
      // (seen: a 2-thread load after a dispose peaked at twice the model)
      await collectGarbage();
    }
    let memory;
    // pthread workers load the classic glue and their own script from where the loader found them, not relative to the page
    let mainScriptUrlOrBlob, locateFile;
    if (!isNode) {
      const files = buildFiles(build, assetBase);
      const pthread = files.pthread ? await workerScriptUrl(files.pthread) : undefined;
      mainScriptUrlOrBlob = files.classic ? await workerScriptUrl(files.classic) : undefined;
      locateFile = (file) => (file.endsWith('.worker.js') && pthread ? pthread : file.endsWith('.wasm') ? files.wasm : file);
    }
    const instance = await factory({
      gfPoolSize: Math.max(0, threads - 1),
      mainScriptUrlOrBlob,
      locateFile,
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(module, imports).then((inst) => {
          // the memory is exported (single thread) or imported (shared, threads)
          memory = findMemory(inst.exports) ?? Object.values(imports).map(findMemory).find(Boolean);
          receive(inst, module);
        });
        return {};
      },
      print: () => {},
      printErr: () => {},
    });
    if (!memory) throw new Error('greenformer: the wasm module has no memory');
    const core = new Core(instance, memory, build);
    core.threads = threads > 1 ? instance._gf_api_threads_start(threads) : 1;
    if (isNode && instance.PThread) {
      // idle workers must not keep Node's event loop alive
      for (const w of [...instance.PThread.runningWorkers, ...instance.PThread.unusedWorkers]) w.unref?.();
    }
    return core;
  }

  /**
   * The core's weight-type registry (src/quant/registry.c): rows
   * {id, name, blockElements, blockBytes, computable, activation, writable}, and in the
   * tools module (build 'greenformer-tools') also methods and gptq (methods: the quantizer's,
   * [] for types it does not write; gptq: calibration adds GPTQ).
   * The JS type lists (web/types.js, the QuantType union of web/index.d.ts) are generated
   * from the tools module's rows by tools/gen-types.mjs; tests/fast/types.test.mjs fails when they differ.
   */
  types() {
    const json = this.em._gf_api_quantize_types_json ?? this.em._gf_api_types_json;
    this.typeRows ??= JSON.parse(this.readString(this.checkPtr(json())));
    return this.typeRows;
  }

  /** Ends the instance's worker threads (threaded build); resolves when they have exited. */
  async shutdown() {
    const pt = this.em.PThread;
    if (!pt) return;
    const workers = [...pt.runningWorkers, ...pt.unusedWorkers];
    const exited = workers.map((w) => (isNode && w.once ? new Promise((r) => w.once('exit', r)) : null));
    pt.terminateAllThreads();
    await Promise.all(exited.filter(Boolean));
    if (isNode) {
      // V8 does not count shared wasm memory toward its collection triggers,
      // so a disposed threaded instance stayed resident until some unrelated
      // collection: loading and disposing models one after another grew the
      // process by each model's size (seen: +83 MB per 110M Q4_0 instance).
      // Drop this instance's references and collect now.
      this.em = null;
      this.memory = null;
      this._u8 = null;
      await collectGarbage();
    }
  }

  constructor(em, memory, build) {
    this.em = em;
    this.memory = memory;
    this.build = build;
    this._u8 = null;
  }

  get memoryBytes() {
    return this.memory.buffer.byteLength;
  }

  /** A Uint8Array over all of wasm memory, refreshed after memory growth. */
  u8() {
    const buf = this.memory.buffer;
    if (!this._u8 || this._u8.buffer !== buf || this._u8.byteLength !== buf.byteLength) this._u8 = new Uint8Array(buf);
    return this._u8;
  }

  i32(ptr, n) {
    return new Int32Array(this.memory.buffer, ptr, n);
  }

  f32(ptr, n) {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  u32At(ptr) {
    return new Uint32Array(this.memory.buffer, ptr, 1)[0];
  }

  error() {
    return this.readString(this.em._gf_api_error() >>> 0);
  }

  /** Throws the core's last error for a negative status; returns the status. */
  check(status) {
    if (status < 0) throw this._error(status);
    return status;
  }

  /** Throws the core's last error for a NULL pointer; returns the pointer. */
  checkPtr(ptr) {
    ptr = ptr >>> 0;
    if (!ptr) throw this._error(-1);
    return ptr;
  }

  _error(status) {
    const err = new Error(this.error());
    err.code = status === -2 || /^out of memory/.test(err.message) ? 'GF_OUT_OF_MEMORY' : 'GF_ERROR';
    return err;
  }

  malloc(n) {
    const p = this.em._malloc(Math.max(1, n)) >>> 0;
    if (!p) {
      const err = new Error(`out of memory: could not allocate ${(n / 1048576).toFixed(1)} MB in wasm memory`);
      err.code = 'GF_OUT_OF_MEMORY';
      throw err;
    }
    return p;
  }

  free(p) {
    if (p) this.em._free(p);
  }

  readString(ptr, len) {
    if (!ptr) return '';
    const u8 = this.u8();
    let end = ptr;
    if (len === undefined) while (u8[end]) end++;
    else end = ptr + len;
    // TextDecoder refuses views of shared memory (threaded build): copy first
    return decoder.decode(u8.slice(ptr, end));
  }

  /** Copies a string into a fresh malloc'd buffer: [ptr, byteLength]. */
  writeString(str) {
    const bytes = encoder.encode(str);
    const p = this.malloc(bytes.length + 1);
    this.u8().set(bytes, p);
    this.u8()[p + bytes.length] = 0;
    return [p, bytes.length];
  }

  writeI32(values) {
    const p = this.malloc(values.length * 4);
    this.i32(p, values.length).set(values);
    return p;
  }
}
