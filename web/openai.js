// OpenAI-shaped API on top of a model (what web-llm and wllama users already
// write): model.chat.completions.create, model.completions.create and
// model.embeddings.create take OpenAI's request objects and return its
// response objects (chat.completion, text_completion, a list of embeddings),
// or, with stream: true, an async iterable of chunks. Works the same on a
// model in this thread (Model) and in a worker (RemoteModel): it only uses
// their public methods.
//
// Decisions (README, "OpenAI-compatible API"):
// - Sampling defaults are OpenAI's (temperature 1, top_p 1, no top-k/min-p),
//   not generate()'s llama.cpp defaults.
// - max_tokens defaults to what is left of the context.
// - logprobs are the model's log-softmax (see generate's logprobs).
// - Tool calls are parsed from the reply in the template family's format
//   (Hermes/Qwen <tool_call>, Llama 3.x JSON, Mistral [TOOL_CALLS]).

import { jsonSchemaToGrammar } from './json-schema.js';
import { integer, knownKeys, number, show } from './options.js';

const CHAT_KEYS = ['messages', 'model', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p',
  'seed', 'stop', 'logprobs', 'top_logprobs', 'response_format', 'tools', 'tool_choice', 'parallel_tool_calls', 'frequency_penalty',
  'presence_penalty', 'logit_bias', 'n', 'user', 'signal'];
const COMPLETION_KEYS = ['prompt', 'model', 'stream', 'stream_options', 'max_tokens', 'temperature', 'top_p', 'seed', 'stop',
  'logprobs', 'echo', 'frequency_penalty', 'presence_penalty', 'logit_bias', 'n', 'user', 'suffix', 'best_of', 'signal'];
const EMBEDDING_KEYS = ['input', 'model', 'encoding_format', 'dimensions', 'user'];

