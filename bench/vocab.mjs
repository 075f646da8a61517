#!/usr/bin/env node
// Where a decode step goes as the vocabulary grows (issue 23): the same small body
// (dim 512, 4 layers: make-model.mjs's vocab32k, bigvocab and vocab262k shapes) with
// 32000, 151936 and 262144 tokens, under Node, through the public API. Per token:
// the whole step (stats.decodeMs), the output projection (stats.outputMs: final norm,
// the vocabulary GEMV, the logits' finiteness check), the sampler (stats.sampleMs) and,
// with a JSON mask, the grammar (stats.grammarMs), for greedy decoding, llama.cpp's
// default chain (generate()'s defaults: temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05), that chain with repetition and presence penalties, and OpenAI's
// defaults (temperature 1, no filters: a draw over the whole vocabulary).
//
//   node bench/vocab.mjs [--shapes vocab32k,bigvocab,vocab262k] [--types Q8_0,Q4_0] [--threads 1,2]
//                        [--runs 5] [--tokens 64] [--native] [--out bench/results-vocab.json]
//
// Each figure is the median over every decode step of --runs generations of --tokens
// tokens (ignoreEos, a fixed prompt; a step's figures are the stats' growth over it),
// after one warm-up generation per model: a median of steps shrugs off the steps other
// work on a busy machine interrupted. cpu_ms is the process's CPU time per step (user +
// system, every thread: at two threads it includes the pool's spinning workers), the
// fairer clock on a busy machine at one thread. --native also times native llama.cpp (node-llama-cpp) on the same files:
// single-token steps sampled greedily and with the same default chain; the difference
// is its sampling chain's cost beyond greedy (it has no per-part timers here).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureModels, modelPath } from './make-model.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { shapes: ['vocab32k', 'bigvocab', 'vocab262k'], types: ['Q8_0', 'Q4_0'], threads: [1, 2], runs: 5, tokens: 64, native: false,
    out: path.join(here, 'results-vocab.json') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--shapes') o.shapes = v().split(',');
    else if (k === '--types') o.types = v().split(',');
    else if (k === '--threads') o.threads = v().split(',').map(Number);
    else if (k === '--runs') o.runs = Number(v());
    else if (k === '--tokens') o.tokens = Number(v());
    else if (k === '--native') o.native = true;
    else if (k === '--out') o.out = v();
    else throw new Error(`unknown option ${k} (--shapes, --types, --threads, --runs, --tokens, --native, --out)`);
  }
  for (const t of o.threads) if (!Number.isInteger(t) || t < 1) throw new Error(`--threads: ${t} is not a thread count`);
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) throw new Error(`--runs must be an integer >= 1, got ${o.runs}`);
  if (!(Number.isInteger(o.tokens) && o.tokens >= 2)) throw new Error(`--tokens must be an integer >= 2, got ${o.tokens}`);
  return o;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const SAMPLERS = {
  greedy: { temperature: 0 },
  default: {},
  penalties: { repeatPenalty: 1.1, presencePenalty: 0.5, frequencyPenalty: 0.2 },
  openai: { temperature: 1, topK: 0, topP: 1, minP: 0 },
  json: { temperature: 0, responseFormat: { type: 'json_object' } },
};

// 16 ids of the synthetic vocabulary after BOS: ordinary pieces (bench/lib/vocab.mjs puts
// the special and byte tokens first).
const PROMPT = [1, ...Array.from({ length: 15 }, (_, i) => 400 + 37 * i)];

