/** Where a model comes from. Strings are file paths in Node and URLs everywhere (http:, https:, file: in Node). */
/** A path or URL, 'hf:owner/repo/file.gguf[@revision]' (the Hugging Face Hub), { hf: { repo, file, revision } }, or bytes. */
export type ModelSource = string | URL | Response | Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array>
  | { hf: { repo: string; file: string; revision?: string } };

export interface LoadProgress {
  /** Bytes of the file consumed so far. */
  loaded: number;
  /** File size when known (Content-Length, file size, or the size the GGUF header declares); 0 when unknown. */
  total: number;
  /** loaded / total, in [0, 1]; 1 when the model is ready. */
  fraction: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** Tokens the KV cache holds. Default: the model's training context, at most 2048. */
  contextLength?: number;
  /** What the KV cache holds. 'auto' (default): 'q8_0' for decoders whose head dimension is a multiple of 32, else
   * 'f32'. 'q8_0': llama.cpp's 8-bit blocks, a quarter of f32's memory and attention traffic (faster decoding,
   * +44% at ~1,100 tokens of context), KL ~2e-5 nats/token on a trained model. 'f32': logits as llama.cpp's with an F32
   * cache. 'f16': half the memory, within ~0.004 std of f32, but slower (wasm has no f16 conversion). */
  kvCache?: 'auto' | 'f32' | 'f16' | 'q8_0';
  /** Run the kernels on one batch (through one layer per mix of weight types, then the per-token steps a few more
   * times) before resolving (default true), so that the engine has optimized them before the first prompt: ~60 ms
   * of load time for the 110M benchmark model, ~120 ms for the 1B one. The model's state is untouched. */
  warmup?: boolean;
  /** Tokens per forward batch during prompt processing. Default 64. */
  batchSize?: number;
  /** Stops the download and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Read only the tokenizer and hyperparameters (stops after the GGUF header): tokenize/detokenize work. */
  vocabOnly?: boolean;
  /** Read and validate the header and tensor table without loading weights: info() works. */
  inspect?: boolean;
  /** Refuse models needing more bytes (weights + KV cache + scratch). Default: just under wasm32's 4 GiB. */
  maxMemory?: number;
  /** Threads for matrix work: 'auto' (default: the machine's cores, at most 8; one for files known to be under
   * 64 MB, where a worker's ~10 MB costs more than it gains) or a number. Browsers need
   * cross-origin isolation (COOP/COEP headers) for more than one; otherwise one runs, and info().threadsReason says why. */
  threads?: 'auto' | number;
  /** Which SIMD build runs the model; all give bit-identical results. 'auto' (default): where the engine has relaxed
   * SIMD, the relaxed build if it runs the int8 dot product as one instruction (Chromium on x86 with AVX-VNNI or on
   * ARM), else the relaxed16 build (Chromium on other x86 CPUs, where V8 emulates that instruction: its kernels use
   * the 16-bit form, one pmaddubsw there); the plain SIMD128 build elsewhere (Node 20, Firefox and Safari today).
   * 'relaxed' and 'relaxed16' insist on one (an error without relaxed SIMD; Node 20 needs
   * --experimental-wasm-relaxed-simd --no-liftoff); 'plain' never uses relaxed SIMD. info().build, info().kernels and
   * info().simdReason say which ran and why. */
  simd?: 'auto' | 'relaxed' | 'relaxed16' | 'plain';
  /** URL sources: the stall window in milliseconds (default 60000; 1..2147483647). A response counts as stalled when
   * no byte arrives for `timeout` ms, or when a `timeout`-ms window (consecutive windows from the response's start,
   * counting only time spent waiting for the network) brings fewer than 64 KiB: with the default, a floor of
   * ~1.1 KiB/s, so a trickling server cannot hold a load forever. A stalled download resumes like a dropped one. */
  timeout?: number;
  /** URL sources: how many times an interrupted or stalled download resumes with a Range request (default 3;
   * 0..1000). Every 206 is checked (Content-Range present, starting at the byte asked for, the same total size, a body
   * no longer than declared; cross-origin, where Content-Range is hidden unless exposed, a Content-Length of exactly
   * the rest of the file): a mismatch rejects instead of splicing. */
  retries?: number;
  /** Verify the file's SHA-256 (64 hex digits) as it streams; a mismatch rejects (and drops a cached copy). */
  sha256?: string;
  /** Quantize F32/F16 weight matrices as their bytes arrive (llama.cpp's reference quantizers and its type rules for
   * that file type, e.g. a Q6_K output matrix): peak memory stays near the quantized size plus one batch of rows. */
  quantize?: QuantType;
  /** Browsers, http(s) URLs: keep the file in the Origin Private File System and read it from there next time
   * (default true; 'reload' downloads again). Needs the worker runtime. */
  cache?: boolean | 'reload';
  /** Pages: run the model in a Web Worker (default true). false runs it in the page's thread. */
  worker?: boolean;
  /** Extra options for fetch() when the source is a URL. */
  fetchOptions?: RequestInit;
  /** For hf: sources: the hub's address (default https://huggingface.co), e.g. a mirror. */
  hubEndpoint?: string;
  /** Browsers: the folder (URL, relative to the page) holding a copy of the package's dist/ (its worker.mjs, glue and
   * .wasm files), for bundlers that do not copy new URL(…, import.meta.url) files (esbuild) or self-hosted assets.
   * Default: found by the bundler, or next to the package's web/ folder. Ignored in Node. */
  assetBase?: string | URL;
}

