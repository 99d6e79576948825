import type { Origins } from './origin.js';
import type { HeaderMatch } from './route.js';

export type HttpRetryOn =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'reset-before-request'
  | 'connect-failure'
  | 'envoy-ratelimited'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'retriable-headers';
export type GrpcRetryOn = 'cancelled' | 'deadline-exceeded' | 'internal' | 'resource-exhausted' | 'unavailable';
export type RetryOn = HttpRetryOn | GrpcRetryOn;

export const HTTP_RETRY_ON: readonly HttpRetryOn[] = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
];
export const GRPC_RETRY_ON: readonly GrpcRetryOn[] = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];

export type TimeoutPolicy = {
  /** Route (global) timeout across all attempts and backoff; 0 = none. */
  requestMs: number;
  /** Per-stream idle timeout; absent = listener default. */
  idleMs?: number;
  /** Legacy gRPC handling: cap taken from grpc-timeout (0 = use the header without a cap). */
  maxGrpcTimeoutMs?: number;
  grpcTimeoutOffsetMs?: number;
  /**
   * Envoy's "new" stream-duration timeouts (RouteAction.max_stream_duration). When present the
   * route timeout is not armed, as in Envoy; gRPC clients get DEADLINE_EXCEEDED on expiry.
   */
  maxStreamDuration?: { maxMs?: number; grpcTimeoutHeaderMaxMs?: number; grpcTimeoutHeaderOffsetMs?: number };
  origin: Origins;
};

export type RetryPolicy = {
  retryOn: RetryOn[];
  numRetries: number;
  perTryTimeoutMs: number;
  perTryIdleTimeoutMs: number;
  retriableStatusCodes: number[];
  retriableHeaders: HeaderMatch[];
  retriableRequestHeaders: HeaderMatch[];
  backoff: { baseIntervalMs: number; maxIntervalMs: number };
  rateLimitedBackoff?: {
    resetHeaders: { name: string; format: 'seconds' | 'unix-timestamp' }[];
    maxIntervalMs: number;
  };
  /** Reject hosts already tried for this request. */
  previousHosts: boolean;
  hostSelectionRetryMaxAttempts: number;
  /** Replay buffer limit for request bodies; over it the request is not retried. */
  bufferLimitBytes: number;
  /**
   * Envoy's previous_priorities retry plugin (Istio's retryRemoteLocalities): retries treat the
   * priorities already tried as unavailable, so they go to other localities.
   */
  retryPriority?: { kind: 'previous-priorities'; updateFrequency: number };
  /** legate extension: hold unary gRPC responses until trailers to retry on trailer status. */
  grpcTrailerRetry?: boolean;
  origin: Origins;
};

export type HedgePolicy = { onPerTryTimeout: boolean; origin: Origins };

export type FractionalPercent = { numerator: number; denominator: 100 | 10_000 | 1_000_000 };

export type FaultPolicy = {
  delay?: { fixedMs?: number; fromHeader?: boolean; percent: FractionalPercent };
  abort?: { httpStatus?: number; grpcStatus?: number; fromHeader?: boolean; percent: FractionalPercent };
  maxActiveFaults?: number;
  /** `request`: once, before routing (Envoy). `attempt`: per attempt, visible to retries (legate). */
  scope: 'request' | 'attempt';
  origin: Origins;
};
