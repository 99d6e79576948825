/**
 * IR -> runtime. The only data-plane module that reads IR types: it compiles route tables,
 * resolves defaults once, and creates live clusters. Reloads diff clusters by name and content so
 * pools, counters and host state of unchanged clusters survive, and clusters whose endpoints
 * change keep the hosts that remain.
 */
import fs from 'node:fs';
import net from 'node:net';
import type * as ir from '../ir/index.js';
import { ENVOY } from '../ir/defaults.js';
import { retryPolicyDefaults } from '../ir/builders.js';
import type { Clock } from '../common/clock.js';
import type { Random } from '../common/random.js';
import { Cluster, IN_PLACE_CLUSTER_FIELDS } from './upstream/cluster.js';
import type { ProxyPlacement } from './upstream/locality.js';
import { combineHash, hashString } from './upstream/hash.js';
import type { Downstream } from './listener/downstream.js';
import type { RequestHandler } from './listener/listener.js';
import { Flag } from './http/response-flags.js';
import { httpToGrpcStatus, isGrpcContentType } from './http/grpc.js';
import { downstreamEntry, type AccessLogSink } from './access-log.js';
import { sendLocalReply } from './request/local-reply.js';
import { proxyUpgrade, rawReply } from './request/upgrade.js';
import { decideCors, type CompiledCors } from './request/cors.js';
import { compileRetryPolicy } from './request/retry-policy.js';
import { compileFault, FaultLimiter } from './request/fault.js';
import type { ListenerStats, StatsRegistry } from './stats/scopes.js';
import {
  RequestState,
  type ForwardTarget,
  type RequestContext,
  type RequestHeaderEdit,
  type ResponseHeaderEdit,
} from './request/request-state.js';
import {
  compileHostIndex,
  compileRouteTable,
  compileStringMatch,
  redirectLocation,
  rewritePath,
  type CompiledBackend,
  type HeaderMutator,
  type HostIndex,
  type RedirectRequest,
  type RouteParts,
} from './router/index.js';

/** What a compiled route does: forward, or answer locally. */
export type RouteTarget =
  | { kind: 'forward'; forward: ForwardTarget }
  | { kind: 'redirect'; routeName: string; location: (ds: RedirectRequest) => string; status: number }
  | { kind: 'direct'; routeName: string; status: number; body: string; contentType: string };

export type BuildContext = {
  clock: Clock;
  random: Random;
  accessLogFor: (listener: ir.Listener) => AccessLogSink | null;
  /** The fault limiter of a listener (max_active_faults and fault stats), kept across reloads. */
  faultsFor: (listener: ir.Listener) => FaultLimiter;
  /** Collect the attempt trace even without an access log in the IR (an overriding sink). */
  traceAll: boolean;
  /** Listener and route stat scopes kept across reloads. */
  stats?: StatsRegistry | undefined;
};

/** Used when a trusted client asks for retries with x-envoy-retry-on and the route has no policy. */
const EMPTY_RETRY_POLICY = compileRetryPolicy(retryPolicyDefaults());

/** A stable key for a cluster's configuration: equal keys keep the live cluster on reload. */
export function clusterKey(c: ir.Cluster): string {
  return JSON.stringify(c, (k, v) => (k === 'origin' ? undefined : v));
}

/** The part of a cluster's configuration that a live cluster cannot take in place. */
function rebuildKey(c: ir.Cluster): string {
  return JSON.stringify(c, function (this: unknown, k, v) {
    return k === 'origin' || (this === c && IN_PLACE_CLUSTER_FIELDS.has(k)) ? undefined : v;
  });
}

/**
 * The clusters of a new config, reusing live ones: an unchanged cluster is kept as is; one whose
 * endpoints or balancing changed is kept and updated in place (`updates`, to run when the config
 * commits: its hosts keep their state); any other change builds a new cluster (`created`) and
 * retires the old one, as Envoy does for a CDS update.
 */