export interface GenerateOptions {
  /** Default 256. */
  maxTokens?: number;
  /** 0 = greedy. Default 0.8. */
  temperature?: number;
  /** 0 = off. Default 40. */
  topK?: number;
  /** 1 = off. Default 0.95. */
  topP?: number;
  /** 0 = off. Default 0.05. */
  minP?: number;
  /** 1 = off (default). */
  repeatPenalty?: number;
  /** Tokens the repetition penalty looks back over. Default 64. */
  repeatLastN?: number;
  /** Same seed, same options, same model: same text, in Node and in browsers. Default: random. */
  seed?: number;
  signal?: AbortSignal;
  /** Keep generating past end-of-sequence tokens (benchmarks). */
  ignoreEos?: boolean;
  /** Add BOS as the model asks (string prompts). Default true. */
  addSpecial?: boolean;
  /** Turn control tokens written in the prompt (e.g. "<s>") into their ids. Default false. */
  parseSpecial?: boolean;
  /** Stop strings (at most 64): the text ends before the first one, across token boundaries; stopReason 'stop'. */
  stop?: string | string[];
  /** OpenAI's penalties over the last repeatLastN tokens: subtracted once per distinct token / per occurrence. -2..2, default 0. */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Added to a token's logit before sampling; -Infinity bans it. { [tokenId]: bias }, a Map or [[id, bias], ...]. */
  logitBias?: Record<number, number> | Map<number, number> | Array<[number, number]>;
  /** Record each generated token's log-probability (the model's log-softmax: no penalty, bias or temperature) in stats.logprobs. */
  logprobs?: boolean;
  /** With logprobs: also the topLogprobs (0..20) likeliest tokens at each step. */
  topLogprobs?: number;
  /**
   * Constrained output: a GBNF grammar (llama.cpp's format, root rule "root"); every token that cannot continue
   * it is masked each step. Not together with responseFormat.
   */
  grammar?: string;
  /** Constrained output as OpenAI's response_format: any JSON object, or JSON valid against a schema. */
  responseFormat?: ResponseFormat;
  /** 'off' (default): a full context ends the generation; 'sinks' or { sinks: n }: keep the first tokens and the newer
   * half of the rest, evaluated again at their new positions, and go on (stats.contextShifts). */
  contextShift?: 'off' | 'sinks' | { sinks: number };
  /** Token ids that end the generation as end-of-generation tokens do (stopReason 'eos'); chat() adds the template's end-of-turn token. */
  stopTokens?: number[];
}

/** A JSON Schema (the subset jsonSchemaToGrammar supports; unsupported keywords are an error). */
export type JsonSchema = boolean | { [keyword: string]: unknown };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { schema?: JsonSchema | Record<string, unknown>; name?: string; strict?: boolean | null; description?: string } };

/** GBNF for the JSON texts valid against schema; throws an Error naming any unsupported keyword. */
export function jsonSchemaToGrammar(schema: JsonSchema): string;

