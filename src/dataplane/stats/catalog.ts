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
  ],
  gauges: ['upstream_rq_active', 'upstream_rq_pending_active', 'membership_total', 'membership_healthy'],
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
  ],
  gauges: ['downstream_cx_active', 'downstream_rq_active'],
} as const;
