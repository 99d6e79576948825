/**
 * Gateway API host names (config-apis.md 1.1, 1.3, 1.5): validation, wildcard coverage, the
 * listener ∩ route intersection and listener isolation.
 *
 * A wildcard `*.example.com` covers `a.example.com`, `a.b.example.com` and `*.a.example.com`, never
 * `example.com`. Host names are lower case by the `Hostname` pattern, so comparisons are exact.
 */

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4 = /^[0-9]+(\.[0-9]+){3}$/;

/** Why `h` is not a Gateway API `Hostname` (or `PreciseHostname` when `precise`), or undefined. */
export function hostnameError(h: string, precise = false): string | undefined {
  if (h.length < 1 || h.length > 253) return `hostname "${h}" must be 1-253 characters`;
  if (!HOSTNAME.test(h))
    return `hostname "${h}" is not a valid host name: lower-case DNS labels separated by dots${precise ? '' : ', optionally starting with "*."'}`;
  if (precise && h.startsWith('*')) return `hostname "${h}" must not be a wildcard here`;
  if (IPV4.test(h)) return `hostname "${h}" must not be an IP address`;
  return undefined;
}

export function isWildcard(h: string): boolean {
  return h.startsWith('*.');
}

/**
 * `outer` covers `inner`: equal, or `outer` is `*.s` and `inner` ends with `.s` with at least one
 * label (or a wildcard) before it.
 */
export function covers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (!isWildcard(outer)) return false;
  const suffix = outer.slice(1); // ".example.com"
  return inner.length > suffix.length && inner.endsWith(suffix);
}

/**
 * The host name a route host name and a listener host name share (1.5 table), or undefined.
 * An absent listener host name accepts every route host name.
 */
export function intersectHostname(listener: string | undefined, route: string): string | undefined {
  if (listener === undefined) return route;
  if (covers(listener, route)) return route;
  if (covers(route, listener)) return listener;
  return undefined;
}

/**
 * Effective host names of a route on a listener (EG computeHosts, with the spec's wildcard-on-
 * wildcard rows): none on either side -> `*`; none on the route -> the listener's; otherwise each
 * intersecting pair. Sorted, without duplicates; empty means no intersection.
 */
export function computeHosts(routeHostnames: readonly string[], listenerHostname: string | undefined): string[] {
  if (routeHostnames.length === 0) return [listenerHostname ?? '*'];
  const out = new Set<string>();
  for (const r of routeHostnames) {
    const h = intersectHostname(listenerHostname, r);
    if (h !== undefined) out.add(h);
  }
  return [...out].sort();
}

/**
 * How specific a listener host name is when choosing a listener for a request (1.3): exact beats
 * wildcard beats none; a wildcard with more labels beats one with fewer.
 */
export function hostnameSpecificity(h: string | undefined): number {
  if (h === undefined || h === '*') return 0;
  if (isWildcard(h)) return 1 + h.split('.').length;
  return 1000;
}

/**
 * Listener isolation (1.3, 1.5): drops the host names that a more specific sibling listener on
 * the same port serves, so a request for them reaches only that listener's routes. Siblings are
 * the other listeners' host names (undefined for none).
 */
export function isolateHosts(hosts: readonly string[], own: string | undefined, siblings: readonly (string | undefined)[]): string[] {
  const mine = hostnameSpecificity(own);
  return hosts.filter((h) => !siblings.some((s) => s !== undefined && s !== own && hostnameSpecificity(s) > mine && covers(s, h)));
}
