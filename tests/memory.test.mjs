// Streaming keeps peak memory near the model's size: `greenformer run` on the
// shared F32 model stays below Node's own baseline + 1.2 x the file + 16 MB.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT, sharedPath } from './helpers/shared.mjs';

const PRELOAD = join(ROOT, 'tests/helpers/maxrss.cjs');

function peakKb(args) {
  const r = spawnSync(process.execPath, ['--require', PRELOAD, ...args], { encoding: 'utf8', timeout: 120_000 });
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  assert.ok(m, `no peak RSS reported (exit ${r.status}): ${r.stderr}`);
  return { kb: Number(m[1]), code: r.status, err: r.stderr };
}

test('peak RSS of greenformer run on the F32 model: baseline + 1.2 x file + 16 MB', (t) => {
  const model = sharedPath('models', 'tiny-llama-f32.gguf');
  const file = statSync(model).size;
  const baseline = peakKb(['-e', '']).kb * 1024;
  const run = peakKb([join(ROOT, 'bin/greenformer.mjs'), 'run', model, '-p', 'Once upon a time', '-n', '16']);
  assert.equal(run.code, 0, run.err);
  const peak = run.kb * 1024;
  const bound = baseline + 1.2 * file + 16 * 1048576;
  const mb = (b) => (b / 1048576).toFixed(1);
  t.diagnostic(`baseline ${mb(baseline)} MB, file ${mb(file)} MB, peak ${mb(peak)} MB, bound ${mb(bound)} MB (peak - baseline = ${(peak - baseline) / file} x file)`);
  assert.ok(peak <= bound, `peak ${mb(peak)} MB exceeds ${mb(bound)} MB`);
});
