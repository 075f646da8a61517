// Every file the browser loader fetches, each named by a literal
// new URL('…', import.meta.url): the pattern Vite, webpack 5 and Parcel
// recognize, so a bundled app gets these files copied into its output with
// the URLs rewritten. Without a bundler the URLs resolve next to this
// package's web/ folder (a static server, a CDN). With the assetBase option
// they resolve in that folder instead (a copy of the package's dist/: how an
// esbuild app, which does not copy such files, serves them).
//
// Each entry is a function so that a bundle without import.meta.url (an
// IIFE bundle) fails only when it needs a file, with an error that says so.

import { assetBaseUrl } from './asset-base.js';

const FILES = {
  'greenformer': () => ({
    glue: new URL('../dist/greenformer.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer.wasm', import.meta.url),
  }),
  'greenformer-relaxed': () => ({
    glue: new URL('../dist/greenformer-relaxed.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-relaxed.wasm', import.meta.url),
  }),
  'greenformer-relaxed16': () => ({
    glue: new URL('../dist/greenformer-relaxed16.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-relaxed16.wasm', import.meta.url),
  }),
  // the offline tools (quantizeModel, pruneModel): the plain engine with the quantizer and pruner linked in,
  // fetched only when one of them runs (web/quantize.js)
  'greenformer-tools': () => ({
    glue: new URL('../dist/greenformer-tools.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-tools.wasm', import.meta.url),
  }),
  'greenformer-mt': () => ({
    glue: new URL('../dist/greenformer-mt.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-mt.wasm', import.meta.url),
    classic: new URL('../dist/greenformer-mt.js', import.meta.url),
    pthread: new URL('../dist/greenformer-mt.worker.js', import.meta.url),
  }),
  'greenformer-relaxed-mt': () => ({
    glue: new URL('../dist/greenformer-relaxed-mt.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-relaxed-mt.wasm', import.meta.url),
    classic: new URL('../dist/greenformer-relaxed-mt.js', import.meta.url),
    pthread: new URL('../dist/greenformer-relaxed-mt.worker.js', import.meta.url),
  }),
  'greenformer-relaxed16-mt': () => ({
    glue: new URL('../dist/greenformer-relaxed16-mt.mjs', import.meta.url),
    wasm: new URL('../dist/greenformer-relaxed16-mt.wasm', import.meta.url),
    classic: new URL('../dist/greenformer-relaxed16-mt.js', import.meta.url),
    pthread: new URL('../dist/greenformer-relaxed16-mt.worker.js', import.meta.url),
  }),
};

export const BUILDS = Object.keys(FILES);

/**
 * The URLs of one build's files: glue (ES module), wasm, and for threaded
 * builds classic (the glue pthread workers load) and pthread (their script).
 */
export function buildFiles(build, assetBase) {
  if (!FILES[build]) throw new Error(`greenformer: unknown build ${build}`);
  if (assetBase) {
    const base = assetBaseUrl(assetBase);
    const at = (ext) => new URL(`${build}${ext}`, base).href;
    const files = { glue: at('.mjs'), wasm: at('.wasm') };
    if (build.endsWith('-mt')) Object.assign(files, { classic: at('.js'), pthread: at('.worker.js') });
    return files;
  }
  let urls;
  try {
    urls = FILES[build]();
  } catch (e) {
    throw new Error(`greenformer: cannot locate its files (${e.message}): this bundle has no import.meta.url (an IIFE or CommonJS bundle); copy node_modules/greenformer/dist/ to your site and pass { assetBase: '/that/folder/' } to loadModel (and to quantizeModel / pruneModel / ggufSummary)`);
  }
  return Object.fromEntries(Object.entries(urls).map(([k, v]) => [k, v.href]));
}

/**
 * A URL a worker can be started from: bundlers inline small files as data:
 * URLs (Vite below 4 kB: the pthread worker script), which browsers refuse
 * as worker scripts; those become blob: URLs of the same code.
 */
export async function workerScriptUrl(url) {
  if (!url.startsWith('data:')) return url;
  const res = await fetch(url);
  return URL.createObjectURL(new Blob([await res.text()], { type: 'text/javascript' }));
}
