/**
 * IR virtual hosts -> a route table, compiled once per config version. Everything the hot path
 * needs is precomputed here: the host index, routes in match order, compiled matchers, weighted
 * pickers, header mutators, rewrites and redirects. The table is immutable; a reload builds a new
 * one and swaps it, and in-flight requests keep the one they started with.
 */
import { buildSegmentIndex, type SegmentIndex } from './segment-index.js';
import type * as ir from '../../ir/index.js';
import { compileHeaderMutation, type HeaderMutator } from './compile-header-mutation.js';
import { compileHostIndex } from './compile-host-index.js';
import { compileRouteMatch, type CompiledRouteMatch, type RouteRequest } from './compile-route-match.js';
import { matchRoute } from './match-route.js';
import { compileWeightedPicker, type WeightedPicker } from './pick-weighted-cluster.js';
import { compileRedirect, type CompiledRedirect } from './redirect-location.js';
import { compilePathRewrite, matchedPrefixOf, type CompiledPathRewrite, type MatchedPrefix } from './rewrite-path.js';
import { sortRoutesByPrecedence } from './route-precedence.js';

/** One backend of a forward action with its backend-level header edits. */
export type CompiledBackend = {
  readonly cluster: ir.WeightedCluster;
  readonly name: string;
  readonly weight: number;
  readonly requestHeaders: HeaderMutator | null;
  readonly responseHeaders: HeaderMutator | null;
};

/** Everything compiled for one route, handed to `attach` so targets can close over it. */
export type RouteParts = {
  readonly route: ir.Route;
  readonly match: CompiledRouteMatch;
  /** Forward actions: weighted choice of backend. Undefined for redirect and direct actions. */
  readonly backends: WeightedPicker<CompiledBackend> | undefined;
  readonly requestHeaders: HeaderMutator | null;
  readonly responseHeaders: HeaderMutator | null;
  /** The prefix a `prefix` path rewrite replaces (see matchedPrefixOf). */
  readonly matchedPrefix: MatchedPrefix | undefined;
  /** URL rewrite of a forwarded request; use with rewritePath(path, matchedPrefix, pathRewrite). */
  readonly pathRewrite: CompiledPathRewrite | undefined;
  /** New Host / :authority of a forwarded request. */
  readonly authorityRewrite: string | undefined;
  /** Redirect actions: use with redirectLocation(req, redirect). */
  readonly redirect: CompiledRedirect | undefined;
};

export type CompiledRoute<T> = RouteParts & {
  /** What the caller attached (its per-route runtime state: retry policy, stats...). */
  readonly target: T;
};

/** Builds the caller's per-route state; `parts` holds the route's compiled pieces. */
export type AttachRoute<T> = (route: ir.Route, vh: ir.VirtualHost, parts: RouteParts) => T;

export type CompiledVirtualHost<T> = {
  readonly virtualHost: ir.VirtualHost;
  readonly name: string;
  /** In match order: as given for `ordered`, sorted by precedence for `gateway-api`. */
  readonly routes: readonly CompiledRoute<T>[];
  /** Candidates by first path segment (large virtual hosts only; see segment-index.ts). */
  readonly index: SegmentIndex<CompiledRoute<T>> | null;
  /** Some route reads headers (or pseudo-headers). */
  readonly needsHeaders: boolean;
  /** Some route reads the query string. */
  readonly needsQuery: boolean;
};

export type RouteTable<T> = {
  readonly virtualHosts: readonly CompiledVirtualHost<T>[];
  /** By Host / :authority, port ignored: exact, longest `*.suffix`, then `*`. */
  selectVirtualHost(authority: string | undefined): CompiledVirtualHost<T> | undefined;
  /** The first matching route of `vh` (the same function as the exported matchRoute). */
  matchRoute(vh: CompiledVirtualHost<T>, req: RouteRequest): CompiledRoute<T> | undefined;
};

/** A route that cannot be compiled (an invalid regex that validation let through). */
export class RouteCompileError extends Error {
  readonly code = 'E_ROUTE_COMPILE';
  readonly virtualHost: string;
  readonly route: string;
  constructor(virtualHost: string, route: string, cause: unknown) {
    super(`virtual host "${virtualHost}", route "${route}": ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'RouteCompileError';
    this.virtualHost = virtualHost;
    this.route = route;
  }
}

export function compileRouteTable<T>(virtualHosts: readonly ir.VirtualHost[], attach: AttachRoute<T>): RouteTable<T> {
  const compiled = virtualHosts.map((vh) => compileVirtualHost(vh, attach));
  const index = compileHostIndex(compiled.map((c) => ({ domains: c.virtualHost.domains, value: c })));
  return { virtualHosts: compiled, selectVirtualHost: index.select, matchRoute };
}

function compileVirtualHost<T>(vh: ir.VirtualHost, attach: AttachRoute<T>): CompiledVirtualHost<T> {
  const ordered = vh.routeOrder === 'gateway-api' ? sortRoutesByPrecedence(vh.routes) : vh.routes;
  const routes = ordered.map((route) => {
    try {
      return compileRoute(route, vh, attach);
    } catch (err) {
      throw new RouteCompileError(vh.name, route.name, err);
    }
  });
  return {
    virtualHost: vh,
    name: vh.name,
    routes,
    index: buildSegmentIndex(routes),
    needsHeaders: routes.some((r) => r.match.headers !== null),
    needsQuery: routes.some((r) => r.match.query !== null),
  };
}

function compileRoute<T>(route: ir.Route, vh: ir.VirtualHost, attach: AttachRoute<T>): CompiledRoute<T> {
  const match = compileRouteMatch(route.match);
  const matchedPrefix = matchedPrefixOf(route.match);
  const action = route.action;
  const backends =
    action.kind === 'forward'
      ? compileWeightedPicker(
          action.clusters.map((c) => ({
            cluster: c,
            name: c.cluster,
            weight: c.weight,
            requestHeaders: compileHeaderMutation(c.requestHeaders),
            responseHeaders: compileHeaderMutation(c.responseHeaders),
          })),
        )
      : undefined;
  // Gateway API derives a missing redirect port from the listener; Envoy and Istio do not. The IR
  // has no field saying which dialect a redirect follows, so the virtual host's ordering says it.
  const redirect =
    action.kind === 'redirect'
      ? compileRedirect(action.redirect, matchedPrefix, { portFromListener: vh.routeOrder === 'gateway-api' })
      : undefined;
  const parts: RouteParts = {
    route,
    match,
    backends,
    requestHeaders: compileHeaderMutation(route.requestHeaders),
    responseHeaders: compileHeaderMutation(route.responseHeaders),
    matchedPrefix,
    pathRewrite: route.rewrite?.path ? compilePathRewrite(route.rewrite.path) : undefined,
    authorityRewrite: route.rewrite?.authority,
    redirect,
  };
  return { ...parts, target: attach(route, vh, parts) };
}
