// Paths and measures shared by the tests. ../shared is read-only reference
// material next to the project; GF_SHARED overrides its location.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared reference folder: $GF_SHARED, else ../shared next to this
 * checkout, else ../shared next to the repository it was cloned from (a
 * clean clone elsewhere, as CI makes).
 */
function findShared() {
  if (process.env.GF_SHARED) return resolve(process.env.GF_SHARED);
  const candidates = [resolve(ROOT, '../shared')];
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (isAbsolute(origin)) candidates.push(resolve(origin, '../shared'));
  } catch {
    /* not a git checkout, or no origin */
  }
  return candidates.find((d) => existsSync(d)) ?? candidates[0];
}

export const SHARED = findShared();

export function sharedPath(...parts) {
  const p = join(SHARED, ...parts);
  if (!existsSync(p)) throw new Error(`missing shared reference file ${p} (set GF_SHARED to the shared folder)`);
  return p;
}

export function readJson(...parts) {
  return JSON.parse(readFileSync(sharedPath(...parts), 'utf8'));
}

export function readF32(...parts) {
  const b = readFileSync(sharedPath(...parts));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/**
 * err(a, b) as tiny-llama.json defines it: max over rows of
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
