#!/usr/bin/env node
// Reference peer: a minimal HTTP/1.1 reverse proxy with node:http downstream and undici 7 upstream.
// Pool.dispatch() with an undici 7 handler object (onRequestStart / onResponseStart /
// onResponseData / onResponseEnd / onResponseError) that writes straight to the ServerResponse,
// pausing the upstream through the controller when the downstream socket is full.
//   node bench/peers/node-undici.mjs --upstream 127.0.0.1:8080 --port 10000
import http from 'node:http';
import { Pool } from 'undici'; // resolved from the legate checkout's node_modules (undici 7)
import { peerArgs } from './args.mjs';

const values = peerArgs('node-undici.mjs');

const pool = new Pool(`http://${values.upstream}`, {
  connections: 4096,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
});

// RFC 9110 7.6.1 hop-by-hop fields, plus `expect` (undici refuses it; the server side already
// answered 100-continue).
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

function endToEnd(headers) {
  const conn = headers.connection;
  const named = conn ? String(conn).toLowerCase().split(',').map((s) => s.trim()) : null;
  const out = {};
  for (const k in headers) {
    if (HOP.has(k) || (named !== null && named.includes(k))) continue;
    out[k] = headers[k];
  }
  return out;
}

class ResponseWriter {
  #res;
  #controller = null;
  #onDrain = () => this.#controller?.resume();

  constructor(res) {
    this.#res = res;
    res.on('drain', this.#onDrain);
    res.on('close', () => {
      if (!res.writableFinished) this.#controller?.abort(new Error('downstream closed'));
    });
  }

  onRequestStart(controller) {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('downstream closed'));
  }

  onResponseStart(controller, statusCode, headers, statusMessage) {
    if (statusCode < 200) return; // informational; the final response follows
    this.#res.writeHead(statusCode, statusMessage || undefined, endToEnd(headers));
  }

  onResponseData(controller, chunk) {
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd() {
    this.#res.end();
  }

  onResponseError(controller, err) {
    const res = this.#res;
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`upstream error: ${err.code ?? err.message}\n`);
    } else {
      res.destroy();
    }
  }
}

const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  const hasBody = te !== undefined || (cl !== undefined && cl !== '0');
  pool.dispatch(
    { path: req.url, method: req.method, headers: endToEnd(req.headers), body: hasBody ? req : null },
    new ResponseWriter(res),
  );
});
server.on('clientError', (err, socket) => socket.destroy());
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(`listening node-undici ${a.address}:${a.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
