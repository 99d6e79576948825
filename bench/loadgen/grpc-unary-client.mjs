#!/usr/bin/env node
// A closed-loop gRPC unary load generator on node:http2 (no grpc-js), for workloads where the
// outcome is in grpc-status, which h2load does not read. The harness runs it pinned to the load
// CPU, where h2load runs for the other workloads.
//
// C h2c sessions (prior knowledge) x M streams each: every stream slot sends one call
// (POST, content-type application/grpc, te: trailers, one 9-byte message) and, when the call is
// over, the next one, until --duration has passed; then no new call starts and the calls in
// flight are awaited (at most --grace-ms, after which they are cancelled and counted as errors).
// A connection whose session goes away (GOAWAY, error) is reopened and its slots restarted.
// A call succeeds when :status is 200 and grpc-status is 0, read from the trailers or, for a
// trailers-only response, from the headers. Prints one JSON object on stdout:
//   { durationS, reqPerSec, total, done, succeeded, failed, errored, status: { 2xx, 3xx, 4xx, 5xx },
//     grpcStatus: { "0": n, "14": n, "none": n }, latency: { p50Ms, ... over successful calls },
//     failedLatency: { ... over the other completed calls }, sessionErrors, reconnects }
// `done` counts every call that completed, with or without a response; `failed` = done - succeeded;
// `errored` = calls that ended without a response (reset, session error, cancelled at the end).
//   node bench/loadgen/grpc-unary-client.mjs --url http://127.0.0.1:8080/bench.Bench/Unary
//        [--connections 10] [--streams 10] [--warmup 2] [--duration 8] [--grace-ms 5000]
// --warmup S: the calls of the first S seconds are not counted (same connections, no pause).
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '10' },
    streams: { type: 'string', default: '10' },
    duration: { type: 'string', default: '8' },
    'grace-ms': { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '0' },
  },
});
const die = (msg) => {
  process.stderr.write(`grpc-unary-client: ${msg}\n`);
  process.exit(2);
};
if (!values.url) die('--url is required');
const url = new URL(values.url);
const C = Number(values.connections);
const M = Number(values.streams);
const durationMs = Number(values.duration) * 1000;
const graceMs = Number(values['grace-ms']);
const warmupMs = Number(values.warmup) * 1000;
if (!(C >= 1 && M >= 1 && durationMs > 0 && graceMs >= 0 && warmupMs >= 0))
  die('bad --connections, --streams, --duration, --warmup or --grace-ms');

// One message: flag 0, length 4, protobuf field 1 = "hi" (as h2load's -d file in workloads.mjs).
const MESSAGE = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x68, 0x69]);
const HEADERS = {
  ':method': 'POST',
  ':scheme': 'http',
  ':authority': url.host,
  ':path': url.pathname,
  'content-type': 'application/grpc',
  te: 'trailers',
};

const counts = { total: 0, done: 0, succeeded: 0, errored: 0, sessionErrors: 0, reconnects: 0 };
const status = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
const grpcStatus = {};
const okLatencyUs = [];
const badLatencyUs = [];
let inFlight = 0;
let stopping = false;
let start = 0;
let lastEnd = 0;
let finish;
const allDone = new Promise((r) => (finish = r));

function connect() {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url.origin, { settings: { enablePush: false } });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * One connection and its M stream slots. A slot whose session has gone (GOAWAY, error) parks;
 * the connection reconnects once and restarts the parked slots, so the concurrency stays C x M.
 */
function newConn(session) {
  const conn = { session, parked: 0, reconnecting: false };
  watch(conn);
  return conn;
}
function watch(conn) {
  conn.session.on('error', () => counts.sessionErrors++);
  conn.session.on('goaway', () => counts.sessionErrors++);
}
function park(conn) {
  conn.parked++;
  if (!conn.reconnecting) reconnect(conn);
}
function reconnect(conn) {
  if (stopping) return;
  conn.reconnecting = true;
  connect().then(
    (s) => {
      counts.reconnects++;
      conn.session = s;
      watch(conn);
      conn.reconnecting = false;
      const n = conn.parked;
      conn.parked = 0;
      for (let i = 0; i < n; i++) call(conn);
    },
    () => {
      // The parked slots wait for the next try (or for the end of the run).
      counts.sessionErrors++;
      setTimeout(() => reconnect(conn), 100);
    },
  );
}

