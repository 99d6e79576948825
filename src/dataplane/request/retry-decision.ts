import type { CompiledHeaderMatch } from '../router/compile-route-match.js';
import type { ResetReason } from '../upstream/reset-reason.js';
import { RetryOn, GRPC_RETRY_ON_MASK, type RetryOnName } from './retry-policy.js';

/** Why an outcome may be retried, or `null` when it may not. Pure: nothing is counted here. */
export type RetryReason = { kind: 'retry'; on: RetryOnName; rateLimited: boolean } | null;

/** The effective retry conditions of one request (policy + trusted request headers). */
export type RetryConditions = {
  retryOn: number;
  statusCodes: readonly number[];
  retriableHeaders: readonly CompiledHeaderMatch[];
};

/**
 * Envoy's decision on response headers, in its order (first match wins). `grpcStatus` is the
 * grpc-status found in the response HEADERS (a trailers-only response), or, when the trailer
 * option is on, in the held trailers.
 */
export function wouldRetryFromHeaders(c: RetryConditions, status: number, headers: string[], grpcStatus: number | undefined): RetryReason {
  // An upstream Envoy's rate limiter answered: nothing else applies unless envoy-ratelimited is on.
  if (hasHeader(headers, 'x-envoy-ratelimited')) {
    return (c.retryOn & RetryOn['envoy-ratelimited']) !== 0 ? { kind: 'retry', on: 'envoy-ratelimited', rateLimited: true } : null;
  }
  const on = c.retryOn;
  if (on & RetryOn['5xx'] && status >= 500 && status <= 599) return { kind: 'retry', on: '5xx', rateLimited: true };
  if (on & RetryOn['gateway-error'] && (status === 502 || status === 503 || status === 504))
    return { kind: 'retry', on: 'gateway-error', rateLimited: true };
  if (on & RetryOn['retriable-4xx'] && status === 409) return { kind: 'retry', on: 'retriable-4xx', rateLimited: true };
  if (on & RetryOn['retriable-status-codes'] && c.statusCodes.includes(status))
    return { kind: 'retry', on: 'retriable-status-codes', rateLimited: true };
  if (on & RetryOn['retriable-headers'] && c.retriableHeaders.length > 0) {
    for (const m of c.retriableHeaders) if (matchFlat(m, headers)) return { kind: 'retry', on: 'retriable-headers', rateLimited: true };
  }
  if (on & GRPC_RETRY_ON_MASK && grpcStatus !== undefined) {
    if (grpcStatus === 1 && on & RetryOn.cancelled) return { kind: 'retry', on: 'cancelled', rateLimited: true };
    if (grpcStatus === 4 && on & RetryOn['deadline-exceeded']) return { kind: 'retry', on: 'deadline-exceeded', rateLimited: true };
    if (grpcStatus === 8 && on & RetryOn['resource-exhausted']) return { kind: 'retry', on: 'resource-exhausted', rateLimited: true };
    if (grpcStatus === 14 && on & RetryOn.unavailable) return { kind: 'retry', on: 'unavailable', rateLimited: true };
    if (grpcStatus === 13 && on & RetryOn.internal) return { kind: 'retry', on: 'internal', rateLimited: true };
  }
  return null;
}

/**
 * Envoy's decision when no response headers arrived: connect failures, resets, per-try timeouts
 * (reason `local reset`). `anyBytesSent` is sticky across attempts.
 */
export function wouldRetryFromReset(retryOn: number, reason: ResetReason, anyBytesSent: boolean): RetryReason {
  if (reason === 'overflow') return null;
  const connectFailure = reason === 'local connection failure' || reason === 'remote connection failure' || reason === 'connection timeout';
  if (connectFailure && retryOn & RetryOn['connect-failure']) return { kind: 'retry', on: 'connect-failure', rateLimited: false };
  if (retryOn & RetryOn['reset-before-request'] && !anyBytesSent) return { kind: 'retry', on: 'reset-before-request', rateLimited: false };
  if (retryOn & RetryOn.reset) return { kind: 'retry', on: 'reset', rateLimited: false };
  if (retryOn & RetryOn['5xx']) return { kind: 'retry', on: '5xx', rateLimited: false };
  if (retryOn & RetryOn['gateway-error']) return { kind: 'retry', on: 'gateway-error', rateLimited: false };
  if (retryOn & RetryOn['refused-stream'] && reason === 'remote refused stream reset')
    return { kind: 'retry', on: 'refused-stream', rateLimited: false };
  return null;
}

function hasHeader(flat: string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return true;
  return false;
}

/** A compiled header matcher against a flat response header list (values of one name joined with ","). */
function matchFlat(m: CompiledHeaderMatch, flat: string[]): boolean {
  let value: string | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === m.name) value = value === undefined ? flat[i + 1] : `${value},${flat[i + 1]}`;
  }
  if (value === undefined) return false;
  const ok = m.test === null ? true : m.test(value);
  return m.invert ? !ok : ok;
}
