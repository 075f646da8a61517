#!/usr/bin/env node
// greenformer command line: the public JS API underneath. Results go to
// stdout; progress and diagnostics to stderr; any failure is one clear line
// on stderr and a non-zero exit status.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { loadModel } from '../web/index.js';

const USAGE = `usage: greenformer <command> MODEL [options]

commands:
  run MODEL -p PROMPT [-n 64] [--temp T] [--top-k K] [--top-p P] [--min-p M]
                      [--repeat-penalty R] [--seed S] [--ctx N]
        stream the generated text (not the prompt) to stdout
  logits MODEL --tokens 1,450,4996 --out FILE [--ctx N]
        write float32 little-endian logits, one row of n_vocab per input token
        (row i = logits after consuming tokens[0..i])
  tokenize MODEL --text TEXT [--no-bos] [--parse-special]
        print the token ids as a JSON array (vocabulary-only GGUF files work)
  info MODEL
        print the model's description as JSON (reads the header only)

MODEL is a GGUF file path or an http(s) URL.`;

class UsageError extends Error {}

const COMMANDS = {
  run: {
    options: {
      prompt: { type: 'string', short: 'p' },
      'n-predict': { type: 'string', short: 'n' },
      temp: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'min-p': { type: 'string' },
      'repeat-penalty': { type: 'string' },
      seed: { type: 'string' },
      ctx: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
    run: cmdRun,
  },
  logits: { options: { tokens: { type: 'string' }, out: { type: 'string' }, ctx: { type: 'string' } }, run: cmdLogits },
  tokenize: {
    options: { text: { type: 'string' }, 'no-bos': { type: 'boolean' }, 'parse-special': { type: 'boolean' } },
    run: cmdTokenize,
  },
  info: { options: {}, run: cmdInfo },
};

function number(values, name, { integer = false } = {}) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${name} expects ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return v;
}

function progressReporter(label) {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return ({ loaded, total, fraction }) => {
    const now = Date.now();
    if (now - last < 100 && fraction < 1) return;
    last = now;
    const mb = (b) => (b / 1048576).toFixed(1);
    process.stderr.write(`\rloading ${label}: ${total ? `${(fraction * 100).toFixed(0)}% ` : ''}(${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB)\x1b[K`);
    if (fraction >= 1) process.stderr.write('\n');
  };
}

async function load(path, options) {
  return loadModel(path, { onProgress: progressReporter(path), ...options });
}

async function cmdRun(model, v) {
  if (v.prompt === undefined) throw new UsageError('run needs a prompt: -p "..."');
  const m = await load(model, { contextLength: number(v, 'ctx', { integer: true }) });
  try {
    const gen = m.generate(v.prompt, {
      maxTokens: number(v, 'n-predict', { integer: true }) ?? 64,
      temperature: number(v, 'temp'),
      topK: number(v, 'top-k', { integer: true }),
      topP: number(v, 'top-p'),
      minP: number(v, 'min-p'),
      repeatPenalty: number(v, 'repeat-penalty'),
      seed: number(v, 'seed', { integer: true }),
    });
    for await (const piece of gen) process.stdout.write(piece);
    process.stdout.write('\n');
    const s = gen.stats;
    if (!v.quiet) {
      const rate = (n, ms) => (ms > 0 ? (n / ms) * 1000 : 0).toFixed(1);
      process.stderr.write(
        `${s.promptTokens} prompt tokens (${rate(s.promptTokens, s.prefillMs)} tok/s), ${s.generatedTokens} generated ` +
          `(${rate(Math.max(0, s.generatedTokens - 1), s.decodeMs)} tok/s), stop: ${s.stopReason}\n`,
      );
    }
  } finally {
    await m.dispose();
  }
}

function parseIds(text) {
  const ids = text.split(',').map((s) => s.trim());
  if (!ids.length || ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--tokens expects comma-separated token ids, got "${text}"`);
  return ids.map(Number);
}

async function cmdLogits(model, v) {
  if (v.tokens === undefined || v.out === undefined) throw new UsageError('logits needs --tokens 1,2,3 and --out FILE');
  const ids = parseIds(v.tokens);
  const ctx = number(v, 'ctx', { integer: true }) ?? Math.max(ids.length, 1);
  const m = await load(model, { contextLength: ctx });
  try {
    const logits = await m.forward(ids);
    writeFileSync(v.out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    process.stderr.write(`wrote ${ids.length} rows x ${m.info().nVocab} float32 logits to ${v.out}\n`);
  } finally {
    await m.dispose();
  }
}

async function cmdTokenize(model, v) {
  if (v.text === undefined) throw new UsageError('tokenize needs --text "..."');
  const m = await loadModel(model, { vocabOnly: true });
  try {
    const ids = await m.tokenize(v.text, { addSpecial: !v['no-bos'], parseSpecial: !!v['parse-special'] });
    process.stdout.write(JSON.stringify(ids) + '\n');
  } finally {
    await m.dispose();
  }
}

async function cmdInfo(model) {
  const m = await loadModel(model, { inspect: true });
  try {
    const i = m.info();
    const out = {
      architecture: i.architecture, name: i.name, dim: i.dim, layers: i.nLayer, heads: i.nHead, kvHeads: i.nHeadKv,
      headDim: i.headDim, ffnDim: i.ffnDim, vocab: i.nVocab, context: i.contextTrain, ropeDim: i.ropeDim,
      ropeBase: i.ropeBase, normEps: i.normEps, tokenizer: i.tokenizer, tiedOutput: i.tiedOutput,
      tensorTypes: i.tensorTypes, weightBytes: i.weightBytes, fileBytes: i.fileBytes,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await m.dispose();
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const [model, ...extra] = parsed.positionals;
  if (!model) throw new UsageError(`${command} needs a MODEL (a GGUF path or URL)`);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  await spec.run(model, parsed.values);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`greenformer: ${err.message}\n(run "greenformer --help" for usage)\n`);
      process.exitCode = 2;
    } else {
      const internal = err instanceof WebAssembly.RuntimeError ? ' (internal error: please report it)' : '';
      process.stderr.write(`greenformer: ${err.message}${internal}\n`);
      process.exitCode = 1;
    }
  },
);
