#!/usr/bin/env node
// greenformer vs wllama vs native llama.cpp benchmark (npm run bench). See bench/README.md.
//
//   node bench/run.mjs [--models 110m,1b|real|qwen3-0.6b,...] [--types Q4_0,Q8_0,Q4_K_M] [--threads 1,2]
//                      [--runs 3] [--runtimes greenformer,wllama,native] [--env chromium,node]
//                      [--warmup 2] [--warmup-ms 2000] [--no-bandwidth] [--out bench/results.json]
//                      [--retries 2] [--max-wait 600]   # contention handling, see README
//                      [--js-flags FLAGS]   # for Chromium's V8, e.g. --no-enable-avx-vnni: an x86 CPU without AVX-VNNI
//                      [--batch-size N]     # greenformer's batchSize (default: the library's own)
//   node bench/run.mjs --files a.gguf,b.gguf [the options above but --models, --types]
//                      # your own GGUFs (llama, qwen2, gpt2; any vocabulary greenformer reads) instead of the generated models
//   node bench/run.mjs --check [--models ... --types ... | --files ...]   # validity of the model files in wllama
//   node bench/run.mjs --chat [--models 110m] [--types Q4_0] [--threads 1] [--out bench/results-chat.json]
//                      # a 6-turn conversation (prompt cache) in both runtimes, and greenformer's
//                      # JSON-schema mask cost on those models and the 152k-vocabulary one (bigvocab)
//
// Makes missing models, serves the repo root (cross-origin isolated), drives Debian's
// Chromium through playwright-core (never a downloaded browser), runs wllama and
// greenformer alternately in fresh tabs, also greenformer under Node and native
// llama.cpp (node-llama-cpp, the same files) under Node, and writes bench/results.json
// plus a table of medians with greenformer/wllama ratios and greenformer's % of native.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureModels, expandShapes, modelPath, shapeTypes, SHAPES, DEFAULT_SHAPES, MIXES } from './make-model.mjs';
import { readGGUF } from './lib/gguf.mjs';
import { benchPrompt } from './lib/vocab.mjs';
import { promptFromTokenizer } from './lib/prompt-text.mjs';
import { startServer } from '../tools/static-server.mjs';
import { ensureChromium } from '../tests/helpers/browser.mjs';
import { rendererPids, resetPeak, maxPeak, rssMb, cpuSnapshot, cpuSince } from './lib/procmem.mjs';
import { machineInfo, describeMachine } from './lib/cpuinfo.mjs';
import { Rng } from './lib/rng.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const N_PROMPT = 128;
const N_GEN = 128;
const N_CTX = 512;
const WARM_PROMPT = 32; // warm-up runs use a short workload: same kernels, less time
const WARM_GEN = 32;
const RUN_TIMEOUT_MS = 30 * 60 * 1000;
const QUIET_CORES = 0.3;     // other processes may use this much CPU before/while we measure
const CONTENDED_CORES = 0.3; // a run during which others used more is redone (--retries times)

// ---------------------------------------------------------------------------
// options

function parseArgs(argv) {
  const o = {
    models: DEFAULT_SHAPES, types: Object.keys(MIXES), threads: [1, 2], runs: 3,
    runtimes: ['greenformer', 'wllama', 'native'], env: ['chromium', 'node'], warmup: 2, warmupMs: 2000,
    bandwidth: true, check: false, out: path.join(here, 'results.json'), verbose: false,
    retries: 2, maxWaitS: 600, files: null, jsFlags: null, batchSize: null,
  };
  const given = new Set(argv); // --files replaces --models/--types, so giving both is a mistake
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    switch (a) {
      case '--models': o.models = expandShapes(list(v())); break; // 'real': the real shapes (make-model.mjs SHAPE_GROUPS)
      case '--types': o.types = list(v()); o.typesGiven = true; break;
      case '--threads': o.threads = list(v()).map(Number); break;
      case '--runs': o.runs = Number(v()); break;
      case '--runtimes': o.runtimes = list(v()); break;
      case '--env': o.env = list(v()); break;
      case '--warmup': o.warmup = Number(v()); break;
      case '--warmup-ms': o.warmupMs = Number(v()); break;
      case '--no-bandwidth': o.bandwidth = false; break;
      case '--check': o.check = true; break;
      case '--chat': o.chat = true; break;
      case '--files': o.files = list(v()); if (!o.files.length) throw new Error('--files needs at least one path'); break;
      case '--out': o.out = path.resolve(v()); break;
      case '--verbose': o.verbose = true; break;
      case '--retries': o.retries = Number(v()); break;
      case '--js-flags': o.jsFlags = v(); break;
      case '--batch-size': o.batchSize = Number(v()); if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 4096) throw new Error(`--batch-size must be an integer in 1..4096, got ${o.batchSize}`); break;
      case '--max-wait': o.maxWaitS = Number(v()); break;
      case '--help': case '-h':
        console.log(usage());
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  if (o.chat) {
    if (o.files) throw new Error('--chat runs the generated models only');
    if (!given.has('--models')) o.models = ['110m'];
    if (!given.has('--types')) o.types = ['Q4_0'];
    if (!given.has('--threads')) o.threads = [1];
    if (!given.has('--out')) o.out = path.join(here, 'results-chat.json');
    o.runtimes = o.runtimes.filter((r) => r !== 'native');
  }
  if (o.files && (given.has('--models') || given.has('--types'))) {
    throw new Error('--files runs your own files instead of the generated models: give it without --models and --types');
  }
  for (const t of o.types) if (!MIXES[t]) throw new Error(`unknown type ${t} (${Object.keys(MIXES)})`);
  for (const r of o.runtimes) if (!['greenformer', 'wllama', 'native'].includes(r)) throw new Error(`unknown runtime ${r}`);
  for (const e of o.env) if (!['chromium', 'node'].includes(e)) throw new Error(`unknown env ${e}`);
  if (!(o.runs >= 1)) throw new Error('--runs must be >= 1');
  return o;
}

/** The usage block at the top of this file (up to its first empty comment line after it). */
function usage() {
  const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const end = lines.findIndex((l, i) => i > 2 && l === '//');
  return lines.slice(1, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
}

// ---------------------------------------------------------------------------
// the model files: generated ones, or the user's own (--files)

// llama.cpp's llama_ftype (include/llama.h): general.file_type -> the name llama-quantize
// gives it (0 is LLAMA_FTYPE_ALL_F32; 5, 6 were Q4_2, Q4_3, removed before GGUF).
const FILE_TYPES = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 4: 'Q4_1_SOME_F16', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1',
  10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S',
  17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS',
  24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS',
  31: 'IQ1_M', 32: 'BF16', 33: 'Q4_0_4_4', 34: 'Q4_0_4_8', 35: 'Q4_0_8_8', 36: 'TQ1_0', 37: 'TQ2_0',
  38: 'MXFP4_MOE', 39: 'NVFP4', 40: 'Q1_0',
};
const fileTypeName = (ft) => (ft === undefined ? 'unknown' : FILE_TYPES[ft] ?? `file_type ${ft}`);

