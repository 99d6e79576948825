/**
 * Istio's service registry as a sidecar sees it: Kubernetes Services (by FQDN) and ServiceEntry
 * hosts, with their ports, the protocol of each port (config-apis.md 3.8) and their endpoints
 * (Kubernetes endpoints through the resolver, WorkloadEntries, ServiceEntry endpoints; 3.10).
 */
import type * as ir from '../../../ir/index.js';
import { objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import type { KubernetesEndpoints } from '../kubernetes/endpoint-resolver.js';
import { ISTIO_CODES } from './codes.js';
import { DOMAIN_SUFFIX, parseIstioLocality } from './hosts.js';
import { checkSpec, ServiceEntrySpec, WorkloadEntrySpec } from './schema.js';
import { isIP } from 'node:net';

export type IstioProtocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'GRPC-WEB' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'UNKNOWN' | string;

export type ServicePort = { name: string; number: number; protocol: IstioProtocol; targetPort?: number | string };

export type MeshService = {
  hostname: string;
  namespace: string;
  /** The object that defines it (Service or ServiceEntry). */
  object: LoadedObject;
  ports: ServicePort[];
  /** Endpoints of one service port. */
  endpoints(port: ServicePort): ir.Endpoint[];
};

/** HTTP-family protocols get HTTP listeners and routes. */
export function isHttpProtocol(p: IstioProtocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB' || p === 'UNKNOWN';
}

/** Upstream protocol of a port: h2c for http2/grpc, HTTP/1.1 for http, the client's otherwise. */
export function upstreamProtocol(p: IstioProtocol): ir.UpstreamProtocol {
  if (p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB') return 'http2';
  if (p === 'HTTP') return 'http1';
  return 'downstream';
}

/** Istio's ConvertProtocol for a Kubernetes Service port. Unnamed ports are sniffed (UNKNOWN). */
export function kubernetesPortProtocol(name: string, appProtocol: string | undefined, l4: string): IstioProtocol {
  if (l4 === 'UDP') return 'UDP';
  if (appProtocol) {
    if (appProtocol === 'kubernetes.io/h2c') return 'HTTP2';
    if (appProtocol === 'kubernetes.io/ws') return 'HTTP';
    if (appProtocol === 'kubernetes.io/wss') return 'HTTPS';
    const p = fromName(appProtocol);
    if (p !== 'UNKNOWN') return p;
  }
  return fromName(name.split('-')[0] ?? '');
}

function fromName(n: string): IstioProtocol {
  switch (n.toLowerCase()) {
    case 'http':
      return 'HTTP';
    case 'http2':
    case 'h2c':
      return 'HTTP2';
    case 'grpc':
      return 'GRPC';
    case 'grpc-web':
      return 'GRPC-WEB';
    case 'https':
      return 'HTTPS';
    case 'tcp':
      return 'TCP';
    case 'tls':
      return 'TLS';
    case 'mongo':
    case 'redis':
    case 'mysql':
      return 'TCP';
    default:
      return 'UNKNOWN';
  }
}

type WorkloadEntry = {
  object: LoadedObject;
  address: string;
  ports: Record<string, number>;
  labels: Record<string, string>;
  locality?: string;
  weight?: number;
};

export class ServiceRegistry {
  readonly services = new Map<string, MeshService>();

  constructor(objects: readonly LoadedObject[], k8s: KubernetesEndpoints, diags: Diagnostics) {
    const workloads: WorkloadEntry[] = [];
    for (const o of objects) {
      if (o.kind !== 'WorkloadEntry' || !isIstio(o)) continue;
      const spec = checkSpec(o, WorkloadEntrySpec, diags);
      if (!spec) continue;
      if (!spec.address) continue;
      workloads.push({
        object: o,
        address: spec.address,
        ports: spec.ports ?? {},
        labels: { ...o.metadata.labels, ...(spec.labels ?? {}) },
        ...(spec.locality ? { locality: spec.locality } : {}),
        ...(spec.weight ? { weight: spec.weight } : {}),
      });
    }
    for (const o of objects) {
      if (o.kind === 'Service' && o.apiVersion === 'v1') this.#addKubernetesService(o, k8s, workloads);
    }
    for (const o of objects) {
      if (o.kind === 'ServiceEntry' && isIstio(o)) this.#addServiceEntry(o, workloads, diags);
    }
  }

  get(hostname: string): MeshService | undefined {
    return this.services.get(hostname);
  }

  #addKubernetesService(o: LoadedObject, k8s: KubernetesEndpoints, workloads: WorkloadEntry[]): void {
    const svc = k8s.service(o.metadata.namespace, o.metadata.name);
    if (!svc) return;
    const hostname = `${o.metadata.name}.${o.metadata.namespace}.svc.${DOMAIN_SUFFIX}`;
    const selector = (o.body.spec as { selector?: Record<string, string> } | undefined)?.selector;
    const selected = selector
      ? workloads.filter((w) => w.object.metadata.namespace === o.metadata.namespace && labelsMatch(w.labels, selector))
      : [];
    const ports: ServicePort[] = svc.ports.map((p) => ({
      name: p.name,
      number: p.port,
      protocol: kubernetesPortProtocol(p.name, p.appProtocol, p.protocol),
      targetPort: p.targetPort,
    }));
    this.services.set(hostname, {
      hostname,
      namespace: o.metadata.namespace,
      object: o,
      ports,
      endpoints: (port) => {
        const fromK8s = k8s.serviceEndpoints(o.metadata.namespace, o.metadata.name, port.number)?.endpoints ?? [];
        // WorkloadEntries selected by the Service join its endpoints (Istio's kube controller).
        const target = typeof port.targetPort === 'number' ? port.targetPort : port.number;
        return [...fromK8s, ...selected.map((w) => workloadEndpoint(w, port, target))];
      },
    });
  }

  #addServiceEntry(o: LoadedObject, workloads: WorkloadEntry[], diags: Diagnostics): void {
    const spec = checkSpec(o, ServiceEntrySpec, diags);
    if (!spec) return;
    if (!validateServiceEntry(o, spec, diags)) return;
    const resolution = spec.resolution ?? 'NONE';
    const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
      name: p.name,
      number: p.number,
      protocol: (p.protocol ?? fromName(p.name.split('-')[0] ?? '')).toUpperCase(),
      ...(p.targetPort ? { targetPort: p.targetPort } : {}),
    }));
    const inline: WorkloadEntry[] = (spec.endpoints ?? []).flatMap((e, i) =>
      e.address
        ? [
            {
              object: o,
              address: e.address,
              ports: e.ports ?? {},
              labels: e.labels ?? {},
              ...(e.locality ? { locality: e.locality } : {}),
              ...(e.weight ? { weight: e.weight } : {}),
              index: i,
            },
          ]
        : [],
    );
    const sel = spec.workloadSelector?.labels;
    const selected = sel ? workloads.filter((w) => w.object.metadata.namespace === o.metadata.namespace && labelsMatch(w.labels, sel)) : [];
    const members = [...inline, ...selected];
    if (resolution === 'NONE')
      diags.warning(
        ISTIO_CODES.NOT_APPLIED,
        `${objectRef(o)} has resolution NONE: a sidecar forwards to the address the client dialled, which a local proxy does not know; its hosts get no endpoints (503)`,
        { object: o, path: ['spec', 'resolution'] },
        'use resolution STATIC with endpoints, or DNS',
      );
    for (const host of spec.hosts) {
      this.services.set(host, {
        hostname: host,
        namespace: o.metadata.namespace,
        object: o,
        ports,
        endpoints: (port) => {
          if (resolution === 'NONE') return [];
          const target = typeof port.targetPort === 'number' ? port.targetPort : port.number;
          if (members.length === 0 && (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && !host.startsWith('*'))
            return [{ address: host, port: target, weight: 1, priority: 0, hostname: host }];
          const eps = members.map((w) => workloadEndpoint(w, port, target));
          return resolution === 'DNS_ROUND_ROBIN' ? eps.slice(0, 1) : eps;
        },
      });
    }
  }
}

