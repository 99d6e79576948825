/**
 * VirtualService HTTP rules -> IR routes for one listener port (config-apis.md 3.2-3.6). Rules keep
 * their order (first match wins); a rule with several matches becomes one route per match, as
 * Istio emits them. Defaults are Istio's: no route timeout (grpc-timeout honoured), the default
 * retry policy when `retries` is absent, faults at 0% unless a percentage is given.
 */
import type * as ir from '../../../ir/index.js';
import { ISTIO, ENVOY } from '../../../ir/defaults.js';
import { retryPolicyDefaults } from '../../../ir/builders.js';
import { applyGrpcTrailerRetry } from '../legate-annotations.js';
import { defaultOrigin } from '../../../ir/origin.js';
import { compileRegex, RegexSyntaxError } from '../../../common/regex.js';
import { GRPC_STATUS_NAMES } from '../../../common/grpc-status.js';
import { formatPath, objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import { FAULT_SCOPE_ANNOTATION } from '../envoy-gateway/build-fault.js';
import type { IstioClusters } from './clusters.js';
import { ISTIO_CODES } from './codes.js';
import { resolveShortname } from './hosts.js';
import { duration, originOf, percentage, reject, ruleCtx, type Path, type RuleCtx } from './rules.js';
import {
  checkSpec,
  VirtualServiceSpec,
  type IstioDestination,
  type IstioHeaders,
  type IstioHttpRoute,
  type IstioMatch,
  type IstioStringMatch,
} from './schema.js';

export type ParsedVirtualService = {
  object: LoadedObject;
  spec: VirtualServiceSpec;
  /** Resolved hosts (short names expanded against the VS namespace). */
  hosts: string[];
  /** `mesh` or `namespace/name` of Istio Gateways. */
  gateways: string[];
  http: IstioHttpRoute[];
};

const RETRY_ON_TOKENS = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/** Status codes Go's http.StatusText knows: the integers Istio accepts in retryOn (and converts to codes). */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
  405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502,
  503, 504, 505, 506, 507, 508, 510, 511,
]);

/** Go's strconv.Atoi, then http.StatusText: the status code a retryOn item stands for, if any. */
function retryOnStatus(item: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(item)) return undefined;
  const n = Number(item);
  return KNOWN_STATUS.has(n) ? n : undefined;
}

export function parseVirtualService(o: LoadedObject, diags: Diagnostics): ParsedVirtualService | undefined {
  const spec = checkSpec(o, VirtualServiceSpec, diags);
  if (!spec) return undefined;
  const ctx = ruleCtx(o, diags);
  const ns = o.metadata.namespace;
  (spec.http ?? []).forEach((r, i) => validateHttpRoute(ctx, r, ['spec', 'http', i]));
  if (!ctx.ok) return undefined;
  if (!spec.hosts || spec.hosts.length === 0) {
    // Istio accepts a VirtualService without hosts: it is a delegate, used only through another's `delegate`.
    diags.warning(
      ISTIO_CODES.NOT_APPLIED,
      `${objectRef(o)} has no hosts, so it is a delegate VirtualService; legate does not support delegation yet and skips it`,
      { object: o, path: ['spec', 'hosts'] },
      'list the hosts it routes, such as "reviews", and drop the delegate reference',
    );
    return undefined;
  }
  for (const kind of ['tls', 'tcp'] as const)
    if ((spec[kind]?.length ?? 0) > 0)
      diags.warning(
        ISTIO_CODES.NOT_APPLIED,
        `${kind} routes are not served: legate proxies HTTP, HTTP/2 and gRPC; only the http rules apply`,
        { object: o, path: ['spec', kind] },
      );
  const gateways = (spec.gateways && spec.gateways.length > 0 ? spec.gateways : ['mesh']).map((g) => resolveGatewayName(g, ns));
  if (gateways.includes('mesh'))
    spec.hosts.forEach((h, i) => {
      if (h === '*')
        diags.warning(
          ISTIO_CODES.MESH_WILDCARD_HOST,
          "wildcard host * is not allowed for virtual services bound to the mesh gateway (Istio's webhook rejects this VirtualService); legate accepts it and serves it on the mesh listeners for any Host",
          { object: o, path: ['spec', 'hosts', i] },
          'name the service (such as "example-app"), or bind the VirtualService to a Gateway',
        );
    });
  return { object: o, spec, hosts: spec.hosts.map((h) => resolveShortname(h, ns)), gateways, http: spec.http ?? [] };
}

