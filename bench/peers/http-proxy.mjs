#!/usr/bin/env node
// Node peer: node-http-proxy (the `http-proxy` package) in front of one upstream, as its README
// sets it up: a node:http server calling proxy.web() for every request, with a keep-alive
// http.Agent upstream (without one, http-proxy opens a connection per request). HTTP/1.1 only;
// http-proxy has no retries and no routing.
//   node bench/peers/http-proxy.mjs --upstream 127.0.0.1:8080 --port 10000
import http from 'node:http';
import httpProxy from 'http-proxy';
import { peerArgs } from './args.mjs';

const values = peerArgs('http-proxy.mjs');

const agent = new http.Agent({ keepAlive: true, maxSockets: 4096, maxFreeSockets: 4096, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ target: `http://${values.upstream}`, agent });
proxy.on('error', (err, req, res) => {
  if (res.headersSent || typeof res.writeHead !== 'function') return res.destroy?.();
  res.writeHead(502, { 'content-type': 'text/plain' });
  res.end('upstream error\n');
});

// keepAliveTimeout: Node's default of 5 s would close idle client connections (idle-10k); the
// other targets keep them for minutes.
const server = http.createServer({ keepAliveTimeout: 300_000 }, (req, res) => proxy.web(req, res));
server.on('clientError', (err, socket) => socket.destroy());
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(`listening http-proxy ${a.address}:${a.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
