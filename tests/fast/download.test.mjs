// Resumed downloads are checked, never spliced blindly: a server (loopback
// only) that lies in its 206 after a cut connection, or trickles bytes,
// makes the load reject with an error naming the lie; an honest resume
// gives the same logits as a direct load.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { fromUrl } from '../../web/sources.js';
import { fixture } from '../helpers/fixtures.mjs';

const FILE = fixture('models', 'tiny-llama-Q4_0.gguf');
const BYTES = readFileSync(FILE);
const SIZE = BYTES.length;
const ETAG = '"v1"';
const CUT = 3_000_000; // past the header: spliced garbage would land in tensor data
const LAST_MODIFIED = 'Tue, 01 Dec 2026 10:00:00 GMT';

/**
 * routes: { '/path': (res, from, req) => void }, from = the Range start
 * asked for (null without Range). A route's first request (without Range)
 * gets the honest file cut after CUT bytes unless the route says `first`.
 */
let server, base;
const requests = new Map();
function cutFirst(res) {
  res.writeHead(200, { 'content-length': SIZE, etag: ETAG, 'accept-ranges': 'bytes' });
  res.write(BYTES.subarray(0, CUT), () => res.destroy());
}
function partial(res, body, contentRange, extra = {}) {
  const head = { etag: ETAG, ...extra };
  if (contentRange !== undefined) head['content-range'] = contentRange;
  res.writeHead(206, head); // no Content-Length: chunked, so a body may run past its range
  res.end(body);
}
const routes = {
  // honest: the rest of the file
  '/honest': (res, from) => (from === null ? cutFirst(res) : partial(res, BYTES.subarray(from), `bytes ${from}-${SIZE - 1}/${SIZE}`)),
  // the 206 starts 1,000 bytes before the byte asked for (and says so)
  '/early': (res, from) =>
    from === null ? cutFirst(res) : partial(res, BYTES.subarray(from - 1000), `bytes ${from - 1000}-${SIZE - 1}/${SIZE}`),
  // the file was replaced under the same ETag: 1,000 bytes longer, shifted
  '/swapped': (res, from) => {
    if (from === null) return cutFirst(res);
    const swapped = Buffer.concat([Buffer.alloc(1000, 7), BYTES]);
    partial(res, swapped.subarray(from), `bytes ${from}-${swapped.length - 1}/${swapped.length}`);
  },
  // the 206 restarts at byte 0 and says so
  '/restart-says': (res, from) => (from === null ? cutFirst(res) : partial(res, BYTES, `bytes 0-${SIZE - 1}/${SIZE}`)),
  // the 206 restarts at byte 0 but claims the right range
  '/restart-lies': (res, from) => (from === null ? cutFirst(res) : partial(res, BYTES, `bytes ${from}-${SIZE - 1}/${SIZE}`)),
  // a 206 without Content-Range, and one whose Content-Range does not parse
  '/no-range': (res, from) => (from === null ? cutFirst(res) : partial(res, BYTES.subarray(from), undefined)),
  '/bad-range': (res, from) => (from === null ? cutFirst(res) : partial(res, BYTES.subarray(from), `bytes=${from}-`)),
  // the right range, then 1,000 bytes more than it declared
  '/longer': (res, from) =>
    from === null ? cutFirst(res) : partial(res, Buffer.concat([BYTES.subarray(from), Buffer.alloc(1000)]), `bytes ${from}-${SIZE - 1}/${SIZE}`),
  // a 206 whose Content-Length disagrees with its Content-Range
  '/length-lies': (res, from) =>
    from === null ? cutFirst(res) : partial(res, BYTES, `bytes ${from}-${SIZE - 1}/${SIZE}`, { 'content-length': SIZE }),
  // a partial response to a request without Range, longer than its range
  '/longer-first': (res) => partial(res, Buffer.concat([BYTES, Buffer.alloc(1000)]), `bytes 0-${SIZE - 1}/${SIZE}`),
  // one byte every 50 ms, forever (each response): never 300 ms without data
  '/trickle': (res, from) => trickle(res, from ?? 0),
  // a fast first megabyte, then a trickle; the resume is honest
  '/trickle-once': (res, from) => {
    if (from !== null) return partial(res, BYTES.subarray(from), `bytes ${from}-${SIZE - 1}/${SIZE}`);
    res.writeHead(200, { 'content-length': SIZE, etag: ETAG });
    res.write(BYTES.subarray(0, 1 << 20), () => trickle(res, 1 << 20, true));
  },
  // for a cross-origin page that sees neither ETag nor Content-Range (not exposed): resumed with Last-Modified
  '/cors': (res, from) => {
    if (from !== null) return partial(res, BYTES.subarray(from), `bytes ${from}-${SIZE - 1}/${SIZE}`, { 'content-length': SIZE - from });
    res.writeHead(200, { 'content-length': SIZE, etag: ETAG, 'last-modified': LAST_MODIFIED });
    res.write(BYTES.subarray(0, CUT), () => res.destroy());
  },
  '/cors-early': (res, from) => {
    if (from !== null) return partial(res, BYTES.subarray(from - 1000), `bytes ${from - 1000}-${SIZE - 1}/${SIZE}`, { 'content-length': SIZE - from + 1000 });
    res.writeHead(200, { 'content-length': SIZE, etag: ETAG, 'last-modified': LAST_MODIFIED });
    res.write(BYTES.subarray(0, CUT), () => res.destroy());
  },
  // a cached partial file resumed at an offset (the OPFS cache's path)
  '/offset-early': (res, from) => partial(res, BYTES.subarray(from - 1000), `bytes ${from - 1000}-${SIZE - 1}/${SIZE}`),
  '/offset-honest': (res, from) => partial(res, BYTES.subarray(from), `bytes ${from}-${SIZE - 1}/${SIZE}`),
};
const trickling = new Set();
function trickle(res, at, headSent = false) {
  if (!headSent) {
    const head = { etag: ETAG, 'content-length': SIZE - at };
    if (at) head['content-range'] = `bytes ${at}-${SIZE - 1}/${SIZE}`;
    res.writeHead(at ? 206 : 200, head);
  }
  const timer = setInterval(() => (res.destroyed ? stop() : res.write(BYTES.subarray(at, ++at))), 50);
  const stop = () => {
    clearInterval(timer);
    trickling.delete(stop);
  };
  trickling.add(stop);
  res.on('close', stop);
}

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const from = m && (!ifRange || ifRange === ETAG || ifRange === LAST_MODIFIED) ? Number(m[1]) : null;
    const route = routes[path];
    if (!route) return res.writeHead(404).end();
    route(res, from, req);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  for (const stop of trickling) stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Rejects with `message` within `ms`, or fails (instead of hanging) when the load neither rejects nor ends. */
