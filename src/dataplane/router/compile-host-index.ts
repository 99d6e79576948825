/**
 * Virtual-host selection by Host / :authority with Envoy's domain semantics: the port is ignored,
 * names compare case-insensitively, and the order is exact name, then the longest `*.suffix`
 * wildcard, then `*`. `*.example.com` matches `a.example.com` and `a.b.example.com` but not
 * `example.com`.
 *
 * Lookups are Map hits: one for the exact name, then one per label of the host for wildcards
 * (longest suffix first), skipping suffixes longer than any configured wildcard.
 */

export type HostIndex<V> = {
  /** The value for a Host / :authority header; undefined when nothing matches. */
  select(authority: string | undefined): V | undefined;
};

export function compileHostIndex<V>(entries: readonly { readonly domains: readonly string[]; readonly value: V }[]): HostIndex<V> {
  const exact = new Map<string, V>();
  // Keyed by the suffix including its leading dot: `*.example.com` -> `.example.com`.
  const suffixes = new Map<string, V>();
  let any: V | undefined;
  let maxSuffix = 0;
  for (const { domains, value } of entries) {
    for (const d of domains) {
      const domain = hostOfAuthority(d.trim(), true);
      // The first virtual host that claims a domain keeps it (ir/validate reports duplicates).
      if (domain === '*') {
        any ??= value;
      } else if (domain.startsWith('*.')) {
        const suffix = domain.slice(1);
        if (!suffixes.has(suffix)) suffixes.set(suffix, value);
        maxSuffix = Math.max(maxSuffix, suffix.length);
      } else if (domain !== '' && !exact.has(domain)) {
        exact.set(domain, value);
      }
    }
  }

  const select = (authority: string | undefined): V | undefined => {
    // No Host at all (HTTP/1.0): only `*` can match, as in Envoy.
    if (authority === undefined || authority === '') return any;
    const host = hostOfAuthority(authority, true);
    const hit = exact.get(host);
    if (hit !== undefined) return hit;
    if (suffixes.size > 0) {
      // Dots from the left give suffixes from the longest; index 0 is skipped so the wildcard
      // always covers at least one character.
      for (let dot = host.indexOf('.', 1); dot > 0; dot = host.indexOf('.', dot + 1)) {
        if (host.length - dot > maxSuffix) continue;
        const v = suffixes.get(host.slice(dot));
        if (v !== undefined) return v;
      }
    }
    return any;
  };
  return { select };
}

/**
 * The host part of an authority: `example.com:8080` -> `example.com`, `[::1]:80` -> `[::1]`.
 * A bare IPv6 address (several colons, no brackets) has no port to strip. With `lower`, ASCII
 * upper-case is folded, allocating only when there is some.
 */
export function hostOfAuthority(authority: string, lower = false): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = authority.indexOf(':');
    if (colon >= 0 && authority.indexOf(':', colon + 1) < 0) end = colon;
  }
  const host = end === authority.length ? authority : authority.slice(0, end);
  return lower && hasAsciiUpper(host) ? host.toLowerCase() : host;
}

/** The port of an authority, or undefined when it has none (or an invalid one). */
export function portOfAuthority(authority: string): number | undefined {
  let colon: number;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    if (close < 0 || authority.charCodeAt(close + 1) !== 58 /* : */) return undefined;
    colon = close + 1;
  } else {
    colon = authority.indexOf(':');
    if (colon < 0 || authority.indexOf(':', colon + 1) >= 0) return undefined;
  }
  const text = authority.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function hasAsciiUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}