/** `name` means the VS's namespace; `ns/name` as written; `mesh` stays. */
export function resolveGatewayName(g: string, namespace: string): string {
  if (g === 'mesh' || g.includes('/')) return g;
  // A dotted name (`gw.ns.svc.cluster.local`) is the old form of ns/name.
  const parts = g.split('.');
  if (parts.length >= 2) return `${parts[1]}/${parts[0]}`;
  return `${namespace}/${g}`;
}

export type RouteContext = {
  listenerPort: number;
  /** `mesh` or the Istio Gateway (`ns/name`) the routes are built for. */
  gateway: string;
  clusters: IstioClusters;
  diags: Diagnostics;
  /** Destinations already reported as missing (one warning each). */
  reported: Set<string>;
};

/** Routes of one VirtualService for one listener port and gateway, in rule order. */
export function buildVirtualServiceRoutes(vs: ParsedVirtualService, rc: RouteContext): ir.Route[] {
  const out: ir.Route[] = [];
  vs.http.forEach((rule, i) => {
    const path: Path = ['spec', 'http', i];
    const matches = rule.match && rule.match.length > 0 ? rule.match : [undefined];
    matches.forEach((m, j) => {
      if (m && !matchApplies(m, rc, vs.object.metadata.namespace)) return;
      if (m && (m.sourceLabels || m.sourceNamespace)) {
        rc.diags.warning(
          ISTIO_CODES.NOT_APPLIED,
          'match.sourceLabels / sourceNamespace select client workloads; legate is not one of them, so this match is skipped',
          { object: vs.object, path: [...path, 'match', j] },
        );
        return;
      }
      const name = `${vs.object.metadata.namespace}/${vs.object.metadata.name}/${rule.name ?? `http[${i}]`}${matches.length > 1 ? `/match[${j}]` : ''}`;
      const route = buildRoute(vs, rule, path, m, j, name, rc);
      if (route) out.push(route);
    });
  });
  return out;
}

function matchApplies(m: IstioMatch, rc: RouteContext, namespace: string): boolean {
  if (m.port !== undefined && m.port !== rc.listenerPort) return false;
  // Gateway names in a match are read like spec.gateways: a bare name is in the VirtualService's namespace.
  if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => resolveGatewayName(g, namespace) === rc.gateway);
  return true;
}

