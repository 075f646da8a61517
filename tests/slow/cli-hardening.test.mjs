// The command line under misuse (issue 21): outputs that would overwrite
// their input, numbers that would wrap in C, unknown and mistyped flags,
// negative numbers after a flag, a closed stdout, and a refusal that must
// read the same every time.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const CLI = join(ROOT, 'bin/greenformer.mjs');
const BROWN = fixture('models', 'tiny-brown-f32.gguf'); // vocabulary 2048
const tmp = mkdtempSync(join(tmpdir(), 'greenformer-cli-hardening-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args, options = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...options });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A minimal GGUF: no tensors, the given metadata (u32 numbers and strings). */
function gguf(entries) {
  const parts = [];
  const u32 = (v) => parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const u64 = (v) => parts.push(Buffer.from(new BigUint64Array([BigInt(v)]).buffer));
  const str = (s) => (u64(Buffer.byteLength(s)), parts.push(Buffer.from(s)));
  parts.push(Buffer.from('GGUF'));
  u32(3);
  u64(0);
  u64(entries.length);
  for (const [key, value] of entries) {
    str(key);
    if (typeof value === 'string') (u32(8), str(value));
    else (u32(4), u32(value));
  }
  return Buffer.concat(parts);
}

test('a refused architecture gives the refusal every time, also with worker threads (no "reading \'_free\'" race)', async () => {
  const small = join(tmp, 'mamba.gguf');
  writeFileSync(small, gguf([['general.architecture', 'mamba'], ['mamba.block_count', 2], ['mamba.embedding_length', 64]]));
  const refusal = /^GGUF: architecture 'mamba' is not supported \(supported: /;
  for (let i = 0; i < 20; i++) {
    await assert.rejects(loadModel(small, { threads: 2 }), (e) => (assert.match(e.message, refusal, `load ${i + 1}`), true));
  }
  // the CLI's logits on a file large enough (sparse) that loads run with worker threads by default
  const large = join(tmp, 'mamba-large.gguf');
  copyFileSync(small, large);
  truncateSync(large, 65 * 1048576);
  for (let i = 0; i < 20; i++) {
    const r = cli(['logits', large, '--tokens', '1,2', '--out', join(tmp, 'never.f32')]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^greenformer: GGUF: architecture 'mamba' is not supported \(supported: [^\n]*\n$/, `run ${i + 1}`);
  }
  assert.ok(!readdirSync(tmp).includes('never.f32'));
});

test('stdout closed early (run ... | head -c 1): exit 0, nothing on stderr', async () => {
  const child = spawn(process.execPath, [CLI, 'run', BROWN, '-p', 'Once upon a time', '-n', '400', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(err, '');
  assert.equal(code, 0);
});

test('every numeric flag is checked: the message names the flag as typed and the value; negative numbers parse', () => {
  const out = join(tmp, 'x.f32');
  const cases = [
    [['logits', BROWN, '--tokens', '1,4294967746', '--out', out], 1, /--tokens: token id at index 1 must be an integer in 0\.\.2047, got 4294967746/],
    [['logits', BROWN, '--tokens', '1,2048', '--out', out], 1, /--tokens: token id at index 1 must be an integer in 0\.\.2047, got 2048/],
    [['logits', BROWN, '--tokens', '1,2', '--out', out, '--ctx', '4294967312'], 2, /--ctx must be an integer in 1\.\.\d+, got 4294967312/],
    [['run', BROWN, '-p', 'x', '-n', '-5'], 2, /^greenformer: -n must be an integer in 1\.\.\d+, got -5\n/],
    [['run', BROWN, '-p', 'x', '-n', 'abc'], 2, /^greenformer: -n must be an integer in 1\.\.\d+, got "abc"\n/],
    [['run', BROWN, '-p', 'x', '-n', '4294967297'], 2, /^greenformer: -n must be an integer in 1\.\.\d+, got 4294967297\n/],
    [['run', BROWN, '-p', 'x', '--temp', '-1'], 2, /--temp must be a number in 0\.\.\d+, got -1/],
    [['run', BROWN, '-p', 'x', '--temp', 'hot'], 2, /--temp must be a number in 0\.\.\d+, got "hot"/],
    [['run', BROWN, '-p', 'x', '--seed', '-1'], 2, /--seed must be an integer in 0\.\.4294967295, got -1/],
    [['run', BROWN, '-p', 'x', '--seed', '4294967296'], 2, /--seed must be an integer in 0\.\.4294967295, got 4294967296/],
    [['run', BROWN, '-p', 'x', '--top-k', '2.5'], 2, /--top-k must be an integer in 0\.\.\d+, got "2\.5"/],
    [['run', BROWN, '-p', 'x', '--top-k', '-3'], 2, /--top-k must be an integer in 0\.\.\d+, got -3/],
    [['run', BROWN, '-p', 'x', '--top-p', '0'], 2, /--top-p must be a number in \(0, 1\], got 0/],
    [['run', BROWN, '-p', 'x', '--min-p', '1.5'], 2, /--min-p must be a number in 0\.\.1, got 1\.5/],
    [['run', BROWN, '-p', 'x', '--repeat-penalty', '-2'], 2, /--repeat-penalty must be a number in \(0, \d+\], got -2/],
    [['run', BROWN, '-p', 'x', '--repeat-last-n', '4294967296'], 2, /--repeat-last-n must be an integer in 0\.\.\d+, got 4294967296/],
    [['run', BROWN, '-p', 'x', '--ctx', '4294967312'], 2, /--ctx must be an integer in 1\.\.\d+, got 4294967312/],
    [['run', BROWN, '-p', 'x', '--threads', '0'], 2, /--threads must be an integer in 1\.\.64, got 0/],
    [['chat', BROWN, '-n', '0'], 2, /^greenformer: -n must be an integer in 1\.\.\d+, got 0\n/],
    [['chat', BROWN, '--seed', '1.5'], 2, /--seed must be an integer in 0\.\.4294967295, got "1\.5"/],
    [['eval', BROWN, '--ref', BROWN, '--text', 'x', '--chunks', '-1'], 2, /--chunks must be an integer in 1\.\.\d+, got -1/],
    [['eval', BROWN, '--ref', BROWN, '--text', 'x', '--ctx', '4294967312'], 2, /--ctx must be an integer in 4\.\.\d+, got 4294967312/],
    [['quantize', BROWN, join(tmp, 'q.gguf'), '--mix', '-5', '--calib', 'x'], 2, /--mix must be a number in 2\.\.16, got -5/],
  ];
  for (const [args, code, message] of cases) {
    const r = cli(args);
    const what = args.slice(2).join(' ');
    assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, message, what);
    assert.doesNotMatch(r.err, /ambiguous|n-predict|\n\s+at /, what);
  }
  // --n-predict is accepted too; its message names it as typed
  assert.match(cli(['run', BROWN, '-p', 'x', '--n-predict', '0']).err, /^greenformer: --n-predict must be an integer/);
  // a negative number is a value, not a flag: --temp -0 is greedy, as --temp 0
  const a = cli(['run', BROWN, '-p', 'Once upon a time', '-n', '5', '--temp', '-0', '-q']);
  const b = cli(['run', BROWN, '-p', 'Once upon a time', '-n', '5', '--temp=0', '-q']);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
});

test('an unknown flag is a usage error naming it and the nearest known flag', () => {
  const cases = [
    [['run', BROWN, '-p', 'x', '--tmep', '1'], /unknown option "--tmep" for run \(did you mean --temp\?\)/],
    [['run', BROWN, '-p', 'x', '-temp', '1'], /unknown option "-temp" for run \(did you mean --temp\?\)/],
    [['run', BROWN, '-p', 'x', '--seeds=3'], /unknown option "--seeds" for run \(did you mean --seed\?\)/],
    [['logits', BROWN, '--token', '1', '--out', 'x'], /unknown option "--token" for logits \(did you mean --tokens\?\)/],
    [['tokenize', BROWN, '--text', 'x', '--no-boss'], /unknown option "--no-boss" for tokenize \(did you mean --no-bos\?\)/],
    [['eval', BROWN, '--chunk', '2'], /unknown option "--chunk" for eval \(did you mean --chunks\?\)/],
    [['embed', BROWN, '--polling', 'mean'], /unknown option "--polling" for embed \(did you mean --pooling\?\)/],
    [['quantize', BROWN, 'o.gguf', '--tpye', 'Q4_0'], /unknown option "--tpye" for quantize \(did you mean --type\?\)/],
    [['info', BROWN, '-z'], /unknown option "-z" for info/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  const help = cli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: greenformer run MODEL -p PROMPT/);
});

test('a prompt longer than the context names --ctx, not the API option', () => {
  const r = cli(['run', BROWN, '-p', 'the '.repeat(100), '-n', '2', '--ctx', '16']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--ctx/);
  assert.doesNotMatch(r.err, /contextLength/);
});

test('logits and embed --out: never the model file; written whole or not at all', () => {
  const dir = mkdtempSync(join(tmp, 'out-'));
  const model = join(dir, 'model.gguf');
  copyFileSync(BROWN, model);
  chmodSync(model, 0o644);
  symlinkSync(model, join(dir, 'link.gguf'));
  linkSync(model, join(dir, 'hard.gguf'));
  const original = readFileSync(BROWN);
  for (const out of [model, join(dir, 'link.gguf'), join(dir, 'hard.gguf'), join(dir, '.', 'model.gguf')]) {
    for (const args of [['logits', model, '--tokens', '1,2', '--out', out], ['embed', model, '--text', 'x', '--out', out]]) {
      const r = cli(args);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /the output .* is the input .* \(the same file\)/);
      assert.ok(r.err.includes(out));
    }
  }
  assert.ok(readFileSync(model).equals(original), 'the model is byte-identical');
  const out = join(dir, 'logits.f32');
  writeFileSync(out, 'previous');
  // a failure (after loading) leaves an existing output as it was
  assert.equal(cli(['logits', model, '--tokens', '1,5000', '--out', out]).code, 1);
  assert.equal(readFileSync(out, 'utf8'), 'previous');
  const r = cli(['logits', model, '--tokens', '1,2', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(out).length, 2 * 2048 * 4);
  assert.deepEqual(readdirSync(dir).sort(), ['hard.gguf', 'link.gguf', 'logits.f32', 'model.gguf']);
});

test('quantize interrupted (SIGINT): the destination is untouched and no temporary file is left', async () => {
  const dir = mkdtempSync(join(tmp, 'int-'));
  const out = join(dir, 'out.gguf');
  writeFileSync(out, 'previous');
  const child = spawn(process.execPath, [CLI, 'quantize', BROWN, out, '--type', 'Q4_K', '--method', 'search'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let sent = false;
  child.stderr.on('data', (d) => {
    err += d;
    if (!sent && /quantize: \d+%/.test(err)) sent = child.kill('SIGINT');
  });
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 1, err);
  assert.match(err, /interrupted/);
  assert.equal(readFileSync(out, 'utf8'), 'previous');
  assert.deepEqual(readdirSync(dir), ['out.gguf']);
});
