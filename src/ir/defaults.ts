/**
 * Every default in one place. Names are referenced by `Origin` records of kind `default`, so keep
 * them stable. Values follow Envoy unless a dialect says otherwise (spec/envoy-semantics.md).
 */
export const ENVOY = {
  /** RouteAction.timeout: 15 s; 0 disables. */
  ROUTE_TIMEOUT_MS: 15_000,
  /** Cluster connect_timeout (includes the TLS handshake). */
  CONNECT_TIMEOUT_MS: 5_000,
  /** Upstream idle timeout of a pooled connection. */
  UPSTREAM_IDLE_TIMEOUT_MS: 3_600_000,
  /** HCM stream_idle_timeout. */
  STREAM_IDLE_TIMEOUT_MS: 300_000,
  /** RetryPolicy.num_retries when a policy exists. */
  NUM_RETRIES: 1,
  RETRY_BASE_INTERVAL_MS: 25,
  /** max_interval defaults to 10 x base. */
  RETRY_MAX_INTERVAL_FACTOR: 10,
  RATE_LIMITED_MAX_INTERVAL_MS: 300_000,
  HOST_SELECTION_RETRY_MAX_ATTEMPTS: 1,
  /** Circuit-breaker thresholds per priority. */
  MAX_CONNECTIONS: 1024,
  MAX_PENDING_REQUESTS: 1024,
  MAX_REQUESTS: 1024,
  MAX_RETRIES: 3,
  RETRY_BUDGET_PERCENT: 20,
  RETRY_BUDGET_MIN_CONCURRENCY: 3,
  /** HTTP/2 max_concurrent_streams (the peer's SETTINGS lower it). */
  H2_MAX_CONCURRENT_STREAMS: 2_147_483_647,
  HEALTHY_PANIC_THRESHOLD: 50,
  LEAST_REQUEST_CHOICE_COUNT: 2,
  OVERPROVISIONING_FACTOR: 140,
  /** per_connection_buffer_limit_bytes, also the retry replay limit. */
  BUFFER_LIMIT_BYTES: 1_048_576,
  /** Downstream limits (HCM): 60 KiB of headers, 100 headers. */
  MAX_REQUEST_HEADERS_KB: 60,
  MAX_HEADERS_COUNT: 100,
  /** Downstream HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
  DOWNSTREAM_MAX_CONCURRENT_STREAMS: 2_147_483_647,
} as const;

/** Limits legate applies where Envoy has none or a huge one that Node cannot honour cheaply. */
export const LEGATE = {
  /** Node's http2 default is 100 streams per session; legate advertises this many downstream. */
  DOWNSTREAM_MAX_CONCURRENT_STREAMS: 1000,
  ADMIN_ADDRESS: '127.0.0.1',
  ADMIN_PORT: 15000,
} as const;

export const ISTIO = {
  /** Istio sets every breaker threshold to 2^32-1 unless a DestinationRule says otherwise. */
  UNLIMITED: 4_294_967_295,
  NUM_RETRIES: 2,
  RETRY_ON: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  HOST_SELECTION_RETRY_MAX_ATTEMPTS: 5,
  /** VirtualService routes have no timeout by default. */
  ROUTE_TIMEOUT_MS: 0,
} as const;

export const ENVOY_GATEWAY = {
  ROUTE_TIMEOUT_MS: 15_000,
  NUM_RETRIES: 2,
  RETRY_ON: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  RETRIABLE_STATUS_CODES: [503],
  HOST_SELECTION_RETRY_MAX_ATTEMPTS: 5,
} as const;
