import type * as ir from '../../ir/index.js';

/** Where legate itself runs: the client side of Istio's locality rules. */
export type ProxyPlacement = { locality: ir.Locality; labels: Record<string, string> };

/** The endpoints' priorities and locality weights after Istio's locality rules. */
export type LocalityPlan = {
  priorities: number[];
  /** Per endpoint, the weight of its locality (undefined when localities are not weighted). */
  localityWeights: number[] | undefined;
};

/** `region/zone/subzone`, the canonical locality string. */
export function localityKey(l: ir.Locality | undefined): string {
  return `${l?.region ?? ''}/${l?.zone ?? ''}/${l?.subZone ?? ''}`;
}

/** Parses `region/zone/subzone` (missing parts empty), as `--locality` and Istio write it. */
export function parseLocality(text: string): ir.Locality {
  const [region = '', zone = '', subZone = ''] = text.split('/');
  return { region, zone, subZone };
}

/** Istio's locality patterns: `region/zone/subzone` with a terminal `*` wildcard. */
export function localityMatches(pattern: string, l: ir.Locality | undefined): boolean {
  const parts = pattern.split('/');
  const actual = [l?.region ?? '', l?.zone ?? '', l?.subZone ?? ''];
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '*') return true;
    if (parts[i] !== actual[i]) return false;
  }
  return true;
}

/**
 * Applies an Istio localityLbSetting to a cluster's endpoints for a client at `proxy`
 * (Istio's pilot loadbalancer semantics): `distribute` weights localities; failover priorities are
 * computed only when the cluster has outlier detection; `failoverPriority` ranks by labels.
 * Without a setting (or disabled) the endpoints keep their own priorities.
 */
export function planLocality(
  endpoints: readonly ir.Endpoint[],
  setting: ir.LocalityLbSetting | undefined,
  proxy: ProxyPlacement,
  hasOutlierDetection: boolean,
): LocalityPlan {
  const own = endpoints.map((e) => e.priority);
  if (!setting || !setting.enabled) return { priorities: own, localityWeights: undefined };

  if (setting.distribute && setting.distribute.length > 0) {
    const rule = setting.distribute.find((d) => localityMatches(d.from, proxy.locality));
    if (rule) return { priorities: own, localityWeights: distributeWeights(endpoints, rule.to) };
    return { priorities: own, localityWeights: undefined };
  }
  if (!hasOutlierDetection) return { priorities: own, localityWeights: undefined };

  let raw: number[];
  if (setting.failoverPriority && setting.failoverPriority.length > 0) {
    raw = endpoints.map((e) => labelPriority(e, setting.failoverPriority!, proxy));
  } else {
    const failover = (setting.failover ?? []).find((f) => f.from === (proxy.locality.region ?? ''));
    raw = endpoints.map((e) => {
      const p = localityPriority(e.locality, proxy.locality);
      // Other regions that are not the failover target become the last resort.
      if (failover && p === 3 && (e.locality?.region ?? '') !== failover.to) return 4;
      return p;
    });
  }
  return { priorities: compact(raw), localityWeights: undefined };
}

/** 0 same region/zone/subzone, 1 same region and zone, 2 same region, 3 another region. */
function localityPriority(l: ir.Locality | undefined, proxy: ir.Locality): number {
  const region = l?.region ?? '';
  if (region !== (proxy.region ?? '')) return 3;
  if ((l?.zone ?? '') !== (proxy.zone ?? '')) return 2;
  if ((l?.subZone ?? '') !== (proxy.subZone ?? '')) return 1;
  return 0;
}

/** Istio's failoverPriority: matching all N labels gives P0, only the first N-1 P1, ... none PN. */
function labelPriority(e: ir.Endpoint, keys: readonly string[], proxy: ProxyPlacement): number {
  let matched = 0;
  for (const k of keys) {
    const eq = k.indexOf('=');
    const key = eq >= 0 ? k.slice(0, eq) : k;
    const want = eq >= 0 ? k.slice(eq + 1) : placementLabel(key, proxy.locality, proxy.labels);
    if (want === undefined || placementLabel(key, e.locality, e.labels ?? {}) !== want) break;
    matched++;
  }
  return keys.length - matched;
}

/** Locality parts are reachable under their Kubernetes / Istio label names. */
function placementLabel(key: string, l: ir.Locality | undefined, labels: Record<string, string>): string | undefined {
  switch (key) {
    case 'topology.kubernetes.io/region':
      return l?.region ?? labels[key];
    case 'topology.kubernetes.io/zone':
      return l?.zone ?? labels[key];
    case 'topology.istio.io/subzone':
      return l?.subZone ?? labels[key];
    default:
      return labels[key];
  }
}

/** Each `to` pattern's share is split across the localities it matches; unlisted localities get 0. */
function distributeWeights(endpoints: readonly ir.Endpoint[], to: Record<string, number>): number[] {
  const localities = [...new Set(endpoints.map((e) => localityKey(e.locality)))];
  const weight = new Map<string, number>();
  for (const [pattern, share] of Object.entries(to)) {
    const matching = localities.filter((k) => localityMatches(pattern, parseLocality(k)) && !weight.has(k));
    for (const k of matching) weight.set(k, share / matching.length);
  }
  return endpoints.map((e) => weight.get(localityKey(e.locality)) ?? 0);
}

/** Renumbers priorities 0..N keeping their order (Istio compacts before sending them to Envoy). */
function compact(raw: number[]): number[] {
  const levels = [...new Set(raw)].sort((a, b) => a - b);
  return raw.map((p) => levels.indexOf(p));
}
