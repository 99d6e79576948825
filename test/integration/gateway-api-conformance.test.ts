/**
 * The Gateway API conformance replay (test/conformance, docs/conformance.md) under `npm test`:
 * every test of ../shared/conformance/gateway-api must pass, except the cases listed in
 * test/conformance/expected.ts, which must keep failing. Skipped when the data is absent.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFORMANCE_ROOT, conformanceDataPresent, loadConformanceData } from '../conformance/data.js';
import { replay, type ReplayResult } from '../conformance/replay.js';
import { summary, testLine } from '../conformance/report.js';

const present = conformanceDataPresent();

describe(
  'Gateway API conformance replay',
  { skip: present ? false : `no conformance data at ${CONFORMANCE_ROOT} (the project's shared folder next to the repository)` },
  () => {
    if (!present) return;
    const data = loadConformanceData();
    let result: ReplayResult;
    before(
      async () => {
        result = await replay();
      },
      { timeout: 300_000 },
    );

    for (const test of data.tests)
      it(test.name, () => {
        const r = result.tests.find((t) => t.name === test.name);
        assert.ok(r, `${test.name} was not replayed`);
        const bad = [...r.cases, ...r.status].filter((c) => c.verdict === 'fail' || c.verdict === 'unexpected-pass');
        assert.equal(bad.length, 0, testLine(r));
      });

    it('totals, and the expected-failure list names real cases', (t) => {
      t.diagnostic(
        `${result.cases.passed}/${result.cases.total} cases, ${result.statusChecks.passed}/${result.statusChecks.total} status checks`,
      );
      assert.deepEqual(result.stale, [], summary(result));
      assert.equal(result.unexpected, 0, summary(result));
    });
  },
);
