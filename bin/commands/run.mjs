// greenformer run MODEL -p PROMPT: streams the generated text to stdout.
import { load, number, UsageError, withModel } from './common.mjs';

export const usage = `run MODEL -p PROMPT [-n 64] [--temp T] [--top-k K] [--top-p P] [--min-p M]
                    [--repeat-penalty R] [--seed S] [--ctx N] [--threads N]
        stream the generated text (not the prompt) to stdout`;

export const options = {
  prompt: { type: 'string', short: 'p' },
  'n-predict': { type: 'string', short: 'n' },
  temp: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  seed: { type: 'string' },
  ctx: { type: 'string' },
  threads: { type: 'string', short: 't' },
  quiet: { type: 'boolean', short: 'q' },
};

export async function run(modelPath, v) {
  if (v.prompt === undefined) throw new UsageError('run needs a prompt: -p "..."');
  const model = await load(modelPath, { contextLength: number(v, 'ctx', { integer: true }), threads: number(v, 'threads', { integer: true }) });
  await withModel(model, async (m) => {
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
          `(${rate(Math.max(0, s.generatedTokens - 1), s.decodeMs)} tok/s), stop: ${s.stopReason}, ${m.info().threads} thread(s)\n`,
      );
    }
  });
}