function buildRoute(
  vs: ParsedVirtualService,
  rule: IstioHttpRoute,
  path: Path,
  m: IstioMatch | undefined,
  matchIndex: number,
  name: string,
  rc: RouteContext,
): ir.Route | undefined {
  const o = vs.object;
  const at = (...p: (string | number)[]) => originOf(o, [...path, ...p]);
  const mp: Path = [...path, 'match', matchIndex];
  const match = m ? convertMatch(m) : { path: { kind: 'prefix', value: '/', segmentAware: false } as ir.PathMatch };
  const routeOrigin: ir.Origins = { match: m ? originOf(o, mp) : defaultOrigin('istio', 'a rule without match matches every request') };

  let action: ir.RouteAction;
  let hashPolicy: ir.HashPolicy[] | undefined;
  if (rule.redirect) {
    const r = rule.redirect;
    const code = r.redirectCode || ISTIO.REDIRECT_CODE;
    if (![301, 302, 303, 307, 308].includes(code)) {
      // Istio accepts any 3xx but translates only these (others: "Redirect Code %d is not yet supported", no route).
      rc.diags.warning(ISTIO_CODES.NOT_APPLIED, `redirect code ${code} is not supported by Envoy; this rule is skipped`, {
        object: o,
        path: [...path, 'redirect', 'redirectCode'],
      });
      return undefined;
    }
    action = {
      kind: 'redirect',
      redirect: {
        statusCode: code as ir.Redirect['statusCode'],
        ...(r.scheme ? { scheme: r.scheme as 'http' | 'https' } : {}),
        ...(r.authority ? { host: r.authority } : {}),
        ...(r.port ? { port: r.port } : {}),
        ...(r.uri ? { path: { kind: 'full', value: r.uri } } : {}),
      },
    };
    routeOrigin.action = at('redirect');
  } else if (rule.directResponse) {
    const d = rule.directResponse;
    const body = d.body?.string ?? (d.body?.bytes !== undefined ? Buffer.from(d.body.bytes, 'base64').toString('utf8') : undefined);
    action = { kind: 'direct', response: { status: d.status, ...(body !== undefined ? { body } : {}) } };
    routeOrigin.action = at('directResponse');
  } else if (rule.route && rule.route.length > 0) {
    const dests = rule.route;
    const clusters: ir.WeightedCluster[] = [];
    const hashes: (ir.HashPolicy[] | undefined)[] = [];
    dests.forEach((d, k) => {
      // One destination gets everything whatever its weight; with several, weight 0 gets none.
      const weight = dests.length === 1 ? 100 : (d.weight ?? 0);
      if (dests.length > 1 && weight === 0) return;
      const ref = resolveDestination(vs, d.destination, [...path, 'route', k, 'destination'], rc);
      clusters.push({
        cluster: ref.name,
        weight,
        ...(ref.ok ? {} : { missing: true as const }),
        ...headerEdits(d.headers),
      });
      hashes.push(ref.ok ? ref.hashPolicy : undefined);
    });
    action = { kind: 'forward', clusters };
    routeOrigin.action = at('route');
    // Consistent hashing applies when every destination hashes the same way.
    const first = hashes[0];
    if (first && hashes.every((h) => JSON.stringify(h) === JSON.stringify(first))) hashPolicy = first;
  } else if (rule.delegate) {
    rc.diags.warning(ISTIO_CODES.NOT_APPLIED, 'delegate VirtualServices are not supported yet; this rule is skipped', {
      object: o,
      path: [...path, 'delegate'],
    });
    return undefined;
  } else return undefined;

  const route: ir.Route = { name, match, action, origin: routeOrigin };
  if (action.kind !== 'forward') {
    const h = headerEdits(rule.headers);
    if (h.responseHeaders) route.responseHeaders = h.responseHeaders;
    return route;
  }
  const ctx = ruleCtx(o, rc.diags);
  const timeoutMs = duration(ctx, rule.timeout, [...path, 'timeout']);
  route.timeout = {
    requestMs: timeoutMs ?? ISTIO.ROUTE_TIMEOUT_MS,
    // Istio always writes max_grpc_timeout: the client's grpc-timeout bounds the call.
    maxGrpcTimeoutMs: timeoutMs ?? 0,
    origin:
      timeoutMs !== undefined
        ? { requestMs: at('timeout'), maxGrpcTimeoutMs: at('timeout') }
        : {
            requestMs: defaultOrigin('istio', 'ISTIO.ROUTE_TIMEOUT_MS'),
            maxGrpcTimeoutMs: defaultOrigin('istio', 'ISTIO.ROUTE_TIMEOUT_MS'),
          },
  };
  const retry = buildRetry(o, rule, path, ctx, hashPolicy !== undefined);
  if (retry) {
    applyGrpcTrailerRetry(o, retry, ctx.diags);
    route.retry = retry;
  }
  const fault = buildFault(o, rule, path, ctx);
  if (fault) route.fault = fault;
  const cors = buildCors(rule, path, ctx);
  if (cors) {
    route.cors = cors;
    route.origin['cors'] = originOf(o, [...path, 'corsPolicy']);
  }
  if (hashPolicy) route.hashPolicy = hashPolicy;
  const mirrors = buildMirrors(vs, rule, path, rc);
  if (mirrors.length > 0) route.mirrors = mirrors;
  const rw = rule.rewrite;
  if (rw) {
    route.rewrite = {};
    if (rw.uri !== undefined)
      route.rewrite.path = match.path?.kind === 'prefix' ? { kind: 'prefix', value: rw.uri } : { kind: 'full', value: rw.uri };
    else if (rw.uriRegexRewrite?.match !== undefined)
      route.rewrite.path = {
        kind: 'regex',
        pattern: rw.uriRegexRewrite.match,
        substitution: (rw.uriRegexRewrite.rewrite ?? '').replace(/\\(\d)/g, '\\$1'),
      };
    if (rw.authority) route.rewrite.authority = rw.authority;
    route.origin.rewrite = at('rewrite');
  }
  const h = headerEdits(rule.headers);
  if (h.requestHeaders) route.requestHeaders = h.requestHeaders;
  if (h.responseHeaders) route.responseHeaders = h.responseHeaders;
  return route;
}

