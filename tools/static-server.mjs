// The project's static HTTP server (demo, benchmarks, browser tests): serves a
// root directory with the cross-origin isolation headers that shared-memory
// wasm needs (unless isolation: false), byte ranges, HEAD, ETags and correct
// MIME types. Model files (.gguf) are sent with no-store: greenformer keeps
// models in its own persistent cache, and the browser's HTTP cache would only
// store a second copy; everything else is cacheable, so Chromium can cache
// compiled wasm code as it would for a returning visitor.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.gguf': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Starts the server; resolves to { url, port, sent(path), close() }. redirects
 * maps exact paths to others (302). throttle
 * (bytes per second) slows model files down like a real network. sent(path)
 * counts the body bytes served for a URL path (tests use it to prove a
 * cached model costs no network).
 */
export function startServer(root, { port = 0, host = '127.0.0.1', log = null, isolation = true, mounts = {}, throttle = 0, redirects = {} } = {}) {
  root = path.resolve(root);
  // extra directories under URL prefixes, e.g. { '/fixtures/': 'build/fixtures' } for tests
  const mounted = Object.entries(mounts).map(([prefix, dir]) => [prefix, path.resolve(dir)]);
  const iso = isolation ? ISOLATION : {};
  const sent = new Map();
  const server = http.createServer((req, res) => {
    const send = (status, headers = {}, body = null) => {
      res.writeHead(status, { ...iso, ...headers });
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { Allow: 'GET, HEAD' });
      const url = new URL(req.url, 'http://localhost');
      // e.g. { '/': '/demo/' }: the demo server sends its root to the page
      if (Object.hasOwn(redirects, url.pathname)) return send(302, { Location: redirects[url.pathname] + url.search });
      let rel;
      try { rel = decodeURIComponent(url.pathname); } catch { return send(400); }
      const mount = mounted.find(([prefix]) => rel.startsWith(prefix));
      const base = mount ? mount[1] : root;
      let file = path.join(base, path.normalize(mount ? rel.slice(mount[0].length) : rel));
      if (file !== base && !file.startsWith(base + path.sep)) return send(403);
      let st;
      try { st = fs.statSync(file); } catch { return send(404, { 'Content-Type': 'text/plain' }, 'not found'); }
      if (st.isDirectory()) {
        // directories serve their index.html; without a trailing slash, relative links would break
        if (!url.pathname.endsWith('/')) return send(301, { Location: url.pathname + '/' + url.search });
        file = path.join(file, 'index.html');
        try { st = fs.statSync(file); } catch { return send(404, { 'Content-Type': 'text/plain' }, 'not found'); }
      }
      if (!st.isFile()) return send(404, { 'Content-Type': 'text/plain' }, 'not found');

      const ext = path.extname(file).toLowerCase();
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const headers = {
        'Content-Type': MIME[ext] || 'application/octet-stream',
        'Accept-Ranges': 'bytes',
        'Last-Modified': st.mtime.toUTCString(),
        ETag: etag,
        'Cache-Control': ext === '.gguf' ? 'no-store' : 'max-age=3600',
      };
      if (ext !== '.gguf' && req.headers['if-none-match'] === etag) return send(304, headers);

      let start = 0, end = st.size - 1, status = 200;
      const range = req.headers.range;
      if (range) {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
        if (!m || (m[1] === '' && m[2] === '')) {
          return send(416, { 'Content-Range': `bytes */${st.size}` });
        }
        if (m[1] === '') { // suffix range: the last n bytes
          start = Math.max(0, st.size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= st.size || start > end) return send(416, { 'Content-Range': `bytes */${st.size}` });
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
      }
      headers['Content-Length'] = String(end - start + 1);
      if (log) log(`${req.method} ${rel}${range ? ' ' + range : ''} -> ${status}`);
      res.writeHead(status, { ...iso, ...headers });
      if (req.method === 'HEAD' || st.size === 0) return res.end();
      const stream = fs.createReadStream(file, { start, end, highWaterMark: throttle ? 64 << 10 : 1 << 20 });
      res.on('close', () => stream.destroy());
      (async () => {
        for await (const chunk of stream) {
          if (res.destroyed) return;
          sent.set(url.pathname, (sent.get(url.pathname) ?? 0) + chunk.length);
          if (!res.write(chunk)) await writable(res);
          // a slow network: wait long enough to average `throttle` bytes per second
          if (throttle && ext === '.gguf') await new Promise((r) => setTimeout(r, (chunk.length / throttle) * 1000));
        }
        res.end();
      })().catch(() => res.destroy());
    } catch (e) {
      if (!res.headersSent) send(500, { 'Content-Type': 'text/plain' }, String(e));
      else res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const p = server.address().port;
      resolve({
        url: `http://${host}:${p}`,
        port: p,
        sent: (urlPath) => sent.get(urlPath) ?? 0,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

// Resolves when the response can take more bytes or has closed; removes both
// listeners either way (a long download waits thousands of times).
function writable(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
