/**
 * HTTPRoute `timeouts` (GEP-1742) and `retry` (GEP-1731) -> IR, as Envoy Gateway maps them
 * (config-apis.md 1.11, 1.12; EG internal/gatewayapi/route.go processRouteTimeout and
 * processRouteRetry, xds/translator/route.go buildRetryPolicy):
 *
 * - `request` -> route timeout. `backendRequest` -> the per-try timeout of the retry policy when the
 *   rule has `retry`; without `retry` it becomes the route timeout (one attempt, so it bounds the
 *   whole request), replacing `request`. `0s` disables a timeout.
 * - Neither set (and GRPCRoutes, which have no timeouts): Envoy's 15 s route timeout, which Envoy
 *   Gateway leaves in place (ENVOY_GATEWAY.ROUTE_TIMEOUT_MS).
 * - `retry` -> EG's retry defaults (retry_on connect-failure,refused-stream,unavailable,cancelled,
 *   retriable-status-codes; previous_hosts; 5 host selection attempts) with `attempts` as the
 *   number of retries (default 2), `codes` as the retriable status codes (default [503]) and
 *   `backoff` as the base interval (Envoy's max is 10x the base).
 *
 * A rule `retry` or `timeouts.request` wins over a BackendTrafficPolicy (EG GetRetry,
 * getEffectiveRequestTimeout); the policy helper can tell from the origins, which point at the
 * HTTPRoute for values it set.
 */
import type * as ir from '../../../ir/index.js';
import { retryPolicyDefaults } from '../../../ir/builders.js';
import { ENVOY, ENVOY_GATEWAY } from '../../../ir/defaults.js';
import { defaultOrigin } from '../../../ir/origin.js';
import { originOf } from './read.js';
import type * as gwapi from './types.js';

export function buildRouteTimeout(route: gwapi.Route, rule: gwapi.Rule): ir.TimeoutPolicy {
  if (rule.kind === 'HTTPRoute' && rule.timeouts) {
    const t = rule.timeouts;
    if (t.backendRequest !== undefined && !rule.retry)
      return { requestMs: t.backendRequest, origin: { requestMs: originOf(route.object, [...rule.path, 'timeouts', 'backendRequest']) } };
    if (t.request !== undefined)
      return { requestMs: t.request, origin: { requestMs: originOf(route.object, [...rule.path, 'timeouts', 'request']) } };
  }
  return {
    requestMs: ENVOY_GATEWAY.ROUTE_TIMEOUT_MS,
    origin: { requestMs: defaultOrigin('envoy-gateway', 'ENVOY_GATEWAY.ROUTE_TIMEOUT_MS') },
  };
}

export function buildRouteRetry(route: gwapi.Route, rule: gwapi.Rule): ir.RetryPolicy | undefined {
  if (rule.kind !== 'HTTPRoute' || !rule.retry) return undefined;
  const r = rule.retry;
  const at = (...p: string[]) => originOf(route.object, [...rule.path, ...p]);
  const eg = (name: string) => defaultOrigin('envoy-gateway', name);
  const p = retryPolicyDefaults([...ENVOY_GATEWAY.RETRY_ON] as ir.RetryOn[]);
  p.origin.retryOn = eg('ENVOY_GATEWAY.RETRY_ON');

  p.numRetries = r.attempts ?? ENVOY_GATEWAY.NUM_RETRIES;
  p.origin.numRetries = r.attempts !== undefined ? at('retry', 'attempts') : eg('ENVOY_GATEWAY.NUM_RETRIES');

  p.retriableStatusCodes = r.codes.length > 0 ? [...r.codes] : [...ENVOY_GATEWAY.RETRIABLE_STATUS_CODES];
  p.origin.retriableStatusCodes = r.codes.length > 0 ? at('retry', 'codes') : eg('ENVOY_GATEWAY.RETRIABLE_STATUS_CODES');

  // A backoff of 0s asks for no minimum wait; Envoy needs a base interval > 0, so its default stays.
  if (r.backoffMs !== undefined && r.backoffMs > 0) {
    p.backoff = { baseIntervalMs: r.backoffMs, maxIntervalMs: r.backoffMs * ENVOY.RETRY_MAX_INTERVAL_FACTOR };
    p.origin['backoff.baseIntervalMs'] = at('retry', 'backoff');
  }

  p.previousHosts = ENVOY_GATEWAY.RETRY_PREVIOUS_HOSTS;
  p.origin.previousHosts = eg('ENVOY_GATEWAY.RETRY_PREVIOUS_HOSTS');
  p.hostSelectionRetryMaxAttempts = ENVOY_GATEWAY.HOST_SELECTION_RETRY_MAX_ATTEMPTS;
  p.origin.hostSelectionRetryMaxAttempts = eg('ENVOY_GATEWAY.HOST_SELECTION_RETRY_MAX_ATTEMPTS');

  const backendRequest = rule.timeouts?.backendRequest;
  if (backendRequest !== undefined) {
    p.perTryTimeoutMs = backendRequest;
    p.origin.perTryTimeoutMs = at('timeouts', 'backendRequest');
  }
  return p;
}
