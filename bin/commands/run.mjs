// greenformer run MODEL -p PROMPT: streams the generated text to stdout.
import { CTX, intFlag, load, N_PREDICT, numFlag, SEED, TEMP, THREADS, TOP_P, UsageError, withModel, workReport } from './common.mjs';

export const usage = `run MODEL -p PROMPT [-n 64] [--temp T] [--top-k K] [--top-p P] [--min-p M]
                    [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--ctx N] [--threads N] [--quiet] [--report]
        stream the generated text (not the prompt) to stdout; --report adds to stderr the work the engine counted
        per prompt token and per generated token (weight and KV bytes, multiply-adds) and an energy estimate`;

export const options = {
  prompt: { type: 'string', short: 'p' },
  'n-predict': { type: 'string', short: 'n', flag: '-n' },
  temp: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  'repeat-last-n': { type: 'string' },
  seed: { type: 'string' },
  ctx: { type: 'string' },
  threads: { type: 'string', short: 't' },
  quiet: { type: 'boolean', short: 'q' },
  report: { type: 'boolean' },
};

export async function run(modelPath, v) {
  if (v.prompt === undefined) throw new UsageError('run needs a prompt: -p "..."');
  // every flag checked before the model is loaded
  const loadOptions = { contextLength: intFlag(v, 'ctx', CTX), threads: intFlag(v, 'threads', THREADS) };
  const genOptions = {
    maxTokens: intFlag(v, 'n-predict', N_PREDICT) ?? 64,
    temperature: numFlag(v, 'temp', TEMP),
    topK: intFlag(v, 'top-k', { min: 0, max: 1 << 20 }),
    topP: numFlag(v, 'top-p', TOP_P),
    minP: numFlag(v, 'min-p', { min: 0, max: 1 }),
    repeatPenalty: numFlag(v, 'repeat-penalty', { min: 0, max: 100, above: 0 }),
    repeatLastN: intFlag(v, 'repeat-last-n', { min: 0, max: 1 << 20 }),
    seed: intFlag(v, 'seed', SEED),
  };
  const model = await load(modelPath, loadOptions);
  await withModel(model, async (m) => {
    const gen = m.generate(v.prompt, genOptions);
    for await (const piece of gen) process.stdout.write(piece);
    process.stdout.write('\n');
    const s = gen.stats;
    if (!v.quiet) {
      const rate = (n, ms) => (ms > 0 ? (n / ms) * 1000 : 0).toFixed(1);
      process.stderr.write(
        `${s.promptTokens} prompt tokens (${rate(s.promptTokens, s.prefillMs)} tok/s), ${s.generatedTokens} generated ` +
          `(${rate(Math.max(0, s.generatedTokens - 1), s.decodeMs)} tok/s), stop: ${s.stopReason}, ${m.info().threads} thread(s)\n`,
      );
    }
    if (v.report) process.stderr.write(workReport(s.work));
  });
}
