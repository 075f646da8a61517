// greenformer embed MODEL (--text T | --tokens 1,2,3) --out FILE: embeddings as float32 rows.
import { localPath, refuseSameFile, writeOutput } from '../../web/files.js';
import { checkTokenIds, load, parseIds, UsageError, withModel } from './common.mjs';

export const usage = `embed MODEL (--text TEXT ... | --tokens 1,2,3) --out FILE [--pooling mean|cls|last|none] [--no-normalize]
        write embeddings (encoder models such as bert) as float32 little-endian rows: one row per
        --text (or per token with --pooling none); default pooling is the model's own`;

export const options = {
  text: { type: 'string', multiple: true },
  tokens: { type: 'string' },
  out: { type: 'string' },
  pooling: { type: 'string' },
  'no-normalize': { type: 'boolean' },
};

export async function run(modelPath, v) {
  if ((v.text === undefined) === (v.tokens === undefined)) throw new UsageError('embed needs --text "..." (repeatable) or --tokens 1,2,3');
  if (v.out === undefined) throw new UsageError('embed needs --out FILE');
  if (v.pooling !== undefined && !['mean', 'cls', 'last', 'none'].includes(v.pooling)) {
    throw new UsageError(`--pooling must be mean, cls, last or none, got "${v.pooling}"`);
  }
  const ids = v.tokens !== undefined ? parseIds(v, 'tokens') : undefined;
  // the output never replaces the model it is computed from
  if (localPath(modelPath) !== null) await refuseSameFile(modelPath, v.out, 'embed');
  await withModel(await load(modelPath), async (m) => {
    const opts = { pooling: v.pooling, normalize: !v['no-normalize'] };
    const inputs = ids !== undefined ? [checkTokenIds(ids, v, 'tokens', m.info().nVocab)] : v.text;
    const rows = [];
    for (const input of inputs) rows.push(await m.embed(input, opts));
    const bytes = Buffer.concat(rows.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength)));
    await writeOutput(v.out, bytes);
    process.stderr.write(`wrote ${bytes.length / 4 / m.info().dim} rows x ${m.info().dim} float32 to ${v.out}\n`);
  });
}
