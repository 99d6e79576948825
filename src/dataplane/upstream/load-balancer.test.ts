import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../common/random.js';
import type { Host } from './host.js';
import { testHosts } from '../../../test/helpers/hosts.js';
import { createLoadBalancer } from './load-balancer.js';

const hosts = (weights: number[]) => testHosts(weights.length, { weights });

function counts(lb: { choose(): Host | undefined }, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = lb.choose()!;
    m.set(h.key, (m.get(h.key) ?? 0) + 1);
  }
  return m;
}

test('round robin over equal weights rotates exactly, from a random start', () => {
  const hs = hosts([1, 1, 1]);
  const lb = createLoadBalancer('round_robin', hs, seededRandom(7));
  const seq = Array.from({ length: 6 }, () => lb.choose()!.port);
  assert.deepEqual(seq.slice(3), seq.slice(0, 3));
  assert.equal(new Set(seq.slice(0, 3)).size, 3);
  const starts = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => createLoadBalancer('round_robin', hs, seededRandom(s)).choose()!.port));
  assert.ok(starts.size > 1, 'different seeds start on different hosts');
});

test('weighted round robin 1:2:3 over 600 picks gives 100/200/300', () => {
  const hs = hosts([1, 2, 3]);
  const c = counts(createLoadBalancer('round_robin', hs, seededRandom(1)), 600);
  assert.deepEqual(
    hs.map((h) => c.get(h.key)),
    [100, 200, 300],
  );
});

test('least request (P2C) avoids a busy host: picked about (1/3)^2 of the time', () => {
  const hs = hosts([1, 1, 1]);
  hs[0]!.stats.rq_active = 10;
  const c = counts(createLoadBalancer('least_request', hs, seededRandom(3)), 30_000);
  const share = (c.get(hs[0]!.key) ?? 0) / 30_000;
  assert.ok(Math.abs(share - 1 / 9) < 0.01, `busy host share ${share}`);
});

test('least request with unequal weights follows weight / (active + 1)', () => {
  const hs = hosts([1, 3]);
  const c = counts(createLoadBalancer('least_request', hs, seededRandom(5)), 4000);
  assert.ok(Math.abs(c.get(hs[1]!.key)! / 4000 - 0.75) < 0.02);
  hs[1]!.stats.rq_active = 5; // effective weight 3/6 = 0.5 against 1/1
  const c2 = counts(createLoadBalancer('least_request', hs, seededRandom(5)), 3000);
  assert.ok(Math.abs(c2.get(hs[1]!.key)! / 3000 - 1 / 3) < 0.02);
});

test('random ignores host weights and spreads uniformly', () => {
  const hs = hosts([1, 100]);
  const c = counts(createLoadBalancer('random', hs, seededRandom(11)), 20_000);
  assert.ok(Math.abs(c.get(hs[0]!.key)! / 20_000 - 0.5) < 0.02);
});

test('no hosts: no choice (the request gets "no healthy upstream")', () => {
  assert.equal(createLoadBalancer('round_robin', [], seededRandom(1)).choose(), undefined);
});
