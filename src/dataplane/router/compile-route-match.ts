/**
 * Route match conditions compiled once per config version, and the per-request checks.
 *
 * The checks take the raw request target and the index where its path ends (`?` or `#`), so
 * matching a path never slices the string; only a regex needs the path as its own string, and
 * matchRoute slices it at most once per request. Nothing here creates a closure per request.
 */
import type * as ir from '../../ir/index.js';
import { compileRegex } from '../../common/regex.js';

/** What the router needs from a request. */
export type RouteRequest = {
  /** Upper-case method, as node:http and node:http2 give it. */
  method: string;
  /** Raw request target in origin form, including `?query`. */
  path: string;
  /** Lower-case names, as node:http and node:http2 give them. */
  headers: Record<string, string | string[] | undefined>;
  /** The listener port the request arrived on, as declared in config (Istio `match.port`). */
  port: number;
};

/** Tests one value. Built at compile time. */
export type StringMatcher = (value: string) => boolean;

/**
 * Path condition. `segment` is Envoy's `path_separated_prefix` (value without a trailing `/`),
 * `prefix` Envoy's raw `prefix`, `suffix` serves gRPC method-only matches. Every kind has the same
 * fields so the per-request loop sees one object shape (monomorphic property access in V8).
 */
export type CompiledPathMatch = {
  readonly kind: 'any' | 'exact' | 'prefix' | 'segment' | 'suffix' | 'regex';
  /** ASCII lower-case when ignoreCase. */
  readonly value: string;
  readonly ignoreCase: boolean;
  /** Set for `regex` only. */
  readonly re: RegExp | null;
};

/** Where a header condition reads its value from: pseudo-headers come from request fields. */
export type HeaderSource = 'header' | 'path' | 'method' | 'authority';

export type CompiledHeaderMatch = {
  readonly name: string;
  readonly source: HeaderSource;
  /** null = presence only. */
  readonly test: StringMatcher | null;
  readonly invert: boolean;
};

export type CompiledQueryMatch = {
  readonly name: string;
  readonly test: StringMatcher | null;
  readonly invert: boolean;
};

export type CompiledRouteMatch = {
  readonly path: CompiledPathMatch;
  /** gRPC service/method condition as a second path condition; `any` when absent. */
  readonly grpc: CompiledPathMatch;
  readonly method: string | undefined;
  readonly port: number | undefined;
  readonly headers: readonly CompiledHeaderMatch[] | null;
  readonly query: readonly CompiledQueryMatch[] | null;
};

const SLASH = 47;

function pathMatch(kind: CompiledPathMatch['kind'], value: string, ignoreCase: boolean, re: RegExp | null = null): CompiledPathMatch {
  return { kind, value, ignoreCase, re };
}

const ANY: CompiledPathMatch = pathMatch('any', '', false);

export function compileRouteMatch(m: ir.RouteMatch): CompiledRouteMatch {
  return {
    path: m.path ? compilePathMatch(m.path) : ANY,
    grpc: m.grpc ? compileGrpcMatch(m.grpc) : ANY,
    method: m.method,
    port: m.port,
    headers: m.headers && m.headers.length > 0 ? m.headers.map(compileHeaderMatch) : null,
    query: m.query && m.query.length > 0 ? m.query.map(compileQueryMatch) : null,
  };
}

export function compilePathMatch(p: ir.PathMatch): CompiledPathMatch {
  switch (p.kind) {
    case 'exact': {
      const ignoreCase = p.ignoreCase === true;
      return pathMatch('exact', ignoreCase ? asciiLower(p.value) : p.value, ignoreCase);
    }
    case 'prefix': {
      const ignoreCase = p.ignoreCase === true;
      const value = ignoreCase ? asciiLower(p.value) : p.value;
      if (!p.segmentAware) return pathMatch('prefix', value, ignoreCase);
      // Gateway API ignores a trailing `/` of the prefix: `/foo/` matches `/foo` too (EG trims it
      // and emits path_separated_prefix). The root `/` trims to "", which matches every path.
      return pathMatch('segment', trimTrailingSlashes(value), ignoreCase);
    }
    case 'regex':
      return pathMatch('regex', p.value, false, compileRegex(p.value, { fullMatch: true }));
  }
}

