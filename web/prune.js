// Structured pruning of GGUF models (llama architecture, F32/F16/BF16 weights): whole FFN neurons and whole KV
// groups of attention heads removed, written as a smaller GGUF with per-layer sizes that llama.cpp reads. The C
// core does the work (src/tools/prune.c chooses, src/tools/prune_write.c writes; in the tools module,
// dist/greenformer-tools.wasm, loaded on first use); docs/pruning.md measures it.
//
//   await pruneModel('model-f32.gguf', 'model-pruned.gguf', { ffn: 0.25, method: 'hessian', calib: text });
//   await pruneModel('model-f32.gguf', 'model-pruned-q4.gguf', { ffn: 0.2, heads: 0.25, calib: text, type: 'Q4_K' });
//
// Options:
//   ffn         share of each layer's FFN neurons to remove, 0 <= ffn < 1 (each layer keeps a multiple of 32)
//   heads       share of all KV groups (a KV head with the query heads reading it) to remove, 0 <= heads < 1;
//               the criterion picks the layers, every layer keeps one
//   method      'magnitude' (the units' squared weights), 'activation' (Wanda-style |W| * ||x|| on the matrix
//               each unit feeds, over calib) or 'hessian' (optimal brain surgeon on the inputs' second moments).
//               Default 'hessian' with calib, else 'magnitude'.
//   compensate  refit the kept columns of ffn_down / attn_output by least squares on calib's activations
//               (default: true for hessian, false otherwise)
//   calib       calibration text (activation and hessian need it)
//   layers      { ffn: [kept neurons per layer], kvHeads: [kept KV heads per layer] }: counts per layer instead of
//               the shares (the size planner's choice)
//   type        quantize the pruned model too ('Q4_K', 'Q4_0', ...; quantizeModel's types; with calib, calibrated)
//   onProgress, log, signal, assetBase   as quantizeModel
//
// destination: as quantizeModel (path, function, WritableStream). Returns { prune, file, quantize? }: the chosen
// units per layer with their predicted errors, the written file's tensors and sizes, and the quantizer's plan.

import { knownKeys, oneOf } from './options.js';
import { checkAssetBase } from './asset-base.js';
import { feed, openCalibration, openDestination, openModel, quantizeModel, QUANT_TYPE_ALIASES, QUANT_TYPES, refuseSourceAsOutput, toolsCore } from './quantize.js';
import { abortError } from './sources.js';

const TC_HEADER = 1;
const TC_COMPLETE = 2;
const OPTIONS = ['ffn', 'heads', 'method', 'compensate', 'calib', 'layers', 'type', 'onProgress', 'log', 'signal', 'assetBase'];
export const PRUNE_METHODS = ['magnitude', 'activation', 'hessian'];

function share(v, name) {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1) throw new RangeError(`prune: ${name} must be a share 0 <= ${name} < 1, got ${v}`);
  return v;
}

function checkOptions(options) {
  knownKeys(options, OPTIONS, 'prune');
  const ffn = share(options.ffn, 'ffn');
  const heads = share(options.heads, 'heads');
  const { calib, layers, type } = options;
  if (calib !== undefined && (typeof calib !== 'string' || !calib.length)) throw new TypeError('prune: calib must be a non-empty string (the calibration text)');
  const method = oneOf(options.method, 'prune: method', PRUNE_METHODS, calib !== undefined ? 'hessian' : 'magnitude');
  if (method !== 'magnitude' && calib === undefined) throw new TypeError(`prune: method ${method} needs calibration text (calib)`);
  const compensate = options.compensate ?? method === 'hessian';
  if (typeof compensate !== 'boolean') throw new TypeError('prune: compensate must be true or false');
  if (compensate && calib === undefined) throw new TypeError('prune: compensate refits on calibration activations: it needs calib');
  if (layers !== undefined) {
    if (layers === null || typeof layers !== 'object') throw new TypeError('prune: layers must be { ffn: [...], kvHeads: [...] }');
    knownKeys(layers, ['ffn', 'kvHeads'], 'prune layers');
    for (const k of ['ffn', 'kvHeads']) {
      const a = layers[k];
      if (a !== undefined && (!Array.isArray(a) || !a.every((x) => Number.isInteger(x) && x >= 1))) throw new TypeError(`prune: layers.${k} must be an array of positive integers, one per layer`);
    }
    if (ffn || heads) throw new TypeError('prune: give shares (ffn, heads) or per-layer counts (layers), not both');
  }
  if (type !== undefined && !QUANT_TYPES.includes(type) && !QUANT_TYPE_ALIASES.includes(type)) {
    throw new RangeError(`prune: unknown type "${type}" (supported: ${QUANT_TYPES.join(', ')})`);
  }
  if (!ffn && !heads && !layers) throw new RangeError('prune: nothing to remove (give ffn, heads or layers)');
  checkAssetBase(options.assetBase, 'prune');
  return { ffn, heads, method, compensate };
}

