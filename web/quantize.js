// Quantizing GGUF models: F32/F16 (or already-quantized) weights in, a
// GGUF that llama.cpp and greenformer load out. The C core does the work
// (src/tools/transcode.c, src/quantize*.c, src/tools/calibrate.c, src/tools/mix.c); this
// module streams the source through it and the output to a destination,
// so neither file is ever held whole in memory. That code is in the tools
// module (dist/greenformer-tools.wasm: the plain engine with the offline
// tools), which only quantizeModel and pruneModel load, on first use; the
// runtime builds loadModel picks leave it out.
//
//   await quantizeModel('model-f32.gguf', 'model-q4.gguf', { type: 'Q4_K' });
//   await quantizeModel(file, (bytes) => parts.push(bytes), { type: 'Q4_0', method: 'search' });
//   const blob = await quantizeToBlob(url, { type: 'Q8_0' });
//
// Options:
//   type        one of QUANT_TYPES (the core's writable types: web/types.js); the K types
//               follow llama.cpp's rules for which tensors get more bits (Q3_K: Q3_K_M, Q4_K:
//               Q4_K_M, Q5_K: Q5_K_M). Default 'Q4_K'.
//   method      'ref' (llama.cpp's reference quantizers: llama-quantize's bytes) or
//               'search' (per-block scale search; same formats, lower error; every type).
//               Default 'ref'; 'search' when calib or mix is given.
//   calib       calibration text: the model runs on it; each matrix's errors are weighted by
//               its mean squared input activations (importance), and rounding errors are
//               spread over correlated input channels (GPTQ). Decoder models only.
//   mix         target bits per weight (all tensors counted, 2 to 16): types chosen per tensor
//               among all of QUANT_TYPES by measured sensitivity on the calibration text
//               (needs calib).
//   mixChunks   calibration chunks each mix candidate is measured on (default 4).
//   mixPrune    'magnitude' | 'activation' | 'hessian': the mix may also prune, per layer, FFN neurons (1/8, 1/4,
//               3/8) and KV groups (one or two), each option measured like a type, within the same size (the
//               unpruned model's elements times mix bits); the file is pruned (web/prune.js) and then quantized
//               with the chosen types. The plan's `mixPrune` says what was chosen and the types-only prediction.
//   tensorTypes { 'blk.0.ffn_down.weight': 'Q6_K', ... }: types for named tensors, over the rules.
//   outputType, embdType   override the output matrix's / token embedding's type.
//   onProgress  ({ phase: 'load' | 'calibrate' | 'measure' | 'quantize', fraction, ... }) => void
//   log         (line) => void: plan, warnings, the mix assignment (default: none)
//   signal      AbortSignal
//   hubEndpoint where hf: sources resolve (default https://huggingface.co)
//   assetBase   pages: the folder with a copy of the package's dist/ (as loadModel's), where the
//               tools module is found when the bundler does not copy it (esbuild)
//
// source: what loadModel takes: a path, URL, hf: name, Blob, bytes, stream or Response, or a split
// model (the first shard's path, URL or hf: name, or an array of the shards), read as one file.
//
// Unknown option keys are an error naming the nearest known one.
//
// destination: a file path (Node: written to a temporary file beside it and
// renamed into place when complete, so a failure or abort leaves an existing
// file untouched; a path that is the source's file, through any link, is
// refused before anything is written), a function called with each chunk of
// bytes (it may return a promise; the bytes are a copy it may keep), or a
// WritableStream. calib and mix read the source twice (the model is loaded
// to run it, then streamed again to quantize), so they need a source that
// can be opened again: a path, URL, Blob or bytes.

import { checkAssetBase } from './asset-base.js';
import { Core } from './core.js';
import { integer, knownKeys, oneOf } from './options.js';
import { nodePlatform } from './platform.js';
import { resolveHub } from './hub.js';
import { abortError, openSource } from './sources.js';
import { openModelSource, sourceFiles } from './split.js';
import { WRITABLE_TYPE_NAMES } from './types.js';

