import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { ManualClock } from '../../src/common/clock.js';
import { seededRandom } from '../../src/common/random.js';
import { outlierDetectionDefaults } from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

// Three hosts; the "bad" one answers 503 while `failing` is set.
let failing = true;
const hits = new Map<string, number>();
const mk = (name: string, bad: boolean) =>
  h1Backend((_req, res) => {
    hits.set(name, (hits.get(name) ?? 0) + 1);
    res.writeHead(bad && failing ? 503 : 200);
    res.end(name);
  });
const [a, b, c] = await Promise.all([mk('a', true), mk('b', false), mk('c', false)]);
const clock = new ManualClock();
const od = { ...outlierDetectionDefaults(), maxEjectionPercent: 50 };
const proxy = await Proxy.start(
  config(
    [route('all', { timeout: { requestMs: 0, origin: {} } })],
    [cluster('backend', [a.port, b.port, c.port], { outlierDetection: od })],
  ),
  { clock, random: seededRandom(7) },
);
const port = proxy.port('main');
after(async () => {
  await proxy.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

async function send(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await h1Request(port, { path: '/' })).body.toString());
  return out;
}

test('5 consecutive 5xx eject the host; traffic moves; it returns after 30 s; the second ejection lasts 60 s', async () => {
  const detector = proxy.cluster('backend')!.outlierDetector!;
  // Round robin over 3 hosts: 15 requests give host a its 5 consecutive 503s.
  await send(15);
  assert.equal(detector.stats.ejections_enforced_consecutive_5xx, 1);
  assert.equal(detector.stats.ejections_active, 1);
  const hostA = proxy.cluster('backend')!.hosts.find((h) => h.port === a.port)!;
  assert.equal(hostA.healthFlags, '/failed_outlier_check');
  hits.clear();
  const bodies = await send(30);
  assert.ok(!bodies.includes('a'), 'no traffic to the ejected host');

  // Ticks every 10 s: back at the first tick at or after 30 s.
  clock.advance(20_000);
  assert.equal(detector.stats.ejections_active, 1, 'still ejected at 20 s');
  clock.advance(10_000);
  assert.equal(detector.stats.ejections_active, 0, 'back at 30 s');
  hits.clear();
  await send(9);
  assert.ok((hits.get('a') ?? 0) > 0, 'host a gets traffic again');

  // Still failing: ejected again, now for 60 s.
  await send(15);
  assert.equal(detector.stats.ejections_enforced_total, 2);
  clock.advance(50_000);
  assert.equal(detector.stats.ejections_active, 1, 'second ejection outlasts 50 s');
  clock.advance(10_000);
  assert.equal(detector.stats.ejections_active, 0, 'and ends at 60 s');
  failing = false;
});
