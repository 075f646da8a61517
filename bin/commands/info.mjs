// greenformer info MODEL: the model's description as JSON, from its header.
import { loadModel } from '../../web/index.js';
import { withModel } from './common.mjs';

export const usage = `info MODEL
        print the model's description as JSON (reads the header only): hyperparameters, the
        architecture's block choices (blocks: RoPE scaling among them) and per-layer values (perLayer: one array
        entry per layer); MODEL may be a split model's first shard (-00001-of-0000N.gguf), a URL or an hf: name`;

export const options = {};

export async function run(modelPath) {
  await withModel(await loadModel(modelPath, { inspect: true }), async (m) => {
    const i = m.info();
    const out = {
      architecture: i.architecture, name: i.name, dim: i.dim, layers: i.nLayer, heads: i.nHead, kvHeads: i.nHeadKv,
      headDim: i.headDim, ffnDim: i.ffnDim, vocab: i.nVocab, context: i.contextTrain, ropeDim: i.ropeDim,
      ropeBase: i.ropeBase, normEps: i.normEps, tokenizer: i.tokenizer, tiedOutput: i.tiedOutput,
      pooling: i.pooling, blocks: i.blocks, perLayer: i.layers,
      tensorTypes: i.tensorTypes, weightBytes: i.weightBytes, fileBytes: i.fileBytes, shards: i.shards,
    };
    process.stdout.write(compactArrays(JSON.stringify(out, tagArrays, 2)) + '\n');
  });
}

// Arrays of plain values (the per-layer arrays) on one line each: a 36-layer model's info stays readable.
const TAG = '\u0001';
function tagArrays(key, value) {
  return Array.isArray(value) && value.every((x) => x === null || typeof x !== 'object') ? TAG + JSON.stringify(value) : value;
}
function compactArrays(text) {
  return text.replace(/"\\u0001((?:[^"\\]|\\.)*)"/g, (_, inner) => JSON.parse(`"${inner}"`));
}
