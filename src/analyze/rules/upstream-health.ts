/** Outlier detection, Istio's locality failover and the retry circuit breaker (spec 2.10, 5.4; config-apis 3.9). */
import type * as ir from '../../ir/index.js';
import { AnalysisContext } from '../context.js';
import { clusterFinding, involved, type Involved, type Rule } from '../finding.js';

/** The first setting of an outlier detection block that a manifest wrote (where the block is). */
function outlierSetting(od: ir.OutlierDetection): Involved {
  const key = Object.keys(od.origin).find((k) => od.origin[k]?.kind === 'manifest') ?? 'consecutive5xx';
  return involved(`cluster.outlierDetection.${key}`, (od as unknown as Record<string, unknown>)[key], od.origin[key]);
}

export const outlierNeverEjects: Rule = {
  code: 'A_OUTLIER_NEVER_EJECTS',
  severity: 'warning',
  title: 'max ejection percent too small to eject any host',
  run: (ctx) =>
    ctx.config.clusters.flatMap((c) => {
      const od = c.outlierDetection;
      const hosts = c.endpoints.length;
      if (!od || hosts === 0 || od.alwaysEjectOneHost) return [];
      const cap = Math.min(100, od.maxEjectionPercent);
      if ((100 * 1) / hosts <= cap) return [];
      const need = Math.ceil(100 / hosts);
      const eg = Object.values(od.origin).some((o) => o?.kind === 'manifest' && o.object.startsWith('BackendTrafficPolicy/'));
      return [
        clusterFinding('A_OUTLIER_NEVER_EJECTS', 'warning', ctx, c, {
          message:
            `maxEjectionPercent ${od.maxEjectionPercent} with ${hosts} host${hosts > 1 ? 's' : ''}: ejecting even one host would be ` +
            `${Number((100 / hosts).toFixed(1))}% of the cluster, over the cap, and Envoy (since 1.27) applies the cap strictly, ` +
            `so no host is ever ejected (counter ejections_overflow): a failing host keeps its share of traffic`,
          fix:
            hosts === 1
              ? 'with a single host there is nothing to eject to: add replicas (and a maxEjectionPercent that allows one of them), or drop outlier detection'
              : eg
                ? `raise healthCheck.passive.maxEjectionPercent to at least ${need}, or set healthCheck.passive.alwaysEjectOneEndpoint: true`
                : `raise outlierDetection.maxEjectionPercent to at least ${need} (one host of ${hosts})`,
          involves: [
            involved('cluster.outlierDetection.maxEjectionPercent', od.maxEjectionPercent, od.origin.maxEjectionPercent),
            involved('cluster.endpoints', `${hosts} host${hosts > 1 ? 's' : ''}`, { kind: 'derived', from: endpointSource(ctx, c) }),
            outlierSetting(od),
          ],
        }),
      ];
    }),
};

function endpointSource(ctx: AnalysisContext, c: ir.Cluster): string {
  const byDeployment = new Map<string, number>();
  for (const p of ctx.podsOf(c))
    byDeployment.set(`${p.namespace}/${p.deployment}`, (byDeployment.get(`${p.namespace}/${p.deployment}`) ?? 0) + 1);
  const planned = [...byDeployment].map(([d, n]) => `Deployment ${d} (${n} replica${n > 1 ? 's' : ''})`);
  const other = c.endpoints.length - [...byDeployment.values()].reduce((a, n) => a + n, 0);
  if (other > 0) planned.push(`${other} endpoint${other > 1 ? 's' : ''} from EndpointSlices, Endpoints or ServiceEntries`);
  return planned.join(', ');
}

export const failoverWithoutOutlierDetection: Rule = {
  code: 'A_FAILOVER_WITHOUT_OUTLIER_DETECTION',
  severity: 'warning',
  title: 'locality failover without outlier detection',
  run: (ctx) =>
    ctx.config.clusters.flatMap((c) => {
      const lb = c.localityLb;
      if (!lb?.enabled || c.outlierDetection) return [];
      const key = lb.failover?.length ? 'failover' : lb.failoverPriority?.length ? 'failoverPriority' : undefined;
      if (!key) return [];
      return [
        clusterFinding('A_FAILOVER_WITHOUT_OUTLIER_DETECTION', 'warning', ctx, c, {
          message: `localityLbSetting.${key} is set but the cluster has no outlier detection: Istio applies locality failover only to clusters with outlier detection, so endpoints are not ranked by locality and traffic goes to every locality alike`,
          fix: 'add trafficPolicy.outlierDetection (such as consecutive5xxErrors: 5) next to the localityLbSetting, in the DestinationRule or the subset',
          involves: [involved(`cluster.localityLb.${key}`, lb[key], lb.origin[key] ?? lb.origin.enabled)],
        }),
      ];
    }),
};