export function buildClusters(
  config: ir.Config,
  previous: Map<string, { key: string; cluster: Cluster }>,
  random: Random,
  clock: Clock,
  placement?: ProxyPlacement,
) {
  const next = new Map<string, { key: string; cluster: Cluster }>();
  const created: Cluster[] = [];
  const updates: { cluster: Cluster; config: ir.Cluster }[] = [];
  const retired: Cluster[] = [];
  for (const c of config.clusters) {
    const key = clusterKey(c);
    const prev = previous.get(c.name);
    if (prev && prev.key === key) {
      next.set(c.name, prev);
    } else if (prev && rebuildKey(prev.cluster.config) === rebuildKey(c)) {
      next.set(c.name, { key, cluster: prev.cluster });
      updates.push({ cluster: prev.cluster, config: c });
    } else {
      const cluster = new Cluster(c, random, clock, placement);
      created.push(cluster);
      next.set(c.name, { key, cluster });
    }
  }
  for (const [name, prev] of previous) if (next.get(name)?.cluster !== prev.cluster) retired.push(prev.cluster);
  return { clusters: next, created, updates, retired };
}

/** Compiles one listener's virtual hosts into its request handler. */
export function buildHandler(listener: ir.Listener, clusters: Map<string, { cluster: Cluster }>, ctx: BuildContext): RequestHandler {
  const accessLog = ctx.accessLogFor(listener);
  const table = compileRouteTable<RouteTarget>(listener.virtualHosts, (route, vh, parts) =>
    compileTarget(route, vh, parts, clusters, ctx.random, listener.limits.streamIdleTimeoutMs, ctx.stats),
  );
  const http = ctx.stats?.http(listener.name).counters;
  const trusted = trustCheck(listener.trustedCidrs);
  const reqCtx: RequestContext = {
    clock: ctx.clock,
    random: ctx.random,
    accessLog,
    trusted: false,
    preserveRequestId: listener.preserveExternalRequestId,
    generateRequestId: listener.generateRequestId ?? true,
    requestTimeoutMs: listener.limits.requestTimeoutMs,
    faults: ctx.faultsFor(listener),
    emptyRetryPolicy: EMPTY_RETRY_POLICY,
    wantTrace: listener.accessLog ? listener.accessLog.format === 'json' || listener.accessLog.attemptTrace === true : ctx.traceAll,
    http,
  };
  const trustedCtx: RequestContext = { ...reqCtx, trusted: true };

  const misdirected = misdirectedCheck(listener.tlsHostnames);
  const underscores = listener.headersWithUnderscores ?? 'allow';
  const healthPath = listener.healthCheckPath;
  const handler: RequestHandler = (ds: Downstream) => {
    if (misdirected && misdirected(ds)) {
      localOnly(ds, reqCtx, 421, 'misdirected request', 0, 'misdirected_request', undefined);
      return;
    }
    if (underscores !== 'allow' && !checkUnderscores(ds, underscores, http)) {
      localOnly(ds, reqCtx, 400, 'header names with underscores are not allowed', 0, 'unexpected_underscore', undefined);
      return;
    }
    if (healthPath !== undefined && ds.path.length >= healthPath.length && pathOnly(ds.path) === healthPath) {
      localOnly(ds, reqCtx, 200, '', 0, 'health_check', undefined);
      return;
    }
    const vh = table.selectVirtualHost(ds.authority);
    const m = vh ? table.matchRoute(vh, ds) : undefined;
    const rc = trusted(ds.remoteAddress) ? trustedCtx : reqCtx;
    if (!m) {
      if (http) http.no_route++;
      localOnly(ds, rc, 404, '', Flag.NR, 'route_not_found', undefined);
      return;
    }
    const t = m.target;
    switch (t.kind) {
      case 'forward': {
        const cors = t.forward.cors ? decideCors(t.forward.cors, ds) : null;
        if (cors?.kind === 'preflight') {
          localOnly(ds, rc, 200, '', 0, 'cors_response', t.forward.routeName, cors.headers);
          return;
        }
        new RequestState(ds, t.forward, rc, cors?.responseHeaders ?? null).start();
        return;
      }
      case 'redirect':
        if (http) http.rq_redirect++;
        localOnly(ds, rc, t.status, '', 0, 'direct_response', t.routeName, ['location', t.location(ds)]);
        return;
      case 'direct':
        if (http) http.rq_direct_response++;
        localOnly(ds, rc, t.status, t.body, 0, 'direct_response', t.routeName, undefined, t.contentType);
        return;
    }
  };
  // Websocket handshakes: routed like any request, then piped (request/upgrade.ts).
  handler.upgrade = (u) => {
    const authority = u.req.headers.host ?? '';
    const rq = { method: u.req.method ?? 'GET', path: u.req.url ?? '/', headers: u.req.headers, port: u.port };
    const vh = table.selectVirtualHost(authority);
    const m = vh ? table.matchRoute(vh, rq) : undefined;
    if (!m) {
      if (http) http.no_route++;
      return rawReply(u.socket, 404, '');
    }
    const t = m.target;
    if (t.kind === 'forward')
      return proxyUpgrade(u, t.forward, trusted(u.req.socket.remoteAddress ?? ''), listener.preserveExternalRequestId);
    if (t.kind === 'redirect') return rawReply(u.socket, t.status, '', ['location', t.location({ ...rq, scheme: u.scheme, authority })]);
    rawReply(u.socket, t.status, t.body);
  };
  return handler;
}

