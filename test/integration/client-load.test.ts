import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { main } from '../../src/cli/main.js';
import { runLoad, UsageError, type LoadSummary } from '../../src/client/index.js';
import { startReflectionServer } from '../helpers/reflection-server.js';
import { capture, selfSignedCert } from '../helpers/capture.js';
import { h1Backend, h2Backend } from '../helpers/backends.js';

const legate = (...args: string[]) => capture(() => main(['node', 'legate', ...args]));

/** An HTTP/1.1 backend that counts requests and in-flight peaks, answering after `delayMs`. */
async function countingBackend(opts: { delayMs?: number; respond?: (n: number) => { status?: number; attempts?: number } } = {}) {
  const state = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const backend = await h1Backend((req, res) => {
    const n = ++state.requests;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    req.resume();
    const answer = () => {
      state.inFlight--;
      const r = opts.respond?.(n) ?? {};
      res.writeHead(r.status ?? 200, r.attempts ? { 'x-envoy-attempt-count': String(r.attempts) } : {});
      res.end('ok');
    };
    if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  });
  return { ...backend, state, url: `http://127.0.0.1:${backend.port}/load` };
}

const grpcFlaky = await startReflectionServer({ failEveryOther: true, attemptCycle: 2 });
const grpcPlain = await startReflectionServer({ reflection: 'none', delayMs: 10 });
after(async () => {
  await grpcFlaky.close();
  await grpcPlain.close();
});

test('-n sends exactly that many requests; status counts and success rate', async () => {
  const b = await countingBackend({ respond: (n) => ({ status: n % 3 === 0 ? 503 : 200 }) });
  try {
    const s = await runLoad({ target: b.url, requests: 57, concurrency: 5 });
    assert.equal(b.state.requests, 57);
    assert.equal(s.requests, 57);
    assert.deepEqual(s.statusCodes, { '200': 38, '503': 19 });
    assert.equal(s.succeeded, 38);
    assert.equal(s.failed, 19);
    assert.equal(s.successRate, 38 / 57);
    assert.equal(s.stoppedBy, 'count');
    assert.equal(s.protocol, 'http1');
    assert.equal(
      s.histogram.reduce((a, h) => a + h.count, 0),
      57,
    );
  } finally {
    await b.close();
  }
});

test('concurrency is respected: the server never sees more than -c requests at once', async () => {
  const b = await countingBackend({ delayMs: 15 });
  try {
    const s = await runLoad({ target: b.url, requests: 40, concurrency: 4 });
    assert.equal(s.requests, 40);
    assert.equal(b.state.maxInFlight, 4);
    // 40 requests of 15 ms, 4 at a time: at least 10 rounds.
    assert.ok(s.elapsedMs >= 140, `elapsed ${s.elapsedMs}`);
    assert.ok(s.latencyMs.p50 >= 14, `p50 ${s.latencyMs.p50}`);
  } finally {
    await b.close();
  }
});

test('--rate spaces request starts (the last of 21 at 50/s starts after 400 ms)', async () => {
  const b = await countingBackend();
  try {
    const s = await runLoad({ target: b.url, requests: 21, concurrency: 5, rate: 50 });
    assert.equal(s.requests, 21);
    assert.equal(s.rate, 50);
    assert.ok(s.elapsedMs >= 390, `elapsed ${s.elapsedMs}`);
    assert.ok(s.elapsedMs < 3000, `elapsed ${s.elapsedMs}`);
  } finally {
    await b.close();
  }
});

test('attempts per request come from x-envoy-attempt-count', async () => {
  const b = await countingBackend({ respond: (n) => ({ attempts: n <= 30 ? 1 + ((n - 1) % 3) : undefined }) });
  try {
    const s = await runLoad({ target: b.url, requests: 33, concurrency: 1 });
    assert.deepEqual(s.attempts, { counts: { '1': 10, '2': 10, '3': 10 }, withoutHeader: 3, retried: 20 });
  } finally {
    await b.close();
  }
});

test('gRPC: status counts and attempts (headers and trailers-only responses) against a backend failing every other call', async () => {
  const s = await runLoad({ target: `127.0.0.1:${grpcFlaky.port}`, grpcMethod: 'FakeService.Handle', requests: 40, concurrency: 4 });
  assert.equal(grpcFlaky.count['Handle'], 40);
  assert.equal(s.protocol, 'grpc');
  assert.equal(s.method, '/FakeService/Handle');
  assert.deepEqual(s.grpcStatus, { OK: 20, UNAVAILABLE: 20 });
  assert.equal(s.successRate, 0.5);
  assert.deepEqual(s.statusCodes, {});
  assert.deepEqual(s.attempts, { counts: { '1': 20, '2': 20 }, withoutHeader: 0, retried: 20 });
});

test('gRPC: the request JSON is encoded through reflection; without reflection an empty request still goes', async () => {
  const cli = await legate(
    'load',
    `127.0.0.1:${grpcFlaky.port}`,
    'FakeService.Handle',
    '-n',
    '4',
    '-d',
    '{"data":"aGVsbG8gd29ybGQ="}',
    '-o',
    'json',
  );
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(grpcFlaky.lastDataBytes, 11);
  const plain = await runLoad({ target: `127.0.0.1:${grpcPlain.port}`, grpcMethod: 'FakeService/Handle', requests: 12, concurrency: 3 });
  assert.deepEqual(plain.grpcStatus, { OK: 12 });
  assert.equal(grpcPlain.maxInFlight, 3);
  await assert.rejects(
    runLoad({ target: `127.0.0.1:${grpcPlain.port}`, grpcMethod: 'FakeService/Handle', requests: 1, body: '{"data":"eA=="}' }),
    /server reflection.*--proto/,
  );
  // With several methods on the server, the method must be named.
  await assert.rejects(runLoad({ target: `127.0.0.1:${grpcFlaky.port}`, requests: 1 }), /name the method.*FakeService\.Handle/);
});

