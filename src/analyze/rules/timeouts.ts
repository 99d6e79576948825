/** Route timeouts against per-try timeouts, retries, backoff and streams (spec 1.2-1.6, 2.9). */
import { AnalysisContext, type RouteView } from '../context.js';
import { routeFinding, finding, involved, type Involved, type Rule } from '../finding.js';
import { AFTER_SENT, armedTimeout, backoffCeilings, canFailLate, hasAny, list, ms } from '../semantics.js';
import type * as ir from '../../ir/index.js';

/** Retry and route timeout settings of a route, when both a per-try and a route timer apply. */
function budget(v: RouteView): { retry: ir.RetryPolicy; route: number; routeSetting: Involved } | undefined {
  const retry = AnalysisContext.activeRetry(v);
  const armed = armedTimeout(v);
  if (!retry || retry.perTryTimeoutMs <= 0 || !armed || armed.ms <= 0) return undefined;
  return { retry, route: armed.ms, routeSetting: involved(armed.setting, ms(armed.ms), armed.origin) };
}

const perTry = (r: ir.RetryPolicy) => involved('retry.perTryTimeoutMs', ms(r.perTryTimeoutMs), r.origin.perTryTimeoutMs);
const retries = (r: ir.RetryPolicy) => involved('retry.numRetries', r.numRetries, r.origin.numRetries);

export const perTryTimeoutIgnored: Rule = {
  code: 'A_PER_TRY_TIMEOUT_IGNORED',
  severity: 'warning',
  title: 'a per-try timeout not shorter than the route timeout is ignored',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const b = budget(v);
      if (!b || b.retry.perTryTimeoutMs < b.route) return [];
      return [
        routeFinding('A_PER_TRY_TIMEOUT_IGNORED', 'warning', v, {
          message:
            `the per-try timeout (${ms(b.retry.perTryTimeoutMs)}) is not shorter than the route timeout (${ms(b.route)}), so Envoy ignores it: ` +
            `one slow attempt uses the whole route timeout and no retry can follow (the client gets 504 "upstream request timeout", flag UT)`,
          fix: `make the per-try timeout a fraction of the route timeout, such as ${ms(Math.floor(b.route / (b.retry.numRetries + 1)))} for ${b.retry.numRetries + 1} attempts, or raise the route timeout`,
          involves: [perTry(b.retry), b.routeSetting, retries(b.retry)],
        }),
      ];
    }),
};

export const retryTimeoutBudget: Rule = {
  code: 'A_RETRY_TIMEOUT_BUDGET',
  severity: 'warning',
  title: 'per-try timeout x attempts plus backoff exceed the route timeout',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const b = budget(v);
      if (!b) return [];
      const r = b.retry;
      const P = r.perTryTimeoutMs;
      // Only attempts that may fail late (at their per-try timeout) use up the budget.
      if (P >= b.route || !(canFailLate(r) || v.hedge?.onPerTryTimeout)) return [];
      const ceilings = backoffCeilings(r);
      const backoff = ceilings.reduce((a, x) => a + x, 0);
      const attempts = r.numRetries + 1;
      const worst = P * attempts + backoff;
      if (worst <= b.route) return [];
      // Worst case: every attempt runs to its per-try timeout and every backoff to its ceiling.
      let t = 0;
      let full = 0;
      let started = 0;
      for (let k = 0; k < attempts; k++) {
        if (k > 0) t += ceilings[k - 1]!;
        if (t >= b.route) break;
        started++;
        if (t + P <= b.route) full++;
        t += P;
      }
      const cut = started > full ? `; attempt ${full + 1} is cut by the route timeout (504, flag UT)` : '';
      const never =
        started === attempts
          ? ''
          : started + 1 === attempts
            ? `; attempt ${attempts} never starts`
            : `; attempts ${started + 1} to ${attempts} never start`;
      const fit = Math.floor((b.route - backoff) / attempts);
      return [
        finding('A_RETRY_TIMEOUT_BUDGET', 'warning', {
          message:
            `${attempts} attempts x ${ms(P)} per try plus up to ${ms(backoff)} of backoff make ${ms(worst)}, more than the route timeout of ${ms(b.route)}, ` +
            `which covers every attempt and backoff: when attempts fail slowly, only ${full} of the ${attempts} can run to their per-try timeout${cut}${never}`,
          fix:
            fit > 0
              ? `lower the per-try timeout to about ${ms(fit)}, lower the retries, or raise the route timeout to at least ${ms(worst)}`
              : `lower the retries or the backoff, or raise the route timeout to at least ${ms(worst)}`,
          involves: [
            perTry(r),
            b.routeSetting,
            retries(r),
            involved('retry.backoff.baseIntervalMs', ms(r.backoff.baseIntervalMs), r.origin['backoff.baseIntervalMs']),
            v.source,
          ],
          routes: [v.id],
        }),
      ];
    }),
};

