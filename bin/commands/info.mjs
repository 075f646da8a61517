// greenformer info MODEL: the model's description as JSON, from its header.
import { loadModel } from '../../web/index.js';
import { withModel } from './common.mjs';

export const usage = `info MODEL
        print the model's description as JSON (reads the header only)`;

export const options = {};

export async function run(modelPath) {
  await withModel(await loadModel(modelPath, { inspect: true }), async (m) => {
    const i = m.info();
    const out = {
      architecture: i.architecture, name: i.name, dim: i.dim, layers: i.nLayer, heads: i.nHead, kvHeads: i.nHeadKv,
      headDim: i.headDim, ffnDim: i.ffnDim, vocab: i.nVocab, context: i.contextTrain, ropeDim: i.ropeDim,
      ropeBase: i.ropeBase, normEps: i.normEps, tokenizer: i.tokenizer, tiedOutput: i.tiedOutput,
      tensorTypes: i.tensorTypes, weightBytes: i.weightBytes, fileBytes: i.fileBytes,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  });
}