function resolveDestination(vs: ParsedVirtualService, d: IstioDestination, path: Path, rc: RouteContext) {
  const host = resolveShortname(d.host, vs.object.metadata.namespace);
  const ref = rc.clusters.resolve(host, d.port?.number, d.subset, rc.listenerPort);
  if (ref.ok && ref.portInferred) {
    const key = `${objectRef(vs.object)} ${formatPath(path)} port`;
    if (!rc.reported.has(key)) {
      rc.reported.add(key);
      rc.diags.warning(
        ISTIO_CODES.PORT_SELECTOR_REQUIRED,
        `${host} has more than one port and this destination names none (IST0112); legate, as a sidecar, uses the port the request came in on`,
        { object: vs.object, path },
        'add port: {number: N} to the destination',
      );
    }
  }
  if (!ref.ok) {
    const key = `${objectRef(vs.object)} ${ref.name}`;
    if (!rc.reported.has(key)) {
      rc.reported.add(key);
      const message =
        ref.reason === 'host'
          ? `Referenced host not found: "${host}"; requests routed there get 503 (no cluster, flag NC)`
          : ref.reason === 'subset'
            ? `Referenced host+subset in destinationrule not found: "${host}+${d.subset}"; requests routed there get 503 (flag NC)`
            : `port ${ref.name.split('|')[1]} is not a port of ${host}; requests routed there get 503 (flag NC)`;
      rc.diags.warning(
        ISTIO_CODES.REFERENCED_RESOURCE_NOT_FOUND,
        message,
        {
          object: vs.object,
          path: ref.reason === 'subset' ? [...path, 'subset'] : ref.reason === 'port' ? [...path, 'port'] : [...path, 'host'],
        },
        ref.reason === 'subset'
          ? 'define the subset in the DestinationRule for this host'
          : 'add the Service or ServiceEntry, or fix the name',
      );
    }
  }
  return ref;
}

function buildMirrors(vs: ParsedVirtualService, rule: IstioHttpRoute, path: Path, rc: RouteContext): ir.Mirror[] {
  const out: ir.Mirror[] = [];
  const add = (d: IstioDestination, percent: number, p: Path) => {
    if (percent <= 0) return;
    const ref = resolveDestination(vs, d, p, rc);
    if (ref.ok) out.push({ cluster: ref.name, percent });
  };
  if (rule.mirror) add(rule.mirror, rule.mirrorPercentage?.value ?? rule.mirrorPercent ?? 100, [...path, 'mirror']);
  (rule.mirrors ?? []).forEach((m, i) => add(m.destination, m.percentage?.value ?? 100, [...path, 'mirrors', i, 'destination']));
  return out;
}

/** Istio's default retry policy, or the rule's (ConvertPolicy, config-apis.md 3.4). */
function buildRetry(
  o: LoadedObject | undefined,
  rule: IstioHttpRoute,
  path: Path,
  ctx: RuleCtx | undefined,
  consistentHash: boolean,
): ir.RetryPolicy | undefined {
  const r = rule.retries;
  if (r && (r.attempts ?? 0) <= 0) return undefined;
  const p = retryPolicyDefaults([...ISTIO.RETRY_ON] as ir.RetryOn[], 'istio');
  const d = (n: string) => defaultOrigin('istio', n);
  const at = (...f: string[]) => originOf(o!, [...path, 'retries', ...f]);
  p.numRetries = ISTIO.NUM_RETRIES;
  p.origin.numRetries = d('ISTIO.NUM_RETRIES');
  p.origin.retryOn = d('ISTIO.RETRY_ON');
  p.retriableStatusCodes = [...ISTIO.RETRIABLE_STATUS_CODES];
  p.origin.retriableStatusCodes = d('ISTIO.RETRIABLE_STATUS_CODES');
  p.hostSelectionRetryMaxAttempts = ISTIO.HOST_SELECTION_RETRY_MAX_ATTEMPTS;
  p.origin.hostSelectionRetryMaxAttempts = d('ISTIO.HOST_SELECTION_RETRY_MAX_ATTEMPTS');
  // previous_hosts unless the destination hashes consistently.
  p.previousHosts = !consistentHash;
  p.origin.previousHosts = consistentHash
    ? { kind: 'derived', from: 'consistent-hash load balancing disables the previous-hosts predicate' }
    : d('ISTIO.RETRY_PREVIOUS_HOSTS');
  if (!r || !o || !ctx) return p;
  p.numRetries = r.attempts!;
  p.origin.numRetries = at('attempts');
  if (r.retryOn) {
    const codes: number[] = [];
    const on: string[] = [];
    for (const raw of r.retryOn.split(',')) {
      const t = raw.trim();
      if (!t) continue;
      const code = retryOnStatus(t);
      if (code !== undefined) codes.push(code);
      else on.push(t);
    }
    if (codes.length > 0 && !on.includes('retriable-status-codes')) on.push('retriable-status-codes');
    // http3-post-connect-failure has no meaning without HTTP/3 upstreams.
    p.retryOn = on.filter((t) => t !== 'http3-post-connect-failure') as ir.RetryOn[];
    p.retriableStatusCodes = codes;
    p.origin.retryOn = at('retryOn');
    p.origin.retriableStatusCodes = at('retryOn');
  }
  const perTry = duration(ctx, r.perTryTimeout, [...path, 'retries', 'perTryTimeout']);
  if (perTry !== undefined) {
    p.perTryTimeoutMs = perTry;
    p.origin.perTryTimeoutMs = at('perTryTimeout');
  }
  if (r.retryIgnorePreviousHosts !== undefined) {
    p.previousHosts = r.retryIgnorePreviousHosts;
    p.origin.previousHosts = at('retryIgnorePreviousHosts');
  }
  if (r.retryRemoteLocalities) {
    p.retryPriority = { kind: 'previous-priorities', updateFrequency: ISTIO.RETRY_PRIORITY_UPDATE_FREQUENCY };
    p.origin.retryPriority = at('retryRemoteLocalities');
  }
  const backoff = duration(ctx, r.backoff, [...path, 'retries', 'backoff']);
  if (backoff !== undefined) {
    p.backoff = { baseIntervalMs: backoff, maxIntervalMs: backoff * ENVOY.RETRY_MAX_INTERVAL_FACTOR };
    p.origin['backoff.baseIntervalMs'] = at('backoff');
    p.origin['backoff.maxIntervalMs'] = { kind: 'derived', from: 'backoff x ENVOY.RETRY_MAX_INTERVAL_FACTOR' };
  }
  return p;
}