export interface TokenLogprob {
  token: number;
  logprob: number;
  top: Array<{ token: number; logprob: number }>;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatOptions extends Omit<GenerateOptions, 'addSpecial' | 'parseSpecial' | 'stopTokens'> {
  /** A Jinja chat template to use instead of the model's own. */
  template?: string;
  /** Extra variables for the template. */
  templateVariables?: Record<string, unknown>;
  /** 'error' (default): a conversation longer than the context is an error; 'trim': whole old turns are dropped,
   * oldest first (system messages stay), until the prompt leaves room for the reply (stats.droppedMessages). */
  historyPolicy?: 'error' | 'trim';
}

export interface EmbedOptions {
  /** Default: the model's own (bert.pooling_type). */
  pooling?: 'mean' | 'cls' | 'last' | 'none';
  /** Scale to unit L2 length (default true). */
  normalize?: boolean;
}

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens whose keys and values the KV cache already held (the longest common prefix with what it last ran). */
  cachedTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  /**
   * "eos" (end-of-generation token), "length" (maxTokens), "context" (context full), "stop" (a stop string),
   * "grammar" (the grammar's text is complete and nothing else can follow); null while running.
   */
  stopReason: 'eos' | 'length' | 'context' | 'stop' | 'grammar' | null;
  /** With grammar or responseFormat: milliseconds spent masking and advancing the grammar (part of decodeMs). */
  grammarMs?: number;
  /**
   * Milliseconds the decode steps spent in the output projection (final norm, the vocabulary-sized matrix product,
   * the logits' finiteness check; part of decodeMs): with a large vocabulary, a large share of each step. Set from
   * the first generated token on.
   */
  outputMs?: number;
  /** Milliseconds spent picking tokens from the logits: penalties, bias, top-k/top-p/min-p, the draw (part of decodeMs). */
  sampleMs?: number;
  /** With contextShift: how many times the context was shifted. */
  contextShifts?: number;
  /** chat() with historyPolicy 'trim': how many old messages were left out. */
  droppedMessages?: number;
  /** With the logprobs option: one entry per generated token. */
  logprobs: TokenLogprob[];
  /** The stop string that ended the text (stopReason 'stop'). */
  stopString?: string;
  /** Size of the wasm instance's memory when generation ended (grows only, never shrinks). */
  wasmMemoryBytes?: number;
  tokens: number[];
  /** What the engine read and multiplied for this generation, and an energy estimate from it; null until the prompt ran. */
  work: WorkStats | null;
}

/**
 * One phase's counts, as the engine counted them where the work happened (src/model/work.h): each matmul call adds
 * the bytes of the weight rows it multiplies (once per call, whatever the batch) and rows x columns multiply-adds per
 * token; attention adds the KV rows it visits and stores. Norms, RoPE, activation functions, softmax and sampling
 * are not counted (O(dim) per token beside the matrix products' O(dim^2)).
 */
export interface WorkCounts {
  /** Token positions evaluated: the prompt tokens the cache did not hold; after the prompt, one per sampled token that was fed back (plus any re-evaluation, e.g. after a context shift). */
  tokens: number;
  /** Forward passes (batches); each reads every weight matrix once. */
  steps: number;
  /** Bytes of weight matrices multiplied, in their stored types, plus the embedding rows looked up. */
  weightBytes: number;
  /** Bytes of cached keys and values read by attention (in the KV cache's type). */
  kvBytesRead: number;
  /** Bytes of keys and values stored into the cache. */
  kvBytesWritten: number;
  /** Multiply-adds on 8-bit integers (quantized weights against 8-bit activations; a q8_0 KV cache). */
  intMacs: number;
  /** Multiply-adds in floating point (F32/F16/BF16 weights; an f32/f16 KV cache). */
  floatMacs: number;
  /** intMacs + floatMacs. */
  macs: number;
  /** The estimate of energy.model for this phase, in joules. */
  joules: number;
}

/** A phase's counts divided by its tokens. */
export interface WorkPerToken {
  weightBytes: number;
  kvBytesRead: number;
  kvBytesWritten: number;
  intMacs: number;
  floatMacs: number;
  macs: number;
  joules: number;
}

/** Energies per operation and the memory assumption the estimate uses (ENERGY_CONSTANTS; estimateEnergy replaces any). */
export interface EnergyConstants {
  /** The publication the numbers come from. */
  source: string;
  /** pJ per integer multiply-add (an 8-bit multiply and a 32-bit add at 45 nm: 0.2 + 0.1). */
  intMacPj: number;
  /** pJ per float multiply-add (a 32-bit float multiply and add at 45 nm: 3.7 + 0.9). */
  floatMacPj: number;
  /** pJ per byte from DRAM (1.3 nJ per 64 bits, the low end of 1.3-2.6). */
  dramBytePj: number;
  /** pJ per byte from cache (a 1 MB cache: 100 pJ per 64 bits). */
  cacheBytePj: number;
  /** The last-level cache assumed: a forward step that reads more bytes than this reads them from DRAM. */
  llcBytes: number;
}

