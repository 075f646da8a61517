// The package as its users get it: `npm pack`, the tarball installed into
// throwaway Vite, webpack and esbuild projects built in production mode with
// their default settings, and a CDN-style page that imports the package's ES
// modules from a static server with no bundler. Each is served with and
// without cross-origin isolation (COOP/COEP) and checked in headless
// Chromium and in headless Firefox (tests/helpers/browser.mjs): a model
// loads, generates, chats (the Jinja template rendered in the worker), and
// an embedding model embeds, on two threads where isolated;
// then quantizeToBlob quantizes a file in the page, which loads the tools
// module (dist/greenformer-tools.wasm) then and only then, and gives the
// bytes quantizeModel gives in Node.
// Also: the packed files are exactly what runs, and the types type-check in a
// consumer TypeScript project that installed the tarball.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createHash } from 'node:crypto';

import { startServer } from '../../tools/static-server.mjs';
import { BUILDS } from '../../web/assets.js';
import { quantizeModel } from '../../web/quantize.js';
import { launchBrowser } from '../helpers/browser.mjs';
import { fixturesDir, ROOT } from '../helpers/fixtures.mjs';

const bin = (...p) => join(ROOT, 'node_modules', ...p);
const MODEL = '/models/tiny-brown-Q8_0.gguf'; // the demo's built-in model
const EMBEDDER = '/fixtures/tiny-bert-Q8_0.gguf';
const F32 = 'llamacpp-slice-f32.gguf'; // quantized in the page, from /fixtures/

let work, tarball, project;
const ENGINES = ['chromium', 'firefox'];
const browsers = {};
const servers = [];

function run(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** What each app runs in the page: the same checks whatever bundled it. */
const APP = (options) => `import { loadModel, quantizeToBlob } from 'greenformer';

const OPTIONS = ${JSON.stringify(options)};
const TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

window.runChecks = async () => {
  const threads = globalThis.crossOriginIsolated ? 2 : 1;
  const model = await loadModel(${JSON.stringify(MODEL)}, { ...OPTIONS, threads });
  try {
    let text = '';
    for await (const piece of model.generate('Once upon a time', { maxTokens: 8, seed: 1 })) text += piece;
    const messages = [{ role: 'user', content: 'Hello there' }];
    const rendered = await model.renderChat(messages, { template: TEMPLATE });
    const chat = model.chat(messages, { template: TEMPLATE, maxTokens: 6, seed: 1 });
    let reply = '';
    for await (const piece of chat) reply += piece;
    const info = model.info();
    const embedder = await loadModel(${JSON.stringify(EMBEDDER)}, OPTIONS);
    const vector = await embedder.embed('hello world');
    await embedder.dispose();
    return {
      text, rendered, reply, chatTokens: chat.stats.promptTokens,
      build: info.build, threads: info.threads, runtime: info.runtime,
      dims: vector.length, finite: Array.from(vector).every(Number.isFinite),
    };
  } finally {
    await model.dispose();
  }
};
// the offline tools: their own module, loaded by the first quantizeModel / pruneModel
window.runQuantize = async () => {
  const blob = await quantizeToBlob('/fixtures/${F32}', { ...OPTIONS, type: 'Q4_0' });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return { bytes: blob.size, tensors: blob.plan.tensors.length, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
};
window.appReady = true;
`;

/** What quantizeModel writes in Node for the page's quantization: { bytes, sha256 }. */
async function quantizedInNode() {
  const parts = [];
  await quantizeModel(join(fixturesDir(), 'models', F32), (b) => parts.push(b), { type: 'Q4_0' });
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return { bytes: parts.reduce((n, p) => n + p.length, 0), sha256: hash.digest('hex') };
}
let expectedQuantized;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'greenformer-bundlers-'));
  // what prepack would do: build what is stale (nothing, after npm test's pretest)
  run('bash', ['build.sh'], ROOT);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT));
  tarball = join(work, packed[0].filename);
  project = join(work, 'app');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // the tarball and its one dependency, from npm's cache when it is there; the bundlers are this repository's own
  const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball];
  try {
    run('npm', [...install, '--offline'], project);
  } catch {
    run('npm', [...install, '--prefer-offline'], project);
  }
  expectedQuantized = await quantizedInNode();
  for (const engine of ENGINES) browsers[engine] = await launchBrowser(engine);
});

after(async () => {
  for (const b of Object.values(browsers)) await b.close();
  for (const s of servers) await s.close();
  if (work && !process.env.GF_KEEP_BUNDLERS) rmSync(work, { recursive: true, force: true }); // kept for a look when set
});