/** 4.2M, 110M, 1.1B: a model's parameter count (every tensor's elements) for its `shape`. */
function paramCount(g) {
  const n = g.tensors.reduce((a, t) => a + t.ne.reduce((x, y) => x * y, 1), 0);
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`;
  return `${Math.round(n / 1e3)}K`;
}

/** The generated models of --models x --types (made when missing), served from the repo root. */
function generatedModels(o) {
  // without --types, each shape's own types (the real shapes: those their files ship in)
  const typesOf = (m) => (o.typesGiven ? o.types : shapeTypes(m));
  const entries = [];
  for (const m of o.models) {
    ensureModels([m], typesOf(m));
    for (const t of typesOf(m)) {
      const file = modelPath(m, t), s = SHAPES[m];
      entries.push({ shape: m, type: t, file, urlPath: `/${rel(file)}`,
        expect: { vocab: s.vocab, layers: s.layers, dim: s.dim, ctx: s.ctx } });
    }
  }
  return { entries, mounts: {}, skipped: [] };
}

/**
 * The user's own files (--files), checked before anything runs: a missing, unreadable
 * or non-GGUF file throws, naming it. Each file's directory is mounted on the server
 * under /files/<n>/, since it may be outside the repo. A file whose vocabulary cannot
 * give the benchmark prompt gets `skip` (the reason): the caller leaves it out, says
 * so, and exits non-zero at the end.
 */
async function userFiles(paths) {
  const entries = [], mounts = {}, dirs = new Map(), names = new Map();
  for (const given of paths) {
    const file = path.resolve(given);
    let st;
    try {
      fs.accessSync(file, fs.constants.R_OK);
      st = fs.statSync(file);
    } catch (e) {
      throw new Error(`${given}: ${e.code === 'ENOENT' ? 'no such file' : `cannot read it (${e.code ?? e.message})`}`);
    }
    if (!st.isFile()) throw new Error(`${given}: not a file`);
    let g;
    try {
      g = readGGUF(file);
    } catch (e) {
      throw new Error(`${given}: ${e.message.startsWith(file + ': ') ? e.message.slice(file.length + 2) : e.message}`);
    }
    // Results, medians and the table are keyed by file name.
    const name = path.basename(file);
    if (names.has(name)) throw new Error(`${given} and ${names.get(name)} have the same file name, which the results are keyed by: rename or link one`);
    names.set(name, given);
    const dir = path.dirname(file);
    if (!dirs.has(dir)) { dirs.set(dir, `/files/${dirs.size}/`); mounts[dirs.get(dir)] = dir; }
    const arch = g.kv.get('general.architecture');
    const entry = {
      shape: `${arch ?? 'unknown'}-${paramCount(g)}`, type: fileTypeName(g.kv.get('general.file_type')),
      file, urlPath: dirs.get(dir) + encodeURIComponent(name), given,
      // what --check compares wllama's hyperparameters with: the file's own metadata
      expect: { vocab: g.kv.get('tokenizer.ggml.tokens')?.length, layers: g.kv.get(`${arch}.block_count`),
        dim: g.kv.get(`${arch}.embedding_length`), ctx: g.kv.get(`${arch}.context_length`) },
    };
    try {
      entry.prompts = await userPrompts(file, g);
    } catch (e) {
      entry.skip = e.message;
    }
    entries.push(entry);
  }
  return { entries, mounts, skipped: entries.filter((e) => e.skip) };
}

/**
 * benchPrompt (lib/vocab.mjs) builds the prompt from '▁word' pieces with llama's
 * SentencePiece tokenizer, starting with BOS id 1 and a space prefix: the defaults of
 * llama.cpp's 'llama' tokenizer model. Anything else would give a prompt the runtimes
 * tokenize differently, so such a file is refused rather than measured on other work.
 */
function sentencePieceOnly(g) {
  const kv = (k) => g.kv.get(`tokenizer.ggml.${k}`);
  if (kv('model') !== 'llama') {
    throw new Error(`the benchmark prompt is built from a SentencePiece vocabulary; this file's tokenizer is ${kv('model') ?? 'not given'}`);
  }
  for (const k of ['tokens', 'scores', 'token_type']) if (!kv(k)) throw new Error(`its SentencePiece vocabulary has no tokenizer.ggml.${k}`);
  if ((kv('bos_token_id') ?? 1) !== 1) throw new Error(`the benchmark prompt assumes BOS id 1; this file's is ${kv('bos_token_id')}`);
  if (kv('add_bos_token') === false) throw new Error('the benchmark prompt starts with BOS; this file does not add one');
  if (kv('add_space_prefix') === false) throw new Error('the benchmark prompt assumes SentencePiece\'s space prefix; this file turns it off');
  return g;
}

/**
 * A --files file's prompts: from llama's SentencePiece vocabulary as for the generated
 * models (bench/lib/vocab.mjs, a tokenizer independent of both runtimes) where it
 * qualifies; otherwise English text cut to the prompt length by greenformer's own
 * tokenizer (bench/lib/prompt-text.mjs; wllama's count of the same text is checked).
 */
async function userPrompts(file, g) {
  let spm;
  try {
    return { ...promptsFor(file, sentencePieceOnly(g)), from: 'bench/lib/vocab.mjs' };
  } catch (e) {
    spm = e;
  }
  const { loadModel } = await import('../web/index.js');
  let model;
  try {
    model = await loadModel(file, { vocabOnly: true });
  } catch (e) {
    throw new Error(`${spm.message}, and greenformer cannot read its tokenizer: ${e.message}`);
  }
  try {
    if (model.info().encoder) throw new Error(`an encoder (${model.info().architecture}): it generates no text to measure`);
    const tokenize = (text) => model.tokenize(text);
    return { full: await promptFromTokenizer(tokenize, N_PROMPT), warm: await promptFromTokenizer(tokenize, WARM_PROMPT), gguf: g, from: 'greenformer tokenizer' };
  } finally {
    await model.dispose();
  }
}

// ---------------------------------------------------------------------------
// helpers

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const rel = (p) => path.relative(root, p);

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(t));
}

/**
 * Waits (up to maxWaitS) until other processes use less than QUIET_CORES of CPU,
 * sampled over 1 s. Returns the last sample.
 */
async function quietGate(userDataDir, maxWaitS) {
  const t0 = Date.now();
  let said = false;
  for (;;) {
    const snap = cpuSnapshot(userDataDir);
    await sleep(1000);
    const c = cpuSince(snap);
    if (c.others < QUIET_CORES) return c;
    if (Date.now() - t0 > maxWaitS * 1000) {
      console.log(`   (machine still busy after ${maxWaitS} s: other processes use ${c.others.toFixed(2)} cores; measuring anyway)`);
      return c;
    }
    if (!said) { console.log(`   (waiting for a quiet machine: other processes use ${c.others.toFixed(2)} cores)`); said = true; }
    await sleep(2000);
  }
}

/** The benchmark prompt of a model file (from its own vocabulary), and a short one for warm-ups. */
const promptCache = new Map();
function promptsFor(file, g = readGGUF(file)) {
  const vocab = {
    tokens: g.kv.get('tokenizer.ggml.tokens'),
    scores: g.kv.get('tokenizer.ggml.scores'),
    types: g.kv.get('tokenizer.ggml.token_type'),
  };
  const key = vocab.tokens.length + ':' + vocab.tokens.slice(300, 340).join('|');
  if (!promptCache.has(key)) {
    try {
      promptCache.set(key, { full: benchPrompt(vocab, N_PROMPT), warm: benchPrompt(vocab, WARM_PROMPT) });
    } catch (e) {
      throw new Error(`cannot build the benchmark prompt from its vocabulary: ${e.message}`);
    }
  }
  return { ...promptCache.get(key), gguf: g };
}

