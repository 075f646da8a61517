// Runs a web build of tools/kernel-bench.c in headless Chromium, cross-origin
// isolated (for fine timers), and prints its output:
//   node tools/kernel-ab-run.mjs build/kernel-ab/kb.js ARGS...
// JS_FLAGS is passed to V8 (e.g. JS_FLAGS=--no-enable-avx-vnni: V8 then
// emulates the relaxed dot product as on x86 CPUs without AVX-VNNI).
// window.cpuClockUrl (kernel-bench's "cpu" argument) answers the CPU time
// of the renderers' main threads in ms (/proc/<pid>/schedstat, Linux): the
// time the kernels actually ran, whatever else the machine was doing.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer } from './static-server.mjs';
import { launchChromium } from '../tests/helpers/browser.mjs';

const [file, ...args] = process.argv.slice(2);
const dir = path.resolve(path.dirname(file));
const script = path.basename(file);
const writePage = (cpuUrl) => fs.writeFileSync(
  path.join(dir, 'index.html'),
  `<!doctype html><title>kernel bench</title><script>
  window.cpuClockUrl = ${JSON.stringify('CPU_URL')};
  window.Module = { arguments: ${JSON.stringify(args)}, postRun: [() => console.log('__done__')] };
  </script><script src="${script}"></script>`.replace('CPU_URL', cpuUrl),
);
const rendererCpuMs = () => {
  let ns = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('--type=renderer')) continue;
      ns += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {}
  }
  return ns / 1e6;
};
const cpuServer = http.createServer((req, res) => {
  res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Content-Type': 'text/plain' });
  res.end(String(rendererCpuMs()));
});
await new Promise((r) => cpuServer.listen(0, '127.0.0.1', r));
const cpuClockUrl = `http://127.0.0.1:${cpuServer.address().port}/cpu`;
writePage(cpuClockUrl);
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
  cpuServer.close();
}
