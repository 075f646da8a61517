// The benchmark's model shapes (bench/make-model.mjs) and the tensor types llama-quantize
// would give them (bench/lib/quant-rules.mjs): known rows of each plan, the fallbacks for
// rows that are not a multiple of 256, the metadata llama.cpp reads, and the random blocks
// of the fallback types (Q5_0, Q5_1) at the intended magnitude. No file is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expandShapes, FILL, llama3RopeFactors, metadata, SHAPES, tensorPlan } from '../../bench/make-model.mjs';
import { tensorBytes, VT } from '../../bench/lib/gguf.mjs';
import { fallback, useMoreBits } from '../../bench/lib/quant-rules.mjs';
import { fromHalf, Rng } from '../../bench/lib/rng.mjs';

const typesOf = (shape, mix) => Object.fromEntries(tensorPlan(shape, mix).map((t) => [t.name, t.type]));
const layersWith = (types, suffix, type) =>
  Object.entries(types).filter(([n, t]) => n.endsWith(suffix) && t === type).map(([n]) => Number(n.split('.')[1]));

test('bench shapes: the 110m and 1b plans are the ones bench/README.md lists (use_more_bits layers, Q6_K output)', () => {
  const a = typesOf('110m', 'Q4_K_M');
  assert.deepEqual(layersWith(a, '.attn_v.weight', 'Q6_K'), [0, 3, 6, 9, 10, 11]);
  assert.deepEqual(layersWith(a, '.ffn_down.weight', 'Q6_K'), [0, 3, 6, 9, 10, 11]);
  assert.equal(a['token_embd.weight'], 'Q4_K'); // untied: the mix's type
  assert.equal(a['output.weight'], 'Q6_K');
  assert.equal(a['blk.1.attn_v.weight'], 'Q4_K');
  assert.equal(a['blk.0.attn_norm.weight'], 'F32');
  assert.deepEqual(layersWith(typesOf('1b', 'Q5_K_M'), '.attn_v.weight', 'Q6_K'), [0, 1, 4, 7, 10, 13, 16, 19, 20, 21]);
  assert.equal(typesOf('1b', 'Q4_0')['output.weight'], 'Q6_K');
  assert.equal(typesOf('1b', 'Q8_0')['output.weight'], 'Q8_0');
  assert.equal(useMoreBits(2, 16), false);
  assert.equal(useMoreBits(4, 16), true); // (4 - 2) % 3 == 2
});

test('bench shapes: real shapes take llama-quantize\'s types, fallbacks included', () => {
  // Qwen3-0.6B: every row a multiple of 256; tied, so token_embd takes the output's Q6_K
  const q = typesOf('qwen3-0.6b', 'Q4_K_M');
  assert.equal(q['token_embd.weight'], 'Q6_K');
  assert.equal(q['output.weight'], undefined);
  assert.equal(q['blk.0.attn_v.weight'], 'Q6_K'); // use_more_bits(0, 28)
  assert.equal(q['blk.4.attn_v.weight'], 'Q4_K'); // (4 - 3) % 3 == 1
  assert.equal(q['blk.5.ffn_down.weight'], 'Q6_K'); // (5 - 3) % 3 == 2
  assert.equal(q['blk.5.attn_q_norm.weight'], 'F32');
  assert.equal(typesOf('qwen3-0.6b', 'Q8_0')['token_embd.weight'], 'Q8_0');

  // Gemma 3 270M: rows of 640 fall back (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0); the tied
  // embedding goes straight to Q8_0 (nx % qk_k != 0 in the output branch)
  const g4 = typesOf('gemma3-270m', 'Q4_K_M'), g5 = typesOf('gemma3-270m', 'Q5_K_M');
  assert.equal(g4['token_embd.weight'], 'Q8_0');
  assert.equal(g4['blk.3.attn_q.weight'], 'Q5_0');
  assert.equal(g4['blk.0.attn_v.weight'], 'Q8_0'); // Q6_K by use_more_bits, then its fallback
  assert.equal(g4['blk.3.attn_v.weight'], 'Q5_0');
  assert.equal(g4['blk.3.attn_output.weight'], 'Q4_K'); // rows of 4 x 256 = 1024
  assert.equal(g4['blk.0.ffn_down.weight'], 'Q6_K'); // rows of 2048
  assert.equal(g5['blk.3.ffn_up.weight'], 'Q5_1');
  assert.equal(g5['blk.3.attn_output.weight'], 'Q5_K');
  assert.equal(g5['blk.3.post_ffw_norm.weight'], 'F32');

  // SmolLM2-360M: rows of 960, attn_output's too (15 x 64)
  const s = typesOf('smollm2-360m', 'Q4_K_M');
  assert.equal(s['token_embd.weight'], 'Q8_0');
  assert.equal(s['blk.6.attn_output.weight'], 'Q5_0');
  assert.equal(s['blk.6.attn_v.weight'], 'Q8_0'); // (6 - 4) % 3 == 2
  assert.equal(s['blk.6.ffn_down.weight'], 'Q6_K'); // rows of 2560
  assert.equal(s['blk.7.ffn_down.weight'], 'Q4_K');

  // Llama 3.2 1B: rope_freqs.weight stays F32 (1-D: llama-quantize leaves it)
  const l = typesOf('llama3.2-1b', 'Q5_K_M');
  assert.equal(l['rope_freqs.weight'], 'F32');
  assert.equal(l['token_embd.weight'], 'Q6_K');
  assert.deepEqual(layersWith(l, '.attn_v.weight', 'Q6_K'), [0, 1, 4, 7, 10, 13, 14, 15]);
  assert.equal(l['blk.2.attn_v.weight'], 'Q5_K'); // (2 - 2) % 3 == 0

  // every quantized row is a whole number of its type's blocks
  for (const shape of expandShapes(['real'])) {
    for (const mix of SHAPES[shape].types) for (const t of tensorPlan(shape, mix)) assert.doesNotThrow(() => tensorBytes(t.ne, t.type), t.name);
  }
});

