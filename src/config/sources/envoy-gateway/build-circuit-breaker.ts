/**
 * BackendTrafficPolicy `spec.circuitBreaker` -> the cluster's circuit breakers (config-apis.md 2.5;
 * Envoy Gateway `buildCircuitBreaker`, xds/translator cluster.go `buildXdsClusterCircuitBreaker`).
 *
 * Envoy Gateway's defaults differ from Envoy's in one place: `max_retries` is 1024 (Envoy: 3), and
 * Envoy Gateway writes it even when no policy sets a circuit breaker (see `egClusterDefaults`). The
 * other thresholds default to 1024 in both. `retryBudget` takes precedence over maxParallelRetries
 * in Envoy. `maxRequestsPerConnection` is a connection-pool setting, `perEndpoint.maxConnections`
 * a per-host threshold.
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { CircuitBreakers } from '../../../ir/cluster.js';
import type { Origins } from '../../../ir/origin.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { CircuitBreaker } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn } from './spec-reader.js';

export const UINT32_MAX = 4_294_967_295;

export type CircuitBreakerFragment = {
  /** Thresholds of the default priority, Envoy Gateway's defaults filled in. */
  circuitBreakers: CircuitBreakers;
  /** `maxRequestsPerConnection` -> `ir.PoolSettings.maxRequestsPerConnection`. */
  pool?: { maxRequestsPerConnection: number; origin: Origins };
  /** `perEndpoint.maxConnections` -> Envoy's per_host_thresholds (not in legate's IR yet). */
  perEndpoint?: { maxConnections: number; origin: Origins };
};

export function buildCircuitBreaker(btp: LoadedObject, diags: Diagnostics): CircuitBreakerFragment | undefined {
  const r = reader(btp, diags, 'circuitBreaker');
  const block = readFeature(r, CircuitBreaker);
  if (!block) return undefined;
  const { value: cb, at } = block;
  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  const origin: Origins = {
    maxConnections: d('MAX_CONNECTIONS'),
    maxPendingRequests: d('MAX_PENDING_REQUESTS'),
    maxRequests: d('MAX_REQUESTS'),
    maxRetries: d('MAX_RETRIES'),
  };
  const out: CircuitBreakers = {
    maxConnections: ENVOY_GATEWAY.MAX_CONNECTIONS,
    maxPendingRequests: ENVOY_GATEWAY.MAX_PENDING_REQUESTS,
    maxRequests: ENVOY_GATEWAY.MAX_REQUESTS,
    maxRetries: ENVOY_GATEWAY.MAX_RETRIES,
    origin,
  };
  const set = (key: keyof Omit<CircuitBreakers, 'origin' | 'retryBudget'>, field: keyof typeof cb, v: number | undefined) => {
    if (v === undefined) return;
    out[key] = v;
    origin[key] = manifestOrigin(r, at(field));
  };
  set('maxConnections', 'maxConnections', cb.maxConnections);
  set('maxRequests', 'maxParallelRequests', cb.maxParallelRequests);
  set('maxPendingRequests', 'maxPendingRequests', cb.maxPendingRequests);
  set('maxRetries', 'maxParallelRetries', cb.maxParallelRetries);

  const fragment: CircuitBreakerFragment = { circuitBreakers: out };
  if (cb.maxRequestsPerConnection !== undefined)
    fragment.pool = {
      maxRequestsPerConnection: cb.maxRequestsPerConnection,
      origin: { maxRequestsPerConnection: manifestOrigin(r, at('maxRequestsPerConnection')) },
    };

  if (cb.perEndpoint) {
    const m = cb.perEndpoint.maxConnections;
    fragment.perEndpoint =
      m !== undefined
        ? { maxConnections: m, origin: { maxConnections: manifestOrigin(r, at('perEndpoint', 'maxConnections')) } }
        : { maxConnections: ENVOY_GATEWAY.PER_ENDPOINT_MAX_CONNECTIONS, origin: { maxConnections: d('PER_ENDPOINT_MAX_CONNECTIONS') } };
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      at('perEndpoint'),
      'per-endpoint connection limits are recorded but not enforced by legate yet',
      'use maxConnections for a cluster-wide limit',
    );
  }

  const budget = cb.retryBudget;
  if (budget) {
    const { numerator = 0, denominator = 100 } = budget.percent;
    const min = budget.minRetryConcurrency;
    out.retryBudget = {
      budgetPercent: (numerator / denominator) * 100,
      minRetryConcurrency: min ?? ENVOY_GATEWAY.RETRY_BUDGET_MIN_CONCURRENCY,
    };
    origin['retryBudget.budgetPercent'] = manifestOrigin(r, at('retryBudget', 'percent'));
    origin['retryBudget.minRetryConcurrency'] =
      min !== undefined ? manifestOrigin(r, at('retryBudget', 'minRetryConcurrency')) : d('RETRY_BUDGET_MIN_CONCURRENCY');
    if (cb.maxParallelRetries !== undefined)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        at('maxParallelRetries'),
        'maxParallelRetries is ignored when retryBudget is set: the budget limits retries',
        'keep one of them',
      );
  }
  return r.ok ? fragment : undefined;
}
