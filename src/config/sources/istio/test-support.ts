/**
 * Test helpers for the Istio translator: manifests written as objects (serialized to YAML and read
 * by the real loader, so positions and field paths are the ones users see), translated with the
 * real endpoint resolver. Not used at run time.
 */
import { stringify } from 'yaml';
import type * as ir from '../../../ir/index.js';
import { parseManifestText } from '../../load/load-manifests.js';
import { Diagnostics, type LoadedObject } from '../../model.js';
import { KubernetesEndpoints } from '../kubernetes/endpoint-resolver.js';
import { translateIstio, type IstioOptions } from './translate-istio.js';

export type Manifest = Record<string, unknown>;

export const NET = 'networking.istio.io/v1';

/** A Kubernetes Service with the given ports (`name:port` or `name:port:targetPort`). */
export function service(name: string, ports: string[], extra: { namespace?: string; selector?: Record<string, string> } = {}): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: extra.namespace ?? 'default' },
    spec: {
      ...(extra.selector ? { selector: extra.selector } : {}),
      ports: ports.map((p) => {
        const [n, port, target] = p.split(':');
        return { name: n, port: Number(port), ...(target ? { targetPort: Number(target) } : {}) };
      }),
    },
  };
}

export function virtualService(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'default',
  meta: Record<string, unknown> = {},
): Manifest {
  return { apiVersion: NET, kind: 'VirtualService', metadata: { name, namespace, ...meta }, spec };
}

export function destinationRule(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'default',
  meta: Record<string, unknown> = {},
): Manifest {
  return { apiVersion: NET, kind: 'DestinationRule', metadata: { name, namespace, ...meta }, spec };
}

export function serviceEntry(name: string, spec: Record<string, unknown>, namespace = 'default'): Manifest {
  return { apiVersion: NET, kind: 'ServiceEntry', metadata: { name, namespace }, spec };
}

export function workloadEntry(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'default',
  labels?: Record<string, string>,
): Manifest {
  return { apiVersion: NET, kind: 'WorkloadEntry', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec };
}

export function gateway(name: string, spec: Record<string, unknown>, namespace = 'default'): Manifest {
  return { apiVersion: NET, kind: 'Gateway', metadata: { name, namespace }, spec };
}

/** Objects as one multi-document YAML text. */
export function yamlOf(objects: Manifest[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export type Run = {
  listeners: ir.Listener[];
  clusters: ir.Cluster[];
  diags: Diagnostics;
  objects: LoadedObject[];
};

/**
 * Translates the objects. `endpoints` gives each `namespace/service` its endpoints (the local
 * runtime's hook, with labels); Services without an entry get none.
 */
export function run(objects: Manifest[], opts: { endpoints?: Record<string, ir.Endpoint[]>; istio?: IstioOptions } = {}): Run {
  const diags = new Diagnostics();
  const loaded = parseManifestText('test.yaml', yamlOf(objects), diags);
  const eps = opts.endpoints;
  const k8s = new KubernetesEndpoints(loaded, eps ? (ns, svc) => eps[`${ns}/${svc}`] : undefined);
  const result = translateIstio(loaded, k8s, diags, opts.istio);
  return { ...result, diags, objects: loaded };
}

/** `CODE field` of every diagnostic (of one severity when given). */
export function codes(r: { diags: Diagnostics }, severity?: 'error' | 'warning' | 'info'): string[] {
  return r.diags.items.filter((d) => !severity || d.severity === severity).map((d) => `${d.code} ${d.field ?? ''}`.trim());
}

/** Messages of the errors. */
export function errors(r: { diags: Diagnostics }): string[] {
  return r.diags.items.filter((d) => d.severity === 'error').map((d) => d.message);
}

export function listener(r: Run, name: string): ir.Listener {
  const l = r.listeners.find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}: ${r.listeners.map((x) => x.name).join(', ')}`);
  return l;
}

/** The virtual host of a listener that serves `domain` (exactly listed). */
export function vhost(r: Run, listenerName: string, domain: string): ir.VirtualHost {
  const l = listener(r, listenerName);
  const vh = l.virtualHosts.find((v) => v.domains.includes(domain));
  if (!vh)
    throw new Error(`no virtual host for ${domain} on ${listenerName}: ${l.virtualHosts.map((v) => v.domains.join(' ')).join(' | ')}`);
  return vh;
}

/** The only route of the only virtual host of the only listener. */
export function onlyRoute(r: Run): ir.Route {
  const routes = r.listeners.flatMap((l) => l.virtualHosts.flatMap((v) => v.routes));
  if (routes.length !== 1) throw new Error(`expected one route, got ${routes.length}: ${routes.map((x) => x.name).join(', ')}`);
  return routes[0]!;
}

export function cluster(r: Run, name: string): ir.Cluster {
  const c = r.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}: ${r.clusters.map((x) => x.name).join(', ')}`);
  return c;
}

/** An endpoint on 127.0.0.1 with labels. */
export function ep(port: number, labels?: Record<string, string>): ir.Endpoint {
  return { address: '127.0.0.1', port, weight: 1, priority: 0, ...(labels ? { labels } : {}) };
}
