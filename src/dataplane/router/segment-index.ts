/**
 * Route candidates by the request path's first segment, for virtual hosts with many routes. Match
 * order is kept: a segment's list is the routes that require that first segment merged, in their
 * original order, with the routes that require none (regexes, `/`, case-insensitive paths,
 * prefixes that end mid-segment). Envoy scans a virtual host's routes in order; this gives the
 * same first match while skipping routes that cannot match, so unused routes cost nothing.
 */
import type { CompiledPathMatch } from './compile-route-match.js';

/** Below this many routes a plain scan is cheaper than slicing the segment. */
export const SEGMENT_INDEX_MIN_ROUTES = 16;

const SLASH = 47;

/** The first path segment a path condition requires, or undefined when it does not fix one. */
export function requiredSegment(p: CompiledPathMatch): string | undefined {
  if (p.ignoreCase || p.value.length < 2 || p.value.charCodeAt(0) !== SLASH) return undefined;
  const next = p.value.indexOf('/', 1);
  switch (p.kind) {
    case 'exact':
    case 'segment':
      // The literal ends at a segment boundary (or the path's end).
      return p.value.slice(1, next < 0 ? p.value.length : next);
    case 'prefix':
      // A plain prefix fixes the first segment only if its literal already contains the next '/'.
      return next < 0 ? undefined : p.value.slice(1, next);
    default:
      return undefined;
  }
}

export type SegmentIndex<R> = { readonly bySegment: Map<string, readonly R[]>; readonly unkeyed: readonly R[] };

/** null when the routes are too few to be worth it. */
export function buildSegmentIndex<R extends { match: { path: CompiledPathMatch; grpc: CompiledPathMatch } }>(
  routes: readonly R[],
): SegmentIndex<R> | null {
  if (routes.length < SEGMENT_INDEX_MIN_ROUTES) return null;
  const keys = routes.map((r) => requiredSegment(r.match.path) ?? requiredSegment(r.match.grpc));
  const bySegment = new Map<string, R[]>();
  const unkeyed: R[] = [];
  for (const k of keys) if (k !== undefined && !bySegment.has(k)) bySegment.set(k, []);
  routes.forEach((r, i) => {
    const k = keys[i];
    if (k === undefined) {
      unkeyed.push(r);
      for (const list of bySegment.values()) list.push(r);
    } else bySegment.get(k)!.push(r);
  });
  return { bySegment, unkeyed };
}

/** The routes to scan, in order, for a request target (`end`: where the path ends, before `?`). */
export function candidates<R>(index: SegmentIndex<R>, target: string, end: number): readonly R[] {
  if (target.charCodeAt(0) !== SLASH) return index.unkeyed;
  let stop = target.indexOf('/', 1);
  if (stop < 0 || stop > end) stop = end;
  return index.bySegment.get(target.slice(1, stop)) ?? index.unkeyed;
}
