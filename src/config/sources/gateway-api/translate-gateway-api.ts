/**
 * Gateway API manifests -> IR listeners and clusters, plus the status a controller would write
 * (config-apis.md section 1), following Envoy Gateway where the spec leaves room.
 *
 * Fixed order, like EG's translator: GatewayClasses, Gateways and their listeners, routes sorted
 * by creation time and name, then listeners, virtual hosts and clusters assembled and sorted, so
 * the output is deterministic.
 *
 * Listeners: one legate listener per port (`http-80`, `https-443`) serving every Gateway
 * listener on that port, as EG's mergeGateways does; listeners of different Gateways that clash
 * on port+protocol+hostname (or protocol, or certificate) are Conflicted. With
 * `mergeGateways: false` each Gateway gets its own legate listeners (`ns/gateway/http-80`), as EG
 * gives each Gateway its own Envoy; the caller then gives them distinct addresses.
 *
 * Virtual hosts: one per effective host name (listener ∩ route), `routeOrder: 'gateway-api'`, plus
 * an empty one for each listener host name so that listener isolation holds (a request for a
 * listener's host name never falls through to a less specific listener's routes).
 *
 * Not yet: TLS/TCP/UDP listeners (UnsupportedProtocol), SNI with several certificates on one
 * port, ExtensionRef and ExternalAuth filters (they answer 500), URLRewrite /
 * RequestRedirect / RequestMirror on one of several backendRefs, backends other than Services,
 * exact 500s for the share of invalid backends (503 today, see backends.ts), and the rule that
 * only one of an HTTPRoute and a GRPCRoute with intersecting host names is accepted.
 */
import type * as ir from '../../../ir/index.js';
import { listenerDefaults } from '../../../ir/builders.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { attachParent, type Attachment } from './attach-routes.js';
import { BackendClusters, INVALID_BACKEND_CLUSTER } from './backends.js';
import { buildRouteRules, type RouteRules } from './build-rules.js';
import { CODES, condition, EG_CONTROLLER_NAME } from './codes.js';
import type { EndpointResolver } from './endpoint-resolver.js';
import {
  buildGatewayCtx,
  finishGatewayStatus,
  listenerStatus,
  markConflictsAcrossGateways,
  selectGatewayClasses,
  type GatewayCtx,
  type ListenerCtx,
} from './gateways.js';
import { parseGateway, parseGatewayClass, parseReferenceGrant } from './parse-gateway.js';
import { parseRoute } from './parse-route.js';
import { originOf } from './read.js';
import type { StatusEntry } from './status.js';
import type * as gwapi from './types.js';

export type GatewayApiOptions = {
  /** GatewayClass controllerNames served; default: every class (each is recorded in status). */
  controllerNames?: string[];
  /** One legate listener per port for all Gateways (default), or per Gateway and port. */
  mergeGateways?: boolean;
  /** Bind address of the listeners; default 0.0.0.0. */
  address?: string;
};

/** What a policy targeting one object applies to. */
export type AttachTargets = {
  listeners: ir.Listener[];
  routes: ir.Route[];
  /** Clusters the routes forward or mirror to (shared by every route naming the same Service port). */
  clusters: ir.Cluster[];
};

/** Where an IR route came from. */
export type RouteSource = {
  /** `HTTPRoute/ns/name` or `GRPCRoute/ns/name`. */
  route: string;
  ruleIndex: number;
  ruleName?: string;
  /** Gateway listeners (`Gateway/ns/name/listener`) that carry it. */
  listeners: string[];
};

export type GatewayApiResult = {
  listeners: ir.Listener[];
  clusters: ir.Cluster[];
  status: StatusEntry[];
  /**
   * The IR a policy targeting `kind/namespace/name` (and `sectionName`: a listener of a Gateway,
   * a rule name of a route) applies to; undefined when there is no such target served here.
   */
  attachTargets(kind: string, namespace: string, name: string, sectionName?: string): AttachTargets | undefined;
  routeSource(route: ir.Route): RouteSource | undefined;
};

