// Peak memory of Chromium renderer processes, from /proc (Linux).
//
// Why VmHWM and not performance.measureUserAgentSpecificMemory(): the renderer's peak
// resident set covers everything a page costs (wasm memories of the page and of its
// workers, JS heap, compiled code, transient copies during load) at its true peak,
// for one and two threads alike; measureUserAgentSpecificMemory() reports a point in
// time after a GC, counts only JS/wasm memory, double-counts shared memory and can
// hang with two threads (see shared/notes/wllama-bench.md). Every run gets a fresh
// tab, and the peak is reset (clear_refs 5) right before the model is loaded.

import fs from 'node:fs';

// Chromium rewrites its child processes' titles, so their cmdline is one
// space-separated string rather than NUL-separated arguments: split on both.
function readCmdline(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/); } catch { return null; }
}

function ppidOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return -1; }
}

/** Renderer processes of the Chromium started with this --user-data-dir. */
export function rendererPids(userDataDir) {
  const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map(pids.map((p) => [p, ppidOf(p)]));
  const roots = pids.filter((p) => {
    const c = readCmdline(p);
    return c && c.includes(`--user-data-dir=${userDataDir}`) && !c.some((a) => a.startsWith('--type='));
  });
  if (!roots.length) return [];
  const inTree = (p) => {
    for (let q = p, i = 0; q > 1 && i < 64; q = parent.get(q), i++) if (roots.includes(q)) return true;
    return false;
  };
  return pids.filter((p) => inTree(p) && (readCmdline(p) || []).includes('--type=renderer'));
}

function statusKb(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

/** Resets the peak RSS (VmHWM) of these processes to their current RSS. */
export function resetPeak(pids) {
  for (const p of pids) { try { fs.writeFileSync(`/proc/${p}/clear_refs`, '5'); } catch { /* process gone or not allowed */ } }
}

/** { pid, hwm_mb, rss_mb } of the renderer with the largest peak. */
export function maxPeak(pids) {
  let best = { pid: 0, hwm_mb: 0, rss_mb: 0 };
  for (const p of pids) {
    const hwm = statusKb(p, 'VmHWM') / 1024;
    if (hwm > best.hwm_mb) best = { pid: p, hwm_mb: hwm, rss_mb: statusKb(p, 'VmRSS') / 1024 };
  }
  return best;
}

export function rssMb(pids) {
  return Math.max(0, ...pids.map((p) => statusKb(p, 'VmRSS') / 1024));
}

// ---------------------------------------------------------------------------
// CPU contention: this machine is shared (2 cores), and a concurrent build ruins a
// run, above all a two-thread one whose workers spin. The harness samples how much
// CPU other processes use before a run (and waits for quiet) and during it (and
// redoes the run when it was contended).

function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** The harness itself, its children, and the Chromium of this --user-data-dir with all its processes. */
export function ourPids(userDataDir) {
  const pids = allPids();
  const parent = new Map(pids.map((p) => [p, ppidOf(p)]));
  const roots = new Set([process.pid]);
  if (userDataDir) {
    for (const p of pids) {
      const c = readCmdline(p);
      if (c && c.includes(`--user-data-dir=${userDataDir}`) && !c.some((a) => a.startsWith('--type='))) roots.add(p);
    }
  }
  return pids.filter((p) => {
    for (let q = p, i = 0; q > 1 && i < 64; q = parent.get(q), i++) if (roots.has(q)) return true;
    return false;
  });
}

function procCpuTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
  } catch { return 0; }
}

function systemTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: user + nice + system + irq + softirq, steal: steal || 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** A snapshot to compare later with cpuSince(). */
export function cpuSnapshot(userDataDir) {
  const pids = ourPids(userDataDir);
  const ours = new Map(pids.map((p) => [p, procCpuTicks(p)]));
  return { t: performance.now(), sys: systemTicks(), ours, userDataDir };
}

/**
 * CPU used since a snapshot, in cores: { others, ours, steal }. "others" is every
 * process outside the harness and its browser (processes of ours that ended in
 * between are not counted as ours, hence a small overestimate when they did).
 */
export function cpuSince(snap) {
  const sys = systemTicks();
  const pids = ourPids(snap.userDataDir);
  let ours = 0;
  for (const p of pids) ours += procCpuTicks(p) - (snap.ours.get(p) ?? 0);
  const dtTicks = ((performance.now() - snap.t) / 1000) * 100; // USER_HZ = 100
  if (dtTicks <= 0) return { others: 0, ours: 0, steal: 0 };
  const busy = sys.busy - snap.sys.busy;
  return { others: Math.max(0, busy - ours) / dtTicks, ours: ours / dtTicks, steal: (sys.steal - snap.sys.steal) / dtTicks };
}
