// The public JS API: every kind of source, progress, aborts, clear errors,
// generation options and lifecycle.
import assert from 'node:assert/strict';
import { readFileSync, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { loadModel } from '../../web/index.js';
import { withStringValue, withTensorType, withU32Value } from '../helpers/patch.mjs';
import { startServer } from '../helpers/server.mjs';
import { fixture, readJson } from '../helpers/fixtures.mjs';

const ref = readJson('reference', 'tiny-llama.json');
const Q4_0 = fixture('models', 'tiny-llama-Q4_0.gguf');
const IDS = [1, 450, 4996];

async function logitsOf(source, options) {
  const model = await loadModel(source, options);
  try {
    return await model.forward(IDS);
  } finally {
    await model.dispose();
  }
}

test('every kind of source loads the same model', async () => {
  const expected = await logitsOf(Q4_0);
  const server = await startServer({ '/m.gguf': { file: Q4_0 } });
  try {
    const bytes = readFileSync(Q4_0);
    const sources = {
      'file URL string': pathToFileURL(Q4_0).href,
      'URL object': pathToFileURL(Q4_0),
      'http URL': server.url('/m.gguf'),
      Response: await fetch(server.url('/m.gguf')),
      Blob: new Blob([bytes]),
      ArrayBuffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      Uint8Array: new Uint8Array(bytes),
      ReadableStream: Readable.toWeb(createReadStream(Q4_0, { highWaterMark: 4099 })),
    };
    for (const [kind, source] of Object.entries(sources)) {
      const got = await logitsOf(source);
      assert.deepEqual(got, expected, `${kind} gives different logits`);
    }
  } finally {
    await server.close();
  }
});

test('progress events rise to exactly 1; size comes from the header when the source does not say', async () => {
  for (const source of [Q4_0, Readable.toWeb(createReadStream(Q4_0))]) {
    const events = [];
    const model = await loadModel(source, { onProgress: (p) => events.push(p) });
    await model.dispose();
    assert.ok(events.length >= 2);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded, 'loaded went backwards');
    const last = events.at(-1);
    assert.equal(last.fraction, 1);
    assert.equal(last.total, readFileSync(Q4_0).length);
    assert.equal(last.loaded, last.total);
  }
});

test('an abort signal stops a download, and the next load works', async () => {
  const controller = new AbortController();
  const load = loadModel(Readable.toWeb(createReadStream(Q4_0, { highWaterMark: 1 << 16 })), {
    signal: controller.signal,
    onProgress: (p) => p.loaded > 1 << 20 && controller.abort(),
  });
  await assert.rejects(load, { name: 'AbortError' });
  assert.ok((await logitsOf(Q4_0)).length > 0);
});

test('bad sources fail with clear errors', async (t) => {
  const server = await startServer({
    '/page.gguf': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><body>Please log in</body></html>');
    },
  });
  try {
    const cases = [
      ['missing file', '/nonexistent/model.gguf', /no such file: \/nonexistent\/model\.gguf/],
      ['HTTP 404', server.url('/missing.gguf'), /HTTP 404/],
      ['an HTML page', server.url('/page.gguf'), /not a GGUF file.*HTML/],
      ['a truncated file', readFileSync(Q4_0).subarray(0, 5_000_000), /truncated/],
      ['a truncated stream', Readable.toWeb(Readable.from([readFileSync(Q4_0).subarray(0, 5_000_000)])), /file ends after 5000000 bytes, inside tensor/],
      ['an empty file', new Uint8Array(0), /empty/],
      ['a header cut short', readFileSync(Q4_0).subarray(0, 1000), /ends inside the header/],
      ['an unsupported tensor type', withTensorType(Q4_0, 'blk.1.ffn_up.weight', 17), /tensor 'blk\.1\.ffn_up\.weight' has unsupported type IQ2_XS/],
      ['an unknown tensor type id', withTensorType(Q4_0, 'blk.1.ffn_up.weight', 99), /unknown type id 99/],
      ['an unsupported architecture', withStringValue(Q4_0, 'general.architecture', 'gemma'), /architecture 'gemma' is not supported \(supported: llama, deci, qwen2, qwen3, phi3, smollm3, granite, starcoder2, stablelm, gpt2, bert, gemma2, gemma3, olmo2\)/],
      ['a vocabulary-only file', fixture('tokenizers', 'ggml-vocab-llama-spm.gguf'), /no tensors.*vocabOnly/],
      ['not a source', 42, /source must be/],
    ];
    for (const [what, source, message] of cases) {
      await assert.rejects(loadModel(source), message, what);
      t.diagnostic(`${what}: rejected`);
    }
    await assert.rejects(loadModel(Q4_0, { maxMemory: 4 << 20 }), /needs \d+\.\d MB of wasm memory .* more than the 4\.0 MB allowed \(maxMemory/);
    await assert.rejects(loadModel(Q4_0, { contextLength: -3 }), /contextLength must be an integer in 1\.\.1048576, got -3/);
  } finally {
    await server.close();
  }
});