/**
 * Istio's TranslateCORSPolicy: origins as string matches (the deprecated allowOrigin as exact
 * ones), lists joined with commas, maxAge in whole seconds, unmatched preflights forwarded to the
 * backend unless unmatchedPreflights is IGNORE.
 */
function buildCors(rule: IstioHttpRoute, path: Path, ctx: RuleCtx): ir.CorsPolicy | undefined {
  const c = rule.corsPolicy;
  if (!c) return undefined;
  const origins = (c.allowOrigins ?? []).map((m) => convertStringMatch(m)).filter((m): m is ir.StringMatch => m !== undefined);
  for (const origin of c.allowOrigin ?? []) origins.push({ kind: 'exact', value: origin });
  const maxAgeMs = c.maxAge !== undefined ? duration(ctx, c.maxAge, [...path, 'corsPolicy', 'maxAge']) : undefined;
  return {
    allowOrigins: origins,
    allowMethods: (c.allowMethods ?? []).join(','),
    allowHeaders: (c.allowHeaders ?? []).join(','),
    exposeHeaders: (c.exposeHeaders ?? []).join(','),
    maxAge: maxAgeMs !== undefined ? String(Math.floor(maxAgeMs / 1000)) : '',
    allowCredentials: c.allowCredentials ?? false,
    forwardNotMatchingPreflights: c.unmatchedPreflights !== 'IGNORE',
  };
}

function buildFault(o: LoadedObject, rule: IstioHttpRoute, path: Path, ctx: RuleCtx): ir.FaultPolicy | undefined {
  const f = rule.fault;
  if (!f || (!f.delay && !f.abort)) return undefined;
  const at = (...p: (string | number)[]) => originOf(o, [...path, 'fault', ...p]);
  const zero: ir.FractionalPercent = { numerator: 0, denominator: 1_000_000 };
  const scope = o.metadata.annotations[FAULT_SCOPE_ANNOTATION] === 'attempt' ? 'attempt' : 'request';
  const fault: ir.FaultPolicy = {
    scope,
    origin: {
      scope:
        scope === 'attempt'
          ? originOf(o, ['metadata', 'annotations', FAULT_SCOPE_ANNOTATION])
          : defaultOrigin('legate', 'faults are injected before routing, as Envoy does'),
    },
  };
  if (f.delay) {
    const fixedMs = duration(ctx, f.delay.fixedDelay, [...path, 'fault', 'delay', 'fixedDelay']);
    // Unset percentage: the deprecated integer percent, default 0 -> the delay never fires.
    const pct =
      percentage(ctx, f.delay.percentage?.value, [...path, 'fault', 'delay', 'percentage', 'value']) ??
      (f.delay.percent !== undefined ? { numerator: f.delay.percent, denominator: 100 as const } : zero);
    if (fixedMs !== undefined) {
      fault.delay = { fixedMs, percent: pct };
      fault.origin['delay.fixedMs'] = at('delay', 'fixedDelay');
      fault.origin['delay.percent'] =
        f.delay.percentage || f.delay.percent !== undefined ? at('delay') : defaultOrigin('istio', 'fault percentage unset = 0%');
    }
  }
  if (f.abort) {
    const pct = percentage(ctx, f.abort.percentage?.value, [...path, 'fault', 'abort', 'percentage', 'value']) ?? zero;
    const grpc = f.abort.grpcStatus !== undefined ? (GRPC_STATUS_NAMES as readonly string[]).indexOf(f.abort.grpcStatus) : undefined;
    fault.abort = {
      ...(f.abort.httpStatus !== undefined ? { httpStatus: f.abort.httpStatus } : {}),
      ...(grpc !== undefined && grpc >= 0 ? { grpcStatus: grpc } : {}),
      percent: pct,
    };
    fault.origin['abort.percent'] = f.abort.percentage ? at('abort', 'percentage') : defaultOrigin('istio', 'fault percentage unset = 0%');
    fault.origin.abort = at('abort');
  }
  return fault.delay || fault.abort ? fault : undefined;
}

