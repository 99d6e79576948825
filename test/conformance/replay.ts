/**
 * The Gateway API conformance replay (README 1): echo backends in-process, one Proxy, and for
 * each test its manifests translated and applied, its status checks against the translator's
 * status, then its cases. Results are per case: pass, fail, expected failure (expected.ts) or
 * unexpected pass.
 */
import { Diagnostics } from '../../src/config/model.js';
import { loadManifests } from '../../src/config/load/load-manifests.js';
import { Proxy } from '../../src/dataplane/proxy.js';
import { selfSignedCert } from '../helpers/capture.js';
import { runCase, type CaseContext } from './cases.js';
import { loadConformanceData, readManifest, type Case, type ConformanceTest } from './data.js';
import { startEchoPods } from './echo-pods.js';
import { expectedFailure, staleExpectations, verdictOf, type Verdict } from './expected.js';
import { CONTROLLER_NAME, LocalGateway } from './local-gateway.js';
import { runStatusCheck, type StatusState } from './status-checks.js';

export type CaseResult = { name: string; kind: Case['kind']; verdict: Verdict; detail?: string; reason?: string };
export type StatusResult = { check: string; verdict: Verdict; detail?: string };
export type TestResult = {
  name: string;
  supportLevel: ConformanceTest['supportLevel'];
  features: string[];
  cases: CaseResult[];
  status: StatusResult[];
  ms: number;
};

export type ReplayResult = {
  tests: TestResult[];
  cases: { passed: number; total: number };
  statusChecks: { passed: number; total: number };
  /** Failures outside the expected list, expected failures that passed, and stale list entries. */
  unexpected: number;
  /** Entries of expected.ts that name no test or case of the data. */
  stale: string[];
  ms: number;
};

export type ReplayOptions = {
  /** Only tests whose name contains one of these. */
  only?: string[];
  /** Called after each test. */
  onTest?: (t: TestResult) => void;
  /**
   * How long a case may take to pass 3 times in a row. Upstream waits 30 s for a cluster to
   * converge; legate serves a configuration once Proxy.apply resolves, so a case that fails for
   * 10 s (room for a loaded machine) keeps failing.
   */
  budgetMs?: number;
  /** The same for cases on the expected-failure list (they are run to catch them passing). */
  expectedFailureBudgetMs?: number;
};

export async function replay(opts: ReplayOptions = {}): Promise<ReplayResult> {
  const started = Date.now();
  const data = loadConformanceData();
  const tests = data.tests.filter((t) => !opts.only || opts.only.some((s) => t.name.includes(s)));
  // The Secret the suite creates in code (README 1, step 3): self-signed, CN default, serverAuth.
  const cert = selfSignedCert({
    cn: 'default',
    subjectAltNames: ['DNS:*', 'DNS:*.org', 'DNS:*.wildcard.org'],
    rsa: true,
    serverAuth: true,
  });
  const diags = new Diagnostics();
  const pods = await startEchoPods(loadManifests([readManifest('base/manifests.yaml')], diags));
  const proxy = new Proxy({ accessLog: null });
  const gateway = new LocalGateway(proxy, pods, cert);
  const results: TestResult[] = [];
  try {
    for (const test of tests) {
      const r = await replayTest(
        test,
        gateway,
        {
          port: (t) => gateway.port(t),
          pods,
          ca: cert.cert,
          budgetMs: opts.budgetMs ?? 10_000,
          consecutive: data.timeouts.requiredConsecutiveSuccesses,
          requestTimeoutMs: 10_000,
        },
        opts.expectedFailureBudgetMs ?? 1500,
      );
      results.push(r);
      opts.onTest?.(r);
    }
  } finally {
    await proxy.close(100);
    await pods.close();
    cert.cleanup();
  }
  const stale = opts.only ? [] : staleExpectations(data.tests);
  const allCases = results.flatMap((t) => t.cases);
  const allStatus = results.flatMap((t) => t.status);
  return {
    tests: results,
    cases: { passed: allCases.filter((c) => c.verdict === 'pass' || c.verdict === 'unexpected-pass').length, total: allCases.length },
    statusChecks: { passed: allStatus.filter((c) => c.verdict === 'pass').length, total: allStatus.length },
    unexpected: [...allCases, ...allStatus].filter((c) => c.verdict === 'fail' || c.verdict === 'unexpected-pass').length + stale.length,
    stale,
    ms: Date.now() - started,
  };
}

async function replayTest(test: ConformanceTest, gateway: LocalGateway, ctx: CaseContext, xfailBudgetMs: number): Promise<TestResult> {
  const started = Date.now();
  const result: TestResult = { name: test.name, supportLevel: test.supportLevel, features: test.features, cases: [], status: [], ms: 0 };
  let setupError: string | undefined;
  try {
    gateway.load(test);
    await gateway.apply();
  } catch (err) {
    setupError = `cannot run the test: ${(err as Error).message}`;
  }

  if (setupError === undefined) {
    const state: StatusState = {
      status: gateway.result!.status,
      objects: gateway.objects,
      controllerName: CONTROLLER_NAME,
      retranslate: () => {
        state.status = gateway.translate().status;
      },
    };
    for (const check of test.statusChecks ?? []) {
      const detail = runStatusCheck(state, check);
      result.status.push({ check: check.check, verdict: detail === undefined ? 'pass' : 'fail', ...(detail ? { detail } : {}) });
    }
  } else {
    for (const check of test.statusChecks ?? []) result.status.push({ check: check.check, verdict: 'fail', detail: setupError });
  }

  const one = async (c: Case): Promise<CaseResult> => {
    const expected = expectedFailure(test.name, c.name);
    let detail = setupError;
    if (detail === undefined) {
      try {
        for (const b of c.before ?? []) await gateway.before(b);
        const named =
          c.kind === 'websocket' ? { ...c, request: { ...c.request, origin: c.request.origin.replace('<test name>', test.name) } } : c;
        detail = await runCase(named, expected ? { ...ctx, budgetMs: xfailBudgetMs } : ctx);
      } catch (err) {
        detail = `harness error: ${(err as Error).message}`;
      }
    }
    const passed = detail === undefined;
    const verdict = verdictOf(expected !== undefined, passed);
    return { name: c.name, kind: c.kind, verdict, ...(detail ? { detail } : {}), ...(expected ? { reason: expected.reason } : {}) };
  };
  if (test.sequential) for (const c of test.cases) result.cases.push(await one(c));
  else result.cases.push(...(await Promise.all(test.cases.map(one))));
  result.ms = Date.now() - started;
  return result;
}
