/**
 * Applies BackendTrafficPolicies to the IR the Gateway API translator produced: builds the
 * attachment world from where each route landed, resolves precedence and merging per routed
 * place, and writes the effective features onto the route and its clusters. A route's own
 * timeout or retry (HTTPRoute `timeouts` / `retry`) wins over a policy, as in Envoy Gateway.
 */
import type * as ir from '../../../ir/index.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import type { GatewayApiResult } from '../gateway-api/translate-gateway-api.js';
import { applyGrpcTrailerRetry } from '../legate-annotations.js';
import { resolveBackendTrafficPolicies, type AttachmentWorld, type PolicyStatus, type RouteKind, type WorldRoute } from './precedence.js';

export function attachBackendTrafficPolicies(objects: readonly LoadedObject[], gw: GatewayApiResult, diags: Diagnostics): PolicyStatus[] {
  const policies = objects.filter((o) => o.kind === 'BackendTrafficPolicy' && o.apiVersion.startsWith('gateway.envoyproxy.io/'));
  if (policies.length === 0) return [];

  // Where every route rule landed: `Gateway/ns/name/listener` per IR route.
  const placed: {
    route: ir.Route;
    kind: RouteKind;
    ns: string;
    name: string;
    ruleIndex: number;
    ruleName: string | undefined;
    listeners: string[];
  }[] = [];
  for (const l of gw.listeners)
    for (const vh of l.virtualHosts)
      for (const r of vh.routes) {
        const src = gw.routeSource(r);
        if (!src) continue;
        const [kind, ns, name] = src.route.split('/') as [RouteKind, string, string];
        placed.push({ route: r, kind, ns, name, ruleIndex: src.ruleIndex, ruleName: src.ruleName, listeners: src.listeners });
      }

  const routes = new Map<string, WorldRoute>();
  const gateways = new Map<
    string,
    { namespace: string; name: string; labels: Record<string, string>; creationTimestamp?: string; listeners: string[] }
  >();
  for (const o of objects) {
    if (o.kind !== 'Gateway' || !o.apiVersion.startsWith('gateway.networking.k8s.io/')) continue;
    const listeners = ((o.body.spec as { listeners?: { name?: string }[] } | undefined)?.listeners ?? []).map((l) => l.name ?? '');
    gateways.set(`${o.metadata.namespace}/${o.metadata.name}`, {
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      labels: o.metadata.labels,
      ...(o.metadata.creationTimestamp ? { creationTimestamp: o.metadata.creationTimestamp } : {}),
      listeners,
    });
  }
  const routeObjects = new Map(objects.map((o) => [`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o]));
  for (const p of placed) {
    const key = `${p.kind}/${p.ns}/${p.name}`;
    let w = routes.get(key);
    if (!w) {
      const o = routeObjects.get(key);
      w = {
        kind: p.kind,
        namespace: p.ns,
        name: p.name,
        labels: o?.metadata.labels ?? {},
        ruleNames: [],
        parents: [],
        ...(o?.metadata.creationTimestamp ? { creationTimestamp: o.metadata.creationTimestamp } : {}),
      };
      routes.set(key, w);
    }
    w.ruleNames[p.ruleIndex] = p.ruleName;
    for (const l of p.listeners) {
      const [, gns, gname, listener] = l.split('/') as [string, string, string, string];
      let parent = w.parents.find((x) => x.namespace === gns && x.name === gname);
      if (!parent) w.parents.push((parent = { kind: 'Gateway', namespace: gns, name: gname, listeners: [] }));
      if (!parent.listeners.includes(listener)) parent.listeners.push(listener);
    }
  }
  const world: AttachmentWorld = { gateways: [...gateways.values()], routes: [...routes.values()] };
  const resolution = resolveBackendTrafficPolicies(policies, world, diags);

  const clusters = new Map(gw.clusters.map((c) => [c.name, c]));
  const byId = new Map(policies.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  for (const p of placed) {
    const [, gns, gname, listener] = (p.listeners[0] ?? '///').split('/') as [string, string, string, string];
    const applied = resolution.apply({
      route: { kind: p.kind, namespace: p.ns, name: p.name },
      ruleIndex: p.ruleIndex,
      ...(p.ruleName ? { ruleName: p.ruleName } : {}),
      gateway: { namespace: gns, name: gname },
      listener,
      protocol: 'http',
    });
    if (applied.directResponse) {
      p.route.action = { kind: 'direct', response: { status: 500, body: applied.directResponse.message } };
      continue;
    }
    const f = applied.features;
    const r = p.route;
    const setByRoute = (o: { origin: ir.Origins } | undefined) =>
      Object.values(o?.origin ?? {}).some((x) => x.kind === 'manifest' && /^(HTTPRoute|GRPCRoute)\//.test(x.object));
    if (f.retry && !setByRoute(r.retry)) {
      r.retry = f.retry;
      const from = byId.get(applied.sources.retry ?? '');
      if (from) applyGrpcTrailerRetry(from, r.retry, diags);
    }
    if (f.timeout?.route && !setByRoute(r.timeout)) r.timeout = f.timeout.route;
    if (f.faultInjection) r.fault = f.faultInjection;
    if (f.loadBalancer?.hashPolicy) r.hashPolicy = f.loadBalancer.hashPolicy;
    const targets =
      r.action.kind === 'forward'
        ? r.action.clusters.map((wc) => clusters.get(wc.cluster)).filter((c): c is ir.Cluster => c !== undefined)
        : [];
    for (const c of targets) {
      if (f.timeout) {
        const { origin, ...pool } = f.timeout.pool;
        Object.assign(c.pool, pool);
        Object.assign(c.pool.origin, origin);
      }
      if (f.circuitBreaker) {
        c.circuitBreakers = f.circuitBreaker.circuitBreakers;
        if (f.circuitBreaker.pool) {
          c.pool.maxRequestsPerConnection = f.circuitBreaker.pool.maxRequestsPerConnection;
          Object.assign(c.pool.origin, f.circuitBreaker.pool.origin);
        }
      }
      const hc = f.healthCheck;
      if (hc?.healthChecks) c.healthChecks = hc.healthChecks;
      if (hc?.outlierDetection) c.outlierDetection = hc.outlierDetection;
      if (hc?.healthyPanicThreshold !== undefined) c.healthyPanicThreshold = hc.healthyPanicThreshold;
      if (f.loadBalancer) {
        c.lbPolicy = f.loadBalancer.lbPolicy;
        if (f.loadBalancer.slowStart) c.slowStart = f.loadBalancer.slowStart;
      }
      if (f.tcpKeepalive) {
        c.pool.tcpKeepalive = f.tcpKeepalive.tcpKeepalive;
        Object.assign(c.pool.origin, f.tcpKeepalive.origin);
      }
    }
  }
  return resolution.statuses;
}
