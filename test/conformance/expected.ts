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

export const EXPECTED_FAILURES: Record<string, Expectation> = {
  HTTPRouteHTTPSListenerDetectMisdirectedRequests: {
    feature: 'GatewayHTTPSListenerDetectMisdirectedRequests',
    reason:
      'legate does not answer 421 to a request whose :authority belongs to another HTTPS listener than the one its SNI chose (Envoy Gateway does not either and leaves the feature out of its conformance report)',
    cases: [
      'SNI example.org / Host second-example.org -> 421',
      'SNI second-example.org / Host example.org -> 421',
      'SNI second-example.org / Host unknown-example.org -> 421',
      'SNI third-example.wildcard.org / Host fourth-example.wildcard.org -> 421',
      'SNI third-example.wildcard.org / Host second-example.org -> 421',
      'SNI third-example.wildcard.org / Host unknown-example.org -> 421',
      'SNI fourth-example.wildcard.org / Host fith-example.wildcard.org -> 421',
    ],
  },
};

export function expectedFailure(test: string, caseName: string): Expectation | undefined {
  const e = EXPECTED_FAILURES[test];
  if (!e) return undefined;
  return e.cases === undefined || e.cases.includes(caseName) ? e : undefined;
}

/** Entries naming a test or case the data does not have: the list must stay true. */
export function staleExpectations(tests: readonly { name: string; cases: readonly { name: string }[] }[]): string[] {
  const out: string[] = [];
  for (const [name, e] of Object.entries(EXPECTED_FAILURES)) {
    const t = tests.find((x) => x.name === name);
    if (!t) out.push(`expected.ts lists test ${name}, which the conformance data does not have`);
    else
      for (const c of e.cases ?? [])
        if (!t.cases.some((x) => x.name === c)) out.push(`expected.ts lists case "${c}" of ${name}, which does not exist`);
  }
  return out;
}