function convertStringMatch(m: IstioStringMatch, ignoreCase = false): ir.StringMatch | undefined {
  if (m.exact !== undefined) return { kind: 'exact', value: m.exact, ...(ignoreCase ? { ignoreCase } : {}) };
  if (m.prefix !== undefined) return { kind: 'prefix', value: m.prefix, ...(ignoreCase ? { ignoreCase } : {}) };
  if (m.regex !== undefined) return { kind: 'regex', value: m.regex };
  // `{}` in headers: the header is present.
  return { kind: 'present' };
}

export function convertMatch(m: IstioMatch): ir.RouteMatch {
  const out: ir.RouteMatch = {};
  if (m.uri) {
    const ic = m.ignoreUriCase === true;
    if (m.uri.exact !== undefined) out.path = { kind: 'exact', value: m.uri.exact, ...(ic ? { ignoreCase: true } : {}) };
    else if (m.uri.prefix !== undefined)
      // A VirtualService prefix is a plain string prefix: /foo matches /foobar.
      out.path = { kind: 'prefix', value: m.uri.prefix, segmentAware: false, ...(ic ? { ignoreCase: true } : {}) };
    else if (m.uri.regex !== undefined) out.path = { kind: 'regex', value: m.uri.regex };
  }
  const headers: ir.HeaderMatch[] = [];
  if (m.method) {
    if (m.method.exact !== undefined) out.method = m.method.exact.toUpperCase();
    else headers.push({ name: ':method', match: convertStringMatch(m.method)! });
  }
  if (m.authority) headers.push({ name: ':authority', match: convertStringMatch(m.authority)! });
  if (m.scheme) headers.push({ name: ':scheme', match: convertStringMatch(m.scheme)! });
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    if (name === 'uri' || name === 'scheme' || name === 'method' || name === 'authority') continue;
    headers.push({ name, match: convertStringMatch(sm)! });
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) headers.push({ name, match: convertStringMatch(sm)!, invert: true });
  if (headers.length > 0) out.headers = headers;
  const query = Object.entries(m.queryParams ?? {}).map(([name, sm]) => ({ name, match: convertStringMatch(sm)! }));
  if (query.length > 0) out.query = query;
  if (!out.path) out.path = { kind: 'prefix', value: '/', segmentAware: false };
  return out;
}

function headerEdits(h: IstioHeaders | undefined): { requestHeaders?: ir.HeaderMutation; responseHeaders?: ir.HeaderMutation } {
  const conv = (ops: NonNullable<IstioHeaders>['request']): ir.HeaderMutation | undefined => {
    if (!ops) return undefined;
    const m: ir.HeaderMutation = {};
    if (ops.set) m.set = Object.entries(ops.set).map(([name, value]) => ({ name: name.toLowerCase(), value }));
    if (ops.add) m.add = Object.entries(ops.add).map(([name, value]) => ({ name: name.toLowerCase(), value }));
    if (ops.remove) m.remove = ops.remove.map((n) => n.toLowerCase());
    return m.set || m.add || m.remove ? m : undefined;
  };
  const req = conv(h?.request);
  const res = conv(h?.response);
  return { ...(req ? { requestHeaders: req } : {}), ...(res ? { responseHeaders: res } : {}) };
}