function compileTarget(
  route: ir.Route,
  vh: ir.VirtualHost,
  parts: RouteParts,
  clusters: Map<string, { cluster: Cluster }>,
  random: Random,
  streamIdleMs: number,
  stats?: StatsRegistry,
): RouteTarget {
  const a = route.action;
  if (a.kind === 'redirect') {
    const r = parts.redirect!;
    return {
      kind: 'redirect',
      routeName: route.name,
      status: r.statusCode,
      location: (ds) => redirectLocation(ds, r),
    };
  }
  if (a.kind === 'direct') {
    return {
      kind: 'direct',
      routeName: route.name,
      status: a.response.status,
      body: a.response.body ?? '',
      contentType: a.response.contentType ?? 'text/plain',
    };
  }
  type Picked = { cluster: Cluster; requestEdit: RequestHeaderEdit; responseEdit: ResponseHeaderEdit };
  // Resolve each backend's live cluster once; a missing one yields undefined -> 503 NC, as Envoy.
  const resolved = new Map<CompiledBackend, Picked | undefined>();
  for (const b of parts.backends?.items ?? []) {
    const c = clusters.get(b.name)?.cluster;
    resolved.set(
      b,
      c ? { cluster: c, requestEdit: b.requestHeaders as RequestHeaderEdit, responseEdit: flatEdit(b.responseHeaders) } : undefined,
    );
  }
  const picker = parts.backends;
  const only = picker && picker.items.length === 1 ? resolved.get(picker.items[0]!) : undefined;
  const pick: ForwardTarget['pick'] =
    picker && picker.items.length === 1
      ? () => only
      : () => {
          const b = picker?.pick(random);
          return b ? resolved.get(b) : undefined;
        };
  const pathRewrite = parts.pathRewrite;
  const prefix = parts.matchedPrefix;
  const to = route.timeout;
  const msd = to?.maxStreamDuration;
  const retry = route.retry ?? vh.retry;
  const hedge = route.hedge ?? vh.hedge;
  const forward: ForwardTarget = {
    routeName: route.name,
    pick,
    clusterNotFoundStatus: a.clusterNotFoundStatus ?? 503,
    timeoutMs: to ? to.requestMs : ENVOY.ROUTE_TIMEOUT_MS,
    // The route's idle timeout replaces the listener's stream idle timeout (0 disables either).
    idleMs: to?.idleMs ?? streamIdleMs,
    grpcTimeout: to?.maxGrpcTimeoutMs !== undefined ? { maxMs: to.maxGrpcTimeoutMs, offsetMs: to.grpcTimeoutOffsetMs ?? 0 } : null,
    maxStreamDuration: msd
      ? { maxMs: msd.maxMs, headerMaxMs: msd.grpcTimeoutHeaderMaxMs, headerOffsetMs: msd.grpcTimeoutHeaderOffsetMs }
      : null,
    retry: retry ? compileRetryPolicy(retry) : null,
    hedgeOnPerTryTimeout: hedge?.onPerTryTimeout ?? false,
    fault: route.fault ? compileFault(route.fault) : null,
    mirrors:
      route.mirrors && route.mirrors.length > 0
        ? route.mirrors.map((m) => ({ cluster: clusters.get(m.cluster)?.cluster, percent: m.percent }))
        : null,
    mirrorBufferLimit: retry?.bufferLimitBytes ?? ENVOY.BUFFER_LIMIT_BYTES,
    hashKey: compileHashKey(route.hashPolicy),
    requestEdit: parts.requestHeaders as RequestHeaderEdit,
    responseEdit: flatEdit(parts.responseHeaders),
    rewritePath: pathRewrite ? (path) => rewritePath(path, prefix, pathRewrite) : null,
    rewriteAuthority: parts.authorityRewrite ?? null,
    includeAttemptCountInRequest: vh.includeAttemptCountInRequest ?? false,
    includeAttemptCountInResponse: vh.includeAttemptCountInResponse ?? false,
    stats: stats?.route(vh.name, route.name),
    cors: route.cors ? compileCors(route.cors) : null,
  };
  return { kind: 'forward', forward };
}

