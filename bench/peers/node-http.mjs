#!/usr/bin/env node
// Reference peer: a minimal HTTP/1.1 reverse proxy on node:http only.
// node:http server -> http.request with a keep-alive http.Agent, bodies streamed with pipe,
// hop-by-hop headers removed both ways.
//   node bench/peers/node-http.mjs --upstream 127.0.0.1:8080 --port 10000
import http from 'node:http';
import { peerArgs } from './args.mjs';

const values = peerArgs('node-http.mjs');
const sep = values.upstream.lastIndexOf(':');
const upstreamHost = values.upstream.slice(0, sep);
const upstreamPort = Number(values.upstream.slice(sep + 1));

const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 4096, maxFreeSockets: 4096, scheduling: 'lifo' });

// RFC 9110 7.6.1 hop-by-hop fields, plus `expect` (the server side already answered 100-continue).
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** Copies a Node headers object without hop-by-hop fields (and those named in Connection). */
function endToEnd(headers) {
  const conn = headers.connection;
  const named = conn ? conn.toLowerCase().split(',').map((s) => s.trim()) : null;
  const out = {};
  for (const k in headers) {
    if (HOP.has(k) || (named !== null && named.includes(k))) continue;
    out[k] = headers[k];
  }
  return out;
}

const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const up = http.request(
    {
      host: upstreamHost,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent,
    },
    (ur) => {
      res.writeHead(ur.statusCode, ur.statusMessage, endToEnd(ur.headers));
      ur.pipe(res);
      ur.on('error', (err) => res.destroy(err));
    },
  );
  up.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream connect error\n');
    } else {
      res.destroy();
    }
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
});
server.on('clientError', (err, socket) => socket.destroy());
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(`listening node-http ${a.address}:${a.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