export interface WorkStats {
  /** Evaluating the prompt (the part the KV cache did not already hold). */
  prompt: WorkCounts;
  /** The steps after the prompt: each sampled token fed back through the model. */
  generated: WorkCounts;
  /** Each phase divided by its tokens; null for a phase that evaluated none. */
  perToken: { prompt: WorkPerToken | null; generated: WorkPerToken | null };
  energy: {
    /** Always true: the joules are an estimate, not a measurement. */
    estimate: true;
    /** prompt.joules + generated.joules. */
    joules: number;
    /** Where each phase's bytes were assumed to come from. */
    memory: { prompt: 'cache' | 'dram'; generated: 'cache' | 'dram' };
    /** How the estimate is made, in words. */
    model: string;
    /** What the estimate leaves out, in words. */
    leavesOut: string;
    constants: EnergyConstants;
    source: string;
  };
}

/** The constants stats.work's energy estimate uses by default (45 nm figures from Horowitz, ISSCC 2014). */
export declare const ENERGY_CONSTANTS: Readonly<EnergyConstants>;
/** stats.work again from its counts, with other constants (e.g. { llcBytes: 32 * 2 ** 20 } for a CPU with a 32 MB last-level cache). */
export declare function estimateEnergy(
  work: { prompt?: Partial<WorkCounts>; generated?: Partial<WorkCounts> },
  constants?: Partial<EnergyConstants>,
): WorkStats;

export interface Generation extends AsyncIterableIterator<string> {
  stats: GenerationStats;
}

export interface ArchitectureBlocks {
  norm: 'rms' | 'layer';
  /** "pre": norm before each block; "post": after each residual add (bert). */
  normPlace: 'pre' | 'post';
  rope: 'none' | 'adjacent' | 'neox';
  /** 'geglu': GELU(gate) * up (gemma2, gemma3) */
  ffn: 'swiglu' | 'gelu' | 'geglu';
  /** gate and up in one ffn_up matrix (phi3) */
  fusedGateUp: boolean;
  /** per-head RMSNorm of queries and keys (qwen3) */
  qkNorm: boolean;
  learnedPositions: boolean;
  tokenTypes: boolean;
  embeddingNorm: boolean;
  /** layers il with (il + 1) % n == 0 have no RoPE (smollm3: 4); 0: none */
  noRopeEvery: number;
  /** post_attention_norm and post_ffw_norm on each block's output before the residual add (gemma2, gemma3) */
  sandwichNorm: boolean;
  /** with slidingWindow: layer il is windowed when il % n < n - 1 (gemma2: 2, gemma3: 6, olmo2: 4, where the file's
   * attention.sliding_window_pattern, a period or one bool per layer, overrides it: layers.attention says); 0: none */
  slidingWindowPattern: number;
  fusedQkv: boolean;
  /** "rope_freqs", "longrope" (phi3's long and short factors) or "none" */
  ropeFactors: 'none' | 'rope_freqs' | 'longrope';
  /** rope.scaling.type: 'yarn' mixes interpolated and original frequencies per pair (Qwen3 and OLMo 3 long contexts) */
  ropeScaling: 'none' | 'linear' | 'yarn' | 'longrope';
  /** rope.scaling.attn_factor */
  ropeAttnFactor: number;
  /** 1 / rope.scaling.factor */
  ropeFreqScale: number;
  /** rope.scaling.original_context_length (default contextTrain): LongRoPE's switch, YaRN's ramp */
  ropeContextOriginal: number;
  /** what cos and sin of the scaled layers are multiplied by (YaRN: attn_factor x (1 + 0.1 ln factor), as llama.cpp) */
  ropeMagnitude: number;
  /** YaRN's share of original frequencies (1; 0 without YaRN) and its ramp's ends in rotations over the original context */
  yarnExtFactor: number;
  yarnBetaFast: number;
  yarnBetaSlow: number;
  /** scores = attentionScale * q . k: 1 / sqrt(headDim), or the file's attention.scale (granite) */
  attentionScale: number;
  /** granite's multipliers (1 elsewhere; gemma's embeddingScale is sqrt(dim)): the embedding, each block's output before
   * the residual add; logits are divided by logitScale */
  embeddingScale: number;
  residualScale: number;
  logitScale: number;
  /** scores become cap * tanh(s / cap) (gemma2: 50); 0: none */
  attentionSoftcap: number;
  /** the same on the logits (gemma2: 30); 0: none */
  finalSoftcap: number;
}

