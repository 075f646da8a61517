// The files the tests read, and the measures they share. Every fixture lives
// in the repository (tests/fixtures/{models,reference,tokenizers}: small,
// irreplaceable files) or is generated from it into build/fixtures by
// tests/fixtures/make.mjs, on first use (here) or by npm's pretest scripts,
// and checked against tests/fixtures/manifest.json. Nothing outside the
// checkout is read; tests/fixtures/README.md says what each file is.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { upToDate } from '../fixtures/make.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COMMITTED = join(ROOT, 'tests/fixtures');
const CACHE = join(ROOT, 'build/fixtures');

let ready = false;
/** Generates the fixtures when they are missing or stale (in a child process: fixture() is synchronous). */
function ensure() {
  if (ready) return;
  if (!upToDate()) execFileSync(process.execPath, [join(COMMITTED, 'make.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  ready = true;
}

/**
 * The path of a fixture, e.g. fixture('models', 'tiny-llama-Q4_0.gguf'): the
 * committed file, or the generated one (generated now if need be).
 */
export function fixture(...parts) {
  const committed = join(COMMITTED, ...parts);
  if (existsSync(committed)) return committed;
  ensure();
  const generated = join(CACHE, ...parts);
  if (!existsSync(generated)) throw new Error(`no fixture ${parts.join('/')}: neither committed in tests/fixtures nor made by tests/fixtures/make.mjs`);
  return generated;
}

/** The folder holding every fixture, committed (linked) and generated: for C programs and servers. */
export function fixturesDir() {
  ensure();
  return CACHE;
}

/**
 * A file too large to commit or generate, which a test needs from outside the
 * checkout: its path when present; else the test must fail, unless
 * GF_ALLOW_MISSING_FIXTURES=1 lets it skip (returns null: the caller skips,
 * naming the file). CI never sets it. (No test needs one today.)
 */
export function externalFixture(path, what) {
  if (existsSync(path)) return path;
  if (process.env.GF_ALLOW_MISSING_FIXTURES === '1') {
    process.stderr.write(`SKIPPED: ${what} needs ${path}, which is missing (GF_ALLOW_MISSING_FIXTURES=1)\n`);
    return null;
  }
  throw new Error(`${what} needs ${path}, which is missing (GF_ALLOW_MISSING_FIXTURES=1 skips it instead)`);
}

export function readJson(...parts) {
  return JSON.parse(readFileSync(fixture(...parts), 'utf8'));
}

export function readF32(...parts) {
  const b = readFileSync(fixture(...parts));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/**
 * Row-wise log-softmax (in double precision): logits as the references of the
 * random-weight models hold them (node-llama-cpp gives llama.cpp's
 * next-token probabilities, not its logits).
 */
export function logSoftmaxRows(logits, nCols, rows = logits.length / nCols) {
  const out = new Float64Array(rows * nCols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < nCols; j++) max = Math.max(max, logits[r * nCols + j]);
    let sum = 0;
    for (let j = 0; j < nCols; j++) sum += Math.exp(logits[r * nCols + j] - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < nCols; j++) out[r * nCols + j] = logits[r * nCols + j] - lse;
  }
  return out;
}

/**
 * err(a, b) as the reference JSONs define it: max over rows of
 * max_j |a[j] - b[j]| / std(b row).
 */
export function errRows(a, b, nCols, rows) {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    const x = a.subarray(r * nCols, (r + 1) * nCols);
    const y = b.subarray(r * nCols, (r + 1) * nCols);
    let mean = 0;
    for (let j = 0; j < nCols; j++) mean += y[j];
    mean /= nCols;
    let v = 0;
    for (let j = 0; j < nCols; j++) v += (y[j] - mean) ** 2;
    const sd = Math.sqrt(v / nCols);
    let d = 0;
    for (let j = 0; j < nCols; j++) d = Math.max(d, Math.abs(x[j] - y[j]));
    worst = Math.max(worst, d / sd);
  }
  return worst;
}

export function argmax(a, from = 0, n = a.length - from) {
  let best = from;
  for (let i = from + 1; i < from + n; i++) if (a[i] > a[best]) best = i;
  return best - from;
}
