// A loaded model: the public object loadModel() resolves to. Every call
// that touches the wasm instance runs alone (a queue serializes them), but
// a generation holds the queue only for one token at a time: generations
// interleave token by token, and each resumes where its tokens left the KV
// cache (the core keeps the longest common prefix and evaluates the rest,
// src/api/api.c sync_cache), so its tokens equal a cold run's. dispose() frees
// the instance at once: queued calls reject, a running generation ends at
// its next token with the same error.

import { renderChat } from './chat.js';
import { responseFormatGrammar } from './json-schema.js';
import { attachOpenAI } from './openai.js';
import { boolean, integer, knownKeys, number, oneOf, show, tokenIds } from './options.js';
import { abortError } from './sources.js';
import { WORK_FIELDS, workFromCounters } from './work.js';

const PIECE_BYTES = 1024;

const yieldToEventLoop =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : (() => {
        // setTimeout(0) is clamped to 4 ms in pages; a message round trip is not
        const channel = new MessageChannel();
        const queue = [];
        channel.port1.onmessage = () => queue.shift()?.();
        return () => new Promise((resolve) => {
          queue.push(resolve);
          channel.port2.postMessage(0);
        });
      })();

export const GENERATE_OPTIONS = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed',
  'signal', 'ignoreEos', 'addSpecial', 'parseSpecial', 'stop', 'presencePenalty', 'frequencyPenalty', 'logitBias', 'logprobs',
  'topLogprobs', 'stopTokens', 'contextShift', 'grammar', 'responseFormat'];
const DEFAULT_SINKS = 4; // StreamingLLM keeps four initial tokens
const MAX_TOP_LOGPROBS = 20;
// a generation's scratch: out id, out length, piece bytes, top-logprob ids and values, then the work counters
const WORK_AT = 8 + PIECE_BYTES + MAX_TOP_LOGPROBS * 12; // a multiple of 8: the counters are doubles
const SCRATCH_BYTES = WORK_AT + 2 * WORK_FIELDS.length * 8;
// how chat templates end a turn (ChatML, Gemma, Llama 3, Phi-3, Command-R, Mistral/Llama 2)
const TURN_END_MARKERS = ['<|im_end|>', '<end_of_turn>', '<|eot_id|>', '<|eom_id|>', '<|end|>', '<|END_OF_TURN_TOKEN|>', '<|endoftext|>', '</s>'];
const MAX_STOP_STRINGS = 64;
// chat() renders the prompt itself: its control tokens are parsed and BOS follows the template
export const CHAT_OPTIONS = [...GENERATE_OPTIONS.filter((k) => k !== 'addSpecial' && k !== 'parseSpecial' && k !== 'stopTokens'), 'template', 'templateVariables',
  'historyPolicy'];
const INT32_MAX = 2 ** 31 - 1;

/** Sampling options as gf_api_generate_start takes them, each checked here (C would wrap or truncate them). */
function samplingOptions(options) {
  const { temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed } = options;
  // presencePenalty and frequencyPenalty go last: gf_api_generate_start's order
  return [
    number(temperature, 'temperature', { min: 0, fallback: 0.8 }),
    integer(topK, 'topK', { min: 0, max: INT32_MAX, fallback: 40 }),
    number(topP, 'topP', { min: Number.MIN_VALUE, max: 1, fallback: 0.95 }),
    number(minP, 'minP', { min: 0, max: 1, fallback: 0.05 }),
    number(repeatPenalty, 'repeatPenalty', { min: Number.MIN_VALUE, fallback: 1.0 }),
    integer(repeatLastN, 'repeatLastN', { min: 0, max: 1048576, fallback: 64 }),
    integer(seed, 'seed', { min: 0, max: 2 ** 32 - 1, fallback: Math.floor(Math.random() * 2 ** 32) }),
  ];
}

/**
 * logitBias: { [tokenId]: bias } (OpenAI's shape), a Map, or [[id, bias], ...];
 * a bias is a finite number or -Infinity (the token is never sampled).
 * Returns [ids, biases].
 */