const TC_HEADER = 1;
const TC_COMPLETE = 2;
const LOAD_COMPLETE = 2;

// The core's writable types (web/types.js, generated from the core's registry by
// tools/gen-types.mjs): checked before any core exists.
export const QUANT_TYPES = WRITABLE_TYPE_NAMES;
// llama.cpp's names of the mixes the K types follow: Q4_K is Q4_K_M, Q5_K Q5_K_M, Q3_K Q3_K_M
export const QUANT_TYPE_ALIASES = ['Q4_K_M', 'Q5_K_M', 'Q3_K_M'];
const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined';

const OPTIONS = ['type', 'method', 'calib', 'mix', 'mixChunks', 'mixPrune', 'tensorTypes', 'outputType', 'embdType', 'onProgress', 'log', 'signal', 'hubEndpoint', 'assetBase'];
const MIX_PRUNE_METHODS = ['magnitude', 'activation', 'hessian'];
// what outputType / embdType may name: the types greenformer writes ('' = the file type's rules)
export const TENSOR_TYPES = Object.freeze([...WRITABLE_TYPE_NAMES, 'F16', 'F32']);

function checkOptions(options) {
  knownKeys(options, OPTIONS, 'quantize');
  const { type = 'Q4_K', method, calib, mix, mixChunks, outputType, embdType, onProgress, log, signal } = options;
  if (!QUANT_TYPES.includes(type) && !QUANT_TYPE_ALIASES.includes(type)) {
    throw new RangeError(`quantize: unknown type "${type}" (supported: ${QUANT_TYPES.join(', ')})`);
  }
  if (method !== undefined && method !== 'ref' && method !== 'search') {
    throw new RangeError(`quantize: unknown method "${method}" (ref or search)`);
  }
  if (calib !== undefined && (typeof calib !== 'string' || !calib.length)) throw new TypeError('quantize: calib must be a non-empty string (the calibration text)');
  if (mix !== undefined) {
    if (typeof mix !== 'number' || !Number.isFinite(mix) || mix < 2 || mix > 16) {
      throw new RangeError(`quantize: mix must be a target in bits per weight between 2 and 16, got ${mix}`);
    }
    if (calib === undefined) throw new TypeError('quantize: mix needs calibration text (calib) to measure each tensor on');
  }
  if (method === 'ref' && (calib !== undefined || mix !== undefined)) {
    throw new RangeError('quantize: calib and mix use the search method; leave method unset or use "search"');
  }
  integer(mixChunks, 'quantize: mixChunks', { min: 1, max: 1 << 20, fallback: 4 });
  if (options.mixPrune !== undefined) {
    oneOf(options.mixPrune, 'quantize: mixPrune', MIX_PRUNE_METHODS);
    if (mix === undefined) throw new TypeError('quantize: mixPrune adds pruning options to a mix: give mix (bits per weight) too');
  }
  if (options.tensorTypes !== undefined) {
    if (options.tensorTypes === null || typeof options.tensorTypes !== 'object') throw new TypeError('quantize: tensorTypes must be an object { tensor name: type }');
    for (const [name, t] of Object.entries(options.tensorTypes)) oneOf(t, `quantize: tensorTypes['${name}']`, TENSOR_TYPES);
  }
  if (outputType !== undefined && outputType !== '') oneOf(outputType, 'quantize: outputType', TENSOR_TYPES);
  if (embdType !== undefined && embdType !== '') oneOf(embdType, 'quantize: embdType', TENSOR_TYPES);
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new TypeError('quantize: signal must be an AbortSignal');
  }
  for (const [name, fn] of [['onProgress', onProgress], ['log', log]]) {
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`quantize: ${name} must be a function`);
  }
  checkAssetBase(options.assetBase, 'quantize');
  return { type, method: method ?? (calib !== undefined || mix !== undefined ? 'search' : 'ref') };
}