async function rejectsWithin(ms, options, path, message) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`still loading ${path} after ${ms} ms`)), ms);
  try {
    let model;
    await assert.rejects(
      (async () => {
        model = await loadModel(base + path, { ...options, signal: controller.signal });
      })(),
      (e) => {
        assert.match(e.message, message, `${path}`);
        return true;
      },
    );
    assert.equal(model, undefined, `${path}: no model`);
  } finally {
    clearTimeout(timer);
  }
}

async function logits(source, options) {
  const model = await loadModel(source, options);
  try {
    return await model.forward([1, 450, 4996, 338, 263]);
  } finally {
    await model.dispose();
  }
}

test('an honest resume loads the same model as a direct load', async () => {
  const direct = await logits(FILE);
  requests.delete('/honest');
  const resumed = await logits(base + '/honest');
  assert.equal(requests.get('/honest'), 2, 'one resume');
  assert.ok(direct.every(Number.isFinite));
  assert.deepEqual(resumed, direct);
});

const N = String(SIZE);
const lies = [
  ['a 206 starting 1,000 bytes early', '/early',
    new RegExp(`download of .*/early: resumed response starts at byte ${CUT - 1000} but byte ${CUT} was requested \\(Content-Range: bytes ${CUT - 1000}-`)],
  ['the same ETag with another size', '/swapped',
    new RegExp(`the file's size changed from ${N} to ${SIZE + 1000} bytes while resuming \\(same ETag\\): refusing to splice`)],
  ['a 206 restarting at byte 0 (Content-Range: bytes 0-)', '/restart-says',
    new RegExp(`resumed response starts at byte 0 but byte ${CUT} was requested \\(Content-Range: bytes 0-${SIZE - 1}/${N}\\)`)],
  // either check may speak first: the spliced bytes put header bytes where block scales belong (the loader's
  // non-finite scale check), and the body runs past its declared end (the download's check)
  ['a 206 restarting at byte 0 under the right Content-Range', '/restart-lies',
    new RegExp(`response body is longer than declared: more than ${SIZE - CUT} bytes from byte ${CUT} \\(Content-Range: bytes ${CUT}-|has a non-finite (minimum )?scale .*: the file is corrupt`)],
  ['a 206 without Content-Range', '/no-range', /resumed response \(HTTP 206\) has no Content-Range header/],
  ['a 206 with an unparsable Content-Range', '/bad-range', new RegExp(`unparsable Content-Range: "bytes=${CUT}-"`)],
  ['a body longer than its Content-Range', '/longer', new RegExp(`response body is longer than declared: more than ${SIZE - CUT} bytes`)],
  ['a Content-Length that disagrees with the Content-Range', '/length-lies',
    new RegExp(`has Content-Length ${N} but its Content-Range: bytes ${CUT}-${SIZE - 1}/${N} holds ${SIZE - CUT} bytes`)],
  ['a first response longer than its Content-Range', '/longer-first', new RegExp(`longer than declared: more than ${N} bytes from byte 0`)],
];
for (const [what, path, message] of lies) {
  test(`a resume is refused: ${what}`, async () => {
    await rejectsWithin(4000, {}, path, message);
  });
}