/** VirtualService webhook rules for one HTTP rule (config-apis.md 3.2-3.6, 6 #22). */
function validateHttpRoute(ctx: RuleCtx, r: IstioHttpRoute, path: Path): void {
  const hasRoute = (r.route?.length ?? 0) > 0;
  if (!hasRoute && !r.redirect && !r.directResponse && !r.delegate)
    reject(ctx, path, 'HTTP route, redirect or direct response is required', 'add route: [{destination: {host: ...}}]');
  if (hasRoute && r.redirect) reject(ctx, path, 'HTTP route cannot contain both route and redirect');
  if (r.directResponse && (hasRoute || r.redirect))
    reject(ctx, path, 'HTTP route cannot contain both directResponse and route or redirect');
  if (r.redirect && r.rewrite) reject(ctx, [...path, 'rewrite'], 'HTTP route rule cannot contain both rewrite and redirect');
  if (r.rewrite?.uri !== undefined && r.rewrite.uriRegexRewrite)
    reject(ctx, [...path, 'rewrite'], 'rewrite may only contain one of uri and uriRegexRewrite');
  if (r.directResponse && (r.directResponse.status < 200 || r.directResponse.status > 599))
    reject(ctx, [...path, 'directResponse', 'status'], `directResponse.status must be in range 200-599, not ${r.directResponse.status}`);
  const rd = r.redirect;
  if (rd) {
    if (rd.uri === undefined && rd.authority === undefined && rd.port === undefined && rd.scheme === undefined)
      reject(ctx, [...path, 'redirect'], 'redirect must specify URI, authority, scheme, or port');
    if (rd.redirectCode !== undefined && rd.redirectCode !== 0 && (rd.redirectCode < 300 || rd.redirectCode > 399))
      reject(
        ctx,
        [...path, 'redirect', 'redirectCode'],
        `${rd.redirectCode} is not a valid redirect code, must be 3xx`,
        'use 301, 302, 303, 307 or 308',
      );
    if (rd.scheme !== undefined && rd.scheme !== 'http' && rd.scheme !== 'https')
      reject(ctx, [...path, 'redirect', 'scheme'], 'invalid redirect scheme, must be "http" or "https"');
  }
  (r.match ?? []).forEach((m, j) => validateMatch(ctx, m, [...path, 'match', j]));
  const routes = r.route ?? [];
  let total = 0;
  routes.forEach((d, k) => {
    if (d.weight !== undefined && d.weight < 0) reject(ctx, [...path, 'route', k, 'weight'], `weight ${d.weight} < 0`);
    total += d.weight ?? 0;
  });
  if (routes.length > 1 && total === 0)
    reject(ctx, [...path, 'route'], 'total destination weight = 0', 'give the destinations weights that add up to 100');
  duration(ctx, r.timeout, [...path, 'timeout']);
  const rt = r.retries;
  if (rt) {
    const rp = [...path, 'retries'];
    if (rt.attempts !== undefined && rt.attempts < 0) reject(ctx, [...rp, 'attempts'], 'attempts cannot be negative');
    // An empty retryOn counts as unset (proto3 string); retryRemoteLocalities is a BoolValue, set even when false.
    if ((rt.attempts ?? 0) === 0 && (rt.perTryTimeout !== undefined || !!rt.retryOn || rt.retryRemoteLocalities !== undefined))
      reject(
        ctx,
        rp,
        'http retry policy configured when attempts are set to 0 (disabled)',
        'set attempts to 1 or more, or remove the other fields',
      );
    duration(ctx, rt.perTryTimeout, [...rp, 'perTryTimeout']);
    duration(ctx, rt.backoff, [...rp, 'backoff']);
    if (rt.retryOn)
      for (const t of rt.retryOn.split(',')) {
        // The webhook does not trim: "5xx, reset" is rejected for " reset".
        const valid = retryOnStatus(t) !== undefined || RETRY_ON_TOKENS.has(t);
        if (valid) continue;
        reject(
          ctx,
          [...rp, 'retryOn'],
          `"${t}" is not a valid retryOn policy`,
          'use Envoy retry conditions such as "5xx,connect-failure" or status codes such as "503", separated by commas without spaces',
        );
      }
  }
  const f = r.fault;
  if (f) {
    const fp = [...path, 'fault'];
    if (!f.delay && !f.abort) reject(ctx, fp, 'fault must have an abort and/or a delay');
    if (f.delay) {
      if (f.delay.exponentialDelay !== undefined) reject(ctx, [...fp, 'delay', 'exponentialDelay'], 'exponentialDelay not supported yet');
      if (f.delay.fixedDelay === undefined && f.delay.exponentialDelay === undefined)
        reject(ctx, [...fp, 'delay'], 'duration required', 'set fixedDelay');
      duration(ctx, f.delay.fixedDelay, [...fp, 'delay', 'fixedDelay']);
      percentage(ctx, f.delay.percentage?.value, [...fp, 'delay', 'percentage', 'value']);
      if (f.delay.percent !== undefined && (f.delay.percent < 0 || f.delay.percent > 100))
        reject(ctx, [...fp, 'delay', 'percent'], 'percentage must be in range [0, 100]');
    }
    if (f.abort) {
      const a = f.abort;
      if (a.http2Error !== undefined) reject(ctx, [...fp, 'abort', 'http2Error'], 'HTTP/2 abort fault injection not supported yet');
      if (a.httpStatus !== undefined && (a.httpStatus < 200 || a.httpStatus > 599))
        reject(ctx, [...fp, 'abort', 'httpStatus'], `HTTP status ${a.httpStatus} is not in range 200-599`);
      if (a.grpcStatus !== undefined && !(GRPC_STATUS_NAMES as readonly string[]).includes(a.grpcStatus))
        reject(
          ctx,
          [...fp, 'abort', 'grpcStatus'],
          `gRPC status "${a.grpcStatus}" is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'`,
          'use a status name such as "UNAVAILABLE", not a number',
        );
      if (a.httpStatus === undefined && a.grpcStatus === undefined && a.http2Error === undefined)
        reject(ctx, [...fp, 'abort'], 'abort must set httpStatus or grpcStatus');
      percentage(ctx, a.percentage?.value, [...fp, 'abort', 'percentage', 'value']);
    }
  }
  if (r.mirrorPercentage) percentage(ctx, r.mirrorPercentage.value, [...path, 'mirrorPercentage', 'value']);
  (r.mirrors ?? []).forEach((m, i) => percentage(ctx, m.percentage?.value, [...path, 'mirrors', i, 'percentage', 'value']));
}

