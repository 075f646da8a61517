// greenformer measured through its public JS API, in the browser (imported by
// bench/page.mjs) and under Node (bench/node-runner.mjs), the same code for both.
//
// Uses the public API (web/index.d.ts):
//   const { loadModel } = await import('/web/index.js')      // browser
//   const { loadModel } = await import('../web/index.js')    // Node (relative to bench/)
//   model = await loadModel(source, { threads, contextLength: 512 })
//   model.tokenize(text) -> ids (BOS first, as llama.cpp)
//   gen = model.generate(ids, { maxTokens: 128, temperature: 0, ignoreEos: true }); for await (...) ; gen.stats
//   model.dispose()
// Metrics, defined as for wllama (llama.cpp's own counters):
//   load_ms        source -> ready model (fetch or file read included)
//   prefill_tok_s  n_prompt / prompt evaluation time (stats.prefillMs: one batched pass
//                  over the 128-token prompt, last-position logits, i.e. forward(ids,
//                  { logits: 'last' }) plus sampler setup)
//   decode_tok_s   (n_gen - 1) / stats.decodeMs: the first token is sampled from the
//                  prefill's logits, each later one costs one single-token decode step
// `threads` is passed along; the API reports what it used in info().threads.

const isNode = typeof window === 'undefined' && typeof process !== 'undefined' && !!process.versions?.node;
const now = () => performance.now();

/** Where the API module is, for this environment. */
export function apiUrl() {
  return isNode ? new URL('../../web/index.js', import.meta.url).href : new URL('/web/index.js', location.href).href;
}

