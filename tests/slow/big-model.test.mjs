// A model above 2 GiB loads and runs: wasm32 addresses 4 GiB (the build
// links -sMAXIMUM_MEMORY=4GB), the weights arena is allocated in parts
// (one malloc block cannot exceed 2 GiB), and pointers above 2^31 reach JS
// unsigned. Slow (it copies 3.4 GB into wasm memory), so it is a file of
// its own; it needs about 4 GB of free RAM and skips itself otherwise.
// The file is sparse: its weights are zeros, which cost no disk, and give
// zero (finite) logits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { writeLlama } from '../helpers/fake-llama.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'greenformer-big-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const GB = 1e9;
const enoughMemory = freemem() > 6 * GB;

test('a 3.4 GB model loads and runs a forward pass', { skip: !enoughMemory && 'needs 6 GB of free memory' }, async () => {
  const path = join(tmp, 'big-Q8_0.gguf');
  // 16 layers of dim 4096 / ffn 11008 (multi-head), Q8_0: 3.44 GB, a 3.3 GB arena in 4 parts
  const h = writeLlama(path, { dim: 4096, ffn: 11008, layers: 16, heads: 32, ctx: 128 }, 'Q8_0');
  assert.ok(h.fileBytes > 3.4 * GB && h.fileBytes < 3.5 * GB, `${h.fileBytes}`);
  let last = 0;
  const model = await loadModel(path, { threads: 1, warmup: false, onProgress: (p) => (last = p.loaded) });
  try {
    const info = model.info();
    assert.equal(last, h.fileBytes);
    assert.ok(info.weightBytes > 3.3 * GB, `${info.weightBytes}`);
    assert.ok(info.wasmMemoryBytes > 3.3 * GB && info.wasmMemoryBytes <= 4 * 1024 ** 3, `${info.wasmMemoryBytes}`);
    const logits = await model.forward([1, 260, 261], { logits: 'last' });
    assert.equal(logits.length, 320);
    assert.ok(logits.every((x) => x === 0)); // zero weights: zero logits (finite)
    const run = model.generate('ab', { maxTokens: 2, temperature: 0, ignoreEos: true });
    for await (const piece of run) assert.equal(typeof piece, 'string');
    assert.equal(run.stats.generatedTokens, 2);
  } finally {
    await model.dispose();
    rmSync(path);
  }
});
