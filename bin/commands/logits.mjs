// greenformer logits MODEL --tokens ... --out FILE: teacher-forced logits as float32 rows.
import { writeFileSync } from 'node:fs';

import { load, number, UsageError, withModel } from './common.mjs';

export const usage = `logits MODEL --tokens 1,450,4996 --out FILE [--ctx N]
        write float32 little-endian logits, one row of n_vocab per input token
        (row i = logits after consuming tokens[0..i])`;

export const options = { tokens: { type: 'string' }, out: { type: 'string' }, ctx: { type: 'string' } };

export function parseIds(text, flag = '--tokens') {
  const ids = text.split(',').map((s) => s.trim());
  if (!ids.length || ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`${flag} expects comma-separated token ids, got "${text}"`);
  return ids.map(Number);
}

export async function run(modelPath, v) {
  if (v.tokens === undefined || v.out === undefined) throw new UsageError('logits needs --tokens 1,2,3 and --out FILE');
  const ids = parseIds(v.tokens);
  const ctx = number(v, 'ctx', { integer: true }) ?? Math.max(ids.length, 1);
  await withModel(await load(modelPath, { contextLength: ctx }), async (m) => {
    const logits = await m.forward(ids);
    writeFileSync(v.out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    process.stderr.write(`wrote ${ids.length} rows x ${m.info().nVocab} float32 logits to ${v.out}\n`);
  });
}
