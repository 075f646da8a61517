// Helpers shared by the CLI commands: argument parsing, checked numeric
// flags (web/options.js does the checking; messages name the flag as the
// user typed it), loading with progress.
import { readFileSync } from 'node:fs';

import { loadModel } from '../../web/index.js';
import { integer, nearest, number, tokenIds } from '../../web/options.js';
import { formatJoules } from '../../web/work.js';

export class UsageError extends Error {}

/** A text file named by a flag (e.g. --calib), read whole; errors name the file. */
export function readTextFlag(values, name) {
  const path = values[name];
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(e.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${e.message}`);
  }
}

/**
 * Runs fn(signal) with Ctrl-C (SIGINT, SIGTERM) aborting it: the writer then
 * removes its temporary file, and an existing OUTPUT is left as it was.
 */
export async function interruptible(command, output, fn) {
  const stop = new AbortController();
  const interrupt = () => stop.abort(new Error(`${command}: interrupted; ${output} was not written`));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    return await fn(stop.signal);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

/** values[FLAGS][name] is the flag as it was typed ('-n' or '--n-predict'), for messages. */
const FLAGS = Symbol('flags');

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parses a command's arguments against its options ({ name: { type: 'string' | 'boolean', short?, multiple?,
 * flag? } }, flag being the spelling the help shows when it is not --name). A value may follow its flag
 * (--temp 0.5, -n 5, and negative numbers: --temp -1) or be attached (--temp=0.5, -n5). An unknown flag is
 * a UsageError naming the nearest known one. Returns { values, positionals, help }.
 */
export function parseCommandArgs(command, args, options) {
  const byShort = {};
  for (const [name, o] of Object.entries(options)) if (o.short) byShort[o.short] = name;
  const values = { [FLAGS]: {} };
  const positionals = [];
  const unknown = (spelled) => {
    const near = spelled.startsWith('--') || spelled.length > 2 ? nearest(spelled.replace(/^-+/, ''), Object.keys(options)) : null;
    const shorts = Object.keys(byShort).map((s) => `-${s}`);
    const hint = near ? ` (did you mean --${near}?)` : shorts.length && !spelled.startsWith('--') ? ` (${command}'s short options: ${shorts.join(', ')})` : '';
    return new UsageError(`unknown option "${spelled}" for ${command}${hint}`);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || NEGATIVE_NUMBER.test(a)) {
      positionals.push(a);
      continue;
    }
    if (a === '-h' || a === '--help') return { values, positionals, help: true };
    let spelled, name, inline;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      spelled = eq < 0 ? a : a.slice(0, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      name = Object.hasOwn(options, spelled.slice(2)) ? spelled.slice(2) : undefined;
    } else {
      // -temp is not -t emp: a long name after one dash is a typo for --temp
      if (a.length > 2 && Object.hasOwn(options, a.slice(1).split('=')[0])) throw unknown(a.split('=')[0]);
      spelled = a.slice(0, 2);
      name = byShort[a[1]];
      inline = a.length > 2 ? a.slice(2).replace(/^=/, '') : undefined;
    }
    if (name === undefined) throw unknown(spelled);
    const o = options[name];
    values[FLAGS][name] = spelled;
    if (o.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${spelled} takes no value, got "${a}"`);
      values[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`${spelled} needs a value`);
      if (next.startsWith('-') && next !== '-' && !NEGATIVE_NUMBER.test(next)) {
        throw new UsageError(`${spelled} needs a value, got the option "${next}" (if that is the value, write --${name}=${next})`);
      }
      value = next;
      i++;
    }
    if (o.multiple) (values[name] ??= []).push(value);
    else values[name] = value;
  }
  return { values, positionals, help: false };
}

function checked(fn) {
  try {
    return fn();
  } catch (e) {
    throw new UsageError(e.message);
  }
}

/** An integer flag in [min, max]: undefined when absent, a UsageError naming the flag when malformed or out of range. */
export function intFlag(values, name, { min, max, flag }) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : raw;
  return checked(() => integer(value, values[FLAGS]?.[name] ?? flag ?? `--${name}`, { min, max }));
}

/** A number flag in [min, max] (above: the value must be greater than it): undefined when absent. */
export function numFlag(values, name, { min, max, above, flag }) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const label = values[FLAGS]?.[name] ?? flag ?? `--${name}`;
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : raw;
  if (above !== undefined && typeof value === 'number' && value <= above) throw new UsageError(`${label} must be a number in (${above}, ${max}], got ${value}`);
  return checked(() => number(value, label, { min, max }));
}

/** Comma-separated token ids (each a safe integer; the vocabulary check needs the model: checkTokenIds). */
export function parseIds(values, name) {
  const text = values[name];
  const label = values[FLAGS]?.[name] ?? `--${name}`;
  const ids = text.split(',').map((s) => s.trim());
  if (!ids.length || ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`${label} expects comma-separated token ids, got "${text}"`);
  const big = ids.find((s) => !Number.isSafeInteger(Number(s)));
  if (big !== undefined) throw new Error(`${label}: token id ${big} is out of range`);
  return ids.map(Number);
}

/** Token ids against the model's vocabulary: an error naming the flag and the id. */
export function checkTokenIds(ids, values, name, nVocab) {
  return Array.from(tokenIds(ids, values[FLAGS]?.[name] ?? `--${name}`, nVocab));
}

/** A flag that takes one of a list of words: undefined when absent, a UsageError naming the flag otherwise. */
export function choiceFlag(values, name, allowed) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const label = values[FLAGS]?.[name] ?? `--${name}`;
  if (!allowed.includes(raw)) throw new UsageError(`${label} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw;
}
export const KV_CACHES = ['f32', 'f16', 'q8_0', 'auto'];

// the ranges of the shared flags
export const CTX = { min: 1, max: 1 << 20 };
export const N_PREDICT = { min: 1, max: 1 << 20, flag: '-n' };
export const THREADS = { min: 1, max: 64 };
export const SEED = { min: 0, max: 2 ** 32 - 1 };
export const TEMP = { min: 0, max: 100 };
export const TOP_P = { min: 0, max: 1, above: 0 };

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

const mb = (b) => `${(b / 1e6).toFixed(3)} MB`;
const mega = (n) => `${(n / 1e6).toFixed(3)} M`;

/** run --report: a generation's stats.work (web/work.js) as lines for stderr. */
export function workReport(work) {
  const lines = ['work counted by the engine, per token:'];
  for (const phase of ['prompt', 'generated']) {
    const p = work[phase], per = work.perToken[phase];
    const head = `  ${phase.padEnd(9)} ${p.tokens} token(s) evaluated in ${p.steps} step(s)`;
    if (!per) {
      lines.push(`${head}`);
      continue;
    }
    lines.push(
      `${head}: ${mb(per.weightBytes)} weights read, ${mb(per.kvBytesRead)} KV read, ${mb(per.kvBytesWritten)} KV written, ` +
        `${mega(per.intMacs)} int + ${mega(per.floatMacs)} float multiply-adds, ≈${formatJoules(per.joules)} (bytes from ${work.energy.memory[phase]})`,
    );
  }
  const e = work.energy;
  lines.push(
    `energy: ≈${formatJoules(e.joules)} for the whole generation, ${e.model} (last-level cache assumed: ${mb(e.constants.llcBytes)})`,
    `  constants: ${e.source}`,
    `  leaves out: ${e.leavesOut}`,
  );
  return lines.join('\n') + '\n';
}