const GWAPI = 'gateway.networking.k8s.io/';

export function translateGatewayApi(
  objects: LoadedObject[],
  resolver: EndpointResolver,
  diags: Diagnostics,
  opts: GatewayApiOptions = {},
): GatewayApiResult {
  const merge = opts.mergeGateways ?? true;
  const address = opts.address ?? '0.0.0.0';
  const of = (kind: string, api: (v: string) => boolean) => sortObjects(objects.filter((o) => o.kind === kind && api(o.apiVersion)));
  const gw = (v: string) => v.startsWith(GWAPI);
  const core = (v: string) => v === 'v1';
  const byName = (list: LoadedObject[]) => new Map(list.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));

  const grants = of('ReferenceGrant', gw).flatMap((o) => guarded(o, diags, () => parseReferenceGrant(o, diags)) ?? []);
  const secrets = byName(of('Secret', core));
  const services = byName(of('Service', core));
  const namespaces = new Map(of('Namespace', core).map((o) => [o.metadata.name, o.metadata.labels]));
  const namespaceLabels = (ns: string) => ({ ...(namespaces.get(ns) ?? {}), 'kubernetes.io/metadata.name': ns });

  // GatewayClasses and Gateways.
  const classes = of('GatewayClass', gw).flatMap((o) => guarded(o, diags, () => parseGatewayClass(o, diags)) ?? []);
  const classResult = selectGatewayClasses(classes, objects, diags, opts.controllerNames);
  const status: StatusEntry[] = [...classResult.status];
  const gateways = new Map<string, GatewayCtx>();
  const foreign = new Set<string>();
  for (const o of of('Gateway', gw)) {
    const g = guarded(o, diags, () => parseGateway(o, diags));
    if (!g) continue;
    const gc = classResult.served.get(g.className);
    if (!gc) {
      const known = classes.find((c) => c.name === g.className);
      foreign.add(g.ref);
      if (known && opts.controllerNames && !opts.controllerNames.includes(known.controllerName)) {
        diags.warning(
          CODES.GATEWAYCLASS_NOT_OURS,
          `GatewayClass "${g.className}" belongs to controller ${known.controllerName}: this Gateway is not served`,
          {
            object: o,
            path: ['spec', 'gatewayClassName'],
          },
        );
        continue;
      }
      if (!known)
        diags.error(
          CODES.GATEWAYCLASS_NOT_FOUND,
          `GatewayClass "${g.className}" does not exist: this Gateway is not served`,
          { object: o, path: ['spec', 'gatewayClassName'] },
          'add the GatewayClass or fix spec.gatewayClassName',
        );
      status.push({
        object: g.ref,
        conditions: [
          condition(
            'Accepted',
            'Unknown',
            'Pending',
            `Waiting for controller: GatewayClass "${g.className}" is ${known ? 'not accepted' : 'missing'}`,
          ),
        ],
      });
      continue;
    }
    gateways.set(g.ref, buildGatewayCtx(g, gc, { secrets, grants, diags }));
  }
  const gatewayList = [...gateways.values()];
  if (merge) markConflictsAcrossGateways(gatewayList, diags);
  else for (const g of gatewayList) markConflictsAcrossGateways([g], diags);
  for (const g of gatewayList) finishGatewayStatus(g);

  // Legate listeners, one per port (or per Gateway and port).
  const irListeners = new Map<string, ir.Listener>();
  const vhostRoutes = new Map<ir.VirtualHost, Set<string>>();
  for (const g of gatewayList) {
    for (const l of g.listeners) {
      if (!l.ready) continue;
      const base = `${l.spec.protocol.toLowerCase()}-${l.spec.port}`;
      const name = merge ? base : `${g.gateway.namespace}/${g.gateway.name}/${base}`;
      l.irListener = name;
      let irl = irListeners.get(name);
      if (!irl) {
        irl = listenerDefaults(name, address, l.spec.port);
        irl.origin.port = originOf(g.gateway.object, [...l.spec.path, 'port']);
        irListeners.set(name, irl);
      }
      if (l.tls && !irl.tls) {
        irl.tls = l.tls;
        irl.origin.tls = originOf(g.gateway.object, [...l.spec.path, 'tls', 'certificateRefs', 0]);
      }
      // HTTPS listeners sharing the socket: a request for one of them on a connection made for
      // another (HTTP/2 coalescing) is answered 421.
      if (l.spec.protocol === 'HTTPS') {
        const names = (irl.tlsHostnames ??= []);
        const name = l.spec.hostname ?? '*';
        if (!names.includes(name)) names.push(name);
        irl.origin.tlsHostnames ??= originOf(g.gateway.object, [...l.spec.path, 'hostname']);
      }
      if (l.spec.hostname !== undefined) virtualHost(irl, l.spec.hostname, vhostRoutes);
    }
  }

  // Routes.
  const clusters = new BackendClusters(resolver, grants, services);
  const routes = new Map<string, RouteRules>();
  const sources = new Map<ir.Route, { rules: RouteRules; rule: gwapi.Rule; listeners: Set<ListenerCtx> }>();
  const defaultControllerName = opts.controllerNames?.[0] ?? EG_CONTROLLER_NAME;
  for (const o of [...of('HTTPRoute', gw), ...of('GRPCRoute', gw)].sort(compareObjects)) {
    try {
      const route = parseRoute(o, diags);
      if (!route) continue;
      const rr = buildRouteRules(route, clusters, diags);
      routes.set(route.ref, rr);
      for (const ref of route.parentRefs) {
        const res = attachParent(rr, ref, { gateways, foreignGateways: foreign, namespaceLabels, defaultControllerName, diags });
        if (res.status) status.push(res.status);
        for (const a of res.attachments) place(rr, a);
      }
    } catch (err) {
      // Bad input must never crash the translation: report the bug and skip the object.
      diags.error(CODES.INTERNAL, `internal error while translating: ${(err as Error)?.stack ?? String(err)}`, { object: o });
    }
  }

  function place(rr: RouteRules, a: Attachment): void {
    const l = a.listener;
    l.attachedRoutes.add(rr.route.ref);
    const irl = l.irListener ? irListeners.get(l.irListener) : undefined;
    if (!irl) return;
    for (const host of a.hosts) {
      const vh = virtualHost(irl, host, vhostRoutes);
      const names = vhostRoutes.get(vh)!;
      for (const { rule, routes: templates } of rr.rules) {
        for (const t of templates) {
          if (names.has(t.name)) {
            // The same route reached this virtual host through another listener: one copy serves both.
            const existing = vh.routes.find((r) => r.name === t.name)!;
            sources.get(existing)?.listeners.add(l);
            continue;
          }
          const copy = structuredClone(t);
          vh.routes.push(copy);
          names.add(t.name);
          sources.set(copy, { rules: rr, rule, listeners: new Set([l]) });
        }
      }
    }
  }

  // Status of Gateways and listeners (attachedRoutes is known now).
  for (const g of gatewayList) status.push(g.status, ...g.listeners.map(listenerStatus));
  status.sort(compareStatus);

  const listeners = [...irListeners.values()].sort((a, b) => a.port - b.port || cmp(a.name, b.name));
  for (const l of listeners) l.virtualHosts.sort((a, b) => cmp(a.name, b.name));
  const clusterList = clusters.finish();
  const clusterByName = new Map(clusterList.map((c) => [c.name, c]));

  const targets = (picked: ir.Route[], ls: ListenerCtx[]): AttachTargets => {
    const names = new Set<string>();
    for (const r of picked) {
      if (r.action.kind === 'forward') for (const c of r.action.clusters) names.add(c.cluster);
      for (const m of r.mirrors ?? []) names.add(m.cluster);
    }
    names.delete(INVALID_BACKEND_CLUSTER);
    const irNames = new Set(ls.map((l) => l.irListener).filter((n) => n !== undefined));
    return {
      listeners: listeners.filter((l) => irNames.has(l.name)),
      routes: picked,
      clusters: [...names].sort().flatMap((n) => clusterByName.get(n) ?? []),
    };
  };

  return {
    listeners,
    clusters: clusterList,
    status,
    attachTargets(kind, namespace, name, sectionName) {
      if (kind === 'Gateway') {
        const g = gateways.get(`Gateway/${namespace}/${name}`);
        if (!g) return undefined;
        const ls = g.listeners.filter((l) => sectionName === undefined || l.spec.name === sectionName);
        if (ls.length === 0) return undefined;
        const picked = [...sources].filter(([, s]) => ls.some((l) => s.listeners.has(l))).map(([r]) => r);
        return targets(picked, ls);
      }
      if (kind !== 'HTTPRoute' && kind !== 'GRPCRoute') return undefined;
      const rr = routes.get(`${kind}/${namespace}/${name}`);
      if (!rr) return undefined;
      if (sectionName !== undefined && !rr.route.rules.some((r) => r.name === sectionName)) return undefined;
      const picked = [...sources].filter(([, s]) => s.rules === rr && (sectionName === undefined || s.rule.name === sectionName));
      return targets(
        picked.map(([r]) => r),
        picked.flatMap(([, s]) => [...s.listeners]),
      );
    },
    routeSource(route) {
      const s = sources.get(route);
      if (!s) return undefined;
      return {
        route: s.rules.route.ref,
        ruleIndex: s.rule.index,
        ...(s.rule.name !== undefined ? { ruleName: s.rule.name } : {}),
        listeners: [...s.listeners].map((l) => l.key).sort(),
      };
    },
  };
}

