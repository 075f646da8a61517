// Browser side of the benchmark (bench/page.html). bench/run.mjs opens this page in a
// fresh tab for every run and calls window.bench.* through Playwright.

import { runWllama, chatWllama } from './adapters/wllama.mjs';

// Reads a buffer of `bytes` (default 256 MiB) again and again, as decoding
// re-reads a model's weights every token.
async function bandwidth({ url, bytes = 256 * 2 ** 20, warmMs = 1500, trials = 7, minMs = 200 }) {
  if (!(bytes >= 64 && bytes <= 2 ** 31)) throw new Error(`bandwidth probe: ${bytes} bytes is outside its 64 B - 2 GiB range`);
  const env = { emscripten_notify_memory_growth() {} }; // malloc's growth hook (standalone wasm)
  const { instance } = await WebAssembly.instantiateStreaming(fetch(url), { env });
  const e = instance.exports;
  e._initialize?.();
  const n = e.reserve(bytes, 1);
  if (!n) throw new Error(`bandwidth probe: could not allocate ${bytes} bytes`);
  // Let the engine tier up the loop before timing it; then enough passes per
  // trial for ~minMs.
  const t0 = performance.now();
  let check = 0, passes = 0;
  while (performance.now() - t0 < warmMs) check ^= e.sum(1), passes++;
  const reps = Math.max(1, Math.ceil((minMs * passes) / (performance.now() - t0)));
  const gbps = [];
  for (let i = 0; i < trials; i++) {
    const t = performance.now();
    check ^= e.sum(reps);
    const dt = performance.now() - t;
    gbps.push((n * reps) / dt / 1e6);
  }
  gbps.sort((a, b) => a - b);
  return { buffer_mb: n / 2 ** 20, median_gbps: gbps[gbps.length >> 1], best_gbps: gbps[gbps.length - 1], all_gbps: gbps, check };
}

window.bench = {
  ready: true,
  info: () => ({
    crossOriginIsolated: self.crossOriginIsolated,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
  }),
  wllama: (opts) => runWllama(opts),
  greenformer: async (opts) => {
    const { runGreenformer } = await import('./adapters/greenformer.mjs');
    return runGreenformer(opts);
  },
  chatWllama: (opts) => chatWllama(opts),
  chatGreenformer: async (opts) => (await import('./adapters/greenformer.mjs')).chatGreenformer(opts),
  grammarGreenformer: async (opts) => (await import('./adapters/greenformer.mjs')).grammarCostGreenformer(opts),
  bandwidth,
};
