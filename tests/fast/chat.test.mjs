// Chat templates rendered by a real Jinja implementation to the exact strings
// the template families define, and model.chat() end to end.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderChat } from '../../web/chat.js';
import { loadModel } from '../../web/index.js';
import { fixture } from '../helpers/fixtures.mjs';

// The templates as the models ship them (tokenizer_config.json chat_template).
const TEMPLATES = {
  chatml:
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  gemma:
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}",
  mistral:
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
};

const SYSTEM_USER = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'Hi' },
];
const TURNS = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'How are you?' },
];

test('ChatML', async () => {
  assert.equal(
    await renderChat(TEMPLATES.chatml, SYSTEM_USER),
    '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(await renderChat(TEMPLATES.chatml, SYSTEM_USER, { addGenerationPrompt: false }), '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
});

test('Llama 3', async () => {
  assert.equal(
    await renderChat(TEMPLATES.llama3, SYSTEM_USER, { bosToken: '<|begin_of_text|>' }),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('Phi-3, from the phi-3 GGUF itself', async () => {
  const vocab = await loadModel(fixture('tokenizers', 'ggml-vocab-phi-3.gguf'), { vocabOnly: true });
  try {
    const template = vocab.chatTemplate();
    assert.match(template, /<\|user\|>/);
    assert.equal(await vocab.renderChat(TURNS), '<s><|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n');
  } finally {
    await vocab.dispose();
  }
});

test('Gemma', async () => {
  assert.equal(
    await renderChat(TEMPLATES.gemma, TURNS, { bosToken: '<bos>' }),
    '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n',
  );
  await assert.rejects(renderChat(TEMPLATES.gemma, SYSTEM_USER, { bosToken: '<bos>' }), /refused these messages: .*System role not supported/);
});

test('Mistral', async () => {
  assert.equal(await renderChat(TEMPLATES.mistral, TURNS, { bosToken: '<s>', eosToken: '</s>' }), '<s>[INST] Hi [/INST]Hello!</s>[INST] How are you? [/INST]');
  await assert.rejects(renderChat(TEMPLATES.mistral, [{ role: 'assistant', content: 'x' }], {}), /must alternate/);
});

test('bad templates and messages are clear errors', async () => {
  await assert.rejects(renderChat('{% for %}', TURNS), /does not parse/);
  await assert.rejects(renderChat(TEMPLATES.chatml, []), /non-empty array/);
  await assert.rejects(renderChat(TEMPLATES.chatml, [{ role: 'user' }]), /string content/);
  await assert.rejects(renderChat(null, TURNS), /no chat template/);
});

test('model.chat renders, then generates from the rendered prompt (control tokens parsed, no second BOS)', async () => {
  const model = await loadModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'));
  try {
    await assert.rejects(async () => {
      for await (const _ of model.chat(TURNS));
    }, /no chat template; pass one/);
    const opts = { maxTokens: 12, seed: 5, temperature: 0.9 };
    const chat = model.chat(SYSTEM_USER, { ...opts, template: TEMPLATES.chatml });
    let text = '';
    for await (const piece of chat) text += piece;
    const prompt = await model.renderChat(SYSTEM_USER, { template: TEMPLATES.chatml });
    const gen = model.generate(prompt, { ...opts, parseSpecial: true, addSpecial: false });
    let expected = '';
    for await (const piece of gen) expected += piece;
    assert.equal(text, expected);
    assert.deepEqual(chat.stats.tokens, gen.stats.tokens);
    assert.equal(chat.stats.promptTokens, (await model.tokenize(prompt, { addSpecial: false, parseSpecial: true })).length);
  } finally {
    await model.dispose();
  }
});

test('the README\'s embedding calls give what it says: unit rows of dim, one per text, tokens x dim', async () => {
  const model = await loadModel(fixture('models', 'tiny-bert-Q8_0.gguf'));
  try {
    const { dim } = model.info();
    const norm = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
    const v = await model.embed('a sentence');
    assert.ok(v instanceof Float32Array && v.length === dim);
    assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    const vs = await model.embed(['one', 'two'], { pooling: 'cls', normalize: false });
    assert.equal(vs.length, 2);
    assert.ok(vs.every((x) => x.length === dim) && Math.abs(norm(vs[0]) - 1) > 1e-3, 'cls rows, not normalized');
    const perToken = await model.embed('a sentence', { pooling: 'none' });
    assert.equal(perToken.length, (await model.tokenize('a sentence')).length * dim);
  } finally {
    await model.dispose();
  }
});

test('a conversation: each turn reuses the cached history and replies as a cold model would', async () => {
  const model = await loadModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'), { contextLength: 512 });
  const messages = [{ role: 'system', content: 'You are concise.' }];
  const opts = { template: TEMPLATES.chatml, maxTokens: 10, temperature: 0.9, ignoreEos: true };
  try {
    let previousPrompt = 0;
    for (let turn = 0; turn < 3; turn++) {
      messages.push({ role: 'user', content: `Question number ${turn}?` });
      const chat = model.chat(messages, { ...opts, seed: turn });
      let reply = '';
      for await (const piece of chat) reply += piece;
      assert.equal(chat.stats.generatedTokens, 10);
      if (turn > 0) assert.ok(chat.stats.cachedTokens >= previousPrompt, `turn ${turn}: cached ${chat.stats.cachedTokens} < ${previousPrompt}`);
      const cold = await loadModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'), { contextLength: 512 });
      const again = cold.chat(messages, { ...opts, seed: turn });
      for await (const _ of again);
      await cold.dispose();
      assert.equal(again.stats.cachedTokens, 0);
      assert.deepEqual(chat.stats.tokens, again.stats.tokens, `turn ${turn}`);
      previousPrompt = chat.stats.promptTokens;
      messages.push({ role: 'assistant', content: reply });
    }
  } finally {
    await model.dispose();
  }
});

test('a reply ends at the template\'s end-of-turn marker: a token where the vocabulary has one, else a stop string', async () => {
  const llama = await loadModel(fixture('models', 'tiny-llama-Q4_0.gguf'));
  const phi3 = await loadModel(fixture('tokenizers', 'ggml-vocab-phi-3.gguf'), { vocabOnly: true });
  try {
    assert.deepEqual(llama.endOfTurn(TEMPLATES.chatml), { tokens: [], strings: ['<|im_end|>'] });
    const end = await phi3.tokenize('<|end|>', { addSpecial: false, parseSpecial: true });
    assert.equal(end.length, 1);
    assert.deepEqual(phi3.endOfTurn('{{ "<|user|>" + m + "<|end|>" }}'), { tokens: end, strings: [] });
    assert.deepEqual(llama.endOfTurn(TEMPLATES.gemma), { tokens: [], strings: ['<end_of_turn>'] });
    // stopTokens: a token forced by a bias ends the generation at once, as an end-of-generation token does
    const forced = llama.generate('Hello', { maxTokens: 5, temperature: 0, logitBias: { 450: 100 }, stopTokens: [450] });
    let text = '';
    for await (const piece of forced) text += piece;
    assert.equal(text, '');
    assert.equal(forced.stats.stopReason, 'eos');
    assert.equal(forced.stats.generatedTokens, 0);
    await assert.rejects(async () => {
      for await (const _ of llama.generate('Hello', { stopTokens: [99999] }));
    }, /stopTokens: token id at index 0 must be an integer in 0\.\.31999, got 99999/);
  } finally {
    await llama.dispose();
    await phi3.dispose();
  }
});

test('historyPolicy trim: a conversation longer than the context drops whole old turns and keeps the system message', async () => {
  const model = await loadModel(fixture('models', 'tiny-brown-f32.gguf')); // context 256
  const template = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";
  try {
    const messages = [{ role: 'system', content: 'You answer briefly and well.' }];
    for (let i = 0; i < 12; i++) {
      messages.push({ role: 'user', content: `Tell me about the old house on the hill number ${i}, and the people who lived there.` });
      messages.push({ role: 'assistant', content: 'It was a large house with many rooms, and a family of six lived there for years.' });
    }
    messages.push({ role: 'user', content: 'And the garden?' });
    const opts = { template, maxTokens: 32, seed: 1, ignoreEos: true };
    await assert.rejects(async () => {
      for await (const _ of model.chat(messages, opts));
    }, /the prompt has \d+ tokens but the context holds 256/);
    const chat = model.chat(messages, { ...opts, historyPolicy: 'trim' });
    for await (const _ of chat);
    assert.equal(chat.stats.generatedTokens, 32);
    assert.ok(chat.stats.droppedMessages >= 2 && chat.stats.droppedMessages % 2 === 0, `dropped ${chat.stats.droppedMessages}`);
    assert.ok(chat.stats.promptTokens + 32 <= 256);
    // what was kept: the system message, then the newest turns, ending with the question
    const kept = [messages[0], ...messages.slice(1 + chat.stats.droppedMessages)];
    const expected = await model.renderChat(kept, { template });
    assert.equal(chat.stats.promptTokens, (await model.tokenize(expected, { parseSpecial: true })).length);
    const huge = [{ role: 'system', content: 'x' }, { role: 'user', content: 'word '.repeat(400) }];
    await assert.rejects(async () => {
      for await (const _ of model.chat(huge, { ...opts, historyPolicy: 'trim' }));
    }, /the system messages and the last user message alone leave no room for a 32-token reply in the 256-token context/);
    await assert.rejects(async () => {
      for await (const _ of model.chat(messages, { ...opts, historyPolicy: 'drop' }));
    }, /historyPolicy must be one of 'error', 'trim', got "drop"/);
  } finally {
    await model.dispose();
  }
});
