// greenformer quantize IN.gguf OUT.gguf --type TYPE: writes a quantized GGUF.
import { quantizeModel, QUANT_TYPE_ALIASES, QUANT_TYPES } from '../../web/quantize.js';
import { WRITABLE_TYPES } from '../../web/types.js';
import { interruptible, numFlag, readTextFlag, UsageError } from './common.mjs';

const withMethod = (m) => WRITABLE_TYPES.filter((t) => t.methods.includes(m)).map((t) => t.name);
const search = withMethod('search');
const gptq = WRITABLE_TYPES.filter((t) => t.gptq).map((t) => t.name);
const all = (names) => (names.length === QUANT_TYPES.length ? 'every type' : names.join(', '));
const allBut = (names) => {
  const missing = QUANT_TYPES.filter((t) => !names.includes(t));
  return missing.length ? `every type but ${missing.join(', ')}` : 'every type';
};

export const usage = `quantize IN.gguf OUT.gguf --type TYPE [--method ref|search] [--calib TEXT_FILE] [--mix BITS]
                    [--mix-prune magnitude|activation|hessian] [--output-type TYPE] [--embd-type TYPE] [--quiet]
        write a quantized copy of a F32/F16 GGUF (IN: a file, a split model's first shard -00001-of-0000N.gguf, a URL
        or an hf: name; OUT: one file) (TYPE: ${QUANT_TYPES.join(', ')}; Q4_K, Q5_K, Q3_K follow llama.cpp's
        Q4_K_M, Q5_K_M, Q3_K_M); --method ref (default) writes llama-quantize's bytes;
        --method search picks scales by error (${all(search)});
        --calib runs the model on the text: errors weighted by activations (${all(search)}) and compensated
        across channels (GPTQ: ${allBut(gptq)});
        --mix 4.8 assigns types per tensor (among all of them) by measured sensitivity under that many bits per weight;
        --mix-prune also lets it prune FFN neurons and KV groups per layer (by that criterion) where that measured better`;

export const options = {
  type: { type: 'string' },
  method: { type: 'string' },
  calib: { type: 'string' },
  mix: { type: 'string' },
  'mix-prune': { type: 'string' },
  'output-type': { type: 'string' },
  'embd-type': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

/** The second positional is the output file. */
export const extraPositionals = 1;

const mb = (b) => (b / 1048576).toFixed(2);

function typeCounts(tensors) {
  const counts = {};
  for (const t of tensors) counts[t.to] = (counts[t.to] ?? 0) + 1;
  return Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(', ');
}

function progress(quiet) {
  if (quiet) return undefined;
  const tty = process.stderr.isTTY;
  let lastPhase = null;
  let lastPct = -1;
  return (p) => {
    const pct = Math.floor(p.fraction * 100);
    if (p.phase === lastPhase && (pct === lastPct || (!tty && pct % 10 !== 0))) return;
    lastPhase = p.phase;
    lastPct = pct;
    const what = p.phase === 'quantize' && p.tensor ? ` ${p.tensorsDone}/${p.tensors} ${p.tensor.name} ${p.tensor.from} -> ${p.tensor.to}` : '';
    const line = `${p.phase}: ${pct}%${what}`;
    process.stderr.write(tty ? `\r${line}\x1b[K${p.fraction >= 1 ? '\n' : ''}` : `${line}\n`);
  };
}

export async function run(input, v, [output]) {
  if (!output) throw new UsageError('quantize needs an output path: quantize IN.gguf OUT.gguf --type TYPE');
  if (v.type === undefined && v.mix === undefined) throw new UsageError(`quantize needs --type (${QUANT_TYPES.join(', ')}) or --mix BITS`);
  if (v.type !== undefined && !QUANT_TYPES.includes(v.type) && !QUANT_TYPE_ALIASES.includes(v.type)) throw new UsageError(`--type must be one of ${QUANT_TYPES.join(', ')}, got "${v.type}"`);
  if (v.method !== undefined && v.method !== 'ref' && v.method !== 'search') throw new UsageError(`--method must be ref or search, got "${v.method}"`);
  const mix = numFlag(v, 'mix', { min: 2, max: 16 }); // bits per weight
  if (mix !== undefined && v.calib === undefined) throw new UsageError('--mix needs --calib TEXT_FILE (the text each tensor is measured on)');
  if (v.method === 'ref' && (v.calib !== undefined || mix !== undefined)) throw new UsageError('--calib and --mix use --method search');
  const PRUNE = ['magnitude', 'activation', 'hessian'];
  if (v['mix-prune'] !== undefined && !PRUNE.includes(v['mix-prune'])) throw new UsageError(`--mix-prune must be one of ${PRUNE.join(', ')}, got "${v['mix-prune']}"`);
  if (v['mix-prune'] !== undefined && mix === undefined) throw new UsageError('--mix-prune needs --mix BITS');
  const calib = readTextFlag(v, 'calib');
  const log = v.quiet ? undefined : (line) => process.stderr.write(`${line}\n`);
  // Ctrl-C aborts: the temporary output file is removed, an existing OUT is left as it was
  const plan = await interruptible('quantize', output, (signal) =>
    quantizeModel(input, output, {
      type: v.type,
      method: v.method,
      calib,
      mix,
      mixPrune: v['mix-prune'],
      outputType: v['output-type'],
      embdType: v['embd-type'],
      onProgress: progress(v.quiet),
      log,
      signal,
    }),
  );
  if (plan.mixPrune) {
    const p = plan.mixPrune;
    log?.(`mix with pruning: predicted KL ${p.predictedKl.toExponential(3)} (types alone: ${p.predictedKlTypesOnly.toExponential(3)}); per layer:`);
    for (const [i, l] of p.layers.entries()) {
      const opts = (o) => o.map((x) => `${x.keep}: ${x.kl < 0 ? '—' : x.kl.toExponential(2)}`).join(', ');
      log?.(`  layer ${i}: FFN ${l.ffn} (KL if alone ${opts(l.ffnOptions)}), KV heads ${l.kvHeads} (${opts(l.kvOptions)})`);
    }
  }
  if (plan.mix) {
    log?.(`mix: target ${plan.mix.target} bits per weight, measured KL on ${plan.mix.tokens} calibration tokens; chosen types:`);
    for (const t of plan.mix.tensors) log?.(`  ${t.name.padEnd(28)} ${t.type.padEnd(5)} (KL if alone: ${Object.entries(t.kl).map(([k, x]) => `${k} ${x.toExponential(2)}`).join(', ')})`);
  }
  log?.(
    `wrote ${output}: ${mb(plan.outputBytes)} MB (from ${mb(plan.inputBytes)} MB), ${plan.fileType}, ${plan.method}, ` +
      `${plan.bitsPerWeight.toFixed(3)} bits per weight; ${typeCounts(plan.tensors)}`,
  );
}
