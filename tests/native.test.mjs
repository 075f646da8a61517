// Runs the C test programs: natively (scalar kernels, the reference), natively
// under AddressSanitizer + UndefinedBehaviorSanitizer (any report fails), and
// as wasm under Node (where the SIMD128 kernels run and are held equal to it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT, SHARED } from './helpers/shared.mjs';

const programs = readdirSync(join(ROOT, 'tests/c'))
  .filter((f) => /^test_\w+\.c$/.test(f))
  .map((f) => f.slice(0, -2));

for (const name of programs) {
  for (const [kind, cmd, args] of [
    ['native', join(ROOT, 'build/native', name), []],
    ['asan+ubsan', join(ROOT, 'build/asan', name), []],
    ['wasm', process.execPath, [join(ROOT, 'build/wasm', `${name}.js`)]],
  ]) {
    test(`C ${name} (${kind})`, (t) => {
      const target = kind === 'wasm' ? args[0] : cmd;
      assert.ok(existsSync(target), `${target} is missing: run ./build.sh`);
      const env = { ...process.env, GF_SHARED: SHARED, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' };
      const r = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
      const out = `${r.stdout}${r.stderr}`.trim();
      for (const line of out.split('\n').slice(-12)) t.diagnostic(line);
      assert.equal(r.status, 0, `${name} (${kind}) failed:\n${out.split('\n').slice(-40).join('\n')}`);
    });
  }
}
