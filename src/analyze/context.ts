/**
 * What the rules read: the translated IR with its provenance, the loaded objects, the
 * translation's own diagnostics, and the pods the Deployments stand for (planned, never started).
 */
import type * as ir from '../ir/index.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { formatPath, objectRef, type LoadedObject } from '../config/model.js';
import type { KubernetesEndpoints, ServicePort } from '../config/sources/kubernetes/endpoint-resolver.js';
import { kubernetesPortProtocol } from '../config/sources/istio/registry.js';
import type { PodPlan } from '../runtime/plan.js';
import { involved, type Involved } from './finding.js';

export type Backend = { weighted: ir.WeightedCluster; cluster: ir.Cluster | undefined };

/** A forwarding route with what applies to it. */
export type RouteView = {
  /** `listener/route`, as findings name routes. */
  id: string;
  listener: ir.Listener;
  vhost: ir.VirtualHost;
  route: ir.Route;
  /** The route's retry policy, else the virtual host's (Envoy replaces, never merges). */
  retry: ir.RetryPolicy | undefined;
  hedge: ir.HedgePolicy | undefined;
  backends: Backend[];
  /** From a GRPCRoute, matching gRPC methods, or forwarding to Service ports that speak gRPC. */
  grpc: boolean;
  /** The kind of the object that wrote the route (HTTPRoute, GRPCRoute, VirtualService). */
  sourceKind: string;
  /** Where the route was written. */
  source: Involved;
};

/** A Service port an IR cluster stands for, from the cluster's name. */
export type ClusterService = { namespace: string; name: string; port: number; subset?: string };

export class AnalysisContext {
  readonly config: ir.Config;
  readonly objects: readonly LoadedObject[];
  /** The loader's and translator's diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
  readonly pods: readonly PodPlan[];
  readonly routes: readonly RouteView[];
  readonly #clusters = new Map<string, ir.Cluster>();
  readonly #podsByName = new Map<string, PodPlan>();
  readonly #services: KubernetesEndpoints;

  constructor(
    objects: readonly LoadedObject[],
    config: ir.Config,
    diagnostics: readonly Diagnostic[],
    pods: readonly PodPlan[],
    services: KubernetesEndpoints,
  ) {
    this.objects = objects;
    this.config = config;
    this.diagnostics = diagnostics;
    this.pods = pods;
    this.#services = services;
    for (const c of config.clusters) this.#clusters.set(c.name, c);
    for (const p of pods) this.#podsByName.set(p.podName, p);
    this.routes = this.#routeViews();
  }

  cluster(name: string): ir.Cluster | undefined {
    return this.#clusters.get(name);
  }

  /** Active retry policy: one that can retry at all. */
  static activeRetry(v: RouteView): ir.RetryPolicy | undefined {
    const r = v.retry;
    return r && r.numRetries > 0 && r.retryOn.length > 0 ? r : undefined;
  }

  routesTo(cluster: string): RouteView[] {
    return this.routes.filter((v) => v.backends.some((b) => b.weighted.cluster === cluster && !b.weighted.missing));
  }

  /** The planned pods behind a cluster's endpoints (none for endpoints from EndpointSlices). */
  podsOf(cluster: ir.Cluster): PodPlan[] {
    return cluster.endpoints.flatMap((e) => {
      const p = e.hostname !== undefined ? this.#podsByName.get(e.hostname) : undefined;
      return p ? [p] : [];
    });
  }

  /** The Service port of an Envoy Gateway (`ns/name:port`) or Istio (`outbound|port|subset|fqdn`) cluster. */
  clusterService(name: string): ClusterService | undefined {
    const istio = /^outbound\|(\d+)\|([^|]*)\|([^.|]+)\.([^.|]+)\.svc\.cluster\.local$/.exec(name);
    if (istio) return { namespace: istio[4]!, name: istio[3]!, port: Number(istio[1]), ...(istio[2] ? { subset: istio[2] } : {}) };
    const gw = /^([^/|]+)\/([^:|]+):(\d+)$/.exec(name);
    return gw ? { namespace: gw[1]!, name: gw[2]!, port: Number(gw[3]) } : undefined;
  }

  servicePort(s: ClusterService): ServicePort | undefined {
    return this.#services.service(s.namespace, s.name)?.ports.find((p) => p.port === s.port);
  }

  /** Endpoints the Service port has, whatever subset a cluster selects. */
  serviceEndpointCount(s: ClusterService): number {
    return this.#services.serviceEndpoints(s.namespace, s.name, s.port)?.endpoints.length ?? 0;
  }

  object(ref: string): LoadedObject | undefined {
    return this.objects.find((o) => objectRef(o) === ref);
  }

  /** Where a field of an object is, as an involved setting. */
  at(o: LoadedObject, path: readonly (string | number)[], setting: string, value?: unknown): Involved {
    return involved(setting, value, { kind: 'manifest', object: objectRef(o), field: formatPath(path), ...o.posOf(path) });
  }

  /** The Deployment of a planned pod, and its workload container's env entry `name`. */
  podEnv(pod: PodPlan, name: string): Involved | undefined {
    const d = this.object(`Deployment/${pod.namespace}/${pod.deployment}`);
    if (!d || pod.env[name] === undefined) return undefined;
    const spec = (d.body.spec ?? {}) as { template?: { spec?: { containers?: { image?: unknown; env?: { name?: unknown }[] }[] } } };
    const containers = spec.template?.spec?.containers ?? [];
    const ci = Math.max(
      0,
      containers.findIndex((c) => c.image === pod.image),
    );
    const ei = (containers[ci]?.env ?? []).findIndex((e) => e.name === name);
    if (ei < 0) return undefined;
    return this.at(d, ['spec', 'template', 'spec', 'containers', ci, 'env', ei, 'value'], `env.${name}`, pod.env[name]);
  }

  #routeViews(): RouteView[] {
    const out: RouteView[] = [];
    for (const listener of this.config.listeners)
      for (const vhost of listener.virtualHosts)
        for (const route of vhost.routes) {
          if (route.action.kind !== 'forward') continue;
          const backends = route.action.clusters.map((weighted) => ({ weighted, cluster: this.#clusters.get(weighted.cluster) }));
          const sourceOrigin = [route.origin.match, route.origin.action].find((o) => o?.kind === 'manifest') ?? route.origin.action;
          const sourceKind = sourceOrigin?.kind === 'manifest' ? sourceOrigin.object.split('/')[0]! : '';
          const retry = route.retry ?? vhost.retry;
          const hedge = route.hedge ?? vhost.hedge;
          out.push({
            id: `${listener.name}/${route.name}`,
            listener,
            vhost,
            route,
            retry,
            hedge,
            backends,
            grpc: route.match.grpc !== undefined || sourceKind === 'GRPCRoute' || this.#grpcBackends(backends),
            sourceKind,
            source: involved('route', route.name, sourceOrigin),
          });
        }
    return out;
  }

  /** Every backend is a Service port that speaks gRPC by its name or appProtocol (Istio's protocol selection). */
  #grpcBackends(backends: Backend[]): boolean {
    const live = backends.filter((b) => !b.weighted.missing);
    return (
      live.length > 0 &&
      live.every((b) => {
        const s = this.clusterService(b.weighted.cluster);
        const p = s && this.servicePort(s);
        return p !== undefined && kubernetesPortProtocol(p.name, p.appProtocol, p.protocol) === 'GRPC';
      })
    );
  }
}