function workloadEndpoint(w: WorkloadEntry, port: ServicePort, target: number): ir.Endpoint {
  const locality = parseIstioLocality(w.locality);
  return {
    address: w.address,
    port: w.ports[port.name] ?? target,
    // Istio turns an unset or 0 weight into a positive one.
    weight: w.weight && w.weight > 0 ? w.weight : 1,
    priority: 0,
    labels: w.labels,
    hostname: w.object.kind === 'WorkloadEntry' ? w.object.metadata.name : w.address,
    ...(locality ? { locality } : {}),
  };
}

export function labelsMatch(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export function isIstio(o: LoadedObject): boolean {
  return o.apiVersion.startsWith('networking.istio.io/');
}

/** Istio's ValidateServiceEntry rules that the schema cannot say (config-apis.md 3.10, 6 #24). */
function validateServiceEntry(o: LoadedObject, spec: ServiceEntrySpec, diags: Diagnostics): boolean {
  let ok = true;
  const fail = (path: (string | number)[], message: string, fix?: string) => {
    ok = false;
    diags.error(ISTIO_CODES.INVALID, `${message} (Istio's webhook rejects this ServiceEntry)`, { object: o, path: ['spec', ...path] }, fix);
  };
  spec.hosts.forEach((h, i) => {
    if (h === '*') fail(['hosts', i], 'invalid host *: a ServiceEntry cannot match every host', 'list the host names it stands for');
  });
  const resolution = spec.resolution ?? 'NONE';
  const endpoints = spec.endpoints ?? [];
  if (spec.workloadSelector && spec.endpoints)
    fail(['workloadSelector'], 'only one of WorkloadSelector or Endpoints is allowed in Service Entry', 'keep one of them');
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0)
    spec.hosts.forEach((h, i) => {
      if (h.startsWith('*'))
        fail(
          ['hosts', i],
          `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`,
          'add endpoints, or name the host',
        );
    });
  if (resolution === 'NONE' && endpoints.length > 0)
    fail(['endpoints'], 'no endpoints should be provided for resolution type none', 'remove the endpoints or use resolution STATIC');
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1)
    fail(
      ['endpoints'],
      'there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN',
      'use resolution DNS for several endpoints',
    );
  const names = new Set<string>();
  const numbers = new Set<number>();
  (spec.ports ?? []).forEach((p, i) => {
    if (names.has(p.name)) fail(['ports', i, 'name'], `service entry port name "${p.name}" already defined`);
    if (numbers.has(p.number)) fail(['ports', i, 'number'], `service entry port ${p.number} already defined`);
    names.add(p.name);
    numbers.add(p.number);
  });
  endpoints.forEach((e, i) => {
    if (resolution === 'STATIC' && e.address && !e.address.startsWith('unix://') && isIP(e.address) === 0)
      fail(
        ['endpoints', i, 'address'],
        `endpoint address "${e.address}" is not a valid IP address`,
        'use an IP address, or resolution DNS for host names',
      );
    // Istio's message names the port number; the field path names the key.
    for (const [p, n] of Object.entries(e.ports ?? {}))
      if (!names.has(p))
        fail(
          ['endpoints', i, 'ports', p],
          `endpoint port ${n} is not defined by the service entry`,
          `"${p}" is not the name of one of spec.ports`,
        );
  });
  return ok;
}
