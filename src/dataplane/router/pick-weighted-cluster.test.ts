import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, type Random } from '../../common/random.js';
import { compileWeightedPicker, pickWeightedCluster } from './pick-weighted-cluster.js';

/** A Random that returns the given values in turn. */
function fixed(...values: number[]): Random & { calls: number } {
  let i = 0;
  const r = {
    calls: 0,
    next: () => {
      r.calls++;
      return values[i++ % values.length]!;
    },
    uint32: () => 0,
  };
  return r;
}

describe('compileWeightedPicker', () => {
  const clusters = [
    { name: 'a', weight: 1 },
    { name: 'zero', weight: 0 },
    { name: 'b', weight: 2 },
    { name: 'c', weight: 1 },
  ];
  const picker = compileWeightedPicker(clusters);

  it('maps the draw onto cumulative weights [0,1) a, [1,3) b, [3,4) c', () => {
    const cases: [draw: number, expected: string][] = [
      [0, 'a'],
      [0.2499, 'a'],
      [0.25, 'b'],
      [0.7499, 'b'],
      [0.75, 'c'],
      [0.999999, 'c'],
    ];
    for (const [draw, expected] of cases) assert.equal(picker.pick(fixed(draw))!.name, expected, `draw ${draw}`);
  });

  it('never picks a weight-0 cluster, even at its boundary', () => {
    // 0.25 * 4 = 1 is exactly where `zero` would start and end.
    assert.equal(picker.pick(fixed(0.25))!.name, 'b');
    const random = seededRandom(1);
    for (let i = 0; i < 10_000; i++) assert.notEqual(picker.pick(random)!.name, 'zero');
  });

  it('clamps a draw that rounds up to the total', () => {
    assert.equal(picker.pick(fixed(1))!.name, 'c');
  });

  it('follows the weights', () => {
    const random = seededRandom(42);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const n = 40_000;
    for (let i = 0; i < n; i++) counts[picker.pick(random)!.name]!++;
    assert.ok(Math.abs(counts.a! / n - 0.25) < 0.015, JSON.stringify(counts));
    assert.ok(Math.abs(counts.b! / n - 0.5) < 0.015, JSON.stringify(counts));
    assert.ok(Math.abs(counts.c! / n - 0.25) < 0.015, JSON.stringify(counts));
  });

  it('exposes the positive-weight items and the total', () => {
    assert.deepEqual(
      picker.items.map((c) => c.name),
      ['a', 'b', 'c'],
    );
    assert.equal(picker.total, 4);
  });

  it('a single candidate is returned without a draw', () => {
    const r = fixed(0.5);
    const one = compileWeightedPicker([{ weight: 0 }, { weight: 5 }]);
    assert.equal(one.pick(r), one.items[0]);
    assert.equal(r.calls, 0);
  });

  it('nothing to pick when every weight is 0 or invalid', () => {
    for (const weights of [[], [0], [0, 0], [-1, Number.NaN]]) {
      const p = compileWeightedPicker(weights.map((weight) => ({ weight })));
      assert.equal(p.pick(fixed(0.5)), undefined);
      assert.equal(p.total, 0);
    }
  });

  it('binary search agrees with a linear scan on many clusters', () => {
    const many = Array.from({ length: 37 }, (_, i) => ({ i, weight: i % 5 }));
    const p = compileWeightedPicker(many);
    const total = many.reduce((s, c) => s + c.weight, 0);
    for (let k = 0; k < 500; k++) {
      const draw = k / 500;
      const r = draw * total;
      let acc = 0;
      let expected: number | undefined;
      for (const c of many) {
        acc += c.weight;
        if (r < acc) {
          expected = c.i;
          break;
        }
      }
      assert.equal(p.pick(fixed(draw))!.i, expected, `draw ${draw}`);
    }
  });
});

describe('pickWeightedCluster', () => {
  it('picks without a compiled picker', () => {
    assert.equal(
      pickWeightedCluster(
        [
          { n: 1, weight: 1 },
          { n: 2, weight: 1 },
        ],
        fixed(0.6),
      )!.n,
      2,
    );
  });
});