export interface LayerValues {
  /** "global", or "sliding:<window>" for a sliding-window layer (gemma2's even layers, five of gemma3's six) */
  attention: string[];
  /** whether RoPE applies (false: a NoPE layer) */
  rope: boolean[];
  /** the layer's RoPE base (gemma3's windowed layers: rope.freq_base_swa); 0 without RoPE */
  ropeBase: number[];
  /** whether the file's RoPE scaling applies (gemma3's and OLMo 3's windowed layers: unscaled); false without scaling */
  ropeScaled: boolean[];
  /** the layer's attention soft-cap; 0: none */
  attentionSoftcap: number[];
  nHead: number[];
  nHeadKv: number[];
  ffnDim: number[];
}

export interface ModelInfo {
  architecture: string;
  /** general.name */
  name: string;
  /** false for vocabOnly and inspect loads. */
  weightsLoaded: boolean;
  tokenizer: string;
  nVocab: number;
  dim: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  ffnDim: number;
  contextTrain: number;
  ropeDim: number;
  ropeBase: number;
  normEps: number;
  /** Keys a windowed layer attends to (gemma2, gemma3: each query and the slidingWindow - 1 before it); 0: no window. */
  slidingWindow: number;
  tiedOutput: boolean;
  /** An encoder (bert): embed() instead of forward/generate. */
  encoder: boolean;
  causal: boolean;
  /** The model's own pooling for embed(): encoders' "mean" or "cls", "last" for decoders whose file sets it
   * (Qwen3-Embedding), else "none" (a decoder without it refuses embed()). */
  pooling: 'none' | 'mean' | 'cls' | 'last';
  /** The architecture descriptor's block choices (src/model/arch.c), with the file's own (fused QKV, RoPE factors). */
  blocks?: ArchitectureBlocks;
  /** Per-layer values, one array entry per layer. */
  layers?: LayerValues;
  /** BOS and EOS token ids (-1 when the vocabulary has none). */
  bos: number;
  eos: number;
  /** tokenizer.chat_template from the file, or null. */
  chatTemplate: string | null;
  /** Tensor count per type as held in memory, e.g. { F32: 5, Q4_0: 14, Q6_K: 1 }. */
  tensorTypes: Record<string, number>;
  weightBytes: number;
  /** "simd128+relaxed", "simd128+relaxed16", "simd128" or "scalar". */
  kernels: string;
  contextLength: number;
  batch: number;
  /** What the KV cache holds (null for vocabOnly and inspect loads, which have none). */
  kvCache: 'f32' | 'f16' | 'q8_0' | null;
  /** "worker" (a page's model in its Web Worker) or "thread" (in the calling thread). */
  runtime: 'worker' | 'thread';
  /** Persistent cache: "hit" (read from disk, no network), "stored", "resumed", "off: <reason>", or "none" (not a URL). */
  cache: string;
  /** The verified SHA-256, when one was given. */
  sha256: string | null;
  /** Threads running matrix work. */
  threads: number;
  /** Why that many, e.g. "2 threads: auto (2 cores)" or "1 thread: not cross-origin isolated: ...". */
  threadsReason: string;
  /** "greenformer" (single thread) or "greenformer-mt" (pthreads); "greenformer-relaxed(-mt)" or
   * "greenformer-relaxed16(-mt)" with relaxed SIMD (see LoadOptions.simd). */
  build: string;
  /** Why that SIMD build, e.g. "relaxed: auto, this engine has relaxed SIMD with a native int8 dot product" or
   * "relaxed16: auto, this engine emulates the relaxed int8 dot product (V8 on x86 without AVX-VNNI, Firefox on any x86); its 16-bit form is one instruction (pmaddubsw)". */
  simdReason: string;
  source: string;
  fileBytes: number | null;
  /** How many files the model was read from: 1, or a split model's shard count (the GGUF stream they make, fileBytes). */
  shards: number;
  /** Milliseconds from the call to loadModel until the model was ready, the warm-up included. */
  loadMs: number;
  /** Milliseconds the warm-up took (LoadOptions.warmup); null when none ran. */
  warmupMs: number | null;
  wasmMemoryBytes: number;
}

