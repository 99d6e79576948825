// The Node backends' connection count: GET http://HOST:PORT/stats answers {"accepts": n}, the
// connections `server` accepted so far (those of the stats port itself are not counted).
import http from 'node:http';

export function serveStats(server, port, host) {
  let accepts = 0;
  server.on('connection', () => accepts++);
  http
    .createServer((req, res) => {
      const body = JSON.stringify({ accepts });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    })
    .listen(port, host);
}
