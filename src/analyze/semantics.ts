/**
 * Envoy's retry and timeout rules as the analyzer needs them (spec/envoy-semantics.md 1-2): which
 * trigger fires on what, how long backoff can wait, which route timeout is armed.
 */
import type * as ir from '../ir/index.js';
import { ENVOY, defaultOrigin } from '../ir/index.js';
import { formatDuration } from '../common/durations.js';
import type { RouteView } from './context.js';

/** gRPC status -> the retry_on token that retries it (only these five exist). */
export const GRPC_TRIGGERS: Readonly<Record<number, ir.GrpcRetryOn>> = {
  1: 'cancelled',
  4: 'deadline-exceeded',
  8: 'resource-exhausted',
  13: 'internal',
  14: 'unavailable',
};

const GRPC_TOKENS = new Set<ir.RetryOn>(Object.values(GRPC_TRIGGERS));

/** Tokens that retry a reset or per-try timeout after the request was sent (spec 2.3, 1.4). */
export const AFTER_SENT: readonly ir.RetryOn[] = ['5xx', 'gateway-error', 'reset'];

/** Tokens that only fire before the backend got the request: fast and safe to repeat. */
const BEFORE_SENT = new Set<ir.RetryOn>(['connect-failure', 'refused-stream', 'reset-before-request']);

export function hasAny(p: ir.RetryPolicy, tokens: readonly ir.RetryOn[]): boolean {
  return p.retryOn.some((t) => tokens.includes(t));
}

export function hasGrpcTrigger(p: ir.RetryPolicy): boolean {
  return p.retryOn.some((t) => GRPC_TOKENS.has(t));
}

/** Some trigger can fire on an attempt that already ran for a while (a response, a late reset). */
export function canFailLate(p: ir.RetryPolicy): boolean {
  return p.retryOn.some((t) => !BEFORE_SENT.has(t));
}

/** The trigger that retries an upstream HTTP response with this status, if any (response-header rules). */
export function httpTrigger(p: ir.RetryPolicy, status: number): ir.RetryOn | undefined {
  if (p.retryOn.includes('5xx') && status >= 500 && status <= 599) return '5xx';
  if (p.retryOn.includes('gateway-error') && status >= 502 && status <= 504) return 'gateway-error';
  if (p.retryOn.includes('retriable-4xx') && status === 409) return 'retriable-4xx';
  if (p.retryOn.includes('retriable-status-codes') && p.retriableStatusCodes.includes(status)) return 'retriable-status-codes';
  return undefined;
}

/** The trigger that retries a trailers-only gRPC response with this status, if any. */
export function grpcTrigger(p: ir.RetryPolicy, code: number): ir.RetryOn | undefined {
  const t = GRPC_TRIGGERS[code];
  return t && p.retryOn.includes(t) ? t : undefined;
}

/** Upper bounds of the backoff before retry 1..n: base, doubled while under max/2, then max (Envoy's code). */
export function backoffCeilings(p: ir.RetryPolicy): number[] {
  const base = Math.max(1, p.backoff.baseIntervalMs);
  const max = Math.max(base, p.backoff.maxIntervalMs);
  const out: number[] = [];
  let next = base;
  for (let i = 0; i < p.numRetries; i++) {
    out.push(next);
    next = next < Math.floor(max / 2) ? next * 2 : max;
  }
  return out;
}

export type ArmedTimeout = { ms: number; setting: string; origin: ir.Origin | undefined };

/**
 * The route timer Envoy arms (spec 1.2): none with a max_stream_duration block; for gRPC with
 * max_grpc_timeout set, that cap (0: only the client's deadline); else the route timeout (15 s when
 * the IR has none). `ms` 0 means no timer.
 */
export function armedTimeout(v: RouteView): ArmedTimeout | undefined {
  const t = v.route.timeout;
  if (t?.maxStreamDuration) return undefined;
  if (v.grpc && t?.maxGrpcTimeoutMs !== undefined)
    return { ms: t.maxGrpcTimeoutMs, setting: 'timeout.maxGrpcTimeoutMs', origin: t.origin.maxGrpcTimeoutMs };
  if (!t) return { ms: ENVOY.ROUTE_TIMEOUT_MS, setting: 'timeout.requestMs', origin: defaultOrigin('envoy', 'ENVOY.ROUTE_TIMEOUT_MS') };
  return { ms: t.requestMs, setting: 'timeout.requestMs', origin: t.origin.requestMs };
}

export const ms = formatDuration;

export function list(values: readonly (string | number)[]): string {
  return `[${values.join(', ')}]`;
}

/** Percent of a fractional percentage, for messages. */
export function percent(p: ir.FractionalPercent): string {
  const v = (p.numerator / p.denominator) * 100;
  return `${Number(v.toFixed(4))}%`;
}
