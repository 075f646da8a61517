// The offline tools are a module of their own (dist/greenformer-tools.wasm):
// a package copy without it still loads and runs models (quantizing while
// loading included), and quantizeModel / pruneModel then fail with an Error
// that names the tools module and the file that is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { fixture, ROOT } from '../helpers/fixtures.mjs';

const work = mkdtempSync(join(tmpdir(), 'greenformer-no-tools-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('without dist/greenformer-tools.*: models load and run; quantizeModel and pruneModel name the missing module', () => {
  cpSync(join(ROOT, 'web'), join(work, 'web'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(work, 'package.json'));
  for (const f of readdirSync(join(ROOT, 'dist')).filter((f) => /^greenformer(-mt)?\.(js|wasm)$|^package\.json$/.test(f))) {
    cpSync(join(ROOT, 'dist', f), join(work, 'dist', f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  const script = `
    import { loadModel, quantizeModel, pruneModel } from './web/node.js';
    const out = {};
    const model = await loadModel(${JSON.stringify(fixture('models', 'tiny-brown-f32.gguf'))}, { quantize: 'Q4_K', threads: 1 });
    out.tokens = (await model.tokenize('Once upon a time')).length;
    out.build = model.info().build;
    out.text = '';
    for await (const piece of model.generate('Once upon a time', { maxTokens: 4, temperature: 0 })) out.text += piece;
    await model.dispose();
    for (const [name, run] of [['quantize', () => quantizeModel(${JSON.stringify(fixture('models', 'llamacpp-slice-f32.gguf'))}, () => {}, { type: 'Q4_0' })],
                               ['prune', () => pruneModel(${JSON.stringify(fixture('models', 'tiny-brown-f32.gguf'))}, () => {}, { ffn: 0.25 })]]) {
      try { await run(); out[name] = 'ran'; } catch (e) { out[name] = e.message; out[name + 'Error'] = e instanceof Error; }
    }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.ok(out.tokens > 0);
  assert.equal(out.build, 'greenformer');
  assert.ok(out.text.length > 0, 'generated with weights quantized while loading');
  for (const what of ['quantize', 'prune']) {
    assert.equal(out[`${what}Error`], true, `${what} rejects with an Error`);
    assert.match(out[what], new RegExp(`^${what}: cannot load the offline tools module \\(greenformer-tools\\): greenformer: .*dist/greenformer-tools\\.wasm is missing; build it with "npm run build"`));
  }
});

test('assetBase: loadModel, quantizeModel, pruneModel and ggufSummary check it alike, naming what was given', async () => {
  const { loadModel, quantizeModel, pruneModel, ggufSummary } = await import('../../web/node.js');
  const model = fixture('models', 'tiny-brown-f32.gguf');
  const cases = [
    ['loadModel', () => loadModel(model, { assetBase: 42 }), 'number'],
    ['loadModel', () => loadModel(model, { assetBase: '' }), "''"],
    ['quantize', () => quantizeModel(model, () => {}, { type: 'Q4_0', assetBase: null }), 'null'],
    ['prune', () => pruneModel(model, () => {}, { ffn: 0.5, assetBase: '' }), "''"],
    ['ggufSummary', () => ggufSummary(model, { assetBase: {} }), 'object'],
  ];
  for (const [what, run, got] of cases) {
    await assert.rejects(run, (e) => e instanceof TypeError
      && e.message === `${what}: assetBase must be a non-empty URL string or URL (the folder holding a copy of the package's dist/), got ${got}`);
  }
  // a URL is accepted (pages resolve the build's files against it; Node finds them in the package itself, so
  // whether it is used is the bundler test's job: tests/slow/bundlers.test.mjs)
  const summary = await ggufSummary(model, { assetBase: new URL('../../dist/', import.meta.url) });
  assert.deepEqual(summary.types, { F32: summary.tensors });
});
