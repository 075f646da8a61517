// Split models (llama.cpp's gguf-split layout): `greenformer split` writes
// the shards; loadModel reads them from the first shard's path, URL or hf:
// name, or from an array, with exactly the logits of the unsplit file; a
// wrong set of shards is refused naming the shard. quantizeModel, ggufSummary
// and the CLI's quantize and info take the same sources: the same bytes and
// summary as from the unsplit file, the same errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { splitGguf } from '../../bin/commands/split.mjs';
import { parseGgufHeader } from '../../web/gguf-header.js';
import { loadModel } from '../../web/node.js';
import { ggufSummary, quantizeModel } from '../../web/quantize.js';
import { splitSources } from '../../web/split.js';
import { startServer } from '../helpers/server.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const FILE = fixture('models', 'tiny-llama-Q8_0.gguf');
const IDS = [1, 450, 4996, 17354, 1701];
let dir, expected, three, many;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gf-split-'));
  const model = await loadModel(FILE);
  expected = await model.forward(IDS);
  await model.dispose();
  three = await splitGguf(FILE, join(dir, 'tiny'), { maxSize: 3 << 20 }); // token_embd (8.3 MB) alone in shard 2
  many = await splitGguf(FILE, join(dir, 'one'), { maxTensors: 1 }); // one tensor per shard
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function logitsOf(source, options) {
  const model = await loadModel(source, options);
  try {
    return { logits: await model.forward(IDS), info: model.info() };
  } finally {
    await model.dispose();
  }
}

/** A shard's bytes with one split key's value replaced. */
function patched(path, key, value) {
  const bytes = new Uint8Array(readFileSync(path));
  const e = parseGgufHeader(bytes).kv.find((k) => k.key === key);
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  if (e.type === 2) dv.setUint16(e.end - 2, value, true);
  else dv.setInt32(e.end - 4, value, true);
  return bytes;
}

test('the split writer follows gguf-split: names, split keys, metadata in the first shard only', () => {
  assert.deepEqual(three.map((p) => p.slice(dir.length + 1)), ['tiny-00001-of-00003.gguf', 'tiny-00002-of-00003.gguf', 'tiny-00003-of-00003.gguf']);
  const headers = three.map((p) => parseGgufHeader(readFileSync(p)));
  const total = parseGgufHeader(readFileSync(FILE)).tensors.length;
  headers.forEach((h, i) => {
    const kv = Object.fromEntries(h.kv.map((e) => [e.key, e]));
    assert.deepEqual([kv['split.no'].type, kv['split.no'].value], [2, i]); // u16
    assert.deepEqual([kv['split.count'].type, kv['split.count'].value], [2, 3]);
    assert.deepEqual([kv['split.tensors.count'].type, kv['split.tensors.count'].value], [5, total]); // i32
    assert.equal(!!kv['general.architecture'], i === 0);
  });
  assert.equal(headers.reduce((n, h) => n + h.tensors.length, 0), total);
  assert.equal(many.length, total);
  // the CLI writes the same bytes
  execFileSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), 'split', FILE, join(dir, 'cli'), '--max-size', '3M', '--quiet']);
  for (let i = 0; i < 3; i++) assert.deepEqual(readFileSync(join(dir, `cli-0000${i + 1}-of-00003.gguf`)), readFileSync(three[i]));
});

test('a split model loads from its first shard\'s path with the unsplit file\'s logits, progress over the whole', async () => {
  for (const shards of [three, many]) {
    let last;
    const { logits, info } = await logitsOf(shards[0], { onProgress: (p) => (last = p) });
    assert.deepEqual(logits, expected);
    assert.equal(info.shards, shards.length);
    assert.equal(last.fraction, 1);
    assert.equal(last.loaded, last.total);
    assert.equal(info.fileBytes, readFileSync(FILE).length); // the merged stream is the unsplit file's layout
  }
  // an array of paths, of Blobs, of bytes
  assert.deepEqual((await logitsOf(three)).logits, expected);
  assert.deepEqual((await logitsOf(three.map((p) => new Blob([readFileSync(p)])))).logits, expected);
  assert.deepEqual((await logitsOf(many.map((p) => new Uint8Array(readFileSync(p))))).logits, expected);
  assert.deepEqual((await logitsOf([FILE])).logits, expected); // an array of one is a plain file
});

