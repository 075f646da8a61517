// greenformer prune IN.gguf OUT.gguf --ffn 0.2 --heads 0.1 --method magnitude|activation|hessian --calib TEXT
import { PRUNE_METHODS, pruneModel } from '../../web/prune.js';
import { QUANT_TYPE_ALIASES, QUANT_TYPES } from '../../web/quantize.js';
import { interruptible, numFlag, readTextFlag, UsageError } from './common.mjs';

export const usage = `prune IN.gguf OUT.gguf [--ffn SHARE] [--heads SHARE] [--method magnitude|activation|hessian] [--calib TEXT_FILE]
                    [--compensate | --no-compensate] [--type TYPE] [--quiet]
        remove whole FFN neurons (--ffn 0.25: a quarter of each layer's) and whole KV groups of attention heads
        (--heads 0.25: a quarter of all, the criterion picks the layers) from a llama-architecture F32/F16 GGUF;
        per-layer sizes are written as llama.cpp reads them. --method: magnitude (weights only), activation
        (|W| * ||x|| over --calib), hessian (optimal brain surgeon on --calib's activations, default with --calib);
        --compensate refits the kept weights on --calib (default for hessian); --type quantizes the result too`;

export const options = {
  ffn: { type: 'string' },
  heads: { type: 'string' },
  method: { type: 'string' },
  calib: { type: 'string' },
  compensate: { type: 'boolean' },
  'no-compensate': { type: 'boolean' },
  type: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const extraPositionals = 1;

function share(v, name) {
  const x = numFlag(v, name, { min: 0, max: 1 });
  if (x === 1) throw new UsageError(`--${name} must be a share in [0, 1) (1 would remove everything), got 1`);
  return x;
}

export async function run(input, v, [output]) {
  if (!output) throw new UsageError('prune needs an output path: prune IN.gguf OUT.gguf --ffn SHARE');
  const ffn = share(v, 'ffn');
  const heads = share(v, 'heads');
  if (!ffn && !heads) throw new UsageError('prune needs --ffn SHARE or --heads SHARE (above 0)');
  if (v.method !== undefined && !PRUNE_METHODS.includes(v.method)) throw new UsageError(`--method must be one of ${PRUNE_METHODS.join(', ')}, got "${v.method}"`);
  if (v.method !== undefined && v.method !== 'magnitude' && v.calib === undefined) throw new UsageError(`--method ${v.method} needs --calib TEXT_FILE`);
  if (v.compensate && v['no-compensate']) throw new UsageError('--compensate and --no-compensate contradict each other');
  if (v.compensate && v.calib === undefined) throw new UsageError('--compensate needs --calib TEXT_FILE (the refit is on its activations)');
  if (v.type !== undefined && !QUANT_TYPES.includes(v.type) && !QUANT_TYPE_ALIASES.includes(v.type)) throw new UsageError(`--type must be one of ${QUANT_TYPES.join(', ')}, got "${v.type}"`);
  const calib = readTextFlag(v, 'calib');
  const log = v.quiet ? undefined : (line) => process.stderr.write(`${line}\n`);
  // Ctrl-C aborts: the temporary output file is removed, an existing OUT is left as it was
  const result = await interruptible('prune', output, (signal) =>
    pruneModel(input, output, {
      ffn: ffn || undefined,
      heads: heads || undefined,
      method: v.method,
      calib,
      compensate: v.compensate ? true : v['no-compensate'] ? false : undefined,
      type: v.type,
      log,
      signal,
    }),
  );
  for (const [i, l] of result.prune.layers.entries()) {
    log?.(`  layer ${i}: FFN ${l.ffn[0]} -> ${l.ffn[1]}, heads ${l.heads[0]} -> ${l.heads[1]} (KV ${l.kvHeads[0]} -> ${l.kvHeads[1]})`);
  }
  if (result.quantize) log?.(`quantized to ${result.quantize.fileType}: ${(result.quantize.outputBytes / 1048576).toFixed(2)} MB`);
}