/**
 * A core of the tools module (dist/greenformer-tools.wasm, loaded on first use: the runtime builds do not hold the
 * quantizer and pruner); a module that cannot be loaded is an Error naming it (the loader's message as its cause).
 */
export async function toolsCore(assetBase, what) {
  try {
    return await Core.create({ build: 'greenformer-tools', threads: 1, assetBase: assetBase === undefined ? undefined : String(assetBase) });
  } catch (e) {
    throw new Error(`${what}: cannot load the offline tools module (greenformer-tools): ${e.message}`, { cause: e });
  }
}

/** Writes bytes somewhere: a path (Node), a function, or a WritableStream (also web/prune.js's). */
export async function openDestination(destination) {
  if (typeof destination === 'string') {
    if (!isNode) throw new TypeError('quantize: a destination path needs Node; pass a function or a WritableStream');
    // a temporary file beside the destination, renamed into place when complete: a failure
    // or an abort leaves an existing destination as it was
    const { openOutput } = (await nodePlatform()).files;
    return openOutput(destination);
  }
  if (typeof destination === 'function') return { write: async (view) => destination(view.slice()) };
  if (typeof WritableStream !== 'undefined' && destination instanceof WritableStream) {
    const writer = destination.getWriter();
    return { write: (view) => writer.write(view.slice()), close: () => writer.close(), abort: (e) => writer.abort(e) };
  }
  throw new TypeError('quantize: destination must be a file path (Node), a function (bytes) => void, or a WritableStream');
}

/**
 * Streams a source into a window/commit consumer: window() -> [ptr, cap],
 * commit(n) -> status; stops at `complete`.
 */
export async function feed(core, src, window, commit, complete, signal, after) {
  let status = 0;
  if (src.readInto) {
    while (status !== complete) {
      const [ptr, cap] = window();
      const n = await src.readInto(core.u8().subarray(ptr, ptr + cap));
      if (n === 0) break;
      status = commit(n);
      await after?.(status);
    }
  } else {
    read: for await (const chunk of src.chunks) {
      for (let off = 0; off < chunk.length; ) {
        const [ptr, cap] = window();
        const n = Math.min(cap, chunk.length - off);
        core.u8().set(chunk.subarray(off, off + n), ptr);
        off += n;
        status = commit(n);
        await after?.(status);
        if (status === complete) break read;
      }
      if (signal?.aborted) throw abortError(signal);
    }
  }
  if (signal?.aborted) throw abortError(signal);
  return status;
}

function withStrings(core, strings, fn) {
  const ptrs = strings.map((s) => core.writeString(s)[0]);
  try {
    return fn(...ptrs);
  } finally {
    ptrs.forEach((p) => core.free(p));
  }
}

/**
 * Opens a model for the offline tools (a split model as one stream: web/split.js), its tensors checked against the
 * core's types when split (a truncated shard is named before any byte is read); `what` names the caller in errors.
 */
export async function openModel(core, source, signal, what) {
  const src = await openModelSource(source, (s) => openSource(s, { signal }), { signal, what });
  try {
    src.checkTypes?.(core.types());
  } catch (e) {
    await src.close?.();
    throw e;
  }
  return src;
}

/** Refuses (before anything is written) a destination path that is the source's file or one of its shards. */
export async function refuseSourceAsOutput(source, destination, what) {
  if (!isNode || typeof destination !== 'string') return;
  const { localPath, refuseSameFile } = (await nodePlatform()).files;
  for (const file of sourceFiles(source, what)) {
    const input = localPath(file);
    if (input !== null) await refuseSameFile(input, destination, what);
  }
}

/**
 * Loads the model into the core for calibration; returns a calibration session pointer (open: the core function
 * that turns the complete loader into a session; web/prune.js opens its own).
 */
