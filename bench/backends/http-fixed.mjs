#!/usr/bin/env node
// Fallback HTTP/1.1 backend when nginx is not available: a small fixed 200 body for any request.
//   node bench/backends/http-fixed.mjs --port 8080 [--host 127.0.0.1]
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } },
});

const body = Buffer.from('hello from bench\n');
const server = http.createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
server.maxRequestsPerSocket = 0;
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(`listening http-fixed ${a.address}:${a.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
