// Broken networks and hostile files: every fault gives a specific error,
// frees what the load had reserved, and the next load in the same process
// works. Memory after many failed loads stays where it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import { loadModel } from '../../web/index.js';
import { startServer } from '../helpers/server.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const FILE = fixture('models', 'tiny-llama-Q4_0.gguf');
const SIZE = readFileSync(FILE).length;

async function works() {
  const m = await loadModel(FILE);
  try {
    assert.equal((await m.forward([1, 2])).length, 2 * 32000);
  } finally {
    await m.dispose();
  }
}

test('network faults: each has its own clear error, and the next load works', async (t) => {
  const server = await startServer({
    '/ok.gguf': { file: FILE },
    '/cut-once.gguf': { file: FILE, cutAfter: 3_000_000 },
    '/cut-always.gguf': { file: FILE, cutAfter: 2_000_000, faults: 100 },
    '/no-range.gguf': { file: FILE, cutAfter: 2_000_000, ranges: false },
    '/stall-once.gguf': { file: FILE, stallAfter: 1_500_000 },
    '/stall-always.gguf': { file: FILE, stallAfter: 1_500_000, faults: 100 },
    '/short.gguf': { file: FILE, contentLength: SIZE + 1000 },
    '/short-cut.gguf': { file: FILE, contentLength: SIZE + 1000, cutAfter: 3_000_000, faults: 100 },
    '/long.gguf': { file: FILE, contentLength: SIZE - 1000 },
    '/500': (req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'),
    '/html.gguf': (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><p>Sign in to download</p>'),
  });
  try {
    const cases = [
      ['404', '/missing.gguf', {}, /HTTP 404 .*missing\.gguf/],
      ['500', '/500', {}, /HTTP 500/],
      ['an HTML page', '/html.gguf', {}, /not a GGUF file.*HTML/],
      ['a connection that keeps dropping', '/cut-always.gguf', { retries: 2 }, new RegExp(`download of .* failed at byte \\d+ of ${SIZE} after 2 retries`)],
      ['a cut connection on a server without Range', '/no-range.gguf', {}, /interrupted at byte \d+ and cannot resume: the server ignored the Range request/],
      ['a stalled stream', '/stall-always.gguf', { timeout: 300, retries: 1 }, /download stalled: no data for 0.3 s/],
      // the resume's Content-Range total (the true size) contradicts the first response's Content-Length
      ['a Content-Length larger than a cut body', '/short-cut.gguf', { retries: 1 },
        new RegExp(`size changed from ${SIZE + 1000} to ${SIZE} bytes while resuming \\(same ETag\\): refusing to splice \\(first response: ` +
          `Content-Length: ${SIZE + 1000}, now Content-Range: bytes 3000000-${SIZE - 1}/${SIZE}\\)`)],
    ];
    for (const [what, path, options, message] of cases) {
      await assert.rejects(loadModel(server.url(path), options), message, what);
      t.diagnostic(`${what}: rejected as expected`);
    }
    // recoverable faults recover: resumed with Range, every byte fetched once
    for (const path of ['/cut-once.gguf', '/stall-once.gguf']) {
      const m = await loadModel(server.url(path), { timeout: 500 });
      await m.dispose();
      assert.equal(server.sent(path), SIZE, `${path}: bytes sent`);
      assert.equal(server.requests(path), 2, `${path}: one retry`);
    }
    // a Content-Length larger than the body: harmless when every byte the model needs arrived
    const m = await loadModel(server.url('/short.gguf'));
    await m.dispose();
    // a Content-Length smaller than the file: the header says how much the model needs
    await assert.rejects(loadModel(server.url('/long.gguf')), /truncated/);
    // an abort in the middle of a download
    const controller = new AbortController();
    await assert.rejects(
      loadModel(server.url('/stall-always.gguf'), { signal: controller.signal, onProgress: (p) => p.loaded > 1e6 && setTimeout(() => controller.abort(), 50) }),
      { name: 'AbortError' },
    );
    await works();
  } finally {
    await server.close();
  }
});

// In a child process with --expose-gc (node --test gives a test file no flags, and without a real collection a
// leak hides behind garbage): 40 failed loads after a warm-up leave ~1 MB (measured 0.8-1.2 MB); a leak of 1 MB per
// load, made on purpose in a second child, leaves ~41 MB, so the 8 MB bound is known to catch it.
test('memory after 40 failed loads is the memory after none (and the bound catches a 1 MB-per-load leak)', () => {
  const run = (leakMb) => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'tests/helpers/failed-loads.mjs'), FILE, '40', '--leak', String(leakMb)], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const clean = run(0);
  assert.ok(clean.grewMb < 8, `RSS grew by ${clean.grewMb.toFixed(1)} MB over 40 failed loads`);
  const leaky = run(1);
  assert.ok(leaky.grewMb >= 8, `a 1 MB-per-load leak grew RSS by only ${leaky.grewMb.toFixed(1)} MB: the bound would miss it`);
});

test('a long generation keeps memory flat: 20k tokens in chunks, the context restarting', async (t) => {
  const model = await loadModel(FILE, { contextLength: 512, threads: 1 });
  try {
    let produced = 0;
    let wasmAfterWarmup = 0;
    let heapAfterWarmup = 0;
    let wasmEnd = 0;
    const t0 = performance.now();
    for (let chunk = 0; produced < 20_000; chunk++) {
      const gen = model.generate([1, 450, 4996], { maxTokens: 1000, temperature: 1.0, seed: chunk, ignoreEos: true });
      for await (const _ of gen);
      assert.ok(['length', 'context'].includes(gen.stats.stopReason));
      produced += gen.stats.generatedTokens;
      wasmEnd = gen.stats.wasmMemoryBytes;
      if (chunk === 1) [wasmAfterWarmup, heapAfterWarmup] = [wasmEnd, heapUsedAfterGc()];
    }
    // wasm memory is exact (any C allocation not freed per token or per
    // generation would grow it); the JS heap is measured after a collection
    const heapGrew = heapUsedAfterGc() - heapAfterWarmup;
    t.diagnostic(`${produced} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s; after warm-up: wasm memory +${wasmEnd - wasmAfterWarmup} bytes, JS heap ${(heapGrew / 1048576).toFixed(1)} MB`);
    assert.ok(wasmAfterWarmup > 0);
    assert.equal(wasmEnd, wasmAfterWarmup, 'wasm memory grew during generation');
    assert.ok(heapGrew < 4 * 1048576, `JS heap grew by ${(heapGrew / 1048576).toFixed(1)} MB`);
  } finally {
    await model.dispose();
  }
});

// Heap in use after a full collection (gc exposed at run time: node --test
// gives no per-file flags).
function heapUsedAfterGc() {
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
  return process.memoryUsage().heapUsed;
}
