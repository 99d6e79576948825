/** The replay's text report: one line per test, details of what did not pass, the totals. */
import type { ReplayResult, TestResult } from './replay.js';

export function testLine(t: TestResult, verbose = false): string {
  const passed = t.cases.filter((c) => c.verdict === 'pass').length;
  const xfail = t.cases.filter((c) => c.verdict === 'expected-fail').length;
  const bad = [...t.cases, ...t.status].filter((c) => c.verdict === 'fail' || c.verdict === 'unexpected-pass').length;
  const statusOk = t.status.filter((s) => s.verdict === 'pass').length;
  const label = bad > 0 ? 'FAIL' : xfail > 0 ? (passed > 0 ? 'PART' : 'SKIP') : 'PASS';
  const counts = `${passed}/${t.cases.length} cases, ${statusOk}/${t.status.length} status checks, ${t.ms} ms`;
  const lines = [`${label}  ${t.name} (${counts})`];
  const reasons = new Set(t.cases.filter((c) => c.verdict === 'expected-fail').map((c) => c.reason));
  for (const r of reasons) lines.push(`        skipped: ${r}`);
  for (const c of t.cases) {
    if (c.verdict === 'fail') lines.push(`        FAIL ${c.name}: ${c.detail}`);
    else if (c.verdict === 'unexpected-pass')
      lines.push(`        PASSES BUT IS LISTED AS EXPECTED TO FAIL: ${c.name} (remove it from test/conformance/expected.ts)`);
    else if (verbose && c.verdict === 'expected-fail') lines.push(`        expected failure ${c.name}: ${c.detail}`);
    else if (verbose) lines.push(`        pass ${c.name}`);
  }
  for (const s of t.status) if (s.verdict === 'fail') lines.push(`        FAIL status check ${s.check}: ${s.detail}`);
  return lines.join('\n');
}

export function summary(r: ReplayResult): string {
  const cases = r.tests.flatMap((t) => t.cases);
  const count = (v: string) => cases.filter((c) => c.verdict === v).length;
  const lines = [
    '',
    `${r.cases.passed}/${r.cases.total} cases`,
    `${r.statusChecks.passed}/${r.statusChecks.total} status checks`,
    `${count('pass')} passed, ${count('fail')} failed, ${count('expected-fail')} skipped (expected failures), ${count('unexpected-pass')} listed but passing; ${(r.ms / 1000).toFixed(1)} s`,
  ];
  const skipped = new Map<string, number>();
  for (const t of r.tests)
    for (const c of t.cases)
      if (c.verdict === 'expected-fail') skipped.set(`${t.name}: ${c.reason}`, (skipped.get(`${t.name}: ${c.reason}`) ?? 0) + 1);
  if (skipped.size > 0) {
    lines.push('', 'Skipped, with the reason:');
    for (const [k, n] of skipped) lines.push(`  ${k} (${n} case${n > 1 ? 's' : ''})`);
  }
  for (const s of r.stale) lines.push(`STALE ${s}`);
  lines.push(
    '',
    r.unexpected === 0 ? 'conformance: as expected' : `conformance: ${r.unexpected} unexpected result${r.unexpected > 1 ? 's' : ''}`,
  );
  return lines.join('\n');
}
