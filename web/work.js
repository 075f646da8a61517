// The cost of an answer: the engine's work counters for a generation
// (src/model/work.h: counted where the work happens, per matmul call and
// per attention call) and an energy estimate made from them with published
// per-operation energies. The counts are exact; the joules are an estimate.

/**
 * Energies per operation from M. Horowitz, "Computing's energy problem (and
 * what we can do about it)", ISSCC 2014, for a 45 nm process at 0.9 V:
 * 8-bit integer add 0.03 pJ, 32-bit add 0.1 pJ, 8-bit multiply 0.2 pJ;
 * 32-bit float add 0.9 pJ, multiply 3.7 pJ; a 64-bit read from an 8 KB cache
 * 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; from DRAM 1.3-2.6 nJ.
 */
export const ENERGY_CONSTANTS = Object.freeze({
  source: 'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", IEEE ISSCC 2014, 45 nm at 0.9 V',
  /** an int8 multiply (0.2 pJ) and a 32-bit add into the accumulator (0.1 pJ) */
  intMacPj: 0.3,
  /** a 32-bit float multiply (3.7 pJ) and add (0.9 pJ) */
  floatMacPj: 4.6,
  /** DRAM: 1.3 nJ per 64-bit access, the low end of Horowitz's 1.3-2.6 nJ */
  dramBytePj: 1300 / 8,
  /** the largest cache in the table, 1 MB: 100 pJ per 64-bit access */
  cacheBytePj: 100 / 8,
  /** the last-level cache assumed: a step that reads more than this streams its bytes from DRAM */
  llcBytes: 8 * 1024 * 1024,
});

const MODEL_TEXT =
  'an estimate: counted bytes and multiply-adds times 45 nm per-operation energies; bytes come from DRAM when one ' +
  'forward step (one batch) reads more weight and KV bytes than the assumed last-level cache, else from a 1 MB cache';
const LEAVES_OUT =
  'static and idle power, the rest of the chip and the machine (instruction fetch and decode, registers, control, ' +
  'the display), wasm and JS overhead, the cache hierarchy beyond one DRAM-or-cache choice per phase, activations and ' +
  'scratch buffers, norms, RoPE, softmax and activation functions, sampling, and newer processes (45 nm figures)';

/** The counter fields, in the order gf_api_generation_work writes them (gf_work). */
export const WORK_FIELDS = ['tokens', 'steps', 'weightBytes', 'kvBytesRead', 'kvBytesWritten', 'intMacs', 'floatMacs'];

function checkConstants(c) {
  for (const k of ['intMacPj', 'floatMacPj', 'dramBytePj', 'cacheBytePj', 'llcBytes']) {
    if (typeof c[k] !== 'number' || !(c[k] >= 0) || !Number.isFinite(c[k])) throw new RangeError(`energy constants: ${k} must be a finite number >= 0, got ${c[k]}`);
  }
}

/** A phase's counts with its total multiply-adds and estimated joules; where its bytes were assumed to come from. */
function phase(counts, k) {
  const p = Object.fromEntries(WORK_FIELDS.map((f) => [f, counts?.[f] ?? 0]));
  p.macs = p.intMacs + p.floatMacs;
  const perStep = p.steps ? (p.weightBytes + p.kvBytesRead) / p.steps : 0;
  const memory = perStep > k.llcBytes ? 'dram' : 'cache';
  const bytePj = memory === 'dram' ? k.dramBytePj : k.cacheBytePj;
  const pj = (p.weightBytes + p.kvBytesRead + p.kvBytesWritten) * bytePj + p.intMacs * k.intMacPj + p.floatMacs * k.floatMacPj;
  p.joules = pj * 1e-12;
  return [p, memory];
}

function perToken(p) {
  if (!p.tokens) return null;
  const out = {};
  for (const f of ['weightBytes', 'kvBytesRead', 'kvBytesWritten', 'intMacs', 'floatMacs', 'macs', 'joules']) out[f] = p[f] / p.tokens;
  return out;
}

/**
 * The work object of stats.work from a generation's counts ({ prompt, generated }, each with WORK_FIELDS; a
 * stats.work itself will do), with the energy estimate made with `constants` (default ENERGY_CONSTANTS; any
 * field may be replaced, e.g. { llcBytes: 32 * 2 ** 20 } for a CPU with a 32 MB last-level cache).
 */
export function estimateEnergy(work, constants = {}) {
  const k = { ...ENERGY_CONSTANTS, ...constants };
  checkConstants(k);
  const [prompt, promptMemory] = phase(work?.prompt, k);
  const [generated, generatedMemory] = phase(work?.generated, k);
  return {
    prompt,
    generated,
    perToken: { prompt: perToken(prompt), generated: perToken(generated) },
    energy: {
      estimate: true,
      joules: prompt.joules + generated.joules,
      memory: { prompt: promptMemory, generated: generatedMemory },
      model: MODEL_TEXT,
      leavesOut: LEAVES_OUT,
      constants: k,
      source: k.source,
    },
  };
}

/** stats.work from gf_api_generation_work's 2 x 7 doubles. */
export function workFromCounters(values) {
  const take = (at) => Object.fromEntries(WORK_FIELDS.map((f, i) => [f, values[at + i]]));
  return estimateEnergy({ prompt: take(0), generated: take(WORK_FIELDS.length) });
}

/** Joules with an SI prefix: '0.38 mJ', '12 µJ', '1.2 J'. */
export function formatJoules(j) {
  const [scale, unit] = j >= 1 ? [1, 'J'] : j >= 1e-3 ? [1e3, 'mJ'] : j >= 1e-6 ? [1e6, 'µJ'] : [1e9, 'nJ'];
  const v = j * scale;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

/**
 * One line for people: bytes read and multiply-adds per generated token (per prompt token when nothing was
 * generated after the prompt) and the estimated joules of the whole generation, e.g.
 * '7.43 MB read · 9.38 M MACs per token · ≈0.38 mJ (estimate)'.
 */
export function formatWork(work) {
  if (!work) return '';
  const per = work.perToken.generated ?? work.perToken.prompt;
  if (!per) return '';
  const bytes = per.weightBytes + per.kvBytesRead;
  return `${(bytes / 1e6).toFixed(2)} MB read · ${(per.macs / 1e6).toFixed(2)} M MACs per token · ≈${formatJoules(work.energy.joules)} (estimate)`;
}
