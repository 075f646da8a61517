// Perplexity of tiny-brown over the held-out Brown text when one generation
// runs far past its 256-token context, by policy:
//   sinks:   contextShift 'sinks' (keep the first 4 tokens and the newer half of the rest)
//   window:  the same without sinks (keep 0: the newer half only, no BOS)
//   restart: independent 256-token chunks (each starts over with no context)
// Teacher-forced: each policy's kept tokens run through forward(), exactly what
// the generation's cache holds at every step (the step after a shift equals the
// kept tokens run cold: tests/fast/context-shift.test.mjs).
//   node tools/context-shift-quality.mjs [tokens]
import { readFileSync } from 'node:fs';

import { loadModel } from '../web/index.js';
import { fixture } from '../tests/helpers/fixtures.mjs';

const N = Number(process.argv[2] ?? 4096);
const ids = JSON.parse(readFileSync(fixture('reference', 'tiny-brown-heldout.ids.json'), 'utf8')).slice(0, N + 1);
const model = await loadModel(fixture('models', 'tiny-brown-f32.gguf'), { kvCache: 'f32' });
const { nVocab, contextLength: ctx } = model.info();

function nll(row, next) {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return max + Math.log(sum) - row[next];
}

/** Mean NLL of ids[1..] when the cache keeps `keep` sinks and shifts out half the rest when full (keep < 0: restart). */
async function run(keep) {
  let total = 0, count = 0, pos = 0;
  let window = [ids[0]];
  while (pos + 1 < ids.length) {
    // extend the window with teacher-forced tokens until the context is full, scoring each next token
    const start = window.length;
    const room = ctx - window.length;
    const take = Math.min(room, ids.length - 1 - pos);
    const seq = [...window, ...ids.slice(pos + 1, pos + 1 + take)];
    const logits = await model.forward(seq.slice(0, seq.length - 1 + 1));
    for (let i = start - 1; i < seq.length - 1; i++) {
      total += nll(logits.subarray(i * nVocab, (i + 1) * nVocab), seq[i + 1]);
      count++;
    }
    pos += take;
    window = seq;
    if (pos + 1 >= ids.length) break;
    if (keep < 0) window = [ids[pos]];
    else {
      const drop = Math.floor((ctx - keep) / 2);
      window = [...window.slice(0, keep), ...window.slice(keep + drop)];
    }
  }
  return { nll: total / count, ppl: Math.exp(total / count), tokens: count };
}

const rows = [];
for (const [name, keep] of [['sinks (4)', 4], ['window, no sinks', 0], ['restart every 256', -1]]) rows.push({ policy: name, ...(await run(keep)) });
console.log(`tiny-brown F32, ${N} held-out tokens, context ${ctx}`);
for (const r of rows) console.log(`${r.policy.padEnd(20)} mean NLL ${r.nll.toFixed(4)}  ppl ${r.ppl.toFixed(2)}  (${r.tokens} tokens)`);
await model.dispose();
