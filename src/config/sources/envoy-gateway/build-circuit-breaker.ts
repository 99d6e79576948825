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
import {
  EG_CODES,
  checkKnown,
  egDefault,
  fail,
  get,
  manifestOrigin,
  readInt,
  readObject,
  reader,
  warn,
  type Path,
  type Reader,
} from './spec-reader.js';

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
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'circuitBreaker', ['spec']);
  const cb = readObject(r, at.value, at.path);
  if (!cb) return undefined;
  checkKnown(r, cb, at.path, [
    'maxConnections',
    'maxPendingRequests',
    'maxParallelRequests',
    'maxParallelRetries',
    'maxRequestsPerConnection',
    'perEndpoint',
    'retryBudget',
  ]);
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
  // Envoy Gateway's order and its messages ("invalid MaxConnections value -1").
  const uint32 = (key: string, name: string, base: Path = at.path, obj = cb) => {
    const f = get(r, obj, key, base);
    const v = readInt(r, f.value, f.path, { min: 0, max: UINT32_MAX, message: (v) => `invalid ${name} value ${String(v)}` });
    return { v, path: f.path };
  };
  const maxConnections = uint32('maxConnections', 'MaxConnections');
  const maxRequests = uint32('maxParallelRequests', 'MaxParallelRequests');
  const maxPending = uint32('maxPendingRequests', 'MaxPendingRequests');
  const maxRetries = uint32('maxParallelRetries', 'MaxParallelRetries');
  const perConn = uint32('maxRequestsPerConnection', 'MaxRequestsPerConnection');
  const set = (key: keyof Omit<CircuitBreakers, 'origin' | 'retryBudget'>, f: { v: number | undefined; path: Path }) => {
    if (f.v === undefined) return;
    out[key] = f.v;
    origin[key] = manifestOrigin(r, f.path);
  };
  set('maxConnections', maxConnections);
  set('maxRequests', maxRequests);
  set('maxPendingRequests', maxPending);
  set('maxRetries', maxRetries);

  const fragment: CircuitBreakerFragment = { circuitBreakers: out };
  if (perConn.v !== undefined)
    fragment.pool = { maxRequestsPerConnection: perConn.v, origin: { maxRequestsPerConnection: manifestOrigin(r, perConn.path) } };

  const pe = get(r, cb, 'perEndpoint', at.path);
  const perEndpoint = readObject(r, pe.value, pe.path);
  if (perEndpoint) {
    checkKnown(r, perEndpoint, pe.path, ['maxConnections']);
    const m = uint32('maxConnections', 'PerEndpoint MaxConnections', pe.path, perEndpoint);
    fragment.perEndpoint =
      m.v !== undefined
        ? { maxConnections: m.v, origin: { maxConnections: manifestOrigin(r, m.path) } }
        : { maxConnections: ENVOY_GATEWAY.PER_ENDPOINT_MAX_CONNECTIONS, origin: { maxConnections: d('PER_ENDPOINT_MAX_CONNECTIONS') } };
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      pe.path,
      'per-endpoint connection limits are recorded but not enforced by legate yet',
      'use maxConnections for a cluster-wide limit',
    );
  }

  const rb = get(r, cb, 'retryBudget', at.path);
  const budget = readObject(r, rb.value, rb.path);
  if (budget) {
    checkKnown(r, budget, rb.path, ['percent', 'minRetryConcurrency']);
    const p = get(r, budget, 'percent', rb.path);
    const percent = readFraction(r, p.value, p.path);
    const m = get(r, budget, 'minRetryConcurrency', rb.path);
    const min = readInt(r, m.value, m.path, { min: 0, max: UINT32_MAX });
    if (percent !== undefined) {
      out.retryBudget = { budgetPercent: percent, minRetryConcurrency: min ?? ENVOY_GATEWAY.RETRY_BUDGET_MIN_CONCURRENCY };
      origin['retryBudget.budgetPercent'] = manifestOrigin(r, p.path);
      origin['retryBudget.minRetryConcurrency'] = min !== undefined ? manifestOrigin(r, m.path) : d('RETRY_BUDGET_MIN_CONCURRENCY');
      if (maxRetries.v !== undefined)
        warn(
          r,
          EG_CODES.NO_EFFECT,
          maxRetries.path,
          'maxParallelRetries is ignored when retryBudget is set: the budget limits retries',
          'keep one of them',
        );
    }
  }
  return r.ok ? fragment : undefined;
}

/** A Gateway API `Fraction` ({numerator, denominator (default 100)}) as a percentage, as Envoy Gateway's ToPercent. */
function readFraction(r: Reader, v: unknown, path: Path): number | undefined {
  const f = readObject(r, v, path);
  if (!f) {
    if (v === undefined || v === null) fail(r, path, 'retryBudget.percent is required', 'write percent: {numerator: 20} for a 20% budget');
    return undefined;
  }
  const n = get(r, f, 'numerator', path);
  const dn = get(r, f, 'denominator', path);
  if (n.value === undefined || n.value === null) {
    fail(r, n.path, 'percent.numerator is required', 'write percent: {numerator: 20} for a 20% budget');
    return undefined;
  }
  const numerator = readInt(r, n.value, n.path, { min: 0, max: 2_147_483_647 });
  const denominator = readInt(r, dn.value, dn.path, { min: 1, max: 2_147_483_647 }) ?? 100;
  if (numerator === undefined) return undefined;
  if (numerator > denominator) {
    fail(r, n.path, 'numerator must be less than or equal to denominator', `use a numerator of at most ${denominator}`);
    return undefined;
  }
  return (numerator / denominator) * 100;
}