test('over HTTP: the first shard\'s URL or hf: name finds the others; a missing one is named', async () => {
  const routes = {};
  for (const p of three) routes[`/o/r/resolve/main/${p.slice(dir.length + 1)}`] = { file: p };
  const server = await startServer(routes);
  try {
    const first = server.url('/o/r/resolve/main/tiny-00001-of-00003.gguf');
    let last;
    const r = await logitsOf(first, { onProgress: (p) => (last = p) });
    assert.deepEqual(r.logits, expected);
    assert.equal(last.total, readFileSync(FILE).length);
    assert.deepEqual((await logitsOf('hf:o/r/tiny-00001-of-00003.gguf', { hubEndpoint: server.url('') })).logits, expected);
    assert.deepEqual((await logitsOf(['hf:o/r/tiny-00001-of-00003.gguf', first.replace('00001-of', '00002-of'), three[2]], { hubEndpoint: server.url('') })).logits, expected);
    await assert.rejects(loadModel(server.url('/o/r/resolve/main/x-00001-of-00004.gguf')), /split model: cannot open shard 1 of 4 \(x-00001-of-00004\.gguf\): HTTP 404/);
    delete routes['/o/r/resolve/main/tiny-00003-of-00003.gguf'];
    await assert.rejects(loadModel(first), /split model: cannot open shard 3 of 3 \(tiny-00003-of-00003\.gguf\): HTTP 404/);
  } finally {
    await server.close();
  }
});

/** Wrong shard lists and the message each must be refused with, by every reader of split models. */
function wrongShards() {
  const [a, b, c] = three;
  return [
    [[a, b], /shard 1 of 2 \(tiny-00001-of-00003\.gguf\) has split\.count 3, but 2 shards were given/],
    [[a, c, b], /shard 2 of 3 \(tiny-00003-of-00003\.gguf\) has split\.no 2 \(it is shard 3\); shard 2 should have split\.no 1/],
    [[a, new Blob([patched(b, 'split.tensors.count', 99)]), c], /shard 2 of 3 \(a Blob\) has split\.tensors\.count 99 but shard 1 has 20: it belongs to another model/],
    [[a, new Blob([readFileSync(b).subarray(0, 5 << 20)]), c], /shard 2 of 3 \(a Blob\) is truncated: tensor 'token_embd\.weight' ends at data byte \d+, the shard has \d+/],
    [join(dir, 'nope-00001-of-00002.gguf'), /split model: cannot open shard 1 of 2 \(nope-00001-of-00002\.gguf\): no such file/],
    [[FILE, a], /shard 1 of 2 \(tiny-llama-Q8_0\.gguf\) has no split\.tensors\.count \(not a gguf-split shard\)/],
  ];
}

test('wrong shards are refused, naming the shard and the value', async () => {
  const [a] = three;
  const cases = [
    ...wrongShards(),
    [three.map((p) => new Blob([patched(p, 'split.tensors.count', 21)])), /the 3 shards hold 20 tensors but split\.tensors\.count is 21: tensors are missing/],
    [[...many.slice(0, 4), new Blob([patched(many[3], 'split.no', 4)]), ...many.slice(5)], /tensor '([\w.]+)' is in shard 4 of 20 \(one-00004-of-00020\.gguf\) and again in shard 5 of 20 \(a Blob\)/],
    [join(dir, 'tiny-00002-of-00003.gguf'), /is shard 2 of 3 of a split model: give the first \(-00001-of-00003\.gguf\)/],
    [[], /an array source lists the shards of a split model; got an empty array/],
  ];
  for (const [source, message] of cases) await assert.rejects(loadModel(source), message);
  await assert.rejects(loadModel(three, { sha256: '0'.repeat(64) }), /sha256 checks a single file/);
  const file = new File([readFileSync(a)], 'tiny-00001-of-00003.gguf');
  await assert.rejects(loadModel(file), /tiny-00001-of-00003\.gguf is shard 1 of 3 of a split model: pass all 3 files as an array/);
  assert.equal(splitSources('m-00001-of-00001.gguf'), null);
  assert.deepEqual(splitSources('https://h/x/m-00001-of-00002.gguf?download=1'), ['https://h/x/m-00001-of-00002.gguf?download=1', 'https://h/x/m-00002-of-00002.gguf?download=1']);
});