/**
 * Weight bytes a decode step reads: every tensor once, but only one row of token_embd
 * (unless it is tied to the output).
 * NaN when a tensor's type is not in lib/gguf.mjs (its size is then unknown here).
 */
function weightBytesPerToken(g) {
  // Without output.weight (tied embeddings, common in --files) token_embd is also the
  // output matrix, read whole every token.
  const tied = !g.tensors.some((t) => t.name === 'output.weight');
  let bytes = 0;
  for (const t of g.tensors) {
    bytes += t.name === 'token_embd.weight' && !tied ? t.nbytes / t.ne[1] : t.nbytes;
  }
  return bytes;
}

function packageVersion(name) {
  try { return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return null; }
}

// ---------------------------------------------------------------------------
// bandwidth probe build (emcc 3.1.6; NODE_PATH for its JS optimizer)

function buildBandwidth() {
  const src = path.join(here, 'bandwidth.c');
  const out = path.join(here, 'build', 'bandwidth.wasm');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const env = { ...process.env };
  if (fs.existsSync('/usr/share/nodejs')) env.NODE_PATH = ['/usr/share/nodejs', env.NODE_PATH].filter(Boolean).join(':');
  const args = ['-O3', '-msimd128', '--no-entry', '-sSTANDALONE_WASM', '-sALLOW_MEMORY_GROWTH', '-sMAXIMUM_MEMORY=2GB', '-sTOTAL_STACK=65536', src, '-o', out];
  console.log(`bandwidth: emcc ${args.map((a) => (a.startsWith('/') ? rel(a) : a)).join(' ')}`);
  const r = spawnSync('emcc', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    console.log(`bandwidth: emcc failed (${r.error ? r.error.message : 'exit ' + r.status}); skipping the bandwidth probe. Install with: apt-get install -y emscripten`);
    return null;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Chromium

const chromiumFlags = (o) => [...CHROMIUM_FLAGS, ...(o.jsFlags ? [`--js-flags=${o.jsFlags}`] : [])];

async function launchChromium(flags) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is not installed: run npm install (it is a devDependency)');
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gf-bench-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: ensureChromium(), // installs Debian's chromium as root, else names the command
    headless: true,
    args: flags,
    viewport: { width: 800, height: 600 },
  });
  // Interrupted (Ctrl-C, kill): close the browser and remove the profile anyway.
  const onSignal = (sig) => {
    context.close().catch(() => {}).finally(() => {
      fs.rmSync(userDataDir, { recursive: true, force: true });
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    context,
    userDataDir,
    async close() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** One fresh tab: loads bench/page.html, calls window.bench[fn](args), measures the renderer's peak RSS. */
async function inPage(browser, baseUrl, fn, args, { verbose = false, memory = true } = {}) {
  const page = await browser.context.newPage();
  const logs = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning' || verbose) logs.push(`[${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  try {
    await page.goto(`${baseUrl}/bench/page.html`);
    await page.waitForFunction(() => window.bench && window.bench.ready, null, { timeout: 30000 });
    const info = await page.evaluate(() => window.bench.info());
    if (!info.crossOriginIsolated) throw new Error('page is not cross-origin isolated (COOP/COEP headers)');
    let pids = memory ? rendererPids(browser.userDataDir) : [];
    const base_mb = memory ? rssMb(pids) : NaN;
    if (memory) resetPeak(pids);
    const snap = cpuSnapshot(browser.userDataDir);
    const result = await withTimeout(page.evaluate(([f, a]) => window.bench[f](a), [fn, args]), RUN_TIMEOUT_MS, fn);
    const cpu = cpuSince(snap);
    result.other_cpu = cpu.others;
    result.steal_cpu = cpu.steal;
    if (memory) {
      pids = rendererPids(browser.userDataDir);
      const peak = maxPeak(pids);
      result.peak_mb = peak.hwm_mb;
      result.base_mb = base_mb;
    }
    result.userAgent = info.userAgent;
    if (verbose && logs.length) console.log(logs.join('\n'));
    return result;
  } catch (e) {
    if (logs.length) e.message += `\n  page log:\n    ${logs.slice(-15).join('\n    ')}`;
    throw e;
  } finally {
    await page.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Node (greenformer only)

function nodeRun(opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'node-runner.mjs'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      let msg;
      try { msg = JSON.parse(line); } catch { return reject(new Error(`node runner exited ${code}: ${err.trim().slice(-2000) || out.slice(-2000)}`)); }
      if (!msg.ok) return reject(new Error(msg.error));
      resolve(msg.result);
    });
  });
}

// ---------------------------------------------------------------------------
// runs

/** entry.urlPath: the file's path on the server (repo-relative, or under its --files mount). */
function runOptions(kind, entry, baseUrl, threads, prompts, warm, batchSize = null) {
  const p = warm ? prompts.warm : prompts.full;
  const nGen = warm ? WARM_GEN : N_GEN;
  if (kind === 'wllama') {
    return { modelUrl: `${baseUrl}${entry.urlPath}`, threads, prompt: p.text, nGen, nCtx: N_CTX };
  }
  return { source: `${baseUrl}${entry.urlPath}`, threads, prompt: p.text, promptIds: p.ids, nGen, nCtx: N_CTX, ...(batchSize ? { batchSize } : {}) };
}

/** Says which files --files leaves out and why (a file that cannot give the prompt). */
function reportSkipped(skipped) {
  for (const e of skipped) console.error(`bench: ${e.given}: ${e.skip} - skipping it`);
}

function summarizeRun(r) {
  return `load ${fmt(r.load_ms, 0)} ms, prefill ${fmt(r.prefill_tok_s)} tok/s, decode ${fmt(r.decode_tok_s)} tok/s, ` +
    `peak ${fmt(r.peak_mb, 0)} MB, n_prompt ${r.n_prompt}, n_gen ${r.n_gen}, others ${fmt(r.other_cpu, 2)} cores` +
    (r.work?.generated ? `, ${describeWork(r.work.generated)}` : '') +
    (r.contended ? ' (CONTENDED)' : '');
}

/** greenformer's counted work per generated token (bench/adapters/greenformer.mjs workPerToken). */
function describeWork(w) {
  return `${fmt(w.bytes / 1e6, 2)} MB read, ${fmt(w.macs / 1e6, 2)} M MACs, ~${fmt(w.joules * 1e3, 3)} mJ per token`;
}