test('HTTP/2: h2c and TLS, attempts from the response headers', async () => {
  let n = 0;
  const onStream = (stream: http2.ServerHttp2Stream) => {
    stream.respond({ ':status': 200, 'x-envoy-attempt-count': String(1 + (n++ % 2)) });
    stream.end('ok');
  };
  const h2c = await h2Backend(onStream);
  const cert = selfSignedCert();
  const secure = http2.createSecureServer({ cert: cert.cert, key: cert.key });
  secure.on('stream', onStream);
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  try {
    const s = await runLoad({ target: `http://127.0.0.1:${h2c.port}/`, http2: true, requests: 30, concurrency: 6 });
    assert.equal(s.protocol, 'http2');
    assert.deepEqual(s.statusCodes, { '200': 30 });
    assert.deepEqual(s.attempts.counts, { '1': 15, '2': 15 });
    n = 0;
    const port = (secure.address() as AddressInfo).port;
    const t = await runLoad({ target: `https://localhost:${port}/`, http2: true, requests: 10, concurrency: 2, tls: { ca: cert.cert } });
    assert.deepEqual(t.statusCodes, { '200': 10 });
    const refused = await runLoad({ target: `https://localhost:${port}/`, http2: true, requests: 2, concurrency: 1 });
    assert.equal(refused.failed, 2);
    assert.equal(Object.keys(refused.errors).length, 1);
  } finally {
    await h2c.close();
    await new Promise<void>((r) => secure.close(() => r()));
    cert.cleanup();
  }
});

test('a duration bounds the run; an abort ends it early', async () => {
  const b = await countingBackend({ delayMs: 5 });
  try {
    const s = await runLoad({ target: b.url, durationMs: 300, concurrency: 2 });
    assert.equal(s.stoppedBy, 'duration');
    assert.ok(s.requests > 5, `requests ${s.requests}`);
    assert.ok(s.elapsedMs >= 300 && s.elapsedMs < 1000, `elapsed ${s.elapsedMs}`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    // Many workers waiting for their turn (rate) all listen to the signal: no listener-leak warning.
    const aborted = await runLoad({ target: b.url, durationMs: 60_000, concurrency: 20, rate: 50, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.equal(aborted.stoppedBy, 'aborted');
    assert.ok(aborted.elapsedMs < 1000, `elapsed ${aborted.elapsedMs}`);
    assert.ok(aborted.requests >= 4 && aborted.requests <= 7, `requests ${aborted.requests}`);
    assert.deepEqual(warnings, []);
  } finally {
    await b.close();
  }
});

test('unbounded or oversized runs are refused before anything is sent', async () => {
  const b = await countingBackend();
  try {
    await assert.rejects(runLoad({ target: b.url }), UsageError);
    await assert.rejects(runLoad({ target: b.url, durationMs: 2 * 3_600_000 }), /duration/);
    await assert.rejects(runLoad({ target: b.url, requests: 1, concurrency: 0 }), /concurrency/);
    const cli = await legate('load', b.url, '-c', '2');
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /needs a bound.*-n.*-d/);
    assert.equal(b.state.requests, 0);
  } finally {
    await b.close();
  }
});

test('CLI: --output json has the summary shape; text has the summary, attempts and histogram, no progress bar off a terminal', async () => {
  const b = await countingBackend({ respond: (n) => ({ status: n % 2 ? 200 : 500, attempts: n % 2 ? 1 : 3 }) });
  try {
    const json = await legate('load', b.url, '-n', '10', '-c', '2', '-H', 'x-test: 1', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout) as LoadSummary;
    assert.deepEqual(Object.keys(s).sort(), [
      'attempts',
      'concurrency',
      'elapsedMs',
      'errors',
      'failed',
      'grpcStatus',
      'histogram',
      'latencyMs',
      'method',
      'protocol',
      'requests',
      'statusCodes',
      'stoppedBy',
      'succeeded',
      'successRate',
      'target',
      'throughput',
    ]);
    assert.equal(s.requests, 10);
    assert.deepEqual(s.statusCodes, { '200': 5, '500': 5 });
    assert.deepEqual(s.attempts, { counts: { '1': 5, '3': 5 }, withoutHeader: 0, retried: 5 });
    assert.deepEqual(Object.keys(s.latencyMs), ['min', 'mean', 'p50', 'p90', 'p99', 'max']);
    assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p50 <= s.latencyMs.p99 && s.latencyMs.p99 <= s.latencyMs.max);

    const text = await legate('load', b.url, '-d', '200ms', '-c', '1', '--rate', '20');
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, /\r/);
    assert.match(text.stdout, /success rate +50\.00% \(\d+ ok, \d+ failed\)/);
    assert.match(text.stdout, /status +200 x\d+, 500 x\d+/);
    assert.match(text.stdout, /latency +p50 [\d.]+ms +p90 [\d.]+ms +p99 [\d.]+ms +max [\d.]+ms/);
    assert.match(
      text.stdout,
      /Attempts per request \(x-envoy-attempt-count; \d+ of \d+ retried\):\n +1 +\d+ +50\.0% +■+\n +3 +\d+ +50\.0% +■+/,
    );
    assert.match(text.stdout, /Latency histogram:\n( +<= [\d.]+m?s +\d+ +■*\n)+/);
  } finally {
    await b.close();
  }
});
