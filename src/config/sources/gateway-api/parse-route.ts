/**
 * HTTPRoute and GRPCRoute objects (config-apis.md 1.4, 1.6, 1.8, 1.11, 1.12, section 6 #14-#17):
 * schema and CEL checks and kubebuilder defaults. An object the API server would refuse comes
 * back undefined; a rule using a value the controller may refuse (bad regex, unknown enum) comes
 * back with `unsupported` set, to be dropped with `UnsupportedValue`.
 */
import { compileRegex } from '../../../common/regex.js';
import { parseGatewayDuration } from '../../../common/durations.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { objectRef } from '../../model.js';
import { GROUP } from './codes.js';
import { hostnameError } from './hostnames.js';
import { parseBackendRefs, parseFilters, readHeaderName, unsupported, type RuleIssues } from './parse-filters.js';
import { readArray, readCtx, readInt, readObject, readString, reject, type Path, type ReadCtx } from './read.js';
import type * as gwapi from './types.js';

export function parseRoute(o: LoadedObject, diags: Diagnostics): gwapi.Route | undefined {
  const kind = o.kind as gwapi.RouteKind;
  const ctx = readCtx(o, diags);
  const spec = readObject(ctx, o.body.spec, ['spec']) ?? {};
  const parentRefs = parseParentRefs(ctx, spec.parentRefs, ['spec', 'parentRefs']);
  const hostnames = readArray(ctx, spec.hostnames, ['spec', 'hostnames'], 16).map((h, i) => {
    const name = readString(ctx, h, ['spec', 'hostnames', i], { required: true }) ?? '';
    const err = hostnameError(name);
    if (err) reject(ctx, ['spec', 'hostnames', i], err);
    return name;
  });
  let rawRules: unknown[];
  if (spec.rules === undefined && kind === 'HTTPRoute') rawRules = [{}];
  else rawRules = readArray(ctx, spec.rules, ['spec', 'rules'], 16);
  const rules: gwapi.Rule[] = [];
  rawRules.forEach((r, i) => {
    const rule = kind === 'HTTPRoute' ? parseHttpRule(ctx, r, ['spec', 'rules', i], i) : parseGrpcRule(ctx, r, ['spec', 'rules', i], i);
    if (rule) rules.push(rule);
  });
  const names = new Set<string>();
  let totalMatches = 0;
  for (const r of rules) {
    totalMatches += r.matches.length;
    if (r.name === undefined) continue;
    if (names.has(r.name)) reject(ctx, [...r.path, 'name'], 'Rule name must be unique within the route');
    names.add(r.name);
  }
  if (totalMatches > 128) reject(ctx, ['spec', 'rules'], `the rules have ${totalMatches} matches; at most 128 are allowed over all rules`);
  if (!ctx.ok) return undefined;
  return { kind, object: o, namespace: o.metadata.namespace, name: o.metadata.name, ref: objectRef(o), parentRefs, hostnames, rules };
}

function parseParentRefs(ctx: ReadCtx, v: unknown, path: Path): gwapi.ParentRef[] {
  const refs: gwapi.ParentRef[] = [];
  readArray(ctx, v, path, 32).forEach((raw, index) => {
    const p = [...path, index];
    const r = readObject(ctx, raw, p);
    if (!r) return;
    const sectionName = readString(ctx, r.sectionName, [...p, 'sectionName'], { min: 1, max: 253 });
    const port = readInt(ctx, r.port, [...p, 'port'], 1, 65535);
    refs.push({
      index,
      group: readString(ctx, r.group, [...p, 'group']) ?? GROUP,
      kind: readString(ctx, r.kind, [...p, 'kind']) ?? 'Gateway',
      namespace: readString(ctx, r.namespace, [...p, 'namespace'], { min: 1, max: 63 }) ?? ctx.o.metadata.namespace,
      name: readString(ctx, r.name, [...p, 'name'], { required: true, min: 1, max: 253 }) ?? '',
      ...(sectionName !== undefined ? { sectionName } : {}),
      ...(port !== undefined ? { port } : {}),
    });
  });
  // CEL: several references to one parent must each name a distinct section (or port).
  const byParent = new Map<string, gwapi.ParentRef[]>();
  for (const r of refs) {
    const key = `${r.group}/${r.kind}/${r.namespace}/${r.name}`;
    byParent.set(key, [...(byParent.get(key) ?? []), r]);
  }
  for (const group of byParent.values()) {
    if (group.length < 2) continue;
    if (group.some((r) => r.sectionName === undefined && r.port === undefined))
      reject(ctx, path, 'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent');
    else if (new Set(group.map((r) => `${r.sectionName ?? ''}:${r.port ?? ''}`)).size !== group.length)
      reject(ctx, path, 'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent');
  }
  return refs;
}

