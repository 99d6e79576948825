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

export const EXPECTED_FAILURES: Record<string, Expectation> = {};

export function expectedFailure(test: string, caseName: string): Expectation | undefined {
  const e = EXPECTED_FAILURES[test];
  if (!e) return undefined;
  return e.cases === undefined || e.cases.includes(caseName) ? e : undefined;
}
