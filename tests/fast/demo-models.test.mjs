// The demo's model list (demo/models.js): the built-in model is a file the demo ships, and every other entry
// is a valid hf: source whose file name says the listed type. No network: the hub is never asked.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { MODELS, describe } from '../../demo/models.js';
import { hubReference, hubUrl } from '../../web/hub.js';
import { ROOT } from '../helpers/fixtures.mjs';

test('demo model list: the offline default first, then hf: sources that parse, each file of its listed type', () => {
  const [first, ...hub] = MODELS;
  assert.ok(existsSync(join(ROOT, 'demo', first.source)), first.source);
  assert.equal(hubReference(first.source), null);
  assert.ok(hub.length >= 6);
  assert.equal(new Set(MODELS.map((m) => m.id)).size, MODELS.length);
  for (const m of hub) {
    const ref = hubReference(m.source);
    assert.ok(ref, `${m.id}: ${m.source} is not an hf: source`);
    assert.equal(ref.revision, 'main');
    assert.match(ref.file, /\.gguf$/);
    assert.ok(ref.file.toLowerCase().includes(m.quant.toLowerCase()), `${m.id}: ${ref.file} is not ${m.quant}`);
    assert.match(hubUrl(ref), /^https:\/\/huggingface\.co\/[\w.-]+\/[\w.-]+\/resolve\/main\/[\w.%-]+\.gguf$/);
    assert.ok(m.mb > 0 && m.label && m.note && m.params, m.id);
    assert.match(describe(m), /^[\d.]+ [MB] · \w+ · [\d.]+ (MB|GB)$/);
  }
  assert.match(describe(first), / · offline$/);
  for (const wanted of ['Qwen/Qwen3-0.6B-GGUF', 'HuggingFaceTB/SmolLM2-360M-Instruct-GGUF', 'bartowski/Llama-3.2-1B-Instruct-GGUF']) {
    assert.ok(hub.some((m) => hubReference(m.source).repo === wanted), wanted);
  }
});
