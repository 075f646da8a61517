// greenformer tokenize MODEL --text TEXT: token ids as a JSON array.
import { loadModel } from '../../web/index.js';
import { UsageError, withModel } from './common.mjs';

export const usage = `tokenize MODEL --text TEXT [--no-bos] [--parse-special]
        print the token ids as a JSON array (vocabulary-only GGUF files work)`;

export const options = { text: { type: 'string' }, 'no-bos': { type: 'boolean' }, 'parse-special': { type: 'boolean' } };

export async function run(modelPath, v) {
  if (v.text === undefined) throw new UsageError('tokenize needs --text "..."');
  await withModel(await loadModel(modelPath, { vocabOnly: true }), async (m) => {
    const ids = await m.tokenize(v.text, { addSpecial: !v['no-bos'], parseSpecial: !!v['parse-special'] });
    process.stdout.write(JSON.stringify(ids) + '\n');
  });
}