test('the unsupported-type error comes before the weights are read', async () => {
  const bytes = withTensorType(Q4_0, 'blk.1.ffn_up.weight', 17);
  let loaded = 0;
  await assert.rejects(loadModel(Readable.toWeb(Readable.from(chunks(bytes, 65536))), { onProgress: (p) => (loaded = p.loaded) }), /IQ2_XS/);
  assert.ok(loaded < 2_000_000, `read ${loaded} bytes before failing`);
});

function* chunks(buf, n) {
  for (let i = 0; i < buf.length; i += n) yield buf.subarray(i, i + n);
}

test('info describes the model and how it runs', async () => {
  const model = await loadModel(Q4_0, { contextLength: 256 });
  try {
    const info = model.info();
    assert.equal(info.architecture, 'llama');
    assert.equal(info.nVocab, 32000);
    assert.equal(info.dim, 256);
    assert.equal(info.nLayer, 2);
    assert.equal(info.nHeadKv, 2);
    assert.equal(info.contextLength, 256);
    assert.deepEqual(info.tensorTypes, { F32: 5, Q4_0: 14, Q6_K: 1 });
    assert.equal(info.tiedOutput, true);
    assert.equal(info.weightsLoaded, true);
    assert.ok(info.threads >= 1);
    assert.equal(typeof info.build, 'string');
    info.dim = 1; // a copy: callers cannot corrupt the model's own description
    assert.equal(model.info().dim, 256);
  } finally {
    await model.dispose();
  }
});

