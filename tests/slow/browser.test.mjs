// The browser path in real headless Chromium (Debian's, driven by playwright-core): the tests every engine
// shares (tests/helpers/browser-tests.mjs: the worker runtime, threads under cross-origin isolation and the
// fallback without, the persistent cache, aborts, responsiveness, the kernel tests, the same tokens and logits
// as Node, the demo), run here as they run in Firefox (tests/slow/browser-firefox.test.mjs), and what only
// Chromium can show: the renderer's memory, a storage quota set over CDP, V8's relaxed SIMD lowerings.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { maxPeak, rendererPids, resetPeak } from '../../bench/lib/procmem.mjs';
import { startServer } from '../../tools/static-server.mjs';
import { launchChromium, openDemo } from '../helpers/browser.mjs';
import { assertSimdParity, browserTests, FIXTURES, loadAndGenerate, loadedFrom, MODEL, nodeRun, nodeTokens, pageRun } from '../helpers/browser-tests.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

// Chromium's V8 runs relaxed SIMD's int8 dot product as one instruction on
// x86 with AVX-VNNI (and on ARM), and simd 'auto' takes the relaxed build
// there, the relaxed16 build on other x86 CPUs (web/core.js, relaxedDotKind).
// Where it is native, 'auto' loads greenformer-relaxed(-mt); the relaxed
// kernels equal the scalar references bit for bit in this engine (with
// AVX-VNNI the Q8_0 kernels take unsigned bytes), and whole models give
// exactly the logits and tokens of the plain build under Node.
const NATIVE_RELAXED_DOT = process.arch !== 'x64' || /^flags\s*:.*\bavx_vnni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const requested = (simd) => new RegExp(`^${simd}: requested$`);
const ctx = browserTests('chromium', {
  autoBuild: NATIVE_RELAXED_DOT ? 'greenformer-relaxed' : 'greenformer-relaxed16',
  autoReason: NATIVE_RELAXED_DOT ? /^relaxed: auto, this engine has relaxed SIMD with a native int8 dot/ : /^relaxed16: auto, this engine emulates/,
  kernelBuilds: [['wasm', 'simd128'], ['wasm-relaxed', 'simd128+relaxed'], ['wasm-relaxed16', 'simd128+relaxed16']],
  simdTitle: `relaxed SIMD: the relaxed build${NATIVE_RELAXED_DOT ? ' (what auto takes here: a native int8 dot product)' : ''} gives Node's logits and tokens (1 and 2 threads); simd: plain opts out`,
  simdConfigs: NATIVE_RELAXED_DOT
    ? [[1, undefined, 'greenformer-relaxed', /^relaxed: auto, .*native int8 dot/], [2, undefined, 'greenformer-relaxed-mt', /^relaxed: auto, .*native int8 dot/], [1, 'plain', 'greenformer', requested('plain')]]
    : [[1, 'relaxed', 'greenformer-relaxed', requested('relaxed')], [2, 'relaxed', 'greenformer-relaxed-mt', requested('relaxed')], [1, 'plain', 'greenformer', requested('plain')]],
  screenshots: 'demo', // tests/artifacts/demo.png, demo-chat.png
});

