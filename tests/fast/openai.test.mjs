// The OpenAI-shaped API: chat.completions (whole and streamed), completions
// and embeddings give OpenAI's objects with the same text and tokens as the
// native calls; tool calls are parsed in each template family's format.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { parseToolCalls, toolFormat } from '../../web/openai.js';
import { withAddedString } from '../helpers/patch.mjs';
import { fixture } from '../helpers/fixtures.mjs';

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const QWEN = withAddedString(fixture('models', 'tiny-qwen2-Q8_0.gguf'), 'tokenizer.chat_template', CHATML);
const MESSAGES = [{ role: 'system', content: 'You are concise.' }, { role: 'user', content: [{ type: 'text', text: 'Name a river.' }] }];

test('chat.completions.create: a chat.completion with the text and tokens of chat() under OpenAI\'s sampling defaults', async () => {
  const model = await loadModel(QWEN);
  try {
    const r = await model.chat.completions.create({ model: 'tiny', messages: MESSAGES, max_tokens: 12, seed: 7 });
    assert.match(r.id, /^chatcmpl-[0-9a-f]{24}$/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'tiny');
    assert.ok(Number.isInteger(r.created) && Math.abs(r.created - Date.now() / 1000) < 60);
    const [choice] = r.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.finish_reason, 'length');
    assert.equal(choice.logprobs, null);
    const gen = model.chat([{ role: 'system', content: 'You are concise.' }, { role: 'user', content: 'Name a river.' }], {
      maxTokens: 12, seed: 7, temperature: 1, topP: 1, topK: 0, minP: 0,
    });
    let text = '';
    for await (const piece of gen) text += piece;
    assert.equal(choice.message.content, text);
    assert.deepEqual(r.usage, { prompt_tokens: gen.stats.promptTokens, completion_tokens: 12, total_tokens: gen.stats.promptTokens + 12 });

    // streamed: role first, then the same text in pieces, then the finish reason, then usage
    const chunks = [];
    for await (const c of await model.chat.completions.create({ messages: MESSAGES, max_tokens: 12, seed: 7, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), text);
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.deepEqual(chunks.at(-1).usage, r.usage);

    // stop strings give finish_reason 'stop'; logprobs come as OpenAI's token entries
    const cut = text.slice(3, 6);
    const stopped = await model.chat.completions.create({ messages: MESSAGES, max_tokens: 12, seed: 7, stop: [cut], logprobs: true, top_logprobs: 2 });
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.equal(stopped.choices[0].message.content, text.slice(0, text.indexOf(cut)));
    const lp = stopped.choices[0].logprobs.content;
    assert.ok(lp.length >= 1);
    for (const e of lp) {
      assert.equal(typeof e.token, 'string');
      assert.ok(e.logprob <= 0 && Array.isArray(e.bytes) && e.top_logprobs.length === 2);
    }
  } finally {
    await model.dispose();
  }
});

test('completions.create and embeddings.create', async () => {
  const model = await loadModel(fixture('models', 'tiny-llama-Q4_0.gguf'));
  try {
    const r = await model.completions.create({ prompt: 'Once upon a time', max_tokens: 6, seed: 3, logprobs: 2, echo: true });
    assert.equal(r.object, 'text_completion');
    const gen = model.generate('Once upon a time', { maxTokens: 6, seed: 3, temperature: 1, topP: 1, topK: 0, minP: 0 });
    let text = '';
    for await (const piece of gen) text += piece;
    assert.equal(r.choices[0].text, 'Once upon a time' + text);
    assert.equal(r.choices[0].logprobs.tokens.length, 6);
    assert.equal(r.choices[0].logprobs.text_offset[0], 'Once upon a time'.length);
    assert.equal(r.usage.completion_tokens, 6);
    const streamed = [];
    for await (const c of await model.completions.create({ prompt: 'Once upon a time', max_tokens: 6, seed: 3, stream: true })) streamed.push(c);
    assert.equal(streamed.map((c) => c.choices[0].text).join(''), text);
    assert.equal(streamed.at(-1).choices[0].finish_reason, 'length');
    await assert.rejects(model.completions.create({ prompt: 'x', n: 2 }), /n must be 1/);
    await assert.rejects(model.chat.completions.create({ messages: MESSAGES, max_tokenz: 2 }), /unknown option 'max_tokenz' \(did you mean 'max_tokens'\?\)/);
  } finally {
    await model.dispose();
  }
  const bert = await loadModel(fixture('models', 'tiny-bert-Q8_0.gguf'));
  try {
    const e = await bert.embeddings.create({ input: ['first', 'second'] });
    assert.equal(e.object, 'list');
    assert.equal(e.data.length, 2);
    assert.deepEqual(e.data[1].embedding, Array.from(await bert.embed('second')));
    assert.equal(e.usage.prompt_tokens, (await bert.tokenize('first')).length + (await bert.tokenize('second')).length);
    const b = await bert.embeddings.create({ input: 'first', encoding_format: 'base64' });
    const bytes = Buffer.from(b.data[0].embedding, 'base64');
    assert.deepEqual(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)), e.data[0].embedding);
    const short = await bert.embeddings.create({ input: 'first', dimensions: 8 });
    assert.equal(short.data[0].embedding.length, 8);
    assert.ok(Math.abs(Math.hypot(...short.data[0].embedding) - 1) < 1e-5);
  } finally {
    await bert.dispose();
  }
});

