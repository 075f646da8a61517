// One fresh instance under Node, in its own process (so its peak RSS is its own):
// node bench/node-runner.mjs '<json options>'. options.runtime: 'greenformer' (the
// default; adapters/greenformer.mjs) or 'native' (llama.cpp through node-llama-cpp,
// adapters/native.mjs). Prints one JSON line.
import { runGreenformer } from './adapters/greenformer.mjs';

const opts = JSON.parse(process.argv[2]);
try {
  const { warmup, runtime = 'greenformer', ...run } = opts;
  const runOnce = runtime === 'native' ? (await import('./adapters/native.mjs')).runNative : runGreenformer;
  // In-process warm-up with short workloads (fresh instances), so the measured run
  // sees tiered-up code (and, natively, a loaded library) as a long-lived application would.
  if (warmup) {
    const t0 = performance.now();
    for (let i = 0; i < warmup.runs || performance.now() - t0 < warmup.minMs; i++) {
      await runOnce({ ...run, prompt: warmup.prompt, promptIds: warmup.promptIds, nGen: warmup.nGen });
      if (i >= warmup.runs + 4) break;
    }
  }
  const r = await runOnce(run);
  r.peak_mb = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  const cpu = process.cpuUsage();
  r.cpu_ms = (cpu.user + cpu.system) / 1000; // lets the harness tell its own CPU from other processes'
  process.stdout.write(JSON.stringify({ ok: true, result: r }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e?.stack || e) }) + '\n');
  process.exitCode = 1;
}
