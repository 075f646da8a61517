// A loaded model: the public object loadModel() resolves to. Calls are
// serialized: a second generate() waits until the first one finishes (or is
// abandoned), so one model never runs two things at once.

import { renderChat } from './chat.js';
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

function num(value, name, fallback) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name} must be a number, got ${typeof value === 'number' ? 'NaN' : typeof value}`);
  return value;
}

function int(value, name, fallback, min = -Infinity) {
  const v = num(value, name, fallback);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${v}`);
  return v;
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
    if (this.#disposed) throw new Error('this model has been disposed');
  }

  /** Runs fn after every earlier call has finished. */
  async #exclusive(fn) {
    this.#live();
    const previous = this.#queue;
    let release;
    this.#queue = new Promise((r) => (release = r));
    try {
      await previous;
      this.#live();
      return await fn();
    } finally {
      release();
    }
  }

  #tokenizeNow(text, { addSpecial = true, parseSpecial = false } = {}) {
    if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${typeof text}`);
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
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) throw new TypeError(`${what}: ids must be an array of token ids`);
    for (const id of ids) {
      if (!Number.isInteger(Number(id))) throw new TypeError(`${what}: token ids must be integers, got ${id}`);
    }
    return ids;
  }

  /** Text to token ids. BOS (as the model asks) unless addSpecial is false. */
  async tokenize(text, options) {
    return this.#exclusive(() => this.#tokenizeNow(text, options));
  }

  /** Token ids to text; control tokens are dropped unless skipSpecial is false. */
  async detokenize(ids, { skipSpecial = true } = {}) {
    this.#ids(ids, 'detokenize');
    return this.#exclusive(() => this.#detokenizeNow(ids, skipSpecial));
  }

  #detokenizeNow(ids, skipSpecial) {
    {
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
  }

  /**
   * Teacher-forced logits from position 0: a Float32Array of ids.length rows
   * of nVocab (row i = next-token logits after ids[0..i]), or one row with
   * { logits: 'last' }.
   */
  async forward(ids, { logits = 'all' } = {}) {
    this.#ids(ids, 'forward');
    if (logits !== 'all' && logits !== 'last') throw new RangeError(`forward: logits must be 'all' or 'last', got ${logits}`);
    return this.#exclusive(() => {
      const core = this.#core;
      const nVocab = this.#info.nVocab;
      const rows = logits === 'all' ? ids.length : 1;
      const idsPtr = core.writeI32(ids);
      let out = 0;
      try {
        out = core.malloc(rows * nVocab * 4);
        core.check(core.em._gf_api_forward(this.#handle, idsPtr, ids.length, logits === 'all' ? 1 : 0, out));
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
  async embed(input, { pooling, normalize = true } = {}) {
    const codes = { none: 0, mean: 1, cls: 2, last: 3 };
    if (pooling !== undefined && !(pooling in codes)) throw new RangeError(`embed: pooling must be 'mean', 'cls', 'last' or 'none', got ${pooling}`);
    const isIds = (x) => (Array.isArray(x) && x.every((v) => typeof v === 'number')) || ArrayBuffer.isView(x);
    const many = Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string');
    const items = many ? input : [input];
    for (const x of items) if (typeof x !== 'string' && !isIds(x)) throw new TypeError('embed: input must be a string, an array of strings, or token ids');
    return this.#exclusive(() => {
      const core = this.#core;
      const dim = this.#info.dim;
      const out = items.map((x) => {
        const ids = typeof x === 'string' ? this.#tokenizeNow(x, { addSpecial: true }) : Array.from(x);
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
  async renderChat(messages, { template, addGenerationPrompt = true, templateVariables } = {}) {
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
    const stats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [] };
    const self = this;
    const iterator = (async function* () {
      const { template, templateVariables, ...rest } = options;
      const prompt = await self.renderChat(messages, { template, templateVariables });
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
    const stats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: null, tokens: [] };
    const iterator = this.#generate(prompt, options, stats);
    iterator.stats = stats;
    return iterator;
  }

  async *#generate(prompt, options, stats) {
    const {
      maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed,
      signal, ignoreEos = false, addSpecial = true, parseSpecial = false,
    } = options;
    const limit = int(maxTokens, 'maxTokens', 256, 1);
    const sampling = [
      num(temperature, 'temperature', 0.8),
      int(topK, 'topK', 40),
      num(topP, 'topP', 0.95),
      num(minP, 'minP', 0.05),
      num(repeatPenalty, 'repeatPenalty', 1.0),
      int(repeatLastN, 'repeatLastN', 64),
      int(seed, 'seed', Math.floor(Math.random() * 2 ** 32), 0),
    ];
    if (signal?.aborted) throw abortError(signal);

    this.#live();
    const previous = this.#queue;
    let release;
    this.#queue = new Promise((r) => (release = r));
    const core = this.#core;
    let scratch = 0;
    try {
      await previous;
      this.#live();
      const ids = typeof prompt === 'string' ? this.#tokenizeNow(prompt, { addSpecial, parseSpecial }) : Array.from(this.#ids(prompt, 'generate'));
      stats.promptTokens = ids.length;
      if (signal?.aborted) throw abortError(signal);

      const t0 = performance.now();
      const idsPtr = core.writeI32(ids);
      try {
        core.check(core.em._gf_api_generate_start(this.#handle, idsPtr, ids.length, ...sampling, ignoreEos ? 1 : 0));
      } finally {
        core.free(idsPtr);
      }
      stats.prefillMs = performance.now() - t0;

      // out id, out length, piece bytes
      scratch = core.malloc(8 + PIECE_BYTES);
      const t1 = performance.now();
      while (stats.generatedTokens < limit) {
        if (signal?.aborted) throw abortError(signal);
        const more = core.check(core.em._gf_api_generate_next(this.#handle, scratch, scratch + 8, PIECE_BYTES, scratch + 4));
        const len = core.u32At(scratch + 4);
        const text = len ? core.readString(scratch + 8, len) : '';
        if (!more) {
          stats.stopReason = core.readString(core.em._gf_api_stop_reason(this.#handle) >>> 0);
          stats.decodeMs = performance.now() - t1;
          if (text) yield text;
          break;
        }
        stats.tokens.push(core.i32(scratch, 1)[0]);
        stats.generatedTokens++;
        stats.decodeMs = performance.now() - t1;
        if (text) yield text;
        await yieldToEventLoop();
      }
      if (!stats.stopReason) {
        stats.stopReason = 'length';
        const n = core.check(core.em._gf_api_generate_flush(this.#handle, scratch + 8, PIECE_BYTES));
        if (n) yield core.readString(scratch + 8, n);
      }
    } finally {
      core.free(scratch);
      stats.wasmMemoryBytes = core.memoryBytes;
      release();
    }
  }

  /** Frees the model's memory; the object is unusable afterwards. */
  async dispose() {
    if (this.#disposed) return;
    await this.#exclusive(async () => {
      const core = this.#core;
      core.em._gf_api_free(this.#handle);
      this.#disposed = true;
      this.#core = null;
      await core.shutdown();
    });
  }
}