/** quantizeModel's output bytes and plan. */
async function quantized(source, options) {
  const parts = [];
  const plan = await quantizeModel(source, (b) => parts.push(b), options);
  return { bytes: Buffer.concat(parts), plan };
}

test('quantize and ggufSummary take a split model: the unsplit file\'s bytes and summary, from a path, an array, Blobs, hf:', async () => {
  const whole = await quantized(FILE, { type: 'Q4_K' });
  for (const source of [three[0], three, many[0], three.map((p) => new Blob([readFileSync(p)]))]) {
    const split = await quantized(source, { type: 'Q4_K' });
    assert.ok(split.bytes.equals(whole.bytes), `quantized from ${Array.isArray(source) ? 'an array' : source} differs`);
    assert.deepEqual(split.plan, whole.plan);
  }
  // calibration reads the model twice (run, then quantize): both through the shards
  const calib = 'The quick brown fox jumps over the lazy dog. '.repeat(12);
  const calibrated = await quantized(FILE, { type: 'Q4_K', calib });
  assert.ok(!calibrated.bytes.equals(whole.bytes)); // the calibration did something
  assert.ok((await quantized(three[0], { type: 'Q4_K', calib })).bytes.equals(calibrated.bytes));

  const summary = await ggufSummary(FILE);
  assert.deepEqual(await ggufSummary(three[0]), summary);
  assert.deepEqual(await ggufSummary(many), summary);
  assert.equal(summary.fileBytes, readFileSync(FILE).length);

  const routes = {};
  for (const p of three) routes[`/o/r/resolve/main/${p.slice(dir.length + 1)}`] = { file: p };
  const server = await startServer(routes);
  try {
    const hubEndpoint = server.url('');
    assert.deepEqual(await ggufSummary('hf:o/r/tiny-00001-of-00003.gguf', { hubEndpoint }), summary);
    assert.ok((await quantized('hf:o/r/tiny-00001-of-00003.gguf', { type: 'Q4_K', hubEndpoint })).bytes.equals(whole.bytes));
    await assert.rejects(ggufSummary(three[0], { hubEndpoint }), /ggufSummary: hubEndpoint is for hf: sources/);
  } finally {
    await server.close();
  }
});

test('quantize and ggufSummary refuse wrong shards as loadModel does, naming the shard; a shard is not an output', async () => {
  const [a, b, c] = three;
  for (const [source, message] of wrongShards()) {
    await assert.rejects(quantizeModel(source, () => {}, { type: 'Q8_0' }), message);
    await assert.rejects(ggufSummary(source), message);
  }
  // the shard-name rules say who is asking
  await assert.rejects(quantizeModel(b, () => {}, { type: 'Q8_0' }), /^TypeError: quantize: ".*" is shard 2 of 3 of a split model: give the first \(-00001-of-00003\.gguf\)/);
  await assert.rejects(ggufSummary([]), /ggufSummary: an array source lists the shards of a split model; got an empty array/);
  // writing over a shard would destroy the input: refused before anything is written
  const before = readFileSync(c);
  await assert.rejects(quantizeModel(a, c, { type: 'Q8_0' }), /quantize: the output .*tiny-00003-of-00003\.gguf is the input .*tiny-00003-of-00003\.gguf/);
  assert.ok(readFileSync(c).equals(before));
});

test('CLI: quantize and info from a split model\'s first shard', async () => {
  const out = join(dir, 'cli-q4.gguf');
  const cli = (...args) => execFileSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), ...args], { encoding: 'utf8' });
  cli('quantize', three[0], out, '--type', 'Q4_K', '--quiet');
  assert.ok(readFileSync(out).equals((await quantized(FILE, { type: 'Q4_K' })).bytes));
  const [split, whole] = [JSON.parse(cli('info', three[0])), JSON.parse(cli('info', FILE))];
  assert.equal(split.shards, 3);
  assert.equal(whole.shards, 1);
  assert.deepEqual({ ...split, shards: 1 }, whole);
});
