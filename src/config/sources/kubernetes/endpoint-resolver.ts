import type * as ir from '../../../ir/index.js';
import type { LoadedObject } from '../../model.js';

/** Endpoints of Services, for translators that turn backend references into clusters. */
export interface EndpointResolver {
  /** Endpoints of a Service port, or undefined when the Service (or that port) does not exist. */
  serviceEndpoints(namespace: string, name: string, port: number): { endpoints: ir.Endpoint[]; appProtocol?: string } | undefined;
}

/** Endpoints the local runtime provides for a Service port (pods it started), when it knows them. */
export type RuntimeEndpoints = (namespace: string, service: string, port: ServicePort) => ir.Endpoint[] | undefined;

export type ServicePort = { name: string; port: number; targetPort: number | string; protocol: string; appProtocol?: string };

type Service = { obj: LoadedObject; type: string; ports: ServicePort[]; selector: Record<string, string> | undefined };

/**
 * Resolves Service ports to endpoints from the manifests (Kubernetes semantics, as Envoy Gateway
 * reads them): EndpointSlices labelled with the Service's name, matched by port name and protocol,
 * the endpoint port being the slice's (the target port); legacy Endpoints when there is no slice;
 * and the local runtime's pods when given. Conditions map to health: not ready -> unhealthy,
 * serving and terminating (or not serving) -> draining.
 */
export class KubernetesEndpoints implements EndpointResolver {
  readonly #services = new Map<string, Service>();
  readonly #slices = new Map<string, LoadedObject[]>();
  readonly #endpoints = new Map<string, LoadedObject>();
  readonly #runtime: RuntimeEndpoints | undefined;

  constructor(objects: readonly LoadedObject[], runtime?: RuntimeEndpoints) {
    this.#runtime = runtime;
    for (const o of objects) {
      const ns = o.metadata.namespace;
      if (o.kind === 'Service' && o.apiVersion === 'v1') {
        const spec = (o.body.spec ?? {}) as Record<string, unknown>;
        const ports = Array.isArray(spec.ports) ? (spec.ports as Record<string, unknown>[]) : [];
        this.#services.set(`${ns}/${o.metadata.name}`, {
          obj: o,
          type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
          selector: spec.selector as Record<string, string> | undefined,
          ports: ports.map((p) => ({
            name: typeof p.name === 'string' ? p.name : '',
            port: Number(p.port),
            // targetPort defaults to port.
            targetPort: typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? p.targetPort : Number(p.port),
            protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
            ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}),
          })),
        });
      } else if (o.kind === 'EndpointSlice' && o.apiVersion.startsWith('discovery.k8s.io/')) {
        const svc = o.metadata.labels['kubernetes.io/service-name'];
        if (!svc) continue;
        const key = `${ns}/${svc}`;
        const list = this.#slices.get(key) ?? [];
        list.push(o);
        this.#slices.set(key, list);
      } else if (o.kind === 'Endpoints' && o.apiVersion === 'v1') {
        this.#endpoints.set(`${ns}/${o.metadata.name}`, o);
      }
    }
  }

  /** The Service object, for translators that need its type or ports. */
  service(namespace: string, name: string): { type: string; ports: readonly ServicePort[]; object: LoadedObject } | undefined {
    const s = this.#services.get(`${namespace}/${name}`);
    return s ? { type: s.type, ports: s.ports, object: s.obj } : undefined;
  }

  serviceEndpoints(namespace: string, name: string, port: number): { endpoints: ir.Endpoint[]; appProtocol?: string } | undefined {
    const key = `${namespace}/${name}`;
    const svc = this.#services.get(key);
    if (!svc) return undefined;
    const sp = svc.ports.find((p) => p.port === port);
    if (!sp) return undefined;
    const appProtocol = sp.appProtocol ? { appProtocol: sp.appProtocol } : {};
    const fromRuntime = this.#runtime?.(namespace, name, sp);
    if (fromRuntime) return { endpoints: fromRuntime, ...appProtocol };
    const slices = this.#slices.get(key);
    if (slices && slices.length > 0) return { endpoints: fromSlices(slices, sp), ...appProtocol };
    const legacy = this.#endpoints.get(key);
    if (legacy) return { endpoints: fromLegacy(legacy, sp), ...appProtocol };
    return { endpoints: [], ...appProtocol };
  }
}

function fromSlices(slices: LoadedObject[], sp: ServicePort): ir.Endpoint[] {
  const out: ir.Endpoint[] = [];
  for (const s of slices) {
    const ports = Array.isArray(s.body.ports) ? (s.body.ports as Record<string, unknown>[]) : [];
    // Matched by name and protocol, not number (an unnamed single port has name "").
    const match = ports.find((p) => (p.name ?? '') === sp.name && (p.protocol ?? 'TCP') === sp.protocol);
    if (!match || typeof match.port !== 'number') continue;
    const eps = Array.isArray(s.body.endpoints) ? (s.body.endpoints as Record<string, unknown>[]) : [];
    for (const e of eps) {
      const addresses = Array.isArray(e.addresses) ? (e.addresses as string[]) : [];
      const cond = (e.conditions ?? {}) as { ready?: boolean; serving?: boolean; terminating?: boolean };
      const health = sliceHealth(cond);
      const targetRef = e.targetRef as { name?: string } | undefined;
      for (const address of addresses) {
        out.push({
          address,
          port: match.port,
          weight: 1,
          priority: 0,
          health,
          ...(typeof e.zone === 'string' ? { locality: { zone: e.zone } } : {}),
          ...(targetRef?.name || typeof e.hostname === 'string' ? { hostname: targetRef?.name ?? (e.hostname as string) } : {}),
        });
      }
    }
  }
  return out;
}

/** Envoy Gateway's reading of endpoint conditions (nil ready/serving = true, nil terminating = false). */
function sliceHealth(c: { ready?: boolean; serving?: boolean; terminating?: boolean }): ir.Endpoint['health'] {
  if (c.serving !== undefined && c.terminating !== undefined && (c.terminating || !c.serving)) return 'draining';
  if (c.ready === false) return 'unhealthy';
  return 'healthy';
}

function fromLegacy(o: LoadedObject, sp: ServicePort): ir.Endpoint[] {
  const out: ir.Endpoint[] = [];
  const subsets = Array.isArray(o.body.subsets) ? (o.body.subsets as Record<string, unknown>[]) : [];
  for (const sub of subsets) {
    const ports = Array.isArray(sub.ports) ? (sub.ports as Record<string, unknown>[]) : [];
    const match = ports.find((p) => (p.name ?? '') === sp.name);
    if (!match || typeof match.port !== 'number') continue;
    const add = (list: unknown, health: ir.Endpoint['health']) => {
      for (const a of Array.isArray(list) ? (list as Record<string, unknown>[]) : []) {
        if (typeof a.ip !== 'string') continue;
        out.push({
          address: a.ip,
          port: match.port as number,
          weight: 1,
          priority: 0,
          health,
          ...(typeof a.hostname === 'string' ? { hostname: a.hostname } : {}),
        });
      }
    };
    add(sub.addresses, 'healthy');
    add(sub.notReadyAddresses, 'unhealthy');
  }
  return out;
}
