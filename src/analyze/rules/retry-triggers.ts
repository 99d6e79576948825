/** Retry triggers that cannot fire, or fire where they should not (spec 2.3, 2.11; config-apis 2.3, 3.4). */
import { AnalysisContext, type RouteView } from '../context.js';
import { involved, routeFinding, type Finding, type Rule } from '../finding.js';
import { AFTER_SENT, hasAny, hasGrpcTrigger, httpTrigger, list } from '../semantics.js';
import type * as ir from '../../ir/index.js';

const retryOnOf = (r: ir.RetryPolicy) => involved('retry.retryOn', r.retryOn, r.origin.retryOn);
const codesOf = (r: ir.RetryPolicy) => involved('retry.retriableStatusCodes', r.retriableStatusCodes, r.origin.retriableStatusCodes);

export const codesWithoutTrigger: Rule = {
  code: 'A_RETRY_CODES_WITHOUT_TRIGGER',
  severity: 'warning',
  title: 'retriable status codes without the retriable-status-codes trigger',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const r = AnalysisContext.activeRetry(v);
      if (!r || r.retriableStatusCodes.length === 0 || r.retryOn.includes('retriable-status-codes')) return [];
      const uncovered = r.retriableStatusCodes.filter((c) => httpTrigger(r, c) === undefined);
      return [
        routeFinding('A_RETRY_CODES_WITHOUT_TRIGGER', uncovered.length > 0 ? 'warning' : 'info', v, {
          message:
            `the retriable status codes ${list(r.retriableStatusCodes)} are only read by the retriable-status-codes trigger, which retryOn ${list(r.retryOn)} does not list` +
            (uncovered.length > 0
              ? `: responses with ${list(uncovered)} are not retried`
              : `; the other triggers already retry them, so the list does nothing`),
          fix: 'add retriable-status-codes to the retry triggers, or remove the status codes',
          involves: [codesOf(r), retryOnOf(r)],
        }),
      ];
    }),
};

export const triggerWithoutCodes: Rule = {
  code: 'A_RETRY_TRIGGER_WITHOUT_CODES',
  severity: 'warning',
  title: 'the retriable-status-codes trigger without status codes',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const r = AnalysisContext.activeRetry(v);
      // Only a trigger someone wrote: Istio's default policy carries it with no codes on purpose (since 1.24).
      if (!r || !r.retryOn.includes('retriable-status-codes') || r.retriableStatusCodes.length > 0) return [];
      if (r.origin.retryOn?.kind !== 'manifest') return [];
      const eg = r.origin.retriableStatusCodes?.kind === 'derived' && /Envoy Gateway/.test(r.origin.retriableStatusCodes.from);
      return [
        routeFinding('A_RETRY_TRIGGER_WITHOUT_CODES', 'warning', v, {
          message: eg
            ? 'retryOn lists retriable-status-codes but no httpStatusCodes: with retryOn set, Envoy Gateway replaces its default [503] with the empty list, so the trigger never fires and HTTP 503 responses are not retried'
            : 'retryOn lists retriable-status-codes but no status code is given, so the trigger never fires',
          fix: eg
            ? 'add `httpStatusCodes: [503]` (the statuses to retry) under spec.retry.retryOn, or drop the trigger'
            : v.sourceKind === 'VirtualService'
              ? 'add the statuses to retryOn, such as `retryOn: 503,connect-failure` (Istio turns numbers into retriable status codes), or drop the trigger'
              : 'add the statuses to retry, or drop the trigger',
          involves: [retryOnOf(r), codesOf(r)],
        }),
      ];
    }),
};

export const grpcStatusInTrailers: Rule = {
  code: 'A_GRPC_STATUS_IN_TRAILERS',
  severity: 'info',
  title: 'gRPC retry triggers only see trailers-only responses',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const r = AnalysisContext.activeRetry(v);
      if (!r || !v.grpc || !hasGrpcTrigger(r) || r.grpcTrailerRetry) return [];
      // fake-service answers every error trailers-only, as grpc-go does for a unary handler's error.
      if (allFakeService(ctx, v)) return [];
      const tokens = r.retryOn.filter((t) =>
        ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'].includes(t),
      );
      return [
        routeFinding('A_GRPC_STATUS_IN_TRAILERS', 'info', v, {
          message:
            `${list(tokens)} retry only when the gRPC status arrives in the response headers (a trailers-only response): ` +
            `a server that sent headers or a message before failing puts the status in trailers, and that call is not retried ` +
            `(a stream that fails midway never is)`,
          fix:
            'make servers fail before sending anything (grpc-go and grpc-java do for an error returned by a unary handler); for unary calls legate can also hold ' +
            'the response until its trailers: annotate the BackendTrafficPolicy or VirtualService that sets the retry with `legate.dev/grpc-trailer-retry: "true"`',
          involves: [retryOnOf(r)],
        }),
      ];
    }),
};

function allFakeService(ctx: AnalysisContext, v: RouteView): boolean {
  const pods = v.backends.flatMap((b) => (b.cluster ? ctx.podsOf(b.cluster) : []));
  const endpoints = v.backends.reduce((n, b) => n + (b.cluster?.endpoints.length ?? 0), 0);
  return endpoints > 0 && pods.length === endpoints && pods.every((p) => p.kind === 'fake-service');
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export const nonIdempotentRetry: Rule = {
  code: 'A_RETRY_NON_IDEMPOTENT',
  severity: 'warning',
  title: 'non-idempotent requests retried after a reset',
  run: (ctx) =>
    ctx.routes.flatMap((v): Finding[] => {
      const r = AnalysisContext.activeRetry(v);
      if (!r || !hasAny(r, AFTER_SENT)) return [];
      const method = v.route.match.method;
      if (!v.grpc && method !== undefined && IDEMPOTENT.has(method)) return [];
      if (r.retriableRequestHeaders.some((h) => h.name === ':method')) return [];
      const tokens = r.retryOn.filter((t) => AFTER_SENT.includes(t));
      const what = v.grpc
        ? 'gRPC calls are POSTs, and unless every method on this route is idempotent, a call the backend already handled is made twice'
        : method !== undefined
          ? `this route carries ${method} requests, which may be applied twice`
          : 'this route matches every method, so POST and PATCH requests may be applied twice';
      return [
        routeFinding('A_RETRY_NON_IDEMPOTENT', 'warning', v, {
          message:
            `${list(tokens)} retr${tokens.length > 1 ? 'y' : 'ies'} a request whose connection was reset or whose attempt timed out after it was sent, ` +
            `when the backend may already have processed it: ${what}`,
          fix: v.grpc
            ? 'for methods that are not idempotent, retry only on unavailable, connect-failure, refused-stream and reset-before-request (nothing reached the backend); keep reset, 5xx or gateway-error for a route that matches the idempotent methods'
            : 'retry non-idempotent requests only when nothing reached the backend (connect-failure, refused-stream, reset-before-request), or split the route: one matching GET, HEAD, PUT and DELETE with these triggers, the rest without',
          involves: [retryOnOf(r)],
        }),
      ];
    }),
};
