// Node-only helpers (see platform.js): reading the wasm builds and model
// files from disk, the core count, a full garbage collection, file output.
// Never loaded in browsers.
import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import * as files from './files.js';

export { files, fileURLToPath, open };

const require = createRequire(import.meta.url);

/** The build's glue (emcc 3.1.6's is CommonJS: dist/package.json says so) and compiled module. */
export async function loadBuild(name) {
  const url = new URL(`../dist/${name}.wasm`, import.meta.url);
  let bytes;
  try {
    bytes = await readFile(url);
  } catch (e) {
    throw new Error(`greenformer: ${fileURLToPath(url)} is missing; build it with "npm run build" (${e.code ?? e.message})`);
  }
  const factory = require(`../dist/${name}.js`);
  return { factory, module: await WebAssembly.compile(bytes) };
}

export function cores() {
  return availableParallelism?.() ?? cpus().length;
}

/** A full collection: the flag can be set at run time, and gc is then reachable from a fresh context. */
export function gcFunction() {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}