/** Builds the app with one bundler; returns the folder to serve. */
const BUILD = {
  vite() {
    const dir = join(project, 'vite');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src/main.js'), APP({}));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>vite app</title><script type="module" src="/src/main.js"></script>');
    run(process.execPath, [bin('vite/bin/vite.js'), 'build', '--logLevel', 'warn'], dir);
    return join(dir, 'dist');
  },
  webpack() {
    const dir = join(project, 'webpack');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src/index.js'), APP({}));
    run(process.execPath, [bin('webpack-cli/bin/cli.js'), '--mode', 'production'], dir);
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>webpack app</title><script src="main.js"></script>');
    return join(dir, 'dist');
  },
  esbuild() {
    // esbuild copies no new URL(…, import.meta.url) files: the app serves a copy of the package's dist/ and names it
    const dir = join(project, 'esbuild');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src/main.js'), APP({ assetBase: '/greenformer/' }));
    run(bin('.bin/esbuild'), ['src/main.js', '--bundle', '--minify', '--outfile=public/app.js', '--log-level=warning'], dir);
    cpSync(join(project, 'node_modules/greenformer/dist'), join(dir, 'public/greenformer'), { recursive: true });
    // the same app without assetBase, and with one that is not there: errors that say what to do and where
    writeFileSync(join(dir, 'src/nobase.js'), APP({}));
    writeFileSync(join(dir, 'src/badbase.js'), APP({ assetBase: '/nowhere/' }));
    run(bin('.bin/esbuild'), ['src/nobase.js', 'src/badbase.js', '--bundle', '--minify', '--outdir=public', '--log-level=warning'], dir);
    for (const name of ['nobase', 'badbase']) writeFileSync(join(dir, `public/${name}.html`), `<!doctype html><script src="${name}.js"></script>`);
    writeFileSync(join(dir, 'public/index.html'), '<!doctype html><title>esbuild app</title><script src="app.js"></script>');
    return join(dir, 'public');
  },
  cdn() {
    // no bundler: the page imports the package's files as a static server (or a CDN's /npm/ layout) serves them
    const app = APP({}).replace("from 'greenformer'", "from '/node_modules/greenformer/web/index.js'");
    writeFileSync(join(project, 'index.html'), `<!doctype html><title>cdn page</title><script type="module">\n${app}</script>`);
    return project;
  },
};

for (const bundler of Object.keys(BUILD)) {
  describe(bundler, () => {
    let root;
    before(() => {
      root = BUILD[bundler]();
    });
    for (const engine of ENGINES) for (const isolation of [true, false]) {
      test(`${bundler} in ${engine}: loads, generates, chats and embeds ${isolation ? 'cross-origin isolated (2 threads)' : 'without isolation (1 thread)'}; quantizes in the page`, async (t) => {
        const server = await startServer(root, { isolation, mounts: { '/models/': join(ROOT, 'demo/models'), '/fixtures/': join(fixturesDir(), 'models') } });
        servers.push(server);
        const page = await browsers[engine].context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const missing = [];
        page.on('response', (res) => res.status() >= 400 && missing.push(`${res.status()} ${new URL(res.url()).pathname}`));
        const wasm = [];
        page.on('request', (req) => new URL(req.url()).pathname.endsWith('.wasm') && wasm.push(new URL(req.url()).pathname));
        try {
          await page.goto(`${server.url}/`);
          await page.waitForFunction(() => window.appReady, null, { timeout: 30_000 });
          const r = await page.evaluate(() => window.runChecks());
          assert.equal(r.runtime, 'worker');
          assert.equal(r.threads, isolation ? 2 : 1, `threads (${r.build})`);
          assert.match(r.build, isolation ? /-mt$/ : /^greenformer(-relaxed(16)?)?$/);
          assert.ok(r.text.length > 0, 'generated text');
          assert.equal(r.rendered, '<|user|>Hello there\n<|assistant|>');
          assert.ok(r.chatTokens > 0 && r.reply.length > 0, 'chat reply');
          assert.ok(r.dims > 0 && r.finite, 'embedding');
          // loading and running models never fetches the tools module; quantizing fetches it (webpack names
          // assets by hash alone: there, a .wasm the models did not fetch)
          assert.deepEqual(wasm.filter((p) => p.includes('greenformer-tools')), [], 'the tools module is not fetched to run models');
          const before = new Set(wasm);
          const q = await page.evaluate(() => window.runQuantize());
          assert.deepEqual({ bytes: q.bytes, sha256: q.sha256 }, expectedQuantized, 'the page quantizes to the bytes Node writes');
          assert.ok(q.tensors > 0);
          const fetched = [...new Set(wasm.filter((p) => !before.has(p)))];
          t.diagnostic(`wasm fetched to run models: ${[...before].join(', ') || 'none seen'}; to quantize: ${fetched.join(', ')}`);
          assert.equal(fetched.length, 1, `quantizing fetched one more module: ${fetched.join(', ')}`);
          if (bundler !== 'webpack') assert.match(fetched[0], /greenformer-tools[^/]*\.wasm$/);
          assert.deepEqual(errors, []);
          // the one expected miss: the CDN page's worker looks for @huggingface/jinja inside the package first
          assert.deepEqual(missing.filter((m) => !m.endsWith('/favicon.ico') && !m.includes('/greenformer/node_modules/@huggingface/')), []);
        } finally {
          await page.close();
        }
      });
    }
  });
}

