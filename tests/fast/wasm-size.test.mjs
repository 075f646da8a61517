// The download a page pays: README "Performance" states each build's size and
// its gzip size; these bounds hold the builds to what it says, so a change that
// grows the module past them has to say so there too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const KB = 1024;
// README: "under 800 KB (270 KB gzip) for every build"
const MAX_RAW = 800 * KB, MAX_GZIP = 270 * KB;
const BUILDS = ['', '-mt', '-relaxed', '-relaxed-mt', '-relaxed16', '-relaxed16-mt'];

for (const b of BUILDS) {
  test(`greenformer${b}.wasm is under ${MAX_RAW / KB} KB (${MAX_GZIP / KB} KB gzip)`, (t) => {
    const bytes = readFileSync(join(dist, `greenformer${b}.wasm`));
    const gz = gzipSync(bytes, { level: 9 }).length;
    t.diagnostic(`greenformer${b}.wasm: ${(bytes.length / KB).toFixed(0)} KB, ${(gz / KB).toFixed(0)} KB gzip`);
    assert.ok(bytes.length < MAX_RAW, `${bytes.length} bytes`);
    assert.ok(gz < MAX_GZIP, `${gz} bytes gzip`);
  });
}
