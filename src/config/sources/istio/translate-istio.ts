/**
 * Istio networking manifests -> IR listeners and clusters.
 *
 * Where traffic enters:
 * - Istio Gateways: one listener per server port (`istio-<port>`, all Gateways merged, as one
 *   ingress gateway deployment serves them), virtual hosts from the hosts of VirtualServices bound
 *   to the Gateway that the server's hosts admit.
 * - The mesh: VirtualServices without `gateways` (or with `mesh`) are served as a sidecar serves
 *   them, one local listener per service port they can apply to (`mesh-<port>` on 127.0.0.1, as
 *   Istio's outbound listeners), routing by Host (short name, FQDN, `*`) and by `match.port`.
 *   Services on those ports without a VirtualService get Istio's default route.
 *
 * Clusters are Istio's `outbound|port|subset|host`, built on demand with DestinationRule policy.
 */
import type * as ir from '../../../ir/index.js';
import { listenerDefaults } from '../../../ir/builders.js';
import { ISTIO } from '../../../ir/defaults.js';
import { defaultOrigin } from '../../../ir/origin.js';
import { objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import type { KubernetesEndpoints } from '../kubernetes/endpoint-resolver.js';
import { secretPem } from '../kubernetes/secrets.js';
import { IstioClusters } from './clusters.js';
import { ISTIO_CODES } from './codes.js';
import { DestinationRules } from './destination-rule.js';
import { covers, hostsMatch, serviceDomains } from './hosts.js';
import { isHttpProtocol, isIstio, ServiceRegistry } from './registry.js';
import { byAge, originOf } from './rules.js';
import { checkSpec, GatewaySpec } from './schema.js';
import {
  buildVirtualServiceRoutes,
  defaultRoute,
  parseVirtualService,
  type ParsedVirtualService,
  type RouteContext,
} from './virtual-service.js';

export type IstioOptions = {
  /** Namespace legate's mesh listeners act for: short names of its services resolve (default `default`). */
  clientNamespace?: string;
  /** Bind address of mesh listeners (default 127.0.0.1) and of gateway listeners (default 0.0.0.0). */
  meshAddress?: string;
  gatewayAddress?: string;
};

export type IstioResult = { listeners: ir.Listener[]; clusters: ir.Cluster[] };

export function translateIstio(
  objects: readonly LoadedObject[],
  k8s: KubernetesEndpoints,
  diags: Diagnostics,
  opts: IstioOptions = {},
): IstioResult {
  const istio = objects.filter(isIstio);
  if (istio.length === 0) return { listeners: [], clusters: [] };
  const clientNs = opts.clientNamespace ?? ISTIO.CLIENT_NAMESPACE;
  const registry = new ServiceRegistry(objects, k8s, diags);
  const rules = new DestinationRules(istio, registry, diags);
  const clusters = new IstioClusters(registry, rules, diags, clientNs);
  const vss = istio
    .filter((o) => o.kind === 'VirtualService')
    .sort(byAge)
    .flatMap((o) => parseVirtualService(o, diags) ?? []);
  const reported = new Set<string>();
  const rc = (listenerPort: number, gateway: string): RouteContext => ({ listenerPort, gateway, clusters, diags, reported });

  const listeners = [
    ...gatewayListeners(istio, vss, rc, diags, opts.gatewayAddress ?? '0.0.0.0', objects),
    ...meshListeners(vss, registry, rc, diags, clientNs, opts.meshAddress ?? '127.0.0.1'),
  ];
  return { listeners, clusters: clusters.clusters() };
}

function meshListeners(
  vss: ParsedVirtualService[],
  registry: ServiceRegistry,
  rc: (port: number, gateway: string) => RouteContext,
  diags: Diagnostics,
  clientNs: string,
  address: string,
): ir.Listener[] {
  const mesh = vss.filter((v) => v.gateways.includes('mesh'));
  if (mesh.length === 0) return [];
  const services = [...registry.services.values()];
  const ports = new Set<number>();
  for (const vs of mesh) {
    for (const s of services)
      if (vs.hosts.some((h) => hostsMatch(s.hostname, h))) for (const p of s.ports) if (isHttpProtocol(p.protocol)) ports.add(p.number);
    for (const r of vs.http) for (const m of r.match ?? []) if (m.port !== undefined) ports.add(m.port);
  }
  const out: ir.Listener[] = [];
  for (const port of [...ports].sort((a, b) => a - b)) {
    const l = listenerDefaults(`mesh-${port}`, address, port);
    l.origin.port = { kind: 'derived', from: 'a port of a service that mesh-bound VirtualServices apply to' };
    type Candidate = { vs: ParsedVirtualService; routes: ir.Route[]; domains: { d: string; host: string }[] };
    const candidates: Candidate[] = [];
    const servedServices = new Set<string>();
    for (const vs of mesh) {
      const routes = buildVirtualServiceRoutes(vs, rc(port, 'mesh'));
      if (routes.length === 0) continue;
      const domains: { d: string; host: string }[] = [];
      for (const h of vs.hosts) {
        const matched = services.filter((s) => hostsMatch(s.hostname, h) && s.ports.some((p) => p.number === port));
        for (const s of matched) {
          for (const d of serviceDomains(s.hostname, clientNs)) domains.push({ d, host: h });
          servedServices.add(s.hostname);
        }
        // Hosts that name no service stay literal; `*` also catches any authority, so a local
        // client can call the listener by any name (a sidecar would pass those through).
        if (matched.length === 0 || h === '*') domains.push({ d: h, host: h });
      }
      candidates.push({ vs, routes, domains });
    }
    // A name goes to the VirtualService whose host is most specific for it (exact before wildcards,
    // longer wildcards first, as Envoy picks domains), the oldest on a tie.
    const rank = (h: string) => (h.startsWith('*') ? 1_000_000 - h.length : 0);
    const claims = candidates.flatMap((c, order) => c.domains.map((x) => ({ ...x, c, order })));
    claims.sort((a, b) => rank(a.host) - rank(b.host) || a.order - b.order);
    const claimed = new Map<string, { c: Candidate; host: string }>();
    const reportedPairs = new Set<string>();
    for (const x of claims) {
      const prev = claimed.get(x.d);
      if (!prev) {
        claimed.set(x.d, { c: x.c, host: x.host });
        continue;
      }
      // The same host in two VirtualServices is IST0109; a wildcard yielding a name to a more specific host is not.
      if (prev.c === x.c || prev.host !== x.host) continue;
      const key = `${objectRef(prev.c.vs.object)} ${objectRef(x.c.vs.object)} ${x.host}`;
      if (reportedPairs.has(key)) continue;
      reportedPairs.add(key);
      diags.warning(
        ISTIO_CODES.CONFLICTING_HOST,
        `VirtualServices ${objectRef(prev.c.vs.object)} and ${objectRef(x.c.vs.object)} both define host ${x.host} for the mesh; the older one wins (IST0109)`,
        { object: x.c.vs.object, path: ['spec', 'hosts'] },
        'merge them into one VirtualService',
      );
    }
    for (const c of candidates) {
      const own = [...new Set(c.domains.map((x) => x.d))].filter((d) => claimed.get(d)?.c === c);
      if (own.length === 0) continue;
      l.virtualHosts.push({
        name: `${objectRef(c.vs.object)}:${port}`,
        domains: own,
        routeOrder: 'ordered',
        routes: c.routes,
        origin: { domains: originOf(c.vs.object, ['spec', 'hosts']) },
      });
    }
    // Services on this port that no VirtualService covers: Istio's default route.
    for (const s of services) {
      const sp = s.ports.find((p) => p.number === port);
      if (!sp || !isHttpProtocol(sp.protocol) || servedServices.has(s.hostname)) continue;
      const domains = serviceDomains(s.hostname, clientNs).filter((d) => !claimed.has(d));
      if (domains.length === 0) continue;
      const ref = rc(port, 'mesh').clusters.resolve(s.hostname, port, undefined, port);
      if (!ref.ok) continue;
      l.virtualHosts.push({
        name: `${s.hostname}:${port}`,
        domains,
        routeOrder: 'ordered',
        routes: [defaultRoute(ref)],
        origin: { domains: defaultOrigin('istio', 'a service without a VirtualService gets the default route') },
      });
    }
    if (l.virtualHosts.length > 0) out.push(l);
  }
  return out;
}

type Server = {
  gateway: LoadedObject;
  /** `namespace/name` */
  gatewayName: string;
  index: number;
  port: number;
  protocol: string;
  /** [namespace filter, host] pairs; namespace `*` = any, `.` = the gateway's. */
  hosts: { ns: string; host: string }[];
  httpsRedirect: boolean;
  tls?: ir.Tls;
};

function gatewayListeners(
  istio: readonly LoadedObject[],
  vss: ParsedVirtualService[],
  rc: (port: number, gateway: string) => RouteContext,
  diags: Diagnostics,
  address: string,
  objects: readonly LoadedObject[],
): ir.Listener[] {
  const servers: Server[] = [];
  const known = new Set<string>();
  for (const o of istio.filter((x) => x.kind === 'Gateway').sort(byAge)) {
    const spec = checkSpec(o, GatewaySpec, diags);
    if (!spec) continue;
    const name = `${o.metadata.namespace}/${o.metadata.name}`;
    known.add(name);
    (spec.servers ?? []).forEach((s, i) => {
      const protocol = s.port.protocol.toUpperCase();
      const path = ['spec', 'servers', i];
      if (!['HTTP', 'HTTPS', 'HTTP2', 'GRPC'].includes(protocol)) {
        diags.warning(ISTIO_CODES.NOT_APPLIED, `server protocol ${protocol} is not served: legate serves HTTP, HTTPS, HTTP2 and GRPC`, {
          object: o,
          path: [...path, 'port', 'protocol'],
        });
        return;
      }
      let tls: ir.Tls | undefined;
      if (protocol === 'HTTPS') {
        const t = s.tls;
        if (t?.mode !== 'SIMPLE' && t?.mode !== undefined) {
          diags.warning(ISTIO_CODES.NOT_APPLIED, `tls.mode ${t.mode} is not supported; legate terminates TLS (SIMPLE) only`, {
            object: o,
            path: [...path, 'tls', 'mode'],
          });
          return;
        }
        if (t?.credentialName) {
          const secret = objects.find(
            (x) => x.kind === 'Secret' && x.metadata.name === t.credentialName && x.metadata.namespace === o.metadata.namespace,
          );
          tls = secret ? secretPem(secret) : undefined;
        } else if (t?.serverCertificate && t.privateKey) tls = { certFile: t.serverCertificate, keyFile: t.privateKey };
        if (!tls) {
          diags.warning(
            ISTIO_CODES.REFERENCED_RESOURCE_NOT_FOUND,
            `HTTPS server has no usable certificate${t?.credentialName ? `: Secret ${o.metadata.namespace}/${t.credentialName} is missing or has no tls.crt and tls.key` : ''}; it is not served`,
            { object: o, path: [...path, 'tls'] },
            'add a kubernetes.io/tls Secret named by credentialName in the Gateway namespace',
          );
          return;
        }
      }
      servers.push({
        gateway: o,
        gatewayName: name,
        index: i,
        port: s.port.number,
        protocol,
        hosts: s.hosts.map((h) => {
          const slash = h.indexOf('/');
          return slash < 0 ? { ns: '*', host: h } : { ns: h.slice(0, slash), host: h.slice(slash + 1) };
        }),
        httpsRedirect: s.tls?.httpsRedirect === true,
        ...(tls ? { tls } : {}),
      });
    });
  }
  for (const vs of vss)
    vs.gateways.forEach((g, i) => {
      if (g !== 'mesh' && !known.has(g))
        diags.warning(
          ISTIO_CODES.GATEWAY_NOT_FOUND,
          `Referenced gateway not found: "${g}"; the VirtualService is not served there`,
          { object: vs.object, path: ['spec', 'gateways', i] },
          'add the Istio Gateway, or fix the name (namespace/name)',
        );
    });

  const byPort = new Map<number, Server[]>();
  for (const s of servers) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s]);
  const out: ir.Listener[] = [];
  for (const [port, group] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const l = listenerDefaults(`istio-${port}`, address, port);
    l.origin.port = originOf(group[0]!.gateway, ['spec', 'servers', group[0]!.index, 'port', 'number']);
    const withTls = group.filter((s) => s.tls);
    if (withTls.length > 0) {
      l.tls = withTls[0]!.tls!;
      if (group.length !== withTls.length || new Set(withTls.map((s) => JSON.stringify(s.tls))).size > 1)
        diags.warning(
          ISTIO_CODES.PORT_CONFLICT,
          `several servers share port ${port} with different TLS settings; legate serves one certificate per port, the first one's`,
          { object: withTls[0]!.gateway, path: ['spec', 'servers', withTls[0]!.index] },
        );
    }
    const vhosts = new Map<string, ir.VirtualHost>();
    for (const s of group) {
      for (const vs of vss.filter((v) => v.gateways.includes(s.gatewayName))) {
        const hosts = admittedHosts(vs, s);
        if (hosts.length === 0) continue;
        const routes = s.httpsRedirect
          ? [
              {
                name: `${s.gatewayName}/https-redirect`,
                match: { path: { kind: 'prefix', value: '/', segmentAware: false } as ir.PathMatch },
                action: { kind: 'redirect', redirect: { scheme: 'https', statusCode: 301 } } as ir.RouteAction,
                origin: { action: originOf(s.gateway, ['spec', 'servers', s.index, 'tls', 'httpsRedirect']) },
              },
            ]
          : buildVirtualServiceRoutes(vs, rc(port, s.gatewayName));
        for (const h of hosts) {
          let vh = vhosts.get(h);
          if (!vh) {
            vh = {
              name: `${h}:${port}`,
              domains: [h],
              routeOrder: 'ordered',
              routes: [],
              origin: { domains: originOf(vs.object, ['spec', 'hosts']) },
            };
            vhosts.set(h, vh);
          }
          // VirtualServices for the same host on a gateway are merged, oldest first.
          const have = new Set(vh.routes.map((r) => r.name));
          vh.routes.push(...routes.filter((r) => !have.has(r.name)));
        }
      }
    }
    l.virtualHosts = [...vhosts.values()].filter((v) => v.routes.length > 0);
    out.push(l);
  }
  return out;
}

/** VirtualService hosts a gateway server admits, narrowed to the more specific of each pair. */
function admittedHosts(vs: ParsedVirtualService, s: Server): string[] {
  const out = new Set<string>();
  const vsNs = vs.object.metadata.namespace;
  for (const sh of s.hosts) {
    const nsOk = sh.ns === '*' || (sh.ns === '.' ? vsNs === s.gateway.metadata.namespace : sh.ns === vsNs);
    if (!nsOk) continue;
    for (const h of vs.hosts) {
      if (covers(sh.host, h)) out.add(h);
      else if (covers(h, sh.host)) out.add(sh.host);
    }
  }
  return [...out];
}