export async function openCalibration(core, source, signal, onProgress, open = (l) => core.em._gf_api_calib_open(l), what = 'quantize') {
  const em = core.em;
  const src = await openModel(core, source, signal, what);
  const capPtr = core.malloc(4);
  let loader = 0;
  try {
    loader = core.checkPtr(em._gf_api_loader_new(0, 0, 0, 4000 * 1048576, src.size, 0));
    const window = () => [core.checkPtr(em._gf_api_loader_window(loader, capPtr)), core.u32At(capPtr)];
    const commit = (n) => core.check(em._gf_api_loader_commit(loader, n));
    const total = src.size;
    await feed(core, src, window, commit, LOAD_COMPLETE, signal, () => {
      onProgress?.({ phase: 'load', loaded: em._gf_api_loader_done(loader), total, fraction: total ? Math.min(1, em._gf_api_loader_done(loader) / total) : 0 });
    });
    core.check(em._gf_api_loader_end(loader));
    const l = loader;
    loader = 0; // the session takes it, even when it fails
    return core.checkPtr(open(l));
  } finally {
    if (loader) em._gf_api_loader_free(loader);
    core.free(capPtr);
    await src.close?.();
    await src.chunks?.return?.();
  }
}

/**
 * Runs the calibration text through the model (importance), and for mix
 * measures every tensor's sensitivity and assigns types. Returns what the
 * transcoder needs: { overrides: [[name, type]], session } (the session
 * holds the importance until freed).
 */
async function calibrate(core, source, { calib, mix, mixChunks, signal, onProgress, log }) {
  const em = core.em;
  const session = await openCalibration(core, source, signal, onProgress);
  try {
    const [textPtr, textLen] = core.writeString(calib);
    let n;
    try {
      n = core.check(em._gf_api_calib_tokenize(session, textPtr, textLen));
    } finally {
      core.free(textPtr);
    }
    log?.(`calibration: ${n} tokens`);
    const chunks = core.check(em._gf_api_calib_chunks(session));
    for (let c = 0; c < chunks; c++) {
      core.check(em._gf_api_calib_run(session, c));
      onProgress?.({ phase: 'calibrate', fraction: (c + 1) / chunks });
      if (signal?.aborted) throw abortError(signal);
    }
    let assignment = null;
    if (mix !== undefined) {
      const steps = core.check(em._gf_api_mix_prepare(session, mixChunks));
      for (let s = 0; s < steps; s++) {
        core.check(em._gf_api_mix_measure(session, s));
        onProgress?.({ phase: 'measure', fraction: (s + 1) / steps });
        if (signal?.aborted) throw abortError(signal);
      }
      core.check(em._gf_api_mix_assign(session, mix));
      assignment = JSON.parse(core.readString(em._gf_api_mix_json(session) >>> 0));
    }
    return { session, assignment };
  } catch (e) {
    em._gf_api_calib_free(session);
    throw e;
  }
}

/**
 * Quantizes a GGUF model.
 * @returns {Promise<object>} the plan: fileType, method, inputBytes, outputBytes, elements,
 *   bitsPerWeight, tensors [{ name, shape, from, to, bytes, importance }], warnings,
 *   and for mix the measured assignment.
 */
