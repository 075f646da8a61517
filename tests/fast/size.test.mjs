// Models too large for wasm32 are refused from the header alone, with their
// true size: the size planner works in 64 bits, so a 5 or 8 GB model is
// never mistaken for its size modulo 4 GiB (a small allocation, then a false
// "truncated download?" or an out-of-bounds read).
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { llamaHeader } from '../helpers/fake-llama.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'greenformer-size-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MB = 1048576;
const BIG = { dim: 4096, ffn: 11008, heads: 32 };
const cases = [
  // [label, shape, type]: file sizes 4.7, 6.5, 6.9 and 8.1 GB; modulo 4 GiB they are 0.4-2.5 GB
  ['4.7 GB Q8_0 (22 layers)', { ...BIG, layers: 22 }, 'Q8_0'],
  ['6.5 GB F16 (16 layers)', { ...BIG, layers: 16 }, 'F16'],
  ['6.9 GB Q8_0 (32 layers)', { ...BIG, layers: 32 }, 'Q8_0'],
  ['8.1 GB F16 (20 layers)', { ...BIG, layers: 20 }, 'F16'],
];

/** A stream of just these bytes, with no size: the loader sees the header and nothing else. */
function headerOnly(bytes) {
  return new ReadableStream({
    start(c) {
      c.enqueue(new Uint8Array(bytes));
      c.close();
    },
  });
}

/** The arena's size as the planner computes it: each tensor padded to 64 bytes. */
function weightMB(h) {
  const sizes = h.tensors.map((t, i) => (i + 1 < h.offsets.length ? h.offsets[i + 1] : h.dataSize) - h.offsets[i]);
  return sizes.reduce((a, b) => a + Math.ceil(b / 64) * 64, 0) / MB;
}

function refusal(h) {
  const weights = weightMB(h).toFixed(1);
  return (e) => {
    const m = /^model needs (\d+\.\d) MB of wasm memory \(weights (\d+\.\d) MB \+ KV cache and scratch for \d+ tokens of context\); wasm32 can address at most 4096 MB, so it cannot load here/.exec(e.message);
    assert.ok(m, e.message);
    assert.equal(m[2], weights, e.message);
    assert.ok(Number(m[1]) > Number(m[2]) && Number(m[1]) < Number(m[2]) + 256, e.message);
    return true;
  };
}

for (const [label, shape, type] of cases) {
  test(`a ${label} header is refused with its true size`, async () => {
    const h = llamaHeader(shape, type);
    assert.ok(h.fileBytes > 4096 * MB);
    // the header alone, size unknown
    await assert.rejects(loadModel(headerOnly(h.header), { threads: 1 }), refusal(h));
    // a file of the full size (sparse: no disk), of which only the header is read
    const path = join(tmp, `${type}-${shape.layers}.gguf`);
    const fd = openSync(path, 'w');
    writeSync(fd, h.header);
    ftruncateSync(fd, h.fileBytes);
    closeSync(fd);
    let loaded = 0;
    try {
      await assert.rejects(loadModel(path, { threads: 1, onProgress: (p) => (loaded = p.loaded) }), refusal(h));
    } finally {
      rmSync(path);
    }
    assert.ok(loaded < h.header.length + 4 * MB, `read ${loaded} bytes of a ${h.header.length}-byte header`);
  });
}

test('a model that fits wasm32 but not maxMemory names maxMemory', async () => {
  const h = llamaHeader({ ...BIG, layers: 16 }, 'Q8_0'); // 3.4 GB
  await assert.rejects(
    loadModel(headerOnly(h.header), { threads: 1, maxMemory: 3000 * MB }),
    /^Error: model needs 33\d\d\.\d MB of wasm memory \(weights 32\d\d\.\d MB .*\), more than the 3000\.0 MB allowed \(maxMemory/,
  );
});

test('a header-only model within the limits is planned, then found truncated (not refused for size)', async () => {
  const h = llamaHeader({ ...BIG, layers: 10 }, 'Q8_0'); // 2.15 GB: above 2 GiB
  const bytes = new Uint8Array(h.header); // known size: the header's
  await assert.rejects(loadModel(bytes, { threads: 1 }), /the file is \d+ bytes but its tensors end at byte 2153\d{6} \(truncated download\?\)/);
});