const now = () => Math.floor(Date.now() / 1000);
function newId(prefix) {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function modelName(model, requested) {
  const info = model.info();
  return typeof requested === 'string' && requested ? requested : info.name || info.architecture || 'greenformer';
}

/** OpenAI's message content (a string, null, or parts) as text; tool calls and ids stay for the template. */
function normalizeMessages(messages) {
  if (!Array.isArray(messages) || !messages.length) throw new TypeError('chat.completions.create: messages must be a non-empty array');
  return messages.map((m, i) => {
    if (!m || typeof m !== 'object' || typeof m.role !== 'string') throw new TypeError(`chat.completions.create: messages[${i}] needs a string role`);
    let content = m.content;
    if (content === null || content === undefined) content = '';
    else if (Array.isArray(content)) {
      content = content.map((part, j) => {
        if (part?.type === 'text' && typeof part.text === 'string') return part.text;
        throw new TypeError(`chat.completions.create: messages[${i}].content[${j}] is a ${show(part?.type)} part; only text parts are supported`);
      }).join('');
    } else if (typeof content !== 'string') throw new TypeError(`chat.completions.create: messages[${i}].content must be a string, null or an array of text parts`);
    const out = { ...m, content };
    // templates read tool call arguments as objects (OpenAI sends them as JSON text)
    if (Array.isArray(m.tool_calls)) {
      out.tool_calls = m.tool_calls.map((c) => ({
        ...c,
        function: c.function && { ...c.function, arguments: parseMaybe(c.function.arguments) },
      }));
    }
    return out;
  });
}

function parseMaybe(text) {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The options generate()/chat() take, from OpenAI's request fields. */
function samplingFrom(req, where, maxDefault) {
  if (req.n !== undefined && req.n !== 1) throw new RangeError(`${where}: n must be 1 (one choice per request), got ${show(req.n)}`);
  const options = {
    temperature: number(req.temperature, `${where}: temperature`, { min: 0, max: 2, fallback: 1 }),
    topP: number(req.top_p, `${where}: top_p`, { min: Number.MIN_VALUE, max: 1, fallback: 1 }),
    topK: 0,
    minP: 0,
    maxTokens: integer(req.max_completion_tokens ?? req.max_tokens, `${where}: max_tokens`, { min: 1, fallback: maxDefault }),
  };
  if (req.seed !== undefined && req.seed !== null) options.seed = integer(req.seed, `${where}: seed`, { min: 0, max: 2 ** 32 - 1 });
  if (req.stop !== undefined && req.stop !== null) options.stop = req.stop;
  if (req.presence_penalty !== undefined && req.presence_penalty !== null) options.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty !== undefined && req.frequency_penalty !== null) options.frequencyPenalty = req.frequency_penalty;
  if (req.logit_bias !== undefined && req.logit_bias !== null) options.logitBias = req.logit_bias;
  if (req.signal !== undefined) options.signal = req.signal;
  return options;
}

function finishReason(stats, toolCalls) {
  if (toolCalls?.length) return 'tool_calls';
  return stats.stopReason === 'length' || stats.stopReason === 'context' ? 'length' : 'stop';
}

function usage(stats) {
  return { prompt_tokens: stats.promptTokens, completion_tokens: stats.generatedTokens, total_tokens: stats.promptTokens + stats.generatedTokens };
}

/** A token's text for logprobs (control tokens included), and its UTF-8 bytes. */
async function tokenTexts(model, ids) {
  const unique = [...new Set(ids)];
  const texts = await Promise.all(unique.map((id) => model.detokenize([id], { skipSpecial: false })));
  return new Map(unique.map((id, i) => [id, texts[i]]));
}

async function chatLogprobs(model, entries) {
  const texts = await tokenTexts(model, entries.flatMap((e) => [e.token, ...e.top.map((t) => t.token)]));
  const encoder = new TextEncoder();
  const one = (token, logprob) => ({ token: texts.get(token), logprob, bytes: Array.from(encoder.encode(texts.get(token))) });
  return {
    content: entries.map((e) => ({ ...one(e.token, e.logprob), top_logprobs: e.top.map((t) => one(t.token, t.logprob)) })),
    refusal: null,
  };
}

// ---- tool calls ----

/** The tool-call format a chat template writes: 'hermes' (<tool_call>), 'mistral' ([TOOL_CALLS]), 'llama3' (bare JSON) or null. */
export function toolFormat(template) {
  if (typeof template !== 'string') return null;
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  if (template.includes('<|python_tag|>') || (template.includes('<|start_header_id|>') && template.includes('parameters'))) return 'llama3';
  return null;
}

function callObject(value) {
  if (!value || typeof value !== 'object' || typeof value.name !== 'string') return null;
  const args = value.arguments ?? value.parameters ?? {};
  return { id: newId('call'), type: 'function', function: { name: value.name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } };
}

/**
 * Tool calls in a reply, in the template family's format: { content, calls }
 * (content is the text outside the calls, or null when only calls).
 */
export function parseToolCalls(text, format) {
  const calls = [];
  let content = text;
  if (format === 'hermes') {
    content = text.replace(/<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g, (whole, body) => {
      const call = callObject(parseMaybe(body));
      if (!call) return whole;
      calls.push(call);
      return '';
    });
  } else if (format === 'mistral') {
    const at = text.indexOf('[TOOL_CALLS]');
    if (at >= 0) {
      const list = parseMaybe(text.slice(at + '[TOOL_CALLS]'.length).trim());
      for (const item of Array.isArray(list) ? list : [list]) {
        const call = callObject(item);
        if (call) calls.push(call);
      }
      if (calls.length) content = text.slice(0, at);
    }
  } else if (format === 'llama3') {
    const body = text.replace(/^\s*<\|python_tag\|>/, '').trim();
    for (const part of body.split(/;\s*(?=\{)/)) {
      const call = callObject(parseMaybe(part));
      if (!call) {
        calls.length = 0;
        break;
      }
      calls.push(call);
    }
    if (calls.length) content = '';
  }
  content = content.trim();
  return { content: calls.length && !content ? null : calls.length ? content : text, calls };
}

function toolOptions(req, template, where) {
  const { tools, tool_choice: choice = tools?.length ? 'auto' : 'none' } = req;
  if (tools === undefined || tools === null || choice === 'none') return { variables: {}, format: null };
  if (!Array.isArray(tools) || tools.some((t) => t?.type !== 'function' || typeof t.function?.name !== 'string')) {
    throw new TypeError(`${where}: tools must be an array of { type: 'function', function: { name, description, parameters } }`);
  }
  const format = toolFormat(template);
  if (!format) throw new Error(`${where}: this chat template does not render tools (no <tool_call>, [TOOL_CALLS] or Llama 3 tool format found)`);
  if (choice === 'auto') return { variables: { tools }, format };
  // a forced call: the grammar lets the reply be nothing but a call, in the family's format
  let chosen = tools;
  if (choice !== 'required') {
    const name = choice?.type === 'function' ? choice.function?.name : undefined;
    chosen = tools.filter((t) => t.function.name === name);
    if (!chosen.length) throw new RangeError(`${where}: tool_choice must be 'auto', 'none', 'required' or { type: 'function', function: { name } } naming one of the tools, got ${show(name ?? choice)}`);
  }
  return { variables: { tools }, format, grammar: forcedCallGrammar(chosen, format) };
}

/** GBNF for exactly one call of one of `tools`, written as the template family writes calls. */
export function forcedCallGrammar(tools, format) {
  const argsKey = format === 'llama3' ? 'parameters' : 'arguments';
  const call = (t) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, [argsKey]: t.function.parameters ?? { type: 'object' } },
    required: ['name', argsKey],
  });
  const schema = tools.length === 1 ? call(tools[0]) : { anyOf: tools.map(call) };
  const gbnf = jsonSchemaToGrammar(schema);
  const [prefix, suffix] = { hermes: ['<tool_call>\\n', '\\n</tool_call>'], mistral: ['[TOOL_CALLS] [', ']'], llama3: ['', ''] }[format];
  return gbnf.replace(/^root ::= (.*)$/m, (_, body) => `root ::= ${prefix ? `"${prefix}" ` : ''}(${body})${suffix ? ` "${suffix}"` : ''}`);
}

