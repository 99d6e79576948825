/**
 * HTTPRoute and GRPCRoute rules -> IR routes (config-apis.md 1.6-1.12): one `ir.Route` per match
 * with its Gateway API sort key, the action (weighted backends, redirect, or a direct 500/503),
 * header modifiers, URL rewrite, mirrors, timeouts and retry. The routes made here are templates:
 * the caller copies them into each virtual host the route is attached to.
 */
import type * as ir from '../../../ir/index.js';
import type { Diagnostics } from '../../model.js';
import { INVALID_BACKEND_CLUSTER, type BackendClusters } from './backends.js';
import { buildRouteRetry, buildRouteTimeout } from './build-policies.js';
import { CODES } from './codes.js';
import { originOf, type Path } from './read.js';
import type * as gwapi from './types.js';

export type RefError = { reason: string; message: string };

export type RuleResult = { rule: gwapi.Rule; routes: ir.Route[] };

export type RouteRules = {
  route: gwapi.Route;
  /** Rules that are implemented. */
  rules: RuleResult[];
  /** Rules dropped for an unsupported value, with why. */
  dropped: { index: number; message: string }[];
  /** Unresolved references (backends, mirrors), for ResolvedRefs. */
  refErrors: RefError[];
};

const REASON_CODES: Record<string, string> = {
  InvalidKind: CODES.INVALID_KIND,
  RefNotPermitted: CODES.REF_NOT_PERMITTED,
  BackendNotFound: CODES.BACKEND_NOT_FOUND,
  PortNotFound: CODES.PORT_NOT_FOUND,
};

export function buildRouteRules(route: gwapi.Route, clusters: BackendClusters, diags: Diagnostics): RouteRules {
  const out: RouteRules = { route, rules: [], dropped: [], refErrors: [] };
  for (const rule of route.rules) {
    if (rule.unsupported) {
      out.dropped.push({ index: rule.index, message: rule.unsupported });
      diags.warning(CODES.UNSUPPORTED_VALUE, `rule ${rule.index} is dropped: ${rule.unsupported}`, {
        object: route.object,
        path: rule.path,
      });
      continue;
    }
    out.rules.push({ rule, routes: buildRule(route, rule, clusters, diags, out.refErrors) });
  }
  return out;
}