function call(conn) {
  if (stopping) return;
  const session = conn.session;
  if (session.closed || session.destroyed) {
    park(conn);
    return;
  }
  let stream;
  try {
    stream = session.request(HEADERS);
  } catch {
    // The session is going away (GOAWAY received, not closed yet): the call never left; the
    // slot waits for a new session.
    park(conn);
    return;
  }
  counts.total++;
  inFlight++;
  const t0 = performance.now();
  let httpStatus;
  let grpc;
  let got = false;
  stream.on('response', (h) => {
    got = true;
    httpStatus = h[':status'];
    if (h['grpc-status'] !== undefined) grpc = h['grpc-status'];
  });
  stream.on('trailers', (t) => {
    if (t['grpc-status'] !== undefined) grpc = t['grpc-status'];
  });
  stream.on('error', () => {});
  stream.on('close', () => {
    const us = (performance.now() - t0) * 1000;
    lastEnd = performance.now();
    inFlight--;
    counts.done++;
    if (!got) counts.errored++;
    else {
      const cls = `${Math.floor(httpStatus / 100)}xx`;
      if (status[cls] !== undefined) status[cls]++;
      const g = grpc ?? 'none';
      grpcStatus[g] = (grpcStatus[g] ?? 0) + 1;
      if (httpStatus === 200 && grpc === '0') {
        counts.succeeded++;
        okLatencyUs.push(us);
      } else badLatencyUs.push(us);
    }
    if (stopping) {
      if (inFlight === 0) finish();
    } else call(conn);
  });
  stream.resume();
  stream.end(MESSAGE);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}
function summary(list) {
  const a = Float64Array.from(list).sort();
  const ms = (x) => (x === undefined ? undefined : x / 1000);
  let sum = 0;
  for (const x of a) sum += x;
  return {
    samples: a.length,
    p50Ms: ms(percentile(a, 50)),
    p90Ms: ms(percentile(a, 90)),
    p99Ms: ms(percentile(a, 99)),
    p999Ms: ms(percentile(a, 99.9)),
    maxMs: ms(a[a.length - 1]),
    meanMs: a.length ? ms(sum / a.length) : undefined,
  };
}

let conns;
try {
  conns = (await Promise.all(Array.from({ length: C }, connect))).map(newConn);
} catch (err) {
  die(`cannot connect to ${url.origin}: ${err.message}`);
}
for (const c of conns) for (let i = 0; i < M; i++) call(c);
if (warmupMs > 0) {
  // Warm-up on the same connections (a separate warm-up run would end with calls cut off):
  // then every count starts again; calls in flight at that moment count in the measured part.
  await new Promise((r) => setTimeout(r, warmupMs));
  for (const k of Object.keys(counts)) counts[k] = 0;
  for (const k of Object.keys(status)) status[k] = 0;
  for (const k of Object.keys(grpcStatus)) delete grpcStatus[k];
  okLatencyUs.length = 0;
  badLatencyUs.length = 0;
}
start = performance.now();
lastEnd = start;

await new Promise((r) => setTimeout(r, durationMs));
stopping = true;
const endIssue = performance.now();
if (inFlight === 0) finish();
const grace = setTimeout(() => {
  // Calls still open after the grace period: cancel them (their 'close' counts them as errors).
  for (const c of conns) c.session.destroy();
  setTimeout(finish, 100);
}, graceMs);
await allDone;
clearTimeout(grace);
const elapsedMs = Math.max(lastEnd, endIssue) - start;
for (const c of conns) c.session.close();
const out = {
  durationS: elapsedMs / 1000,
  reqPerSec: (counts.done * 1000) / elapsedMs,
  total: counts.total,
  done: counts.done,
  succeeded: counts.succeeded,
  failed: counts.done - counts.succeeded,
  errored: counts.errored,
  timeout: 0,
  status,
  grpcStatus,
  latency: summary(okLatencyUs),
  failedLatency: summary(badLatencyUs),
  sessionErrors: counts.sessionErrors,
  reconnects: counts.reconnects,
  connections: C,
  streams: M,
};
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
