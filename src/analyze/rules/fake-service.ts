/**
 * fake-service's error injection as it really behaves (config-apis.md 5.5): request N fails iff
 * N % int(1/ERROR_RATE) == 0, with ERROR_CODE as HTTP status and as gRPC status alike.
 */
import { parseFakeServiceEnv, type FakeServiceConfig } from '../../fake-service/config.js';
import { goFloatToInt } from '../../fake-service/error-injector.js';
import { GRPC_STATUS_NAMES } from '../../common/grpc-status.js';
import type { PodPlan } from '../../runtime/plan.js';
import { AnalysisContext, type RouteView } from '../context.js';
import { routeFinding, finding, involved, type Finding, type Involved, type Rule } from '../finding.js';
import { GRPC_TRIGGERS, grpcTrigger, httpTrigger, list } from '../semantics.js';
import type * as ir from '../../ir/index.js';
import type { Severity } from '../../ir/diagnostic.js';

type FakeDeployment = { pod: PodPlan; config: FakeServiceConfig; problems: string[] };

/** One entry per fake-service Deployment (its first pod stands for all: they share the template). */
function fakeDeployments(pods: readonly PodPlan[]): FakeDeployment[] {
  const seen = new Map<string, FakeDeployment>();
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.deployment}`;
    if (pod.kind !== 'fake-service' || seen.has(key)) continue;
    const { config, problems } = parseFakeServiceEnv(pod.env, 0);
    seen.set(key, { pod, config, problems });
  }
  return [...seen.values()];
}

/** Every Nth request fails; 0 when never, undefined when fake-service divides by zero. */
function failsEvery(rate: number): number | undefined {
  const d = goFloatToInt(1 / rate);
  if (d === 0n) return undefined;
  if (d < -(2n ** 53n) || d > 2n ** 53n) return 0;
  return Math.abs(Number(d));
}

/** An ERROR_RATE that reads as 1/N (within 0.05%) and gives exactly every Nth request: 0.3333 for 3. */
function rateFor(n: number): string {
  for (let digits = 1; digits <= 8; digits++) {
    const v = Math.floor(10 ** digits / n) / 10 ** digits;
    if (v > 0 && failsEvery(v) === n && Math.abs(v * n - 1) < 0.0005) return String(v);
  }
  return String(1 / n);
}

const pct = (n: number) => `${Number((100 / n).toFixed(1))}%`;
const deploymentOf = (p: PodPlan) => `Deployment/${p.namespace}/${p.deployment}`;

export const fakeServiceErrorRate: Rule = {
  code: 'A_FAKE_SERVICE_ERROR_RATE',
  severity: 'warning',
  title: 'a fake-service ERROR_RATE that does not mean what it seems',
  run: (ctx) =>
    fakeDeployments(ctx.pods).flatMap((f): Finding[] => {
      const text = f.pod.env.ERROR_RATE;
      const at = ctx.podEnv(f.pod, 'ERROR_RATE');
      if (text === undefined || !at) return [];
      const r = f.config.errorRate;
      if (f.problems.some((p) => p.startsWith('expected: ERROR_RATE ')))
        return [
          finding('A_FAKE_SERVICE_ERROR_RATE', 'warning', {
            message: `ERROR_RATE "${text}" is not a number: fake-service logs the parse error, uses 0 and fails no request`,
            fix: 'write a fraction from 0 to 1, such as 0.5 for every other request',
            involves: [at],
          }),
        ];
      if (r === 0) return [];
      const n = failsEvery(r);
      if (n === undefined)
        return [
          finding('A_FAKE_SERVICE_ERROR_RATE', 'error', {
            message:
              `ERROR_RATE ${text} is over 1: fake-service computes int(1/${text}) = 0 and divides the request count by it, ` +
              'so every HTTP request panics (the connection is dropped) and the first gRPC call kills the process',
            fix: 'write a fraction from 0 to 1: 1 fails every request, 0.5 every other',
            involves: [at],
          }),
        ];
      if (n === 0 || Math.abs(1 / n - r) <= 1e-9 * Math.abs(r)) return [];
      const options = [n, n + 1].map((k) => `${rateFor(k)} fails ${every(k)} (${pct(k)})`).join(', ');
      return [
        finding('A_FAKE_SERVICE_ERROR_RATE', 'warning', {
          message:
            `ERROR_RATE ${text} does not fail ${Number((r * 100).toFixed(4))}% of requests: fake-service fails request N when N % int(1/${text}) = N % ${n} is 0, ` +
            `so ${every(n)} fails (${pct(n)}), in a fixed pattern counted per replica over HTTP and gRPC together, not at random`,
          fix: `ERROR_RATE gives exactly one request in N: ${options}`,
          involves: [at],
        }),
      ];
    }),
};

/** `every request`, `every 2nd request`, `every 13th request`. */
function every(n: number): string {
  if (n === 1) return 'every request';
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `every ${n}${s} request`;
}

/** Routes with an active retry policy to clusters that have fake-service pods injecting errors. */
function erroringBehind(
  ctx: AnalysisContext,
): { v: RouteView; retry: ir.RetryPolicy | undefined; cluster: ir.Cluster; f: FakeDeployment }[] {
  const out: { v: RouteView; retry: ir.RetryPolicy | undefined; cluster: ir.Cluster; f: FakeDeployment }[] = [];
  for (const v of ctx.routes)
    for (const b of v.backends) {
      if (!b.cluster) continue;
      for (const f of fakeDeployments(ctx.podsOf(b.cluster))) {
        const n = f.config.errorRate === 0 ? 0 : failsEvery(f.config.errorRate);
        if (n === 0) continue; // never fails (n undefined: it crashes; A_FAKE_SERVICE_ERROR_RATE says so)
        out.push({ v, retry: AnalysisContext.activeRetry(v), cluster: b.cluster, f });
      }
    }
  return out;
}

function errorSettings(ctx: AnalysisContext, f: FakeDeployment): Involved[] {
  const code =
    ctx.podEnv(f.pod, 'ERROR_CODE') ?? involved('env.ERROR_CODE', 500, { kind: 'derived', from: "fake-service's default ERROR_CODE" });
  const rate = ctx.podEnv(f.pod, 'ERROR_RATE');
  return [code, ...(rate ? [rate] : [])];
}

function failing(f: FakeDeployment): string {
  const n = failsEvery(f.config.errorRate);
  return n === undefined ? 'requests' : every(n);
}

export const fakeServiceErrorNotRetried: Rule = {
  code: 'A_FAKE_SERVICE_ERROR_NOT_RETRIED',
  severity: 'warning',
  title: "fake-service errors that the route's retry triggers do not retry",
  run: (ctx) =>
    erroringBehind(ctx).flatMap(({ v, retry, cluster, f }): Finding[] => {
      if (!retry) return [];
      const code = f.config.errorCode;
      const who = `fake-service ${deploymentOf(f.pod)} fails ${failing(f)}`;
      let message: string;
      let fix: string;
      let severity: Severity = 'warning';
      if (v.grpc) {
        const g = code >>> 0; // grpc-go's codes.Code is a uint32
        if (grpcTrigger(retry, g)) return [];
        const name = GRPC_STATUS_NAMES[g];
        message =
          `${who} with grpc-status ${g}${name ? ` (${name})` : code === 500 ? ' (ERROR_CODE defaults to 500, which is no gRPC code)' : ' (no gRPC code)'}, ` +
          (GRPC_TRIGGERS[g]
            ? `which only the ${GRPC_TRIGGERS[g]} trigger retries; retryOn ${list(retry.retryOn)} does not list it`
            : `which no gRPC retry trigger retries (Envoy's are cancelled 1, deadline-exceeded 4, resource-exhausted 8, internal 13, unavailable 14)`) +
          ': these errors reach the client';
        fix = GRPC_TRIGGERS[g]
          ? `add ${GRPC_TRIGGERS[g]} to the retry triggers, or set ERROR_CODE to 14 (UNAVAILABLE) to exercise unavailable`
          : 'set ERROR_CODE to a code a trigger retries, such as 14 (UNAVAILABLE) for unavailable or 13 (INTERNAL) for internal';
      } else {
        if (code < 100 || code > 999 || httpTrigger(retry, code)) return []; // invalid codes: A_FAKE_SERVICE_ERROR_CODE_INVALID
        const od = cluster.outlierDetection;
        const gateway = od && code >= 502 && code <= 504 && od.enforcingConsecutiveGatewayFailure > 0 ? od.consecutiveGatewayFailure : 0;
        const fivexx = od && code >= 500 && code <= 599 && od.enforcingConsecutive5xx > 0 ? od.consecutive5xx : 0;
        const ejects = gateway > 0 || fivexx > 0;
        const after =
          gateway > 0 && (fivexx === 0 || gateway <= fivexx) ? `${gateway} consecutive gateway errors` : `${fivexx} consecutive 5xx`;
        message =
          `${who} with HTTP ${code}; retryOn ${list(retry.retryOn)} retries none of them: clients see these ${code}s` +
          (ejects ? ` until outlier detection ejects the pod (after ${after})` : '');
        fix =
          code >= 500 && code <= 599
            ? `if the requests are idempotent, add 5xx (or retriable-status-codes with ${code}) to the retry triggers; leave it if these errors are meant to reach clients`
            : `to retry them, add retriable-status-codes with ${code} to the retry policy; leave it if these errors are meant to reach clients`;
        // The errors are there for outlier detection to eject the pod: worth knowing, not a mistake.
        if (ejects) severity = 'info';
      }
      return [
        routeFinding('A_FAKE_SERVICE_ERROR_NOT_RETRIED', severity, v, {
          message,
          fix,
          involves: [...errorSettings(ctx, f), involved('retry.retryOn', retry.retryOn, retry.origin.retryOn)],
          clusters: [cluster.name],
        }),
      ];
    }),
};

export const fakeServiceErrorCodeInvalid: Rule = {
  code: 'A_FAKE_SERVICE_ERROR_CODE_INVALID',
  severity: 'warning',
  title: 'a fake-service ERROR_CODE that is no HTTP status, behind an HTTP route',
  run: (ctx) =>
    erroringBehind(ctx).flatMap(({ v, cluster, f }): Finding[] => {
      const code = f.config.errorCode;
      if (v.grpc || (code >= 100 && code <= 999)) return [];
      return [
        routeFinding('A_FAKE_SERVICE_ERROR_CODE_INVALID', 'warning', v, {
          message:
            `fake-service ${deploymentOf(f.pod)} fails ${failing(f)} with ERROR_CODE ${code}, which is no HTTP status: on HTTP its handler panics in WriteHeader(${code}) ` +
            'and drops the connection, so clients get 503 "upstream connect error or disconnect/reset before headers" (flag UC), retried only by reset, 5xx or gateway-error; the value is meant for gRPC',
          fix: 'serve HTTP from a fake-service Deployment with an HTTP ERROR_CODE (such as 503), and gRPC from another with a gRPC code',
          involves: [...errorSettings(ctx, f)],
          clusters: [cluster.name],
        }),
      ];
    }),
};
