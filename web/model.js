// A loaded model: the public object loadModel() resolves to. Every call
// that touches the wasm instance runs alone (a queue serializes them), but
// a generation holds the queue only for one token at a time: generations
// interleave token by token, and each resumes where its tokens left the KV
// cache (the core keeps the longest common prefix and evaluates the rest,
// src/api/api.c sync_cache), so its tokens equal a cold run's. dispose() frees
// the instance at once: queued calls reject, a running generation ends at
// its next token with the same error.

import { renderChat } from './chat.js';
import { boolean, integer, knownKeys, number, oneOf, tokenIds } from './options.js';
import { abortError } from './sources.js';

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
  'signal', 'ignoreEos', 'addSpecial', 'parseSpecial'];
// chat() renders the prompt itself: its control tokens are parsed and BOS follows the template
export const CHAT_OPTIONS = [...GENERATE_OPTIONS.filter((k) => k !== 'addSpecial' && k !== 'parseSpecial'), 'template', 'templateVariables'];
const INT32_MAX = 2 ** 31 - 1;

/** Sampling options as gf_api_generate_start takes them, each checked here (C would wrap or truncate them). */
function samplingOptions(options) {
  const { temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed } = options;
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

function disposedError() {
  const err = new Error('this model has been disposed');
  err.code = 'GF_DISPOSED';
  return err;
}

function newStats() {
  return { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [] };
}

export class Model {
  #core;
  #handle;
  #info;
  #queue = Promise.resolve();
  #disposed = false;

  /** @internal use loadModel() */
  constructor(core, handle, info) {
    this.#core = core;
    this.#handle = handle;
    this.#info = info;
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
    const { logits: which } = knownKeys(options, ['logits'], 'forward');
    const checked = this.#ids(ids, 'forward');
    const logits = oneOf(which, 'forward: logits', ['all', 'last'], 'all');
    return this.#exclusive(() => {
      const core = this.#core;
      const nVocab = this.#info.nVocab;
      const rows = logits === 'all' ? checked.length : 1;
      const idsPtr = core.writeI32(checked);
      let out = 0;
      try {
        out = core.malloc(rows * nVocab * 4);
        core.check(core.em._gf_api_forward(this.#handle, idsPtr, checked.length, logits === 'all' ? 1 : 0, out));
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
    const stats = newStats();
    const self = this;
    const iterator = (async function* () {
      const { template, templateVariables, ...rest } = knownKeys(options, CHAT_OPTIONS, 'chat');
      const prompt = await self.#render(messages, template, true, templateVariables);
      const bosText = self.#info.bos >= 0 ? self.#detokenizeNow([self.#info.bos], false) : '';
      // templates usually write BOS themselves; control tokens in the prompt are the template's, not user text
      const gen = self.generate(prompt, { ...rest, parseSpecial: true, addSpecial: !(bosText && prompt.startsWith(bosText)) });
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
    const stats = newStats();
    const iterator = this.#generate(prompt, options, stats);
    iterator.stats = stats;
    return iterator;
  }

  async *#generate(prompt, options, stats) {
    const { maxTokens, signal, ignoreEos, addSpecial, parseSpecial } = knownKeys(options, GENERATE_OPTIONS, 'generate');
    const limit = integer(maxTokens, 'maxTokens', { min: 1, fallback: 256 });
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
        scratch = core.malloc(8 + PIECE_BYTES);
        const idsPtr = core.writeI32(ids);
        try {
          gen = core.checkPtr(core.em._gf_api_generate_start(this.#handle, idsPtr, ids.length, ...sampling, flags[0] ? 1 : 0));
        } finally {
          core.free(idsPtr);
        }
        stats.cachedTokens = core.em._gf_api_generation_cached(gen);
        stats.prefillMs = performance.now() - t0;
      });
      while (stats.generatedTokens < limit) {
        if (signal?.aborted) throw abortError(signal);
        const { more, text } = await this.#exclusive(() => {
          const t0 = performance.now();
          const more = core.check(core.em._gf_api_generate_next(this.#handle, gen, scratch, scratch + 8, PIECE_BYTES, scratch + 4));
          const len = core.u32At(scratch + 4);
          const step = { more, text: len ? core.readString(scratch + 8, len) : '' };
          if (more) stats.tokens.push(core.i32(scratch, 1)[0]);
          else stats.stopReason = core.readString(core.em._gf_api_stop_reason(gen) >>> 0);
          stats.decodeMs += performance.now() - t0;
          return step;
        });
        if (!more) {
          if (text) yield text;
          break;
        }
        stats.generatedTokens++;
        if (text) yield text;
        await yieldToEventLoop();
      }
      if (!stats.stopReason) {
        stats.stopReason = 'length';
        const rest = await this.#exclusive(() => core.readString(scratch + 8, core.check(core.em._gf_api_generate_flush(gen, scratch + 8, PIECE_BYTES))));
        if (rest) yield rest;
      }
    } finally {
      // a disposed model's instance is gone, and everything in it
      if (!this.#disposed) {
        if (gen) core.em._gf_api_generation_free(gen);
        core.free(scratch);
        stats.wasmMemoryBytes = core.memoryBytes;
      }
    }
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
