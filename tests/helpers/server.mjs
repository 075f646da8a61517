// A local HTTP server the tests control: serves files and can misbehave on
// request (status codes, HTML pages, cut connections, stalls).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * routes: { '/path': handler(req, res) | { file, ...fault } }
 * Returns { url(path), close() }.
 */
export async function startServer(routes) {
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url, 'http://x').pathname];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<!DOCTYPE html><html><body>Not Found</body></html>');
    }
    if (typeof route === 'function') return route(req, res);
    const size = statSync(route.file).size;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': route.contentLength ?? size });
    createReadStream(route.file, { highWaterMark: 64 << 10 }).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}
