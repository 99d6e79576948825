#!/usr/bin/env node
// Opens N HTTP/1.1 keep-alive connections to a target, sends one GET on each, reads the answer and
// then keeps the connection open and idle, for the idle-10k workload (memory per connection).
// At most --concurrency connections are being opened at a time. Bounded: opening stops after
// --open-timeout-ms, and every connection is closed --hold-ms after the last one was opened.
// Prints two JSON lines on stdout:
//   {"phase":"ready","open":n,"failed":n,"openMs":n}   when every connection has been tried
//   {"phase":"done","stillOpen":n,"closedByPeer":n}   after the hold, just before closing them all
// The harness reads the target's memory between the two.
//   node bench/loadgen/idle-conns.mjs --port 8080 [--host 127.0.0.1] [--path /] [--connections 10000]
//        [--concurrency 200] [--open-timeout-ms 60000] [--hold-ms 5000]
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string', default: '/' },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    'open-timeout-ms': { type: 'string', default: '60000' },
    'hold-ms': { type: 'string', default: '5000' },
  },
});
const N = Number(values.connections);
const concurrency = Number(values.concurrency);
const openTimeoutMs = Number(values['open-timeout-ms']);
const holdMs = Number(values['hold-ms']);
if (!values.port || !(N >= 1 && concurrency >= 1 && openTimeoutMs > 0 && holdMs >= 0)) {
  process.stderr.write('idle-conns: bad arguments\n');
  process.exit(2);
}
const REQUEST = Buffer.from(`GET ${values.path} HTTP/1.1\r\nhost: ${values.host}:${values.port}\r\n\r\n`);
const PER_CONNECTION_TIMEOUT_MS = 10_000;

const sockets = [];
let open = 0;
let failed = 0;
let closedByPeer = 0;
let holding = false;

/** One connection: connect, GET, read the whole answer (content-length), then stay idle. */
function openOne() {
  return new Promise((resolve) => {
    const s = net.connect({ host: values.host, port: Number(values.port) });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      s.setTimeout(0);
      if (ok) {
        open++;
        sockets.push(s);
        s.on('close', () => {
          if (!holding || s.destroyedByUs) return;
          closedByPeer++;
        });
      } else {
        failed++;
        s.destroy();
      }
      resolve();
    };
    s.setTimeout(PER_CONNECTION_TIMEOUT_MS, () => finish(false));
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    s.on('connect', () => s.write(REQUEST));
    s.on('data', (d) => {
      if (done) return; // unexpected bytes on an idle connection are ignored
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 200 /.test(head)) return finish(false);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) return finish(false); // the bench backends always send content-length
      if (buf.length - end - 4 >= Number(m[1])) finish(true);
    });
  });
}

const t0 = Date.now();
let next = 0;
async function worker() {
  while (next < N && Date.now() - t0 < openTimeoutMs) {
    next++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, N) }, worker));
holding = true;
process.stdout.write(`${JSON.stringify({ phase: 'ready', open, failed, attempted: next, openMs: Date.now() - t0 })}\n`);
await new Promise((r) => setTimeout(r, holdMs));
const stillOpen = sockets.filter((s) => !s.destroyed).length;
process.stdout.write(`${JSON.stringify({ phase: 'done', stillOpen, closedByPeer })}\n`, () => {
  for (const s of sockets) {
    s.destroyedByUs = true;
    s.destroy();
  }
  process.exit(0);
});
