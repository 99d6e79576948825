#!/usr/bin/env node
// Fallback HTTP/1.1 backend when nginx is not available: a small fixed 200 body for any request.
// With --fail-ratio R (0..1), a fraction R of the requests, drawn independently per request from
// a small seeded PRNG, gets 503 with the body "unavailable\n" instead (the connection stays open).
// GET /1m answers 1 MiB (as nginx does for http1-download-1m); a request body is read and dropped.
// --stats-port P: GET http://127.0.0.1:P/stats answers {"accepts": n} (see stats.mjs).
//   node bench/backends/http-fixed.mjs --port 8080 [--host 127.0.0.1] [--fail-ratio 0.5] [--seed N] [--stats-port P]
import http from 'node:http';
import { parseArgs } from 'node:util';
import { DOWNLOAD_PATH, largeBody } from '../lib/payloads.mjs';
import { serveStats } from './stats.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'fail-ratio': { type: 'string', default: '0' },
    seed: { type: 'string' },
    'stats-port': { type: 'string' },
  },
});
const failRatio = Number(values['fail-ratio']);
if (!(failRatio >= 0 && failRatio <= 1)) {
  process.stderr.write(`http-fixed: --fail-ratio must be in [0, 1], got ${values['fail-ratio']}\n`);
  process.exit(2);
}

// xorshift32, as in grpc-unary.mjs.
let state = Number(values.seed ?? Date.now()) >>> 0 || 0x9e3779b9;
const threshold = Math.floor(failRatio * 2 ** 32);
function fails() {
  if (threshold === 0) return false;
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state < threshold;
}

const body = Buffer.from('hello from bench\n');
const failBody = Buffer.from('unavailable\n');
const large = largeBody();
const server = http.createServer({ keepAliveTimeout: 300_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    const [status, b] = fails() ? [503, failBody] : [200, req.url === DOWNLOAD_PATH ? large : body];
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': b.length });
    res.end(b);
  });
});
server.maxRequestsPerSocket = 0;
if (values['stats-port']) serveStats(server, Number(values['stats-port']), values.host);
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(`listening http-fixed ${a.address}:${a.port}${failRatio ? ` (failing ${failRatio * 100}% with 503)` : ''}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
