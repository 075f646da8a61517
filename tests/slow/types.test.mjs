// The published types type-check in a consumer's TypeScript project, and the
// OpenAI-shaped results are assignable to the official openai package's
// types (tsc --noEmit on tests/types, which imports the package by name).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT } from '../helpers/fixtures.mjs';

test('tsc --noEmit: web/index.d.ts against the openai package\'s types', () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tests/types/tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
