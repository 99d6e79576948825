import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectedFailure, staleExpectations, verdictOf, type Expectation } from './expected.js';

// The expected-failure list has to stay true: listed cases that pass and entries that name
// nothing are both reported.

const list: Record<string, Expectation> = {
  Whole: { feature: 'F', reason: 'not implemented' },
  Some: { feature: 'G', reason: 'partly', cases: ['b'] },
};
const data = [
  { name: 'Whole', cases: [{ name: 'x' }] },
  { name: 'Some', cases: [{ name: 'a' }, { name: 'b' }] },
];

describe('expected failures', () => {
  it('a listed test covers every case, a listed case only itself', () => {
    assert.equal(expectedFailure('Whole', 'x', list)?.feature, 'F');
    assert.equal(expectedFailure('Some', 'b', list)?.feature, 'G');
    assert.equal(expectedFailure('Some', 'a', list), undefined);
    assert.equal(expectedFailure('Other', 'a', list), undefined);
  });

  it('verdicts: a listed case that passes is as unexpected as an unlisted one that fails', () => {
    assert.deepEqual(
      [verdictOf(false, true), verdictOf(false, false), verdictOf(true, false), verdictOf(true, true)],
      ['pass', 'fail', 'expected-fail', 'unexpected-pass'],
    );
  });

  it('entries naming a test or case the data does not have are reported', () => {
    assert.deepEqual(staleExpectations(data, list), []);
    assert.deepEqual(
      staleExpectations(data, { ...list, Gone: { feature: 'H', reason: 'r' }, Some: { feature: 'G', reason: 'r', cases: ['z'] } }),
      ['expected.ts lists case "z" of Some, which does not exist', 'expected.ts lists test Gone, which the conformance data does not have'],
    );
  });
});
