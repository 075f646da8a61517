// Quantization: greenformer's own files against llama.cpp's (byte equality
// for the deterministic formats, metadata, parity of logits), quantizing
// while loading (same logits, peak memory), the measuring stick (eval), and
// clear errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, createReadStream, linkSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { evaluate } from '../../web/evaluate.js';
import { loadModel } from '../../web/index.js';
import { ggufSummary, QUANT_TYPES, quantizeModel, quantizeToBlob } from '../../web/quantize.js';
import { llamaCppOrder, writeGguf } from '../fixtures/gguf-write.mjs';
import { parseGguf } from '../helpers/gguf.mjs';
import { withTensorType } from '../helpers/patch.mjs';
import { errRows, fixture, logSoftmaxRows, readF32, readJson, ROOT } from '../helpers/fixtures.mjs';

const F32 = fixture('models', 'tiny-llama-f32.gguf');
const BROWN = fixture('models', 'tiny-brown-f32.gguf');
const CLI = join(ROOT, 'bin/greenformer.mjs');
const LLAMA = { Q8_0: 'Q8_0', Q4_0: 'Q4_0', Q4_1: 'Q4_1', Q6_K: 'Q6_K', Q4_K: 'Q4_K_M' };

async function quantizeToBuffer(source, options) {
  const parts = [];
  const plan = await quantizeModel(source, (bytes) => parts.push(bytes), options);
  return { bytes: Buffer.concat(parts), plan };
}