async function measureGreenformer(loadModel, file, threads, o) {
  const model = await loadModel(file, { threads, contextLength: 512 });
  const rows = {};
  try {
    await drain(model.generate(PROMPT, { maxTokens: 8, temperature: 0, ignoreEos: true }));
    for (const [name, opts] of Object.entries(SAMPLERS)) {
      const per = { step: [], output: [], sample: [], grammar: [], cpu: [] };
      for (let r = 0; r < o.runs; r++) {
        const gen = model.generate(PROMPT, { maxTokens: o.tokens, seed: 1 + r, ignoreEos: true, ...opts });
        // per step: the stats' growth between two pieces over the tokens it covers (a piece that
        // completes no character is not yielded); the first token, sampled from the prompt's
        // logits with no step of its own, is left out
        let prev = null;
        for await (const _ of gen) {
          const s = gen.stats, cpu = process.cpuUsage();
          const now = { n: s.generatedTokens, step: s.decodeMs, output: s.outputMs, sample: s.sampleMs, grammar: s.grammarMs ?? 0,
            cpu: (cpu.user + cpu.system) / 1000 };
          if (prev && now.n > prev.n) for (const k of Object.keys(per)) per[k].push((now[k] - prev[k]) / (now.n - prev.n));
          prev = now;
        }
      }
      rows[name] = Object.fromEntries(Object.entries(per).map(([k, v]) => [`${k}_ms`, median(v)]));
      rows[name].steps = per.step.length;
    }
    rows.info = { nVocab: model.info().nVocab, threads: model.info().threads, build: model.info().build };
  } finally {
    await model.dispose();
  }
  return rows;
}

async function drain(gen) {
  for await (const _ of gen);
}

// Native llama.cpp: one single-token step per call, as bench/adapters/native.mjs times decode.
async function measureNative(file, threads, o) {
  const { nativeLlama } = await import('./adapters/native.mjs');
  const { llama } = await nativeLlama();
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 512, batchSize: 512, sequences: 1, threads: { ideal: threads, min: threads }, flashAttention: false });
  const chains = { greedy: { temperature: 0 }, default: { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 } };
  const rows = {};
  const sequence = context.getSequence();
  try {
    for (const [name, options] of Object.entries(chains)) {
      const steps = [];
      for (let r = 0; r < o.runs + 1; r++) {
        await sequence.clearHistory();
        const next = { generateNext: { token: true, options: { ...options, seed: 1 + r } } };
        const out = await sequence.controlledEvaluate(PROMPT.map((id, i) => (i === PROMPT.length - 1 ? [id, next] : id)));
        let tok = out[PROMPT.length - 1].next.token;
        const t0 = performance.now();
        for (let i = 1; i < o.tokens; i++) tok = (await sequence.controlledEvaluate([[tok, next]]))[0].next.token;
        if (r > 0) steps.push((performance.now() - t0) / (o.tokens - 1)); // the first run warms up
      }
      rows[name] = { step_ms: median(steps), runs: steps };
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  return rows;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { loadModel } = await import('../web/node.js');
  ensureModels(o.shapes, o.types);
  const results = {
    date: new Date().toISOString(), cpu: os.cpus()[0].model, cores: os.cpus().length, node: process.version,
    loadavg_start: os.loadavg(), options: { ...o, out: undefined }, rows: [],
  };
  for (const shape of o.shapes) {
    for (const type of o.types) {
      const file = modelPath(shape, type);
      for (const threads of o.threads) {
        const g = await measureGreenformer(loadModel, file, threads, o);
        const row = { shape, type, threads, nVocab: g.info.nVocab, greenformer: g };
        if (o.native) row.native = await measureNative(file, threads, o);
        results.rows.push(row);
        const f = (x) => x.toFixed(3);
        for (const name of Object.keys(SAMPLERS)) {
          const r = g[name];
          console.log(`${shape} ${type} t${threads} ${name.padEnd(9)} step ${f(r.step_ms)} output ${f(r.output_ms)} sample ${f(r.sample_ms)}` +
            (name === 'json' ? ` grammar ${f(r.grammar_ms)}` : '') + ` cpu ${f(r.cpu_ms)} ms/token`);
        }
        if (row.native) console.log(`${shape} ${type} t${threads} native    greedy ${f(row.native.greedy.step_ms)} default ${f(row.native.default.step_ms)} ms/token`);
      }
    }
  }
  results.loadavg_end = os.loadavg();
  fs.writeFileSync(o.out, JSON.stringify(results, null, 1) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), o.out)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e.stack || String(e));
    process.exit(1);
  });
}
