// The benchmark's native llama.cpp runtime (bench/adapters/native.mjs, node-llama-cpp)
// on a tiny shared model: the shape of its result, not its speed. And the machine
// description (bench/lib/cpuinfo.mjs) parsed from sample /proc/cpuinfo texts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCpuinfo, machineInfo, describeMachine } from '../../bench/lib/cpuinfo.mjs';
import { runNative } from '../../bench/adapters/native.mjs';
import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

test('bench native adapter: one short run on tiny-llama-Q4_0', async () => {
  const file = fixture('models', 'tiny-llama-Q4_0.gguf');
  const prompt = 'the morning river and the old garden';
  const gf = await loadModel(file, { vocabOnly: true });
  let promptIds;
  try {
    promptIds = Array.from(await gf.tokenize(prompt));
  } finally {
    await gf.dispose();
  }
  const r = await runNative({ source: file, threads: 1, prompt, promptIds, nGen: 6, nCtx: 128 });
  for (const k of ['load_ms', 'init_ms', 'prefill_tok_s', 'decode_tok_s']) {
    assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`);
  }
  assert.equal(r.n_prompt, promptIds.length);
  assert.equal(r.n_gen, 6);
  assert.equal(r.tokens.length, 6);
  assert.ok(r.tokens.every((t) => Number.isInteger(t) && t >= 0));
  assert.equal(r.tokenizer_matches, true, "llama.cpp's tokenizer gives greenformer's ids for this SentencePiece prompt");
  assert.equal(r.threads_used, 1);
  assert.match(r.node_llama_cpp, /^\d+\.\d+\.\d+/);
  assert.equal(typeof r.system_info, 'string');

  // Reference ids other than its tokenizer's: run as given, and said so.
  const other = [promptIds[0], ...promptIds.slice(1).reverse()];
  const r2 = await runNative({ source: file, threads: 1, prompt, promptIds: other, nGen: 2, nCtx: 128 });
  assert.equal(r2.tokenizer_matches, false);
  assert.equal(r2.n_prompt, other.length);
  assert.equal(r2.n_gen, 2);
});

const X86 = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
physical id	: 0
core id		: 0
flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512bw avx512vl avx_vnni avx512_vnni amx_tile

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
physical id	: 0
core id		: 0
flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512bw avx512vl avx_vnni avx512_vnni amx_tile
`;

const ARM = `processor	: 0
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes crc32 asimdhp asimddp i8mm bf16 sve

processor	: 1
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes crc32 asimdhp asimddp i8mm bf16 sve

CPU part	: 0xd0c
`;

test('bench cpuinfo: model, cores and SIMD features from /proc/cpuinfo text', () => {
  const x = parseCpuinfo(X86);
  assert.equal(x.cpu, 'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz');
  assert.equal(x.logical_cpus, 2);
  assert.equal(x.physical_cores, 1, 'two hyperthreads of one core');
  assert.deepEqual(x.simd, ['sse2', 'ssse3', 'sse4_1', 'sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'bmi2',
    'avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'amx_tile']);
  assert.ok(x.flags.includes('fpu'));

  const a = parseCpuinfo(ARM);
  assert.equal(a.cpu, 'CPU part 0xd0c');
  assert.equal(a.logical_cpus, 2);
  assert.equal(a.physical_cores, null);
  assert.deepEqual(a.simd, ['asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve']);

  const none = parseCpuinfo('');
  assert.equal(none.cpu, null);
  assert.deepEqual(none.simd, []);

  const m = machineInfo();
  assert.ok(m.cores >= 1 && typeof m.cpu === 'string');
  assert.match(describeMachine(m), /logical CPU/);
});
