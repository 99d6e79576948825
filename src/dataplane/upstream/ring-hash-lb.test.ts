import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../common/random.js';
import type { Host } from './host.js';
import { testHosts } from '../../../test/helpers/hosts.js';
import { RingHashLb } from './ring-hash-lb.js';
import { hashString } from './hash.js';

const keys = (n: number, seed = 1): number[] => {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => r.uint32());
};

function shares(pick: (k: number) => Host | undefined, hs: Host[], ks: number[]): number[] {
  const c = new Map<Host, number>();
  for (const k of ks) {
    const h = pick(k)!;
    c.set(h, (c.get(h) ?? 0) + 1);
  }
  return hs.map((h) => (c.get(h) ?? 0) / ks.length);
}

test('ring size follows Envoy: lightest host gets whole points, clamped to [minimum, maximum]', () => {
  // 4 equal hosts: 1024 / 4 = 256 points each.
  assert.deepEqual(new RingHashLb(testHosts(4), seededRandom(1)).pointsPerHost(), [256, 256, 256, 256]);
  // 1:2:3 -> lightest normalised weight 1/6, ceil(1024 / 6) = 171 points, scale 171 * 6 = 1026.
  const lb = new RingHashLb(testHosts(3, { weights: [1, 2, 3] }), seededRandom(1));
  assert.equal(lb.size, 1026);
  assert.deepEqual(lb.pointsPerHost(), [171, 342, 513]);
  // Many hosts: at least one point per unit of the lightest weight even above the minimum size.
  assert.equal(new RingHashLb(testHosts(2000), seededRandom(1)).size, 2000);
  // The maximum caps the ring; the lightest host may then get a fraction of a point (rounded by
  // the running sums).
  const capped = new RingHashLb(testHosts(2, { weights: [1, 100_000] }), seededRandom(1), { maximumRingSize: 4096 });
  assert.equal(capped.size, 4096);
  assert.deepEqual(new RingHashLb(testHosts(2, { weights: [1, 100_000] }), seededRandom(1)).pointsPerHost(), [1, 100_000]);
  assert.throws(() => new RingHashLb(testHosts(2), seededRandom(1), { minimumRingSize: 10, maximumRingSize: 5 }), RangeError);
  assert.throws(() => new RingHashLb(testHosts(2), seededRandom(1), { maximumRingSize: 2 ** 24 }), RangeError);
});

test('no hosts: no choice', () => {
  const lb = new RingHashLb([], seededRandom(1));
  assert.equal(lb.choose(), undefined);
  assert.equal(lb.chooseFor(42, 1), undefined);
});

test('sticky: the same key always maps to the same host', () => {
  const hs = testHosts(5);
  const lb = new RingHashLb(hs, seededRandom(1));
  const probe = keys(50, 9);
  const first = probe.map((k) => lb.chooseFor(k));
  const noise = keys(10_000, 3);
  for (let i = 0; i < 10_000; i++) {
    lb.chooseFor(noise[i]!, i % 3); // interleaved lookups and retries must not disturb anything
    const j = i % probe.length;
    assert.equal(lb.chooseFor(probe[j]!), first[j]);
  }
  // Keys outside the uint32 range are taken modulo 2^32.
  assert.equal(lb.chooseFor(probe[0]! + 2 ** 32), first[0]);
});

test('lookup is the first point with hash >= key, wrapping past the last point', () => {
  // A ring of one point per host (minimum size 3), whose point hashes the test can compute.
  const hs = testHosts(3);
  const lb = new RingHashLb(hs, seededRandom(1), { minimumRingSize: 3 });
  assert.equal(lb.size, 3);
  const points = hs.map((h) => ({ h, p: hashString(`${h.key}_0`) })).sort((a, b) => a.p - b.p);
  for (let i = 0; i < 3; i++) {
    const { h, p } = points[i]!;
    const prev = i === 0 ? -1 : points[i - 1]!.p;
    assert.equal(lb.chooseFor(p), h, 'a key equal to a point maps to it');
    assert.equal(lb.chooseFor(prev + 1), h, 'the point owns every key just past the previous point');
    assert.equal(lb.chooseFor(p + 1), points[(i + 1) % 3]!.h, 'past the point, the next point');
  }
  assert.equal(lb.chooseFor(0), points[0]!.h);
  assert.equal(lb.chooseFor(0xffffffff), points[0]!.h, 'beyond the last point wraps to the first');
});

test('distribution follows weights 1:2:3 over 100k random keys', () => {
  const hs = testHosts(3, { weights: [1, 2, 3] });
  const ks = keys(100_000);
  // Default ring (1026 points): arcs are uneven around each point; within 2 points of share.
  const lb = new RingHashLb(hs, seededRandom(1));
  const s = shares((k) => lb.chooseFor(k), hs, ks);
  [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => assert.ok(Math.abs(s[i]! - want) < 0.02, `default ring share ${i}: ${s[i]}`));
  // A bigger ring evens the arcs out.
  const big = new RingHashLb(hs, seededRandom(1), { minimumRingSize: 65_536 });
  const sb = shares((k) => big.chooseFor(k), hs, ks);
  [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => assert.ok(Math.abs(sb[i]! - want) < 0.006, `big ring share ${i}: ${sb[i]}`));
  // No key: random keys, with the same spread.
  const rnd = new RingHashLb(hs, seededRandom(5));
  const sr = shares(() => rnd.choose(), hs, ks);
  [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => assert.ok(Math.abs(sr[i]! - want) < 0.02, `random share ${i}: ${sr[i]}`));
});

