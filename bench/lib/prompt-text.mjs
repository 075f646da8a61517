// The benchmark prompt for a file whose vocabulary is not llama's SentencePiece
// (a GPT-2-style byte-level BPE such as qwen2's or llama 3's, SentencePiece with
// other settings, ...): English words, drawn deterministically, appended while the
// text tokenizes to at most nTokens, until it is exactly nTokens (the BOS or other
// special tokens the file adds included). The tokenizer is greenformer's, which
// tests/tokenizer.test.mjs holds to llama.cpp's ids on llama.cpp's own vectors;
// wllama gets the same text and reports how many tokens it made of it (the harness
// flags any other count), so a tokenizer difference cannot go unnoticed.

import { Rng } from './rng.mjs';

// Common English words: any real vocabulary has most of them as one or two tokens.
const WORDS = (
  'the of and to in is was he for it with as his on be at by had are but from or have an they which one you were ' +
  'her all she there would their we him been has when who will more no if out so said what up its about into than ' +
  'them can only other new some could time these two may then do first any my now such like our over man me even ' +
  'most made after also did many before must through back years where much your way well down should because each ' +
  'just those people how too little state good very make world still own see men work long get here between both ' +
  'life being under never day same another know while last might us great old year off come since against go came ' +
  'right used take three small house water light river green morning children evening letter garden window story'
).split(' ');

/**
 * { text, ids } with ids.length === nTokens, from `tokenize(text) -> Promise<number[]>`
 * (the runtime's tokenizer with the file's own special-token settings).
 */
export async function promptFromTokenizer(tokenize, nTokens, seed = 12345) {
  const rng = new Rng(seed);
  const words = [];
  let count = (await tokenize('')).length; // the special tokens the file adds (BOS)
  if (count >= nTokens) throw new Error(`the empty prompt is already ${count} tokens`);
  for (let misses = 0; count < nTokens; ) {
    const w = rng.pick(WORDS);
    const n = (await tokenize([...words, w].join(' '))).length;
    if (n <= nTokens && n > count) {
      words.push(w);
      count = n;
      misses = 0;
    } else if (++misses > 10 * WORDS.length) {
      throw new Error(`no word brings the prompt from ${count} to at most ${nTokens} tokens`);
    }
  }
  const text = words.join(' ');
  const ids = Array.from(await tokenize(text));
  if (ids.length !== nTokens) throw new Error(`benchmark prompt has ${ids.length} tokens, expected ${nTokens}`);
  return { text, ids };
}
