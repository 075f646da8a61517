// The wasm core: compiles the module once per process/page, gives every
// model its own instance (so dispose() returns all of its memory), and wraps
// the C API (src/api.c) so that C errors become JS Errors.

const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined';

const BUILD = 'greenformer';
const compiled = new Map(); // build name -> Promise<{ factory, module }>

async function loadBuild(name) {
  if (isNode) {
    const { createRequire } = await import('node:module');
    const { readFile } = await import('node:fs/promises');
    const require = createRequire(import.meta.url);
    const url = new URL(`../dist/${name}.wasm`, import.meta.url);
    let bytes;
    try {
      bytes = await readFile(url);
    } catch (e) {
      throw new Error(`greenformer: ${url.pathname} is missing; build it with "npm run build" (${e.code ?? e.message})`);
    }
    // emcc 3.1.6's glue is CommonJS (dist/package.json says so)
    const factory = require(`../dist/${name}.js`);
    return { factory, module: await WebAssembly.compile(bytes) };
  }
  const wasmUrl = new URL(`../dist/${name}.wasm`, import.meta.url);
  const [{ default: factory }, module] = await Promise.all([
    import(`../dist/${name}.mjs`),
    WebAssembly.compileStreaming(fetch(wasmUrl)).catch(async (e) => {
      // servers that send the wrong MIME type: compile from bytes instead
      const res = await fetch(wasmUrl);
      if (!res.ok) throw new Error(`greenformer: cannot fetch ${wasmUrl} (HTTP ${res.status})`);
      return WebAssembly.compile(await res.arrayBuffer());
    }),
  ]);
  return { factory, module };
}

function getBuild(name) {
  if (!compiled.has(name)) {
    const p = loadBuild(name);
    p.catch(() => compiled.delete(name));
    compiled.set(name, p);
  }
  return compiled.get(name);
}

function findMemory(obj) {
  return Object.values(obj ?? {}).find((v) => v instanceof WebAssembly.Memory);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** One wasm instance: raw C API plus memory helpers. */
export class Core {
  static async create({ build = BUILD } = {}) {
    const { factory, module } = await getBuild(build);
    let memory;
    const instance = await factory({
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
    return new Core(instance, memory, build);
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
