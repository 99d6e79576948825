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
  /** HCM common_http_protocol_options.idle_timeout: an idle downstream connection is closed. */
  DOWNSTREAM_IDLE_TIMEOUT_MS: 3_600_000,
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
  /** HTTP/2 stream window advertised downstream (Node's default of 64 KiB slows large uploads). */
  DOWNSTREAM_H2_STREAM_WINDOW: 1_048_576,
  /** HTTP/2 connection window downstream: the protocol's initial 65535 would cap every stream together. */
  DOWNSTREAM_H2_CONNECTION_WINDOW: 1_048_576,
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
  /** Since Istio 1.24 the default retry policy has no retriable status codes (503 is not retried). */
  RETRIABLE_STATUS_CODES: [] as number[],
  RETRY_PREVIOUS_HOSTS: true,
  /** retryRemoteLocalities: previous_priorities with this update frequency. */
  RETRY_PRIORITY_UPDATE_FREQUENCY: 2,
  /** MeshConfig connectTimeout. */
  CONNECT_TIMEOUT_MS: 10_000,
  /** connectionPool idleTimeout. */
  IDLE_TIMEOUT_MS: 3_600_000,
  /** LoadBalancerSettings UNSPECIFIED. */
  LB_POLICY: 'least_request',
  /** outlierDetection.minHealthPercent, written as the panic threshold whenever outlier detection is set. */
  MIN_HEALTH_PERCENT: 0,
  OUTLIER_INTERVAL_MS: 10_000,
  OUTLIER_BASE_EJECTION_TIME_MS: 30_000,
  OUTLIER_MAX_EJECTION_PERCENT: 10,
  /** MeshConfig localityLbSetting: {enabled: true}. */
  LOCALITY_LB_ENABLED: true,
  /** consistentHash ringHash.minimumRingSize and maglev.tableSize. */
  RING_HASH_MINIMUM_RING_SIZE: 1024,
  MAGLEV_TABLE_SIZE: 65_537,
  /** HTTPRedirect.redirectCode. */
  REDIRECT_CODE: 301,
  /** warmup.minimumPercent and aggression. */
  WARMUP_MINIMUM_PERCENT: 10,
  WARMUP_AGGRESSION: 1,
  /** The namespace legate's mesh listeners act for (short names of its services resolve). */
  CLIENT_NAMESPACE: 'default',
  /** The root namespace whose DestinationRules apply mesh-wide. */
  ROOT_NAMESPACE: 'istio-system',
} as const;

/**
 * Envoy Gateway's defaults (config-apis.md section 2): the constants its translator writes, and the
 * `+kubebuilder:default` values the API server fills in (a local loader has to apply them itself).
 * Entries marked "Envoy's" are values Envoy Gateway leaves to Envoy; they live here so that the
 * Envoy Gateway builders name one place.
 */
export const ENVOY_GATEWAY = {
  ROUTE_TIMEOUT_MS: 15_000,
  /** Retry (2.3): EG's RetryPolicy when a `retry` block exists at all. */
  NUM_RETRIES: 2,
  RETRY_ON: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  RETRIABLE_STATUS_CODES: [503],
  HOST_SELECTION_RETRY_MAX_ATTEMPTS: 5,
  /** retry_host_predicate: previous_hosts. */
  RETRY_PREVIOUS_HOSTS: true,
  /** Timeout (2.4): cluster connect_timeout when `timeout.tcp.connectTimeout` is unset. */
  CONNECT_TIMEOUT_MS: 10_000,
  /** `timeout.http.connectionIdleTimeout` (Envoy's upstream idle timeout, documented by EG). */
  CONNECTION_IDLE_TIMEOUT_MS: 3_600_000,
  /** Route idle timeout floor when only a request timeout is set: max(1 h, request timeout). */
  ROUTE_IDLE_TIMEOUT_FLOOR_MS: 3_600_000,
  /** Circuit breaker (2.5): kubebuilder defaults; max_retries is written even without a policy. */
  MAX_CONNECTIONS: 1024,
  MAX_PENDING_REQUESTS: 1024,
  MAX_REQUESTS: 1024,
  MAX_RETRIES: 1024,
  PER_ENDPOINT_MAX_CONNECTIONS: 1024,
  RETRY_BUDGET_MIN_CONCURRENCY: 3,
  /** Health check (2.6), active. */
  HEALTH_CHECK_TIMEOUT_MS: 1000,
  HEALTH_CHECK_INTERVAL_MS: 3000,
  HEALTH_CHECK_UNHEALTHY_THRESHOLD: 3,
  HEALTH_CHECK_HEALTHY_THRESHOLD: 1,
  HEALTH_CHECK_EXPECTED_STATUSES: [200],
  HEALTH_CHECK_METHOD: 'GET',
  /** Health check (2.6), passive (outlier detection). */
  OUTLIER_INTERVAL_MS: 3000,
  OUTLIER_CONSECUTIVE_5XX: 5,
  OUTLIER_CONSECUTIVE_LOCAL_ORIGIN_FAILURES: 5,
  OUTLIER_BASE_EJECTION_TIME_MS: 30_000,
  OUTLIER_MAX_EJECTION_PERCENT: 10,
  OUTLIER_SPLIT_EXTERNAL_LOCAL_ORIGIN_ERRORS: false,
  OUTLIER_ALWAYS_EJECT_ONE_ENDPOINT: false,
  /** Enforcement EG writes next to consecutiveGatewayErrors / failurePercentageThreshold. */
  OUTLIER_ENFORCING_WHEN_SET: 100,
  /** Fault injection (2.7): delay and abort percentage. */
  FAULT_PERCENTAGE: 100,
  /** Load balancer (2.8): no policy means least request. */
  LB_POLICY: 'least_request',
  CONSISTENT_HASH_TABLE_SIZE: 65_537,
  CONSISTENT_HASH_TABLE_SIZE_MAX: 5_000_011,
  ZONE_AWARE_MIN_ENDPOINTS_THRESHOLD: 6,
  /** Envoy's slow_start_config defaults (EG writes only the window). */
  SLOW_START_AGGRESSION: 1,
  SLOW_START_MIN_WEIGHT_PERCENT: 10,
  /** TCP keepalive (2.9), documented defaults (the Linux ones; EG leaves them unset). */
  TCP_KEEPALIVE_PROBES: 9,
  TCP_KEEPALIVE_IDLE_TIME_S: 7200,
  TCP_KEEPALIVE_INTERVAL_S: 75,
} as const;