test('tool calls: the template family\'s format, parsed into OpenAI tool_calls', async () => {
  assert.equal(toolFormat('{{ "<tool_call>" }}'), 'hermes');
  assert.equal(toolFormat('[TOOL_CALLS]'), 'mistral');
  assert.equal(toolFormat('<|start_header_id|>ipython ... parameters'), 'llama3');
  assert.equal(toolFormat(CHATML), null);
  const hermes = parseToolCalls('Let me look.\n<tool_call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>', 'hermes');
  assert.equal(hermes.content, 'Let me look.');
  assert.equal(hermes.calls[0].function.name, 'weather');
  assert.deepEqual(JSON.parse(hermes.calls[0].function.arguments), { city: 'Oslo' });
  assert.match(hermes.calls[0].id, /^call-/);
  const mistral = parseToolCalls('[TOOL_CALLS] [{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]', 'mistral');
  assert.equal(mistral.content, null);
  assert.deepEqual(mistral.calls.map((c) => c.function.name), ['a', 'b']);
  const llama = parseToolCalls('<|python_tag|>{"name": "weather", "parameters": {"city": "Rome"}}', 'llama3');
  assert.deepEqual(JSON.parse(llama.calls[0].function.arguments), { city: 'Rome' });
  assert.deepEqual(parseToolCalls('just text', 'llama3'), { content: 'just text', calls: [] });
  assert.deepEqual(parseToolCalls('<tool_call>not json</tool_call>', 'hermes').calls, []);

  // tools reach the template as `tools`; a template without a tool format is refused, and forced calls are not supported
  const hermesTemplate = "{% if tools %}{% for t in tools %}<tools>{{ t['function']['name'] }}</tools>{% endfor %}{% endif %}{% for m in messages %}{{ m['content'] }}{% endfor %}<tool_call>";
  const model = await loadModel(withAddedString(fixture('models', 'tiny-qwen2-Q8_0.gguf'), 'tokenizer.chat_template', hermesTemplate));
  try {
    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }];
    const r = await model.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], tools, max_tokens: 3, seed: 1 });
    assert.ok(['length', 'tool_calls'].includes(r.choices[0].finish_reason));
    // a forced call: the grammar lets the reply be nothing but a call of the named tool, with valid arguments
    const weather = { type: 'function', function: { name: 'forecast', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'] } } };
    for (const [choice, seed] of [['required', 1], [{ type: 'function', function: { name: 'forecast' } }, 2]]) {
      const forced = await model.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], tools: [...tools, weather], tool_choice: choice, max_tokens: 120, seed });
      const [call] = forced.choices[0].message.tool_calls;
      assert.equal(forced.choices[0].finish_reason, 'tool_calls');
      if (choice !== 'required') assert.equal(call.function.name, 'forecast');
      assert.ok(['weather', 'forecast'].includes(call.function.name));
      const args = JSON.parse(call.function.arguments);
      if (call.function.name === 'forecast') {
        assert.equal(typeof args.city, 'string');
        assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, call.function.arguments);
      }
    }
    await assert.rejects(model.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: { type: 'function', function: { name: 'nope' } } }), /naming one of the tools, got "nope"/);
  } finally {
    await model.dispose();
  }
  const plain = await loadModel(QWEN);
  try {
    await assert.rejects(plain.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }] }), /does not render tools/);
  } finally {
    await plain.dispose();
  }
});