/** Whether web/index.js exists (the harness skips greenformer when it does not). */
export async function greenformerAvailable() {
  if (isNode) {
    const fs = await import('node:fs');
    return fs.existsSync(new URL(apiUrl()));
  }
  const r = await fetch(apiUrl(), { method: 'HEAD' });
  return r.ok;
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * opts: { source (URL in the browser, file path under Node), threads, prompt (text),
 *         promptIds (the reference ids: BOS + 127 tokens), nGen, nCtx, batchSize (optional) }
 */
export async function runGreenformer({ source, threads, prompt, promptIds, nGen = 128, nCtx = 512, batchSize }) {
  const api = await import(apiUrl());
  const loadModel = api.loadModel ?? api.default?.loadModel;
  if (typeof loadModel !== 'function') throw new Error(`${apiUrl()} has no loadModel export`);

  const t0 = now();
  const model = await loadModel(source, { threads, contextLength: nCtx, ...(batchSize ? { batchSize } : {}) });
  const load_ms = now() - t0;
  try {
    const info = typeof model.info === 'function' ? model.info() : model.info;
    // The runtime's own tokenizer should give exactly the reference ids (llama.cpp's);
    // if it does not, measure with the reference ids anyway (the same work as wllama)
    // and say so in the results.
    let ids = Array.from(await model.tokenize(prompt));
    const tokenizer_matches = sameIds(ids, promptIds);
    if (!tokenizer_matches) ids = promptIds.slice();

    const gen = model.generate(ids, { maxTokens: nGen, temperature: 0, ignoreEos: true, seed: 1 });
    let text = '';
    for await (const piece of gen) text += piece;
    const st = gen.stats;
    return {
      load_ms,
      prefill_tok_s: (st.promptTokens / st.prefillMs) * 1000,
      decode_tok_s: st.generatedTokens > 1 ? ((st.generatedTokens - 1) / st.decodeMs) * 1000 : NaN,
      n_prompt: st.promptTokens,
      n_gen: st.generatedTokens,
      tokenizer_matches,
      threads_used: info?.threads,
      kernels: info?.kernels,
      tokens: Array.from(st.tokens ?? []), // the greedy ids, compared with native llama.cpp's
      text,
      work: workPerToken(st.work),
    };
  } finally {
    await model.dispose?.();
  }
}

/**
 * What the engine counted per token (stats.work, web/work.js): weight + KV bytes read, multiply-adds and the
 * energy estimate, for the prompt (one batched pass) and for generated tokens (one decode step each).
 */
function workPerToken(work) {
  if (!work) return null;
  const pick = (p) => p && { bytes: p.weightBytes + p.kvBytesRead, weight_bytes: p.weightBytes, kv_bytes: p.kvBytesRead, macs: p.macs, joules: p.joules };
  return { prompt: pick(work.perToken.prompt), generated: pick(work.perToken.generated), memory: work.energy.memory };
}

const median = (xs) => { const v = xs.filter(Number.isFinite).sort((a, b) => a - b); return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };

/** One generate() call on ids; ttft_ms: wall time from the call to its first yielded piece. */
async function timedGenerate(model, ids, options) {
  const t0 = now();
  const gen = model.generate(ids, options);
  let ttft_ms = NaN, text = '';
  for await (const piece of gen) {
    if (Number.isNaN(ttft_ms)) ttft_ms = now() - t0;
    text += piece;
  }
  return { ttft_ms, total_ms: now() - t0, text, stats: gen.stats };
}

/**
 * --chat: a conversation in one loaded model. turns: the user messages, texts (run.mjs's
 * --chat: the first tokenized with BOS, as wllama's llama-server does) or token-id arrays
 * (the first starting with BOS); each turn's prompt is the previous prompt + the previous
 * reply (its text, or its ids) + the turn's message. warmIds: a short prompt run first.
 */
export async function chatGreenformer({ source, threads, turns, nGen = 32, nCtx = 512, warmIds }) {
  const api = await import(apiUrl());
  const t0 = now();
  const model = await api.loadModel(source, { threads, contextLength: nCtx });
  const load_ms = now() - t0;
  try {
    if (warmIds) await timedGenerate(model, warmIds, { maxTokens: 8, temperature: 0, ignoreEos: true });
    const rows = [];
    const text = typeof turns[0] === 'string';
    let prompt = text ? '' : [];
    let reply = text ? '' : [];
    for (const user of turns) {
      prompt = text ? prompt + reply + user : [...prompt, ...reply, ...user];
      const r = await timedGenerate(model, prompt, { maxTokens: nGen, temperature: 0, ignoreEos: true, seed: 1 });
      const st = r.stats;
      reply = text ? r.text : Array.from(st.tokens);
      rows.push({
        prompt_tokens: st.promptTokens, cached_tokens: st.cachedTokens, ttft_ms: r.ttft_ms,
        prefill_ms: st.prefillMs, decode_tok_s: st.generatedTokens > 1 ? ((st.generatedTokens - 1) / st.decodeMs) * 1000 : NaN,
        n_gen: st.generatedTokens, tokens: Array.from(st.tokens), text: r.text,
      });
    }
    return { load_ms, threads_used: model.info()?.threads, turns: rows };
  } finally {
    await model.dispose?.();
  }
}

/**
 * --chat: the decode cost of a JSON-schema constrained output (responseFormat) against
 * the same generation unconstrained, alternating, `reps` each; medians.
 */
export async function grammarCostGreenformer({ source, threads, promptIds, nGen = 64, nCtx = 512, reps = 3, responseFormat }) {
  const api = await import(apiUrl());
  const model = await api.loadModel(source, { threads, contextLength: nCtx });
  try {
    const base = { maxTokens: nGen, temperature: 0, ignoreEos: true, seed: 1 };
    await timedGenerate(model, promptIds, { ...base, maxTokens: 8 }); // warm-up
    await timedGenerate(model, promptIds, { ...base, maxTokens: 8, responseFormat });
    const free = [], constrained = [];
    for (let i = 0; i < reps; i++) {
      for (const [list, opts] of [[free, base], [constrained, { ...base, responseFormat }]]) {
        const r = await timedGenerate(model, promptIds, opts);
        const st = r.stats;
        list.push({ n_gen: st.generatedTokens, decode_ms: st.decodeMs, grammar_ms: st.grammarMs ?? 0, stop: st.stopReason, text: r.text,
          ms_per_token: st.generatedTokens > 1 ? st.decodeMs / (st.generatedTokens - 1) : NaN });
      }
    }
    const sum = (l) => ({
      ms_per_token: median(l.map((x) => x.ms_per_token)),
      grammar_ms_per_token: median(l.map((x) => x.grammar_ms / Math.max(1, x.n_gen - 1))),
      grammar_ms: median(l.map((x) => x.grammar_ms)), n_gen: median(l.map((x) => x.n_gen)), runs: l,
    });
    return { vocab: model.info()?.nVocab ?? null, threads_used: model.info()?.threads, free: sum(free), constrained: sum(constrained) };
  } finally {
    await model.dispose?.();
  }
}
