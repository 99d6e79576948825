/**
 * A cluster as Envoy Gateway emits it before any BackendTrafficPolicy: Envoy's defaults except a
 * 10 s connect timeout, `max_retries: 1024` in the circuit breakers (always written) and the least
 * request load balancer (config-apis.md 2.4, 2.5, 2.8).
 */
import { clusterDefaults } from '../../../ir/builders.js';
import type { Cluster, Endpoint } from '../../../ir/cluster.js';
import { ENVOY, ENVOY_GATEWAY } from '../../../ir/defaults.js';
import { defaultOrigin } from '../../../ir/origin.js';

export function egClusterDefaults(name: string, endpoints: Endpoint[]): Cluster {
  const c = clusterDefaults(name, endpoints, 'envoy');
  const d = (n: string) => defaultOrigin('envoy-gateway', `ENVOY_GATEWAY.${n}`);
  c.pool.connectTimeoutMs = ENVOY_GATEWAY.CONNECT_TIMEOUT_MS;
  c.pool.origin['connectTimeoutMs'] = d('CONNECT_TIMEOUT_MS');
  c.circuitBreakers.maxRetries = ENVOY_GATEWAY.MAX_RETRIES;
  c.circuitBreakers.origin['maxRetries'] = d('MAX_RETRIES');
  c.lbPolicy = ENVOY_GATEWAY.LB_POLICY;
  c.origin['lbPolicy'] = d('LB_POLICY');
  c.leastRequestChoiceCount = ENVOY.LEAST_REQUEST_CHOICE_COUNT;
  c.origin['leastRequestChoiceCount'] = defaultOrigin('envoy', 'ENVOY.LEAST_REQUEST_CHOICE_COUNT');
  return c;
}
