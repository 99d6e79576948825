/**
 * BackendTrafficPolicy `spec.loadBalancer` -> the cluster's load-balancing policy and the route's
 * hash policy (config-apis.md 2.8; Envoy Gateway `buildLoadBalancer`, cluster.go).
 *
 * | type               | lbPolicy        | notes                                                    |
 * |--------------------|-----------------|----------------------------------------------------------|
 * | (no policy)        | least_request   | Envoy Gateway's default (see `egClusterDefaults`)         |
 * | LeastRequest       | least_request   | slowStart allowed                                        |
 * | RoundRobin         | round_robin     | slowStart allowed                                        |
 * | Random             | random          |                                                          |
 * | ConsistentHash     | maglev          | route hash policy from consistentHash; table 65537, prime |
 * | BackendUtilization | round_robin     | ORCA weights not applied: equal weights, as Envoy's       |
 * |                    |                 | client-side weighted round robin before any report        |
 *
 * zoneAware, endpointOverride, the Maglev table size, generated-cookie attributes and the
 * BackendUtilization tuning are recorded in the fragment with their origins; legate's IR has no
 * place for them yet, and a warning says so.
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { Cluster, LbPolicy } from '../../../ir/cluster.js';
import type { Origins } from '../../../ir/origin.js';
import type { HashPolicy } from '../../../ir/route.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { durationMs } from '../../schema/k8s.js';
import { EG_LB_TYPES, LoadBalancer, type BackendUtilization, type ConsistentHash, type ZoneAware } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn, type FeatureBlock, type Reader } from './spec-reader.js';

export { EG_HASH_TYPES, EG_LB_TYPES, isPrime } from './schema.js';
export type EgLbType = (typeof EG_LB_TYPES)[number];

export type LoadBalancerFragment = {
  /** The type as written. */
  type: EgLbType;
  /** -> `ir.Cluster.lbPolicy` */
  lbPolicy: LbPolicy;
  /** ConsistentHash -> `ir.Route.hashPolicy` */
  hashPolicy?: HashPolicy[];
  /** ConsistentHash: Maglev table size (default 65537). */
  tableSize?: number;
  /** Cookie hashing: the generated cookie's TTL and attributes. */
  cookie?: { name: string; ttlMs?: number; attributes?: Record<string, string> };
  /** -> `ir.Cluster.slowStart` */
  slowStart?: NonNullable<Cluster['slowStart']>;
  zoneAware?: {
    preferLocal?: { minEndpointsThreshold: number; percentageEnabled?: number; forceMinEndpointsInZone?: number };
    weightedZones?: { zone: string; weight: number }[];
  };
  endpointOverride?: { headers: string[] };
  backendUtilization?: {
    blackoutPeriodMs?: number;
    weightExpirationPeriodMs?: number;
    weightUpdatePeriodMs?: number;
    errorUtilizationPenaltyPercent?: number;
    metricNamesForComputingUtilization?: string[];
    /** false: Envoy Gateway removes endpoint-load-metrics(-bin) from responses. */
    keepResponseHeaders: boolean;
    outOfBand?: { port?: number; authority?: string; reportingPeriodMs?: number };
  };
  origin: Origins;
};

const LB_POLICY: Record<EgLbType, LbPolicy> = {
  ConsistentHash: 'maglev',
  LeastRequest: 'least_request',
  Random: 'random',
  RoundRobin: 'round_robin',
  BackendUtilization: 'round_robin',
  DynamicModule: ENVOY_GATEWAY.LB_POLICY,
};

type At = FeatureBlock<unknown>['at'];

export function buildLoadBalancer(btp: LoadedObject, diags: Diagnostics): LoadBalancerFragment | undefined {
  const r = reader(btp, diags, 'loadBalancer');
  const block = readFeature(r, LoadBalancer);
  if (!block) return undefined;
  const { value: lb, at } = block;
  const type = lb.type;
  const origin: Origins = { lbPolicy: manifestOrigin(r, at('type')) };
  const out: LoadBalancerFragment = { type, lbPolicy: LB_POLICY[type], origin };

  if (lb.consistentHash) buildConsistentHash(r, lb.consistentHash, (...p) => at('consistentHash', ...p), out);
  if (lb.backendUtilization) buildBackendUtilization(r, lb.backendUtilization, at('backendUtilization'), out);
  if (type === 'DynamicModule')
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      at('type'),
      "dynamic-module load balancers cannot run in legate; it balances by least request (Envoy Gateway's default)",
      'use LeastRequest, RoundRobin, Random or ConsistentHash',
    );

  if (lb.slowStart && r.ok) {
    out.slowStart = {
      windowMs: durationMs(lb.slowStart.window),
      aggression: ENVOY_GATEWAY.SLOW_START_AGGRESSION,
      minWeightPercent: ENVOY_GATEWAY.SLOW_START_MIN_WEIGHT_PERCENT,
    };
    origin['slowStart.windowMs'] = manifestOrigin(r, at('slowStart', 'window'));
    origin['slowStart.aggression'] = egDefault('ENVOY_GATEWAY.SLOW_START_AGGRESSION', 'envoy');
    origin['slowStart.minWeightPercent'] = egDefault('ENVOY_GATEWAY.SLOW_START_MIN_WEIGHT_PERCENT', 'envoy');
  }

  if (lb.zoneAware) buildZoneAware(r, lb.zoneAware, at('zoneAware'), out);

  if (lb.endpointOverride) {
    const eo = at('endpointOverride');
    out.endpointOverride = { headers: lb.endpointOverride.extractFrom.flatMap((e) => (e.header !== undefined ? [e.header] : [])) };
    origin['endpointOverride'] = manifestOrigin(r, eo);
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      eo,
      'endpointOverride (pick the host named in a request header) is recorded but not applied by legate',
      `requests are balanced by ${out.lbPolicy}`,
    );
  }
  return r.ok ? out : undefined;
}

