// Runs the C test programs: natively (scalar kernels, the reference), natively
// under AddressSanitizer + UndefinedBehaviorSanitizer (any report fails), and
// as wasm under Node (where the SIMD128 kernels run and are held equal to it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { fixture, fixturesDir, ROOT } from '../helpers/fixtures.mjs';

// the C programs read their fixtures from one folder (tests/c/testing.h: GF_FIXTURES)
const FIXTURES = fixturesDir();

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
      const env = { ...process.env, GF_FIXTURES: FIXTURES, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' };
      const r = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
      const out = `${r.stdout}${r.stderr}`.trim();
      for (const line of out.split('\n').slice(-12)) t.diagnostic(line);
      assert.equal(r.status, 0, `${name} (${kind}) failed:\n${out.split('\n').slice(-40).join('\n')}`);
    });
  }
}

// The relaxed-SIMD build (build/wasm-relaxed, dist/greenformer-relaxed*): its
// kernels must equal the plain ones bit for bit. Node 20's V8 runs relaxed
// SIMD only behind --experimental-wasm-relaxed-simd, and its baseline
// compiler (Liftoff) gets relaxed dot products wrong when an operand is used
// again afterwards (V8 before 11.4; Chromium's V8 is right in both tiers,
// tests/slow/browser.test.mjs), so there the tests run the optimizing tier alone.
const RELAXED_PROBE = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0,
  0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x93, 0x02, 0x0b]);

function relaxedNodeFlags() {
  const [major, minor] = process.versions.v8.split('.').map(Number);
  const old = major < 11 || (major === 11 && minor < 4);
  if (WebAssembly.validate(RELAXED_PROBE)) return old ? ['--no-liftoff'] : [];
  const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
  if (!options.includes('--experimental-wasm-relaxed-simd')) return null;
  return ['--experimental-wasm-relaxed-simd', ...(old ? ['--no-liftoff'] : [])];
}

const relaxedFlags = relaxedNodeFlags();

// Both relaxed builds: 'relaxed' (i32 dot products) and 'relaxed16' (their
// 16-bit form, for x86 without AVX-VNNI; Node's V8 lowers both forms with
// pmaddubsw on any x86, so the sums' bounds are exercised here too).
// The kernel tests: test_kernels and the per-type programs (test_types_*).
const kernelPrograms = programs.filter((name) => name === 'test_kernels' || name.startsWith('test_types_'));
for (const variant of ['relaxed', 'relaxed16']) for (const name of kernelPrograms) {
  test(`C ${name} (wasm, ${variant} SIMD build): its kernels equal the references bit for bit`, { skip: !relaxedFlags && 'this Node has no relaxed SIMD' }, (t) => {
    const target = join(ROOT, `build/wasm-${variant}/${name}.js`);
    assert.ok(existsSync(target), `${target} is missing: run ./build.sh`);
    const env = { ...process.env, GF_FIXTURES: FIXTURES };
    const r = spawnSync(process.execPath, [...relaxedFlags, target], { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
    const out = `${r.stdout}${r.stderr}`.trim();
    for (const line of out.split('\n').slice(-4)) t.diagnostic(line);
    assert.match(out, new RegExp(`^kernels: simd128\\+${variant}$`, 'm'));
    assert.equal(r.status, 0, out.split('\n').slice(-40).join('\n'));
  });
}

// Whole models through the public API: the relaxed builds forced with
// simd: 'relaxed' and 'relaxed16' against the plain build, for one and two
// threads: every logit of a teacher-forced pass and the sampled tokens are
// identical.
test('the relaxed builds give bit-identical logits and tokens to the plain build (Node)', { skip: !relaxedFlags && 'this Node has no relaxed SIMD' }, (t) => {
  const models = ['tiny-llama-Q4_0.gguf', 'tiny-llama-Q4_1.gguf', 'tiny-llama-Q8_0.gguf', 'tiny-llama-Q4_K_M.gguf', 'tiny-llama-Q6_K.gguf', 'tiny-brown-Q5_K_M.gguf',
    'tiny-llama320-Q4_K_M.gguf', 'tiny-llama320-IQ4_XS.gguf'] // Q5_0, IQ4_NL
    .map((f) => fixture('models', f));
  const script = `
    import { loadModel } from ${JSON.stringify(join(ROOT, 'web/index.js'))};
    import { createHash } from 'node:crypto';
    const out = [];
    for (const file of ${JSON.stringify(models)}) {
      for (const simd of ['plain', 'relaxed', 'relaxed16']) for (const threads of [1, 2]) {
        const m = await loadModel(file, { simd, threads });
        const ids = await m.tokenize('Once upon a time there was a little girl who');
        const logits = await m.forward(ids);
        const g = m.generate('Once upon a time', { maxTokens: 24, seed: 7, temperature: 0.8 });
        for await (const _ of g);
        const info = m.info();
        out.push({ file, simd, threads, build: info.build, kernels: info.kernels,
          logits: createHash('sha256').update(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)).digest('hex'),
          tokens: g.stats.tokens.join(',') });
        await m.dispose();
      }
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, [...relaxedFlags, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  const runs = JSON.parse(r.stdout.trim().split('\n').pop());
  for (const run of runs) {
    const ref = runs.find((x) => x.file === run.file && x.simd === 'plain' && x.threads === 1);
    const build = `greenformer${run.simd === 'plain' ? '' : `-${run.simd}`}${run.threads > 1 ? '-mt' : ''}`;
    assert.equal(run.build, build);
    assert.equal(run.kernels, run.simd === 'plain' ? 'simd128' : `simd128+${run.simd}`);
    assert.equal(run.logits, ref.logits, `${run.file} ${run.simd} ${run.threads} threads: logits differ`);
    assert.equal(run.tokens, ref.tokens, `${run.file} ${run.simd} ${run.threads} threads: tokens differ`);
  }
  t.diagnostic(`${runs.length / 6} models x {plain, relaxed, relaxed16} x {1, 2} threads: identical logits and tokens`);
});

test('the simd option: bad values are refused; without relaxed SIMD, auto runs the plain build and the relaxed ones are refused', async () => {
  const { loadModel } = await import('../../web/index.js');
  const file = fixture('models', 'tiny-llama-Q4_0.gguf');
  await assert.rejects(loadModel(file, { simd: 'fast' }), /simd must be one of 'auto', 'relaxed', 'relaxed16', 'plain'; got fast/);
  if (WebAssembly.validate(RELAXED_PROBE)) return; // this Node has relaxed SIMD: the test above covers it
  await assert.rejects(loadModel(file, { simd: 'relaxed' }), /'relaxed' needs an engine with relaxed SIMD/);
  await assert.rejects(loadModel(file, { simd: 'relaxed16' }), /'relaxed16' needs an engine with relaxed SIMD/);
  const model = await loadModel(file, { threads: 1 });
  try {
    assert.equal(model.info().build, 'greenformer');
    assert.equal(model.info().kernels, 'simd128');
  } finally {
    await model.dispose();
  }
});
