// src/ is arranged in layers (src/README.md): includes point down, never
// up, and the module graph has no cycle. The map in src/README.md is the
// one tools/include-graph.mjs prints for the tree as it is.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { formatMap, readGraph } from '../../tools/include-graph.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('src/: every include points to its own layer or a lower one, and no module depends on itself', () => {
  const g = readGraph();
  assert.deepEqual(g.errors, []);
  assert.ok(g.modules.size > 40);
});

test('src/README.md shows the current include map', () => {
  const readme = readFileSync(join(ROOT, 'src', 'README.md'), 'utf8');
  const m = readme.match(/<!-- include-graph -->\n```\n([\s\S]*?)\n```/);
  assert.ok(m, 'src/README.md has the include-graph block');
  assert.equal(m[1], formatMap(readGraph()), 'run node tools/include-graph.mjs and paste its output into src/README.md');
});

test('the check fails on an upward include, a cycle, an unknown folder and a path not named from src', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gf-layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (f, text) => {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  };
  put('base/a.h', '#include "model/m.h"\n');
  put('model/m.h', '');
  put('text/x.c', '#include "text/y.h"\n');
  put('text/y.c', '#include "text/x.h"\n');
  put('text/y.h', '');
  put('text/x.h', '');
  put('misc/z.c', '#include "y.h"\n');
  const { errors } = readGraph(dir);
  assert.ok(errors.some((e) => e.includes('src/base/a.h includes "model/m.h": model is above base')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('include cycle: text/x -> text/y -> text/x')), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('src/misc/: not a layer')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('"y.h": not a file under src/')), errors.join('\n'));
});