test('chromium: the demo\'s file picker takes a split model\'s shards (in any order) and loads them through the worker', async () => {
  const { splitGguf } = await import('../../bin/commands/split.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'gf-split-files-'));
  const page = await openDemo(ctx.browser.context, ctx.isolated.url);
  try {
    const shards = await splitGguf(fixture('models', 'tiny-llama-Q8_0.gguf'), join(dir, 'tiny'), { maxSize: 3 << 20 });
    await page.setInputFiles('#file', [shards[2], shards[0], shards[1]]);
    await page.waitForSelector('#info:not([hidden])', { timeout: 60_000 });
    assert.match(await page.textContent('#info'), /10\.2 MB file in 3 shards/);
    const info = await page.evaluate(() => window.demo.model.info());
    assert.deepEqual([info.shards, info.fileBytes, info.source], [3, statSync(fixture('models', 'tiny-llama-Q8_0.gguf')).size, 'tiny-00001-of-00003.gguf']);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A page's memory grows by about the model, not by the model plus the chunks it arrived in: a download and
// a cache hit each go into wasm memory through one reused buffer (web/sources.js, web/cache.js). The file is
// a 143 MB model of the bench's 110M shape (bench/make-model.mjs, ~1 s), so that chunks left to the garbage
// collector would show well above the fixed costs (the worker, the instance, the context's buffers).
test('chromium: loading in a page: the renderer peak grows by the file + 25 MB at most (download, then cache hit)', async (t) => {
  const { makeModel } = await import('../../bench/make-model.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'gf-peak-'));
  const server = await startServer(ROOT, { mounts: { '/fixtures/': FIXTURES, '/gen/': dir } });
  try {
    makeModel({ shape: '110m', type: 'Q8_0', out: join(dir, 'model.gguf') });
    const file = '/gen/model.gguf', bytes = statSync(join(dir, 'model.gguf')).size;
    const bound = bytes / 1048576 + 25; // measured +10-11 MB; with a buffer per chunk +42 MB (download), more from the cache
    for (const want of ['stored', 'hit']) {
      const page = await openDemo(ctx.browser.context, server.url);
      try {
        if (want === 'stored') await page.evaluate((url) => window.greenformer.deleteCachedModel(new URL(url, location.href).href), file);
        // the page's worker compiles the wasm on a small model first: the peak measured is the load's
        await page.evaluate(async (url) => (await window.greenformer.loadModel(url, { threads: 1, cache: false })).dispose(), MODEL);
        await new Promise((r) => setTimeout(r, 300));
        const pids = rendererPids(ctx.browser.profile);
        assert.ok(pids.length, 'no renderer process found');
        resetPeak(pids);
        const base = new Map(pids.map((p) => [p, maxPeak([p]).hwm_mb]));
        const cache = await loadedFrom(page, file);
        assert.equal(cache, want);
        const grew = Math.max(...pids.map((p) => maxPeak([p]).hwm_mb - base.get(p)));
        t.diagnostic(`${want}: renderer peak +${grew.toFixed(1)} MB for a ${(bytes / 1048576).toFixed(1)} MB file (bound ${bound.toFixed(1)})`);
        assert.ok(grew <= bound, `${want}: the renderer's peak grew by ${grew.toFixed(1)} MB, over ${bound.toFixed(1)}`);
        if (want === 'hit') await page.evaluate((url) => window.greenformer.deleteCachedModel(new URL(url, location.href).href), file);
      } finally {
        await page.close();
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chromium: over the storage quota, the model still loads, uncached, with a warning', async () => {
  const page = await openDemo(ctx.browser.context, ctx.isolated.url);
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  const cdp = await ctx.browser.context.newCDPSession(page);
  try {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: ctx.isolated.url, quotaSize: 2_000_000 });
    const url = await page.evaluate((u) => new URL(u, location.href).href, MODEL);
    await page.evaluate((u) => window.greenformer.deleteCachedModel(u), url);
    const r = await loadAndGenerate(page, { threads: 1 });
    assert.match(r.info.cache, /^off: storage quota exceeded/);
    assert.deepEqual(r.tokens, await nodeTokens(1));
    assert.ok(warnings.some((w) => /not caching .*quota/.test(w)), warnings.join('\n'));
    assert.ok(!(await page.evaluate(() => window.greenformer.listCachedModels())).some((m) => m.url === url));
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: ctx.isolated.url }).catch(() => {});
    await page.close();
  }
});

// V8 emulates the relaxed int8 dot product on x86 without AVX-VNNI, and there
// the relaxed build is slower than the plain one: V8's own switch for the
// instruction makes this machine such a CPU, and 'auto' must take the
// relaxed16 build (its 16-bit dot products). The relaxed build, asked for,
// must see it too and keep Q8_0's signed kernels (the unsigned-byte ones
// would give other tokens there). Every build gives Node's logits and tokens.
test('chromium: relaxed SIMD: where the int8 dot product is emulated (x86 without AVX-VNNI) auto takes the relaxed16 build', { skip: process.arch !== 'x64' && 'x86 only' }, async () => {
  const noVnni = await launchChromium(['--js-flags=--no-enable-avx-vnni']);
  const page = await openDemo(noVnni.context, ctx.isolated.url);
  const configs = [
    [1, undefined, 'greenformer-relaxed16', /^relaxed16: auto, .*emulates/],
    [2, undefined, 'greenformer-relaxed16-mt', /^relaxed16: auto, .*emulates/],
    [1, 'relaxed', 'greenformer-relaxed', /^relaxed: requested$/],
    [1, 'plain', 'greenformer', /^plain: requested$/],
  ];
  try {
    await assertSimdParity(page, configs, ['tiny-llama-Q4_0.gguf', 'tiny-llama-Q8_0.gguf', 'tiny-llama-Q4_K_M.gguf']);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
    await noVnni.close();
  }
});

// The relaxed builds are optional files of a deployment: without them 'auto'
// loads the plain build and info() says why; a build asked for by name that
// is missing is an error, not a silent substitute.
test('chromium: without the relaxed builds deployed, auto takes the plain build and says why; simd: relaxed16 fails with the missing file', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'gf-no-relaxed-'));
  const bare = await startServer(ROOT, { mounts: { '/fixtures/': FIXTURES, '/dist/greenformer-relaxed': empty } });
  const page = await openDemo(ctx.browser.context, bare.url);
  try {
    const file = 'tiny-llama-Q4_0.gguf';
    const r = await pageRun(page, file, { threads: 1, cache: false });
    assert.equal(r.info.build, 'greenformer');
    assert.match(r.info.simdReason, /^plain: the greenformer-relaxed(16)? build is missing$/);
    assert.deepEqual(r.tokens, (await nodeRun(file, 1)).tokens);
    const message = await page.evaluate(async (url) => {
      try {
        await window.greenformer.loadModel(url, { threads: 1, cache: false, simd: 'relaxed16' });
        return 'loaded';
      } catch (e) {
        return e.message;
      }
    }, `/fixtures/models/${file}`);
    assert.match(message, /cannot load .*\/dist\/greenformer-relaxed16\.mjs/);
  } finally {
    await page.close();
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
