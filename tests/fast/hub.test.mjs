// Models by their Hugging Face Hub names: 'hf:owner/repo/file.gguf[@revision]'
// and { hf: { repo, file, revision } } resolve to {endpoint}/{repo}/resolve/
// {revision}/{file}; a local server stands in for the hub.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { hubUrl } from '../../web/hub.js';
import { startServer } from '../helpers/server.mjs';
import { fixture } from '../helpers/fixtures.mjs';

const FILE = fixture('models', 'tiny-llama-Q4_0.gguf');

test('hf: names load from the hub endpoint, with the file\'s own logits', async () => {
  const server = await startServer({
    '/ggml-org/tiny/resolve/main/tiny-llama-Q4_0.gguf': { file: FILE },
    '/ggml-org/tiny/resolve/v1.0/sub/dir/m.gguf': { file: FILE },
  });
  try {
    const direct = await loadModel(FILE);
    const expected = await direct.forward([1, 450]);
    await direct.dispose();
    for (const source of ['hf:ggml-org/tiny/tiny-llama-Q4_0.gguf', 'hf:ggml-org/tiny/sub/dir/m.gguf@v1.0', { hf: { repo: 'ggml-org/tiny', file: 'sub/dir/m.gguf', revision: 'v1.0' } }]) {
      const model = await loadModel(source, { hubEndpoint: server.url(''), cache: false });
      try {
        assert.match(model.info().source, new RegExp(`^${server.url('')}/ggml-org/tiny/resolve/`));
        assert.deepEqual(await model.forward([1, 450]), expected);
      } finally {
        await model.dispose();
      }
    }
    assert.equal(hubUrl({ repo: 'Qwen/Qwen3-0.6B-GGUF', file: 'Qwen3-0.6B-Q8_0.gguf', revision: 'main' }), 'https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf');
    for (const [source, message] of [
      ['hf:ggml-org/tiny', /a hub source is 'hf:owner\/repo\/file\.gguf'/],
      ['hf:bad repo/x/m.gguf', /a hub source is/],
      [{ hf: { repo: 'a', file: 'm.gguf' } }, /hf repo must be 'owner\/name', got "a"/],
      [{ hf: { repo: 'a/b', file: '../m.gguf' } }, /hf file must be a path inside the repository/],
      [{ hf: { repo: 'a/b', file: 'm.gguf', branch: 'x' } }, /unknown key 'branch' in \{ hf \}/],
    ]) {
      await assert.rejects(loadModel(source, { hubEndpoint: server.url('') }), message);
    }
    await assert.rejects(loadModel(FILE, { hubEndpoint: server.url('') }), /hubEndpoint is for hf: sources/);
    await assert.rejects(loadModel('hf:a/b/m.gguf', { hubEndpoint: 'ftp://x' }), /hubEndpoint must be an http\(s\) URL/);
    await assert.rejects(loadModel('hf:ggml-org/tiny/missing.gguf', { hubEndpoint: server.url('') }), /HTTP 404/);
  } finally {
    await server.close();
  }
});