function biasPairs(logitBias, nVocab) {
  if (logitBias === undefined) return [[], []];
  const entries = logitBias instanceof Map ? [...logitBias] : Array.isArray(logitBias) ? logitBias
    : logitBias !== null && typeof logitBias === 'object' ? Object.entries(logitBias) : null;
  if (!entries) throw new TypeError(`logitBias must be an object { tokenId: bias }, a Map or an array of [id, bias], got ${show(logitBias)}`);
  const ids = [], biases = [];
  for (const entry of entries) {
    const [key, bias] = Array.isArray(entry) ? entry : [];
    const id = typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : key;
    if (!Number.isInteger(id) || id < 0 || id >= nVocab) throw new RangeError(`logitBias: token id must be an integer in 0..${nVocab - 1}, got ${show(key)}`);
    if (typeof bias !== 'number' || Number.isNaN(bias) || bias === Infinity) {
      throw new RangeError(`logitBias: the bias of token ${id} must be a finite number or -Infinity, got ${show(bias)}`);
    }
    ids.push(id);
    biases.push(bias);
  }
  return [ids, biases];
}

/** stop: a string or an array of them, each non-empty; [] when absent. */
function stopStrings(stop) {
  if (stop === undefined) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > MAX_STOP_STRINGS || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError(`stop must be a non-empty string or an array of at most ${MAX_STOP_STRINGS} non-empty strings, got ${show(stop)}`);
  }
  return list;
}

/**
 * Cuts generated text at the first stop string, across piece boundaries:
 * push(text) returns what may be shown now, holding back a tail that could
 * still begin a stop string; `matched` is the stop string once one appears
 * (nothing from it on is ever returned); end() returns what was held back.
 */
function stopFilter(stops) {
  let held = '';
  const filter = {
    matched: null,
    push(text) {
      if (!stops.length) return text;
      held += text;
      let cut = -1;
      for (const s of stops) {
        const i = held.indexOf(s);
        if (i >= 0 && (cut < 0 || i < cut || (i === cut && s.length > filter.matched.length))) [cut, filter.matched] = [i, s];
      }
      if (cut >= 0) {
        const out = held.slice(0, cut);
        held = '';
        return out;
      }
      let keep = 0;
      for (const s of stops) {
        for (let k = Math.min(s.length - 1, held.length); k > keep; k--) {
          if (held.endsWith(s.slice(0, k))) {
            keep = k;
            break;
          }
        }
      }
      const out = held.slice(0, held.length - keep);
      held = held.slice(held.length - keep);
      return out;
    },
    end() {
      const out = held;
      held = '';
      return out;
    },
  };
  return filter;
}

/** The GBNF text generation must follow (options grammar or responseFormat), or null. */
function constraint(grammar, responseFormat) {
  if (grammar !== undefined && responseFormat !== undefined) throw new TypeError('generate: give grammar or responseFormat, not both');
  if (grammar !== undefined) {
    if (typeof grammar !== 'string' || !grammar.trim()) throw new TypeError(`grammar must be GBNF text (a non-empty string), got ${show(grammar)}`);
    return grammar;
  }
  return responseFormat === undefined ? null : responseFormatGrammar(responseFormat);
}

function disposedError() {
  const err = new Error('this model has been disposed');
  err.code = 'GF_DISPOSED';
  return err;
}

/**
 * contextShift: 'off' (default: a full context ends the generation, stopReason
 * 'context'), 'sinks' (keep the first four tokens and the newer half of the
 * rest, and go on) or { sinks: n }. Returns the tokens kept, or -1 for off.
 */
function shiftSinks(contextShift, contextLength) {
  if (contextShift === undefined || contextShift === 'off') return -1;
  if (contextShift === 'sinks') return Math.min(DEFAULT_SINKS, contextLength - 2);
  if (contextShift && typeof contextShift === 'object' && !Array.isArray(contextShift)) {
    knownKeys(contextShift, ['sinks'], 'contextShift');
    return integer(contextShift.sinks, 'contextShift.sinks', { min: 0, max: contextLength - 2 });
  }
  throw new RangeError(`contextShift must be 'off', 'sinks' or { sinks: n }, got ${show(contextShift)}`);
}