export const outlierDetectionEnablesFailover: Rule = {
  code: 'A_OUTLIER_DETECTION_ENABLES_FAILOVER',
  severity: 'warning',
  title: "outlier detection silently switches on Istio's locality failover",
  run: (ctx) =>
    ctx.config.clusters.flatMap((c) => {
      const lb = c.localityLb;
      const od = c.outlierDetection;
      // Only the mesh default acting: a localityLbSetting someone wrote says what they want.
      if (!lb?.enabled || !od || lb.origin.enabled?.kind !== 'default') return [];
      if (lb.distribute?.length || lb.failover?.length || lb.failoverPriority?.length) return [];
      const counts = new Map<string, number>();
      for (const e of c.endpoints) {
        if (!e.locality) continue;
        const k = [e.locality.region, e.locality.zone, e.locality.subZone].filter(Boolean).join('/');
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      // One locality, or one host: nothing to prefer.
      if (counts.size === 1 || c.endpoints.length === 1) return [];
      // No endpoint here while the Service has some (a subset selecting none): nothing to say about localities.
      const svc = ctx.clusterService(c.name);
      if (c.endpoints.length === 0 && svc && ctx.serviceEndpointCount(svc) > 0) return [];
      const spread = [...counts].map(([k, n]) => `${n} in ${k}`).join(', ');
      return [
        clusterFinding('A_OUTLIER_DETECTION_ENABLES_FAILOVER', counts.size > 1 ? 'warning' : 'info', ctx, c, {
          message:
            `outlier detection also switches on Istio's locality failover (the mesh default localityLbSetting {enabled: true} only acts on clusters with outlier detection): ` +
            `clients send all traffic to the endpoints of their own locality, and to others only when fewer than about 71% of the local ones are healthy (overprovisioning factor 1.4)` +
            (counts.size > 1
              ? `; these endpoints are spread over ${counts.size} localities (${spread}), so load is no longer shared between them`
              : '; the endpoints here have no known locality, but in a cluster spread over zones the load is no longer shared between them') +
            `. legate ranks localities from where it runs (--locality, LEGATE_LOCALITY)`,
          fix: 'to keep traffic spread over localities, set loadBalancer.localityLbSetting.enabled: false in the DestinationRule; to keep failover, say so with an explicit localityLbSetting (failover or failoverPriority)',
          involves: [outlierSetting(od), involved('cluster.localityLb.enabled', true, lb.origin.enabled)],
        }),
      ];
    }),
};

export const maxRetriesCapsRetries: Rule = {
  code: 'A_MAX_RETRIES_CAPS_RETRIES',
  severity: 'warning',
  title: "the circuit breaker's max retries caps retries under load",
  run: (ctx) =>
    ctx.config.clusters.flatMap((c) => {
      const cb = c.circuitBreakers;
      const views = ctx.routesTo(c.name).filter((v) => AnalysisContext.activeRetry(v));
      if (views.length === 0 || cb.retryBudget || cb.maxRetries >= cb.maxRequests) return [];
      const most = Math.max(...views.map((v) => v.retry!.numRetries));
      const eg = cb.origin.maxRetries?.kind === 'manifest' ? cb.origin.maxRetries.object.startsWith('BackendTrafficPolicy/') : false;
      return [
        clusterFinding('A_MAX_RETRIES_CAPS_RETRIES', 'warning', ctx, c, {
          message:
            `at most ${cb.maxRetries} retr${cb.maxRetries === 1 ? 'y' : 'ies'} may be outstanding at once across all requests to this cluster (max retries is a circuit breaker, ` +
            `not a count per request${cb.maxRetries <= most ? `; each request may retry up to ${most} times` : ''}), while it admits ${cb.maxRequests} requests at once: ` +
            `when more than ${cb.maxRetries} fail together (a host crashes, a rollout), the other failures reach clients without a retry (flag UO, upstream_rq_retry_overflow)`,
          fix: eg
            ? 'raise circuitBreaker.maxParallelRetries to the number of requests that may fail together, or use circuitBreaker.retryBudget (a share of the active requests)'
            : 'raise connectionPool.http.maxRetries to the number of requests that may fail together (up to http2MaxRequests), or leave it unset (unlimited in Istio)',
          involves: [
            involved('cluster.circuitBreakers.maxRetries', cb.maxRetries, cb.origin.maxRetries),
            involved('cluster.circuitBreakers.maxRequests', cb.maxRequests, cb.origin.maxRequests),
            ...views.slice(0, 1).map((v) => involved('retry.numRetries', v.retry!.numRetries, v.retry!.origin.numRetries)),
          ],
          routes: views.map((v) => v.id),
        }),
      ];
    }),
};
