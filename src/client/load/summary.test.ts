import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, type LoadSummary } from './summary.js';
import { progressBar } from './progress.js';

const summary: LoadSummary = {
  target: '127.0.0.1:8080',
  protocol: 'grpc',
  method: '/FakeService/Handle',
  concurrency: 10,
  requests: 1000,
  succeeded: 990,
  failed: 10,
  successRate: 0.99,
  elapsedMs: 2000,
  throughput: 500,
  stoppedBy: 'count',
  statusCodes: {},
  grpcStatus: { OK: 990, UNAVAILABLE: 10 },
  errors: {},
  attempts: { counts: { '1': 500, '2': 250, '3': 240, '10': 10 }, withoutHeader: 0, retried: 500 },
  latencyMs: { min: 0.5, mean: 30, p50: 1.25, p90: 101, p99: 250.5, max: 1234 },
  histogram: [
    { upToMs: 1, count: 600 },
    { upToMs: 1234, count: 400 },
  ],
};

test('the text summary: totals, statuses, attempts distribution in attempt order, latency and histogram', () => {
  const text = formatSummary(summary);
  assert.match(text, /^grpc \/FakeService\/Handle 127\.0\.0\.1:8080\n/);
  assert.match(text, /requests +1000 in 2\.00s \(500\.0\/s\), concurrency 10\n/);
  assert.match(text, /success rate +99\.00% \(990 ok, 10 failed\)\n/);
  assert.match(text, /grpc status +OK x990, UNAVAILABLE x10\n/);
  assert.match(text, /latency +p50 1\.25ms +p90 101ms +p99 251ms +max 1\.23s/);
  assert.match(text, /500 of 1000 retried/);
  const rows = text.split('\n').filter((l) => /^ +\d+ +\d+ +[\d.]+% /.test(l));
  assert.deepEqual(
    rows.map((r) => r.trim().split(/ +/).slice(0, 3)),
    [
      ['1', '500', '50.0%'],
      ['2', '250', '25.0%'],
      ['3', '240', '24.0%'],
      ['10', '10', '1.0%'],
    ],
  );
  assert.equal(rows[0]!.match(/■/g)!.length, 40);
  assert.match(text, /<= +1\.00ms +600 +■{40}\n +<= +1\.23s +400 +■{27}\n/);
});

test('without the attempt header the summary says where it comes from', () => {
  const text = formatSummary({ ...summary, attempts: { counts: {}, withoutHeader: 1000, retried: 0 } });
  assert.match(text, /no response carried x-envoy-attempt-count/);
});

test('the progress bar redraws one line with the share done', () => {
  const out: string[] = [];
  const bar = progressBar((s) => out.push(s), 80);
  bar.update({ completed: 250, requests: 1000, elapsedMs: 1000, durationMs: 600_000 });
  assert.match(out[0]!, /^\r\[#+\.+\]  25%  250\/1000  1\.0s  250\/s\x1b\[K$/);
  bar.update({ completed: 5, elapsedMs: 5000, durationMs: 10_000 });
  assert.match(out[1]!, / 50%  5  5\.0s/);
  bar.clear();
  assert.equal(out[2], '\r\x1b[K');
});