/**
 * gRPC paths are `/<service>/<method>` (GEP-1016 table in config-apis.md 1.8). Exact matches
 * become exact, prefix or suffix path checks like Envoy Gateway's; regex ones one anchored regex.
 */
export function compileGrpcMatch(g: ir.GrpcMethodMatch): CompiledPathMatch {
  const { service, method } = g;
  if (g.kind === 'exact') {
    if (service !== undefined && method !== undefined) return pathMatch('exact', `/${service}/${method}`, false);
    if (service !== undefined) return pathMatch('prefix', `/${service}/`, false);
    if (method !== undefined) return pathMatch('suffix', `/${method}`, false);
    return ANY;
  }
  if (service === undefined && method === undefined) return ANY;
  const s = service === undefined ? '[^/]+' : `(?:${service})`;
  const m = method === undefined ? '[^/]+' : `(?:${method})`;
  const source = `/${s}/${m}`;
  return pathMatch('regex', source, false, compileRegex(source, { fullMatch: true }));
}

export function compileHeaderMatch(h: ir.HeaderMatch): CompiledHeaderMatch {
  const name = h.name.toLowerCase();
  return { name, source: headerSource(name), test: compileStringMatch(h.match), invert: h.invert === true };
}

export function compileQueryMatch(q: ir.QueryMatch): CompiledQueryMatch {
  // Query parameter names compare exactly (Gateway API and Envoy): no lower-casing.
  return { name: q.name, test: compileStringMatch(q.match), invert: q.invert === true };
}

function headerSource(name: string): HeaderSource {
  switch (name) {
    case ':path':
      return 'path';
    case ':method':
      return 'method';
    // Envoy stores Host as :authority, so a `host` matcher reads :authority too.
    case ':authority':
    case 'host':
      return 'authority';
    default:
      return 'header';
  }
}

/** Envoy StringMatcher semantics; `ignoreCase` folds ASCII only, as absl does. null = present. */
export function compileStringMatch(m: ir.StringMatch): StringMatcher | null {
  switch (m.kind) {
    case 'present':
      return null;
    case 'regex': {
      const re = compileRegex(m.value, { fullMatch: true });
      return (v) => re.test(v);
    }
    case 'exact': {
      const want = m.value;
      if (!m.ignoreCase) return (v) => v === want;
      const lower = asciiLower(want);
      return (v) => v.length === lower.length && regionEqualsFold(v, 0, lower);
    }
    case 'prefix': {
      const want = m.value;
      if (!m.ignoreCase) return (v) => v.startsWith(want);
      const lower = asciiLower(want);
      return (v) => v.length >= lower.length && regionEqualsFold(v, 0, lower);
    }
    case 'suffix': {
      const want = m.value;
      if (!m.ignoreCase) return (v) => v.endsWith(want);
      const lower = asciiLower(want);
      return (v) => v.length >= lower.length && regionEqualsFold(v, v.length - lower.length, lower);
    }
    case 'contains': {
      const want = m.value;
      if (!m.ignoreCase) return (v) => v.includes(want);
      const lower = asciiLower(want);
      return (v) => indexOfFold(v, lower) >= 0;
    }
  }
}

/** Index where the path of a request target ends: the first `?` or `#`, else its length. */
export function pathEnd(target: string): number {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return target.length;
}

/**
 * Non-regex path checks on `target[0, end)`. Regex matches are handled by the caller, which owns
 * the (lazily sliced) path string.
 */