// ---- chat.completions ----

async function chatRequest(model, req) {
  const where = 'chat.completions.create';
  knownKeys(req, CHAT_KEYS, where);
  const messages = normalizeMessages(req.messages);
  const info = model.info();
  const options = samplingFrom(req, where, info.contextLength);
  if (req.logprobs) {
    options.logprobs = true;
    options.topLogprobs = integer(req.top_logprobs, `${where}: top_logprobs`, { min: 0, max: 20, fallback: 0 });
  } else if (req.top_logprobs) throw new TypeError(`${where}: top_logprobs needs logprobs: true`);
  const format = req.response_format;
  if (format !== undefined && format !== null && format.type !== 'text') options.responseFormat = format;
  const tools = toolOptions(req, model.chatTemplate(), where);
  if (tools.format) options.templateVariables = tools.variables;
  if (tools.grammar) {
    if (options.responseFormat) throw new TypeError(`${where}: a forced tool call and response_format cannot both constrain the reply`);
    options.grammar = tools.grammar;
  }
  return { messages, options, tools, name: modelName(model, req.model) };
}

async function createChatCompletion(model, req) {
  const { messages, options, tools, name } = await chatRequest(model, req);
  const id = newId('chatcmpl');
  const created = now();
  if (req.stream) return chatStream(model, messages, options, tools, { id, created, name, includeUsage: !!req.stream_options?.include_usage });
  const gen = model.chat(messages, options);
  let text = '';
  for await (const piece of gen) text += piece;
  const { content, calls } = tools.format ? parseToolCalls(text, tools.format) : { content: text, calls: [] };
  const message = { role: 'assistant', content, refusal: null };
  if (calls.length) message.tool_calls = calls;
  return {
    id,
    object: 'chat.completion',
    created,
    model: name,
    choices: [{ index: 0, message, logprobs: options.logprobs ? await chatLogprobs(model, gen.stats.logprobs) : null, finish_reason: finishReason(gen.stats, calls) }],
    usage: usage(gen.stats),
  };
}

