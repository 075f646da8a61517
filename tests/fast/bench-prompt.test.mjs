// The benchmark's prompt for --files whose vocabulary is not llama's SentencePiece
// (bench/lib/prompt-text.mjs): exactly the asked number of tokens, BOS or not, by
// greenformer's tokenizer, and the same text every time.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { promptFromTokenizer } from '../../bench/lib/prompt-text.mjs';
import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

for (const [file, vocab] of [['models/tiny-qwen2-Q8_0.gguf', 'GPT-2 BPE, no BOS'], ['models/tiny-llama-Q4_0.gguf', 'SentencePiece, BOS']]) {
  test(`bench prompt from greenformer's tokenizer: ${vocab} (${file})`, async () => {
    const model = await loadModel(fixture(...file.split('/')), { vocabOnly: true });
    try {
      const tokenize = (text) => model.tokenize(text);
      for (const n of [32, 128]) {
        const a = await promptFromTokenizer(tokenize, n), b = await promptFromTokenizer(tokenize, n);
        assert.equal(a.ids.length, n);
        assert.deepEqual(await tokenize(a.text), a.ids);
        assert.deepEqual(a, b, 'deterministic');
        assert.match(a.text, /^[a-z]+( [a-z]+)+$/);
      }
      await assert.rejects(promptFromTokenizer(async (t) => new Array(t ? 2 : 1).fill(0), 1), /already 1 tokens/);
    } finally {
      await model.dispose();
    }
  });
}