export declare class Model {
  info(): ModelInfo;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<number[]>;
  detokenize(ids: ArrayLike<number>, options?: { skipSpecial?: boolean }): Promise<string>;
  /** Teacher-forced logits from position 0: ids.length rows of nVocab (or one row with logits: 'last'). */
  forward(ids: ArrayLike<number>, options?: { logits?: 'all' | 'last' }): Promise<Float32Array>;
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): Generation;
  /** Renders messages with the chat template and streams the reply (stops at the end-of-turn token);
   * chat.completions.create is the OpenAI-shaped form. */
  chat: ((messages: ChatMessage[], options?: ChatOptions) => Generation) & { completions: ChatCompletions };
  /** OpenAI's legacy text completions. */
  completions: Completions;
  /** OpenAI's embeddings (encoder models). */
  embeddings: Embeddings;
  /** The prompt chat() would generate from. */
  renderChat(messages: ChatMessage[], options?: Omit<ChatOptions, keyof GenerateOptions> & { addGenerationPrompt?: boolean }): Promise<string>;
  chatTemplate(): string | null;
  /** Encoders: unit-length (unless normalize: false) embeddings; one per text for arrays of texts;
   * pooling 'none' gives tokens x dim, flattened. */
  embed(input: string | ArrayLike<number>, options?: EmbedOptions): Promise<Float32Array>;
  embed(input: string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /** Frees the model at once; queued calls and a running generation reject with code GF_DISPOSED. */
  dispose(): Promise<void>;
  /** A new session: its own KV cache and prompt cache over the model's weights (one per conversation). */
  session(): Session;
}

/** A conversation's own KV cache over a model's weights (Model.session()). */
export interface Session {
  info(): ModelInfo;
  chatTemplate(): string | null;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<number[]>;
  detokenize(ids: ArrayLike<number>, options?: { skipSpecial?: boolean }): Promise<string>;
  forward(ids: ArrayLike<number>, options?: { logits?: 'all' | 'last' }): Promise<Float32Array>;
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): Generation;
  chat: ((messages: ChatMessage[], options?: ChatOptions) => Generation) & { completions: ChatCompletions };
  completions: Completions;
  /** Frees this session's cache; its calls reject afterwards (GF_DISPOSED). */
  dispose(): Promise<void>;
}

/**
 * `source` may also be a split model (llama.cpp's gguf-split): the first shard's path, URL or hf: name
 * (`model-00001-of-00003.gguf`; the others are found by the same pattern), or every shard in order as an array.
 */
export declare function loadModel(source: ModelSource | ModelSource[], options?: LoadOptions): Promise<Model>;

export interface CachedModel {
  url: string;
  /** The file's size. */
  size: number;
  /** Bytes on disk (less than size while a download is partial). */
  bytes: number;
  complete: boolean;
  cachedAt: number;
}

/** Models in the persistent cache (browsers; [] elsewhere). */
export declare function listCachedModels(): Promise<CachedModel[]>;
/** Drops a URL's cached bytes; resolves true if there were any. */
export declare function deleteCachedModel(url: string | URL): Promise<boolean>;
export declare const version: string;

/** Weight types greenformer writes (generated from the core's registry by tools/gen-types.mjs). 'Q4_K', 'Q5_K',
 * 'Q3_K' follow llama.cpp's Q4_K_M, Q5_K_M, Q3_K_M rules. */
export type QuantType = 'Q4_0' | 'Q4_1' | 'Q5_1' | 'Q8_0' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K' | 'IQ4_XS' | 'BF16';

export interface QuantizeOptions {
  /** Default 'Q4_K'. With mix, only the file's label: types come from the measurement. */
  type?: QuantType | 'Q4_K_M' | 'Q5_K_M' | 'Q3_K_M';
  /** 'ref': llama.cpp's reference quantizers (bytes equal to llama-quantize's without an imatrix), every type.
   * 'search': per-block scales chosen by searching candidates (lower error, same format), every type.
   * Default 'ref'; 'search' when calib or mix is given. */
  method?: 'ref' | 'search';
  /** Calibration text: the model runs on it; errors are weighted by each input channel's mean squared
   * activation and rounding errors are compensated across correlated channels (GPTQ). Decoder models only. */
  calib?: string;
  /** Target bits per weight (all tensors counted, 2..16): each matrix's type, among all QuantTypes, chosen by its
   * measured effect on the model's output (needs calib). */
  mix?: number;
  /** Calibration chunks the mix measures each candidate on (default 4). */
  mixChunks?: number;
  /** The mix may also prune per layer (FFN neurons by 1/8, 1/4, 3/8; one or two KV groups), each option measured like
   * a type and chosen by the same knapsack within the same size, by this criterion (docs/pruning.md). */
  mixPrune?: 'magnitude' | 'activation' | 'hessian';
  /** Types for named tensors ('blk.0.ffn_down.weight': 'Q6_K'), over the rules. */
  tensorTypes?: Record<string, QuantType | 'F16' | 'F32'>;
  /** Override the output matrix's / token embedding's type. */
  outputType?: QuantType | 'F16' | 'F32';
  embdType?: QuantType | 'F16' | 'F32';
  onProgress?: (p: QuantizeProgress) => void;
  /** Plan, warnings and the mix assignment, line by line. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Where hf: sources resolve (default https://huggingface.co). */
  hubEndpoint?: string;
  /** Pages: the folder holding a copy of the package's dist/, where the tools module (greenformer-tools.mjs and
   * .wasm, loaded only by quantizeModel and pruneModel) is found; as loadModel's assetBase. Ignored in Node. */
  assetBase?: string | URL;
}

