/**
 * GET /clusters: Envoy's `name::value` text lines per cluster and host, or `?format=json` in the
 * shape of Envoy's `ClusterStatuses` (uint64 values as strings, as protobuf JSON writes them).
 */
import type { Cluster } from '../../dataplane/upstream/cluster.js';
import type { Host } from '../../dataplane/upstream/host.js';
import { json, text, wantsJson, type AdminContext, type AdminRequest, type AdminResponse } from '../admin-context.js';

type HostStat = { name: string; value: number; gauge: boolean };

/** A host's stats as Envoy lists them: counters and gauges, sorted by name. */
function hostStats(h: Host): HostStat[] {
  const s = h.stats;
  return [
    { name: 'cx_active', value: h.connections, gauge: true },
    { name: 'cx_connect_fail', value: s.cx_connect_fail, gauge: false },
    { name: 'rq_active', value: s.rq_active, gauge: true },
    { name: 'rq_error', value: s.rq_error, gauge: false },
    { name: 'rq_success', value: s.rq_success, gauge: false },
    { name: 'rq_timeout', value: s.rq_timeout, gauge: false },
    { name: 'rq_total', value: s.rq_total, gauge: false },
  ];
}

function thresholds(c: Cluster) {
  const cb = c.config.circuitBreakers;
  return {
    max_connections: cb.maxConnections,
    max_pending_requests: cb.maxPendingRequests,
    max_requests: cb.maxRequests,
    max_retries: cb.maxRetries,
  };
}

export function clustersText(clusters: readonly Cluster[]): string {
  const out: string[] = [];
  for (const c of clusters) {
    const n = c.name;
    out.push(`${n}::observability_name::${n}`);
    const od = c.outlierDetector;
    if (od) {
      out.push(`${n}::outlier::success_rate_average::${od.successRateAverage}`);
      out.push(`${n}::outlier::success_rate_ejection_threshold::${od.successRateEjectionThreshold}`);
      out.push(`${n}::outlier::local_origin_success_rate_average::${od.localOriginSuccessRateAverage}`);
      out.push(`${n}::outlier::local_origin_success_rate_ejection_threshold::${od.localOriginSuccessRateEjectionThreshold}`);
    }
    for (const [k, v] of Object.entries(thresholds(c))) out.push(`${n}::default_priority::${k}::${v}`);
    out.push(`${n}::added_via_api::false`);
    for (const h of c.hosts) {
      const p = `${n}::${h.key}`;
      for (const s of hostStats(h)) out.push(`${p}::${s.name}::${s.value}`);
      out.push(`${p}::hostname::${h.hostname ?? ''}`);
      out.push(`${p}::health_flags::${h.healthFlags}`);
      out.push(`${p}::weight::${h.weight}`);
      out.push(`${p}::region::${h.locality?.region ?? ''}`);
      out.push(`${p}::zone::${h.locality?.zone ?? ''}`);
      out.push(`${p}::sub_zone::${h.locality?.subZone ?? ''}`);
      out.push(`${p}::canary::false`);
      out.push(`${p}::priority::${h.priority}`);
      const o = od?.hostSnapshot(h);
      out.push(`${p}::success_rate::${o?.successRate ?? -1}`);
      out.push(`${p}::local_origin_success_rate::${o?.localOriginSuccessRate ?? -1}`);
    }
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

export function clustersJson(clusters: readonly Cluster[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => {
      const od = c.outlierDetector;
      const status: Record<string, unknown> = { name: c.name, observability_name: c.name, added_via_api: false };
      // Envoy omits the thresholds until they have been computed.
      if (od && od.successRateEjectionThreshold >= 0) status.success_rate_ejection_threshold = { value: od.successRateEjectionThreshold };
      if (od && od.localOriginSuccessRateEjectionThreshold >= 0)
        status.local_origin_success_rate_ejection_threshold = { value: od.localOriginSuccessRateEjectionThreshold };
      status.circuit_breakers = { thresholds: [thresholds(c)] };
      status.host_statuses = c.hosts.map((h) => {
        const o = od?.hostSnapshot(h);
        const health: Record<string, unknown> = { eds_health_status: h.sourceHealthy ? 'HEALTHY' : 'UNHEALTHY' };
        if (h.failedActiveHc) health.failed_active_health_check = true;
        if (h.failedOutlierCheck) health.failed_outlier_check = true;
        if (h.activeHcTimeout) health.active_hc_timeout = true;
        const hs: Record<string, unknown> = {
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: hostStats(h).map((s) =>
            s.gauge ? { type: 'GAUGE', name: s.name, value: String(s.value) } : { name: s.name, value: String(s.value) },
          ),
          health_status: health,
          // Not in Envoy's proto: the text form's flags, so scripts need not rebuild them.
          health_flags: h.healthFlags,
          weight: h.weight,
          hostname: h.hostname ?? '',
          priority: h.priority,
          locality: { region: h.locality?.region ?? '', zone: h.locality?.zone ?? '', sub_zone: h.locality?.subZone ?? '' },
        };
        if (o && o.successRate >= 0) hs.success_rate = { value: o.successRate };
        if (o && o.localOriginSuccessRate >= 0) hs.local_origin_success_rate = { value: o.localOriginSuccessRate };
        return hs;
      });
      return status;
    }),
  };
}

export function clusters(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const list = ctx.sources.proxy.clusters;
  return wantsJson(req.url) ? json(clustersJson(list)) : text(clustersText(list));
}
