// The weight types come from the core's registry (src/quant/registry.c):
// the JS lists that validate options before a core exists (web/types.js) and
// the .d.ts union are generated from it (tools/gen-types.mjs) and must be
// current: adding a type in C without regenerating fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

import { dtsWith, typesModule, TYPES_JS } from '../../tools/gen-types.mjs';
import { Core } from '../../web/core.js';
import { QUANTIZE_TYPES } from '../../web/load.js';
import { QUANT_TYPES, TENSOR_TYPES } from '../../web/quantize.js';

const sorted = (a) => [...a].sort();

test('the registry rows, and the JS and .d.ts type lists equal to its writable types', async () => {
  // the tools module's rows carry the quantizer's methods; the runtime's are the same rows without them
  const core = await Core.create({ build: 'greenformer-tools', threads: 1 });
  const rows = core.types();
  const runtime = await Core.create({ build: 'greenformer', threads: 1 });
  assert.deepEqual(runtime.types(), rows.map(({ methods, gptq, ...r }) => r));
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.deepEqual(byName.Q4_K, {
    id: 12, name: 'Q4_K', blockElements: 256, blockBytes: 144, computable: true, activation: 'q8_K', methods: ['ref', 'search'], gptq: true, writable: true,
  });
  assert.deepEqual(byName.Q5_0, {
    id: 6, name: 'Q5_0', blockElements: 32, blockBytes: 22, computable: true, activation: 'q8_0', methods: [], gptq: false, writable: false,
  });
  assert.deepEqual(byName.BF16, {
    id: 30, name: 'BF16', blockElements: 1, blockBytes: 2, computable: true, activation: 'bf16', methods: ['ref', 'search'], gptq: false, writable: true,
  });
  // every writable type has both methods; calibration adds GPTQ to all but BF16 (rounded to nearest)
  for (const r of rows.filter((x) => x.writable)) {
    assert.deepEqual(r.methods, ['ref', 'search'], r.name);
    assert.equal(r.gptq, r.name !== 'BF16', r.name);
  }
  assert.equal(byName.Q5_1.activation, 'q8_1');
  assert.equal(byName.IQ2_XS.computable, false);
  assert.equal(byName.IQ4_NL.activation, 'q8_0');
  assert.equal(byName.F16.activation, 'f16');
  const writable = rows.filter((r) => r.writable).map((r) => r.name);
  assert.deepEqual(sorted(writable), ['BF16', 'IQ4_XS', 'Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
  assert.deepEqual(sorted(QUANT_TYPES), sorted(writable), 'web/quantize.js QUANT_TYPES');
  assert.deepEqual(sorted(QUANTIZE_TYPES), sorted(writable), 'web/load.js QUANTIZE_TYPES');
  assert.deepEqual(sorted(TENSOR_TYPES), sorted([...writable, 'F16', 'F32']), 'web/quantize.js TENSOR_TYPES');
  assert.equal(readFileSync(TYPES_JS, 'utf8'), typesModule(rows), 'web/types.js is stale: run node tools/gen-types.mjs');
  const dts = readFileSync(new URL('../../web/index.d.ts', import.meta.url), 'utf8');
  assert.equal(dts, dtsWith(dts, rows), 'web/index.d.ts QuantType is stale: run node tools/gen-types.mjs');
  const union = dts.match(/export type QuantType = ([^;]+);/)[1].split('|').map((s) => s.trim().replace(/'/g, ''));
  assert.deepEqual(sorted(union), sorted(writable), 'web/index.d.ts QuantType');
});