async function bench(o) {
  const runtimes = [...o.runtimes];
  const gfApi = path.join(root, 'web', 'index.js');
  if (runtimes.includes('greenformer') && !fs.existsSync(gfApi)) {
    console.log(`greenformer: ${rel(gfApi)} not found - the JS API has not landed yet; skipping greenformer (wllama only).`);
    runtimes.splice(runtimes.indexOf('greenformer'), 1);
  }
  if (runtimes.includes('native')) {
    // node-llama-cpp with its prebuilt CPU binary (never built here): load it once now
    // so that a missing package or binary is said before anything runs.
    try {
      const { nativeLlama } = await import('./adapters/native.mjs');
      await nativeLlama();
    } catch (e) {
      console.log(`native: ${e.message.split('\n')[0]}; skipping native llama.cpp (no "% of native").`);
      runtimes.splice(runtimes.indexOf('native'), 1);
    }
  }
  const browserRuntimes = o.env.includes('chromium') ? runtimes.filter((r) => r !== 'native') : [];
  const nodeGf = o.env.includes('node') && runtimes.includes('greenformer');
  const native = runtimes.includes('native'); // under Node whatever --env says: it has no browser build
  if (!browserRuntimes.length && !nodeGf && !native) {
    console.log('nothing to run (no runtime available for the chosen environments)');
  }

  const { entries, mounts, skipped } = o.userFiles ?? generatedModels(o);
  const files = entries.filter((e) => !e.skip);

  const results = {
    machine: machineInfo(),
    date: new Date().toISOString(),
    config: { n_prompt: N_PROMPT, n_gen: N_GEN, n_ctx: N_CTX, runs: o.runs, warmup: o.warmup, warmup_ms: o.warmupMs,
      warmup_workload: { n_prompt: WARM_PROMPT, n_gen: WARM_GEN }, wllama: packageVersion('@wllama/wllama'),
      playwright_core: packageVersion('playwright-core'), node_llama_cpp: native ? packageVersion('node-llama-cpp') : null,
      chromium_flags: chromiumFlags(o), greenformer_batch_size: o.batchSize ?? 'library default',
      peak_mb: 'chromium: renderer VmHWM (reset before load, fresh tab per run); node (greenformer, native): the runner process maxRSS',
      pct_native: 'greenformer tok/s / native llama.cpp tok/s (node-llama-cpp, this machine, this run), same file, same threads, x 100',
      ...(o.userFiles ? { files: entries.map((e) => e.file) } : {}) },
    bandwidth: null,
    runs: [],
    summary: [],
    // runs that failed (e.g. a tensor type a runtime does not support) and --files left out
    failures: skipped.map((e) => ({ model: path.basename(e.file), shape: e.shape, type: e.type, skipped: true, error: e.skip })),
  };
  const save = () => fs.writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');

  const server = await startServer(root, { mounts });
  let browser = null;
  try {
    if (browserRuntimes.length || o.bandwidth) {
      browser = await launchChromium(chromiumFlags(o));
      const v = browser.context.browser()?.version?.();
      console.log(`chromium: ${CHROMIUM}${v ? ' ' + v : ''}, serving ${root} at ${server.url}`);
    }

    // Bandwidth probe
    if (o.bandwidth && browser) {
      const wasm = buildBandwidth();
      if (wasm) {
        try {
          const bw = await inPage(browser, server.url, 'bandwidth', { url: `${server.url}/${rel(wasm)}` }, { memory: false });
          results.bandwidth = { median_gbps: bw.median_gbps, best_gbps: bw.best_gbps, all_gbps: bw.all_gbps, buffer_mb: bw.buffer_mb };
          console.log(`bandwidth: single-thread wasm SIMD read, ${bw.buffer_mb} MiB buffer: median ${fmt(bw.median_gbps, 2)} GB/s, best ${fmt(bw.best_gbps, 2)} GB/s`);
          results.machine.userAgent = bw.userAgent;
        } catch (e) {
          console.log(`bandwidth: failed: ${e.message}`);
        }
      }
    }

    // The same probe over a buffer of a model's weight bytes per token: the
    // working set its decode re-reads every token, part of which this
    // machine's last-level cache holds.
    const bandwidthWasm = o.bandwidth && browser && results.bandwidth ? buildBandwidth() : null;
    async function probeWorkingSet(fileName, bytes) {
      if (!bandwidthWasm) return null;
      if (!Number.isFinite(bytes)) {
        console.log(`bandwidth over ${fileName}'s weights: skipped (a tensor type whose size bench/lib/gguf.mjs does not know)`);
        return null;
      }
      try {
        const bw = await inPage(browser, server.url, 'bandwidth', { url: `${server.url}/${rel(bandwidthWasm)}`, bytes }, { memory: false });
        const row = { median_gbps: bw.median_gbps, best_gbps: bw.best_gbps, all_gbps: bw.all_gbps, buffer_mb: bw.buffer_mb };
        (results.bandwidth.working_set ??= {})[fileName] = row;
        console.log(`bandwidth over ${fileName}'s ${fmt(bw.buffer_mb, 1)} MiB of weights per token: median ${fmt(bw.median_gbps, 2)} GB/s, best ${fmt(bw.best_gbps, 2)} GB/s`);
        return row;
      } catch (e) {
        console.log(`bandwidth over ${fileName}'s weights: failed: ${e.message}`);
        return null;
      }
    }

    let firstConfig = true;
    for (const entry of files) {
      const { shape, type, file } = entry;
      const prompts = entry.prompts ?? promptsFor(file);
      const fileName = path.basename(file);
      const bpt = weightBytesPerToken(prompts.gguf);
      const wsBandwidth = await probeWorkingSet(fileName, bpt);
      for (const threads of o.threads) {
        console.log(`\n== ${fileName} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB), ${threads} thread${threads > 1 ? 's' : ''}`);
        const record = (runtime, env, r) => {
          const row = {
            runtime, env, model: fileName, shape, type, threads,
            load_ms: r.load_ms, prefill_tok_s: r.prefill_tok_s, decode_tok_s: r.decode_tok_s, peak_mb: r.peak_mb,
            n_prompt: r.n_prompt, n_gen: r.n_gen,
            ...(prompts.from ? { prompt_from: prompts.from } : {}),
            ...(r.fetch_ms !== undefined ? { fetch_ms: r.fetch_ms } : {}),
            ...(r.base_mb !== undefined ? { base_mb: r.base_mb } : {}),
            ...(r.tokenizer_matches !== undefined ? { tokenizer_matches: r.tokenizer_matches } : {}),
            ...(r.multithread !== undefined ? { multithread: r.multithread } : {}),
            ...(r.threads_used !== undefined ? { threads_used: r.threads_used } : {}),
            ...(r.kernels !== undefined ? { kernels: r.kernels } : {}),
            ...(r.init_ms !== undefined ? { init_ms: r.init_ms } : {}),
            ...(r.work ? { work: r.work } : {}),
            ...greedyAgreement(runtime, r),
            other_cpu: r.other_cpu, contended: !!r.contended,
          };
          if (runtime === 'greenformer' && r.tokens?.length && !gfTokens.has(env)) gfTokens.set(env, r.tokens);
          if (r.n_prompt !== N_PROMPT || r.n_gen !== N_GEN) console.log(`   WARNING: ${runtime} ran n_prompt ${r.n_prompt}, n_gen ${r.n_gen} (expected ${N_PROMPT}, ${N_GEN}; prompt from ${prompts.from ?? 'bench/lib/vocab.mjs'})`);
          results.runs.push(row);
          save(); // after every run, so an interrupted benchmark keeps what it measured
          return row;
        };
        // Greedy ids: native llama.cpp's against greenformer's (under Node, else Chromium) on
        // the same prompt ids: how many leading tokens agree. Both run the reference ids
        // when their tokenizer differs, so the two always start from the same prompt.
        const gfTokens = new Map(); // env -> the first greenformer run's ids in this configuration
        const greedyAgreement = (runtime, r) => {
          if (runtime !== 'native' || !r.tokens?.length) return {};
          const [env, ref] = [...gfTokens].sort(([a], [b]) => (a === 'node' ? -1 : b === 'node' ? 1 : 0))[0] ?? [];
          if (!ref) return {};
          let k = 0;
          while (k < Math.min(ref.length, r.tokens.length) && ref[k] === r.tokens[k]) k++;
          return { greedy_agree: k, greedy_vs: `greenformer ${env}` };
        };
        const recordFailure = (runtime, env, what, e) => {
          results.failures.push({ runtime, env, model: fileName, shape, type, threads, what, error: e.message.split('\n')[0] });
          save();
        };

        // Chromium: warm up, then alternate runtimes, each run a fresh tab and instance.
        if (browserRuntimes.length) {
          const want = o.warmup + (firstConfig ? 2 : 0);
          const warmed = Object.fromEntries(browserRuntimes.map((r) => [r, { n: 0, ms: 0, failed: false }]));
          const needsWarm = (r) => !warmed[r].failed && (warmed[r].n < want || warmed[r].ms < o.warmupMs) && warmed[r].n < want + 4;
          while (browserRuntimes.some(needsWarm)) {
            for (const r of browserRuntimes) {
              if (!needsWarm(r)) continue;
              await quietGate(browser.userDataDir, o.maxWaitS);
              const t = Date.now();
              try {
                const w = await inPage(browser, server.url, r, runOptions(r, entry, server.url, threads, prompts, true, o.batchSize), { memory: false, verbose: o.verbose });
                warmed[r].ms += Date.now() - t;
                console.log(`   warm-up ${r} #${++warmed[r].n}: prefill ${fmt(w.prefill_tok_s)} tok/s, decode ${fmt(w.decode_tok_s)} tok/s`);
              } catch (e) {
                warmed[r].failed = true;
                console.log(`   warm-up ${r} FAILED: ${e.message}`);
                recordFailure(r, 'chromium', 'warm-up', e);
              }
            }
          }
          firstConfig = false;
          for (let i = 0; i < o.runs; i++) {
            const order = i % 2 ? [...browserRuntimes].reverse() : browserRuntimes;
            for (const r of order) {
              if (warmed[r].failed) continue;
              for (let attempt = 0; ; attempt++) {
                await quietGate(browser.userDataDir, o.maxWaitS);
                let res;
                try {
                  res = await inPage(browser, server.url, r, runOptions(r, entry, server.url, threads, prompts, false, o.batchSize), { verbose: o.verbose });
                } catch (e) {
                  console.log(`   ${r} chromium run ${i + 1} FAILED: ${e.message}`);
                  recordFailure(r, 'chromium', `run ${i + 1}`, e);
                  break;
                }
                res.contended = res.other_cpu > CONTENDED_CORES;
                if (res.contended && attempt < o.retries) {
                  console.log(`   ${r.padEnd(11)} chromium run ${i + 1}: contended (other processes used ${fmt(res.other_cpu, 2)} cores), redoing`);
                  continue;
                }
                record(r, 'chromium', res);
                console.log(`   ${r.padEnd(11)} chromium run ${i + 1}: ${summarizeRun(res)}`);
                break;
              }
              await sleep(500);
            }
          }
        }

        // Node: greenformer, then native llama.cpp (node-llama-cpp), each run a fresh
        // process that first warms up in-process (short workloads, >= warmup-ms: V8 has
        // tiered up, the native library is loaded, as in a long-lived app).
        const nodeRuntimes = [...(nodeGf ? ['greenformer'] : []), ...(native ? ['native'] : [])];
        const warmup = { prompt: prompts.warm.text, promptIds: prompts.warm.ids, nGen: WARM_GEN, runs: o.warmup, minMs: o.warmupMs };
        for (const runtime of nodeRuntimes) {
          for (let i = 0; i < o.runs; i++) {
            for (let attempt = 0; ; attempt++) {
              await quietGate(browser?.userDataDir, o.maxWaitS);
              const snap = cpuSnapshot(browser?.userDataDir);
              let res;
              try {
                res = await nodeRun({ ...runOptions('greenformer', entry, '', threads, prompts, false, o.batchSize), source: file, warmup, runtime });
              } catch (e) {
                console.log(`   ${runtime} node run ${i + 1} FAILED: ${e.message}`);
                recordFailure(runtime, 'node', `run ${i + 1}`, e);
                break;
              }
              const c = cpuSince(snap);
              const dtS = Math.max(1e-3, (performance.now() - snap.t) / 1000);
              res.other_cpu = Math.max(0, c.others - res.cpu_ms / 1000 / dtS); // the runner had exited: its CPU shows as others'
              res.contended = res.other_cpu > CONTENDED_CORES;
              if (res.contended && attempt < o.retries) {
                console.log(`   ${runtime.padEnd(11)} node     run ${i + 1}: contended (other processes used ${fmt(res.other_cpu, 2)} cores), redoing`);
                continue;
              }
              if (runtime === 'native' && !results.config.native) {
                results.config.native = { node_llama_cpp: res.node_llama_cpp, llama_cpp: res.llama_cpp, system_info: res.system_info };
              }
              const row = record(runtime, 'node', res);
              console.log(`   ${runtime.padEnd(11)} node     run ${i + 1}: ${summarizeRun(res)}` +
                (row.greedy_agree !== undefined ? `, greedy ids = ${row.greedy_vs}'s for ${row.greedy_agree} of ${res.n_gen}` : ''));
              break;
            }
          }
        }

        // Medians of this configuration
        const envs = [...new Set(results.runs.filter((r) => r.model === fileName && r.threads === threads).map((r) => `${r.runtime}|${r.env}`))];
        for (const k of envs) {
          const [runtime, env] = k.split('|');
          const all = results.runs.filter((r) => r.model === fileName && r.threads === threads && r.runtime === runtime && r.env === env);
          const clean = all.filter((r) => !r.contended);
          const rs = clean.length ? clean : all; // medians of uncontended runs when there are any
          results.summary.push({
            runtime, env, model: fileName, shape, type, threads, runs: rs.length, contended_runs: all.length - clean.length,
            all_contended: !clean.length,
            ...(rs[0].threads_used !== undefined ? { threads_used: rs[0].threads_used } : {}),
            load_ms: median(rs.map((r) => r.load_ms)), prefill_tok_s: median(rs.map((r) => r.prefill_tok_s)),
            decode_tok_s: median(rs.map((r) => r.decode_tok_s)), peak_mb: median(rs.map((r) => r.peak_mb)),
            n_prompt: rs[0].n_prompt, n_gen: rs[0].n_gen,
            ...(rs[0].work ? { work_per_token: rs[0].work } : {}), // counted, so the same in every run
            ...(rs[0].tokenizer_matches !== undefined ? { tokenizer_matches: rs.every((r) => r.tokenizer_matches) } : {}),
            ...(rs.some((r) => r.greedy_agree !== undefined) ? { greedy_agree: Math.min(...rs.map((r) => r.greedy_agree ?? 0)), greedy_vs: rs.find((r) => r.greedy_vs).greedy_vs } : {}),
            weight_bytes_per_token: Number.isFinite(bpt) ? bpt : null,
            ...(wsBandwidth ? { ceiling_1t_tok_s: (wsBandwidth.best_gbps * 1e9) / bpt } : {}),
            ...(results.bandwidth ? { ceiling_1t_256mb_tok_s: (results.bandwidth.best_gbps * 1e9) / bpt } : {}),
          });
        }
        // greenformer's % of native llama.cpp: this run's medians, same file, same threads
        const nat = results.summary.find((x) => x.runtime === 'native' && x.model === fileName && x.threads === threads);
        for (const x of results.summary) {
          if (x.runtime !== 'greenformer' || x.model !== fileName || x.threads !== threads || !nat) continue;
          x.pct_native_prefill = (100 * x.prefill_tok_s) / nat.prefill_tok_s;
          x.pct_native_decode = (100 * x.decode_tok_s) / nat.decode_tok_s;
        }
        save();
      }
    }
  } finally {
    if (browser) await browser.close();
    await server.close();
  }
  save();
  printTable(results);
  console.log(`\nwrote ${rel(o.out)}`);
  if (skipped.length) {
    console.error(`\nbench: ${skipped.length} of ${entries.length} files skipped:`);
    reportSkipped(skipped);
    process.exitCode = 1;
  }
}

