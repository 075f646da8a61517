// Runs a web build of tools/kernel-bench.c in headless Chromium, cross-origin
// isolated (for fine timers), and prints its output:
//   node tools/kernel-ab-run.mjs build/kernel-ab/kb.js ARGS...
// JS_FLAGS is passed to V8 (e.g. JS_FLAGS=--no-enable-avx-vnni: V8 then
// emulates the relaxed dot product as on x86 CPUs without AVX-VNNI).
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './static-server.mjs';
import { launchChromium } from '../tests/helpers/browser.mjs';

const [file, ...args] = process.argv.slice(2);
const dir = path.resolve(path.dirname(file));
const script = path.basename(file);
fs.writeFileSync(
  path.join(dir, 'index.html'),
  `<!doctype html><title>kernel bench</title><script>
  window.Module = { arguments: ${JSON.stringify(args)}, postRun: [() => console.log('__done__')] };
  </script><script src="${script}"></script>`,
);
const server = await startServer(dir);
const browser = await launchChromium(process.env.JS_FLAGS ? [`--js-flags=${process.env.JS_FLAGS}`] : []);
try {
  const page = await browser.context.newPage();
  const done = new Promise((resolve, reject) => {
    page.on('console', (m) => (m.text() === '__done__' ? resolve() : console.log(m.text())));
    page.on('pageerror', (e) => reject(e));
  });
  await page.goto(`${server.url}/`);
  await done;
} finally {
  await browser.close();
  await server.close();
}
