/**
 * Cases legate is expected to fail, each for a feature it does not claim, with the reason. The
 * replay runs them anyway: one that passes is reported as unexpected, so this list stays true.
 * Core HTTPRoute and GRPCRoute cases never belong here.
 */
export type Expectation = {
  /** The conformance feature legate does not implement. */
  feature: string;
  reason: string;
  /** Case names; absent = every case of the test. */
  cases?: string[];
};

// An entry names a test, the feature legate leaves out, the reason and, when not all of the test,
// its cases.
export const EXPECTED_FAILURES: Record<string, Expectation> = {
  HTTPRouteRetryConnectionError: {
    feature: 'HTTPRouteRetryConnectionError (extended)',
    reason:
      "legate maps HTTPRoute retry as Envoy Gateway does (config-apis.md 1.12): retry_on is EG's connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes, so a connection the backend closes after accepting it (a reset) is not retried",
    cases: ['succeeds after 2 retries on connection errors and max attempts is 3'],
  },
  HTTPRouteRetryWithTimeouts: {
    feature: 'HTTPRouteRetryBackendTimeout (extended)',
    reason:
      'as Envoy Gateway, the HTTPRoute retry triggers do not include reset or 5xx, which are what retry a per-try (backendRequest) timeout in Envoy, so the timed-out attempt ends the request with 504',
    cases: ['succeeds after 2 retries on backend timeout with max attempts is 3'],
  },
};

export type Verdict = 'pass' | 'fail' | 'expected-fail' | 'unexpected-pass';

/** A listed case must fail; passing it is as unexpected as failing an unlisted one. */
export function verdictOf(listed: boolean, passed: boolean): Verdict {
  if (listed) return passed ? 'unexpected-pass' : 'expected-fail';
  return passed ? 'pass' : 'fail';
}

export function expectedFailure(test: string, caseName: string, list = EXPECTED_FAILURES): Expectation | undefined {
  const e = list[test];
  if (!e) return undefined;
  return e.cases === undefined || e.cases.includes(caseName) ? e : undefined;
}

/** Entries naming a test or case the data does not have: the list must stay true. */
export function staleExpectations(
  tests: readonly { name: string; cases: readonly { name: string }[] }[],
  list: Record<string, Expectation> = EXPECTED_FAILURES,
): string[] {
  const out: string[] = [];
  for (const [name, e] of Object.entries(list)) {
    const t = tests.find((x) => x.name === name);
    if (!t) out.push(`expected.ts lists test ${name}, which the conformance data does not have`);
    else
      for (const c of e.cases ?? [])
        if (!t.cases.some((x) => x.name === c)) out.push(`expected.ts lists case "${c}" of ${name}, which does not exist`);
  }
  return out;
}
