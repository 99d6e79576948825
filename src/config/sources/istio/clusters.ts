/**
 * Clusters as Istio names and builds them: `outbound|<port>|<subset>|<host>`, one per service port
 * and subset a route or listener needs, with Istio's defaults (breakers at 2^32-1, 10 s connect
 * timeout, least request, locality LB on) and the DestinationRule policy for that port and subset.
 */
import type * as ir from '../../../ir/index.js';
import { clusterDefaults } from '../../../ir/builders.js';
import { ISTIO } from '../../../ir/defaults.js';
import { defaultOrigin } from '../../../ir/origin.js';
import type { Diagnostics } from '../../model.js';
import { applyPolicy, effectivePolicy, subsetOf, type DestinationRules } from './destination-rule.js';
import { labelsMatch, upstreamProtocol, type MeshService, type ServicePort, type ServiceRegistry } from './registry.js';

export function clusterName(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** Istio's cluster defaults on top of Envoy's, each with its origin. */
export function istioClusterDefaults(name: string, endpoints: ir.Endpoint[], protocol: ir.UpstreamProtocol): ir.Cluster {
  const c = clusterDefaults(name, endpoints, 'istio');
  const d = (n: string) => defaultOrigin('istio', n);
  const cb = c.circuitBreakers;
  cb.maxConnections = cb.maxPendingRequests = cb.maxRequests = cb.maxRetries = ISTIO.UNLIMITED;
  for (const k of ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries']) cb.origin[k] = d('ISTIO.UNLIMITED');
  c.pool.connectTimeoutMs = ISTIO.CONNECT_TIMEOUT_MS;
  c.pool.origin.connectTimeoutMs = d('ISTIO.CONNECT_TIMEOUT_MS');
  c.pool.idleTimeoutMs = ISTIO.IDLE_TIMEOUT_MS;
  c.pool.origin.idleTimeoutMs = d('ISTIO.IDLE_TIMEOUT_MS');
  c.lbPolicy = ISTIO.LB_POLICY;
  c.origin.lbPolicy = d('ISTIO.LB_POLICY');
  c.protocol = protocol;
  c.origin.protocol = { kind: 'derived', from: 'the service port protocol (port name or appProtocol)' };
  c.localityLb = { enabled: ISTIO.LOCALITY_LB_ENABLED, origin: { enabled: d('ISTIO.LOCALITY_LB_ENABLED') } };
  return c;
}

type Built = { cluster: ir.Cluster; hashPolicy?: ir.HashPolicy[] };

export type ClusterRef =
  /** `portInferred`: the destination named no port of a multi-port service (IST0112); the listener port was used. */
  | { ok: true; name: string; hashPolicy?: ir.HashPolicy[]; portInferred?: boolean }
  /** Istio references a cluster that does not exist: the route answers 503 NC. */
  | { ok: false; name: string; reason: 'host' | 'subset' | 'port' };

export class IstioClusters {
  readonly #registry: ServiceRegistry;
  readonly #rules: DestinationRules;
  readonly #diags: Diagnostics;
  readonly #clientNamespace: string;
  readonly #built = new Map<string, Built>();

  constructor(registry: ServiceRegistry, rules: DestinationRules, diags: Diagnostics, clientNamespace: string) {
    this.#registry = registry;
    this.#rules = rules;
    this.#diags = diags;
    this.#clientNamespace = clientNamespace;
  }

  /**
   * The cluster for a destination (GetDestinationCluster): the destination's port, else the only
   * port of the service, else the port of the listener the route serves.
   */
  resolve(host: string, destPort: number | undefined, subset: string | undefined, listenerPort: number): ClusterRef {
    const svc = this.#registry.get(host);
    const port = destPort ?? (svc && svc.ports.length === 1 ? svc.ports[0]!.number : listenerPort);
    const name = clusterName(port, subset, host);
    if (!svc) return { ok: false, name, reason: 'host' };
    const sp = svc.ports.find((p) => p.number === port);
    if (!sp) return { ok: false, name, reason: 'port' };
    const dr = this.#rules.lookup(host, this.#clientNamespace, svc.namespace);
    let subsetLabels: Record<string, string> | undefined;
    if (subset !== undefined) {
      const s = dr ? subsetOf(dr, subset) : undefined;
      if (!s) return { ok: false, name, reason: 'subset' };
      subsetLabels = s.labels;
    }
    let built = this.#built.get(name);
    if (!built) {
      built = this.#build(name, svc, sp, subset, subsetLabels);
      this.#built.set(name, built);
    }
    return {
      ok: true,
      name,
      ...(built.hashPolicy ? { hashPolicy: built.hashPolicy } : {}),
      ...(destPort === undefined && svc.ports.length > 1 ? { portInferred: true } : {}),
    };
  }

  #build(name: string, svc: MeshService, sp: ServicePort, subset: string | undefined, labels: Record<string, string> | undefined): Built {
    let endpoints = svc.endpoints(sp);
    if (labels) endpoints = endpoints.filter((e) => labelsMatch(e.labels, labels));
    const cluster = istioClusterDefaults(name, endpoints, upstreamProtocol(sp.protocol));
    const dr = this.#rules.lookup(svc.hostname, this.#clientNamespace, svc.namespace);
    if (!dr) return { cluster };
    const applied = applyPolicy(cluster, dr, effectivePolicy(dr, sp.number, subset), this.#diags);
    return { cluster, ...(applied.hashPolicy ? { hashPolicy: applied.hashPolicy } : {}) };
  }

  /** Every cluster built so far, sorted by name. */
  clusters(): ir.Cluster[] {
    return [...this.#built.values()].map((b) => b.cluster).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
