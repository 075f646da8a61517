// A synthetic SentencePiece (llama "spm") vocabulary of 32000 tokens, generated
// deterministically, so the benchmark models are self-contained; plus a small SPM
// tokenizer (llama.cpp's algorithm: merge adjacent symbols by best score, byte
// fallback) used to build and check the fixed benchmark prompt.
//
// Layout, as in llama's own vocabulary: 0 <unk> (UNKNOWN), 1 <s> and 2 </s> (CONTROL),
// 3..258 the byte tokens <0x00>..<0xFF> (BYTE, score 0), then NORMAL pieces with
// scores -(id - 259): multi-character pieces first, single characters last.
// Word pieces start with U+2581 ('▁', SentencePiece's space) and never contain it
// elsewhere; every prefix of a word piece is itself a piece, so each word tokenizes
// to exactly one token (see benchPrompt).

import { Rng } from './rng.mjs';

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };
export const SPACE = '\u2581';
export const VOCAB_SIZE = 32000;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 0;

const ONSETS = [
  ['', 6], ['b', 3], ['c', 3], ['d', 4], ['f', 3], ['g', 2], ['h', 4], ['j', 1], ['k', 1], ['l', 4],
  ['m', 4], ['n', 4], ['p', 3], ['r', 4], ['s', 6], ['t', 7], ['v', 1], ['w', 3], ['y', 1], ['z', 0.3],
  ['br', 1], ['ch', 1.5], ['cl', 1], ['cr', 1], ['dr', 1], ['fl', 0.7], ['fr', 1], ['gr', 1], ['pl', 1],
  ['pr', 1.5], ['qu', 0.5], ['sh', 1.5], ['sl', 0.5], ['sp', 1], ['st', 2], ['str', 0.7], ['th', 4],
  ['tr', 1.5], ['wh', 1],
];
const VOWELS = [
  ['a', 8], ['e', 10], ['i', 7], ['o', 7], ['u', 3], ['ai', 1], ['ea', 1.5], ['ee', 1], ['ie', 0.7],
  ['io', 0.7], ['oo', 1], ['ou', 1.5], ['y', 0.7], ['au', 0.4], ['oi', 0.3],
];
const CODAS = [
  ['', 6], ['n', 4], ['r', 4], ['s', 4], ['t', 4], ['l', 2.5], ['m', 1.5], ['d', 2], ['nd', 1.5],
  ['ng', 1.5], ['nt', 1.5], ['rs', 0.5], ['st', 1], ['ck', 0.7], ['ll', 1], ['ss', 0.7], ['x', 0.3],
  ['rt', 0.7], ['ct', 0.5], ['th', 0.7], ['sh', 0.5], ['ve', 0.7], ['ce', 0.5], ['se', 0.5],
];
const SUFFIXES = ['ing', 'ed', 'er', 'ers', 'ly', 'tion', 'tions', 'ment', 'ness', 'able', 'ity', 'ive', 'al',
  'ous', 'ful', 'less', 'ist', 'ism', 'est', 'es', 's', 'ic', 'ical', 'ance', 'ence', 'ize', 'ated'];
const PUNCT = ['.', ',', ';', ':', '!', '?', "'", '"', '-', '(', ')', '[', ']', '/', '&', '%', '$', '#', '*',
  '+', '=', '<', '>', '_', '@', '{', '}', '|', '~', '`', '^', '\\'];
const EXTRA_CHARS = ['é', 'è', 'á', 'ü', 'ö', 'ä', 'ñ', 'ç', 'ß', 'ø', 'å', 'í', 'ó', 'ú', 'ê', 'à', '—', '–', '’', '“', '”', '…', '°', '·'];

function syllable(rng) {
  return rng.weighted(ONSETS) + rng.weighted(VOWELS) + rng.weighted(CODAS);
}

function word(rng) {
  const n = rng.weighted([[1, 4], [2, 5], [3, 2], [4, 0.5]]);
  let w = '';
  for (let i = 0; i < n; i++) w += syllable(rng);
  if (rng.float() < 0.25) w += rng.pick(SUFFIXES);
  return w;
}

/**
 * The synthetic vocabulary: { tokens, scores, types } (arrays of `size`, VOCAB_SIZE by default).
 * Deterministic for a given seed.
 */
