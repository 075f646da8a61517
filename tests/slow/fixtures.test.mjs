// The fixtures (tests/fixtures/README.md) are what they claim to be:
//  - the generator, run from scratch, writes every file with the sha256 the manifest holds (for the tiny-brown
//    types, llama.cpp's own files' sha256);
//  - native llama.cpp (node-llama-cpp, the devDependency) computes the committed references again: the same
//    tokens and greedy continuations, the same log-probabilities within 1e-5 (err: max|d| / std of the row);
//  - when a folder of llama.cpp's original files (../shared, or $GF_SHARED) happens to be beside the checkout:
//    the generated tiny-brown files equal them byte for byte, our quantizer writes llama-quantize's tiny-llama
//    files from its F32 file, and the committed slices are cut from them. CI does not need that folder: the
//    test says it is skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

import { quantizeModel } from '../../web/quantize.js';
import { llamaCppOrder, writeGguf } from '../fixtures/gguf-write.mjs';
import { errRows, fixture, readJson, ROOT } from '../helpers/fixtures.mjs';
import { parseGguf } from '../helpers/gguf.mjs';

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const manifest = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/manifest.json'), 'utf8')).files;

test('the generator, from scratch, writes every file with the manifest\'s sha256', (t) => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'tests/fixtures/make.mjs'), '--force'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  t.diagnostic(`${Object.keys(manifest).length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const [name, want] of Object.entries(manifest)) {
    assert.equal(sha256(readFileSync(fixture(...name.split('/')))), want.sha256, name);
  }
});

// On x86 CPUs with AMX (Intel Sapphire Rapids and later), node-llama-cpp's prebuilt loads ggml's
// 'sapphirerapids' CPU variant, whose AMX and AVX512-FP16 kernels take some matrices another way:
// measured 2026-12-07 on an Intel Xeon VM, tiny-qwen2 Q8_0 5.3e-3, tiny-llama320 IQ4_XS 1.0e-3 and
// tiny-bert F16 6.5e-4 from the committed references (made on an AMD EPYC, ggml's 'zen4' variant), every
// other row within 2.4e-6, every token equal. There the committed references cannot be recomputed bit for
// bit, so the rows of every type but F32 are held to 2e-2 instead of 1e-5 (F32 rows and tokens stay
// exact) and the test says so. greenformer's own parity tests compare with the committed references on
// every machine.
const nativeHasAmx = (() => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  try {
    return /\bamx_int8\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
})();

const dir = mkdtempSync(join(tmpdir(), 'gf-references-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('native llama.cpp computes the committed references again (tokens equal, log-probabilities within 1e-5; non-F32 rows 2e-2 on CPUs with AMX)', async (t) => {
  const { references } = await import('../fixtures/references.mjs');
  await references(dir, (s) => t.diagnostic(s));
  const read = (d, f) => {
    const b = readFileSync(join(d, f));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  for (const model of ['tiny-llama', 'tiny-qwen2', 'tiny-gpt2', 'tiny-phi3', 'tiny-gemma2', 'tiny-llama320']) {
    const mine = readJson('reference', `${model}.json`);
    const again = JSON.parse(readFileSync(join(dir, `${model}.json`), 'utf8'));
    assert.deepEqual(again.prompt_ids, mine.prompt_ids, `${model}: prompt ids`);
    const f32 = errRows(read(dir, again.f32_prompt_logprobs), readFixture(mine.f32_prompt_logprobs), mine.n_vocab, mine.prompt_ids.length);
    assert.ok(f32 <= 1e-5, `${model} F32 prompt rows: ${f32}`);
    for (const [variant, v] of Object.entries(mine.variants)) {
      const w = again.variants[variant];
      assert.deepEqual([w.tokens, w.greedy], [v.tokens, v.greedy], `${model} ${variant}: tokens`);
      const err = errRows(read(dir, w.logprobs), readFixture(v.logprobs), mine.n_vocab, v.rows);
      const amx = nativeHasAmx && variant !== 'F32';
      const bound = amx ? 2e-2 : 1e-5;
      t.diagnostic(`${model} ${variant}: ${v.rows} rows, err vs the committed reference ${err.toExponential(2)}` +
        (amx ? ' (this CPU has AMX: native llama.cpp may take its AMX kernels, bound 2e-2)' : ''));
      assert.ok(err <= bound, `${model} ${variant}: ${err} (bound ${bound})`);
    }
  }
  const bert = readJson('reference', 'tiny-bert.json');
  const again = JSON.parse(readFileSync(join(dir, 'tiny-bert.json'), 'utf8'));
  assert.deepEqual(again.prompt_ids, bert.prompt_ids);
  for (const [variant, v] of Object.entries(bert.variants)) {
    for (const key of ['mean', 'first', 'last']) {
      const err = errRows(Float32Array.from(again.variants[variant][key]), Float32Array.from(v[key]), bert.dim, 1);
      const bound = nativeHasAmx && variant !== 'F32' ? 2e-2 : 1e-5;
      t.diagnostic(`bert ${variant} ${key}: err vs the committed reference ${err.toExponential(2)} (bound ${bound})`);
      assert.ok(err <= bound, `bert ${variant} ${key}: ${err} (bound ${bound})`);
    }
  }
});

function readFixture(name) {
  const b = readFileSync(fixture('reference', name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

// llama.cpp's original files, when they are beside the checkout (not needed: nothing else reads them)
const SHARED = [process.env.GF_SHARED, resolve(ROOT, '../shared')].find((d) => d && existsSync(join(d, 'models/tiny-brown-f32.gguf')));
const NO_SHARED = !SHARED && 'no ../shared (llama.cpp\'s original files) beside the checkout: nothing to compare the fixtures with';

test('bridge: the generated tiny-brown files are llama.cpp\'s, byte for byte', { skip: NO_SHARED }, () => {
  for (const name of Object.keys(manifest).filter((n) => n.startsWith('models/tiny-brown-'))) {
    assert.ok(readFileSync(fixture(...name.split('/'))).equals(readFileSync(join(SHARED, name))), name);
  }
});

test('bridge: our quantizer writes llama-quantize\'s tiny-llama files from its F32 file; the slices are cut from them', { skip: NO_SHARED }, async () => {
  const f32 = join(SHARED, 'models/tiny-llama-f32.gguf');
  for (const [type, file] of [['Q8_0', 'Q8_0'], ['Q4_0', 'Q4_0'], ['Q4_1', 'Q4_1'], ['Q6_K', 'Q6_K'], ['Q4_K', 'Q4_K_M']]) {
    const parts = [];
    await quantizeModel(f32, (b) => parts.push(b), { type, method: 'ref' });
    const g = parseGguf(Buffer.concat(parts));
    const ours = writeGguf(g.kv, g.tensors.map((x) => ({ ...x, bytes: g.data(x) })).sort(llamaCppOrder));
    const theirs = readFileSync(join(SHARED, `models/tiny-llama-${file}.gguf`));
    assert.equal(sha256(ours), sha256(theirs), `tiny-llama-${file}.gguf`);
  }
  for (const v of ['f32', 'Q8_0', 'Q4_0', 'Q4_1', 'Q6_K', 'Q4_K_M']) {
    const slice = parseGguf(readFileSync(fixture('models', `llamacpp-slice-${v}.gguf`)));
    const whole = parseGguf(readFileSync(join(SHARED, `models/tiny-llama-${v}.gguf`)));
    for (const t of slice.tensors) {
      const u = whole.tensors.find((x) => x.name === t.name);
      assert.ok(Buffer.from(slice.data(t)).equals(Buffer.from(whole.data(u))), `${v} ${t.name}`);
    }
  }
});
