// Corrupted weights never run: a NaN or Inf block scale or float weight is
// refused while the file streams in, naming the tensor and the block; and
// finite weights whose logits overflow give an error, never a sampled token.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadModel, quantizeModel } from '../../web/index.js';
import { writeLlama } from '../helpers/fake-llama.mjs';
import { parseGguf } from '../helpers/gguf.mjs';
import { withMatrices } from '../helpers/requantize.mjs';
import { fixture, ROOT } from '../helpers/fixtures.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'greenformer-integrity-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const HALF_NAN = 0x7e00;
const HALF_INF = 0x7c00;
const BLOCK_BYTES = { Q4_0: 18, Q8_0: 34, Q4_K: 144, Q6_K: 210 };

/** A copy of a shared model with one u16 (or f32) of a tensor's data replaced. */
function spliced(file, tensorName, byteInTensor, write) {
  const buf = Buffer.from(readFileSync(fixture('models', file)));
  const g = parseGguf(buf);
  const t = g.tensors.find((x) => x.name === tensorName);
  assert.ok(t, `${tensorName} in ${file}`);
  write(buf, g.dataOffset + t.offset + byteInTensor, t);
  return buf;
}

function halfAt(file, tensorName, type, block, field, bits) {
  return spliced(file, tensorName, block * BLOCK_BYTES[type] + field, (buf, at, t) => {
    assert.equal(t.typeName, type);
    buf.writeUInt16LE(bits, at);
  });
}

const refusals = [
  ['Q4_0 scale NaN', () => halfAt('tiny-llama-Q4_0.gguf', 'blk.1.ffn_down.weight', 'Q4_0', 17, 0, HALF_NAN),
    /tensor 'blk\.1\.ffn_down\.weight' has a non-finite scale \(NaN\) in block 17: the file is corrupt/],
  ['Q6_K scale Inf (token_embd of the Q4_0 file)', () => halfAt('tiny-llama-Q4_0.gguf', 'token_embd.weight', 'Q6_K', 3, 208, HALF_INF),
    /tensor 'token_embd\.weight' has a non-finite scale \(Inf\) in block 3/],
  ['Q8_0 scale Inf', () => halfAt('tiny-llama-Q8_0.gguf', 'blk.0.attn_q.weight', 'Q8_0', 100, 0, HALF_INF),
    /tensor 'blk\.0\.attn_q\.weight' has a non-finite scale \(Inf\) in block 100/],
  ['Q4_K dmin NaN', () => halfAt('tiny-llama-Q4_K_M.gguf', 'blk.0.ffn_gate.weight', 'Q4_K', 5, 2, HALF_NAN),
    /tensor 'blk\.0\.ffn_gate\.weight' has a non-finite minimum scale \(NaN\) in block 5/],
  ['Q4_K d Inf, last block', () => halfAt('tiny-llama-Q4_K_M.gguf', 'blk.1.attn_output.weight', 'Q4_K', 255, 0, HALF_INF),
    /tensor 'blk\.1\.attn_output\.weight' has a non-finite scale \(Inf\) in block 255/],
  ['F32 matrix value NaN', () => spliced('tiny-llama-f32.gguf', 'blk.0.ffn_up.weight', 4 * 1234, (buf, at) => buf.writeFloatLE(NaN, at)),
    /tensor 'blk\.0\.ffn_up\.weight' has a non-finite value \(NaN\) at element 1234/],
  ['F32 norm value -Inf', () => spliced('tiny-llama-f32.gguf', 'output_norm.weight', 4 * 7, (buf, at) => buf.writeFloatLE(-Infinity, at)),
    /tensor 'output_norm\.weight' has a non-finite value \(Inf\) at element 7/],
];

for (const [what, make, message] of refusals) {
  test(`a spliced file is refused while it loads: ${what}`, async () => {
    const bytes = make();
    await assert.rejects(loadModel(new Uint8Array(bytes), { threads: 1, warmup: false }), message);
    // in small chunks too (blocks split across reads are still checked)
    const chunks = new ReadableStream({
      start(c) {
        for (let o = 0; o < bytes.length; o += 1000) c.enqueue(new Uint8Array(bytes.subarray(o, o + 1000)));
        c.close();
      },
    });
    await assert.rejects(loadModel(chunks, { threads: 1, warmup: false }), message);
  });
}

