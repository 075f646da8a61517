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
// README: "under 640 KB (220 KB gzip) for every runtime build", "the tools module under 800 KB (270 KB gzip)"
const LIMITS = [
  ...['', '-mt', '-relaxed', '-relaxed-mt', '-relaxed16', '-relaxed16-mt'].map((b) => [`greenformer${b}`, 640 * KB, 220 * KB]),
  ['greenformer-tools', 800 * KB, 270 * KB],
];

for (const [name, maxRaw, maxGzip] of LIMITS) {
  test(`${name}.wasm is under ${maxRaw / KB} KB (${maxGzip / KB} KB gzip)`, (t) => {
    const bytes = readFileSync(join(dist, `${name}.wasm`));
    const gz = gzipSync(bytes, { level: 9 }).length;
    t.diagnostic(`${name}.wasm: ${(bytes.length / KB).toFixed(0)} KB, ${(gz / KB).toFixed(0)} KB gzip`);
    assert.ok(bytes.length < maxRaw, `${bytes.length} bytes`);
    assert.ok(gz < maxGzip, `${gz} bytes gzip`);
  });
}

/** The export names of a wasm binary, read from its export section (Node 20 cannot compile the relaxed builds unflagged). */
function exportNames(b) {
  let p = 8;
  const leb = () => {
    let r = 0, s = 0, x;
    do r += (b[p] & 0x7f) * 2 ** s, (s += 7), (x = b[p++]);
    while (x & 0x80);
    return r;
  };
  while (p < b.length) {
    const id = b[p++], len = leb(), end = p + len;
    if (id === 7) {
      const names = [];
      for (let n = leb(); n > 0; n--) {
        const l = leb();
        names.push(b.subarray(p, p + l).toString());
        p += l + 1; // the name, the kind
        leb(); // the index
      }
      return names;
    }
    p = end;
  }
  return [];
}

test('the runtime builds leave the offline tools out; the tools module has them', () => {
  // an export of api_quantize.c / api_prune.c in a runtime build would mean the tools are linked into every page
  const exportsOf = (name) => exportNames(readFileSync(join(dist, `${name}.wasm`)));
  const tools = exportsOf('greenformer-tools');
  for (const f of ['gf_api_quantize_new', 'gf_api_calib_open', 'gf_api_mix_prepare', 'gf_api_prune_open', 'gf_api_quantize_types_json']) {
    assert.ok(tools.includes(f), `greenformer-tools exports ${f}`);
  }
  for (const b of ['', '-mt', '-relaxed', '-relaxed-mt', '-relaxed16', '-relaxed16-mt']) {
    const names = exportsOf(`greenformer${b}`);
    assert.ok(names.includes('gf_api_loader_quantize') && names.includes('gf_api_types_json'), `greenformer${b}: quantize while loading and the type rows`);
    assert.deepEqual(names.filter((n) => /^gf_api_(quantize|calib|mix|prune)_/.test(n)), [], `greenformer${b}`);
  }
});
