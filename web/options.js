// Checks for everything a caller passes in: numbers are validated here, at
// the JS boundary, before they reach C (where a 2**32+1 would wrap to 1 and a
// 1.7 would truncate to 1), and options objects may hold only known keys (a
// typo such as maxTokenz is an error naming the nearest known option, never
// silently ignored). Every message names the option and the value.

/** A value as an error message shows it: strings quoted, everything else as JS writes it. */
export function show(value) {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object`;
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/**
 * An integer option: undefined (or null) gives `fallback`; anything that is
 * not a safe integer number in [min, max] is a RangeError naming it.
 */
export function integer(value, name, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, fallback } = {}) {
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new TypeError(`${name} is required`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

/** A finite number option in [min, max]; undefined gives `fallback`. */
export function number(value, name, { min = -Number.MAX_VALUE, max = Number.MAX_VALUE, fallback } = {}) {
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new TypeError(`${name} is required`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const low = min === Number.MIN_VALUE ? '> 0' : `>= ${min}`;
    const range =
      min === -Number.MAX_VALUE && max === Number.MAX_VALUE ? 'a finite number'
        : max === Number.MAX_VALUE ? `a finite number ${low}`
          : min === Number.MIN_VALUE ? `a number in (0, ${max}]` : `a number in ${min}..${max}`;
    throw new RangeError(`${name} must be ${range}, got ${show(value)}`);
  }
  return value;
}

/** A boolean option; undefined gives `fallback`. */
export function boolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${show(value)}`);
  return value;
}

/** One of a list of strings; undefined gives `fallback`. */
export function oneOf(value, name, allowed, fallback) {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!allowed.includes(value)) throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`);
  return value;
}

function editDistance(a, b) {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The known name closest to `name` (by edit distance), or null when none is close. */
export function nearest(name, known) {
  let best = null, bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * Options must be undefined or a plain object whose keys are all known: an
 * unknown key is a TypeError naming it and the nearest known one.
 */
export function knownKeys(options, known, where) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new TypeError(`${where}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; known options: ${known.join(', ')}`);
  }
  return options;
}

/**
 * Token ids: an array or typed array of integer numbers in 0..nVocab-1
 * (strings, booleans, null, nested arrays, fractions and NaN are refused,
 * not coerced). Returns an Int32Array copy.
 */
export function tokenIds(ids, what, nVocab) {
  if (!Array.isArray(ids) && !(ArrayBuffer.isView(ids) && !(ids instanceof DataView))) {
    throw new TypeError(`${what}: ids must be an array of token ids, got ${show(ids)}`);
  }
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const n = typeof id === 'bigint' ? Number(id) : id;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= nVocab) {
      throw new RangeError(`${what}: token id at index ${i} must be an integer in 0..${nVocab - 1}, got ${show(id)}`);
    }
    out[i] = n;
  }
  return out;
}