function liveSession(session) {
  if (!session.disposed) return;
  const err = new Error('this session has been disposed');
  err.code = 'GF_DISPOSED';
  throw err;
}

function newStats() {
  return { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [], logprobs: [], work: null };
}

export class Model {
  #core;
  #handle;
  #info;
  #queue = Promise.resolve();
  #disposed = false;
  #main; // the model's own session: { ptr, disposed }

  /** @internal use loadModel() */
  constructor(core, handle, info) {
    this.#core = core;
    this.#handle = handle;
    this.#info = info;
    this.#main = { ptr: core.em._gf_api_session_main(handle) >>> 0, disposed: false };
    attachOpenAI(this);
  }

  /** A plain object describing the model and how it runs. */
  info() {
    return structuredClone(this.#info);
  }

  #live() {
    if (this.#disposed) throw disposedError();
  }

  /** Runs fn (synchronous wasm work) after every earlier call has finished. */
  async #exclusive(fn) {
    this.#live();
    const previous = this.#queue;
    let release;
    this.#queue = new Promise((r) => (release = r));
    try {
      await previous;
      this.#live();
      return fn();
    } finally {
      release();
    }
  }

  #tokenizeNow(text, addSpecial, parseSpecial) {
    const core = this.#core;
    const [textPtr, len] = core.writeString(text);
    let cap = len + 16;
    let out = 0;
    try {
      for (;;) {
        out = core.malloc(cap * 4);
        const n = core.check(core.em._gf_api_tokenize(this.#handle, textPtr, len, addSpecial ? 1 : 0, parseSpecial ? 1 : 0, out, cap));
        if (n <= cap) return Array.from(core.i32(out, n));
        core.free(out);
        out = 0;
        cap = n;
      }
    } finally {
      core.free(out);
      core.free(textPtr);
    }
  }

  #ids(ids, what) {
    return tokenIds(ids, what, this.#info.nVocab);
  }

  /** Text to token ids. BOS (as the model asks) unless addSpecial is false. */
  async tokenize(text, options) {
    const { addSpecial, parseSpecial } = knownKeys(options, ['addSpecial', 'parseSpecial'], 'tokenize');
    if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${text === null ? 'null' : typeof text}`);
    const add = boolean(addSpecial, 'tokenize: addSpecial', true);
    const parse = boolean(parseSpecial, 'tokenize: parseSpecial', false);
    return this.#exclusive(() => this.#tokenizeNow(text, add, parse));
  }

  /** Token ids to text; control tokens are dropped unless skipSpecial is false. */
  async detokenize(ids, options) {
    const { skipSpecial } = knownKeys(options, ['skipSpecial'], 'detokenize');
    const checked = this.#ids(ids, 'detokenize');
    const skip = boolean(skipSpecial, 'detokenize: skipSpecial', true);
    return this.#exclusive(() => this.#detokenizeNow(checked, skip));
  }

  #detokenizeNow(ids, skipSpecial) {
    const core = this.#core;
    const idsPtr = core.writeI32(ids);
    let cap = ids.length * 8 + 16;
    let buf = 0;
    try {
      for (;;) {
        buf = core.malloc(cap);
        const n = core.check(core.em._gf_api_detokenize(this.#handle, idsPtr, ids.length, skipSpecial ? 1 : 0, buf, cap));
        if (n <= cap) return core.readString(buf, n);
        core.free(buf);
        buf = 0;
        cap = n;
      }
    } finally {
      core.free(buf);
      core.free(idsPtr);
    }
  }

  /**
   * Teacher-forced logits from position 0: a Float32Array of ids.length rows
   * of nVocab (row i = next-token logits after ids[0..i]), or one row with
   * { logits: 'last' }.
   */
  async forward(ids, options) {
    return this.#forwardIn(this.#main, ids, options);
  }

  async #forwardIn(session, ids, options) {
    const { logits: which } = knownKeys(options, ['logits'], 'forward');
    const checked = this.#ids(ids, 'forward');
    const logits = oneOf(which, 'forward: logits', ['all', 'last'], 'all');
    return this.#exclusive(() => {
      liveSession(session);
      const core = this.#core;
      const nVocab = this.#info.nVocab;
      const rows = logits === 'all' ? checked.length : 1;
      const idsPtr = core.writeI32(checked);
      let out = 0;
      try {
        out = core.malloc(rows * nVocab * 4);
        core.check(core.em._gf_api_forward(this.#handle, session.ptr, idsPtr, checked.length, logits === 'all' ? 1 : 0, out));
        return core.f32(out, rows * nVocab).slice();
      } finally {
        core.free(out);
        core.free(idsPtr);
      }
    });
  }

  /**
   * Encoder models (bert): the embedding of a text, of token ids, or of each
   * text of an array. pooling: 'mean' | 'cls' | 'last' | 'none' (default: the
   * model's own); 'none' gives one row of dim per token, flattened. Rows are
   * scaled to unit length unless normalize is false.
   */
  async embed(input, options) {
    const { pooling, normalize: norm } = knownKeys(options, ['pooling', 'normalize'], 'embed');
    const codes = { none: 0, mean: 1, cls: 2, last: 3 };
    if (pooling !== undefined) oneOf(pooling, 'embed: pooling', Object.keys(codes));
    const normalize = boolean(norm, 'embed: normalize', true);
    const many = Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string');
    let items;
    if (typeof input === 'string') items = [input];
    else if (many) items = input;
    else if (Array.isArray(input) || ArrayBuffer.isView(input)) items = [this.#ids(input, 'embed')];
    else throw new TypeError('embed: input must be a string, an array of strings, or token ids');
    return this.#exclusive(() => {
      const core = this.#core;
      const dim = this.#info.dim;
      const out = items.map((x) => {
        const ids = typeof x === 'string' ? this.#tokenizeNow(x, true, false) : x;
        const idsPtr = core.writeI32(ids);
        let buf = 0;
        try {
          buf = core.malloc(Math.max(1, ids.length) * dim * 4);
          const rows = core.check(core.em._gf_api_embed(this.#handle, idsPtr, ids.length, pooling === undefined ? -1 : codes[pooling], normalize ? 1 : 0, buf));
          return core.f32(buf, rows * dim).slice();
        } finally {
          core.free(buf);
          core.free(idsPtr);
        }
      });
      return many ? out : out[0];
    });
  }

  /** The model's chat template (tokenizer.chat_template), or null. */
  chatTemplate() {
    return this.#info.chatTemplate;
  }

  /**
   * @internal The markers a chat template ends a turn with (<|im_end|>, <end_of_turn>, <|eot_id|>, ...), as
   * this vocabulary has them: single tokens (stopTokens) or, where it has no such token, text (stop strings).
   */
  endOfTurn(template) {
    const tokens = [], strings = [];
    for (const marker of TURN_END_MARKERS) {
      if (typeof template !== 'string' || !template.includes(marker)) continue;
      const ids = this.#tokenizeNow(marker, false, true);
      if (ids.length === 1) tokens.push(ids[0]);
      else strings.push(marker);
    }
    return { tokens, strings };
  }

  /** The chat prompt the template makes of messages (what chat() generates from). */
  async renderChat(messages, options) {
    const { template, addGenerationPrompt, templateVariables } = knownKeys(options, ['template', 'addGenerationPrompt', 'templateVariables'], 'renderChat');
    return this.#render(messages, template, boolean(addGenerationPrompt, 'renderChat: addGenerationPrompt', true), templateVariables);
  }

  #render(messages, template, addGenerationPrompt, templateVariables) {
    this.#live();
    const special = (id) => (id >= 0 ? this.#detokenizeNow([id], false) : '');
    return renderChat(template ?? this.chatTemplate(), messages, {
      addGenerationPrompt,
      bosToken: special(this.#info.bos),
      eosToken: special(this.#info.eos),
      extra: templateVariables,
    });
  }

  /**
   * Continues a conversation: renders messages with the chat template (the
   * model's own, or options.template), adds the generation prompt and streams
   * the reply, which ends at the template's end-of-turn token. Options are
   * generate()'s. Returns the same kind of iterator as generate().
   */
  chat(messages, options = {}) {
    return this.#chatIn(this.#main, messages, options);
  }

  #chatIn(session, messages, options = {}) {
    const stats = newStats();
    const self = this;
    const iterator = (async function* () {
      const { template, templateVariables, historyPolicy, ...rest } = knownKeys(options, CHAT_OPTIONS, 'chat');
      const policy = oneOf(historyPolicy, 'chat: historyPolicy', ['error', 'trim'], 'error');
      const used = template ?? self.chatTemplate();
      let kept = messages;
      let prompt = await self.#render(kept, template, true, templateVariables);
      if (policy === 'trim') {
        // whole old turns go, oldest first, until the prompt leaves room for the reply; system messages stay
        const room = Math.min(rest.maxTokens ?? 256, Math.floor(self.#info.contextLength / 2));
        const fits = async (text) => (await self.tokenize(text, { addSpecial: false, parseSpecial: true })).length + room <= self.#info.contextLength;
        while (!(await fits(prompt))) {
          const first = kept.findIndex((m) => m.role !== 'system');
          const last = kept.length - 1 - [...kept].reverse().findIndex((m) => m.role === 'user');
          if (first < 0 || first >= last) {
            throw new Error(`chat: the system messages and the last user message alone leave no room for a ${room}-token reply in the ${self.#info.contextLength}-token context`);
          }
          let end = first + 1;
          while (end < last && kept[end].role !== 'user') end++; // the turn's replies and tool results go with it
          kept = [...kept.slice(0, first), ...kept.slice(end)];
          prompt = await self.#render(kept, template, true, templateVariables);
        }
        stats.droppedMessages = messages.length - kept.length;
      }
      const bosText = self.#info.bos >= 0 ? self.#detokenizeNow([self.#info.bos], false) : '';
      // the reply ends at the template's end-of-turn marker even where the vocabulary does not call it end-of-generation
      const turnEnd = await self.#exclusive(() => self.endOfTurn(used));
      const stop = [...turnEnd.strings, ...(rest.stop === undefined ? [] : typeof rest.stop === 'string' ? [rest.stop] : rest.stop)];
      // templates usually write BOS themselves; control tokens in the prompt are the template's, not user text
      const gen = self.#generateIn(session, prompt, {
        ...rest, parseSpecial: true, addSpecial: !(bosText && prompt.startsWith(bosText)), stopTokens: turnEnd.tokens, ...(stop.length ? { stop } : {}),
      });
      try {
        for await (const piece of gen) {
          Object.assign(stats, gen.stats);
          yield piece;
        }
      } finally {
        Object.assign(stats, gen.stats);
      }
    })();
    iterator.stats = stats;
    return iterator;
  }

  /**
   * Streams generated text as an async iterator of string pieces. The
   * iterator's `stats` property fills in as it runs.
   */
  generate(prompt, options = {}) {
    return this.#generateIn(this.#main, prompt, options);
  }

  #generateIn(session, prompt, options = {}) {
    const stats = newStats();
    const iterator = this.#generate(session, prompt, options, stats);
    iterator.stats = stats;
    return iterator;
  }

  /**
   * A new session: its own KV cache (and prompt cache) over the model's
   * weights, for an app with more than one conversation. It has generate,
   * chat, forward, the OpenAI-shaped chat.completions and completions, and
   * the model's tokenizer; dispose() frees its cache.
   */
  session() {
    this.#live();
    const core = this.#core;
    const state = { ptr: core.checkPtr(core.em._gf_api_session_new(this.#handle)), disposed: false };
    const model = this;
    const s = {
      info: () => model.info(),
      chatTemplate: () => model.chatTemplate(),
      tokenize: (text, options) => model.tokenize(text, options),
      detokenize: (ids, options) => model.detokenize(ids, options),
      renderChat: (messages, options) => model.renderChat(messages, options),
      embed: (input, options) => model.embed(input, options),
      forward: (ids, options) => model.#forwardIn(state, ids, options),
      generate: (prompt, options) => model.#generateIn(state, prompt, options),
      chat: (messages, options) => model.#chatIn(state, messages, options),
      /** Frees this session's cache; its calls reject afterwards ('GF_DISPOSED'). */
      dispose: async () => {
        if (state.disposed || model.#disposed) return;
        await model.#exclusive(() => {
          core.em._gf_api_session_free(model.#handle, state.ptr);
          state.disposed = true;
        });
      },
    };
    attachOpenAI(s);
    return s;
  }

  async *#generate(session, prompt, options, stats) {
    const { maxTokens, signal, ignoreEos, addSpecial, parseSpecial, stop, presencePenalty, frequencyPenalty, logitBias, logprobs, topLogprobs, stopTokens, grammar, responseFormat } =
      knownKeys(options, GENERATE_OPTIONS, 'generate');
    const endTokens = new Set(stopTokens === undefined ? [] : this.#ids(stopTokens, 'generate: stopTokens'));
    const sinks = shiftSinks(options.contextShift, this.#info.contextLength);
    const gbnf = constraint(grammar, responseFormat);
    const penalties = [number(presencePenalty, 'presencePenalty', { min: -2, max: 2, fallback: 0 }), number(frequencyPenalty, 'frequencyPenalty', { min: -2, max: 2, fallback: 0 })];
    const [biasIds, biases] = biasPairs(logitBias, this.#info.nVocab);
    const wantLogprobs = boolean(logprobs, 'logprobs', false);
    const topN = integer(topLogprobs, 'topLogprobs', { min: 0, max: MAX_TOP_LOGPROBS, fallback: 0 });
    if (topN > 0 && !wantLogprobs) throw new TypeError('topLogprobs needs logprobs: true');
    const limit = integer(maxTokens, 'maxTokens', { min: 1, fallback: 256 });
    const stops = stopFilter(stopStrings(stop));
    const sampling = samplingOptions(options);
    const flags = [boolean(ignoreEos, 'ignoreEos', false), boolean(addSpecial, 'addSpecial', true), boolean(parseSpecial, 'parseSpecial', false)];
    if (typeof prompt !== 'string' && !Array.isArray(prompt) && !ArrayBuffer.isView(prompt)) {
      throw new TypeError(`generate: prompt must be a string or an array of token ids, got ${prompt === null ? 'null' : typeof prompt}`);
    }
    const promptIds = typeof prompt === 'string' ? null : this.#ids(prompt, 'generate');
    if (signal?.aborted) throw abortError(signal);
    this.#live();
    const core = this.#core;
    let gen = 0;
    let scratch = 0; // out id, out length, piece bytes
    try {
      await this.#exclusive(() => {
        const ids = promptIds ?? this.#tokenizeNow(prompt, flags[1], flags[2]);
        stats.promptTokens = ids.length;
        if (signal?.aborted) throw abortError(signal);
        const t0 = performance.now();
        scratch = core.malloc(SCRATCH_BYTES);
        const idsPtr = core.writeI32(ids);
        try {
          liveSession(session);
          gen = core.checkPtr(core.em._gf_api_generate_start(this.#handle, session.ptr, idsPtr, ids.length, ...sampling, flags[0] ? 1 : 0, ...penalties));
        } finally {
          core.free(idsPtr);
        }
        if (biasIds.length) {
          const idp = core.writeI32(biasIds);
          const bp = core.malloc(biases.length * 4);
          try {
            core.f32(bp, biases.length).set(biases);
            core.check(core.em._gf_api_generation_bias(gen, idp, bp, biasIds.length));
          } finally {
            core.free(idp);
            core.free(bp);
          }
        }
        if (gbnf !== null) {
          const [gp, glen] = core.writeString(gbnf);
          try {
            core.check(core.em._gf_api_generation_grammar(this.#handle, gen, gp, glen, limit));
          } finally {
            core.free(gp);
          }
        }
        stats.cachedTokens = core.em._gf_api_generation_cached(gen);
        stats.work = this.#work(gen, scratch);
        if (sinks >= 0) core.check(core.em._gf_api_generation_context_shift(this.#handle, gen, sinks));
        stats.prefillMs = performance.now() - t0;
      });
      while (stats.generatedTokens < limit) {
        if (signal?.aborted) throw abortError(signal);
        const { more, text } = await this.#exclusive(() => {
          liveSession(session);
          const t0 = performance.now();
          const more = core.check(core.em._gf_api_generate_next(this.#handle, gen, scratch, scratch + 8, PIECE_BYTES, scratch + 4));
          stats.work = this.#work(gen, scratch);
          stats.outputMs = core.em._gf_api_generation_output_ms(gen);
          stats.sampleMs = core.em._gf_api_generation_sample_ms(gen);
          const len = core.u32At(scratch + 4);
          const step = { more, text: len ? core.readString(scratch + 8, len) : '' };
          if (more && endTokens.has(core.i32(scratch, 1)[0]) && !flags[0]) {
            // an end-of-turn token: the end, as the vocabulary's own end-of-generation tokens are
            stats.stopReason = 'eos';
            stats.decodeMs += performance.now() - t0;
            return { more: 0, text: '' };
          }
          if (sinks >= 0) stats.contextShifts = core.em._gf_api_generation_shifts(gen);
          if (more) {
            const token = core.i32(scratch, 1)[0];
            stats.tokens.push(token);
            if (wantLogprobs) stats.logprobs.push(this.#logprobs(gen, token, topN, scratch + 8 + PIECE_BYTES));
          } else stats.stopReason = core.readString(core.em._gf_api_stop_reason(gen) >>> 0);
          stats.decodeMs += performance.now() - t0;
          if (gbnf !== null) stats.grammarMs = core.em._gf_api_generation_grammar_ms(gen);
          return step;
        });
        if (more) stats.generatedTokens++;
        const shown = stops.push(text);
        if (stops.matched !== null) {
          stats.stopReason = 'stop';
          stats.stopString = stops.matched;
          if (shown) yield shown;
          return;
        }
        if (shown) yield shown;
        if (!more) break;
        await yieldToEventLoop();
      }
      if (!stats.stopReason) {
        stats.stopReason = 'length';
        const rest = await this.#exclusive(() => core.readString(scratch + 8, core.check(core.em._gf_api_generate_flush(gen, scratch + 8, PIECE_BYTES))));
        const shown = stops.push(rest);
        if (stops.matched !== null) {
          stats.stopReason = 'stop';
          stats.stopString = stops.matched;
        }
        if (shown) yield shown;
      }
      const tail = stops.end();
      if (tail) yield tail;
    } finally {
      // a disposed model's instance is gone, and everything in it
      if (!this.#disposed) {
        if (gen) core.em._gf_api_generation_free(gen);
        core.free(scratch);
        stats.wasmMemoryBytes = core.memoryBytes;
      }
    }
  }

  /** The generation's work counters so far (web/work.js), read through the scratch's last bytes. */
  #work(gen, scratch) {
    const core = this.#core;
    const n = 2 * core.em._gf_api_generation_work(gen, scratch + WORK_AT);
    return workFromCounters(new Float64Array(core.memory.buffer, scratch + WORK_AT, n));
  }

  /** The model's log-probability of the token just sampled, and the topN likeliest (wasm scratch at `at`). */
  #logprobs(gen, token, topN, at) {
    const core = this.#core;
    const idsAt = at, valuesAt = at + MAX_TOP_LOGPROBS * 4; // values are doubles: 8-byte aligned (PIECE_BYTES and 8 are)
    const logprob = core.em._gf_api_generation_logprobs(this.#handle, gen, topN, idsAt, valuesAt);
    const ids = core.i32(idsAt, topN), values = new Float64Array(core.memory.buffer, valuesAt, topN);
    return { token, logprob, top: Array.from(ids, (id, i) => ({ token: id, logprob: values[i] })) };
  }

  /**
   * Frees the model's memory at once; the object is unusable afterwards.
   * Calls still queued reject, and a generation still running ends at its
   * next token, with an Error whose code is 'GF_DISPOSED'.
   */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    // wasm work runs synchronously in this thread, so none is under way now
    const core = this.#core;
    this.#core = null;
    core.em._gf_api_free(this.#handle);
    await core.shutdown();
  }
}