/**
 * A TLS request is misdirected when its Host and its SNI pick different listener host names
 * (exact, then the longest wildcard, then `*`). Without SNI there is nothing to compare.
 */
function misdirectedCheck(hostnames: string[] | undefined): ((ds: Downstream) => boolean) | null {
  if (!hostnames || hostnames.length < 2) return null;
  const index: HostIndex<string> = compileHostIndex(hostnames.map((h) => ({ domains: [h], value: h })));
  return (ds) => ds.sni !== undefined && index.select(ds.sni) !== index.select(ds.authority);
}

function compileCors(c: ir.CorsPolicy): CompiledCors {
  const { allowOrigins, ...rest } = c;
  const matchers = allowOrigins.map((m) => compileStringMatch(m) ?? (() => true));
  return { ...rest, allowOrigin: (origin) => matchers.some((m) => m(origin)) };
}

/**
 * A route's hash policies as one function: each policy that yields a value contributes its hash,
 * in order, until a `terminal` policy is reached with a hash already made. No value at all:
 * undefined, and the balancer picks at random.
 */
function compileHashKey(policies: ir.HashPolicy[] | undefined): ForwardTarget['hashKey'] {
  if (!policies || policies.length === 0) return null;
  return (ds) => {
    let hash: number | undefined;
    for (const p of policies) {
      // Envoy: a terminal policy ends the list once any hash exists, even if it added none.
      if (hash !== undefined && p.terminal) break;
      let v: string | undefined;
      switch (p.kind) {
        case 'header': {
          const h = ds.headers[p.name.toLowerCase()];
          v = Array.isArray(h) ? h.join(',') : h;
          break;
        }
        case 'cookie':
          v = cookieValue(ds.headers.cookie, p.name);
          break;
        case 'source-ip':
          v = ds.remoteAddress;
          break;
        case 'query':
          v = queryValue(ds.path, p.name);
          break;
      }
      // Each policy's hash is folded into the key as Envoy does (rotate, then xor).
      if (v !== undefined) hash = combineHash(hash, hashString(v));
    }
    return hash;
  };
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of path.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/** Response edits run on the flat header list; converted to the object form and back only when set. */
function flatEdit(edit: HeaderMutator | null): ResponseHeaderEdit {
  if (!edit) return null;
  return (flat) => {
    const obj: Record<string, string | string[]> = {};
    for (let i = 0; i < flat.length; i += 2) {
      const k = flat[i]!;
      const prev = obj[k];
      obj[k] = prev === undefined ? flat[i + 1]! : Array.isArray(prev) ? [...prev, flat[i + 1]!] : [prev, flat[i + 1]!];
    }
    edit(obj);
    const out: string[] = [];
    for (const k in obj) {
      const v = obj[k]!;
      if (Array.isArray(v)) for (const x of v) out.push(k, x);
      else out.push(k, String(v));
    }
    return out;
  };
}

function localOnly(
  ds: Downstream,
  rc: RequestContext,
  status: number,
  body: string,
  flags: number,
  details: string,
  routeName: string | undefined,
  headers?: string[],
  contentType?: string,
): void {
  const isGrpc = isGrpcContentType(ds.headers['content-type']);
  const start = rc.clock.now();
  const sent = sendLocalReply(ds, status, body, { isGrpc, headers, contentType });
  const log = rc.accessLog;
  if (!log) return;
  ds.onDone(() =>
    log.log({
      ...downstreamEntry(ds),
      status: sent,
      grpcStatus: isGrpc ? String(httpToGrpcStatus(status)) : undefined,
      flags,
      bytesReceived: 0,
      durationMs: rc.clock.now() - start,
      upstreamServiceTimeMs: undefined,
      requestId: ds.headers['x-request-id'] as string | undefined,
      upstreamHost: undefined,
      upstreamCluster: undefined,
      route: routeName,
      attempts: 0,
      details,
    }),
  );
}

/** Whether a client address is trusted to send x-envoy-* control headers. */
function trustCheck(cidrs: string[]): (addr: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [ip, bits] = c.split('/');
    const type = net.isIPv6(ip!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip!, type);
    else list.addSubnet(ip!, Number(bits), type);
  }
  const cache = new Map<string, boolean>();
  return (addr) => {
    let v = cache.get(addr);
    if (v === undefined) {
      const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
      v = list.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
      if (cache.size < 10_000) cache.set(addr, v);
    }
    return v;
  };
}

