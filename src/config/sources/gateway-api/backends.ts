/**
 * backendRefs -> clusters (config-apis.md 1.10, 2.5, 2.8, 2.12): one cluster per Service port,
 * named `<namespace>/<service>:<port>`, with Envoy Gateway's cluster defaults, endpoints from the
 * EndpointResolver and the upstream protocol from the Service port's appProtocol.
 *
 * Invalid references are checked in Envoy Gateway's order: kind, ReferenceGrant, Service, port.
 *
 * Traffic share of invalid backends: Envoy Gateway points it at a cluster that does not exist,
 * with `cluster_not_found_response_code: 500`; legate does the same with a `missing` weighted
 * cluster named INVALID_BACKEND_CLUSTER and the route's `clusterNotFoundStatus` (500; 503 for
 * GRPCRoute, so gRPC callers see UNAVAILABLE). A rule whose backends are all invalid answers a
 * direct 500 (gRPC: 503).
 */
import { egClusterDefaults } from '../envoy-gateway/cluster-defaults.js';
import type * as ir from '../../../ir/index.js';
import { defaultOrigin } from '../../../ir/origin.js';
import type { LoadedObject } from '../../model.js';
import { GROUP } from './codes.js';
import type { EndpointResolver } from './endpoint-resolver.js';
import { referenceAllowed } from './parse-gateway.js';
import { isObject, originOf } from './read.js';
import type * as gwapi from './types.js';

export const INVALID_BACKEND_CLUSTER = 'invalid-backend-cluster';

export type BackendResolution =
  | { ok: true; cluster: string }
  | { ok: false; reason: 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound' | 'PortNotFound'; message: string };

type Entry = {
  cluster: ir.Cluster;
  kinds: Set<gwapi.RouteKind>;
  appProtocol?: string;
  service: { namespace: string; name: string; port: number };
};

/** Clusters made from backend references, shared by every route that names the same Service port. */
export class BackendClusters {
  readonly #resolver: EndpointResolver;
  readonly #grants: readonly gwapi.ReferenceGrant[];
  readonly #services: ReadonlyMap<string, LoadedObject>;
  readonly #entries = new Map<string, Entry>();

  constructor(resolver: EndpointResolver, grants: readonly gwapi.ReferenceGrant[], services: ReadonlyMap<string, LoadedObject>) {
    this.#resolver = resolver;
    this.#grants = grants;
    this.#services = services;
  }

  resolve(ref: gwapi.BackendObjectRef, route: gwapi.Route): BackendResolution {
    const target = `${ref.kind} ${ref.namespace}/${ref.name}`;
    if (ref.group !== '' || ref.kind !== 'Service')
      return {
        ok: false,
        reason: 'InvalidKind',
        message: `Group "${ref.group}" Kind "${ref.kind}" of backendRef ${ref.namespace}/${ref.name} is not supported: legate routes to Services (group "", kind Service)`,
      };
    const from = { group: GROUP, kind: route.kind, namespace: route.namespace };
    if (!referenceAllowed(this.#grants, from, { group: '', kind: 'Service', namespace: ref.namespace, name: ref.name }))
      return { ok: false, reason: 'RefNotPermitted', message: `Backend ref to ${target} not permitted by any ReferenceGrant.` };
    const port = ref.port!;
    const found = this.#resolver.serviceEndpoints(ref.namespace, ref.name, port);
    if (!found) {
      if (this.#services.has(`${ref.namespace}/${ref.name}`))
        return { ok: false, reason: 'PortNotFound', message: `TCP Port ${port} not found on Service ${ref.namespace}/${ref.name}` };
      return { ok: false, reason: 'BackendNotFound', message: `Service ${ref.namespace}/${ref.name} not found` };
    }
    const name = `${ref.namespace}/${ref.name}:${port}`;
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = {
        cluster: egClusterDefaults(name, found.endpoints),
        kinds: new Set(),
        ...(found.appProtocol ? { appProtocol: found.appProtocol } : {}),
        service: { namespace: ref.namespace, name: ref.name, port },
      };
      this.#entries.set(name, entry);
    }
    entry.kinds.add(route.kind);
    return { ok: true, cluster: name };
  }

  get(name: string): ir.Cluster | undefined {
    return name === INVALID_BACKEND_CLUSTER ? undefined : this.#entries.get(name)?.cluster;
  }

  /** All clusters, sorted by name, with their upstream protocol decided. */
  finish(): ir.Cluster[] {
    const out: ir.Cluster[] = [];
    for (const e of this.#entries.values()) {
      this.#setProtocol(e);
      out.push(e.cluster);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * EG resolveBackendProtocol: appProtocol `kubernetes.io/h2c` or `grpc` -> HTTP/2, WebSocket ones
   * -> HTTP/1.1; otherwise GRPCRoute backends use HTTP/2 and HTTPRoute backends HTTP/1.1. A
   * Service port used by both kinds without appProtocol gets HTTP/1.1: gRPC requests go upstream
   * over HTTP/2 whatever the cluster says.
   */
  #setProtocol(e: Entry): void {
    const c = e.cluster;
    const app = e.appProtocol;
    if (app === 'kubernetes.io/h2c' || app === 'grpc' || app === 'kubernetes.io/ws' || app === 'kubernetes.io/wss') {
      c.protocol = app === 'kubernetes.io/h2c' || app === 'grpc' ? 'http2' : 'http1';
      c.origin.protocol = this.#appProtocolOrigin(e) ?? { kind: 'derived', from: `Service port appProtocol ${app}` };
      return;
    }
    if (e.kinds.size === 1 && e.kinds.has('GRPCRoute')) {
      c.protocol = 'http2';
      c.origin.protocol = defaultOrigin('envoy-gateway', 'GRPCRoute backends: HTTP/2');
    } else {
      c.protocol = 'http1';
      c.origin.protocol = defaultOrigin('envoy-gateway', 'HTTPRoute backends: HTTP/1.1 unless appProtocol says otherwise');
    }
  }

  #appProtocolOrigin(e: Entry): ir.Origin | undefined {
    const svc = this.#services.get(`${e.service.namespace}/${e.service.name}`);
    const spec = svc?.body.spec;
    if (!svc || !isObject(spec) || !Array.isArray(spec.ports)) return undefined;
    const i = spec.ports.findIndex((p) => isObject(p) && p.port === e.service.port);
    return i >= 0 ? originOf(svc, ['spec', 'ports', i, 'appProtocol']) : undefined;
  }
}
