// greenformer's public API: the same in Node and in browsers.
//
//   const model = await loadModel('model.gguf', { onProgress });
//   for await (const piece of model.generate('Once upon a time', { seed: 1 })) write(piece);
//
// In a page, the model lives in a Web Worker (remote.js <-> worker.js) so
// loading and generation never block the page; in Node and inside workers
// it runs in the calling thread (load.js). Both give the same Model API.

import { listCachedModels, deleteCachedModel } from './cache.js';
import { resolveHub } from './hub.js';
import { checkLoadOptions, loadDirect } from './load.js';
import { Model } from './model.js';
import { loadInWorker } from './remote.js';

export { Model, listCachedModels, deleteCachedModel };
export { quantizeModel, quantizeToBlob, ggufSummary } from './quantize.js';
export { pruneModel } from './prune.js';
export { jsonSchemaToGrammar } from './json-schema.js';
export { estimateEnergy, ENERGY_CONSTANTS } from './work.js';

const inPage = typeof window !== 'undefined' && typeof document !== 'undefined' && typeof Worker !== 'undefined';

/**
 * Loads a GGUF model.
 * @param {string | URL | Response | Blob | ArrayBuffer | ArrayBufferView | ReadableStream} source
 * @param {import('./index.d.ts').LoadOptions} [options]
 * @returns {Promise<Model>}
 */
export async function loadModel(source, options = {}) {
  checkLoadOptions(options);
  // hub names become the hub's resolve URL; the option stays here (the loaders see a plain URL)
  const { hubEndpoint, ...rest } = options;
  source = resolveHub(source, hubEndpoint);
  options = rest;
  if (inPage && options.worker !== false) return loadInWorker(source, options);
  const model = await loadDirect(source, options);
  return model;
}

export const version = '0.1.0';