export async function quantizeModel(source, destination, options = {}) {
  const { type, method } = checkOptions(options);
  const { calib, mix, mixChunks = 4, outputType = '', embdType = '', onProgress, log, signal } = options;
  if (signal?.aborted) throw abortError(signal);
  source = resolveHub(source, options.hubEndpoint, 'quantize');
  // refused before anything is opened: writing the input would destroy it
  await refuseSourceAsOutput(source, destination, 'quantize');
  if (options.mixPrune !== undefined) return mixWithPruning(source, destination, { ...options, hubEndpoint: undefined });
  const oneShot = (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) || (typeof Response !== 'undefined' && source instanceof Response);
  if (calib !== undefined && oneShot) {
    throw new TypeError('quantize: calib and mix read the model twice; pass a path, URL, Blob or bytes rather than a stream or Response');
  }
  const core = await toolsCore(options.assetBase, 'quantize');
  const em = core.em;
  let session = 0;
  let assignment = null;
  let t = 0;
  let dst = null;
  let src = null;
  const capPtr = core.malloc(4);
  try {
    if (calib !== undefined) ({ session, assignment } = await calibrate(core, source, { calib, mix, mixChunks, signal, onProgress, log }));
    src = await openModel(core, source, signal, 'quantize');
    // a mix's file type is named after the type most of its bits went to
    const fileType = assignment ? assignment.mainType : type;
    t = withStrings(core, [fileType, method, outputType, embdType], (...p) => core.checkPtr(em._gf_api_quantize_new(...p)));
    if (session) core.check(em._gf_api_calib_apply(session, t));
    for (const [name, ty] of Object.entries(options.tensorTypes ?? {})) withStrings(core, [name, ty], (n, y) => core.check(em._gf_api_quantize_set_type(t, n, y)));
    if (session) em._gf_api_calib_free(session);
    session = 0;
    dst = await openDestination(destination);
    let plan = null;
    const drain = async () => {
      for (;;) {
        const ptr = em._gf_api_quantize_output(t, capPtr) >>> 0;
        const n = core.u32At(capPtr);
        if (!n) return;
        await dst.write(core.u8().subarray(ptr, ptr + n));
        em._gf_api_quantize_drain(t, n);
      }
    };
    const window = () => [core.checkPtr(em._gf_api_quantize_window(t, capPtr)), core.u32At(capPtr)];
    const commit = (n) => core.check(em._gf_api_quantize_commit(t, n));
    let lastTensors = -1;
    await feed(core, src, window, commit, TC_COMPLETE, signal, async (status) => {
      if (status === TC_HEADER || (status === TC_COMPLETE && !plan)) {
        plan = JSON.parse(core.readString(em._gf_api_quantize_plan(t) >>> 0));
        for (const w of plan.warnings) log?.(`warning: ${w}`);
      }
      await drain();
      const done = em._gf_api_quantize_tensors_done(t);
      if (onProgress && plan && done !== lastTensors) {
        lastTensors = done;
        const total = em._gf_api_quantize_input_bytes(t);
        const loaded = em._gf_api_quantize_input_done(t);
        onProgress({ phase: 'quantize', loaded, total, fraction: Math.min(1, loaded / total), tensorsDone: done, tensors: plan.tensors.length, tensor: plan.tensors[done - 1] });
      }
    });
    core.check(em._gf_api_quantize_end(t));
    await drain();
    await dst.close?.();
    dst = null;
    if (assignment) plan.mix = assignment;
    return plan;
  } catch (e) {
    await dst?.abort?.(e);
    throw e;
  } finally {
    if (session) em._gf_api_calib_free(session);
    if (t) em._gf_api_quantize_free(t);
    core.free(capPtr);
    await src?.close?.();
    await src?.chunks?.return?.();
  }
}

/** Quantizes into a Blob (browsers: the parts stay in the Blob store, not the JS heap). */
export async function quantizeToBlob(source, options = {}) {
  const parts = [];
  const plan = await quantizeModel(source, (bytes) => parts.push(bytes), options);
  return Object.assign(new Blob(parts, { type: 'application/octet-stream' }), { plan });
}

/**
 * Sizes from a GGUF's header alone: { tensors, elements, tensorBytes, bitsPerWeight (tensor bytes * 8 /
 * elements, all tensors counted, as llama.cpp reports it), fileBytes, types: { F32: 9, Q4_K: 24, ... } }.
 * A split model (quantize's sources) reads its shards' headers and is summarized as the one file they make
 * (fileBytes: the unsplit file's, as loadModel reports it).
 */
