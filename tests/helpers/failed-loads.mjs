// Child process for the leak test (run with --expose-gc, which node --test
// cannot give a test file): loads that fail in every way, many times, and
// prints the resident memory they left behind after full collections, as
// JSON. `--leak MB` keeps MB per load alive on purpose, to show that the
// test's bound catches a leak of that size.
import { readFileSync } from 'node:fs';

import { loadModel } from '../../web/index.js';

const [file, loadsArg = '40', leakArg = '--leak', leakMb = '0'] = process.argv.slice(2);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const loads = Number(loadsArg);
const leakBytes = leakArg === '--leak' ? Number(leakMb) * 1048576 : 0;
const good = readFileSync(file);
const failures = [
  () => loadModel(good.subarray(0, 6_000_000)), // truncated inside a tensor
  () => loadModel(good.subarray(0, 500_000)), // inside the header
  () => loadModel(good, { maxMemory: 1 << 20 }),
  async () => {
    const c = new AbortController();
    return loadModel(good, { signal: c.signal, onProgress: (p) => p.loaded > 4e6 && c.abort() });
  },
];
const kept = [];
async function settle() {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    globalThis.gc();
  }
  return process.memoryUsage().rss;
}
async function failOnce(i) {
  try {
    const m = await failures[i % failures.length]();
    await m.dispose();
    throw new Error(`load ${i} did not fail`);
  } catch (e) {
    if (/did not fail/.test(e.message)) throw e;
  }
  if (leakBytes) kept.push(new Uint8Array(leakBytes).fill(1));
}
// warm up: the first loads compile the module and grow the JS heaps
for (let i = 0; i < 8; i++) await failOnce(i);
const before = await settle();
for (let i = 0; i < loads; i++) await failOnce(i);
const after = await settle();
process.stdout.write(JSON.stringify({ loads, before, after, grewMb: (after - before) / 1048576, kept: kept.length }) + '\n');
