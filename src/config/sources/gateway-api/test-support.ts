/**
 * Test helpers for the Gateway API translator: YAML text -> LoadedObject[] (positions of each
 * object's start), and an EndpointResolver over the Services in the same text. Not used at run
 * time; the real loader and resolver live elsewhere.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import type * as ir from '../../../ir/index.js';
import { Diagnostics, type LoadedObject } from '../../model.js';
import type { EndpointResolver } from './endpoint-resolver.js';
import { translateGatewayApi, type GatewayApiOptions, type GatewayApiResult } from './translate-gateway-api.js';

const CLUSTER_SCOPED = new Set(['GatewayClass', 'Namespace']);

export function loadObjects(text: string, file = 'test.yaml'): LoadedObject[] {
  const lc = new LineCounter();
  const out: LoadedObject[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter: lc })) {
    const body = doc.toJS() as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') continue;
    const start = lc.linePos(doc.contents?.range?.[0] ?? 0);
    const pos = { file, line: start.line, column: start.col };
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const kind = String(body.kind);
    out.push({
      apiVersion: String(body.apiVersion),
      kind,
      metadata: {
        name: String(meta.name ?? ''),
        namespace: CLUSTER_SCOPED.has(kind) ? '' : String(meta.namespace ?? 'default'),
        labels: (meta.labels ?? {}) as Record<string, string>,
        annotations: (meta.annotations ?? {}) as Record<string, string>,
        ...(meta.creationTimestamp !== undefined ? { creationTimestamp: String(meta.creationTimestamp) } : {}),
        ...(typeof meta.generation === 'number' ? { generation: meta.generation } : {}),
      },
      body,
      pos,
      posOf: () => pos,
    });
  }
  return out;
}

/** Services of the objects, each port with one endpoint `<name>.<namespace>:<targetPort>`. */
export class ServiceResolver implements EndpointResolver {
  readonly #objects: readonly LoadedObject[];
  constructor(objects: readonly LoadedObject[]) {
    this.#objects = objects;
  }
  serviceEndpoints(namespace: string, name: string, port: number): { endpoints: ir.Endpoint[]; appProtocol?: string } | undefined {
    const svc = this.#objects.find((o) => o.kind === 'Service' && o.metadata.namespace === namespace && o.metadata.name === name);
    const ports = ((svc?.body.spec as Record<string, unknown> | undefined)?.ports ?? []) as Record<string, unknown>[];
    const p = ports.find((x) => x.port === port);
    if (!p) return undefined;
    const target = typeof p.targetPort === 'number' ? p.targetPort : port;
    const endpoints: ir.Endpoint[] = [{ address: `${name}.${namespace}`, port: target, weight: 1, priority: 0 }];
    return { endpoints, ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}) };
  }
}

/** A GatewayClass `legate`, a Gateway `infra/gw` with an HTTP listener on 80 open to all namespaces. */
export const BASE = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: legate.dev/controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: legate
  listeners:
  - { name: http, port: 80, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
---
apiVersion: v1
kind: Service
metadata: { name: svc, namespace: default }
spec: { ports: [{ port: 8080, targetPort: 9000 }] }
---
apiVersion: v1
kind: Service
metadata: { name: svc2, namespace: default }
spec: { ports: [{ port: 8080 }] }
`;

export type Translated = GatewayApiResult & { diags: Diagnostics; objects: LoadedObject[] };

export function translateYaml(text: string, opts: GatewayApiOptions = {}): Translated {
  const objects = loadObjects(text);
  const diags = new Diagnostics();
  const result = translateGatewayApi(objects, new ServiceResolver(objects), diags, opts);
  return Object.assign(result, { diags, objects });
}

/** Every route of every virtual host, by `listener/vhost/route` name. */
export function routesByName(r: GatewayApiResult): Map<string, ir.Route> {
  const m = new Map<string, ir.Route>();
  for (const l of r.listeners)
    for (const vh of l.virtualHosts) for (const route of vh.routes) m.set(`${l.name}/${vh.name}/${route.name}`, route);
  return m;
}

/** The only route of the translation (fails the test when there is not exactly one). */
export function onlyRoute(r: GatewayApiResult): ir.Route {
  const all = [...routesByName(r).values()];
  if (all.length !== 1) throw new Error(`expected one route, got ${all.length}: ${[...routesByName(r).keys()].join(', ')}`);
  return all[0]!;
}

/** Conditions of a status entry as `Type=Status/Reason`. */
export function conditionsOf(r: GatewayApiResult, object: string, pick: { parent?: string; listener?: string } = {}): string[] {
  const e = r.status.find((s) => s.object === object && s.parent === pick.parent && s.listener === pick.listener);
  if (!e)
    throw new Error(
      `no status for ${object} ${JSON.stringify(pick)}: ${r.status.map((s) => `${s.object}|${s.parent ?? ''}|${s.listener ?? ''}`).join(', ')}`,
    );
  return e.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}
