// The command line: results on stdout, one clear line on stderr for any
// failure, non-zero exit status.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fixture, readJson, ROOT } from '../helpers/fixtures.mjs';

const CLI = join(ROOT, 'bin/greenformer.mjs');
const Q8 = fixture('models', 'tiny-llama-Q8_0.gguf');
const ref = readJson('reference', 'tiny-llama.json');
const tmp = mkdtempSync(join(tmpdir(), 'greenformer-cli-'));

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('run streams only the generated text; same seed, same text', () => {
  const a = cli('run', Q8, '-p', 'Once upon a time', '-n', '16', '--seed', '3', '--temp', '0.7');
  assert.equal(a.code, 0, a.err);
  const b = cli('run', Q8, '-p', 'Once upon a time', '-n', '16', '--seed', '3', '--temp', '0.7');
  assert.equal(a.out, b.out);
  assert.ok(!a.out.startsWith('Once upon a time'));
  assert.match(a.err, /16 generated/);
});

test('run greedy continues as llama.cpp does', async () => {
  const v = ref.variants.F32;
  const r = cli('run', fixture('models', v.model), '-p', ref.prompt, '-n', String(v.greedy.length), '--temp', '0');
  assert.equal(r.code, 0, r.err);
  const model = await loadModel(fixture('models', v.model), { vocabOnly: true });
  try {
    // detokenizing prompt + continuation, minus the prompt, is what run prints
    const full = await model.detokenize([...ref.prompt_ids, ...v.greedy]);
    assert.equal(ref.prompt + r.out.replace(/\n$/, ''), full);
  } finally {
    await model.dispose();
  }
});

test('logits writes rows of float32 equal to forward() with the KV cache asked for (f32 by default)', async () => {
  const rows = {};
  for (const kv of [undefined, 'f32', 'q8_0', 'f16']) {
    const out = join(tmp, `logits-${kv}.f32`);
    const r = cli('logits', Q8, '--tokens', '1,450,4996', '--out', out, ...(kv ? ['--kv-cache', kv] : []));
    assert.equal(r.code, 0, r.err);
    const bytes = readFileSync(out);
    assert.equal(bytes.length, 3 * 32000 * 4);
    rows[kv ?? 'default'] = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }
  for (const kvCache of ['f32', 'q8_0', 'f16']) {
    const model = await loadModel(Q8, { kvCache });
    try {
      assert.deepEqual(rows[kvCache], await model.forward([1, 450, 4996]), kvCache);
    } finally {
      await model.dispose();
    }
  }
  assert.deepEqual(rows.default, rows.f32);
  assert.notDeepEqual(rows.q8_0, rows.f32);
  const bad = cli('logits', Q8, '--tokens', '1', '--out', join(tmp, 'x.f32'), '--kv-cache', 'q4');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--kv-cache must be one of f32, f16, q8_0, auto, got "q4"/);
});

test('tokenize works on model files and vocabulary-only files', () => {
  for (const file of [Q8, fixture('tokenizers', 'ggml-vocab-llama-spm.gguf')]) {
    const r = cli('tokenize', file, '--text', ref.prompt);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), ref.prompt_ids);
    const nobos = cli('tokenize', file, '--text', ref.prompt, '--no-bos');
    assert.deepEqual(JSON.parse(nobos.out), ref.prompt_ids.slice(1));
  }
});

test('info prints the model description as JSON', () => {
  const r = cli('info', fixture('models', 'tiny-llama-Q4_K_M.gguf'));
  assert.equal(r.code, 0, r.err);
  const info = JSON.parse(r.out);
  assert.equal(info.architecture, 'llama');
  assert.equal(info.heads, 4);
  assert.equal(info.kvHeads, 2);
  assert.equal(info.vocab, 32000);
  assert.equal(info.context, 2048);
  assert.deepEqual(info.tensorTypes, { F32: 5, Q4_K: 12, Q6_K: 3 });
  assert.ok(info.weightBytes > 7e6 && info.weightBytes < 8.2e6);
});