export interface QuantizeProgress {
  phase: 'load' | 'calibrate' | 'measure' | 'quantize';
  fraction: number;
  loaded?: number;
  total?: number;
  tensorsDone?: number;
  tensors?: number;
  tensor?: QuantizedTensor;
}

export interface QuantizedTensor {
  name: string;
  shape: number[];
  from: string;
  to: string;
  bytes: number;
  /** Calibration importance was used for it. */
  importance: boolean;
}

export interface QuantizePlan {
  /** llama.cpp's label (general.file_type): 'Q8_0', 'Q4_0', 'Q4_1', 'Q4_K_M', 'Q6_K'. */
  fileType: string;
  method: 'ref' | 'search';
  inputBytes: number;
  outputBytes: number;
  elements: number;
  /** Tensor bytes * 8 / elements, all tensors counted (as llama.cpp reports it). */
  bitsPerWeight: number;
  tensors: QuantizedTensor[];
  warnings: string[];
  mix?: {
    target: number;
    bitsPerWeight: number;
    predictedKl: number;
    tokens: number;
    mainType: string;
    /** The chosen type, and the mean KL measured with only this matrix quantized to each candidate. */
    tensors: { name: string; type: string; kl: Record<string, number> }[];
  };
}

/** A file path (Node), a function given each chunk (a copy it may keep), or a WritableStream. */
export type QuantizeDestination = string | ((bytes: Uint8Array) => void | Promise<void>) | WritableStream<Uint8Array>;

/** Quantizes a GGUF model, streaming: neither file is held whole in memory. calib and mix read the source twice
 * (a path, URL, Blob or bytes). */
/** source: as loadModel's, a split model included (its first shard's name, or an array of the shards). */
export declare function quantizeModel(source: ModelSource | ModelSource[], destination: QuantizeDestination, options?: QuantizeOptions): Promise<QuantizePlan>;
export declare function quantizeToBlob(source: ModelSource | ModelSource[], options?: QuantizeOptions): Promise<Blob & { plan: QuantizePlan }>;

/** Structured pruning (docs/pruning.md): whole FFN neurons and whole KV groups removed from a llama-architecture
 * F32/F16/BF16 model; the file's per-layer sizes are llama.cpp's arrays. */
export interface PruneOptions {
  /** Share of each layer's FFN neurons to remove, 0 <= ffn < 1 (each layer keeps a multiple of 32). */
  ffn?: number;
  /** Share of all KV groups (a KV head with its query heads) to remove, 0 <= heads < 1; the criterion picks the layers. */
  heads?: number;
  /** Default 'hessian' with calib, else 'magnitude'. */
  method?: 'magnitude' | 'activation' | 'hessian';
  /** Refit the kept columns of ffn_down / attn_output by least squares on calib (default: true for hessian). */
  compensate?: boolean;
  /** Calibration text (activation and hessian need it). */
  calib?: string;
  /** Kept units per layer instead of shares (the size planner's choice). */
  layers?: { ffn?: number[]; kvHeads?: number[] };
  /** Quantize the pruned model too (calibrated when calib is given). */
  type?: QuantType | 'Q4_K_M' | 'Q5_K_M' | 'Q3_K_M';
  onProgress?: (p: { phase: string; fraction: number }) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** As quantizeModel's assetBase (pages: where the tools module is found). */
  assetBase?: string | URL;
}

