// The machine a benchmark ran on: CPU model, core counts and the SIMD features its
// kernels can use, from /proc/cpuinfo (Linux; elsewhere what os.cpus() says).
// Native llama.cpp picks its kernels from these features (AVX2, AVX-512, VNNI, ...),
// and V8's wasm SIMD lowers to some of them, so a result means little without them.

import fs from 'node:fs';
import os from 'node:os';

// The /proc/cpuinfo flags that matter for the kernels, in the order they are printed.
// x86 ("flags"), then Arm ("Features").
export const SIMD_FLAGS = [
  'sse2', 'ssse3', 'sse4_1', 'sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'bmi2',
  'avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512vbmi',
  'avx_vnni', 'avx_vnni_int8', 'amx_tile', 'amx_int8', 'amx_bf16',
  'asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2',
];

/**
 * Parses /proc/cpuinfo text: { cpu, logical_cpus, physical_cores, flags: string[], simd: string[] }.
 * cpu: the first "model name" (x86, some Arm kernels), else "Hardware" / "CPU part", else null.
 * physical_cores: distinct (physical id, core id) pairs, null when the file does not give them.
 * flags: every flag of the first processor; simd: those of SIMD_FLAGS it has, in that order.
 */
export function parseCpuinfo(text) {
  const blocks = text.split(/\n\s*\n/).map((b) => {
    const kv = new Map();
    for (const line of b.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    return kv;
  }).filter((kv) => kv.size);
  const procs = blocks.filter((kv) => kv.has('processor'));
  const first = procs[0] ?? blocks[0] ?? new Map();
  const any = (key) => blocks.find((kv) => kv.get(key))?.get(key) ?? null;
  const cpu = first.get('model name') || any('model name') || any('Hardware') || (any('CPU part') ? `CPU part ${any('CPU part')}` : null);
  const flags = (first.get('flags') ?? first.get('Features') ?? '').split(/\s+/).filter(Boolean);
  const have = new Set(flags);
  const cores = new Set(procs.filter((kv) => kv.has('core id')).map((kv) => `${kv.get('physical id') ?? 0}:${kv.get('core id')}`));
  return {
    cpu,
    logical_cpus: procs.length,
    physical_cores: cores.size || null,
    flags,
    simd: SIMD_FLAGS.filter((f) => have.has(f)),
  };
}

/** This machine: { hostname, cpu, cores, physical_cores, simd, mem_gb, os, node, arch }. */
export function machineInfo() {
  let info = null;
  try {
    info = parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch { /* not Linux */ }
  return {
    hostname: os.hostname(),
    cpu: info?.cpu || os.cpus()[0]?.model || 'unknown',
    cores: os.cpus().length,
    physical_cores: info?.physical_cores ?? null,
    simd: info ? info.simd : null,
    mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
  };
}

/** One line for the printed summary. */
export function describeMachine(m) {
  const cores = `${m.cores} logical CPU${m.cores === 1 ? '' : 's'}${m.physical_cores ? ` (${m.physical_cores} core${m.physical_cores === 1 ? '' : 's'})` : ''}`;
  const simd = m.simd ? (m.simd.length ? m.simd.join(' ') : 'none of the listed SIMD flags') : 'SIMD flags unknown (no /proc/cpuinfo)';
  return `${m.cpu}, ${cores}, ${m.mem_gb} GB; SIMD: ${simd}`;
}
