#!/usr/bin/env node
// Builds dist/worker.mjs: the page-side worker (web/worker.js) with everything
// it imports, @huggingface/jinja included, in one ES module. Pages use it
// through the assetBase option, when the app's bundler does not bundle
// web/worker.js itself (esbuild) or the assets are self-hosted: a copy of
// dist/ is then all a site serves. Skipped when it is newer than its inputs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/worker.mjs');
const require = createRequire(import.meta.url);
const jinja = require.resolve('@huggingface/jinja');

const inputs = [
  ...readdirSync(join(root, 'web')).filter((f) => f.endsWith('.js')).map((f) => join(root, 'web', f)),
  jinja,
  fileURLToPath(import.meta.url),
];
const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
if (existsSync(out) && statSync(out).mtimeMs >= newest && !process.argv.includes('--force')) process.exit(0);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('tools/build-worker.mjs: esbuild is missing: run "npm install" first');
  process.exit(1);
}
await esbuild.build({
  entryPoints: [join(root, 'web/worker.js')],
  outfile: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
  banner: { js: '// greenformer worker: web/worker.js and its imports (with @huggingface/jinja, MIT), bundled by tools/build-worker.mjs' },
});
console.log(`tools/build-worker.mjs: wrote ${out}`);
