// greenformer eval MODEL --ref REF.gguf --text FILE: quantization damage, measured.

import { evaluate } from '../../web/evaluate.js';
import { ggufSummary } from '../../web/quantize.js';
import { formatJoules } from '../../web/work.js';
import { intFlag, load, readTextFlag, UsageError, withModel } from './common.mjs';

export const usage = `eval MODEL --ref REF.gguf --text FILE [--ctx 256] [--chunks N] [--kv-cache f32|f16|q8_0] [--json]
        KL divergence of MODEL's next-token distributions from REF's, top-1 agreement and perplexity of
        both on the text (llama.cpp's perplexity protocol: chunks of --ctx tokens, BOS first, the second
        half scored), with sizes and bits per weight. Both run with f32 KV caches; --kv-cache sets MODEL's
        (MODEL = REF then measures what that cache type alone costs). Also the work per generated token,
        counted by the engine on a few greedy steps after the text's first tokens: weight bytes read,
        multiply-adds and an energy estimate (quality per joule)`;

export const options = {
  ref: { type: 'string' },
  text: { type: 'string' },
  ctx: { type: 'string' },
  chunks: { type: 'string' },
  'kv-cache': { type: 'string' },
  json: { type: 'boolean' },
};

export async function run(modelPath, v) {
  if (v.ref === undefined || v.text === undefined) throw new UsageError('eval needs --ref REF.gguf and --text FILE');
  const ctx = intFlag(v, 'ctx', { min: 4, max: 1 << 20 }) ?? 256;
  if (ctx % 2) throw new UsageError(`--ctx must be an even number in 4..${1 << 20}, got ${ctx}`);
  const chunks = intFlag(v, 'chunks', { min: 1, max: 1 << 20 });
  const text = readTextFlag(v, 'text');
  const [modelSize, refSize] = [await ggufSummary(modelPath), await ggufSummary(v.ref)];
  // f32 KV caches unless --kv-cache says otherwise for MODEL: the weights' damage alone
  const quiet = { contextLength: ctx, batchSize: ctx, threads: 1, onProgress: undefined, kvCache: 'f32' };
  await withModel(await load(v.ref, quiet), async (ref) =>
    withModel(await load(modelPath, { ...quiet, kvCache: v['kv-cache'] ?? 'f32' }), async (model) => {
      const ids = await ref.tokenize(text);
      const mine = await model.tokenize(text);
      if (mine.length !== ids.length || mine.some((x, i) => x !== ids[i])) throw new Error('eval: MODEL and REF tokenize the text differently');
      const tty = process.stderr.isTTY && !v.json;
      const r = await evaluate(ref, [model], ids, {
        ctx,
        chunks,
        onProgress: tty ? ({ chunk, chunks: n }) => process.stderr.write(`\rchunk ${chunk}/${n}\x1b[K${chunk === n ? '\n' : ''}`) : undefined,
      });
      const m = r.models[0];
      // the cost side: a few decode steps after the text's first tokens, counted by the engine
      const promptLength = Math.min(16, ctx / 2), steps = Math.min(8, ctx - promptLength - 1);
      const gen = model.generate(ids.slice(0, promptLength), { maxTokens: steps + 1, temperature: 0, ignoreEos: true });
      for await (const _ of gen);
      const work = gen.stats.work.perToken.generated;
      const out = {
        model: modelPath,
        ref: v.ref,
        text: v.text,
        tokens: ids.length,
        chunks: r.chunks,
        ctx: r.ctx,
        scored: r.scored,
        meanKl: m.meanKl,
        klStdErr: m.klStdErr,
        kvCache: model.info().kvCache,
        top1: m.top1,
        perplexity: m.perplexity,
        refPerplexity: r.refPerplexity,
        modelBytes: modelSize.fileBytes,
        modelBitsPerWeight: modelSize.bitsPerWeight,
        modelTypes: modelSize.types,
        refBytes: refSize.fileBytes,
        refBitsPerWeight: refSize.bitsPerWeight,
        workPerToken: work && {
          weightBytes: work.weightBytes,
          kvBytesRead: work.kvBytesRead,
          macs: work.macs,
          intMacs: work.intMacs,
          floatMacs: work.floatMacs,
          joules: work.joules,
          positions: [promptLength, promptLength + gen.stats.work.generated.tokens - 1],
        },
      };
      if (v.json) {
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const mb = (b) => (b / 1048576).toFixed(2);
      const types = Object.entries(modelSize.types).map(([k, n]) => `${k}: ${n}`).join(', ');
      process.stdout.write(
        [
          `model:       ${modelPath}: ${mb(modelSize.fileBytes)} MB, ${modelSize.bitsPerWeight.toFixed(3)} bits per weight (${types})`,
          `reference:   ${v.ref}: ${mb(refSize.fileBytes)} MB, ${refSize.bitsPerWeight.toFixed(3)} bits per weight`,
          `KV cache:    ${model.info().kvCache} (reference f32)`,
          `text:        ${v.text}: ${ids.length} tokens, ${r.chunks} chunks of ${ctx}, ${r.scored} positions scored`,
          `mean KL:     ${m.meanKl.toFixed(6)} ± ${m.klStdErr.toFixed(6)} (KL(reference || model), nats per token)`,
          `top-1 agree: ${(m.top1 * 100).toFixed(3)}%`,
          `perplexity:  ${m.perplexity.toFixed(4)} (reference ${r.refPerplexity.toFixed(4)})`,
          ...(work
            ? [`work/token:  ${(work.weightBytes / 1e6).toFixed(3)} MB weights + ${(work.kvBytesRead / 1e6).toFixed(3)} MB KV read, ` +
                `${(work.macs / 1e6).toFixed(3)} M multiply-adds, ≈${formatJoules(work.joules)} (estimate; counted on decode steps at positions ` +
                `${out.workPerToken.positions.join('-')})`]
            : []),
        ].join('\n') + '\n',
      );
    }),
  );
}
