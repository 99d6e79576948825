/**
 * The per-request route lookup: the first route of the virtual host whose conditions all hold.
 * Cheap checks run first (method, port, path on the raw target without slicing); headers and the
 * query string are read only by routes that have such conditions, and the path is sliced off the
 * query at most once, only when a regex needs it as a string. No closure is created per call.
 */
import type { CompiledRoute, CompiledVirtualHost } from './compile-route-table.js';
import { matchHeaders, matchPlainPath, matchQuery, pathEnd, type RouteRequest } from './compile-route-match.js';
import { candidates } from './segment-index.js';

export type { RouteRequest } from './compile-route-match.js';

export function matchRoute<T>(vh: CompiledVirtualHost<T>, req: RouteRequest): CompiledRoute<T> | undefined {
  const target = req.path;
  const end = pathEnd(target);
  let path: string | undefined; // target[0, end), sliced on first use by a regex
  const routes = vh.index ? candidates(vh.index, target, end) : vh.routes;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    const m = route.match;
    if (m.method !== undefined && m.method !== req.method) continue;
    if (m.port !== undefined && m.port !== req.port) continue;
    const p = m.path;
    if (p.re !== null) {
      path ??= end === target.length ? target : target.slice(0, end);
      if (!p.re.test(path)) continue;
    } else if (!matchPlainPath(p, target, end)) {
      continue;
    }
    const g = m.grpc;
    if (g.re !== null) {
      path ??= end === target.length ? target : target.slice(0, end);
      if (!g.re.test(path)) continue;
    } else if (g.kind !== 'any' && !matchPlainPath(g, target, end)) {
      continue;
    }
    if (m.headers !== null && !matchHeaders(m.headers, req)) continue;
    if (m.query !== null && !matchQuery(m.query, target, end)) continue;
    return route;
  }
  return undefined;
}