test('Q5_0 and IQ4_NL matrices are checked in their own layout', async () => {
  const f32 = readFileSync(fixture('models', 'tiny-llama-f32.gguf'));
  for (const [type, block] of [['Q5_0', 22], ['IQ4_NL', 18]]) {
    const bytes = withMatrices(f32, type);
    const g = parseGguf(bytes);
    const t = g.tensors.find((x) => x.name === 'blk.0.attn_k.weight');
    bytes.writeUInt16LE(HALF_INF, g.dataOffset + t.offset + 9 * block);
    await assert.rejects(loadModel(new Uint8Array(bytes), { threads: 1, warmup: false }),
      /tensor 'blk\.0\.attn_k\.weight' has a non-finite scale \(Inf\) in block 9/, type);
  }
});

test('the quantize-while-loading path checks the F32 source values', async () => {
  const bytes = spliced('tiny-llama-f32.gguf', 'blk.1.attn_v.weight', 4 * 99, (buf, at) => buf.writeFloatLE(Infinity, at));
  await assert.rejects(loadModel(new Uint8Array(bytes), { threads: 1, quantize: 'Q4_0', warmup: false }),
    /tensor 'blk\.1\.attn_v\.weight' has a non-finite value \(Inf\) at element 99/);
});

test('quantizeModel refuses a corrupt input by tensor and block', async () => {
  const bytes = halfAt('tiny-llama-Q8_0.gguf', 'blk.1.ffn_up.weight', 'Q8_0', 42, 0, HALF_NAN);
  await assert.rejects(quantizeModel(new Uint8Array(bytes), () => {}, { type: 'Q4_0' }),
    /tensor 'blk\.1\.ffn_up\.weight' has a non-finite scale \(NaN\) in block 42/);
});

test('an untouched file still loads and gives finite logits', async () => {
  const model = await loadModel(fixture('models', 'tiny-llama-Q4_K_M.gguf'), { threads: 1, warmup: false });
  try {
    const logits = await model.forward([1, 450, 4996]);
    assert.ok(logits.every(Number.isFinite));
  } finally {
    await model.dispose();
  }
});

// Finite weights whose products overflow float: a final norm and an output
// matrix of +-1e30 make every logit a sum of +-Inf, i.e. NaN or Inf.
const OVERFLOW = join(tmp, 'overflow-f32.gguf');
writeLlama(OVERFLOW, { dim: 64, ffn: 128, layers: 1, heads: 2 }, 'F32', (t, nbytes) => {
  const b = Buffer.alloc(nbytes);
  const value = t.name === 'token_embd.weight' ? () => 1 : t.name.startsWith('output') ? (i) => (i % 3 ? 1e30 : -1e30) : null;
  if (!value) return undefined;
  for (let i = 0; i < nbytes / 4; i++) b.writeFloatLE(value(i), 4 * i);
  return b;
});

test('overflowing logits are an error from forward(), not numbers', async () => {
  const model = await loadModel(OVERFLOW, { threads: 1 });
  try {
    await assert.rejects(model.forward([1, 260, 261]), /the model produced non-finite logits at position 0/);
    await assert.rejects(model.forward([1, 260, 261], { logits: 'last' }), /the model produced non-finite logits at position 2/);
  } finally {
    await model.dispose();
  }
});

test('overflowing logits are an error from generate(), not tokens', async () => {
  const model = await loadModel(OVERFLOW, { threads: 1 });
  try {
    const tokens = [];
    await assert.rejects(async () => {
      for await (const piece of model.generate('ab', { maxTokens: 4, temperature: 0 })) tokens.push(piece);
    }, /the model produced non-finite logits at position \d+/);
    assert.deepEqual(tokens, []);
  } finally {
    await model.dispose();
  }
});

test('greenformer run exits non-zero on non-finite logits', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/greenformer.mjs'), 'run', OVERFLOW, '-p', 'ab', '-n', '4', '--temp', '0'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /non-finite logits at position \d+/);
  assert.equal(r.stdout, '');
});
