// Native llama.cpp measured through node-llama-cpp 3.21.1 (a devDependency, its
// prebuilt CPU binaries: never built here), under Node, on the same GGUF files and
// prompt ids as greenformer and wllama: the same-machine baseline of "% of native".
//
// node-llama-cpp's API (dist/**/*.d.ts):
//   llama = await getLlama({ gpu: false, build: 'never' })            once per process
//   model = await llama.loadModel({ modelPath })
//   context = await model.createContext({ contextSize: 512, batchSize: 512, sequences: 1,
//                                         threads: { ideal: n, min: n }, flashAttention: false })
//   sequence = context.getSequence()
//   out = await sequence.controlledEvaluate(items)   items: token ids; [id, { generateNext: { token: true,
//         options: { temperature: 0 } } }] samples a next token after that one: out[i].next.token
// controlledEvaluate rather than evaluate(): it evaluates exactly the tokens given and
// samples only where asked, so one call is the prompt (one batch of 128, the first token
// sampled from its last logits) and each later call one single-token decode step, timed
// apart; it does not use a token predictor and does not stop at end-of-generation tokens
// (ignore EOS, as the other runtimes are run). temperature 0 is llama.cpp's greedy sampler.
// Metrics, defined as for the other runtimes:
//   load_ms        loadModel + createContext + getSequence (the file is mmapped; getLlama,
//                  which loads the native library once per process, is init_ms)
//   prefill_tok_s  n_prompt / the prompt call's time (prompt evaluation and the first sample)
//   decode_tok_s   (n_gen - 1) / the time of the n_gen - 1 single-token calls
// Each call goes through node-llama-cpp's batch queue (dispatched on the next event-loop
// cycle): a few microseconds of JS per call, counted in the times.

const now = () => performance.now();

let llamaPromise = null;
/** The process's Llama instance (CPU only, prebuilt binary); loaded once. */
export function nativeLlama() {
  llamaPromise ??= (async () => {
    let mod;
    try {
      mod = await import('node-llama-cpp');
    } catch (e) {
      throw new Error(`node-llama-cpp is not installed (npm install: it is a devDependency): ${e.message}`);
    }
    const t0 = now();
    // maxThreads 0: no cap, so a context's `threads` is what it runs with.
    const llama = await mod.getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: mod.LlamaLogLevel.error });
    return { llama, init_ms: now() - t0, version: await packageVersion() };
  })();
  return llamaPromise;
}

async function packageVersion() {
  try {
    // its exports map does not export package.json: read it next to dist/index.js
    const fs = await import('node:fs');
    return JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.resolve('node-llama-cpp')), 'utf8')).version;
  } catch {
    return null;
  }
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * opts: { source (file path), threads, prompt (text), promptIds (the reference ids), nGen, nCtx }
 * Returns the metrics plus tokenizer_matches (its tokenizer gives promptIds; when not,
 * promptIds are run anyway, the same work as the others), tokens (the greedy ids),
 * threads_used, init_ms, and what the native build is (system_info, llama_cpp, node_llama_cpp).
 */
export async function runNative({ source, threads, prompt, promptIds, nGen = 128, nCtx = 512 }) {
  const { llama, init_ms, version } = await nativeLlama();
  const t0 = now();
  const model = await llama.loadModel({ modelPath: source });
  let context = null;
  try {
    context = await model.createContext({
      contextSize: nCtx, batchSize: Math.max(nCtx, promptIds.length), sequences: 1,
      threads: { ideal: threads, min: threads }, flashAttention: false,
    });
    const sequence = context.getSequence();
    const load_ms = now() - t0;

    // llama.cpp's own tokenization of the prompt text, with BOS as its file asks.
    const bos = model.tokens.bos;
    let ids = [...(model.tokens.shouldPrependBosToken && bos != null ? [bos] : []), ...model.tokenize(prompt)];
    const tokenizer_matches = sameIds(ids, promptIds);
    if (!tokenizer_matches) ids = promptIds.slice();

    const next = { generateNext: { token: true, options: { temperature: 0 } } };
    let t = now();
    const out = await sequence.controlledEvaluate(ids.map((id, i) => (i === ids.length - 1 ? [id, next] : id)));
    const prefillMs = now() - t;
    let tok = out[ids.length - 1]?.next?.token;
    if (tok == null) throw new Error('node-llama-cpp sampled no token after the prompt');
    const tokens = [tok];
    t = now();
    while (tokens.length < nGen) {
      const o = await sequence.controlledEvaluate([[tok, next]]);
      tok = o[0]?.next?.token;
      if (tok == null) throw new Error(`node-llama-cpp sampled no token at step ${tokens.length}`);
      tokens.push(tok);
    }
    const decodeMs = now() - t;
    return {
      load_ms,
      init_ms,
      prefill_tok_s: (ids.length / prefillMs) * 1000,
      decode_tok_s: tokens.length > 1 ? ((tokens.length - 1) / decodeMs) * 1000 : NaN,
      n_prompt: ids.length,
      n_gen: tokens.length,
      tokenizer_matches,
      threads_used: context.currentThreads,
      tokens,
      text: model.detokenize(tokens),
      system_info: llama.systemInfo,
      llama_cpp: llama.llamaCppRelease ? `${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}` : null,
      node_llama_cpp: version,
    };
  } finally {
    await context?.dispose();
    await model.dispose();
  }
}
