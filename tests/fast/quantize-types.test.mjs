// The quantizer writes every type llama-quantize writes for tiny-brown: with
// method 'ref' each tensor's type follows llama.cpp's rules for the mix
// (Q5_K = Q5_K_M, Q3_K = Q3_K_M, ...) and its bytes equal llama-quantize's:
// with its tensors in llama-quantize's order, the whole file's sha256 is that
// of llama.cpp's own file (tests/fixtures/manifest.json); the files load and
// their logits are as far from F32 as llama.cpp's own files are (within 2x).
// Types without a search quantizer refuse 'search'.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { quantizeModel } from '../../web/quantize.js';
import { llamaCppOrder, writeGguf } from '../fixtures/gguf-write.mjs';
import { parseGguf } from '../helpers/gguf.mjs';
import { errRows, fixture, readF32, readJson, ROOT } from '../helpers/fixtures.mjs';

const BROWN = fixture('models', 'tiny-brown-f32.gguf');
const ref = readJson('reference', 'tiny-brown-types.json');
const f32 = readF32('reference', ref.f32_logits);
const manifest = JSON.parse(readFileSync(`${ROOT}/tests/fixtures/manifest.json`, 'utf8')).files;

async function quantizeToBuffer(options) {
  const parts = [];
  const plan = await quantizeModel(BROWN, (bytes) => parts.push(bytes), options);
  return { bytes: Buffer.concat(parts), plan };
}

async function errVsF32(bytes) {
  const model = await loadModel(bytes, { kvCache: 'f32' });
  try {
    return errRows(await model.forward(ref.tokens), f32, ref.n_vocab, ref.tokens.length);
  } finally {
    await model.dispose();
  }
}

// llama.cpp's general.file_type of each
const TYPE_IDS = { Q5_K_M: 17, Q3_K_M: 12, Q2_K: 10, IQ4_XS: 30, Q5_1: 9, BF16: 32 };
const LLAMA = { Q5_K: 'Q5_K_M', Q3_K: 'Q3_K_M', Q2_K: 'Q2_K', IQ4_XS: 'IQ4_XS', Q5_1: 'Q5_1', BF16: 'BF16' };

for (const [type, variant] of Object.entries(LLAMA)) {
  test(`quantize ${type} (ref): llama.cpp's ${variant} mix, the whole file byte-identical to llama-quantize's (sha256); loads, error vs F32 sane`, async (t) => {
    const v = ref.variants[variant];
    const { bytes, plan } = await quantizeToBuffer({ type });
    assert.equal(bytes.length, plan.outputBytes);
    const ours = parseGguf(bytes);
    const want = manifest[`models/${v.model}`];
    assert.match(want.origin, /^llama\.cpp /);
    assert.equal(ours.get('general.file_type'), TYPE_IDS[variant], 'general.file_type');
    const reordered = writeGguf(ours.kv, ours.tensors.map((x) => ({ ...x, bytes: ours.data(x) })).sort(llamaCppOrder));
    assert.equal(reordered.length, want.bytes, 'file size');
    assert.equal(createHash('sha256').update(reordered).digest('hex'), want.sha256, `not llama-quantize's ${variant} file`);
    const err = await errVsF32(bytes);
    t.diagnostic(`${type}: err vs F32 ${err.toFixed(4)} (llama.cpp's ${variant}: ${v.err_vs_f32})`);
    assert.ok(err < 2 * v.err_vs_f32, `${type}: ${err} from F32, llama.cpp's file ${v.err_vs_f32}`);
  });
}

// (search and calibration of the other new types: tests/slow/quantize-search.test.mjs)
test('search: Q5_1 and BF16 have it (no worse than ref)', async (t) => {
  for (const type of ['Q5_1', 'BF16']) {
    const search = await errVsF32((await quantizeToBuffer({ type, method: 'search' })).bytes);
    const v = ref.variants[type];
    t.diagnostic(`${type} search: err vs F32 ${search.toFixed(4)} (llama.cpp ${v.err_vs_f32})`);
    assert.ok(search < 1.5 * v.err_vs_f32, `${type} search: ${search}`);
  }
});