function readRuleName(ctx: ReadCtx, v: unknown, path: Path): string | undefined {
  return readString(ctx, v, path, { min: 1, max: 253 });
}

const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** The CEL rules on Exact/PathPrefix values, with their upstream messages. */
export function pathValueError(value: string): string | undefined {
  if (!value.startsWith('/')) return "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']";
  if (value.includes('//')) return "must not contain '//' when type one of ['Exact', 'PathPrefix']";
  if (value.includes('/./')) return "must not contain '/./' when type one of ['Exact', 'PathPrefix']";
  if (value.includes('/../')) return "must not contain '/../' when type one of ['Exact', 'PathPrefix']";
  if (value.includes('%2f') || value.includes('%2F')) return "must not contain '%2f' or '%2F' when type one of ['Exact', 'PathPrefix']";
  if (value.includes('#')) return "must not contain '#' when type one of ['Exact', 'PathPrefix']";
  if (value.endsWith('/..')) return "must not end with '/..' when type one of ['Exact', 'PathPrefix']";
  if (value.endsWith('/.')) return "must not end with '/.' when type one of ['Exact', 'PathPrefix']";
  if (!PATH_CHARS.test(value))
    return "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']";
  return undefined;
}

/** EG's message for a regex Envoy would refuse: `regex "<re>" is invalid: <reason>`. */
export function regexError(re: string): string | undefined {
  try {
    compileRegex(re, { fullMatch: true });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function parseStringMatches(ctx: ReadCtx, v: unknown, path: Path, what: 'header' | 'query', issues: RuleIssues): gwapi.HeaderMatch[] {
  const out: gwapi.HeaderMatch[] = [];
  const exact = new Set<string>();
  const folded = new Set<string>();
  readArray(ctx, v, path, 16).forEach((raw, i) => {
    const p = [...path, i];
    const m = readObject(ctx, raw, p) ?? {};
    const type = readString(ctx, m.type, [...p, 'type']) ?? 'Exact';
    const name =
      what === 'header'
        ? readHeaderName(ctx, m.name, [...p, 'name'])
        : (readString(ctx, m.name, [...p, 'name'], { required: true, min: 1, max: 256 }) ?? '');
    const value = readString(ctx, m.value, [...p, 'value'], { required: true, min: 1, max: what === 'header' ? 4096 : 1024 }) ?? '';
    if (exact.has(name)) reject(ctx, p, `${what} "${name}" is matched twice`);
    exact.add(name);
    if (type !== 'Exact' && type !== 'RegularExpression') {
      unsupported(issues, `${what} match type "${type}" is not Exact or RegularExpression`);
      return;
    }
    if (type === 'RegularExpression') {
      const err = regexError(value);
      if (err) unsupported(issues, err);
    }
    // Header names compare case-insensitively and only the first of several entries counts.
    const key = what === 'header' ? name.toLowerCase() : name;
    if (folded.has(key)) return;
    folded.add(key);
    out.push({ type, name, value });
  });
  return out;
}

function parseHttpRule(ctx: ReadCtx, raw: unknown, path: Path, index: number): gwapi.Rule | undefined {
  const r = readObject(ctx, raw, path) ?? {};
  const issues: RuleIssues = {};
  const name = readRuleName(ctx, r.name, [...path, 'name']);
  let rawMatches = readArray(ctx, r.matches, [...path, 'matches'], 64);
  // Absent or empty: every request (the kubebuilder default is PathPrefix "/").
  if (rawMatches.length === 0) rawMatches = [{}];
  const matches: gwapi.HttpMatch[] = rawMatches.map((m, i) => {
    const mp = [...path, 'matches', i];
    const obj = readObject(ctx, m, mp) ?? {};
    const po = readObject(ctx, obj.path, [...mp, 'path']) ?? {};
    const type = readString(ctx, po.type, [...mp, 'path', 'type']) ?? 'PathPrefix';
    const value = readString(ctx, po.value, [...mp, 'path', 'value'], { max: 1024 }) ?? '/';
    if (type === 'Exact' || type === 'PathPrefix') {
      const err = pathValueError(value);
      if (err) reject(ctx, [...mp, 'path', 'value'], err);
    } else if (type === 'RegularExpression') {
      const err = regexError(value);
      if (err) unsupported(issues, err);
    } else {
      unsupported(issues, `path match type "${type}" is not Exact, PathPrefix or RegularExpression`);
    }
    const method = readString(ctx, obj.method, [...mp, 'method']);
    if (method !== undefined && !METHODS.has(method)) unsupported(issues, `method "${method}" is not supported`);
    return {
      index: i,
      path: { type: type as gwapi.HttpMatch['path']['type'], value },
      headers: parseStringMatches(ctx, obj.headers, [...mp, 'headers'], 'header', issues),
      queryParams: parseStringMatches(ctx, obj.queryParams, [...mp, 'queryParams'], 'query', issues),
      ...(method !== undefined ? { method } : {}),
    };
  });
  const filters = parseFilters(ctx, r.filters, [...path, 'filters'], 'HTTPRoute', issues);
  const backendRefs = parseBackendRefs(ctx, r.backendRefs, [...path, 'backendRefs'], 'HTTPRoute', issues);
  if (filters.some((f) => f.type === 'RequestRedirect') && backendRefs.length > 0)
    reject(ctx, path, 'RequestRedirect filter must not be used together with backendRefs');
  for (const f of filters) {
    if ((f.type === 'URLRewrite' || f.type === 'RequestRedirect') && f.path?.type === 'ReplacePrefixMatch') {
      if (matches.length !== 1 || matches[0]!.path.type !== 'PathPrefix')
        reject(ctx, path, `When using ${f.type} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`);
    }
  }
  const timeouts = parseTimeouts(ctx, r.timeouts, [...path, 'timeouts']);
  const retry = parseRetry(ctx, r.retry, [...path, 'retry']);
  return {
    kind: 'HTTPRoute',
    index,
    path,
    ...(name !== undefined ? { name } : {}),
    matches,
    filters,
    backendRefs,
    ...(timeouts ? { timeouts } : {}),
    ...(retry ? { retry } : {}),
    ...(issues.unsupported ? { unsupported: issues.unsupported } : {}),
  };
}

function readDuration(ctx: ReadCtx, v: unknown, path: Path): number | undefined {
  const text = readString(ctx, v, path);
  if (text === undefined) return undefined;
  const d = parseGatewayDuration(text);
  if (!d.ok) {
    reject(ctx, path, d.error);
    return undefined;
  }
  return d.ms;
}

function parseTimeouts(ctx: ReadCtx, v: unknown, path: Path): { request?: number; backendRequest?: number } | undefined {
  const t = readObject(ctx, v, path);
  if (!t) return undefined;
  const request = readDuration(ctx, t.request, [...path, 'request']);
  const backendRequest = readDuration(ctx, t.backendRequest, [...path, 'backendRequest']);
  if (request !== undefined && backendRequest !== undefined && request !== 0 && backendRequest > request)
    reject(ctx, [...path, 'backendRequest'], 'backendRequest timeout cannot be longer than request timeout');
  return { ...(request !== undefined ? { request } : {}), ...(backendRequest !== undefined ? { backendRequest } : {}) };
}

function parseRetry(ctx: ReadCtx, v: unknown, path: Path): { codes: number[]; attempts?: number; backoffMs?: number } | undefined {
  const r = readObject(ctx, v, path);
  if (!r) return undefined;
  const codes = readArray(ctx, r.codes, [...path, 'codes']).map((c, i) => readInt(ctx, c, [...path, 'codes', i], 400, 599) ?? 0);
  if (new Set(codes).size !== codes.length) reject(ctx, [...path, 'codes'], 'codes lists a status twice');
  const attempts = readInt(ctx, r.attempts, [...path, 'attempts'], 1, 2 ** 31 - 1);
  const backoffMs = readDuration(ctx, r.backoff, [...path, 'backoff']);
  return { codes, ...(attempts !== undefined ? { attempts } : {}), ...(backoffMs !== undefined ? { backoffMs } : {}) };
}

const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

function parseGrpcRule(ctx: ReadCtx, raw: unknown, path: Path, index: number): gwapi.Rule | undefined {
  const r = readObject(ctx, raw, path) ?? {};
  const issues: RuleIssues = {};
  const name = readRuleName(ctx, r.name, [...path, 'name']);
  const matches: gwapi.GrpcMatch[] = readArray(ctx, r.matches, [...path, 'matches'], 64).map((m, i) => {
    const mp = [...path, 'matches', i];
    const obj = readObject(ctx, m, mp) ?? {};
    const mo = readObject(ctx, obj.method, [...mp, 'method']);
    let method: gwapi.GrpcMatch['method'];
    if (mo) {
      const type = readString(ctx, mo.type, [...mp, 'method', 'type']) ?? 'Exact';
      const service = readString(ctx, mo.service, [...mp, 'method', 'service'], { max: 1024 });
      const meth = readString(ctx, mo.method, [...mp, 'method', 'method'], { max: 1024 });
      if (service === undefined && meth === undefined)
        reject(ctx, [...mp, 'method'], "One or both of 'service' or 'method' must be specified");
      if (type === 'Exact') {
        if (service !== undefined && !GRPC_SERVICE.test(service))
          reject(
            ctx,
            [...mp, 'method', 'service'],
            'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)',
          );
        if (meth !== undefined && !GRPC_METHOD.test(meth))
          reject(ctx, [...mp, 'method', 'method'], 'method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)');
      } else if (type === 'RegularExpression') {
        for (const re of [service, meth]) {
          const err = re === undefined ? undefined : regexError(re);
          if (err) unsupported(issues, err);
        }
      } else {
        unsupported(issues, `method match type "${type}" is not Exact or RegularExpression`);
      }
      method = {
        type: type as gwapi.StringMatchType,
        ...(service !== undefined ? { service } : {}),
        ...(meth !== undefined ? { method: meth } : {}),
      };
    }
    return { index: i, ...(method ? { method } : {}), headers: parseStringMatches(ctx, obj.headers, [...mp, 'headers'], 'header', issues) };
  });
  const filters = parseFilters(ctx, r.filters, [...path, 'filters'], 'GRPCRoute', issues);
  const backendRefs = parseBackendRefs(ctx, r.backendRefs, [...path, 'backendRefs'], 'GRPCRoute', issues);
  return {
    kind: 'GRPCRoute',
    index,
    path,
    ...(name !== undefined ? { name } : {}),
    matches,
    filters,
    backendRefs,
    ...(issues.unsupported ? { unsupported: issues.unsupported } : {}),
  };
}