for (const engine of ENGINES) test(`esbuild without the copied assets, in ${engine}: loadModel fails naming the URL and the fix (assetBase)`, async () => {
  const server = await startServer(join(project, 'esbuild/public'), { mounts: { '/models/': join(ROOT, 'demo/models'), '/fixtures/': join(fixturesDir(), 'models') } });
  servers.push(server);
  const page = await browsers[engine].context.newPage();
  try {
    const failure = async (name) => {
      await page.goto(`${server.url}/${name}.html`);
      await page.waitForFunction(() => window.appReady);
      return page.evaluate(() => window.runChecks().then(() => 'loaded', (e) => e.message));
    };
    assert.match(await failure('nobase'), /cannot start its worker.*node_modules\/greenformer\/dist\/.*assetBase/);
    assert.match(await failure('badbase'), new RegExp(`${server.url}/nowhere/worker\\.mjs.*assetBase`));
    // the tools module, loaded by quantizeModel: an Error that names it and the same fix
    const quantizeFailure = () => page.evaluate(() => window.runQuantize().then(() => 'quantized', (e) => e.message));
    await page.goto(`${server.url}/nobase.html`);
    await page.waitForFunction(() => window.appReady);
    assert.match(await quantizeFailure(), /^quantize: cannot load the offline tools module \(greenformer-tools\): .*node_modules\/greenformer\/dist\/.*assetBase.*quantizeModel/);
    await page.goto(`${server.url}/badbase.html`);
    await page.waitForFunction(() => window.appReady);
    assert.match(await quantizeFailure(), new RegExp(`^quantize: cannot load the offline tools module \\(greenformer-tools\\): .*${server.url}/nowhere/greenformer-tools\\.mjs.*assetBase`));
  } finally {
    await page.close();
  }
});

test('the packed files are exactly what runs: no tests or benchmarks, every file the loader can ask for', () => {
  const listing = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT))[0].files.map((f) => f.path);
  const files = new Set(listing);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'web/index.js', 'web/node.js', 'web/index.d.ts', 'web/worker.js', 'bin/greenformer.mjs', 'dist/package.json', 'dist/worker.mjs']) {
    assert.ok(files.has(f), `${f} is packed`);
  }
  for (const build of BUILDS) {
    for (const ext of ['.js', '.mjs', '.wasm', ...(build.endsWith('-mt') ? ['.worker.js'] : [])]) assert.ok(files.has(`dist/${build}${ext}`), `dist/${build}${ext} is packed`);
  }
  // every module web/ and bin/ import is packed
  for (const f of listing.filter((p) => /\.(m?js)$/.test(p) && /^(web|bin)\//.test(p))) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    for (const [, spec] of src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = join(f, '..', spec);
      assert.ok(files.has(target), `${f} imports ${spec}: ${target} is packed`);
    }
  }
  const stray = listing.filter((p) => /^(tests|bench|src|build|tools|docs|demo|\.ci)\//.test(p) || /\.(c|h|gguf|log)$/.test(p));
  assert.deepEqual(stray, []);
  assert.deepEqual(
    listing.filter((p) => !/^(web\/[a-z.-]+\.(js|d\.ts)|bin\/.+\.mjs|dist\/.+|package\.json|README\.md|LICENSE)$/.test(p)),
    [],
  );
});

test('a consumer TypeScript project that installed the tarball type-checks (tsc --noEmit)', () => {
  const dir = join(project, 'ts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: [] }, files: ['main.ts'] }),
  );
  writeFileSync(
    join(dir, 'main.ts'),
    `import { loadModel, type Model } from 'greenformer';

export async function main(): Promise<string> {
  const model: Model = await loadModel('/models/model.gguf', { threads: 'auto', assetBase: '/greenformer/', onProgress: ({ fraction }) => console.log(fraction) });
  let text = '';
  for await (const piece of model.generate('Once upon a time', { maxTokens: 8, seed: 1 })) text += piece;
  for await (const piece of model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 8 })) text += piece;
  const v: Float32Array = await model.embed('hello');
  await model.dispose();
  return text + v.length;
}
`,
  );
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const r = spawnSync(process.execPath, [bin('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the README opens with npm install and a page example, then bundler and CDN notes', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = (s) => readme.indexOf(s);
  assert.ok(at('npm install greenformer') > 0 && at('npm install greenformer') < 2000, 'npm install greenformer near the top');
  for (const h of ['## Install', '## Use in a page', '## Bundlers (Vite, webpack, esbuild)', '## CDN']) assert.ok(at(h) > 0, h);
  assert.ok(at('## Use in a page') < at('## Demo'));
  assert.ok(existsSync(join(ROOT, 'LICENSE')));
  assert.ok(readdirSync(ROOT).includes('LICENSE'));
});