export const perTryTimeoutNotRetried: Rule = {
  code: 'A_PER_TRY_TIMEOUT_NOT_RETRIED',
  severity: 'warning',
  title: 'a per-try timeout that no trigger retries',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const r = AnalysisContext.activeRetry(v);
      if (!r || r.perTryTimeoutMs <= 0 || v.hedge?.onPerTryTimeout || hasAny(r, AFTER_SENT)) return [];
      const armed = armedTimeout(v);
      if (armed && armed.ms > 0 && r.perTryTimeoutMs >= armed.ms) return []; // ignored anyway (A_PER_TRY_TIMEOUT_IGNORED)
      const reply = v.grpc ? 'UNAVAILABLE "upstream request timeout"' : '504 "upstream request timeout" (flag UT)';
      const attempts = r.numRetries + 1;
      // With only early triggers, attempts x per-try beyond the route timeout is no pitfall: say why.
      const early =
        !canFailLate(r) && armed && armed.ms > 0 && attempts * r.perTryTimeoutMs > armed.ms
          ? `. The attempts these triggers do retry fail before the backend handles the request (within the connect timeout), so ${attempts} attempts x ${ms(r.perTryTimeoutMs)} exceeding the ${ms(armed.ms)} route timeout does not matter`
          : '';
      return [
        routeFinding('A_PER_TRY_TIMEOUT_NOT_RETRIED', 'warning', v, {
          message:
            `retryOn ${list(r.retryOn)} has no trigger that retries a per-try timeout (only 5xx, gateway-error and reset do): ` +
            `an attempt slower than ${ms(r.perTryTimeoutMs)} ends the request with ${reply}, without a retry, ` +
            `so the per-try timeout only acts as a shorter route timeout${early}`,
          fix: `if the requests are idempotent, add reset (or 5xx, gateway-error) to the retry triggers so that a slow attempt is retried on another host; otherwise drop the per-try timeout`,
          involves: [perTry(r), involved('retry.retryOn', r.retryOn, r.origin.retryOn)],
        }),
      ];
    }),
};

export const routeTimeoutCutsStreams: Rule = {
  code: 'A_ROUTE_TIMEOUT_CUTS_STREAMS',
  severity: 'warning',
  title: 'a route timeout that cuts streaming RPCs',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      if (!v.grpc) return [];
      const armed = armedTimeout(v);
      const msd = v.route.timeout?.maxStreamDuration?.maxMs;
      const cap = armed ? armed.ms : (msd ?? 0);
      if (cap <= 0) return [];
      const setting = armed
        ? involved(armed.setting, ms(cap), armed.origin)
        : involved('timeout.maxStreamDuration.maxMs', ms(cap), v.route.timeout!.origin['maxStreamDuration.maxMs']);
      const origin = armed ? armed.origin : undefined;
      const isDefault = origin?.kind === 'default';
      const whose = isDefault
        ? `${DIALECT[origin.dialect] ?? 'the'} default route timeout of ${ms(cap)}`
        : `the route timeout of ${ms(cap)}`;
      return [
        routeFinding('A_ROUTE_TIMEOUT_CUTS_STREAMS', isDefault ? 'warning' : 'info', v, {
          message:
            `${whose} applies to this gRPC route: every call ends after ${ms(cap)} whatever deadline the client set; a server-streaming or ` +
            `bidirectional stream is reset, or the client gets ${armed ? 'UNAVAILABLE "upstream request timeout"' : 'DEADLINE_EXCEEDED'} ` +
            `(the timer starts once the request stream ends, so client streams are cut ${ms(cap)} after the client finishes sending)`,
          fix: streamFix(v),
          involves: [setting],
        }),
      ];
    }),
};

const DIALECT: Record<string, string> = { envoy: "Envoy's", 'envoy-gateway': "Envoy Gateway's", istio: "Istio's", legate: "legate's" };

function streamFix(v: RouteView): string {
  if (v.sourceKind === 'VirtualService')
    return "remove `timeout` from this http rule (Istio then sets none and honours the client's grpc-timeout), or move the streaming methods to a rule without one";
  if (v.sourceKind === 'GRPCRoute' || v.sourceKind === 'HTTPRoute')
    return 'for streaming methods, set `timeout.http.requestTimeout: 0s` in a BackendTrafficPolicy targeting a route that matches only those methods, and let clients bound calls with deadlines';
  return 'disable the route timeout (0) for streaming methods and let clients bound calls with deadlines';
}