export function buildVocab(seed = 0x5eed, size = VOCAB_SIZE) {
  const rng = new Rng(seed);
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  const nSpecial = tokens.length; // 259

  // Single characters (they come last, with the lowest scores).
  const singles = [SPACE];
  for (let c = 97; c <= 122; c++) singles.push(String.fromCharCode(c));
  for (let c = 65; c <= 90; c++) singles.push(String.fromCharCode(c));
  for (let c = 48; c <= 57; c++) singles.push(String.fromCharCode(c));
  singles.push(...PUNCT, ...EXTRA_CHARS);

  const nMulti = size - nSpecial - singles.length;
  const seen = new Set(singles);
  const multi = [];
  // Adds a piece and all its prefixes (longer than one character), shortest first.
  const addWithPrefixes = (piece) => {
    const chars = Array.from(piece);
    for (let len = 2; len <= chars.length && multi.length < nMulti; len++) {
      const p = chars.slice(0, len).join('');
      if (!seen.has(p)) { seen.add(p); multi.push(p); }
    }
  };
  const cap = (w) => w[0].toUpperCase() + w.slice(1);

  // Common fragments first (high scores), as a trained vocabulary would have them.
  for (const s of SUFFIXES) addWithPrefixes(s);
  for (const p of PUNCT.slice(0, 12)) addWithPrefixes(SPACE + p);
  for (let d = 0; d < 10; d++) addWithPrefixes(SPACE + d);
  for (const a of ['.', ',', ')', '"', "'"]) for (const b of ['.', ',', ')', '"', "'", ';']) addWithPrefixes(a + b);

  while (multi.length < nMulti) {
    const r = rng.float();
    if (r < 0.62) addWithPrefixes(SPACE + word(rng));                  // word start
    else if (r < 0.72) addWithPrefixes(SPACE + cap(word(rng)));        // capitalized word
    else if (r < 0.94) addWithPrefixes(syllable(rng) + (rng.float() < 0.4 ? syllable(rng) : '')); // word piece
    else if (r < 0.97) addWithPrefixes(SPACE + rng.int(0, 2100));       // numbers
    else addWithPrefixes(rng.pick(PUNCT) + rng.pick(PUNCT));           // punctuation runs
  }

  for (const p of multi) { tokens.push(p); types.push(TOKEN_TYPE.NORMAL); }
  for (const p of singles) { tokens.push(p); types.push(TOKEN_TYPE.NORMAL); }
  if (tokens.length !== size) throw new Error(`vocab size ${tokens.length}`);
  const scores = tokens.map((_, i) => (i < nSpecial ? 0 : -(i - nSpecial)));
  return { tokens, scores, types };
}

// ---------------------------------------------------------------------------
// SPM tokenizer, llama.cpp's algorithm (llm_tokenizer_spm): start from UTF-8
// characters, repeatedly merge the adjacent pair whose concatenation is a token with
// the best score (ties: leftmost), then emit each symbol's token or its bytes.

class Heap {
  constructor(less) { this.a = []; this.less = less; }
  get size() { return this.a.length; }
  push(x) {
    const a = this.a; a.push(x);
    let i = a.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(a[i], a[p])) break; [a[i], a[p]] = [a[p], a[i]]; i = p; }
  }
  pop() {
    const a = this.a; const top = a[0]; const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]]; i = m;
      }
    }
    return top;
  }
}

export function makeTokenizer({ tokens, scores }) {
  const index = new Map();
  tokens.forEach((t, i) => { if (!index.has(t)) index.set(t, i); });
  const enc = new TextEncoder();

  function tokenize(text, { addBos = true, addSpacePrefix = true } = {}) {
    const out = addBos ? [BOS_ID] : [];
    if (!text.length) return out;
    const s = ((addSpacePrefix ? ' ' : '') + text).replaceAll(' ', SPACE);
    const sym = Array.from(s).map((t, i, arr) => ({ t, prev: i - 1, next: i + 1 < arr.length ? i + 1 : -1 }));
    const heap = new Heap((x, y) => x.score > y.score || (x.score === y.score && x.left < y.left));
    const tryAdd = (l, r) => {
      if (l < 0 || r < 0) return;
      const t = sym[l].t + sym[r].t;
      const id = index.get(t);
      if (id === undefined) return;
      heap.push({ left: l, right: r, score: scores[id], size: t.length });
    };
    for (let i = 1; i < sym.length; i++) tryAdd(i - 1, i);
    while (heap.size) {
      const b = heap.pop();
      const L = sym[b.left], R = sym[b.right];
      if (!L.t.length || !R.t.length || L.t.length + R.t.length !== b.size) continue;
      L.t += R.t; R.t = '';
      L.next = R.next;
      if (R.next >= 0) sym[R.next].prev = b.left;
      tryAdd(L.prev, b.left);
      tryAdd(b.left, L.next);
    }
    for (let i = 0; i !== -1 && i < sym.length; i = sym[i].next) {
      const id = index.get(sym[i].t);
      if (id !== undefined) { out.push(id); continue; }
      for (const byte of enc.encode(sym[i].t)) {
        out.push(index.get(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`) ?? UNK_ID);
      }
    }
    return out;
  }
  return { tokenize, index };
}

/**
 * The fixed benchmark prompt for a vocabulary: words that are single tokens, chosen
 * deterministically, so that the text tokenizes (BOS + llama's leading space) to
 * exactly nTokens ids. Returns { text, ids }.
 */
export function benchPrompt(vocab, nTokens = 128, seed = 12345) {
  const { tokenize, index } = makeTokenizer(vocab);
  const words = [];
  const rng = new Rng(seed);
  const cands = [];
  vocab.tokens.forEach((t, i) => {
    if (vocab.types[i] !== TOKEN_TYPE.NORMAL || !t.startsWith(SPACE)) return;
    const w = t.slice(1);
    if (w.length < 2 || w.includes(SPACE) || !/^[a-z]+$/.test(w)) return;
    cands.push(w);
  });
  // A real vocabulary (--files) may have no such words, or none that tokenize to one
  // token: say so instead of looping forever.
  if (!cands.length) throw new Error(`no '${SPACE}word' pieces (lowercase a-z) in the vocabulary`);
  for (let tries = 0; words.length < nTokens - 1; tries++) {
    if (tries > 1000 * nTokens) throw new Error(`only ${words.length} of ${tries} '${SPACE}word' pieces tried tokenize to one token`);
    const w = cands[Math.floor(rng.float() * Math.min(cands.length, 8000))];
    const ids = tokenize(w, { addBos: false });
    if (ids.length === 1 && index.get(SPACE + w) === ids[0]) words.push(w);
  }
  const text = words.join(' ');
  const ids = tokenize(text);
  if (ids.length !== nTokens) throw new Error(`benchmark prompt has ${ids.length} tokens, expected ${nTokens}`);
  return { text, ids };
}