function guarded<T>(o: LoadedObject, diags: Diagnostics, f: () => T | undefined): T | undefined {
  try {
    return f();
  } catch (err) {
    diags.error(CODES.INTERNAL, `internal error while translating: ${(err as Error)?.stack ?? String(err)}`, { object: o });
    return undefined;
  }
}

function virtualHost(irl: ir.Listener, host: string, names: Map<ir.VirtualHost, Set<string>>): ir.VirtualHost {
  let vh = irl.virtualHosts.find((v) => v.name === host);
  if (!vh) {
    vh = {
      name: host,
      domains: [host],
      routeOrder: 'gateway-api',
      routes: [],
      origin: { domains: { kind: 'derived', from: 'Gateway listener hostname ∩ route hostnames' } },
    };
    irl.virtualHosts.push(vh);
    names.set(vh, new Set());
  }
  return vh;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest first (missing timestamps last), then `namespace/name`, as EG and the spec order routes. */
function compareObjects(a: LoadedObject, b: LoadedObject): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return cmp(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`) || cmp(a.kind, b.kind);
}

function created(o: LoadedObject): number {
  const t = o.metadata.creationTimestamp;
  const ms = t === undefined ? NaN : Date.parse(String(t));
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

function sortObjects(list: LoadedObject[]): LoadedObject[] {
  return list.sort(compareObjects);
}

const STATUS_ORDER: Record<string, number> = { GatewayClass: 0, Gateway: 1, HTTPRoute: 2, GRPCRoute: 3 };

function compareStatus(a: StatusEntry, b: StatusEntry): number {
  const ka = a.object.slice(0, a.object.indexOf('/'));
  const kb = b.object.slice(0, b.object.indexOf('/'));
  return (
    (STATUS_ORDER[ka] ?? 9) - (STATUS_ORDER[kb] ?? 9) ||
    cmp(a.object, b.object) ||
    (a.listener === undefined ? 0 : 1) - (b.listener === undefined ? 0 : 1) ||
    cmp(a.parent ?? '', b.parent ?? '')
  );
}
