#!/usr/bin/env node
// npm start: serves the demo (and the package it uses) on localhost with the
// cross-origin isolation headers threads need. Options: --port N (default
// 8080), --host H, --no-isolation (to see the single-thread fallback),
// --throttle MB/s (model files arrive like over a slow network).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startServer } from '../tools/static-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let values;
try {
  ({ values } = parseArgs({
    options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, 'no-isolation': { type: 'boolean' }, throttle: { type: 'string' } },
  }));
} catch (e) {
  console.error(`demo server: ${e.message}`);
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo server: --port expects a port number, got "${values.port}"`);
  process.exit(2);
}
const throttle = values.throttle === undefined ? 0 : Number(values.throttle);
if (!(throttle >= 0)) {
  console.error(`demo server: --throttle expects megabytes per second, got "${values.throttle}"`);
  process.exit(2);
}
try {
  const server = await startServer(root, { port, host: values.host, isolation: !values['no-isolation'], throttle: throttle * 1048576, redirects: { '/': '/demo/' } });
  console.log(`greenformer demo: ${server.url}/demo/${values['no-isolation'] ? ' (not cross-origin isolated: one thread)' : ''}`);
} catch (e) {
  console.error(`demo server: cannot listen on ${values.host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (try --port 0 or another number)' : e.message}`);
  process.exit(1);
}