function chatStream(model, messages, options, tools, { id, created, name, includeUsage }) {
  const chunk = (delta, finish = null, logprobs = null) => ({
    id, object: 'chat.completion.chunk', created, model: name,
    choices: [{ index: 0, delta, logprobs, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return (async function* () {
    const gen = model.chat(messages, options);
    yield chunk({ role: 'assistant', content: '' });
    // with tools the reply may turn into a call: text is held back from the first call marker on
    const marker = { hermes: '<tool_call>', mistral: '[TOOL_CALLS]', llama3: '{' }[tools.format];
    let all = '', shown = 0, sentLogprobs = 0;
    for await (const piece of gen) {
      all += piece;
      let upto = all.length;
      if (marker) {
        const at = tools.format === 'llama3' ? (all.trimStart().startsWith('{') || all.trimStart().startsWith('<|python_tag|>') ? 0 : -1) : all.indexOf(marker);
        if (at >= 0) upto = Math.min(upto, at);
        else for (let k = Math.min(marker.length - 1, all.length); k > 0; k--) if (all.endsWith(marker.slice(0, k))) { upto = all.length - k; break; }
      }
      if (upto > shown) {
        const entries = options.logprobs ? gen.stats.logprobs.slice(sentLogprobs) : null;
        sentLogprobs = gen.stats.logprobs?.length ?? 0;
        yield chunk({ content: all.slice(shown, upto) }, null, entries ? await chatLogprobs(model, entries) : null);
        shown = upto;
      }
    }
    const { content, calls } = tools.format ? parseToolCalls(all, tools.format) : { content: all, calls: [] };
    if (calls.length) {
      yield chunk({ tool_calls: calls.map((c, index) => ({ index, ...c })) });
    } else if (all.length > shown) {
      yield chunk({ content: (content ?? '').slice(shown) });
    }
    yield chunk({}, finishReason(gen.stats, calls));
    if (includeUsage) yield { id, object: 'chat.completion.chunk', created, model: name, choices: [], usage: usage(gen.stats) };
  })();
}

// ---- completions ----

async function createCompletion(model, req) {
  const where = 'completions.create';
  knownKeys(req, COMPLETION_KEYS, where);
  if (req.suffix !== undefined && req.suffix !== null) throw new RangeError(`${where}: suffix (fill-in-the-middle) is not supported`);
  if (req.best_of !== undefined && req.best_of !== 1) throw new RangeError(`${where}: best_of must be 1, got ${show(req.best_of)}`);
  const { prompt } = req;
  if (typeof prompt !== 'string' && !(Array.isArray(prompt) && prompt.every((x) => typeof x === 'number'))) {
    throw new TypeError(`${where}: prompt must be a string or an array of token ids (one prompt per request)`);
  }
  const options = samplingFrom(req, where, 16); // OpenAI's default for completions
  const topN = req.logprobs === undefined || req.logprobs === null ? null : integer(req.logprobs, `${where}: logprobs`, { min: 0, max: 5 });
  if (topN !== null) Object.assign(options, { logprobs: true, topLogprobs: topN });
  const id = newId('cmpl');
  const created = now();
  const name = modelName(model, req.model);
  const echo = req.echo ? (typeof prompt === 'string' ? prompt : await model.detokenize(prompt)) : '';
  const legacyLogprobs = async (entries, offset) => {
    const texts = await tokenTexts(model, entries.flatMap((e) => [e.token, ...e.top.map((t) => t.token)]));
    const tokens = entries.map((e) => texts.get(e.token));
    const text_offset = [];
    for (const t of tokens) text_offset.push(offset), (offset += t.length);
    return {
      tokens,
      token_logprobs: entries.map((e) => e.logprob),
      top_logprobs: entries.map((e) => Object.fromEntries(e.top.map((t) => [texts.get(t.token), t.logprob]))),
      text_offset,
    };
  };
  const choice = (text, finish, logprobs) => ({ text, index: 0, logprobs, finish_reason: finish });
  if (req.stream) {
    const includeUsage = !!req.stream_options?.include_usage;
    return (async function* () {
      const gen = model.generate(prompt, options);
      let offset = echo.length, sent = 0;
      if (echo) yield { id, object: 'text_completion', created, model: name, choices: [choice(echo, null, null)] };
      for await (const piece of gen) {
        const entries = topN !== null ? gen.stats.logprobs.slice(sent) : null;
        sent = gen.stats.logprobs.length;
        yield { id, object: 'text_completion', created, model: name, choices: [choice(piece, null, entries ? await legacyLogprobs(entries, offset) : null)] };
        offset += piece.length;
      }
      yield { id, object: 'text_completion', created, model: name, choices: [choice('', finishReason(gen.stats), null)] };
      if (includeUsage) yield { id, object: 'text_completion', created, model: name, choices: [], usage: usage(gen.stats) };
    })();
  }
  const gen = model.generate(prompt, options);
  let text = '';
  for await (const piece of gen) text += piece;
  return {
    id,
    object: 'text_completion',
    created,
    model: name,
    choices: [choice(echo + text, finishReason(gen.stats), topN !== null ? await legacyLogprobs(gen.stats.logprobs, echo.length) : null)],
    usage: usage(gen.stats),
  };
}

// ---- embeddings ----

function toBase64(floats) {
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  if (typeof Buffer === 'function') return Buffer.from(bytes).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function createEmbedding(model, req) {
  const where = 'embeddings.create';
  knownKeys(req, EMBEDDING_KEYS, where);
  const { input } = req;
  const format = req.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new RangeError(`${where}: encoding_format must be 'float' or 'base64', got ${show(format)}`);
  const dim = model.info().dim;
  const dimensions = integer(req.dimensions, `${where}: dimensions`, { min: 1, max: dim, fallback: dim });
  let items;
  if (typeof input === 'string') items = [input];
  else if (Array.isArray(input) && input.length && input.every((x) => typeof x === 'string')) items = input;
  else if (Array.isArray(input) && input.length && input.every((x) => typeof x === 'number')) items = [input];
  else if (Array.isArray(input) && input.length && input.every((x) => Array.isArray(x))) items = input;
  else throw new TypeError(`${where}: input must be a string, an array of strings, token ids, or arrays of token ids`);
  let tokens = 0;
  const data = [];
  for (const [index, item] of items.entries()) {
    tokens += typeof item === 'string' ? (await model.tokenize(item)).length : item.length;
    let v = await model.embed(item);
    if (dimensions < dim) {
      // OpenAI's shortened embeddings: the first dimensions, scaled to unit length again
      v = v.slice(0, dimensions);
      const norm = Math.hypot(...v) || 1;
      for (let i = 0; i < v.length; i++) v[i] /= norm;
    }
    data.push({ object: 'embedding', index, embedding: format === 'base64' ? toBase64(v) : Array.from(v) });
  }
  return { object: 'list', data, model: modelName(model, req.model), usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

/** Gives a model the OpenAI-shaped namespaces: model.chat.completions, model.completions, model.embeddings. */
export function attachOpenAI(model) {
  const chat = model.chat.bind(model);
  chat.completions = { create: (request) => createChatCompletion(model, request) };
  Object.defineProperty(model, 'chat', { value: chat, enumerable: false });
  Object.defineProperty(model, 'completions', { value: { create: (request) => createCompletion(model, request) }, enumerable: false });
  Object.defineProperty(model, 'embeddings', { value: { create: (request) => createEmbedding(model, request) }, enumerable: false });
}
