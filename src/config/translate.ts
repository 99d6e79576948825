/**
 * Manifests -> IR, in a fixed order: Kubernetes endpoints, Gateway API (listeners, routes,
 * clusters, status), then policies. Bad input becomes diagnostics and is skipped; the result is
 * always a usable IR with what was valid.
 */
import type * as ir from '../ir/index.js';
import { validate } from '../ir/validate.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { Diagnostics, type LoadedObject } from './model.js';
import { apiGroup } from './load/load-manifests.js';
import { KubernetesEndpoints, type RuntimeEndpoints } from './sources/kubernetes/endpoint-resolver.js';
import { translateGatewayApi, type GatewayApiResult } from './sources/gateway-api/translate-gateway-api.js';
import type { StatusEntry } from './sources/gateway-api/status.js';
import { attachBackendTrafficPolicies } from './sources/envoy-gateway/attach-policies.js';
import { dropInvalidEnvoyProxies } from './sources/envoy-gateway/envoy-proxy.js';
import type { PolicyStatus } from './sources/envoy-gateway/precedence.js';
import { attachClientTrafficPolicies } from './sources/envoy-gateway/client-traffic-policy.js';
import { translateIstio, type IstioOptions } from './sources/istio/translate-istio.js';

export type TranslateOptions = {
  /** Endpoints of Services whose pods the local runtime started. */
  runtimeEndpoints?: RuntimeEndpoints;
  /** GatewayClass controllers to serve (default: all). */
  controllerNames?: string[];
  version?: string;
  /** Istio: the namespace legate's mesh listeners act for, and bind addresses. */
  istio?: IstioOptions;
  /**
   * Gateway API: false gives each Gateway its own listeners (`ns/name/http-80`), as Envoy Gateway
   * gives each Gateway its own Envoy. Listeners then share ports, and the caller binds them apart
   * (the conformance replay gives each its own local port). Default true: one listener per port.
   */
  mergeGateways?: boolean;
};

export type TranslateResult = {
  config: ir.Config;
  diagnostics: Diagnostic[];
  /** Gateway, listener and route status conditions. */
  status: StatusEntry[];
  /** Policy status per ancestor (BackendTrafficPolicy, ClientTrafficPolicy). */
  policyStatus: PolicyStatus[];
};

/** Kinds legate reads, by API group. Anything else is reported once as ignored. */
const KNOWN: Record<string, readonly string[]> = {
  'gateway.networking.k8s.io': ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant'],
  'gateway.envoyproxy.io': ['EnvoyProxy', 'BackendTrafficPolicy', 'ClientTrafficPolicy'],
  '': ['Service', 'Endpoints', 'Namespace', 'Secret'],
  'discovery.k8s.io': ['EndpointSlice'],
  apps: ['Deployment'],
  'networking.istio.io': ['Gateway', 'VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry'],
};

export function translate(loaded: readonly LoadedObject[], opts: TranslateOptions = {}, diags = new Diagnostics()): TranslateResult {
  reportIgnored(loaded, diags);
  // An EnvoyProxy the API server would refuse does not exist for the classes that name it.
  const objects = dropInvalidEnvoyProxies(loaded, diags);
  const resolver = new KubernetesEndpoints(objects, opts.runtimeEndpoints);
  const gw: GatewayApiResult = translateGatewayApi([...objects], resolver, diags, {
    ...(opts.controllerNames ? { controllerNames: opts.controllerNames } : {}),
    ...(opts.mergeGateways !== undefined ? { mergeGateways: opts.mergeGateways } : {}),
  });
  const policyStatus = [...attachBackendTrafficPolicies(objects, gw, diags), ...attachClientTrafficPolicies(objects, gw, diags)];
  const istio = translateIstio(objects, resolver, diags, opts.istio);
  const all = [...gw.listeners, ...istio.listeners];
  const listeners = opts.mergeGateways === false ? all : dropPortConflicts(all, diags);
  const config: ir.Config = { version: opts.version ?? '1', listeners, clusters: [...gw.clusters, ...istio.clusters] };
  // The IR's own checks catch what a translator let through; they should find nothing.
  // Unmerged listeners share ports until the caller binds them apart: check everything else.
  const checked = opts.mergeGateways === false ? { ...config, listeners: listeners.map((l) => ({ ...l, port: 0 })) } : config;
  for (const d of validate(checked)) diags.items.push(d);
  return { config, diagnostics: diags.items, status: gw.status, policyStatus };
}

function reportIgnored(objects: readonly LoadedObject[], diags: Diagnostics): void {
  const counts = new Map<string, { n: number; first: LoadedObject }>();
  for (const o of objects) {
    if (KNOWN[apiGroup(o.apiVersion)]?.includes(o.kind)) continue;
    const key = `${o.apiVersion} ${o.kind}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { n: 1, first: o });
  }
  for (const [key, c] of counts)
    diags.add('info', 'I_KIND_IGNORED', `${c.n} object${c.n > 1 ? 's' : ''} of kind ${key} ignored: legate does not use this kind`, {
      object: c.first,
    });
}

/** Two listeners cannot bind one port: the first (Gateway API, then Istio gateways, then mesh) keeps it. */
function dropPortConflicts(listeners: ir.Listener[], diags: Diagnostics): ir.Listener[] {
  const byPort = new Map<number, ir.Listener>();
  return listeners.filter((l) => {
    if (l.port === 0) return true;
    const first = byPort.get(l.port);
    if (!first) {
      byPort.set(l.port, l);
      return true;
    }
    diags.warning(
      'W_LISTENER_PORT_CONFLICT',
      `listeners ${first.name} and ${l.name} both want port ${l.port}; ${l.name} is not served`,
      undefined,
      'give one of them another port',
    );
    return false;
  });
}
