// greenformer logits MODEL --tokens ... --out FILE: teacher-forced logits as float32 rows.
import { localPath, refuseSameFile, writeOutput } from '../../web/files.js';
import { checkTokenIds, choiceFlag, CTX, intFlag, KV_CACHES, load, parseIds, UsageError, withModel } from './common.mjs';

export const usage = `logits MODEL --tokens 1,450,4996 --out FILE [--ctx N] [--kv-cache f32|f16|q8_0|auto]
        write float32 little-endian logits, one row of n_vocab per input token
        (row i = logits after consuming tokens[0..i]); the KV cache is f32 unless
        --kv-cache says otherwise (llama.cpp's reference logits are made with an F32 cache)`;

export const options = { tokens: { type: 'string' }, out: { type: 'string' }, ctx: { type: 'string' }, 'kv-cache': { type: 'string' } };

export async function run(modelPath, v) {
  if (v.tokens === undefined || v.out === undefined) throw new UsageError('logits needs --tokens 1,2,3 and --out FILE');
  const parsed = parseIds(v, 'tokens');
  const ctx = intFlag(v, 'ctx', CTX) ?? Math.max(parsed.length, 1);
  // a reference tool: the cache type llama.cpp's reference logits use, unless asked otherwise
  const kvCache = choiceFlag(v, 'kv-cache', KV_CACHES) ?? 'f32';
  // the output never replaces the model it is computed from
  if (localPath(modelPath) !== null) await refuseSameFile(modelPath, v.out, 'logits');
  await withModel(await load(modelPath, { contextLength: ctx, kvCache }), async (m) => {
    const ids = checkTokenIds(parsed, v, 'tokens', m.info().nVocab);
    const logits = await m.forward(ids);
    await writeOutput(v.out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    process.stderr.write(`wrote ${ids.length} rows x ${m.info().nVocab} float32 logits to ${v.out}\n`);
  });
}