test('bench shapes: fallback() follows tensor_type_fallback and names what has none', () => {
  assert.equal(fallback('Q4_K', 640), 'Q5_0');
  assert.equal(fallback('Q5_K', 960), 'Q5_1');
  assert.equal(fallback('Q6_K', 640), 'Q8_0');
  assert.equal(fallback('IQ4_XS', 640), 'IQ4_NL');
  assert.equal(fallback('Q4_K', 1024), 'Q4_K');
  assert.throws(() => fallback('Q8_0', 48, 'blk.0.attn_q.weight'), /blk\.0\.attn_q\.weight: rows of 48 .* no fallback for Q8_0/);
  assert.throws(() => fallback('Q4_K', 48, 'x'), /x: rows of 48 fit neither Q4_K nor Q5_0/);
  assert.deepEqual(expandShapes(['110m', 'real', 'gemma3-270m']), ['110m', 'qwen3-0.6b', 'gemma3-270m', 'llama3.2-1b', 'smollm2-360m']);
  assert.throws(() => expandShapes(['qwen9']), /unknown model shape qwen9/);
});

test('bench shapes: metadata with the keys llama.cpp reads per architecture', () => {
  const kv = (shape) => new Map(metadata(shape, 'Q8_0').filter(([, type]) => type !== VT.ARR).map(([k, , v]) => [k, v]));
  const q = kv('qwen3-0.6b');
  assert.equal(q.get('general.architecture'), 'qwen3');
  assert.equal(q.get('qwen3.attention.key_length'), 128); // 16 x 128 = 2048 != dim 1024
  assert.equal(q.get('qwen3.rope.freq_base'), 1e6);
  assert.equal(q.get('qwen3.vocab_size'), 151936);
  const l = kv('llama3.2-1b');
  assert.equal(l.get('llama.rope.dimension_count'), 64);
  assert.equal(l.get('llama.attention.key_length'), undefined);
  assert.equal(l.get('llama.rope.freq_base'), 500000);
  assert.equal(l.get('general.file_type'), 7);
  // Llama 3.2's divisors: 1 for short wavelengths, 32 for long ones, interpolated between
  const f = llama3RopeFactors(500000, 64, SHAPES['llama3.2-1b'].llama3Rope);
  assert.equal(f.length, 32);
  assert.equal(f[0], 1);
  assert.equal(f[31], 32);
  assert.ok(f[16] > 1 && f[16] < 32, `interpolated: ${f[16]}`);
});

test('bench shapes: random Q5_0 and Q5_1 blocks dequantize to std ~0.02 and mean ~0', () => {
  const n = 4096;
  for (const [type, bytes] of [['Q5_0', 22], ['Q5_1', 24]]) {
    const rng = new Rng(7);
    const u32 = new Uint32Array(Math.ceil((n * bytes) / 4));
    rng.fillU32(u32);
    const buf = new Uint8Array(u32.buffer, 0, n * bytes);
    FILL[type](buf, n, rng);
    let sum = 0, sq = 0;
    for (let b = 0; b < n; b++) {
      const o = b * bytes, half = (k) => fromHalf(buf[k] | (buf[k + 1] << 8));
      const d = half(o), m = type === 'Q5_1' ? half(o + 2) : 0;
      const qh = o + (type === 'Q5_1' ? 4 : 2), qs = qh + 4;
      const hbits = buf[qh] | (buf[qh + 1] << 8) | (buf[qh + 2] << 16) | (buf[qh + 3] << 24);
      for (let j = 0; j < 32; j++) {
        const lo = j < 16 ? buf[qs + j] & 15 : buf[qs + j - 16] >> 4;
        const q = lo | (((hbits >>> j) & 1) << 4);
        const x = type === 'Q5_1' ? d * q + m : d * (q - 16);
        sum += x;
        sq += x * x;
      }
    }
    const mean = sum / (32 * n), std = Math.sqrt(sq / (32 * n) - mean * mean);
    assert.ok(Math.abs(mean) < 0.002, `${type} mean ${mean}`);
    assert.ok(std > 0.015 && std < 0.025, `${type} std ${std}`);
  }
});
