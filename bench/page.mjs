// Browser side of the benchmark (bench/page.html). bench/run.mjs opens this page in a
// fresh tab for every run and calls window.bench.* through Playwright.

import { runWllama } from './adapters/wllama.mjs';

async function bandwidth({ url, warmMs = 1500, trials = 7, reps = 4 }) {
  const { instance } = await WebAssembly.instantiateStreaming(fetch(url), {});
  const e = instance.exports;
  e._initialize?.();
  e.fill(1);
  const n = e.buffer_bytes();
  // Let the engine tier up the loop before timing it.
  const t0 = performance.now();
  let check = 0;
  while (performance.now() - t0 < warmMs) check ^= e.sum(n, 1);
  const gbps = [];
  for (let i = 0; i < trials; i++) {
    const t = performance.now();
    check ^= e.sum(n, reps);
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
  bandwidth,
};