export async function ggufSummary(source, { signal, hubEndpoint, assetBase } = {}) {
  checkAssetBase(assetBase, 'ggufSummary');
  source = resolveHub(source, hubEndpoint, 'ggufSummary');
  const core = await Core.create({ build: 'greenformer', threads: 1, assetBase: assetBase === undefined ? undefined : String(assetBase) });
  const em = core.em;
  const src = await openModel(core, source, signal, 'ggufSummary');
  const capPtr = core.malloc(4);
  const r = core.checkPtr(em._gf_api_gguf_new());
  try {
    const window = () => [core.checkPtr(em._gf_api_gguf_window(r, capPtr)), core.u32At(capPtr)];
    const status = await feed(core, src, window, (n) => core.check(em._gf_api_gguf_commit(r, n)), 1, signal);
    if (status !== 1) throw new Error(`GGUF: ${src.name} ends inside its header (truncated, or not a model file)`);
    const p = core.checkPtr(em._gf_api_gguf_summary(r));
    const summary = JSON.parse(core.readString(p));
    core.free(p);
    return summary;
  } finally {
    em._gf_api_gguf_free(r);
    core.free(capPtr);
    await src.close?.();
    await src.chunks?.return?.();
  }
}

/**
 * The mix with pruning options (mixPrune): the types-only mix is measured and assigned as usual, then each layer's
 * pruning options are measured and the knapsack rerun with them; the source is pruned as chosen (web/prune.js) and
 * quantized with the chosen types (calibrated again on the pruned model).
 */
