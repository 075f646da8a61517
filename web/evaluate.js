// Quality of a model against a reference on a text, with llama.cpp's
// llama-perplexity protocol (so the numbers compare with its --kl-divergence
// output): the token ids (BOS first) are cut into consecutive chunks of
// `ctx` tokens, the last incomplete chunk dropped; each chunk is evaluated
// on its own with its first token replaced by BOS; positions ctx/2 .. ctx-2
// of each chunk are scored against the next token (ctx/2 - 1 per chunk).
//
// Per scored position: negative log-likelihood of the next token (for
// perplexity), KL(reference || model) of the full next-token distributions,
// and whether both put the same token first. Sums are in double precision
// in a fixed order, so the result is deterministic.

function logSoftmax(row, out) {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  let top = 0;
  for (let i = 0; i < row.length; i++) {
    out[i] = row[i] - lse;
    if (row[i] > row[top]) top = i;
  }
  return top;
}

/**
 * @param {import('./model.js').Model} ref the reference (e.g. the F32 model)
 * @param {import('./model.js').Model[]} models evaluated against it in the same pass
 * @param {number[]} ids the text's token ids, BOS first
 * @param {{ ctx?: number, chunks?: number, bos?: number, onProgress?: (p: { chunk: number, chunks: number }) => void }} [options]
 * @returns {Promise<{ chunks: number, ctx: number, scored: number, refPerplexity: number,
 *   models: { perplexity: number, meanKl: number, klStdErr: number, top1: number }[] }>}
 */
export async function evaluate(ref, models, ids, options = {}) {
  const ctx = options.ctx ?? 256;
  if (!Number.isInteger(ctx) || ctx < 4 || ctx % 2) throw new RangeError(`evaluate: ctx must be an even integer >= 4, got ${ctx}`);
  const bos = options.bos ?? ids[0];
  const available = Math.floor(ids.length / ctx);
  const chunks = Math.min(available, options.chunks ?? available);
  if (chunks < 1) throw new Error(`evaluate: the text has ${ids.length} tokens, fewer than one chunk of ${ctx}`);
  const nVocab = ref.info().nVocab;
  for (const m of models) {
    if (m.info().nVocab !== nVocab) throw new Error(`evaluate: vocabularies differ (${m.info().nVocab} vs ${nVocab} tokens)`);
  }
  const first = ctx / 2;
  const lp = new Float64Array(nVocab);
  let refNll = 0;
  const acc = models.map(() => ({ nll: 0, kl: 0, kl2: 0, same: 0 }));
  let scored = 0;
  const refRows = [];
  for (let c = 0; c < chunks; c++) {
    const tokens = ids.slice(c * ctx, (c + 1) * ctx);
    tokens[0] = bos;
    const refLogits = await ref.forward(tokens);
    // the reference's log-probabilities for this chunk's scored rows, reused for every model
    refRows.length = 0;
    for (let j = first; j < ctx - 1; j++) {
      const row = new Float64Array(nVocab);
      const top = logSoftmax(refLogits.subarray(j * nVocab, (j + 1) * nVocab), row);
      refNll -= row[tokens[j + 1]];
      refRows.push({ row, top });
    }
    for (let k = 0; k < models.length; k++) {
      const logits = await models[k].forward(tokens);
      const a = acc[k];
      for (let j = first; j < ctx - 1; j++) {
        const { row: rl, top: refTop } = refRows[j - first];
        const top = logSoftmax(logits.subarray(j * nVocab, (j + 1) * nVocab), lp);
        a.nll -= lp[tokens[j + 1]];
        let kl = 0;
        for (let i = 0; i < nVocab; i++) {
          const p = Math.exp(rl[i]);
          if (p > 0) kl += p * (rl[i] - lp[i]);
        }
        a.kl += kl;
        a.kl2 += kl * kl;
        a.same += top === refTop ? 1 : 0;
      }
    }
    scored += ctx - 1 - first;
    options.onProgress?.({ chunk: c + 1, chunks });
  }
  return {
    chunks,
    ctx,
    scored,
    refPerplexity: Math.exp(refNll / scored),
    models: acc.map((a) => {
      const mean = a.kl / scored;
      const variance = Math.max(0, a.kl2 / scored - mean * mean);
      return { perplexity: Math.exp(a.nll / scored), meanKl: mean, klStdErr: Math.sqrt(variance / scored), top1: a.same / scored };
    }),
  };
}