export function matchPlainPath(p: CompiledPathMatch, target: string, end: number): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'exact':
      if (end !== p.value.length) return false;
      return p.ignoreCase ? regionEqualsFold(target, 0, p.value) : target.startsWith(p.value);
    case 'prefix':
      if (end < p.value.length) return false;
      return p.ignoreCase ? regionEqualsFold(target, 0, p.value) : target.startsWith(p.value);
    case 'segment': {
      const len = p.value.length;
      if (end < len) return false;
      if (!(p.ignoreCase ? regionEqualsFold(target, 0, p.value) : target.startsWith(p.value))) return false;
      return end === len || target.charCodeAt(len) === SLASH;
    }
    case 'suffix': {
      const start = end - p.value.length;
      return start >= 0 && target.startsWith(p.value, start);
    }
    case 'regex':
      // Callers test regexes themselves, on the path sliced off the query.
      throw new Error('matchPlainPath: regex path');
  }
}

/** All header conditions hold (AND). */
export function matchHeaders(matchers: readonly CompiledHeaderMatch[], req: RouteRequest): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const h = matchers[i]!;
    let value: string | undefined;
    switch (h.source) {
      case 'header':
        value = headerValue(req.headers[h.name]);
        break;
      case 'path':
        value = req.path;
        break;
      case 'method':
        value = req.method;
        break;
      case 'authority':
        value = headerValue(req.headers[':authority']) ?? headerValue(req.headers.host);
        break;
    }
    if (!matchValue(h.test, h.invert, value)) return false;
  }
  return true;
}

/** All query conditions hold (AND). `end` is pathEnd(target). */
export function matchQuery(matchers: readonly CompiledQueryMatch[], target: string, end: number): boolean {
  const hasQuery = end < target.length && target.charCodeAt(end) === 63;
  const qStart = end + 1;
  let qEnd = target.length;
  if (hasQuery) {
    const hash = target.indexOf('#', qStart);
    if (hash >= 0) qEnd = hash;
  }
  for (let i = 0; i < matchers.length; i++) {
    const q = matchers[i]!;
    const value = hasQuery ? findQueryParam(target, qStart, qEnd, q.name) : undefined;
    if (!matchValue(q.test, q.invert, value)) return false;
  }
  return true;
}

/**
 * Envoy's header matcher semantics: a missing header fails every value matcher whether inverted
 * or not (Envoy's `invert_match` without `treat_missing_header_as_empty`); only a presence check
 * sees absence, so `present` + invert means "absent".
 */
function matchValue(test: StringMatcher | null, invert: boolean, value: string | undefined): boolean {
  if (test === null) return (value !== undefined) !== invert;
  if (value === undefined) return false;
  return test(value) !== invert;
}

/** Several values of one header are joined with "," as Envoy's getAllOfHeaderAsString does. */
function headerValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return v.length === 0 ? undefined : v.length === 1 ? v[0] : v.join(',');
}

/**
 * First value of `name` in `target[from, to)`, split on `&`, undecoded, as Envoy's
 * `parseQueryString` (and Gateway API's "first value" rule). `?name` without `=` has value "".
 */
export function findQueryParam(target: string, from: number, to: number, name: string): string | undefined {
  const nlen = name.length;
  let start = from;
  while (start <= to) {
    let amp = target.indexOf('&', start);
    if (amp < 0 || amp > to) amp = to;
    if (amp - start >= nlen && target.startsWith(name, start)) {
      const after = start + nlen;
      if (after === amp) return '';
      if (target.charCodeAt(after) === 61 /* = */) return target.slice(after + 1, amp);
    }
    start = amp + 1;
  }
  return undefined;
}

// --- ASCII case folding without allocating (absl::EqualsIgnoreCase semantics). ---

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function foldCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** `s[at, at + lower.length)` equals `lower` (already ASCII lower-case) ignoring ASCII case. */
function regionEqualsFold(s: string, at: number, lower: string): boolean {
  if (at < 0 || at + lower.length > s.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (foldCode(s.charCodeAt(at + i)) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function indexOfFold(s: string, lower: string): number {
  const last = s.length - lower.length;
  for (let at = 0; at <= last; at++) if (regionEqualsFold(s, at, lower)) return at;
  return -1;
}

function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === SLASH) end--;
  return s.slice(0, end);
}
