/** Stat names per subsystem, with Envoy's names where the meaning matches. Sorted. */

export const CLUSTER_STATS = {
  counters: [
    'upstream_cx_connect_fail',
    'upstream_cx_connect_timeout',
    'upstream_cx_total',
    'upstream_rq_1xx',
    'upstream_rq_2xx',
    'upstream_rq_3xx',
    'upstream_rq_4xx',
    'upstream_rq_5xx',
    'upstream_rq_cancelled',
    'upstream_rq_completed',
    'upstream_rq_per_try_timeout',
    'upstream_rq_rx_reset',
    'upstream_rq_timeout',
    'upstream_rq_total',
    'upstream_rq_tx_reset',
    'upstream_cx_destroy_remote_with_active_rq',
    'upstream_cx_protocol_error',
    'upstream_rq_reset_after_downstream_response_started',
    'lb_healthy_panic',
    'retry_or_shadow_abandoned',
    'upstream_rq_per_try_idle_timeout',
    'upstream_rq_retry',
    'upstream_rq_retry_backoff_exponential',
    'upstream_rq_retry_backoff_ratelimited',
    'upstream_rq_retry_limit_exceeded',
    'upstream_rq_retry_overflow',
    'upstream_rq_retry_success',
    'upstream_cx_overflow',
    'upstream_rq_pending_overflow',
    'upstream_rq_pending_total',
    'upstream_cx_max_requests',
    'upstream_cx_max_duration_reached',
    'upstream_cx_none_healthy',
  ],
  gauges: ['upstream_rq_active', 'upstream_rq_pending_active', 'upstream_cx_active', 'membership_total', 'membership_healthy'],
} as const;

export const HOST_STATS = {
  counters: ['cx_connect_fail', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'],
  gauges: ['rq_active'],
} as const;

export const LISTENER_STATS = {
  counters: [
    'downstream_cx_http1_total',
    'downstream_cx_http2_total',
    'downstream_cx_ssl_total',
    'downstream_cx_total',
    'downstream_rq_1xx',
    'downstream_rq_2xx',
    'downstream_rq_3xx',
    'downstream_rq_4xx',
    'downstream_rq_5xx',
    'downstream_rq_completed',
    'downstream_rq_http1_total',
    'downstream_rq_http2_total',
    'downstream_rq_rx_reset',
    'downstream_rq_total',
    'downstream_rq_tx_reset',
    'no_route',
    'rq_direct_response',
    'rq_redirect',
    'downstream_rq_max_duration_reached',
    'downstream_rq_timeout',
    'downstream_rq_idle_timeout',
    'downstream_cx_idle_timeout',
    'downstream_cx_overflow',
    'downstream_http2_keepalive_timeout',
    'downstream_http2_rx_reset',
    'downstream_http2_tx_reset',
    'downstream_http2_header_overflow',
    'downstream_http2_rx_messaging_error',
    'downstream_http2_outbound_control_flood',
    'downstream_cx_protocol_error',
    'requests_rejected_with_underscores_in_headers',
    'dropped_headers_with_underscores',
    'downstream_cx_destroy',
    'no_cluster',
    'rq_total',
  ],
  gauges: ['downstream_cx_active', 'downstream_rq_active', 'downstream_cx_http1_active', 'downstream_cx_http2_active'],
} as const;

/**
 * The part of LISTENER_STATS Envoy keeps in the listener's own scope (`listener.<address>.`);
 * everything in LISTENER_STATS is also shown in the HTTP connection manager's (`http.<prefix>.`).
 */
export const LISTENER_SCOPE_STATS: readonly string[] = [
  'downstream_cx_active',
  'downstream_cx_destroy',
  'downstream_cx_overflow',
  'downstream_cx_total',
];

/** Per-listener HCM stats Envoy keeps under `listener.<address>.http.<prefix>.`. */
export const LISTENER_HTTP_SCOPE_STATS: readonly string[] = [
  'downstream_rq_1xx',
  'downstream_rq_2xx',
  'downstream_rq_3xx',
  'downstream_rq_4xx',
  'downstream_rq_5xx',
  'downstream_rq_completed',
];

/** Response-code classes and completions: `upstream_rq_<N>xx`, `upstream_rq_completed`. */
const CODE_CLASS_COUNTERS = [
  'upstream_rq_1xx',
  'upstream_rq_2xx',
  'upstream_rq_3xx',
  'upstream_rq_4xx',
  'upstream_rq_5xx',
  'upstream_rq_completed',
] as const;

/** `cluster.<c>.retry.*`: responses that were retried rather than sent (Envoy's `retry_` prefix). */
export const RETRY_CODE_STATS = { counters: CODE_CLASS_COUNTERS, gauges: [] } as const;

/**
 * `vhost.<vh>.route.<route>.*`: Envoy keeps these for routes with a `stat_prefix`; legate keeps
 * them for every forwarding route, the route's name standing in for the prefix.
 */
export const ROUTE_STATS = {
  counters: [
    ...CODE_CLASS_COUNTERS,
    'upstream_rq_retry',
    'upstream_rq_retry_limit_exceeded',
    'upstream_rq_retry_overflow',
    'upstream_rq_retry_success',
    'upstream_rq_timeout',
    'upstream_rq_total',
  ],
  gauges: [],
} as const;

/**
 * `cluster.<c>.circuit_breakers.default.*`, read from the cluster's resources at scrape. Envoy
 * reports `remaining_*` only with `track_remaining`; legate always does.
 */
export const CIRCUIT_BREAKER_STATS = {
  counters: [],
  gauges: [
    'cx_open',
    'remaining_cx',
    'remaining_pending',
    'remaining_retries',
    'remaining_rq',
    'rq_open',
    'rq_pending_open',
    'rq_retry_open',
  ],
} as const;

/** `server.*`, computed at scrape. `state`: 0 live, 1 draining, 2 pre-initializing (Envoy's values). */
export const SERVER_STATS = {
  counters: [],
  gauges: ['concurrency', 'live', 'memory_allocated', 'memory_heap_size', 'state', 'total_connections', 'uptime'],
} as const;

/**
 * `local_runtime.*`: the processes the local runtime starts for known images (no Envoy
 * equivalent). Supplied to the admin server by whoever runs them.
 */
export const LOCAL_RUNTIME_STATS = {
  counters: ['process_exits', 'process_restarts', 'process_starts'],
  gauges: ['processes_running'],
} as const;

/** Latency histograms (ms) per scope, Envoy's names. */
export const HISTOGRAMS = {
  cluster: ['upstream_cx_connect_ms', 'upstream_cx_length_ms', 'upstream_rq_time'],
  route: ['upstream_rq_time'],
  http: ['downstream_cx_length_ms', 'downstream_rq_time'],
  listener: ['downstream_cx_length_ms'],
} as const;