function validateMatch(ctx: RuleCtx, m: IstioMatch, path: Path): void {
  const sm = (v: IstioStringMatch | undefined, p: Path, allowEmpty = false) => {
    if (!v) return;
    const set = [v.exact, v.prefix, v.regex].filter((x) => x !== undefined).length;
    if (set > 1) reject(ctx, p, 'only one of exact, prefix or regex may be set');
    if (set === 0 && !allowEmpty) reject(ctx, p, 'one of exact, prefix or regex must be set');
    if (v.regex !== undefined) {
      try {
        compileRegex(v.regex);
      } catch (e) {
        reject(
          ctx,
          [...p, 'regex'],
          `"${v.regex}" is not a valid regex: ${e instanceof RegexSyntaxError ? e.message : String(e)}`,
          'write an RE2 regular expression',
        );
      }
    }
    if (v.prefix === '' || v.exact === '') {
      if (p[p.length - 1] === 'uri') reject(ctx, p, `${v.prefix === '' ? 'prefix' : 'exact'} match cannot be empty`);
    }
  };
  sm(m.uri, [...path, 'uri']);
  sm(m.method, [...path, 'method']);
  sm(m.authority, [...path, 'authority']);
  sm(m.scheme, [...path, 'scheme']);
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (k !== k.toLowerCase()) reject(ctx, [...path, 'headers', k], `header match ${k} must be in lowercase`, `write "${k.toLowerCase()}"`);
    sm(v, [...path, 'headers', k], true);
  }
  for (const [k, v] of Object.entries(m.withoutHeaders ?? {})) {
    if (k !== k.toLowerCase())
      reject(ctx, [...path, 'withoutHeaders', k], `header match ${k} must be in lowercase`, `write "${k.toLowerCase()}"`);
    sm(v, [...path, 'withoutHeaders', k], true);
  }
  for (const [k, v] of Object.entries(m.queryParams ?? {})) sm(v, [...path, 'queryParams', k], true);
}

/** Istio's route for a service without a VirtualService (BuildDefaultHTTPRoute): default retries, no timeout. */
export function defaultRoute(ref: { name: string; hashPolicy?: ir.HashPolicy[] }): ir.Route {
  const d = (n: string) => defaultOrigin('istio', n);
  const route: ir.Route = {
    name: 'default',
    match: { path: { kind: 'prefix', value: '/', segmentAware: false } },
    action: { kind: 'forward', clusters: [{ cluster: ref.name, weight: 100 }] },
    timeout: {
      requestMs: ISTIO.ROUTE_TIMEOUT_MS,
      maxGrpcTimeoutMs: 0,
      origin: { requestMs: d('ISTIO.ROUTE_TIMEOUT_MS'), maxGrpcTimeoutMs: d('ISTIO.ROUTE_TIMEOUT_MS') },
    },
    origin: { action: d('a service without a VirtualService gets the default route') },
  };
  const retry = buildRetry(undefined, {}, [], undefined, ref.hashPolicy !== undefined);
  if (retry) route.retry = retry;
  if (ref.hashPolicy) route.hashPolicy = ref.hashPolicy;
  return route;
}