/** Reads the PEM material of a TLS listener. */
export type LoadedTls = {
  cert: string | Buffer;
  key: string | Buffer;
  minVersion?: ir.Tls['minVersion'];
  maxVersion?: ir.Tls['maxVersion'];
  ciphers?: string | undefined;
  alpnProtocols?: string[] | undefined;
};

export function loadTls(tls: ir.Tls | undefined): LoadedTls | undefined {
  if (!tls) return undefined;
  return {
    cert: tls.cert ?? fs.readFileSync(tls.certFile!),
    key: tls.key ?? fs.readFileSync(tls.keyFile!),
    ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
    ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
    ...(tls.ciphers && tls.ciphers.length > 0 ? { ciphers: tls.ciphers.join(':') } : {}),
    ...(tls.alpnProtocols && tls.alpnProtocols.length > 0 ? { alpnProtocols: tls.alpnProtocols } : {}),
  };
}

/** Envoy's headers_with_underscores_action: false when the request is rejected; drop removes them. */
function checkUnderscores(ds: Downstream, mode: 'reject' | 'drop', http: ListenerStats | undefined): boolean {
  const h = ds.headers;
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* : */ || !name.includes('_')) continue;
    if (mode === 'reject') {
      if (http) http.requests_rejected_with_underscores_in_headers++;
      return false;
    }
    delete h[name];
    if (http) http.dropped_headers_with_underscores++;
  }
  return true;
}

function pathOnly(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