function buildConsistentHash(r: Reader, c: ConsistentHash, at: At, out: LoadBalancerFragment): void {
  const o = out.origin;
  if (c.tableSize !== undefined) {
    out.tableSize = c.tableSize;
    o['tableSize'] = manifestOrigin(r, at('tableSize'));
  } else {
    out.tableSize = ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE;
    o['tableSize'] = egDefault('ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE');
  }
  switch (c.type) {
    case 'SourceIP':
      out.hashPolicy = [{ kind: 'source-ip' }];
      break;
    case 'Header':
      if (c.header) out.hashPolicy = [{ kind: 'header', name: c.header.name }];
      warn(r, EG_CODES.DEPRECATED, at('type'), 'consistentHash type Header is deprecated', 'use type: Headers with headers: [{name: ...}]');
      break;
    case 'Headers':
      out.hashPolicy = (c.headers ?? []).map((h) => ({ kind: 'header', name: h.name }));
      break;
    case 'QueryParams':
      out.hashPolicy = (c.queryParams ?? []).map((q) => ({ kind: 'query', name: q.name }));
      break;
    case 'Cookie': {
      const ck = c.cookie;
      if (!ck) break;
      out.hashPolicy = [{ kind: 'cookie', name: ck.name }];
      out.cookie = { name: ck.name };
      if (ck.ttl !== undefined) out.cookie.ttlMs = durationMs(ck.ttl);
      if (ck.attributes) out.cookie.attributes = { ...ck.attributes };
      if (ck.ttl !== undefined || ck.attributes)
        warn(
          r,
          EG_CODES.NOT_APPLIED,
          at('cookie'),
          'legate hashes on the cookie when the client sends it but does not generate it (ttl / attributes)',
          'have the application set the cookie',
        );
      break;
    }
  }
  if (out.hashPolicy) o['hashPolicy'] = manifestOrigin(r, at('type'));
}

function buildBackendUtilization(r: Reader, b: BackendUtilization, base: readonly (string | number)[], out: LoadBalancerFragment): void {
  const ms = (text: string | undefined) => (text === undefined ? undefined : durationMs(text));
  const bu: NonNullable<LoadBalancerFragment['backendUtilization']> = { keepResponseHeaders: b.keepResponseHeaders ?? false };
  const blackout = ms(b.blackoutPeriod);
  const expiration = ms(b.weightExpirationPeriod);
  const update = ms(b.weightUpdatePeriod);
  if (blackout !== undefined) bu.blackoutPeriodMs = blackout;
  if (expiration !== undefined) bu.weightExpirationPeriodMs = expiration;
  if (update !== undefined) bu.weightUpdatePeriodMs = update;
  if (b.errorUtilizationPenaltyPercent !== undefined) bu.errorUtilizationPenaltyPercent = b.errorUtilizationPenaltyPercent;
  if (b.metricNamesForComputingUtilization && b.metricNamesForComputingUtilization.length > 0)
    bu.metricNamesForComputingUtilization = [...b.metricNamesForComputingUtilization];
  if (b.outOfBand) {
    bu.outOfBand = {};
    const period = ms(b.outOfBand.reportingPeriod);
    if (period !== undefined) bu.outOfBand.reportingPeriodMs = period;
    if (b.outOfBand.port !== undefined) bu.outOfBand.port = b.outOfBand.port;
    if (b.outOfBand.authority !== undefined) bu.outOfBand.authority = b.outOfBand.authority;
  }
  out.backendUtilization = bu;
  out.origin['backendUtilization'] = manifestOrigin(r, base);
  out.origin['lbPolicy'] = {
    kind: 'derived',
    from: `${base.join('.')}: ORCA load reports are not read by legate; equal weights, which is round robin (Envoy's client-side weighted round robin before any report)`,
  };
  warn(
    r,
    EG_CODES.NOT_APPLIED,
    base,
    'BackendUtilization weights (ORCA load reports) are not applied by legate; it balances round robin',
    'use RoundRobin or LeastRequest',
  );
}

function buildZoneAware(r: Reader, z: ZoneAware, base: readonly (string | number)[], out: LoadBalancerFragment): void {
  const zoneAware: NonNullable<LoadBalancerFragment['zoneAware']> = {};
  const prefer = z.preferLocal;
  if (prefer) {
    const local: NonNullable<typeof zoneAware.preferLocal> = {
      minEndpointsThreshold: prefer.minEndpointsThreshold ?? ENVOY_GATEWAY.ZONE_AWARE_MIN_ENDPOINTS_THRESHOLD,
    };
    if (prefer.percentageEnabled !== undefined) local.percentageEnabled = prefer.percentageEnabled;
    if (prefer.force) local.forceMinEndpointsInZone = prefer.force.minEndpointsInZoneThreshold ?? 1;
    zoneAware.preferLocal = local;
  }
  if (z.weightedZones) zoneAware.weightedZones = z.weightedZones.map((w) => ({ zone: w.zone, weight: w.weight }));
  out.zoneAware = zoneAware;
  out.origin['zoneAware'] = manifestOrigin(r, base);
  warn(
    r,
    EG_CODES.NOT_APPLIED,
    base,
    'zone-aware routing is recorded but not applied by legate: endpoints of all zones share the traffic',
    'remove zoneAware, or run one legate per zone',
  );
}
