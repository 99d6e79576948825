import { Host, type HostPoolSettings } from '../../src/dataplane/upstream/host.js';
import { Limit, RetryResource, type PoolStats } from '../../src/dataplane/upstream/resource-manager.js';

/** Pool counters, all zero. */
export function zeroPoolStats(): PoolStats {
  return {
    upstream_cx_overflow: 0,
    upstream_rq_pending_overflow: 0,
    upstream_rq_pending_total: 0,
    upstream_rq_pending_active: 0,
    upstream_cx_total: 0,
    upstream_cx_active: 0,
    upstream_cx_max_requests: 0,
    upstream_cx_max_duration_reached: 0,
  };
}

/** Pool settings for hosts that unit tests build without a cluster (pools are never opened). */
export function testHostSettings(): HostPoolSettings {
  return {
    connectTimeoutMs: 1000,
    idleTimeoutMs: 0,
    maxRequestsPerConnection: 0,
    h2MaxConcurrentStreams: 100,
    resources: {
      connections: new Limit(10),
      pending: new Limit(10),
      requests: new Limit(10),
      retries: new RetryResource(3, undefined, () => 0),
    },
    stats: zeroPoolStats(),
  };
}

/** Hosts on 127.0.0.1 ports base, base+1, ... with the given weights (default 1 each). */
export function testHosts(n: number, opts: { base?: number; weights?: number[]; priority?: number } = {}): Host[] {
  const settings = testHostSettings();
  return Array.from(
    { length: n },
    (_, i) =>
      new Host(
        { address: '127.0.0.1', port: (opts.base ?? 9000) + i, weight: opts.weights?.[i] ?? 1, priority: opts.priority ?? 0 },
        settings,
      ),
  );
}