test('removing a host moves its keys and little else', () => {
  const ks = keys(100_000);
  function remap(n: number, removed: number): { kept: number; changed: number } {
    const hs = testHosts(n);
    const before = new RingHashLb(hs, seededRandom(1));
    const after = new RingHashLb(
      hs.filter((_, i) => i !== removed),
      seededRandom(1),
    );
    let others = 0;
    let kept = 0;
    for (const k of ks) {
      const h = before.chooseFor(k)!;
      if (h === hs[removed]) continue;
      others++;
      if (after.chooseFor(k) === h) kept++;
    }
    return { kept: kept / others, changed: 1 - kept / ks.length };
  }
  // 100 -> 99 hosts: every host keeps its 11 points, so only the removed host's keys move.
  for (const r of [0, 50, 99]) assert.equal(remap(100, r).kept, 1);
  // 20 -> 19 hosts: 52 -> 54 points per host (the ring stays >= 1024); keys move only to the
  // 2 new points per host, ~4% of the ring.
  for (const r of [0, 10, 19]) assert.ok(remap(20, r).kept >= 0.95, `20 hosts, removed ${r}: ${remap(20, r).kept}`);
  // 10 -> 9 hosts: 103 -> 114 points per host; the new points take ~10% of the ring, which is
  // Envoy's behaviour for small host counts, not a loss of consistency.
  for (const r of [0, 5, 9]) {
    const { kept, changed } = remap(10, r);
    assert.ok(kept >= 0.88, `10 hosts, removed ${r}: kept ${kept}`);
    assert.ok(changed < 0.1 + 0.1, `10 hosts, removed ${r}: changed ${changed}`);
  }
});

test('retries walk forward to hosts not yet tried', () => {
  const hs = testHosts(4);
  const lb = new RingHashLb(hs, seededRandom(1));
  const retryTargets = new Map<Host, Set<Host>>();
  for (const k of keys(10_000, 7)) {
    const tried: Host[] = [0, 1, 2, 3].map((a) => lb.chooseFor(k, a)!);
    const [first, second] = tried as [Host, Host, Host, Host];
    assert.equal(new Set(tried).size, 4, 'four attempts reach four different hosts');
    assert.equal(lb.chooseFor(k, 4), first, 'then they cycle');
    assert.equal(lb.chooseFor(k, 5), second);
    assert.equal(lb.chooseFor(k, 1), second, 'retries are deterministic for a key');
    const s = retryTargets.get(first) ?? new Set<Host>();
    s.add(second);
    retryTargets.set(first, s);
  }
  // A host's retries spread over the other hosts rather than all landing on one neighbour.
  for (const [h, s] of retryTargets) assert.equal(s.size, 3, `retries from ${h.key}`);
  // A single host has nowhere else to go.
  const one = new RingHashLb(testHosts(1), seededRandom(1));
  assert.equal(one.chooseFor(123, 2), one.chooseFor(123));
});

test('retries on a ring dominated by one host stay bounded', () => {
  // 100,001 points, one of them host 0's: finding it may take more than MAX_RETRY_PROBES steps,
  // and then the retry takes Envoy's entry (the next one) rather than scanning the ring.
  const hs = testHosts(2, { weights: [1, 100_000] });
  const lb = new RingHashLb(hs, seededRandom(1));
  const started = performance.now();
  let reachedLight = 0;
  for (const k of keys(1000, 5)) {
    const primary = lb.chooseFor(k);
    const retry = lb.chooseFor(k, 1)!;
    assert.ok(hs.includes(retry));
    if (primary === hs[1] && retry === hs[0]) reachedLight++;
  }
  assert.ok(performance.now() - started < 2000);
  // About MAX_RETRY_PROBES / ring size (~4%) of the heavy host's keys are near enough.
  assert.ok(reachedLight > 0 && reachedLight < 150, `retries reaching the light host: ${reachedLight}`);
});

test('deterministic across builds (fresh host objects, different random sources)', () => {
  const ks = keys(10_000, 11);
  const a = new RingHashLb(testHosts(7, { weights: [1, 2, 3, 1, 5, 1, 2] }), seededRandom(1));
  const b = new RingHashLb(testHosts(7, { weights: [1, 2, 3, 1, 5, 1, 2] }), seededRandom(99));
  for (const k of ks) {
    assert.equal(a.chooseFor(k)!.key, b.chooseFor(k)!.key);
    assert.equal(a.chooseFor(k, 2)!.key, b.chooseFor(k, 2)!.key);
  }
});

test('hosts can be hashed by another key (e.g. hostname, Envoy use_hostname_for_hashing)', () => {
  const hs = testHosts(3);
  const names = new Map(hs.map((h, i) => [h, `backend-${i}.example`]));
  const byName = new RingHashLb(hs, seededRandom(1), { hostKey: (h) => names.get(h)! });
  // Same names on other addresses: same mapping by position.
  const moved = testHosts(3, { base: 7000 });
  const names2 = new Map(moved.map((h, i) => [h, `backend-${i}.example`]));
  const byName2 = new RingHashLb(moved, seededRandom(1), { hostKey: (h) => names2.get(h)! });
  for (const k of keys(1000)) assert.equal(hs.indexOf(byName.chooseFor(k)!), moved.indexOf(byName2.chooseFor(k)!));
});