function buildRule(route: gwapi.Route, rule: gwapi.Rule, clusters: BackendClusters, diags: Diagnostics, refErrors: RefError[]): ir.Route[] {
  const o = route.object;
  const refFailed = (r: { ok: false; reason: string; message: string }, path: Path) => {
    refErrors.push({ reason: r.reason, message: r.message });
    diags.warning(REASON_CODES[r.reason] ?? CODES.BACKEND_NOT_FOUND, r.message, { object: o, path });
  };
  const notImplemented = (what: string, path: Path) => diags.warning(CODES.NOT_IMPLEMENTED, what, { object: o, path });

  const shared: Partial<ir.Route> = {};
  const origin: ir.Origins = {};
  let action: ir.RouteAction | undefined;
  let failClosed: gwapi.Filter | undefined;
  const mirrors: ir.Mirror[] = [];

  const hoisted = hoistableBackendFilters(rule);
  for (const f of [...rule.filters, ...hoisted]) {
    switch (f.type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier': {
        const m = headerMutation(f.headers);
        const key = f.type === 'RequestHeaderModifier' ? 'requestHeaders' : 'responseHeaders';
        if (m) {
          shared[key] = m;
          origin[key] = originOf(o, f.at);
        }
        break;
      }
      case 'RequestRedirect':
        action = {
          kind: 'redirect',
          redirect: {
            ...(f.scheme ? { scheme: f.scheme } : {}),
            ...(f.hostname ? { host: f.hostname } : {}),
            ...(f.port !== undefined ? { port: f.port } : {}),
            ...(f.path ? { path: pathRewrite(f.path) } : {}),
            statusCode: f.statusCode,
          },
        };
        origin.action = originOf(o, f.at);
        break;
      case 'URLRewrite':
        shared.rewrite = { ...(f.hostname ? { authority: f.hostname } : {}), ...(f.path ? { path: pathRewrite(f.path) } : {}) };
        origin.rewrite = originOf(o, f.at);
        break;
      case 'RequestMirror': {
        const r = clusters.resolve(f.backendRef, route);
        if (r.ok) mirrors.push({ cluster: r.cluster, percent: f.percent });
        else refFailed(r, [...f.at, 'requestMirror', 'backendRef']);
        origin.mirrors ??= originOf(o, f.at);
        break;
      }
      case 'ExtensionRef':
        notImplemented(`ExtensionRef filter ${f.group}/${f.kind} ${f.name} is not supported: requests matching this rule get 500`, f.at);
        failClosed ??= f;
        break;
      case 'ExternalAuth':
        notImplemented('ExternalAuth filter is not supported: requests matching this rule get 500 rather than skip authentication', f.at);
        failClosed ??= f;
        break;
      case 'CORS':
        shared.cors = corsPolicy(f.cors);
        origin.cors = originOf(o, f.at);
        break;
    }
  }

  const grpc = rule.kind === 'GRPCRoute';
  // Gateway API asks for 500 when a rule cannot forward; for gRPC it asks for UNAVAILABLE, which a
  // local 503 becomes for gRPC callers.
  const failStatus = grpc ? 503 : 500;
  if (failClosed) {
    action = { kind: 'direct', response: { status: 500 } };
    origin.action = originOf(o, failClosed.at);
  } else if (!action) {
    action = forwardAction(route, rule, clusters, refFailed, notImplemented, failStatus, new Set(hoisted));
    origin.action = originOf(o, rule.backendRefs.length > 0 ? [...rule.path, 'backendRefs'] : rule.path);
  }
  if (mirrors.length > 0) shared.mirrors = mirrors;

  const timeout = buildRouteTimeout(route, rule);
  const retry = buildRouteRetry(route, rule);
  const prefix = `${route.kind.toLowerCase()}/${route.namespace}/${route.name}/rule/${rule.index}/match/`;
  const matches: { index: number; match: ir.RouteMatch; path: Path }[] =
    rule.kind === 'HTTPRoute'
      ? rule.matches.map((m) => ({ index: m.index, match: httpMatch(m), path: [...rule.path, 'matches', m.index] }))
      : rule.matches.length === 0
        ? [{ index: 0, match: { grpc: { kind: 'exact' } }, path: rule.path }]
        : rule.matches.map((m) => ({ index: m.index, match: grpcMatch(m), path: [...rule.path, 'matches', m.index] }));
  const created = route.object.metadata.creationTimestamp;
  return matches.map((m) => ({
    name: prefix + m.index,
    match: m.match,
    action: structuredClone(action!),
    ...structuredClone(shared),
    timeout: structuredClone(timeout),
    ...(retry ? { retry: structuredClone(retry) } : {}),
    sortKey: {
      ...(created !== undefined ? { creationTimestamp: String(created) } : {}),
      namespacedName: `${route.namespace}/${route.name}`,
      ruleIndex: rule.index,
      matchIndex: m.index,
    },
    origin: { match: originOf(o, m.path), ...origin },
  }));
}

function forwardAction(
  route: gwapi.Route,
  rule: gwapi.Rule,
  clusters: BackendClusters,
  refFailed: (r: { ok: false; reason: string; message: string }, path: Path) => void,
  notImplemented: (what: string, path: Path) => void,
  failStatus: number,
  hoisted: ReadonlySet<gwapi.Filter>,
): ir.RouteAction {
  const valid: ir.WeightedCluster[] = [];
  let invalidWeight = 0;
  for (const b of rule.backendRefs) {
    const r = clusters.resolve(b, route);
    if (!r.ok) {
      refFailed(r, b.path);
      invalidWeight += b.weight;
      continue;
    }
    const wc: ir.WeightedCluster = { cluster: r.cluster, weight: b.weight };
    for (const f of b.filters) {
      if (hoisted.has(f)) continue;
      if (f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier') {
        const m = headerMutation(f.headers);
        if (m) wc[f.type === 'RequestHeaderModifier' ? 'requestHeaders' : 'responseHeaders'] = m;
      } else {
        notImplemented(`${f.type} filter on one of several backendRefs is not supported yet and is ignored`, f.at);
      }
    }
    valid.push(wc);
  }
  const validWeight = valid.reduce((s, c) => s + c.weight, 0);
  // No backends, all invalid, or every valid one weighted 0: nothing to forward to (EG: 500).
  if (validWeight === 0) return { kind: 'direct', response: { status: failStatus } };
  if (invalidWeight > 0) {
    // EG points the share at a cluster that does not exist, answered with cluster_not_found 500.
    valid.push({ cluster: INVALID_BACKEND_CLUSTER, weight: invalidWeight, missing: true });
    return { kind: 'forward', clusters: valid, clusterNotFoundStatus: failStatus as 500 | 503 };
  }
  return { kind: 'forward', clusters: valid };
}