/** Prunes a GGUF model; see the options above. */
export async function pruneModel(source, destination, options = {}) {
  const { ffn, heads, method, compensate } = checkOptions(options);
  const { calib, layers, type, onProgress, log, signal } = options;
  if (signal?.aborted) throw abortError(signal);
  await refuseSourceAsOutput(source, destination, 'prune');
  if (type !== undefined) {
    // pruned into memory, then quantized (calibrated on the pruned model when calib is given)
    const parts = [];
    const result = await pruneModel(source, (b) => parts.push(b), { ...options, type: undefined });
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) bytes.set(p, o), (o += p.length);
    result.quantize = await quantizeModel(bytes, destination, { type, calib, onProgress, log, signal, assetBase: options.assetBase });
    return result;
  }
  const core = await toolsCore(options.assetBase, 'prune');
  const em = core.em;
  const capPtr = core.malloc(4);
  let session = 0, w = 0, dst = null, src = null, keepPtr = 0;
  try {
    session = await openCalibration(core, source, signal, onProgress, (l) => em._gf_api_prune_open(l), 'prune');
    let chunks = 0;
    if (calib !== undefined) {
      const [textPtr, textLen] = core.writeString(calib);
      try {
        const tokens = core.check(em._gf_api_prune_tokenize(session, textPtr, textLen)); // not inside log?.(): it must run
        log?.(`calibration: ${tokens} tokens`);
      } finally {
        core.free(textPtr);
      }
      chunks = core.check(em._gf_api_prune_chunks(session));
    }
    let ffnKeep = 0, kvKeep = 0;
    if (layers) {
      const n = Math.max(layers.ffn?.length ?? 0, layers.kvHeads?.length ?? 0);
      keepPtr = core.malloc(8 * n);
      const view = new Int32Array(core.u8().buffer, keepPtr, 2 * n);
      if (layers.ffn) view.set(layers.ffn, 0), (ffnKeep = keepPtr);
      if (layers.kvHeads) view.set(layers.kvHeads, n), (kvKeep = keepPtr + 4 * n);
    }
    const [methodPtr] = core.writeString(method);
    try {
      core.check(em._gf_api_prune_start(session, ffn, heads, methodPtr, compensate ? 1 : 0, ffnKeep, kvKeep));
    } finally {
      core.free(methodPtr);
    }
    for (let c = 0; c < chunks; c++) {
      core.check(em._gf_api_prune_run(session, c));
      onProgress?.({ phase: 'calibrate', fraction: (c + 1) / chunks });
      if (signal?.aborted) throw abortError(signal);
    }
    core.check(em._gf_api_prune_select(session));
    const prune = JSON.parse(core.readString(em._gf_api_prune_json(session) >>> 0));
    w = core.checkPtr(em._gf_api_prune_writer(session));
    src = await openModel(core, source, signal, 'prune');
    dst = await openDestination(destination);
    let file = null;
    const drain = async () => {
      for (;;) {
        const ptr = em._gf_api_prune_writer_output(w, capPtr) >>> 0;
        const n = core.u32At(capPtr);
        if (!n) return;
        await dst.write(core.u8().subarray(ptr, ptr + n));
        em._gf_api_prune_writer_drain(w, n);
      }
    };
    const window = () => [core.checkPtr(em._gf_api_prune_writer_window(w, capPtr)), core.u32At(capPtr)];
    const commit = (n) => core.check(em._gf_api_prune_writer_commit(w, n));
    await feed(core, src, window, commit, TC_COMPLETE, signal, async (status) => {
      if (status === TC_HEADER || (status === TC_COMPLETE && !file)) file = JSON.parse(core.readString(em._gf_api_prune_writer_json(w) >>> 0));
      await drain();
      onProgress?.({ phase: 'write', fraction: file ? Math.min(1, (src.position ?? 0) / file.inputBytes) : 0 });
    });
    core.check(em._gf_api_prune_writer_end(w));
    await drain();
    await dst.close?.();
    dst = null;
    log?.(`prune: ${method}${compensate ? ' with compensation' : ''}: ${prune.ffnRemoved} FFN neurons and ${prune.kvRemoved} KV groups removed; ` +
      `${file.architecture}, ${(file.outputBytes / 1048576).toFixed(2)} MB (from ${(file.inputBytes / 1048576).toFixed(2)} MB)`);
    return { prune, file };
  } catch (e) {
    await dst?.abort?.(e);
    throw e;
  } finally {
    if (w) em._gf_api_prune_writer_free(w);
    if (session) em._gf_api_prune_free(session);
    if (keepPtr) core.free(keepPtr);
    core.free(capPtr);
    await src?.close?.();
    await src?.chunks?.return?.();
  }
}