test('a trickle (1 byte per 50 ms) trips the minimum rate, resumes, and fails in bounded time', async () => {
  const t0 = performance.now();
  requests.delete('/trickle');
  await rejectsWithin(
    4000,
    { timeout: 300, retries: 1 },
    '/trickle',
    /failed at byte \d+ of \d+ after 1 retries: download stalled: \d+ bytes in the last 0.3 s \(less than 64 KiB per timeout window\)/,
  );
  assert.equal(requests.get('/trickle'), 2, 'the stall resumed once');
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
});

test('a trickle after a fast start resumes and loads', async () => {
  requests.delete('/trickle-once');
  const signal = AbortSignal.timeout(4000); // a loader that never notices the trickle fails here, not in 8 MB / 20 B/s
  const got = await logits(base + '/trickle-once', { timeout: 300, signal });
  assert.equal(requests.get('/trickle-once'), 2);
  assert.deepEqual(got, await logits(FILE));
});

test("a download started at an offset (the browser cache's resume) checks its first 206", async () => {
  await assert.rejects(fromUrl(`${base}/offset-early`, { offset: 2000, validator: ETAG }), {
    message: `download of ${base}/offset-early: resumed response starts at byte 1000 but byte 2000 was requested (Content-Range: bytes 1000-${SIZE - 1}/${SIZE})`,
  });
  await assert.rejects(fromUrl(`${base}/offset-honest`, { offset: 2000, validator: ETAG, expectedSize: SIZE + 5 }), {
    message: new RegExp(`the file's size changed from ${SIZE + 5} to ${N} bytes while resuming \\(same ETag\\)`),
  });
  const src = await fromUrl(`${base}/offset-honest`, { offset: 2000, validator: ETAG, expectedSize: SIZE });
  assert.equal(src.start, 2000);
  assert.equal(src.size, SIZE);
  let at = 2000;
  for await (const chunk of src.chunks) {
    assert.ok(Buffer.from(chunk).equals(BYTES.subarray(at, at + chunk.length)), `bytes at ${at}`);
    at += chunk.length;
  }
  assert.equal(at, SIZE);
});

test('cross-origin (Content-Range and ETag not exposed): an exact Content-Length resumes, another is refused', async (t) => {
  const realFetch = globalThis.fetch;
  // what a page sees of a CORS response without Access-Control-Expose-Headers: the safelisted headers only
  globalThis.fetch = async (url, init) => {
    const res = await realFetch(url, init);
    const headers = new Headers();
    for (const name of ['content-length', 'content-type', 'last-modified']) if (res.headers.has(name)) headers.set(name, res.headers.get(name));
    return { ok: res.ok, status: res.status, statusText: res.statusText, type: 'cors', url: res.url, headers, body: res.body };
  };
  t.after(() => (globalThis.fetch = realFetch));
  requests.delete('/cors');
  assert.deepEqual(await logits(base + '/cors'), await logits(FILE));
  assert.equal(requests.get('/cors'), 2, 'one resume');
  await rejectsWithin(4000, {}, '/cors-early',
    new RegExp(`resumed response \\(HTTP 206\\) has no Content-Range header \\(cross-origin: the server must list Content-Range in Access-Control-Expose-Headers, or send a Content-Length of ${SIZE - CUT}\\)`));
});

test('timeout and retries are checked', async () => {
  await assert.rejects(loadModel(base + '/honest', { timeout: -5 }), { message: 'timeout (ms) must be a number in 1..2147483647, got -5' });
  await assert.rejects(loadModel(base + '/honest', { retries: 1.5 }), { message: 'retries must be an integer in 0..1000, got 1.5' });
});