function cli(args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

// llama-quantize's bytes for these types: the tiny-llama fixtures are random weights written by this repository
// (tests/fixtures), so there is no llama.cpp file of them to compare with. What is llama.cpp's: its per-tensor type
// choices for the same shapes (reference/tiny-llama-llamacpp-mix.json), its bytes for two tensors of each type
// (models/llamacpp-slice-*, re-quantized row by row by tests/c/test_quantize.c, natively and as wasm), and whole
// files, metadata and tensor order included, for the tiny-brown types (tests/fast/quantize-types.test.mjs).
// Here: the type mix equals llama-quantize's, and the file equals the generated fixture (manifest sha256).
const mixes = readJson('reference', 'tiny-llama-llamacpp-mix.json').files;
const manifest = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/manifest.json'), 'utf8')).files;
for (const [type, file] of Object.entries(LLAMA)) {
  test(`quantize ${type} (ref): llama-quantize's tensor types and file type for tiny-llama's shapes; the fixture's bytes`, async () => {
    const { bytes, plan } = await quantizeToBuffer(F32, { type });
    const ours = parseGguf(bytes);
    const theirs = mixes[file];
    assert.equal(bytes.length, plan.outputBytes);
    assert.equal(ours.version, 3);
    assert.equal(ours.get('general.file_type'), theirs.file_type, 'general.file_type');
    assert.deepEqual(Object.fromEntries(ours.tensors.map((t) => [t.name, t.typeName])), theirs.tensor_types, 'tensor types');
    for (const t of ours.tensors) assert.equal(t.offset % ours.alignment, 0, `${t.name} is aligned`);
    assert.equal(ours.dataOffset % ours.alignment, 0);
    const reordered = writeGguf(ours.kv, ours.tensors.map((x) => ({ ...x, bytes: ours.data(x) })).sort(llamaCppOrder));
    const want = manifest[`models/tiny-llama-${file}.gguf`];
    assert.equal(createHash('sha256').update(reordered).digest('hex'), want.sha256, `not the fixture tiny-llama-${file}.gguf`);
  });
}

test('any chunking of the input gives the same file (a stream in 4097-byte chunks, a path, a Blob)', async () => {
  const fromPath = await quantizeToBuffer(BROWN, { type: 'Q4_0' });
  const fromStream = await quantizeToBuffer(Readable.toWeb(createReadStream(BROWN, { highWaterMark: 4097 })), { type: 'Q4_0' });
  const fromBlob = await quantizeToBuffer(new Blob([readFileSync(BROWN)]), { type: 'Q4_0' });
  assert.ok(fromStream.bytes.equals(fromPath.bytes) && fromBlob.bytes.equals(fromPath.bytes));
  assert.equal(fromPath.bytes.length, readJson('reference', 'tiny-brown.json').llamacpp_quantized.Q4_0.file_bytes);
});

test('our Q8_0 file loads and its logits match native llama.cpp\'s for that file (log-probabilities, exact: <= 1e-4)', async () => {
  const ref = readJson('reference', 'tiny-llama.json');
  const v = ref.variants.Q8_0;
  const { bytes } = await quantizeToBuffer(F32, { type: 'Q8_0' });
  const model = await loadModel(bytes, { kvCache: 'f32' }); // as llama.cpp's logits were made
  try {
    const logits = await model.forward(v.tokens);
    const err = errRows(logSoftmaxRows(logits, ref.n_vocab), readF32('reference', v.logprobs), ref.n_vocab, v.rows);
    assert.ok(err <= 1e-4, `err vs llama.cpp ${err}`);
    assert.deepEqual(model.info().tensorTypes, { F32: 5, Q8_0: 15 });
  } finally {
    await model.dispose();
  }
});

test('search and calibrated files have the same format: they load, and the plan reports sizes', async () => {
  const { bytes, plan } = await quantizeToBuffer(BROWN, { type: 'Q4_K', method: 'search' });
  assert.equal(plan.method, 'search');
  assert.equal(plan.fileType, 'Q4_K_M');
  const summary = await ggufSummary(bytes);
  assert.equal(summary.fileBytes, bytes.length);
  assert.ok(Math.abs(summary.bitsPerWeight - plan.bitsPerWeight) < 1e-3);
  // llama.cpp's Q4_K_M mix for this model (tiny-brown.json): 9 F32, 5 Q6_K, 24 Q4_K at 5.069 bits per weight
  assert.deepEqual(summary.types, { F32: 9, Q4_K: 24, Q6_K: 5 });
  assert.equal(summary.bitsPerWeight.toFixed(3), readJson('reference', 'tiny-brown.json').llamacpp_quantized.Q4_K_M.bits_per_weight.toFixed(3));
  const model = await loadModel(bytes);
  const logits = await model.forward([1, 450, 1996]);
  assert.ok(logits.every(Number.isFinite));
  await model.dispose();
});

test('quantize while loading: F32 streamed into Q4_0/Q8_0/Q4_K gives the quantized files\' logits exactly', async () => {
  const ids = [1, 450, 4996, 17354, 1701];
  for (const [q, file] of [['Q4_0', 'Q4_0'], ['Q8_0', 'Q8_0'], ['Q4_K', 'Q4_K_M']]) {
    const a = await loadModel(F32, { quantize: q });
    const b = await loadModel(fixture('models', `tiny-llama-${file}.gguf`));
    try {
      assert.deepEqual(a.info().tensorTypes, b.info().tensorTypes);
      assert.equal(a.info().weightBytes, b.info().weightBytes);
      const [la, lb] = [await a.forward(ids), await b.forward(ids)];
      assert.ok(la.every((x, i) => Object.is(x, lb[i])), `${q}: logits differ from the ${file} file's`);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }
});

// Peak resident memory of a fresh Node process running args (tests/helpers/maxrss.cjs reports it).
function peakRss(args) {
  const r = spawnSync(process.execPath, ['--require', join(ROOT, 'tests/helpers/maxrss.cjs'), ...args], { encoding: 'utf8', timeout: 120_000 });
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  assert.ok(m && r.status === 0, `no peak reported (exit ${r.status}): ${r.stderr}`);
  return Number(m[1]) * 1024;
}
const mb = (b) => (b / 1048576).toFixed(1);

test('peak RSS while loading the F32 model with quantize: Q4_0: baseline + 1.3 x Q4_0 size + 16 MB', (t) => {
  const baseline = peakRss(['-e', '']);
  // The load path alone: the warm-up's memory (the optimizing compiler's, which the first prompts would
  // spend anyway) is the next test's subject.
  const script = `import { loadModel } from ${JSON.stringify(join(ROOT, 'web/index.js'))};
    const m = await loadModel(${JSON.stringify(F32)}, { quantize: 'Q4_0', warmup: false });
    if (!m.info().tensorTypes.Q4_0) throw new Error('not quantized');
    await m.dispose();`;
  const got = peakRss(['--input-type=module', '-e', script]);
  const q4 = statSync(fixture('models', 'tiny-llama-Q4_0.gguf')).size;
  const bound = baseline + 1.3 * q4 + 16 * 1048576;
  t.diagnostic(`baseline ${mb(baseline)} MB, Q4_0 file ${mb(q4)} MB, peak ${mb(got)} MB, bound ${mb(bound)} MB (F32 file ${mb(statSync(F32).size)} MB)`);
  assert.ok(got <= bound, `peak ${mb(got)} MB exceeds ${mb(bound)} MB`);
});

// One process's peak is noisy by a few MB (when V8's GC and background compiler run), so each side is the
// median of three processes.
test('the load-time warm-up peaks no higher than the same model running prompts without it (medians of 3, +6 MB)', (t) => {
  const peak = (warmup, prompts) => {
    const script = `import { loadModel } from ${JSON.stringify(join(ROOT, 'web/index.js'))};
      const m = await loadModel(${JSON.stringify(F32)}, { quantize: 'Q4_0', warmup: ${warmup} });
      const ids = Array.from({ length: 128 }, (_, i) => 1 + ((i * 37) % 30000));
      for (let k = 0; k < ${prompts}; k++) { const g = m.generate(ids, { maxTokens: 64, temperature: 0, ignoreEos: true }); for await (const _ of g); }
      await m.dispose();`;
    return peakRss(['--input-type=module', '-e', script]);
  };
  const median3 = (f) => [f(), f(), f()].sort((a, b) => a - b)[1];
  const warm = median3(() => peak(true, 0)), running = median3(() => peak(false, 3));
  t.diagnostic(`load + warm-up ${mb(warm)} MB; load without it + 3 prompts of 128 tokens and 64 generated ${mb(running)} MB`);
  assert.ok(warm <= running + 6 * 1048576, `the warm-up peaks at ${mb(warm)} MB, running without it at ${mb(running)} MB`);
});

test('eval: held-out tokenization equals llama.cpp\'s ids; results are deterministic and llama.cpp\'s protocol reproduces its F32 perplexity on the first chunks', async () => {
  const text = readFileSync(fixture('reference', 'brown-heldout.txt'), 'utf8');
  const want = readJson('reference', 'tiny-brown-heldout.ids.json');
  const ref = await loadModel(BROWN, { contextLength: 256, batchSize: 256, kvCache: 'f32' });
  const q = await loadModel(BROWN, { contextLength: 256, batchSize: 256, quantize: 'Q4_0', kvCache: 'f32' });
  try {
    const ids = await ref.tokenize(text);
    assert.equal(ids.length, want.length);
    assert.ok(ids.every((x, i) => x === want[i]), 'token ids differ from llama.cpp\'s');
    const a = await evaluate(ref, [q], ids, { chunks: 2 });
    const b = await evaluate(ref, [q], ids, { chunks: 2 });
    assert.deepEqual(a, b);
    assert.equal(a.scored, 2 * 127);
    assert.ok(a.models[0].meanKl > 0 && a.models[0].meanKl < 0.05, `KL ${a.models[0].meanKl}`);
    assert.ok(a.models[0].top1 > 0.8);
    const self = await evaluate(ref, [ref], ids, { chunks: 1 });
    assert.equal(self.models[0].meanKl, 0);
    assert.equal(self.models[0].top1, 1);
    assert.equal(self.models[0].perplexity, self.refPerplexity);
  } finally {
    await ref.dispose();
    await q.dispose();
  }
});

test('calibrated mix: types assigned by measured sensitivity within the budget; the file loads', async () => {
  const calib = 'The jury said it did find that many of the voters were not well informed. '.repeat(6);
  const { bytes, plan } = await quantizeToBuffer(BROWN, { mix: 5.0, calib, mixChunks: 1 });
  assert.equal(plan.method, 'search');
  assert.ok(plan.mix, 'the plan carries the assignment');
  assert.ok(plan.mix.bitsPerWeight <= 5.0 + 1e-9, `mix uses ${plan.mix.bitsPerWeight} bits per weight`);
  assert.ok(plan.bitsPerWeight <= 5.0 + 1e-3, `file has ${plan.bitsPerWeight} bits per weight`);
  assert.equal(plan.mix.tensors.length, 29);
  for (const t of plan.mix.tensors) {
    assert.ok(QUANT_TYPES.includes(t.type), t.type);
    assert.equal(plan.tensors.find((x) => x.name === t.name).to, t.type);
    assert.ok(Object.values(t.kl).every((x) => x >= 0));
  }
  assert.ok(plan.tensors.filter((t) => t.to !== 'F32').every((t) => t.importance), 'every matrix used importance');
  const model = await loadModel(bytes);
  assert.ok((await model.forward([1, 100, 200])).every(Number.isFinite));
  await model.dispose();
});

test('errors: unknown type, unsupported input type, bad mix, bad quantize option', async () => {
  await assert.rejects(quantizeModel(F32, () => {}, { type: 'IQ2_XS' }), /unknown type "IQ2_XS"/);
  await assert.rejects(quantizeModel(F32, () => {}, { type: 'Q4_0', mix: 1 }), /between 2 and 16/);
  await assert.rejects(quantizeModel(F32, () => {}, { type: 'Q4_0', mix: 5 }), /mix needs calibration text/);
  await assert.rejects(quantizeModel(F32, () => {}, { type: 'Q4_0', method: 'ref', calib: 'text' }), /search/);
  await assert.rejects(quantizeModel(F32, 42, { type: 'Q4_0' }), /destination must be/);
  await assert.rejects(quantizeModel(Readable.toWeb(createReadStream(F32)), () => {}, { type: 'Q4_0', calib: 'text' }), /read the model twice/);
  const patched = withTensorType(F32, 'blk.0.attn_q.weight', 17); // IQ2_XS: smaller, the layout stays valid
  await assert.rejects(quantizeModel(patched, () => {}, { type: 'Q4_0' }), /blk\.0\.attn_q\.weight' has type IQ2_XS, which greenformer cannot read/);
  await assert.rejects(loadModel(F32, { quantize: 'IQ2_XS' }), /quantize must be one of/);
  await assert.rejects(quantizeModel(Buffer.from('not a gguf at all, just text'), () => {}, { type: 'Q4_0' }), /GGUF/);
});

test('CLI: quantize writes a file and prints the plan; eval reports; usage errors exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-quant-'));
  try {
    const out = join(dir, 'm.gguf');
    const r = cli(['quantize', BROWN, out, '--type', 'Q4_0', '--method', 'search']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*m\.gguf: .* Q4_0, search, 4\.812 bits per weight/);
    assert.equal(parseGguf(readFileSync(out)).get('general.file_type'), 2);
    const e = cli(['eval', out, '--ref', BROWN, '--text', join(ROOT, 'README.md'), '--ctx', '64', '--chunks', '2', '--json']);
    assert.equal(e.status, 0, e.stderr);
    const j = JSON.parse(e.stdout);
    assert.equal(j.chunks, 2);
    assert.ok(j.meanKl > 0 && j.top1 > 0 && j.perplexity > 1 && j.refPerplexity > 1);
    assert.equal(j.modelBitsPerWeight.toFixed(3), '4.812', 'Q4_0 with a Q6_K output, as llama.cpp\'s');
    for (const [args, pattern] of [
      [['quantize', F32, out], /needs --type/],
      [['quantize', F32, '--type', 'Q4_0'], /needs an output path/],
      [['quantize', F32, out, '--type', 'IQ2_XS'], /--type must be one of/],
      [['quantize', F32, out, '--mix', 'abc', '--calib', 'x'], /--mix must be a number in 2\.\.16, got "abc"/],
      [['quantize', F32, out, '--mix', '17', '--calib', 'x'], /--mix must be a number in 2\.\.16, got 17/],
      [['quantize', F32, out, '--type', 'Q4_0', '--mxi', '5'], /unknown option "--mxi" for quantize \(did you mean --mix\?\)/],
      [['quantize', F32, out, '--mix', '5'], /--mix needs --calib/],
      [['eval', out, '--text', 'x'], /needs --ref/],
    ]) {
      const u = cli(args);
      assert.equal(u.status, 2, `${args.join(' ')}: ${u.stderr}`);
      assert.match(u.stderr, pattern);
    }
    // every writable type has the search method now (Q3_K did not)
    const search = cli(['quantize', F32, out, '--type', 'Q3_K', '--method', 'search', '--quiet']);
    assert.equal(search.status, 0, search.stderr);
    const missing = cli(['quantize', join(dir, 'nope.gguf'), out, '--type', 'Q4_0']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Issue 21, item 1: `quantize X X` used to truncate X, fail ("GGUF: the file is empty") and then delete it.
test('quantize refuses an output that is the input (same path, ./path, symlink, hard link, file: URL); the input stays intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-same-'));
  try {
    const original = readFileSync(BROWN);
    const input = join(dir, 'same.gguf');
    copyFileSync(BROWN, input);
    chmodSync(input, 0o644);
    symlinkSync(input, join(dir, 'link.gguf'));
    linkSync(input, join(dir, 'hard.gguf'));
    const rel = `./${relative(process.cwd(), input)}`;
    const outputs = [input, rel, join(dir, 'link.gguf'), join(dir, 'hard.gguf'), join(dir, 'sub', '..', 'same.gguf')];
    for (const output of outputs) {
      await assert.rejects(quantizeModel(input, output, { type: 'Q4_0' }), (e) => {
        assert.match(e.message, /the output .* is the input .*same\.gguf \(the same file\)/);
        assert.ok(e.message.includes(output), e.message);
        return true;
      });
    }
    await assert.rejects(quantizeModel(pathToFileURL(input).href, join(dir, 'link.gguf'), { type: 'Q4_0' }), /the same file/);
    await assert.rejects(quantizeModel(join(dir, 'link.gguf'), input, { type: 'Q4_0' }), /the same file/);
    for (const output of [input, rel, join(dir, 'link.gguf'), join(dir, 'hard.gguf')]) {
      const r = cli(['quantize', input, output, '--type', 'Q4_0']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^greenformer: quantize: the output .* is the input .* \(the same file\)/);
      assert.ok(r.stderr.includes(output), r.stderr);
    }
    assert.ok(readFileSync(input).equals(original), 'the input is byte-identical');
    assert.ok(lstatSync(join(dir, 'link.gguf')).isSymbolicLink());
    assert.deepEqual(readdirSync(dir).sort(), ['hard.gguf', 'link.gguf', 'same.gguf']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantize to a path: a failure or an abort mid-way leaves an existing destination untouched and no temporary file; success replaces it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-atomic-'));
  try {
    const out = join(dir, 'out.gguf');
    writeFileSync(out, 'the previous output\n');
    // header intact, tensor data cut: tensors are quantized and written before the end is found missing
    const cut = join(dir, 'cut.gguf');
    const full = readFileSync(BROWN);
    writeFileSync(cut, full.subarray(0, Math.floor(full.length * 0.6)));
    let wrote = 0;
    await assert.rejects(
      quantizeModel(cut, out, { type: 'Q8_0', onProgress: (p) => (wrote = p.tensorsDone ?? wrote) }),
      /truncated|ends|short|incomplete/i,
    );
    assert.ok(wrote > 0, 'some tensors were written before the failure');
    assert.equal(readFileSync(out, 'utf8'), 'the previous output\n');
    assert.deepEqual(readdirSync(dir).sort(), ['cut.gguf', 'out.gguf']);

    const ac = new AbortController();
    await assert.rejects(
      quantizeModel(BROWN, out, { type: 'Q4_0', signal: ac.signal, onProgress: (p) => p.tensorsDone >= 3 && ac.abort() }),
      (e) => e.name === 'AbortError',
    );
    assert.equal(readFileSync(out, 'utf8'), 'the previous output\n');
    assert.deepEqual(readdirSync(dir).sort(), ['cut.gguf', 'out.gguf']);

    // a new file that fails is not left behind either
    await assert.rejects(quantizeModel(cut, join(dir, 'new.gguf'), { type: 'Q8_0' }));
    assert.deepEqual(readdirSync(dir).sort(), ['cut.gguf', 'out.gguf']);

    const plan = await quantizeModel(BROWN, out, { type: 'Q8_0' });
    assert.equal(statSync(out).size, plan.outputBytes);
    assert.equal(parseGguf(readFileSync(out)).get('general.file_type'), 7);
    assert.deepEqual(readdirSync(dir).sort(), ['cut.gguf', 'out.gguf']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantize options: an unknown key names the nearest known one; numbers and types are checked', async () => {
  await assert.rejects(quantizeModel(BROWN, () => {}, { type: 'Q4_0', mixChunk: 2 }), /unknown option 'mixChunk' \(did you mean 'mixChunks'\?\)/);
  await assert.rejects(quantizeToBlob(BROWN, { tpye: 'Q4_0' }), /unknown option 'tpye' \(did you mean 'type'\?\)/);
  for (const bad of [0, -1, 1.5, 2 ** 32 + 4, NaN, '4']) {
    await assert.rejects(quantizeModel(BROWN, () => {}, { calib: 'x', mix: 5, mixChunks: bad }), /mixChunks must be an integer in 1\.\.1048576/, String(bad));
  }
  await assert.rejects(quantizeModel(BROWN, () => {}, { type: 'Q4_0', outputType: 'IQ2_XS' }), /outputType must be one of/);
  await assert.rejects(quantizeModel(BROWN, () => {}, { type: 'Q4_0', embdType: 7 }), /embdType must be one of/);
  await assert.rejects(quantizeModel(BROWN, () => {}, { type: 'Q4_0', signal: 'stop' }), /signal must be an AbortSignal/);
  await assert.rejects(quantizeModel(BROWN, () => {}, null), /options must be an object/);
});
