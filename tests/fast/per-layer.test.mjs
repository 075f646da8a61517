// Per-layer sizes: <arch>.feed_forward_length, attention.head_count and head_count_kv may be arrays of
// block_count INT32 or UINT32 values, one per layer, as llama.cpp reads them (its "key or array" helper; gguf-py
// writes INT32 arrays, the C++ model saver UINT32). Uniform arrays give the scalar file's logits bit for bit;
// bad arrays are errors naming the key and the value. Files whose layers differ (pruned ones) are held to
// native llama.cpp in tests/slow/prune.test.mjs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { withArrayValue } from '../helpers/patch.mjs';
import { fixture } from '../helpers/fixtures.mjs';

const BROWN = fixture('models', 'tiny-brown-f32.gguf');
const IDS = [1, 45, 300, 17, 900, 1200, 5, 64];
const OPTS = { simd: 'plain', threads: 1, kvCache: 'f32', contextLength: 64, warmup: false };

async function logits(src) {
  const m = await loadModel(src, OPTS);
  try {
    return { logits: await m.forward(IDS), info: m.info() };
  } finally {
    await m.dispose();
  }
}

test('uniform per-layer arrays (INT32 and UINT32) run exactly as the scalar file', async () => {
  const ref = await logits(BROWN);
  let src = withArrayValue(BROWN, 'llama.feed_forward_length', 5, [768, 768, 768, 768]);
  src = withArrayValue(src, 'llama.attention.head_count', 4, [8, 8, 8, 8]);
  src = withArrayValue(src, 'llama.attention.head_count_kv', 5, [4, 4, 4, 4]);
  const got = await logits(src);
  assert.deepEqual(got.info.layers.ffnDim, [768, 768, 768, 768]);
  assert.deepEqual(got.info.layers.nHead, [8, 8, 8, 8]);
  assert.deepEqual(got.info.layers.nHeadKv, [4, 4, 4, 4]);
  assert.deepEqual(got.logits, ref.logits);
});

test('bad per-layer arrays are errors naming the key and the value', async () => {
  const cases = [
    [withArrayValue(BROWN, 'llama.feed_forward_length', 4, [768, 768, 768]), /'llama\.feed_forward_length' has 3 values; it needs one per layer \(block_count 4\)/],
    [withArrayValue(BROWN, 'llama.attention.head_count', 6, [8, 8, 8, 8]), /'llama\.attention\.head_count' is an array of float32; per-layer values are INT32 or UINT32/],
    [withArrayValue(BROWN, 'llama.attention.head_count_kv', 4, [4, 4, 3, 4]), /layer 2: llama\.attention\.head_count 8 is not a multiple of head_count_kv 3/],
    [withArrayValue(BROWN, 'llama.feed_forward_length', 5, [768, -1, 768, 768]), /'llama\.feed_forward_length' = -1 for layer 1 is out of range/],
    [withArrayValue(BROWN, 'llama.feed_forward_length', 4, [768, 768, 768, 0]), /layer 3 has llama\.attention\.head_count 8, head_count_kv 4, feed_forward_length 0; greenformer runs no layer without/],
    // a layer's size that the tensors do not have: the shape error names the tensor
    [withArrayValue(BROWN, 'llama.feed_forward_length', 4, [768, 512, 768, 768]), /tensor 'blk\.1\.ffn_gate\.weight' has shape \[256, 768\], expected \[256, 512\]/],
  ];
  for (const [src, re] of cases) await assert.rejects(loadModel(src, OPTS), re);
});