function printTable(results) {
  const S = results.summary;
  if (!S.length) { console.log('\nno results'); return; }
  const rows = [];
  const head = ['model', 'thr', 'runtime', 'env', 'load ms', 'prefill t/s', 'decode t/s', 'peak MB', 'gf/wl load', 'gf/wl prefill', 'gf/wl decode', 'gf/wl peak',
    '% nat prefill', '% nat decode'];
  for (const s of S) {
    const wl = S.find((x) => x.runtime === 'wllama' && x.env === 'chromium' && x.model === s.model && x.threads === s.threads);
    const ratio = (k) => (s.runtime === 'greenformer' && wl ? fmt(s[k] / wl[k], 2) : '');
    const thr = s.threads_used !== undefined && s.threads_used !== s.threads ? `${s.threads}(${s.threads_used})` : String(s.threads);
    const runtime = s.all_contended ? `${s.runtime}*` : s.runtime;
    rows.push([s.model.replace('.gguf', ''), thr, runtime, s.env, fmt(s.load_ms, 0), fmt(s.prefill_tok_s), fmt(s.decode_tok_s),
      fmt(s.peak_mb, 0), ratio('load_ms'), ratio('prefill_tok_s'), ratio('decode_tok_s'), ratio('peak_mb'),
      s.pct_native_prefill !== undefined ? `${fmt(s.pct_native_prefill, 0)}%` : '', s.pct_native_decode !== undefined ? `${fmt(s.pct_native_decode, 0)}%` : '']);
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 4 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\nmachine: ${describeMachine(results.machine)}`);
  if (results.config.native) console.log(`native: node-llama-cpp ${results.config.native.node_llama_cpp} (${results.config.native.llama_cpp}), ${results.config.native.system_info.trim()}`);
  console.log(`\nmedians of ${results.config.runs} runs (prompt ${N_PROMPT} tokens, ${N_GEN} generated; ratios > 1 mean greenformer is higher;`);
  console.log('% nat: greenformer tok/s / native llama.cpp tok/s (node-llama-cpp, this machine, this run), same file, same threads)');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
  if (S.some((s) => s.threads_used !== undefined && s.threads_used !== s.threads)) console.log('thr a(b): asked for a threads, the runtime reported using b');
  for (const s of S.filter((x) => x.runtime === 'native')) {
    const t = s.tokenizer_matches === false ? '; its tokenizer differs from the prompt ids (they were run)' : '';
    if (s.greedy_agree !== undefined) console.log(`native ${s.model} ${s.threads} thr: greedy ids = ${s.greedy_vs}'s for the first ${s.greedy_agree} of ${s.n_gen}${t}`);
    else if (t) console.log(`native ${s.model} ${s.threads} thr${t}`);
  }
  const counted = S.filter((s) => s.work_per_token?.generated);
  if (counted.length) {
    console.log('\ngreenformer work per token, counted by the engine (stats.work): weight + KV bytes read, multiply-adds, energy estimate');
    console.log('(45 nm per-operation energies, Horowitz ISSCC 2014; README "The cost of every answer"):');
    const seen = new Set();
    for (const s of counted) {
      const key = `${s.model}|${s.env}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const w = s.work_per_token;
      console.log(`  ${s.model.padEnd(18)} ${s.env.padEnd(8)} decode ${describeWork(w.generated)} (bytes from ${w.memory.generated}), ` +
        `decode ${fmt(s.decode_tok_s)} tok/s at ${s.threads} thr` + (w.prompt ? `; prompt ${describeWork(w.prompt)}` : ''));
    }
  }
  if (S.some((s) => s.all_contended)) console.log('*: only contended runs (other processes used > 0.3 cores) were available for some of these medians');
  if (results.bandwidth) {
    const bw = results.bandwidth.best_gbps, ws = results.bandwidth.working_set ?? {};
    console.log(`\nsingle-thread wasm SIMD read bandwidth: ${fmt(bw, 2)} GB/s over 256 MiB (median ${fmt(results.bandwidth.median_gbps, 2)});`);
    console.log('decode ceiling = bandwidth over a buffer of the weight bytes per token / those bytes (256 MiB figure in brackets):');
    const seen = new Set();
    for (const s of S) {
      if (seen.has(s.model)) continue;
      seen.add(s.model);
      if (!Number.isFinite(s.weight_bytes_per_token)) { console.log(`  ${s.model.padEnd(18)} weight bytes per token unknown (a tensor type bench/lib/gguf.mjs does not know)`); continue; }
      const own = ws[s.model]?.best_gbps;
      const mb = (s.weight_bytes_per_token / 1e6).toFixed(1).padStart(7);
      const at = own ? `${fmt(own, 2)} GB/s -> ${fmt((own * 1e9) / s.weight_bytes_per_token)} tok/s` : 'not probed';
      console.log(`  ${s.model.padEnd(18)} ${mb} MB/token: ${at} (${fmt((bw * 1e9) / s.weight_bytes_per_token)} tok/s) single thread`);
    }
  }
}

// ---------------------------------------------------------------------------
// --chat: time to first token across a conversation (prompt cache), and the JSON-schema
// mask's decode cost

const CHAT_TURNS = 6;
const CHAT_USER_TOKENS = 40;
const CHAT_GEN = 32;
const GRAMMAR_GEN = 64;
const GRAMMAR_REPS = 3;
const GRAMMAR_FORMAT = { type: 'json_schema', json_schema: { name: 'x', schema: {
  type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } }, required: ['a', 'b'] } } };

/**
 * Token-id prompts for the JSON-schema mask cost (greenformer only; turns[0] is used):
 * CHAT_TURNS arrays of CHAT_USER_TOKENS ids drawn (seeded) from the vocabulary's ordinary
 * pieces (after the 259 special and byte tokens), the first with BOS (id 1) in front.
 */
function chatTurns(vocab, seed = 24) {
  const rng = new Rng(seed);
  const turns = [];
  for (let t = 0; t < CHAT_TURNS; t++) {
    const ids = t === 0 ? [1] : [];
    for (let i = 0; i < CHAT_USER_TOKENS; i++) ids.push(rng.int(259, Math.min(vocab, 32000) - 1));
    turns.push(ids);
  }
  const warm = Array.from({ length: 16 }, () => rng.int(259, Math.min(vocab, 32000) - 1)); // no BOS: nothing to reuse
  return { turns, warm };
}

/**
 * The conversation's user messages as text: CHAT_TURNS messages of CHAT_USER_TOKENS words
 * that are single tokens of the file's own vocabulary (benchPrompt, one seed per turn), so
 * each message is exactly CHAT_USER_TOKENS tokens (the first after BOS, which both runtimes
 * add to a text prompt). Text, not ids: wllama 3.8.1 fails on token-id prompts. warm: a
 * 16-word prompt for the warm-up (it shares only BOS with the conversation).
 */
function chatTexts(file) {
  const g = readGGUF(file);
  sentencePieceOnly(g);
  const vocab = { tokens: g.kv.get('tokenizer.ggml.tokens'), scores: g.kv.get('tokenizer.ggml.scores'), types: g.kv.get('tokenizer.ggml.token_type') };
  const turns = Array.from({ length: CHAT_TURNS }, (_, t) => (t ? ' ' : '') + benchPrompt(vocab, CHAT_USER_TOKENS + 1, 100 + t).text);
  return { turns, warm: benchPrompt(vocab, 17, 99).text };
}

async function chatBench(o) {
  const runtimes = ['greenformer', 'wllama'].filter((r) => o.runtimes.includes(r)); // greenformer first, then wllama, each in its own page
  const grammarShapes = [...new Set([...o.models, 'bigvocab'])];
  ensureModels([...new Set([...o.models, 'bigvocab'])], o.types);
  const results = {
    machine: machineInfo(), date: new Date().toISOString(),
    config: { turns: CHAT_TURNS, user_tokens: CHAT_USER_TOKENS, n_gen: CHAT_GEN, n_ctx: N_CTX, wllama: packageVersion('@wllama/wllama'),
      prompts: 'text (user messages of single-token words; each turn = previous prompt + the runtime\'s own previous reply text + message)',
      wllama_cache: 'cache_prompt: true (llama-server slot prompt cache; cached = timings.cache_n)',
      greenformer_cache: 'generate() reuses the KV cache\'s longest common prefix (cached = stats.cachedTokens)',
      ttft: 'wall time from the call until the first streamed token/piece arrives (prompt evaluation + first sample)',
      grammar: { n_gen: GRAMMAR_GEN, reps: GRAMMAR_REPS, response_format: GRAMMAR_FORMAT },
      chromium_flags: chromiumFlags(o) },
    chat: [], grammar: [], failures: [],
  };
  const save = () => fs.writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');
  const server = await startServer(root);
  const browser = await launchChromium(chromiumFlags(o));
  try {
    for (const m of o.models) {
      for (const t of o.types) {
        const file = modelPath(m, t);
        const { turns, warm } = chatTexts(file);
        for (const threads of o.threads) {
          const name = path.basename(file);
          console.log(`\n== chat: ${name}, ${threads} thread${threads > 1 ? 's' : ''}`);
          for (const runtime of runtimes) {
            await quietGate(browser.userDataDir, o.maxWaitS);
            const fn = runtime === 'wllama' ? 'chatWllama' : 'chatGreenformer';
            const url = `${server.url}/${rel(file)}`;
            // each runtime continues its own transcript (its own replies), as in a real chat: its cache holds
            // what it generated. (Continuing the other runtime's transcript would cut wllama's reuse wherever the
            // random model's greedy replies differ: F16 against Q8_0 KV cache, different rounding.)
            const args = { ...(runtime === 'wllama' ? { modelUrl: url } : { source: url }), threads, turns, warmIds: warm, nGen: CHAT_GEN, nCtx: N_CTX };
            const t0 = Date.now();
            try {
              const r = await inPage(browser, server.url, fn, args, { verbose: o.verbose });
              const row = { runtime, env: 'chromium', model: name, shape: m, type: t, threads, load_ms: r.load_ms, threads_used: r.threads_used,
                peak_mb: r.peak_mb, other_cpu: r.other_cpu, wall_s: (Date.now() - t0) / 1000, turns: r.turns };
              results.chat.push(row);
              r.turns.forEach((x, i) => console.log(`   ${runtime.padEnd(11)} turn ${i + 1}: prompt ${x.prompt_tokens}, cached ${x.cached_tokens}, ` +
                `ttft ${fmt(x.ttft_ms, 0)} ms, decode ${fmt(x.decode_tok_s)} tok/s`));
            } catch (e) {
              console.log(`   ${runtime} FAILED: ${e.message}`);
              results.failures.push({ runtime, model: name, threads, what: 'chat', error: e.message });
            }
            save();
          }
          // Did both runtimes have the same conversation (their greedy replies agree)?
          const [a, b] = results.chat.filter((r) => r.model === name && r.threads === threads);
          if (a && b) {
            const same = a.turns.map((x, i) => x.text.length > 0 && x.text === b.turns[i].text);
            results.chat.filter((r) => r.model === name && r.threads === threads).forEach((r) => { r.same_replies = same; });
            console.log(`   greedy replies identical in both runtimes (their texts): turns ${same.map((s, i) => (s ? i + 1 : '')).filter(Boolean).join(', ') || 'none'}`);
          }
        }
      }
    }
    if (runtimes.includes('greenformer')) {
      for (const m of grammarShapes) {
        const t = o.types[0], file = modelPath(m, t), name = path.basename(file);
        const threads = o.threads[0];
        const { turns } = chatTurns(SHAPES[m].vocab);
        console.log(`\n== JSON-schema mask cost: ${name} (vocabulary ${SHAPES[m].vocab}), ${threads} thread${threads > 1 ? 's' : ''}, greenformer`);
        await quietGate(browser.userDataDir, o.maxWaitS);
        try {
          const r = await inPage(browser, server.url, 'grammarGreenformer', { source: `${server.url}/${rel(file)}`, threads,
            promptIds: turns[0], nGen: GRAMMAR_GEN, nCtx: N_CTX, reps: GRAMMAR_REPS, responseFormat: GRAMMAR_FORMAT }, { verbose: o.verbose });
          const row = { runtime: 'greenformer', env: 'chromium', model: name, shape: m, type: t, threads, vocab: r.vocab ?? SHAPES[m].vocab,
            free: r.free, constrained: r.constrained, other_cpu: r.other_cpu };
          results.grammar.push(row);
          console.log(`   free ${fmt(r.free.ms_per_token, 2)} ms/token, json_schema ${fmt(r.constrained.ms_per_token, 2)} ms/token ` +
            `(grammar ${fmt(r.constrained.grammar_ms_per_token, 2)} ms/token, ${r.constrained.n_gen} tokens, stop ${r.constrained.runs[0].stop}, text ${JSON.stringify(r.constrained.runs[0].text.slice(0, 60))})`);
        } catch (e) {
          console.log(`   FAILED: ${e.message}`);
          results.failures.push({ runtime: 'greenformer', model: name, threads, what: 'grammar', error: e.message });
        }
        save();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  save();
  printChatTable(results);
  console.log(`\nwrote ${rel(o.out)}`);
  if (results.failures.length) process.exitCode = 1;
}

function printChatTable(results) {
  console.log(`\nmachine: ${describeMachine(results.machine)}`);
  const groups = [...new Set(results.chat.map((r) => `${r.model}|${r.threads}`))];
  for (const g of groups) {
    const [model, threads] = g.split('|');
    const rs = results.chat.filter((r) => r.model === model && String(r.threads) === threads);
    console.log(`\nchat: ${model}, ${threads} thread(s), ${CHAT_TURNS} turns of +${CHAT_USER_TOKENS} user tokens, ${CHAT_GEN} generated each (greedy)`);
    const head = ['turn', 'prompt'];
    for (const r of rs) head.push(`${r.runtime} cached`, `${r.runtime} ttft ms`, `${r.runtime} decode t/s`);
    if (rs.length === 2) head.push('ttft gf/wl');
    const rows = rs[0].turns.map((x, i) => {
      const row = [String(i + 1), String(x.prompt_tokens)];
      for (const r of rs) row.push(String(r.turns[i].cached_tokens), fmt(r.turns[i].ttft_ms, 0), fmt(r.turns[i].decode_tok_s));
      if (rs.length === 2) {
        const gf = rs.find((r) => r.runtime === 'greenformer'), wl = rs.find((r) => r.runtime === 'wllama');
        row.push(gf && wl ? fmt(gf.turns[i].ttft_ms / wl.turns[i].ttft_ms, 2) : '');
      }
      return row;
    });
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    console.log(head.map((h, i) => h.padStart(w[i])).join('  '));
    for (const r of rows) console.log(r.map((c, i) => c.padStart(w[i])).join('  '));
  }
  if (results.grammar.length) {
    console.log(`\nJSON-schema mask cost (greenformer, ${GRAMMAR_GEN} tokens, medians of ${GRAMMAR_REPS}):`);
    console.log('model                 vocab  free ms/tok  json_schema ms/tok  grammar ms/tok  overhead');
    for (const g of results.grammar) {
      console.log(`${g.model.padEnd(20)} ${String(g.vocab).padStart(6)}  ${fmt(g.free.ms_per_token, 2).padStart(11)}  ${fmt(g.constrained.ms_per_token, 2).padStart(18)}  ` +
        `${fmt(g.constrained.grammar_ms_per_token, 2).padStart(14)}  ${fmt(100 * (g.constrained.ms_per_token / g.free.ms_per_token - 1), 0).padStart(7)}%`);
    }
  }
}

// ---------------------------------------------------------------------------
// --check: does each model file load and generate in wllama?

async function check(o) {
  const { entries, mounts, skipped } = o.userFiles ?? generatedModels(o);
  if (o.userFiles) {
    console.log('hyperparameters are compared with each file\'s own metadata (<arch>.embedding_length, .block_count, .context_length, vocabulary length)');
  }
  const rows = [];
  let failed = skipped.length;
  for (const e of skipped) {
    console.log(`SKIP ${path.basename(e.file).padEnd(18)} ${e.skip}`);
    rows.push({ file: path.basename(e.file), ok: false, problems: [e.skip] });
  }
  const todo = entries.filter((e) => !e.skip);
  const server = await startServer(root, { mounts });
  const browser = todo.length ? await launchChromium(chromiumFlags(o)) : null;
  try {
    for (const entry of todo) {
      const { file, expect: want } = entry;
      const prompts = entry.prompts ?? promptsFor(file);
      const problems = [];
      // A hyperparameter the file does not state (--files) is not compared.
      const differs = (got, expected) => expected !== undefined && got !== expected;
      let r = null;
      try {
        r = await inPage(browser, server.url, 'wllama', { ...runOptions('wllama', entry, server.url, 1, prompts, false), nGen: 32, logprobs: 3 });
        const hp = r.hparams || {};
        if (differs(hp.nVocab, want.vocab)) problems.push(`nVocab ${hp.nVocab} (expected ${want.vocab})`);
        if (differs(hp.nLayer, want.layers)) problems.push(`nLayer ${hp.nLayer} (expected ${want.layers})`);
        if (differs(hp.nEmbd, want.dim)) problems.push(`nEmbd ${hp.nEmbd} (expected ${want.dim})`);
        if (differs(hp.nCtxTrain, want.ctx)) problems.push(`nCtxTrain ${hp.nCtxTrain} (expected ${want.ctx})`);
        if (r.n_prompt !== N_PROMPT) problems.push(`n_prompt ${r.n_prompt} (its tokenizer differs from the prompt's, ${prompts.from ?? 'bench/lib/vocab.mjs'})`);
        if (r.n_gen !== 32) problems.push(`n_gen ${r.n_gen}`);
        // llama-server's logprobs: { content: [{ id, token, logprob, top_logprobs }] }
        const content = r.logprobs?.content ?? [];
        const lp = content.flatMap((c) => [c.logprob, ...(c.top_logprobs ?? []).map((x) => x.logprob)]);
        if (!lp.length) problems.push('no logprobs returned');
        else if (!lp.every(Number.isFinite)) problems.push('non-finite logprobs (NaN/inf activations)');
        const distinct = new Set(content.map((c) => c.id)).size;
        r.distinct = distinct;
        r.meanLogprob = content.length ? content.reduce((a, c) => a + c.logprob, 0) / content.length : NaN;
      } catch (e) {
        problems.push(`error: ${e.message.split('\n')[0]}`);
      }
      if (problems.length) failed++;
      const mb = fs.statSync(file).size / 1e6;
      rows.push({ file: path.basename(file), mb, ok: !problems.length, problems, r });
      const text = r?.text ? JSON.stringify(r.text.slice(0, 70)) : '';
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${path.basename(file).padEnd(18)} ${mb.toFixed(1).padStart(7)} MB` +
        (r ? `  n_prompt ${r.n_prompt} n_gen ${r.n_gen} prefill ${fmt(r.prefill_tok_s)} decode ${fmt(r.decode_tok_s)} tok/s, mean logprob ${fmt(r.meanLogprob, 2)}, ${r.distinct} distinct tokens, text ${text}` : '') +
        (problems.length ? `\n     problems: ${problems.join('; ')}` : ''));
    }
  } finally {
    if (browser) await browser.close();
    await server.close();
  }
  console.log(`\n${rows.length - failed} passed, ${failed} failed${skipped.length ? ` (${skipped.length} skipped)` : ''}`);
  if (failed) process.exitCode = 1;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
if (opts.files) {
  // Every file is checked before anything runs: a bad path is an error, not a skipped row.
  try {
    opts.userFiles = await userFiles(opts.files);
  } catch (e) {
    console.error(`bench: ${e.message}`);
    process.exit(1);
  }
  reportSkipped(opts.userFiles.skipped);
  if (opts.userFiles.skipped.length === opts.userFiles.entries.length) {
    console.error('bench: none of the files can be benchmarked');
    process.exit(1);
  }
}
(opts.check ? check(opts) : opts.chat ? chatBench(opts) : bench(opts)).catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
