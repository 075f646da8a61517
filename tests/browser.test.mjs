// The browser path in real headless Chromium: the worker runtime, threads
// under cross-origin isolation (and the fallback without), the persistent
// cache, aborts, responsiveness, and the same tokens as Node for a seed.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startServer } from '../tools/static-server.mjs';
import { loadModel } from '../web/index.js';
import { launchChromium, openDemo } from './helpers/browser.mjs';
import { ROOT, SHARED, sharedPath } from './helpers/shared.mjs';

const MODEL = '/shared/models/tiny-llama-Q8_0.gguf';
const GEN = { prompt: 'Once upon a time', maxTokens: 24, seed: 1234, temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 };

let isolated, plain, browser;

before(async () => {
  isolated = await startServer(ROOT, { mounts: { '/shared/': SHARED } });
  plain = await startServer(ROOT, { mounts: { '/shared/': SHARED }, isolation: false });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

async function nodeTokens(threads) {
  const model = await loadModel(sharedPath('models', 'tiny-llama-Q8_0.gguf'), { threads });
  try {
    const gen = model.generate(GEN.prompt, GEN);
    for await (const _ of gen);
    return gen.stats.tokens;
  } finally {
    await model.dispose();
  }
}

/** Loads MODEL in the page with options; returns info, progress events, the generated tokens. */
function loadAndGenerate(page, options) {
  return page.evaluate(
    async ({ url, options, gen }) => {
      const events = [];
      const model = await window.greenformer.loadModel(url, { ...options, onProgress: (p) => events.push(p) });
      try {
        const g = model.generate(gen.prompt, gen);
        let text = '';
        for await (const piece of g) text += piece;
        return { info: model.info(), events, tokens: g.stats.tokens, text };
      } finally {
        await model.dispose();
      }
    },
    { url: MODEL, options, gen: GEN },
  );
}

test('a model loads over HTTP in a worker, with progress, and generates the same tokens as Node', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    const r = await loadAndGenerate(page, { threads: 1, cache: false });
    assert.equal(r.info.runtime, 'worker');
    assert.ok(r.events.length >= 2, 'progress events');
    for (let i = 1; i < r.events.length; i++) assert.ok(r.events[i].loaded >= r.events[i - 1].loaded);
    assert.equal(r.events.at(-1).fraction, 1);
    assert.equal(r.events.at(-1).total, 10687456);
    assert.deepEqual(r.tokens, await nodeTokens(1));
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test('threads: the pthreads build runs under COOP/COEP and gives the same tokens; one thread without, with the reason', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    const r = await loadAndGenerate(page, { threads: 2, cache: false });
    assert.equal(r.info.build, 'greenformer-mt');
    assert.equal(r.info.threads, 2);
    assert.deepEqual(r.tokens, await nodeTokens(1));
  } finally {
    await page.close();
  }
  const plainPage = await openDemo(browser.context, plain.url);
  try {
    assert.equal(await plainPage.evaluate(() => crossOriginIsolated), false);
    const r = await loadAndGenerate(plainPage, { threads: 2, cache: false });
    assert.equal(r.info.build, 'greenformer');
    assert.equal(r.info.threads, 1);
    assert.match(r.info.threadsReason, /not cross-origin isolated/);
    assert.deepEqual(r.tokens, await nodeTokens(2));
  } finally {
    await plainPage.close();
  }
});

test('the second load of a URL comes from the persistent cache: no network bytes for the model', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    await page.evaluate((url) => window.greenformer.deleteCachedModel(new URL(url, location.href).href), MODEL);
    const before = isolated.sent(MODEL);
    const first = await loadAndGenerate(page, { threads: 1 });
    assert.equal(first.info.cache, 'stored');
    const afterFirst = isolated.sent(MODEL);
    assert.equal(afterFirst - before, 10687456, 'the first load downloads the file once');
    const listed = await page.evaluate(() => window.greenformer.listCachedModels());
    assert.ok(listed.some((m) => m.url.endsWith(MODEL) && m.complete && m.bytes === 10687456), JSON.stringify(listed));

    const second = await loadAndGenerate(page, { threads: 1 });
    assert.equal(second.info.cache, 'hit');
    assert.equal(isolated.sent(MODEL), afterFirst, 'the cached load fetched model bytes');
    assert.deepEqual(second.tokens, first.tokens);
    assert.ok(second.info.loadMs >= 0);

    assert.equal(await page.evaluate((url) => window.greenformer.deleteCachedModel(new URL(url, location.href).href), MODEL), true);
    assert.ok(!(await page.evaluate(() => window.greenformer.listCachedModels())).some((m) => m.url.endsWith(MODEL)));
  } finally {
    await page.close();
  }
});

test('a wrong sha256 rejects the load and drops the cached copy', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    const message = await page.evaluate(async (url) => {
      try {
        await window.greenformer.loadModel(url, { sha256: '0'.repeat(64), threads: 1 });
        return 'loaded';
      } catch (e) {
        return e.message;
      }
    }, MODEL);
    assert.match(message, /sha256 mismatch/);
    assert.ok(!(await page.evaluate(() => window.greenformer.listCachedModels())).some((m) => m.url.endsWith(MODEL)));
  } finally {
    await page.close();
  }
});

test('generation can be aborted, and the page keeps drawing frames while the model works', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    const r = await page.evaluate(async (url) => {
      const model = await window.greenformer.loadModel(url, { threads: 1, cache: false });
      const controller = new AbortController();
      let pieces = 0;
      let aborted = null;
      const frames0 = window.demo.frames;
      const t0 = performance.now();
      try {
        for await (const _ of model.generate('Once upon a time', { maxTokens: 100000, ignoreEos: true, signal: controller.signal, contextLength: 2048 })) {
          if (++pieces === 200) controller.abort();
        }
      } catch (e) {
        aborted = e.name;
      }
      const ms = performance.now() - t0;
      const frames = window.demo.frames - frames0;
      // still usable after the abort
      const g = model.generate('Hello', { maxTokens: 3, temperature: 0 });
      for await (const _ of g);
      await model.dispose();
      return { pieces, aborted, ms, frames, after: g.stats.generatedTokens };
    }, MODEL);
    assert.equal(r.aborted, 'AbortError');
    assert.ok(r.pieces >= 200 && r.pieces < 260, `pieces after abort: ${r.pieces}`);
    assert.equal(r.after, 3);
    // the main thread stays free: at least half the frames a 60 Hz display would show
    assert.ok(r.frames >= (r.ms / 16.7) * 0.5, `${r.frames} frames in ${r.ms.toFixed(0)} ms`);
  } finally {
    await page.close();
  }
});

test('the demo: a person loads a model, generates, sees stats (screenshot saved)', async () => {
  const page = await openDemo(browser.context, isolated.url);
  try {
    await page.fill('#url', MODEL);
    await page.click('#load');
    await page.waitForSelector('#info:not([hidden])', { timeout: 60_000 });
    await page.fill('#prompt', 'The quick brown fox');
    await page.fill('#seed', '7');
    await page.click('#generate');
    await page.waitForFunction(() => window.demo.lastGeneration?.done, null, { timeout: 60_000 });
    const text = await page.textContent('#output');
    assert.ok(text.startsWith('The quick brown fox') && text.length > 'The quick brown fox'.length);
    assert.match(await page.textContent('#stats'), /tok\/s/);
    assert.match(await page.textContent('#info'), /llama/);
    mkdirSync(join(ROOT, 'tests/artifacts'), { recursive: true });
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.screenshot({ path: join(ROOT, 'tests/artifacts/demo.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});