async function mixWithPruning(source, destination, options) {
  const { calib, mix, mixChunks = 4, mixPrune, onProgress, log, signal, assetBase } = options;
  const core = await toolsCore(assetBase, 'quantize');
  const em = core.em;
  let session = 0;
  let plan;
  try {
    let assignment;
    ({ session, assignment } = await calibrate(core, source, { calib, mix, mixChunks, signal, onProgress, log }));
    const steps = withStrings(core, [mixPrune], (m) => core.check(em._gf_api_mix_prune_prepare(session, m)));
    for (let s = 0; s < steps; s++) {
      core.check(em._gf_api_mix_prune_measure(session, s));
      onProgress?.({ phase: 'measure pruning', fraction: (s + 1) / steps });
      if (signal?.aborted) throw abortError(signal);
    }
    core.check(em._gf_api_mix_prune_assign(session, mix));
    plan = JSON.parse(core.readString(em._gf_api_mix_prune_json(session) >>> 0));
    plan.typesOnly = assignment;
  } finally {
    if (session) em._gf_api_calib_free(session);
  }
  const { pruneModel } = await import('./prune.js');
  // option 0 of each layer is "keep everything"
  const prunes = plan.layers.some((l) => l.ffn < l.ffnOptions[0].keep || l.kvHeads < l.kvOptions[0].keep);
  log?.(`mix with pruning (${mixPrune}): predicted KL ${plan.predictedKl.toExponential(3)} against ${plan.predictedKlTypesOnly.toExponential(3)} for types alone; ` +
    (prunes ? `layers keep FFN ${plan.layers.map((l) => l.ffn).join('/')} and KV heads ${plan.layers.map((l) => l.kvHeads).join('/')}` : 'no layer pruned'));
  const typesOnlyTypes = Object.fromEntries(plan.typesOnly.tensors.map((t) => [t.name, t.type]));
  if (!prunes) {
    const tensorTypes = Object.fromEntries(plan.tensors.map((t) => [t.name, t.type]));
    const out = await quantizeModel(source, destination, { type: plan.mainType, calib, tensorTypes, onProgress, log, signal, assetBase });
    out.mixPrune = plan;
    return out;
  }
  // measured, not only predicted: the pruning's refit and the quantizers' calibration are fitted to the calibration
  // text, so a check on that same text flatters the pruned file; the last quarter of the text is held out: both files
  // are made from the rest and measured against the F32 model on it, and the pruned one is kept only if it is better
  const cut = holdOut(calib);
  if (!cut) {
    log?.('mix with pruning: the calibration text is too short to hold a quarter out for the check; keeping types only');
    const out = await quantizeModel(source, destination, { type: plan.typesOnly.mainType, calib, tensorTypes: typesOnlyTypes, onProgress, log, signal, assetBase });
    out.mixPrune = plan;
    return out;
  }
  const collect = async (src, opts) => {
    const parts = [];
    const result = await quantizeModel(src, (b) => parts.push(b), opts);
    return { bytes: concat(parts), result };
  };
  const parts = [];
  await pruneModel(source, (b) => parts.push(b), { layers: { ffn: plan.layers.map((l) => l.ffn), kvHeads: plan.layers.map((l) => l.kvHeads) }, method: mixPrune, calib: cut.fit, signal, assetBase });
  const pruned = await collect(concat(parts), { type: plan.mainType, calib: cut.fit, tensorTypes: Object.fromEntries(plan.tensors.map((t) => [t.name, t.type])), onProgress, signal, assetBase });
  const typesOnly = await collect(source, { type: plan.typesOnly.mainType, calib: cut.fit, tensorTypes: typesOnlyTypes, onProgress, signal, assetBase });
  const [klTypes, klPruned] = await calibrationKl(source, [typesOnly.bytes, pruned.bytes], cut.check, assetBase);
  const keepPruned = klPruned < klTypes;
  plan.measured = { on: 'the last quarter of the calibration text, held out', typesOnlyKl: klTypes, prunedKl: klPruned, kept: keepPruned ? 'pruned' : 'types only' };
  log?.(`measured on the held-out quarter of the calibration text: KL ${klPruned.toExponential(3)} pruned, ${klTypes.toExponential(3)} types only: keeping ${plan.measured.kept}`);
  if (!keepPruned) {
    // the types-only plan, calibrated on the whole text as a plain mix is
    const out = await quantizeModel(source, destination, { type: plan.typesOnly.mainType, calib, tensorTypes: typesOnlyTypes, onProgress, log, signal, assetBase });
    out.mixPrune = plan;
    return out;
  }
  const dst = await openDestination(destination);
  try {
    await dst.write(pruned.bytes);
    await dst.close?.();
  } catch (e) {
    await dst.abort?.(e);
    throw e;
  }
  pruned.result.mixPrune = plan;
  return pruned.result;
}

/** The calibration text split at a paragraph (or line) break near three quarters: { fit, check }, or null when too short. */
function holdOut(text) {
  if (text.length < 2000) return null;
  const at = Math.floor(text.length * 0.75);
  let k = text.indexOf('\n\n', at);
  if (k < 0 || k > text.length - 500) k = text.indexOf('\n', at);
  if (k < 0 || k > text.length - 500) k = at;
  return { fit: text.slice(0, k), check: text.slice(k).trimStart() };
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

/** Mean KL from the source model of each file's next-token distributions on the calibration text (eval's protocol). */
async function calibrationKl(source, files, calib, assetBase) {
  const [{ loadModel }, { evaluate }] = await Promise.all([import('./index.js'), import('./evaluate.js')]);
  const opts = { contextLength: 256, batchSize: 256, kvCache: 'f32', threads: 1, warmup: false, ...(assetBase === undefined ? {} : { assetBase }) };
  const ref = await loadModel(source, opts);
  const models = [];
  try {
    for (const f of files) models.push(await loadModel(f, opts));
    const ids = await ref.tokenize(calib);
    const r = await evaluate(ref, models, ids, { ctx: Math.min(256, 2 * Math.floor(ids.length / 4)) });
    return r.models.map((m) => m.meanKl);
  } finally {
    for (const m of models) await m.dispose();
    await ref.dispose();
  }
}

