// Small deterministic PRNG (SFC32, public-domain algorithm by Chris Doty-Humphrey)
// plus the helpers the model writer needs. Same seed => same bytes, on every machine.

export function hashString(s, seed = 0) {
  // FNV-1a over UTF-16 code units, mixed with the seed.
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  constructor(seed) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float() { return this.u32() / 4294967296; }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo, hi) { return lo + Math.floor(this.float() * (hi - lo + 1)); }

  pick(arr) { return arr[Math.floor(this.float() * arr.length)]; }

  /** Pick with weights (array of [item, weight]). */
  weighted(pairs) {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let r = this.float() * total;
    for (const [item, w] of pairs) { r -= w; if (r < 0) return item; }
    return pairs[pairs.length - 1][0];
  }

  /** Fills a Uint32Array with random words (the hot loop of the model writer). */
  fillU32(u32) {
    let { a, b, c, d } = this;
    for (let i = 0; i < u32.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      u32[i] = t;
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
  }
}

// IEEE 754 binary16 from a JS number, round to nearest even (handles subnormals).
const f32 = new Float32Array(1);
const u32v = new Uint32Array(f32.buffer);
export function toHalf(x) {
  f32[0] = x;
  const bits = u32v[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  let h = sign | (e << 10) | m;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1))) h++;
  return h;
}

export function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
