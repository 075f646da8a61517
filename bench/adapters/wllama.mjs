// wllama (llama.cpp compiled to wasm, @wllama/wllama 3.8.x) measured in the browser,
// following shared/notes/wllama-bench.md: local wasm, setCompat(null) (no CDN),
// n_gpu_layers 0 (no WebGPU), explicit n_threads, cache_prompt false, greedy,
// ignore_eos, timings from llama.cpp's own counters. One call = one fresh instance.

const WLLAMA_ESM = '/node_modules/@wllama/wllama/esm/index.js';
const WLLAMA_WASM = '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';

const quiet = {
  debug() {}, log() {}, info() {},
  warn: (...a) => console.warn('[wllama]', ...a),
  error: (...a) => console.error('[wllama]', ...a),
};

/**
 * opts: { modelUrl, threads, prompt (text), nGen, nCtx, logprobs (top-k to return, optional) }
 * Returns { load_ms, fetch_ms, prefill_tok_s, decode_tok_s, n_prompt, n_gen, text, ... }.
 */
export async function runWllama({ modelUrl, threads, prompt, nGen = 128, nCtx = 512, logprobs = 0 }) {
  const { Wllama } = await import(WLLAMA_ESM);
  const t0 = performance.now();
  const resp = await fetch(modelUrl);
  if (!resp.ok) throw new Error(`fetch ${modelUrl}: HTTP ${resp.status}`);
  const blob = await resp.blob();
  const t1 = performance.now();
  // Absolute URL: wllama's worker is a blob: URL, against which a path cannot resolve.
  const wasmUrl = new URL(WLLAMA_WASM, location.href).href;
  const w = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: quiet });
  w.setCompat(null);
  try {
    await w.loadModel([blob], {
      n_ctx: nCtx,
      n_threads: threads,
      n_gpu_layers: 0,
      n_parallel: 1,
      seed: 1,
    });
    const t2 = performance.now();
    const params = {
      prompt,
      n_predict: nGen,
      max_tokens: nGen,
      temperature: 0,
      top_k: 1,
      ignore_eos: true,
      cache_prompt: false,
      seed: 1,
    };
    if (logprobs) params.logprobs = logprobs;
    const r = await w.createCompletion(params);
    const t3 = performance.now();
    const tm = r.timings;
    if (!tm) throw new Error('wllama returned no timings');
    const meta = w.getModelMetadata();
    return {
      load_ms: t2 - t0,
      fetch_ms: t1 - t0,
      prefill_tok_s: (tm.prompt_n / tm.prompt_ms) * 1000,
      // The first generated token comes from the prefill's logits: predicted_ms covers
      // predicted_n - 1 single-token decode steps.
      decode_tok_s: ((tm.predicted_n - 1) / tm.predicted_ms) * 1000,
      n_prompt: tm.prompt_n,
      n_gen: tm.predicted_n,
      total_ms: t3 - t2,
      multithread: w.isMultithread(),
      threads_used: w.getNumThreads(),
      hparams: meta.hparams,
      text: r.choices?.[0]?.text ?? '',
      finish_reason: r.choices?.[0]?.finish_reason ?? null,
      logprobs: r.choices?.[0]?.logprobs ?? null,
      timings: tm,
      version: Wllama.getLibllamaVersion?.() ?? null,
    };
  } finally {
    await w.exit().catch(() => {});
  }
}