test('bad input: one clear line on stderr, non-zero exit, never a stack dump', () => {
  const notGguf = join(tmp, 'notes.txt');
  writeFileSync(notGguf, 'these are my notes, not a model\n');
  const truncated = join(tmp, 'cut.gguf');
  writeFileSync(truncated, readFileSync(Q8).subarray(0, 3_000_000));
  const cases = [
    [['run', '/no/such/model.gguf', '-p', 'x'], 1, /no such file/],
    [['info', notGguf], 1, /not a GGUF file/],
    [['run', truncated, '-p', 'x'], 1, /truncated/],
    [['logits', Q8, '--tokens', '1,99999', '--out', join(tmp, 'x.f32')], 1, /--tokens: token id at index 1 must be an integer in 0\.\.31999, got 99999/],
    [['logits', Q8, '--tokens', '1,a', '--out', join(tmp, 'x.f32')], 2, /--tokens expects comma-separated token ids/],
    [['run', Q8, '-p', 'x', '--temp=-1'], 2, /--temp must be a number in 0\.\.100, got -1/],
    [['run', Q8, '-p', 'x', '--top-p', 'lots'], 2, /--top-p must be a number in 0\.\.1, got "lots"/],
    [['run', Q8], 2, /needs a prompt/],
    [['frobnicate', Q8], 2, /unknown command/],
    [['run', Q8, '-p', 'x', '--bogus'], 2, /unknown option "--bogus" for run/],
  ];
  for (const [args, code, message] of cases) {
    const r = cli(...args);
    assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, `stack trace printed for ${args.join(' ')}`);
    assert.ok(r.err.trim().split('\n').length <= 2, `more than one diagnostic line for ${args.join(' ')}: ${r.err}`);
  }
});

test('embed writes one float32 row per text (or per token with --pooling none)', async () => {
  const bert = fixture('models', 'tiny-bert-Q8_0.gguf');
  const out = join(tmp, 'embed.f32');
  let r = cli('embed', bert, '--text', 'hello world', '--text', 'second text', '--out', out);
  assert.equal(r.code, 0, r.err);
  const f32 = (path) => {
    const b = readFileSync(path);
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  };
  const rows = f32(out);
  assert.equal(rows.length, 2 * 128);
  const model = await loadModel(bert);
  try {
    assert.deepEqual(Array.from(rows.subarray(0, 128)), Array.from(await model.embed('hello world')));
    r = cli('embed', bert, '--tokens', '101,7592,2088,102', '--pooling', 'none', '--no-normalize', '--out', out);
    assert.equal(r.code, 0, r.err);
    const states = f32(out);
    assert.deepEqual(Array.from(states), Array.from(await model.embed([101, 7592, 2088, 102], { pooling: 'none', normalize: false })));
  } finally {
    await model.dispose();
  }
  assert.equal(cli('embed', bert, '--out', out).code, 2);
  assert.match(cli('embed', Q8, '--text', 'x', '--out', out).err, /llama is a decoder/);
});

test('chat: each stdin line is a turn, replies stream to stdout', () => {
  const template = join(tmp, 'chatml.jinja');
  writeFileSync(template, "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
  const qwen = fixture('models', 'tiny-qwen2-Q8_0.gguf');
  const r = spawnSync(process.execPath, [CLI, 'chat', qwen, '--template', template, '-n', '6', '--seed', '2'], { input: 'Hi there\nHow are you?\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 2, r.stdout);
  const none = spawnSync(process.execPath, [CLI, 'chat', qwen], { input: 'Hi\n', encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /has no chat template; give one with --template FILE/);
});

test('eval --kv-cache measures what a KV cache type costs against the same file with f32 caches', () => {
  const brown = fixture('models', 'tiny-brown-f32.gguf');
  const text = fixture('reference', 'brown-heldout.txt');
  const runs = [[], ['--kv-cache', 'q8_0']].map((extra) => {
    const r = cli('eval', brown, '--ref', brown, '--text', text, '--chunks', '2', '--json', ...extra);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  });
  assert.equal(runs[0].kvCache, 'f32');
  assert.equal(runs[0].meanKl, 0);
  assert.equal(runs[1].kvCache, 'q8_0');
  assert.ok(runs[1].meanKl > 0 && runs[1].meanKl < 1e-3, `KL ${runs[1].meanKl}`);
  assert.equal(runs[1].refPerplexity, runs[0].perplexity);
  const bad = cli('eval', brown, '--ref', brown, '--text', text, '--kv-cache', 'q4');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /kvCache must be 'auto' or one of/);
});
