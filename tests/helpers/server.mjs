// A local HTTP server the tests control: serves files (with Range and
// ETag, like a real static host) and misbehaves on request: cuts the
// connection after N bytes, stalls, lies about Content-Length. It also
// counts the body bytes it sent per path.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * routes: { '/path': handler(req, res) | { file, etag?, ranges?, cutAfter?, stallAfter?, contentLength?, faults? } }
 * cutAfter / stallAfter apply to the first `faults` responses (default 1).
 * Returns { url(path), sent(path), requests(path), close() }.
 */
export async function startServer(routes, { headers = {} } = {}) {
  const sent = new Map();
  const requests = new Map();
  const faulted = new Map();
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const route = routes[path];
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<!DOCTYPE html><html><body>Not Found</body></html>');
    }
    if (typeof route === 'function') return route(req, res);
    const size = statSync(route.file).size;
    const etag = route.etag ?? `"${size}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const status = range && route.ranges !== false && (!ifRange || ifRange === etag) ? 206 : 200;
    if (status === 206) start = Number(range[1]);
    const head = { 'content-type': 'application/octet-stream', 'content-length': route.contentLength ?? size - start, etag, 'accept-ranges': 'bytes' };
    if (status === 206) head['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    res.writeHead(status, head);
    const n = faulted.get(path) ?? 0;
    const fault = n < (route.faults ?? 1) ? route : {};
    if (fault.cutAfter !== undefined || fault.stallAfter !== undefined) faulted.set(path, n + 1);
    const limit = fault.cutAfter ?? fault.stallAfter;
    const stream = createReadStream(route.file, { start, end: limit === undefined ? undefined : start + limit - 1, highWaterMark: 64 << 10 });
    stream.on('data', (chunk) => sent.set(path, (sent.get(path) ?? 0) + chunk.length));
    stream.pipe(res, { end: false });
    stream.on('end', () => {
      if (fault.cutAfter !== undefined) res.destroy();
      else if (fault.stallAfter === undefined) res.end();
      // stalled: keep the connection open, send nothing more
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    sent: (path) => sent.get(path) ?? 0,
    requests: (path) => requests.get(path) ?? 0,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}
