/**
 * HTTPRoute and GRPCRoute objects (config-apis.md 1.4, 1.6, 1.8, 1.11, 1.12, section 6 #14-#17):
 * checked by their schemas (schema.ts), then kubebuilder defaults applied. An object the API server
 * would refuse comes back undefined; a rule using a value the controller may refuse (bad regex,
 * unknown enum) comes back with `unsupported` set, to be dropped with `UnsupportedValue`.
 */
import { compileRegex } from '../../../common/regex.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { durationMs } from '../../schema/k8s.js';
import { objectRef } from '../../model.js';
import { GROUP } from './codes.js';
import { backendRefs, filters, unsupported, type RuleIssues } from './parse-filters.js';
import { checkSpec, type Path } from './read.js';
import {
  GrpcRouteSpec,
  HttpRouteSpec,
  type GrpcRouteRule,
  type HttpRouteMatch,
  type HttpRouteRule,
  type ParentReference,
} from './schema.js';
import type * as gwapi from './types.js';

export function parseRoute(o: LoadedObject, diags: Diagnostics): gwapi.Route | undefined {
  const kind = o.kind as gwapi.RouteKind;
  const spec = kind === 'HTTPRoute' ? checkSpec(o, HttpRouteSpec, diags) : checkSpec(o, GrpcRouteSpec, diags);
  if (!spec) return undefined;
  const parentRefs = (spec.parentRefs ?? []).map((r, index) => parentRef(o, r, index));
  let rules: gwapi.Rule[];
  if (kind === 'HTTPRoute') {
    // No rules: one rule matching every request (the kubebuilder default).
    const raw = (spec.rules as HttpRouteRule[] | undefined) ?? [{}];
    rules = raw.map((r, i) => httpRule(o, r, ['spec', 'rules', i], i));
  } else rules = ((spec.rules as GrpcRouteRule[] | undefined) ?? []).map((r, i) => grpcRule(o, r, ['spec', 'rules', i], i));
  return {
    kind,
    object: o,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    ref: objectRef(o),
    parentRefs,
    hostnames: spec.hostnames ?? [],
    rules,
  };
}

function parentRef(o: LoadedObject, r: ParentReference, index: number): gwapi.ParentRef {
  return {
    index,
    group: r.group ?? GROUP,
    kind: r.kind ?? 'Gateway',
    namespace: r.namespace ?? o.metadata.namespace,
    name: r.name,
    ...(r.sectionName !== undefined ? { sectionName: r.sectionName } : {}),
    ...(r.port !== undefined ? { port: r.port } : {}),
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** EG's message for a regex Envoy would refuse: `regex "<re>" is invalid: <reason>`. */
export function regexError(re: string): string | undefined {
  try {
    compileRegex(re, { fullMatch: true });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Header or query parameter matches; header names compare case-insensitively and only the first of several counts. */
function stringMatches(
  list: { type?: string | undefined; name: string; value: string }[] | undefined,
  what: 'header' | 'query',
  issues: RuleIssues,
): gwapi.HeaderMatch[] {
  const out: gwapi.HeaderMatch[] = [];
  const folded = new Set<string>();
  for (const m of list ?? []) {
    const type = m.type ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') {
      unsupported(issues, `${what} match type "${type}" is not Exact or RegularExpression`);
      continue;
    }
    if (type === 'RegularExpression') {
      const err = regexError(m.value);
      if (err) unsupported(issues, err);
    }
    const key = what === 'header' ? m.name.toLowerCase() : m.name;
    if (folded.has(key)) continue;
    folded.add(key);
    out.push({ type, name: m.name, value: m.value });
  }
  return out;
}

function httpMatch(m: HttpRouteMatch, index: number, issues: RuleIssues): gwapi.HttpMatch {
  const type = m.path?.type ?? 'PathPrefix';
  const value = m.path?.value ?? '/';
  if (type === 'RegularExpression') {
    const err = regexError(value);
    if (err) unsupported(issues, err);
  } else if (type !== 'Exact' && type !== 'PathPrefix')
    unsupported(issues, `path match type "${type}" is not Exact, PathPrefix or RegularExpression`);
  if (m.method !== undefined && !METHODS.has(m.method)) unsupported(issues, `method "${m.method}" is not supported`);
  return {
    index,
    path: { type: type as gwapi.HttpMatch['path']['type'], value },
    headers: stringMatches(m.headers, 'header', issues),
    queryParams: stringMatches(m.queryParams, 'query', issues),
    ...(m.method !== undefined ? { method: m.method } : {}),
  };
}

function httpRule(o: LoadedObject, r: HttpRouteRule, path: Path, index: number): gwapi.Rule {
  const issues: RuleIssues = {};
  // Absent or empty: every request (the kubebuilder default is PathPrefix "/").
  const raw = r.matches && r.matches.length > 0 ? r.matches : [{}];
  const matches = raw.map((m, i) => httpMatch(m, i, issues));
  const timeouts = r.timeouts && {
    ...(r.timeouts.request !== undefined ? { request: durationMs(r.timeouts.request) } : {}),
    ...(r.timeouts.backendRequest !== undefined ? { backendRequest: durationMs(r.timeouts.backendRequest) } : {}),
  };
  const retry = r.retry && {
    codes: r.retry.codes ?? [],
    ...(r.retry.attempts !== undefined ? { attempts: r.retry.attempts } : {}),
    ...(r.retry.backoff !== undefined ? { backoffMs: durationMs(r.retry.backoff) } : {}),
  };
  return {
    kind: 'HTTPRoute',
    index,
    path,
    ...(r.name !== undefined ? { name: r.name } : {}),
    matches,
    filters: filters(o, r.filters, [...path, 'filters'], 'HTTPRoute', issues),
    backendRefs: backendRefs(o, r.backendRefs, [...path, 'backendRefs'], 'HTTPRoute', issues),
    ...(timeouts ? { timeouts } : {}),
    ...(retry ? { retry } : {}),
    ...(issues.unsupported ? { unsupported: issues.unsupported } : {}),
  };
}

function grpcRule(o: LoadedObject, r: GrpcRouteRule, path: Path, index: number): gwapi.Rule {
  const issues: RuleIssues = {};
  const matches: gwapi.GrpcMatch[] = (r.matches ?? []).map((m, i) => {
    let method: gwapi.GrpcMatch['method'];
    if (m.method) {
      const type = m.method.type ?? 'Exact';
      if (type === 'RegularExpression') {
        for (const re of [m.method.service, m.method.method]) {
          const err = re === undefined ? undefined : regexError(re);
          if (err) unsupported(issues, err);
        }
      } else if (type !== 'Exact') unsupported(issues, `method match type "${type}" is not Exact or RegularExpression`);
      method = {
        type: type as gwapi.StringMatchType,
        ...(m.method.service !== undefined ? { service: m.method.service } : {}),
        ...(m.method.method !== undefined ? { method: m.method.method } : {}),
      };
    }
    return { index: i, ...(method ? { method } : {}), headers: stringMatches(m.headers, 'header', issues) };
  });
  return {
    kind: 'GRPCRoute',
    index,
    path,
    ...(r.name !== undefined ? { name: r.name } : {}),
    matches,
    filters: filters(o, r.filters, [...path, 'filters'], 'GRPCRoute', issues),
    backendRefs: backendRefs(o, r.backendRefs, [...path, 'backendRefs'], 'GRPCRoute', issues),
    ...(issues.unsupported ? { unsupported: issues.unsupported } : {}),
  };
}
