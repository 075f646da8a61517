// Helpers shared by the CLI commands.
import { loadModel } from '../../web/index.js';

export class UsageError extends Error {}

/** A numeric option: undefined when absent, a UsageError when malformed. */
export function number(values, name, { integer = false } = {}) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${name} expects ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return v;
}

/** Progress on stderr when it is a terminal. */
export function progressReporter(label) {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return ({ loaded, total, fraction }) => {
    const now = Date.now();
    if (now - last < 100 && fraction < 1) return;
    last = now;
    const mb = (b) => (b / 1048576).toFixed(1);
    process.stderr.write(`\rloading ${label}: ${total ? `${(fraction * 100).toFixed(0)}% ` : ''}(${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB)\x1b[K`);
    if (fraction >= 1) process.stderr.write('\n');
  };
}

/** Loads a model with progress on stderr. */
export function load(path, options) {
  return loadModel(path, { onProgress: progressReporter(path), ...options });
}

/** Runs fn(model) and disposes the model whatever happens. */
export async function withModel(model, fn) {
  try {
    return await fn(model);
  } finally {
    await model.dispose();
  }
}