test('kvCache: auto picks q8_0 where the heads fit and f32 where not; q8_0 on heads that do not fit says why', async () => {
  await assert.rejects(loadModel(Q4_0, { kvCache: 'q4' }), /kvCache must be 'auto' or one of 'f32', 'f16', 'q8_0', got q4/);
  // the same file with 16 heads of 16 (8 KV heads, RoPE over all 16): Q8_0's blocks of 32 do not fit a head
  const narrow = ['llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.rope.dimension_count'].reduce(
    (buf, key, i) => withU32Value(buf, key, [16, 8, 16][i]),
    readFileSync(Q4_0),
  );
  for (const [source, headDim, auto] of [[Q4_0, 64, 'q8_0'], [narrow, 16, 'f32']]) {
    const model = await loadModel(source);
    try {
      assert.equal(model.info().headDim, headDim);
      assert.equal(model.info().kvCache, auto);
      assert.ok((await model.forward(IDS)).every(Number.isFinite));
    } finally {
      await model.dispose();
    }
  }
  await assert.rejects(loadModel(narrow, { kvCache: 'q8_0' }), /KV cache type q8_0 needs a head dimension that is a multiple of 32; this model's is 16/);
  const bert = await loadModel(fixture('models', 'tiny-bert-Q8_0.gguf'));
  assert.equal(bert.info().kvCache, 'f32', 'encoders keep f32 (one pass, no cache to grow)');
  await bert.dispose();
});

test('warmup: on by default, timed in info(), and it leaves no trace in logits or generation', async () => {
  await assert.rejects(loadModel(Q4_0, { warmup: 'yes' }), /warmup must be true or false, got "yes"/);
  // Q4_K_M mixes Q4_K and Q6_K layers: the warm-up runs one layer per new mix
  for (const file of [Q4_0, fixture('models', 'tiny-llama-Q4_K_M.gguf')]) {
    const runs = [];
    for (const warmup of [false, true]) {
      const model = await loadModel(file, { warmup });
      try {
        const { warmupMs } = model.info();
        if (warmup) assert.ok(warmupMs > 0, `warmupMs ${warmupMs}`);
        else assert.equal(warmupMs, null);
        const logits = await model.forward(IDS);
        const gen = model.generate(IDS, { maxTokens: 8, temperature: 0.8, seed: 7, ignoreEos: true });
        let text = '';
        for await (const piece of gen) text += piece;
        runs.push({ logits, tokens: gen.stats.tokens, text });
      } finally {
        await model.dispose();
      }
    }
    assert.deepEqual(runs[1].logits, runs[0].logits);
    assert.deepEqual(runs[1].tokens, runs[0].tokens);
    assert.equal(runs[1].text, runs[0].text);
  }
  const vocab = await loadModel(Q4_0, { vocabOnly: true });
  assert.equal(vocab.info().warmupMs, null, 'nothing to warm without weights');
  await vocab.dispose();
});

test('tokenize and detokenize round-trip the reference prompt', async () => {
  const model = await loadModel(Q4_0);
  try {
    assert.deepEqual(await model.tokenize(ref.prompt), ref.prompt_ids);
    assert.deepEqual(await model.tokenize(ref.prompt, { addSpecial: false }), ref.prompt_ids.slice(1));
    assert.equal(await model.detokenize(ref.prompt_ids), ref.prompt);
  } finally {
    await model.dispose();
  }
});

test('generation: same seed same text, options validated, stop reasons', async () => {
  const model = await loadModel(Q4_0);
  try {
    const run = async (opts) => {
      const gen = model.generate('Once upon a time', { maxTokens: 12, ...opts });
      let text = '';
      for await (const piece of gen) text += piece;
      return { text, stats: gen.stats };
    };
    const a = await run({ seed: 7, temperature: 1.0, topK: 0, topP: 1, minP: 0 });
    const b = await run({ seed: 7, temperature: 1.0, topK: 0, topP: 1, minP: 0 });
    const c = await run({ seed: 8, temperature: 1.0, topK: 0, topP: 1, minP: 0 });
    assert.deepEqual(a.stats.tokens, b.stats.tokens);
    assert.equal(a.text, b.text);
    assert.notDeepEqual(a.stats.tokens, c.stats.tokens);
    assert.equal(a.stats.generatedTokens, 12);
    assert.equal(a.stats.stopReason, 'length');
    assert.equal(a.stats.promptTokens, 5); // BOS + 4 pieces

    for (const [opts, message] of [
      [{ temperature: -1 }, /temperature must be a finite number >= 0, got -1/],
      [{ topP: 1.5 }, /topP must be a number in \(0, 1\], got 1.5/],
      [{ minP: -0.1 }, /minP must be a number in 0\.\.1, got -0.1/],
      [{ topK: -2 }, /topK must be an integer in 0\.\.2147483647, got -2/],
      [{ repeatPenalty: 0 }, /repeatPenalty must be a finite number > 0, got 0/],
      [{ maxTokens: 0 }, /maxTokens must be an integer in 1\.\.\d+, got 0/],
      [{ seed: 1.5 }, /seed must be an integer in 0\.\.4294967295, got 1.5/],
      [{ temperature: 'hot' }, /temperature must be a finite number >= 0, got "hot"/],
    ]) {
      await assert.rejects(run(opts), message);
    }

    const full = await loadModel(Q4_0, { contextLength: 10 });
    try {
      const gen = full.generate('Once upon a time', { maxTokens: 100, ignoreEos: true, temperature: 0 });
      for await (const _ of gen);
      assert.equal(gen.stats.stopReason, 'context');
      assert.equal(gen.stats.promptTokens + gen.stats.generatedTokens, 11);
      await assert.rejects(async () => {
        for await (const _ of full.generate('a b c d e f g h i j k l', { maxTokens: 1 }));
      }, /prompt has \d+ tokens but the context holds 10/);
    } finally {
      await full.dispose();
    }
  } finally {
    await model.dispose();
  }
});

test('generation stops on abort, and the model stays usable', async () => {
  const model = await loadModel(Q4_0);
  try {
    const controller = new AbortController();
    let pieces = 0;
    await assert.rejects(async () => {
      for await (const _ of model.generate('Hello', { maxTokens: 200, ignoreEos: true, signal: controller.signal })) {
        if (++pieces === 3) controller.abort();
      }
    }, { name: 'AbortError' });
    assert.equal(pieces, 3);
    const gen = model.generate('Hello', { maxTokens: 4, temperature: 0 });
    for await (const _ of gen);
    assert.equal(gen.stats.generatedTokens, 4);
  } finally {
    await model.dispose();
  }
});

test('concurrent calls on one model run one after another with the results of running alone', async () => {
  const model = await loadModel(Q4_0);
  try {
    const collect = async (seed) => {
      const gen = model.generate('The quick brown fox', { maxTokens: 8, seed, temperature: 0.9 });
      for await (const _ of gen);
      return gen.stats.tokens;
    };
    const alone = [await collect(1), await collect(2)];
    const together = await Promise.all([collect(1), collect(2), model.forward(IDS)]);
    assert.deepEqual(together.slice(0, 2), alone);
  } finally {
    await model.dispose();
  }
});

test('forward rejects bad ids; a disposed model rejects every call', async () => {
  const model = await loadModel(Q4_0, { contextLength: 8 });
  await assert.rejects(model.forward([1, 32000]), /token id at index 1 must be an integer in 0\.\.31999, got 32000/);
  await assert.rejects(model.forward([1, -1]), /token id at index 1 must be an integer in 0\.\.31999, got -1/);
  await assert.rejects(model.forward([]), /no tokens/);
  await assert.rejects(model.forward(new Array(9).fill(1)), /do not fit in the context/);
  await assert.rejects(model.forward(['a']), /token id at index 0 must be an integer in 0\.\.31999, got "a"/);
  await model.dispose();
  await model.dispose(); // twice is fine
  await assert.rejects(model.forward(IDS), /disposed/);
  await assert.rejects(model.tokenize('x'), /disposed/);
  await assert.rejects(async () => {
    for await (const _ of model.generate('x'));
  }, /disposed/);
});

test('vocabOnly loads tokenize without weights and stop reading after the header', async () => {
  let loaded = 0;
  const model = await loadModel(fixture('models', 'tiny-llama-f32.gguf'), { vocabOnly: true, onProgress: (p) => (loaded = p.loaded) });
  try {
    assert.ok(loaded < 4_000_000, `read ${loaded} bytes`);
    assert.deepEqual(await model.tokenize(ref.prompt), ref.prompt_ids);
    assert.equal(model.info().weightsLoaded, false);
    assert.equal(model.info().kvCache, null);
    await assert.rejects(model.forward(IDS), /without its weights/);
  } finally {
    await model.dispose();
  }
});

test('threads: the pthreads build gives bit-identical results and says how many threads run', async () => {
  const results = [];
  for (const threads of [1, 2]) {
    const model = await loadModel(Q4_0, { threads });
    try {
      const info = model.info();
      assert.equal(info.threads, threads);
      assert.equal(info.build, threads > 1 ? 'greenformer-mt' : 'greenformer');
      assert.match(info.threadsReason, threads > 1 ? /^2 threads/ : /^1 thread/);
      // Node 20 has no relaxed SIMD without flags (Node 22 has it, emulated on x86 without AVX-VNNI)
      assert.match(info.simdReason, /^plain: auto, this engine has no relaxed SIMD|^relaxed(16)?: auto, /);
      assert.equal(info.build.includes('relaxed'), info.simdReason.startsWith('relaxed'));
      const logits = await model.forward(ref.variants.Q4_0.tokens);
      const gen = model.generate('Once upon a time', { maxTokens: 16, seed: 11, temperature: 0.9 });
      for await (const _ of gen);
      results.push({ logits, tokens: gen.stats.tokens });
    } finally {
      await model.dispose();
    }
  }
  assert.ok(results[0].logits.every((x, i) => Object.is(x, results[1].logits[i])), 'logits differ between 1 and 2 threads');
  assert.deepEqual(results[0].tokens, results[1].tokens);
  const small = await loadModel(Q4_0);
  try {
    assert.equal(small.info().threads, 1);
    assert.match(small.info().threadsReason, /auto, model under 64 MB/);
  } finally {
    await small.dispose();
  }
  await assert.rejects(loadModel(Q4_0, { threads: 0 }), /threads must be an integer in 1\.\.64, got 0/);
});
