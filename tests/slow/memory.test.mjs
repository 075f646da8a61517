// Streaming keeps peak memory near the model's size: `greenformer run` on the
// shared F32 model stays below Node's own baseline + 1.1 x the file + 24 MB.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { fixture, ROOT } from '../helpers/fixtures.mjs';

const PRELOAD = join(ROOT, 'tests/helpers/maxrss.cjs');

function peakKb(args) {
  const r = spawnSync(process.execPath, ['--require', PRELOAD, ...args], { encoding: 'utf8', timeout: 120_000 });
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  assert.ok(m, `no peak RSS reported (exit ${r.status}): ${r.stderr}`);
  return { kb: Number(m[1]), code: r.status, err: r.stderr };
}

// The fixed part is the API's modules (~3 MB), the wasm's code and V8's compiler memory while the first
// prompts run (~5-8 MB), and the context's buffers beside the weights (KV cache, tokenizer, scratch); one
// process's peak moves by 2-4 MB with when V8 compiles and collects, so the run's peak is the median of
// three. A second copy of the file (a load that buffered it) would exceed the bound by ~30 MB.
test('peak RSS of greenformer run on the F32 model: baseline + 1.1 x file + 24 MB (median of 3 runs)', (t) => {
  const model = fixture('models', 'tiny-llama-f32.gguf');
  const file = statSync(model).size;
  const baseline = peakKb(['-e', '']).kb * 1024;
  const runs = [0, 1, 2].map(() => {
    const run = peakKb([join(ROOT, 'bin/greenformer.mjs'), 'run', model, '-p', 'Once upon a time', '-n', '16']);
    assert.equal(run.code, 0, run.err);
    return run.kb * 1024;
  });
  const peak = runs.sort((a, b) => a - b)[1];
  const bound = baseline + 1.1 * file + 24 * 1048576;
  const mb = (b) => (b / 1048576).toFixed(1);
  t.diagnostic(`baseline ${mb(baseline)} MB, file ${mb(file)} MB, peaks ${runs.map(mb).join(' / ')} MB, bound ${mb(bound)} MB (median - baseline = ${((peak - baseline) / file).toFixed(2)} x file)`);
  assert.ok(peak <= bound, `peak ${mb(peak)} MB exceeds ${mb(bound)} MB`);
});

// dispose() returns a model's memory: loading and disposing models one after
// another, single-thread and threaded, the process's peak stays that of the
// first load (V8 alone kept every disposed threaded instance until some
// unrelated collection, +1 model per load; and then the last disposed one
// beside the next, a peak of two models).
for (const threads of [1, 2]) {
  test(`models loaded and disposed one after another (${threads} thread${threads > 1 ? 's' : ''}): the peak stays the first load's`, (t) => {
    const model = fixture('models', 'tiny-llama-f32.gguf');
    const file = statSync(model).size;
    const script = `
      const { loadModel } = await import(${JSON.stringify(join(ROOT, 'web/index.js'))});
      const peaks = [];
      for (let i = 0; i < 8; i++) {
        const m = await loadModel(${JSON.stringify(model)}, { threads: ${threads} });
        for await (const _ of m.generate('Once upon a time', { maxTokens: 4 }));
        await m.dispose();
        peaks.push(process.resourceUsage().maxRSS * 1024);
      }
      console.log(JSON.stringify(peaks));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const peaks = JSON.parse(r.stdout);
    const grew = peaks[7] - peaks[0];
    const mb = (b) => (b / 1048576).toFixed(1);
    t.diagnostic(`peak after load 1: ${mb(peaks[0])} MB, after load 8: ${mb(peaks[7])} MB (file ${mb(file)} MB)`);
    assert.ok(grew < 0.5 * file, `the peak grew by ${mb(grew)} MB over seven more loads`);
  });
}
