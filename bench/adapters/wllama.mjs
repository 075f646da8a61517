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

/**
 * --chat: a conversation in one loaded model (bench/adapters/greenformer.mjs's
 * chatGreenformer, same turns). cache_prompt: true (llama-server's prompt cache: the slot
 * keeps its KV cache and a new prompt reuses the longest common prefix of its tokens with
 * it; timings.cache_n says how many). Prompts are text: wllama 3.8.1's createCompletion
 * takes a string (its types say `prompt: string | string[]`); a token-id array prompt, with
 * return_tokens, made its worker fail ("Invalid typed array length: 1163217991", the glue's
 * "GLUE" magic read as a length: no answer was written). Each turn's prompt is the previous
 * prompt + the previous reply's text + the user's text; the reply: `replies` (greenformer's
 * texts, so both runtimes get the same prompts) when given, else wllama's own.
 * ttft_ms: wall time from the call to the first streamed chunk.
 */
export async function chatWllama({ modelUrl, threads, turns, replies = null, nGen = 32, nCtx = 512, warmIds }) {
  const { Wllama } = await import(WLLAMA_ESM);
  const t0 = performance.now();
  const resp = await fetch(modelUrl);
  if (!resp.ok) throw new Error(`fetch ${modelUrl}: HTTP ${resp.status}`);
  const blob = await resp.blob();
  const wasmUrl = new URL(WLLAMA_WASM, location.href).href;
  const w = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: quiet });
  w.setCompat(null);
  try {
    await w.loadModel([blob], { n_ctx: nCtx, n_threads: threads, n_gpu_layers: 0, n_parallel: 1, seed: 1 });
    const load_ms = performance.now() - t0;
    const complete = async (prompt, n) => {
      const chunks = [];
      let ttft_ms = NaN;
      const c0 = performance.now();
      await w.createCompletion({
        prompt, n_predict: n, max_tokens: n, temperature: 0, top_k: 1, ignore_eos: true,
        cache_prompt: true, seed: 1, stream: true,
        onData: (chunk) => {
          if (Number.isNaN(ttft_ms)) ttft_ms = performance.now() - c0;
          chunks.push(chunk);
        },
      });
      const total_ms = performance.now() - c0;
      const timings = chunks.map((c) => c.timings).filter(Boolean).pop();
      return { ttft_ms, total_ms, timings, text: chunks.map((c) => c.choices?.[0]?.text ?? '').join(''), last: chunks[chunks.length - 1] };
    };
    if (typeof turns[0] !== 'string') throw new Error('chatWllama takes text turns (wllama 3.8.1 fails on token-id prompts)');
    if (warmIds) await complete(typeof warmIds === 'string' ? warmIds : String(warmIds), 8);
    const rows = [];
    let prompt = '';
    let reply = '';
    for (const user of turns) {
      prompt = prompt + reply + user;
      const r = await complete(prompt, nGen);
      const tm = r.timings;
      if (!tm) throw new Error(`wllama returned no timings (last chunk: ${JSON.stringify(r.last).slice(0, 400)})`);
      reply = replies ? replies[rows.length] : r.text;
      rows.push({
        prompt_tokens: tm.cache_n + tm.prompt_n, cached_tokens: tm.cache_n, ttft_ms: r.ttft_ms, prefill_ms: tm.prompt_ms,
        decode_tok_s: ((tm.predicted_n - 1) / tm.predicted_ms) * 1000, n_gen: tm.predicted_n, text: r.text,
      });
    }
    return { load_ms, threads_used: w.getNumThreads(), version: Wllama.getLibllamaVersion?.() ?? null, turns: rows };
  } finally {
    await w.exit().catch(() => {});
  }
}
