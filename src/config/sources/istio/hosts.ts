/**
 * Istio host names (config-apis.md 3.1): short names resolve against the namespace of the object
 * that wrote them; names with a dot, `*` and IPs are literal; `*.suffix` matches by suffix.
 */
export const DOMAIN_SUFFIX = 'cluster.local';

export function resolveShortname(host: string, namespace: string): string {
  if (host === '*' || host.includes('.') || host.includes(':')) return host;
  return `${host}.${namespace}.svc.${DOMAIN_SUFFIX}`;
}

/** Istio's host.Name.Matches: does `a` cover `b` or `b` cover `a` (wildcards on either side)? */
export function hostsMatch(a: string, b: string): boolean {
  return covers(a, b) || covers(b, a);
}

/** Does pattern `p` (exact, `*` or `*.suffix`) cover every name `h` covers? */
export function covers(p: string, h: string): boolean {
  if (p === '*') return true;
  if (p.startsWith('*.')) {
    const suffix = p.slice(1);
    if (h.startsWith('*.')) return h.slice(1).endsWith(suffix);
    return h.endsWith(suffix) && h.length > suffix.length;
  }
  return p === h;
}

/** Higher is more specific: exact names beat wildcards, longer suffixes beat shorter. */
export function specificity(h: string): number {
  if (h === '*') return 0;
  if (h.startsWith('*.')) return h.length;
  return 1_000_000 + h.length;
}

/**
 * Domains a sidecar serves for a Kubernetes service (Istio's generateVirtualHostDomains): the FQDN
 * and its shorter forms, the bare name only from the service's own namespace. Ports are not
 * needed: legate's virtual-host match ignores the port of the Host header.
 */
export function serviceDomains(fqdn: string, clientNamespace: string): string[] {
  const suffix = `.svc.${DOMAIN_SUFFIX}`;
  if (!fqdn.endsWith(suffix)) return [fqdn];
  const [name, ns] = fqdn.slice(0, -suffix.length).split('.');
  if (!name || !ns) return [fqdn];
  const out = [fqdn, `${name}.${ns}.svc`, `${name}.${ns}`];
  if (ns === clientNamespace) out.push(name);
  return out;
}

/** `region/zone/subzone` (any part may be empty) as an IR locality. */
export function parseIstioLocality(s: string | undefined): { region?: string; zone?: string; subZone?: string } | undefined {
  if (!s) return undefined;
  const [region, zone, subZone] = s.split('/');
  const out: { region?: string; zone?: string; subZone?: string } = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.subZone = subZone;
  return Object.keys(out).length > 0 ? out : undefined;
}