/**
 * Filters of a rule's only backendRef that act on the whole request: with one backend they apply
 * to all of the rule's traffic, so they can run as rule filters (unless the rule has its own of
 * that kind, or a redirect and a rewrite would meet).
 */
function hoistableBackendFilters(rule: gwapi.Rule): gwapi.Filter[] {
  if (rule.backendRefs.length !== 1) return [];
  const has = (t: string) => rule.filters.some((f) => f.type === t);
  return rule.backendRefs[0]!.filters.filter(
    (f) =>
      f.type === 'RequestMirror' ||
      (f.type === 'URLRewrite' && !has('URLRewrite') && !has('RequestRedirect')) ||
      (f.type === 'RequestRedirect' && !has('RequestRedirect') && !has('URLRewrite')),
  );
}

function headerMutation(h: gwapi.HeaderModifier): ir.HeaderMutation | undefined {
  const m: ir.HeaderMutation = {};
  if (h.set.length > 0) m.set = h.set.map((x) => ({ name: x.name, value: x.value }));
  if (h.add.length > 0) m.add = h.add.map((x) => ({ name: x.name, value: x.value }));
  if (h.remove.length > 0) m.remove = [...h.remove];
  return m.set || m.add || m.remove ? m : undefined;
}

function pathRewrite(p: gwapi.PathModifier): ir.PathRewrite {
  return p.type === 'ReplaceFullPath' ? { kind: 'full', value: p.value } : { kind: 'prefix', value: p.value };
}

function stringMatch(m: gwapi.HeaderMatch): ir.HeaderMatch {
  return { name: m.name, match: m.type === 'Exact' ? { kind: 'exact', value: m.value } : { kind: 'regex', value: m.value } };
}

export function httpMatch(m: gwapi.HttpMatch): ir.RouteMatch {
  const p = m.path;
  const out: ir.RouteMatch = {
    path:
      p.type === 'Exact'
        ? { kind: 'exact', value: p.value }
        : p.type === 'PathPrefix'
          ? { kind: 'prefix', value: p.value, segmentAware: true }
          : { kind: 'regex', value: p.value },
  };
  if (m.method !== undefined) out.method = m.method;
  if (m.headers.length > 0) out.headers = m.headers.map(stringMatch);
  if (m.queryParams.length > 0) out.query = m.queryParams.map(stringMatch);
  return out;
}

export function grpcMatch(m: gwapi.GrpcMatch): ir.RouteMatch {
  const g = m.method;
  const out: ir.RouteMatch = {
    grpc: {
      kind: g?.type === 'RegularExpression' ? 'regex' : 'exact',
      ...(g?.service !== undefined ? { service: g.service } : {}),
      ...(g?.method !== undefined ? { method: g.method } : {}),
    },
  };
  if (m.headers.length > 0) out.headers = m.headers.map(stringMatch);
  return out;
}

/**
 * HTTPCORSFilter -> CorsPolicy, as Envoy Gateway writes it: origins with `*` become full-match
 * regexes (`.*` for each `*`, the rest literal), lists are joined with ", ", a `*` list stays `*`,
 * and a preflight from an origin not allowed is answered here, not forwarded.
 */
export function corsPolicy(c: gwapi.Cors): ir.CorsPolicy {
  return {
    allowOrigins: c.allowOrigins.map((o): ir.StringMatch =>
      o.includes('*') ? { kind: 'regex', value: o.split('*').map(escapeRegex).join('.*') } : { kind: 'exact', value: o },
    ),
    allowMethods: c.allowMethods.join(', '),
    allowHeaders: c.allowHeaders.join(', '),
    exposeHeaders: c.exposeHeaders.join(', '),
    maxAge: String(c.maxAge),
    allowCredentials: c.allowCredentials,
    forwardNotMatchingPreflights: false,
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}
