import type * as ir from '../../ir/index.js';
import { compileHeaderMatch, type CompiledHeaderMatch } from '../router/compile-route-match.js';
import type { ResetHeader } from './backoff.js';

/** retry_on conditions as bits, so a request's effective set is one number. */
export const RetryOn = {
  '5xx': 1 << 0,
  'gateway-error': 1 << 1,
  reset: 1 << 2,
  'reset-before-request': 1 << 3,
  'connect-failure': 1 << 4,
  'envoy-ratelimited': 1 << 5,
  'retriable-4xx': 1 << 6,
  'refused-stream': 1 << 7,
  'retriable-status-codes': 1 << 8,
  'retriable-headers': 1 << 9,
  cancelled: 1 << 10,
  'deadline-exceeded': 1 << 11,
  internal: 1 << 12,
  'resource-exhausted': 1 << 13,
  unavailable: 1 << 14,
} as const;
export type RetryOnName = keyof typeof RetryOn;

export const GRPC_RETRY_ON_MASK =
  RetryOn.cancelled | RetryOn['deadline-exceeded'] | RetryOn.internal | RetryOn['resource-exhausted'] | RetryOn.unavailable;

/** Parses a retry_on list (config or the x-envoy-retry-on header); unknown tokens are ignored, as Envoy does. */
export function parseRetryOn(list: string | readonly string[] | undefined): number {
  if (list === undefined) return 0;
  const items = typeof list === 'string' ? list.split(',') : list;
  let bits = 0;
  for (const raw of items) {
    const b = RetryOn[raw.trim() as RetryOnName];
    if (b !== undefined) bits |= b;
  }
  return bits;
}

export function retryOnNames(bits: number): RetryOnName[] {
  return (Object.keys(RetryOn) as RetryOnName[]).filter((k) => (bits & RetryOn[k]) !== 0);
}

/** A route's retry policy compiled once per config version. */
export type CompiledRetryPolicy = {
  retryOn: number;
  numRetries: number;
  perTryTimeoutMs: number;
  perTryIdleTimeoutMs: number;
  statusCodes: readonly number[];
  retriableHeaders: readonly CompiledHeaderMatch[];
  retriableRequestHeaders: readonly CompiledHeaderMatch[];
  baseIntervalMs: number;
  maxIntervalMs: number;
  rateLimited: { resetHeaders: readonly ResetHeader[]; maxIntervalMs: number } | undefined;
  previousHosts: boolean;
  hostSelectionRetryMaxAttempts: number;
  bufferLimitBytes: number;
  grpcTrailerRetry: boolean;
  /** previous_priorities: how many attempts between recomputations of the excluded priorities; 0 = off. */
  previousPrioritiesEvery: number;
};

export function compileRetryPolicy(p: ir.RetryPolicy): CompiledRetryPolicy {
  return {
    retryOn: parseRetryOn(p.retryOn),
    numRetries: p.numRetries,
    perTryTimeoutMs: p.perTryTimeoutMs,
    perTryIdleTimeoutMs: p.perTryIdleTimeoutMs,
    statusCodes: [...p.retriableStatusCodes],
    retriableHeaders: p.retriableHeaders.map(compileHeaderMatch),
    retriableRequestHeaders: p.retriableRequestHeaders.map(compileHeaderMatch),
    // Envoy rounds a base under 1 ms up to 1 ms.
    baseIntervalMs: Math.max(1, p.backoff.baseIntervalMs),
    maxIntervalMs: Math.max(Math.max(1, p.backoff.baseIntervalMs), p.backoff.maxIntervalMs),
    rateLimited: p.rateLimitedBackoff
      ? {
          resetHeaders: p.rateLimitedBackoff.resetHeaders.map((h) => ({ name: h.name.toLowerCase(), format: h.format })),
          maxIntervalMs: p.rateLimitedBackoff.maxIntervalMs,
        }
      : undefined,
    previousHosts: p.previousHosts,
    hostSelectionRetryMaxAttempts: p.hostSelectionRetryMaxAttempts,
    bufferLimitBytes: p.bufferLimitBytes,
    grpcTrailerRetry: p.grpcTrailerRetry ?? false,
    previousPrioritiesEvery: p.retryPriority ? Math.max(1, p.retryPriority.updateFrequency) : 0,
  };
}
