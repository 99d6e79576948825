/**
 * All of one BackendTrafficPolicy's features, built by the per-feature builders (Envoy Gateway
 * `buildTrafficFeatures`), plus Envoy Gateway's status text when any of them is invalid: the
 * policy is then `Accepted=False/Invalid` and the HTTP routes it applies to answer 500.
 */
import type { FaultPolicy, RetryPolicy } from '../../../ir/policy.js';
import { Diagnostics, type LoadedObject } from '../../model.js';
import { buildCircuitBreaker, type CircuitBreakerFragment } from './build-circuit-breaker.js';
import { buildConnection, type ConnectionFragment } from './build-connection.js';
import { buildFault } from './build-fault.js';
import { buildHealthCheck, type HealthCheckFragment } from './build-health-check.js';
import { buildLoadBalancer, type LoadBalancerFragment } from './build-load-balancer.js';
import { buildRetry } from './build-retry.js';
import { buildTcpKeepalive, type TcpKeepaliveFragment } from './build-tcp-keepalive.js';
import { buildTimeout, type TimeoutFragment } from './build-timeout.js';
import { FEATURE_TITLE, type Feature } from './spec-reader.js';

export type TrafficFeatures = {
  retry?: RetryPolicy;
  timeout?: TimeoutFragment;
  circuitBreaker?: CircuitBreakerFragment;
  healthCheck?: HealthCheckFragment;
  faultInjection?: FaultPolicy;
  loadBalancer?: LoadBalancerFragment;
  tcpKeepalive?: TcpKeepaliveFragment;
  connection?: ConnectionFragment;
  /** Envoy Gateway's condition message for the policy's errors (`Retry: baseInterval cannot be set to 0s.`). */
  error?: string;
};

/** The order Envoy Gateway builds (and so reports) the features in. */
const ORDER: readonly Feature[] = [
  'loadBalancer',
  'healthCheck',
  'circuitBreaker',
  'faultInjection',
  'tcpKeepalive',
  'retry',
  'timeout',
  'connection',
];

const BUILDERS: { [F in Feature]: (btp: LoadedObject, diags: Diagnostics) => TrafficFeatures[F] } = {
  loadBalancer: buildLoadBalancer,
  healthCheck: buildHealthCheck,
  circuitBreaker: buildCircuitBreaker,
  faultInjection: buildFault,
  tcpKeepalive: buildTcpKeepalive,
  retry: buildRetry,
  timeout: buildTimeout,
  connection: buildConnection,
};

export function buildTrafficFeatures(btp: LoadedObject, diags: Diagnostics): TrafficFeatures {
  const out: TrafficFeatures = {};
  const errors: string[] = [];
  for (const feature of ORDER) {
    const local = new Diagnostics();
    const value = BUILDERS[feature](btp, local);
    if (value !== undefined) (out as Record<Feature, unknown>)[feature] = value;
    diags.items.push(...local.items);
    const failed = local.items.filter((d) => d.severity === 'error').map((d) => d.message);
    // Envoy Gateway stops at the first error of a feature, except for timeouts, where it joins them.
    if (failed.length > 0) errors.push(`${FEATURE_TITLE[feature]}: ${feature === 'timeout' ? failed.join('\n') : failed[0]}`);
  }
  if (errors.length > 0) out.error = conditionMessage(errors.join('\n'));
  return out;
}

/** Envoy Gateway's `Error2ConditionMsg`: capital first letter, final period. */
export function conditionMessage(text: string): string {
  if (text === '') return text;
  const first = text[0]!;
  const out = /\p{L}/u.test(first) ? first.toUpperCase() + text.slice(1) : text;
  return out.endsWith('.') ? out : `${out}.`;
}
