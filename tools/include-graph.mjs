#!/usr/bin/env node
// The include graph of src/: every file sits in a layer folder, and a file
// may include headers of its own layer or of a lower one, never of a higher
// one; the graph of modules (a .c and the .h of the same name are one
// module) has no cycle. Run with no argument it prints the map that
// src/README.md shows; with --check it exits 1 on a violation.
// tests/fast/layers.test.mjs runs the same check.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Bottom to top. src/README.md says what each holds.
export const LAYERS = ['base', 'quant', 'format', 'kernels', 'text', 'model', 'sample', 'tools', 'api'];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// { modules: Map(module -> Set(module)), errors: [string] }
export function readGraph(src = join(ROOT, 'src')) {
  const errors = [];
  const files = [];
  for (const entry of readdirSync(src).sort()) {
    const dir = join(src, entry);
    if (!statSync(dir).isDirectory()) continue;
    if (!LAYERS.includes(entry)) errors.push(`src/${entry}/: not a layer (${LAYERS.join(', ')})`);
    for (const f of readdirSync(dir).sort()) if (/\.[ch]$/.test(f)) files.push(`${entry}/${f}`);
  }
  const present = new Set(files);
  const modules = new Map();
  const mod = (f) => f.replace(/\.[ch]$/, '');
  for (const f of files) if (!modules.has(mod(f))) modules.set(mod(f), new Set());
  for (const f of files) {
    const text = readFileSync(join(src, f), 'utf8');
    const layer = LAYERS.indexOf(f.split('/')[0]);
    for (const m of text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
      const inc = m[1];
      if (!present.has(inc)) {
        errors.push(`src/${f} includes "${inc}": not a file under src/ (name it from src: "layer/file.h")`);
        continue;
      }
      const to = LAYERS.indexOf(inc.split('/')[0]);
      if (to > layer) errors.push(`src/${f} includes "${inc}": ${inc.split('/')[0]} is above ${f.split('/')[0]}`);
      if (mod(inc) !== mod(f)) modules.get(mod(f)).add(mod(inc));
    }
  }
  // cycles: depth-first search, reporting each back edge's cycle once
  const state = new Map();
  const stack = [];
  const visit = (m) => {
    state.set(m, 1);
    stack.push(m);
    for (const n of [...modules.get(m)].sort()) {
      if (state.get(n) === 1) errors.push(`include cycle: ${[...stack.slice(stack.indexOf(n)), n].join(' -> ')}`);
      else if (!state.has(n)) visit(n);
    }
    stack.pop();
    state.set(m, 2);
  };
  for (const m of [...modules.keys()].sort()) if (!state.has(m)) visit(m);
  return { modules, errors };
}

// One line per module: what it includes, by layer.
export function formatMap({ modules }) {
  const lines = [];
  for (const layer of LAYERS) {
    const here = [...modules.keys()].filter((m) => m.startsWith(`${layer}/`)).sort();
    if (!here.length) continue;
    lines.push(`${layer}/`);
    for (const m of here) {
      const deps = [...modules.get(m)].sort((a, b) => LAYERS.indexOf(a.split('/')[0]) - LAYERS.indexOf(b.split('/')[0]) || a.localeCompare(b));
      lines.push(`  ${m.slice(layer.length + 1).padEnd(20)}${deps.length ? `-> ${deps.join(' ')}` : ''}`.trimEnd());
    }
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const g = readGraph();
  if (process.argv.includes('--check')) {
    for (const e of g.errors) console.error(e);
    process.exit(g.errors.length ? 1 : 0);
  }
  console.log(formatMap(g));
  for (const e of g.errors) console.error(`error: ${e}`);
}
