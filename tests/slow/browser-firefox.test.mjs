// The browser path in real headless Firefox: Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi
// (tests/helpers/browser.mjs; installed with apt-get when missing in CI or with GF_INSTALL=1). The tests every
// engine shares (tests/helpers/browser-tests.mjs) run here as they run in Chromium (tests/slow/browser.test.mjs):
// a model over HTTP in the worker with progress and Node's tokens, the pthreads build under COOP/COEP and one
// thread without, the persistent cache (OPFS) with zero network bytes on a hit, resumed downloads, SHA-256
// checks, aborts while the page keeps drawing, the kernel tests of the plain, relaxed and relaxed16 builds,
// whole models giving Node's logits and tokens in each build, and the demo (completion, chat, embeddings;
// screenshots tests/artifacts/demo-firefox.png, demo-firefox-chat.png). And what is Firefox's own: which SIMD
// build simd: 'auto' takes here, and why.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openDemo } from '../helpers/browser.mjs';
import { browserTests } from '../helpers/browser-tests.mjs';

// Firefox (SpiderMonkey) has relaxed SIMD, and on x86 emulates its i32 int8 dot product as V8 does on x86
// without AVX-VNNI (pmaddubsw, whose pair sums saturate, then pmaddwd), even on a CPU with AVX-VNNI (this AMD EPYC
// (Zen 5) VM, 2026-12-07, Firefox ESR 153). greenformer's probe sees the emulation, so simd: 'auto' takes the
// relaxed16 build there, whose kernels use the 16-bit form (pmaddubsw alone), as in Chromium without AVX-VNNI
// (its speed in Firefox against the plain and relaxed builds: docs/performance.md, not resolved on a busy
// machine). Shown by the last test below; on ARM (not measured) the probe decides as it does for Chromium.
const X86 = process.arch === 'x64';
const AUTO_REASON = X86 ? /^relaxed16: auto, this engine emulates the relaxed int8 dot product/ : /^relaxed: auto, /;
const AUTO = X86 ? 'greenformer-relaxed16' : 'greenformer-relaxed';
const requested = (simd) => new RegExp(`^${simd}: requested$`);
const ctx = browserTests('firefox', {
  autoBuild: AUTO,
  autoReason: AUTO_REASON,
  kernelBuilds: [['wasm', 'simd128'], ['wasm-relaxed', 'simd128+relaxed'], ['wasm-relaxed16', 'simd128+relaxed16']],
  simdTitle: `relaxed SIMD: auto takes the ${AUTO.slice('greenformer-'.length)} build; it, the ${X86 ? 'relaxed' : 'relaxed16'} and the plain build give Node's logits and tokens (1 and 2 threads)`,
  simdConfigs: [
    [1, undefined, AUTO, AUTO_REASON],
    [2, undefined, `${AUTO}-mt`, AUTO_REASON],
    ...(X86 ? [[1, 'relaxed', 'greenformer-relaxed', requested('relaxed')], [2, 'relaxed', 'greenformer-relaxed-mt', requested('relaxed')]] : [[1, 'relaxed16', 'greenformer-relaxed16', requested('relaxed16')]]),
    [1, 'plain', 'greenformer', requested('plain')],
  ],
  screenshots: 'demo-firefox', // tests/artifacts/demo-firefox.png, demo-firefox-chat.png
});

// A one-function module: (func (export "f") (result i32) lane 0 of OP(v128.const i8x16 127 ..., v128.const
// i8x16 255 ... [, v128.const 0])), OP being i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113) or
// i16x8.relaxed_dot_i8x16_i7x16_s (0xfd 0x112). 255 is outside the 7-bit operand's range, so the result is
// implementation-defined, and tells the lowerings apart: i32: 4 * 127 * 255 = 129540 with AVX-VNNI's
// vpdpbusd, 2 * 32767 = 65534 where pmaddubsw's pair sums saturate, -508 with a signed dot (ARM); i16: 32767
// (pmaddubsw's saturation), -254 with a signed dot (ARM).
const v128 = (byte) => [0xfd, 0x0c, ...new Array(16).fill(byte)];
const dotModule = (i32) => {
  const body = [0x00, ...v128(127), ...v128(255), ...(i32 ? [...v128(0), 0xfd, 0x93, 0x02, 0xfd, 0x1b, 0x00] : [0xfd, 0x92, 0x02, 0xfd, 0x18, 0x00]), 0x0b];
  const code = [0x01, body.length, ...body];
  return [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00,
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, code.length, ...code];
};

test('firefox: why auto takes that build: its relaxed int8 dot products saturate as pmaddubsw does (x86, even with AVX-VNNI)', { skip: !X86 && 'x86 only' }, async () => {
  const page = await openDemo(ctx.browser.context, ctx.isolated.url);
  try {
    const r = await page.evaluate(
      async ({ i32, i16 }) => {
        const run = (bytes) => new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes))).exports.f();
        const m = await window.greenformer.loadModel('/fixtures/models/tiny-llama-Q4_0.gguf', { threads: 1, cache: false });
        const info = m.info();
        await m.dispose();
        return { i32: run(i32), i16: run(i16), build: info.build, reason: info.simdReason };
      },
      { i32: dotModule(true), i16: dotModule(false) },
    );
    assert.equal(r.i32, 65534, 'i32x4 relaxed dot: not the pmaddubsw + pmaddwd emulation');
    assert.equal(r.i16, 32767, 'i16x8 relaxed dot: not pmaddubsw');
    assert.equal(r.build, 'greenformer-relaxed16');
    assert.match(r.reason, /^relaxed16: auto, this engine emulates the relaxed int8 dot product \(V8 on x86 without AVX-VNNI, Firefox on any x86\); its 16-bit form is one instruction \(pmaddubsw\)$/);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});
