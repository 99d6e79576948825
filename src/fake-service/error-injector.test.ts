import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../common/clock.js';
import { ErrorInjector, goFloatToInt, TokenBucket } from './error-injector.js';
import { Logger } from './hclog.js';
import { GoPanic } from './response.js';

const quiet = () => new Logger({ level: 'off', json: false, sink: () => {}, nowMicros: () => 0 });
const opts = { errorRate: 0, errorCode: 500, errorType: 'http_error', errorDelayNs: 0, rateLimitRPS: 0, rateLimitCode: 503 };
const noSleep = async () => {};

async function pattern(rate: number, n: number): Promise<string> {
  const inj = new ErrorInjector({ ...opts, errorRate: rate }, quiet(), new ManualClock());
  let out = '';
  for (let i = 0; i < n; i++) out += (await inj.do(noSleep)) ? 'E' : '.';
  return out;
}

test('every-Nth-request: int(1/ERROR_RATE) truncates', async () => {
  assert.equal(await pattern(0.5, 6), '.E.E.E');
  assert.equal(await pattern(0.1, 20), '.........E.........E');
  assert.equal(await pattern(0.2, 10), '....E....E');
  assert.equal(await pattern(0.3, 6), '..E..E');
  assert.equal(await pattern(0.4, 4), '.E.E');
  assert.equal(await pattern(0.75, 3), 'EEE');
  assert.equal(await pattern(1, 3), 'EEE');
  assert.equal(await pattern(0, 5), '.....');
  await assert.rejects(pattern(1.5, 1), (e: unknown) => e instanceof GoPanic && e.message === 'runtime error: integer divide by zero');
});

test('Go float-to-int conversion on amd64', () => {
  assert.equal(goFloatToInt(Infinity), -9223372036854775808n);
  assert.equal(goFloatToInt(NaN), -9223372036854775808n);
  assert.equal(goFloatToInt(3.99), 3n);
  assert.equal(goFloatToInt(-2.5), -2n);
});

test('a delay error sleeps ERROR_DELAY and returns the delay text with ERROR_CODE', async () => {
  const inj = new ErrorInjector(
    { ...opts, errorRate: 1, errorType: 'delay', errorDelayNs: 2e9, errorCode: 504 },
    quiet(),
    new ManualClock(),
  );
  const slept: number[] = [];
  const r = await inj.do(async (ns) => void slept.push(ns));
  assert.deepEqual(r, { code: 504, error: 'Service delay automatically injected' });
  assert.deepEqual(slept, [2e9]);
});

test('rate limiting is checked first and counts the request', async () => {
  const clock = new ManualClock();
  const inj = new ErrorInjector({ ...opts, rateLimitRPS: 1, errorRate: 0.5 }, quiet(), clock);
  assert.equal(await inj.do(noSleep), undefined);
  assert.deepEqual(await inj.do(noSleep), { code: 503, error: 'Service exceeded rate limit' });
  clock.advance(1000);
  // Request 3: allowed by the limiter, not an even request.
  assert.equal(await inj.do(noSleep), undefined);
  assert.equal(inj.requestCount, 3);
});

test('the token bucket starts full, refills continuously and never exceeds its burst', () => {
  const clock = new ManualClock();
  const b = new TokenBucket(10, 3, clock);
  assert.deepEqual([b.allow(), b.allow(), b.allow(), b.allow()], [true, true, true, false]);
  clock.advance(100);
  assert.deepEqual([b.allow(), b.allow()], [true, false]);
  clock.advance(10_000);
  assert.deepEqual([b.allow(), b.allow(), b.allow(), b.allow()], [true, true, true, false]);
  const zero = new TokenBucket(0.5, 0, clock);
  clock.advance(10_000);
  assert.equal(zero.allow(), false);
});