export interface PruneResult {
  prune: {
    method: string; compensate: boolean; ffnRemoved: number; kvRemoved: number;
    layers: { ffn: [number, number]; kvHeads: [number, number]; heads: [number, number]; ffnError: number; attnError: number }[];
  };
  file: { architecture: string; inputBytes: number; outputBytes: number; tensors: { name: string; shape: number[]; type: string; cut: string; refit?: boolean }[] };
  quantize?: QuantizePlan;
}

export declare function pruneModel(source: ModelSource | ModelSource[], destination: QuantizeDestination, options?: PruneOptions): Promise<PruneResult>;
/** Sizes from a GGUF's header alone (a split model's: the headers of its shards, summarized as the unsplit file). */
export declare function ggufSummary(
  source: ModelSource | ModelSource[],
  options?: { signal?: AbortSignal; hubEndpoint?: string; /** pages: the folder with a copy of the package's dist/, as loadModel's */ assetBase?: string | URL },
): Promise<{ tensors: number; elements: number; tensorBytes: number; bitsPerWeight: number; fileBytes: number; types: Record<string, number> }>;

// ---- OpenAI-shaped API (model.chat.completions, model.completions, model.embeddings) ----

export interface OpenAIMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  /** Text, or text parts (other parts, such as images, are refused at run time). */
  content?: string | null | Array<{ type: string; text?: string }>;
  name?: string;
  /** An assistant's earlier calls, as OpenAI returned them (function calls; others go to the template as they are). */
  tool_calls?: Array<{ id: string; type: string; function?: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface ChatCompletionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

export interface ChatCompletionMessageToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface SamplingRequest {
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  /** Only 1. */
  n?: number | null;
  user?: string;
  stream_options?: { include_usage?: boolean } | null;
  /** Not OpenAI's: cancels the generation. */
  signal?: AbortSignal;
}

export interface ChatCompletionCreateParams extends SamplingRequest {
  messages: OpenAIMessage[];
  max_completion_tokens?: number | null;
  stream?: boolean | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: ResponseFormat;
  tools?: ChatCompletionTool[];
  /** 'auto' (default with tools) or 'none'. */
  tool_choice?: 'auto' | 'none';
  parallel_tool_calls?: boolean;
}

export interface ChatCompletionTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; refusal: string | null; tool_calls?: ChatCompletionMessageToolCall[] };
    logprobs: { content: ChatCompletionTokenLogprob[] | null; refusal: ChatCompletionTokenLogprob[] | null } | null;
    finish_reason: 'stop' | 'length' | 'tool_calls';
  }>;
  usage?: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
    };
    logprobs?: { content: ChatCompletionTokenLogprob[] | null; refusal: ChatCompletionTokenLogprob[] | null } | null;
    finish_reason: 'stop' | 'length' | 'tool_calls' | null;
  }>;
  usage?: CompletionUsage | null;
}

export interface ChatCompletions {
  create(request: ChatCompletionCreateParams & { stream?: false | null }): Promise<ChatCompletion>;
  create(request: ChatCompletionCreateParams & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
}

export interface CompletionCreateParams extends SamplingRequest {
  prompt: string | number[];
  stream?: boolean | null;
  /** 0..5 alternatives per token. */
  logprobs?: number | null;
  echo?: boolean | null;
  suffix?: null;
  best_of?: number | null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: Array<{
    text: string;
    index: number;
    logprobs: { tokens?: string[]; token_logprobs?: number[]; top_logprobs?: Array<Record<string, number>>; text_offset?: number[] } | null;
    finish_reason: 'stop' | 'length' | 'content_filter';
  }>;
  usage?: CompletionUsage;
}

export interface Completions {
  create(request: CompletionCreateParams & { stream?: false | null }): Promise<Completion>;
  create(request: CompletionCreateParams & { stream: true }): Promise<AsyncIterable<Completion>>;
}

export interface EmbeddingCreateParams {
  input: string | string[] | number[] | number[][];
  model?: string;
  encoding_format?: 'float' | 'base64';
  /** Fewer dimensions: the first ones, scaled to unit length again. */
  dimensions?: number;
  user?: string;
}

export interface CreateEmbeddingResponse<E = number[]> {
  object: 'list';
  /** embedding: numbers, or with encoding_format 'base64' the float32 little-endian bytes in base64. */
  data: Array<{ object: 'embedding'; index: number; embedding: E }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface Embeddings {
  create(request: EmbeddingCreateParams & { encoding_format: 'base64' }): Promise<CreateEmbeddingResponse<string>>;
  create(request: EmbeddingCreateParams): Promise<CreateEmbeddingResponse>;
}
