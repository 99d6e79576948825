/**
 * Gateway API route precedence within one virtual host, applied once at compile time
 * (config-apis.md 1.7 for HTTPRoute, 1.8 for GRPCRoute). Hostname precedence (1.5) is not here:
 * it is decided by virtual-host selection, since each effective hostname is its own domain.
 *
 * HTTPRoute matches, each step deciding only on a tie of the previous ones:
 *   1. path type: Exact, then RegularExpression, then PathPrefix (no path = PathPrefix "/").
 *      The spec leaves regex placement to implementations; Envoy Gateway ranks it between Exact
 *      and PathPrefix (EG internal/gatewayapi/sort.go) and config-apis.md recommends the same, so
 *      a regex beats any prefix, and a longer regex beats a shorter one (step 2).
 *   2. the longer path value (characters of the prefix, regex source or exact path; two Exact
 *      paths can only both match through ignoreCase, and EG orders them by length too).
 *   3. a match with a method before one without.
 *   4. more header matches.
 *   5. more query-param matches.
 * GRPCRoute matches (a route whose match has `grpc`):
 *   1. more characters in the service; 2. more characters in the method; 3. more header matches.
 *      Exact and RegularExpression are not ranked against each other, as the spec says nothing.
 * Then, for both: the oldest creationTimestamp (missing = newest), `namespace/name` in code-unit
 * order (Go's string order), rule index, match index, and finally the input order.
 *
 * A virtual host should not hold both kinds (the spec accepts only one of an HTTPRoute and a
 * GRPCRoute whose hostnames intersect). If it does, gRPC matches go first: they are narrower, and
 * a catch-all HTTP prefix would otherwise shadow every gRPC method.
 */
import type * as ir from '../../ir/index.js';

type Key = {
  grpc: boolean;
  pathRank: number;
  pathLen: number;
  hasMethod: boolean;
  serviceLen: number;
  methodLen: number;
  headers: number;
  query: number;
  created: number;
  name: string;
  rule: number;
  match: number;
  index: number;
};

const PATH_EXACT = 0;
const PATH_REGEX = 1;
const PATH_PREFIX = 2;

function keyOf(route: ir.Route, index: number): Key {
  const m = route.match;
  let pathRank = PATH_PREFIX;
  let pathLen = 1; // an absent path is Gateway API's default PathPrefix "/"
  if (m.path) {
    pathRank = m.path.kind === 'exact' ? PATH_EXACT : m.path.kind === 'regex' ? PATH_REGEX : PATH_PREFIX;
    pathLen = m.path.value.length;
  }
  const sk = route.sortKey;
  const created = sk?.creationTimestamp ? Date.parse(sk.creationTimestamp) : NaN;
  return {
    grpc: m.grpc !== undefined,
    pathRank,
    pathLen,
    hasMethod: m.method !== undefined,
    serviceLen: m.grpc?.service?.length ?? 0,
    methodLen: m.grpc?.method?.length ?? 0,
    headers: m.headers?.length ?? 0,
    query: m.query?.length ?? 0,
    created: Number.isNaN(created) ? Number.POSITIVE_INFINITY : created,
    name: sk?.namespacedName ?? '',
    rule: sk?.ruleIndex ?? 0,
    match: sk?.matchIndex ?? 0,
    index,
  };
}

function compareKeys(a: Key, b: Key): number {
  if (a.grpc !== b.grpc) return a.grpc ? -1 : 1;
  if (a.grpc) {
    if (a.serviceLen !== b.serviceLen) return b.serviceLen - a.serviceLen;
    if (a.methodLen !== b.methodLen) return b.methodLen - a.methodLen;
    if (a.headers !== b.headers) return b.headers - a.headers;
  } else {
    if (a.pathRank !== b.pathRank) return a.pathRank - b.pathRank;
    if (a.pathLen !== b.pathLen) return b.pathLen - a.pathLen;
    if (a.hasMethod !== b.hasMethod) return a.hasMethod ? -1 : 1;
    if (a.headers !== b.headers) return b.headers - a.headers;
    if (a.query !== b.query) return b.query - a.query;
  }
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.rule !== b.rule) return a.rule - b.rule;
  if (a.match !== b.match) return a.match - b.match;
  return a.index - b.index;
}

/** Compares two routes by Gateway API precedence: negative when `a` is tried first. */
export function compareRoutePrecedence(a: ir.Route, b: ir.Route): number {
  return compareKeys(keyOf(a, 0), keyOf(b, 0));
}

/** Returns the routes in Gateway API precedence order (a new array; the input is not changed). */
export function sortRoutesByPrecedence(routes: readonly ir.Route[]): ir.Route[] {
  const keyed = routes.map((route, i) => ({ route, key: keyOf(route, i) }));
  keyed.sort((x, y) => compareKeys(x.key, y.key));
  return keyed.map((k) => k.route);
}
