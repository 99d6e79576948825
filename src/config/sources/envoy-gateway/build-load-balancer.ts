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
import {
  EG_CODES,
  checkKnown,
  egDefault,
  fail,
  get,
  manifestOrigin,
  readArray,
  readBool,
  readDuration,
  readEnum,
  readInt,
  readObject,
  readString,
  reader,
  warn,
  type Json,
  type Path,
  type Reader,
} from './spec-reader.js';

export const EG_LB_TYPES = ['ConsistentHash', 'LeastRequest', 'Random', 'RoundRobin', 'BackendUtilization', 'DynamicModule'] as const;
export type EgLbType = (typeof EG_LB_TYPES)[number];
export const EG_HASH_TYPES = ['SourceIP', 'Header', 'Headers', 'Cookie', 'QueryParams'] as const;

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

export function buildLoadBalancer(btp: LoadedObject, diags: Diagnostics): LoadBalancerFragment | undefined {
  const r = reader(btp, diags, 'loadBalancer');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'loadBalancer', ['spec']);
  const lb = readObject(r, at.value, at.path);
  if (!lb) return undefined;
  checkKnown(r, lb, at.path, [
    'type',
    'consistentHash',
    'backendUtilization',
    'dynamicModule',
    'endpointOverride',
    'slowStart',
    'zoneAware',
  ]);

  const t = get(r, lb, 'type', at.path);
  const type = readEnum(r, t.value, t.path, EG_LB_TYPES);
  if (t.value === undefined || t.value === null)
    fail(r, t.path, 'loadBalancer.type is required', `set type to one of ${EG_LB_TYPES.slice(0, 5).join(', ')}`);
  if (!type) return undefined;
  const origin: Origins = { lbPolicy: manifestOrigin(r, t.path) };
  const out: LoadBalancerFragment = { type, lbPolicy: LB_POLICY[type], origin };
  const present = (f: { value: unknown }) => f.value !== undefined && f.value !== null;

  const ch = get(r, lb, 'consistentHash', at.path);
  const bu = get(r, lb, 'backendUtilization', at.path);
  const dm = get(r, lb, 'dynamicModule', at.path);
  const ss = get(r, lb, 'slowStart', at.path);
  const za = get(r, lb, 'zoneAware', at.path);
  if ((type === 'ConsistentHash') !== present(ch))
    fail(
      r,
      ch.path,
      'If LoadBalancer type is consistentHash, consistentHash field needs to be set.',
      'set type: ConsistentHash together with consistentHash: {type: SourceIP}',
    );
  if ((type === 'BackendUtilization') !== present(bu))
    fail(
      r,
      bu.path,
      'If LoadBalancer type is BackendUtilization, backendUtilization field needs to be set.',
      'set type: BackendUtilization together with backendUtilization: {}',
    );
  if ((type === 'DynamicModule') !== present(dm))
    fail(r, dm.path, 'If LoadBalancer type is DynamicModule, dynamicModule field needs to be set.');
  if (present(ss) && (type === 'Random' || type === 'ConsistentHash' || type === 'DynamicModule'))
    fail(
      r,
      ss.path,
      'Currently SlowStart is only supported for RoundRobin, LeastRequest, and BackendUtilization load balancers.',
      'remove slowStart or use RoundRobin / LeastRequest',
    );

  if (type === 'ConsistentHash') {
    const c = readObject(r, ch.value, ch.path);
    if (c) buildConsistentHash(r, c, ch.path, out);
  }
  if (type === 'BackendUtilization') {
    const b = readObject(r, bu.value, bu.path);
    if (b) buildBackendUtilization(r, b, bu.path, out);
  }
  if (type === 'DynamicModule')
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      t.path,
      "dynamic-module load balancers cannot run in legate; it balances by least request (Envoy Gateway's default)",
      'use LeastRequest, RoundRobin, Random or ConsistentHash',
    );

  const slow = readObject(r, ss.value, ss.path);
  if (slow && r.ok) {
    checkKnown(r, slow, ss.path, ['window']);
    const w = get(r, slow, 'window', ss.path);
    if (!present(w)) fail(r, w.path, 'slowStart.window is required', 'set the ramp-up window, such as 30s');
    const ms = readDuration(r, w.value, w.path, 'Window');
    if (ms !== undefined) {
      out.slowStart = {
        windowMs: ms,
        aggression: ENVOY_GATEWAY.SLOW_START_AGGRESSION,
        minWeightPercent: ENVOY_GATEWAY.SLOW_START_MIN_WEIGHT_PERCENT,
      };
      origin['slowStart.windowMs'] = manifestOrigin(r, w.path);
      origin['slowStart.aggression'] = egDefault('ENVOY_GATEWAY.SLOW_START_AGGRESSION', 'envoy');
      origin['slowStart.minWeightPercent'] = egDefault('ENVOY_GATEWAY.SLOW_START_MIN_WEIGHT_PERCENT', 'envoy');
    }
  }

  const zone = readObject(r, za.value, za.path);
  if (zone) buildZoneAware(r, zone, za.path, type, out);

  const eo = get(r, lb, 'endpointOverride', at.path);
  const override = readObject(r, eo.value, eo.path);
  if (override) {
    checkKnown(r, override, eo.path, ['extractFrom']);
    const ef = get(r, override, 'extractFrom', eo.path);
    const list = readArray(r, ef.value, ef.path);
    if (!list || list.length < 1 || list.length > 10)
      fail(r, ef.path, 'endpointOverride.extractFrom must have 1 to 10 entries', 'list the headers carrying IP:port');
    const headers: string[] = [];
    list?.forEach((x, i) => {
      const e = readObject(r, x, [...ef.path, i]);
      if (!e) return;
      const h = get(r, e, 'header', [...ef.path, i]);
      const name = readString(r, h.value, h.path);
      if (name !== undefined) headers.push(name);
    });
    out.endpointOverride = { headers };
    origin['endpointOverride'] = manifestOrigin(r, eo.path);
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      eo.path,
      'endpointOverride (pick the host named in a request header) is recorded but not applied by legate',
      `requests are balanced by ${out.lbPolicy}`,
    );
  }
  return r.ok ? out : undefined;
}

function buildConsistentHash(r: Reader, c: Json, base: Path, out: LoadBalancerFragment): void {
  checkKnown(r, c, base, ['type', 'header', 'headers', 'cookie', 'queryParams', 'tableSize']);
  const o = out.origin;
  // Envoy Gateway checks the table size first ("ConsistentHash: invalid TableSize value 1024").
  const ts = get(r, c, 'tableSize', base);
  if (ts.value !== undefined && ts.value !== null) {
    const size = ts.value;
    if (
      typeof size !== 'number' ||
      !Number.isInteger(size) ||
      size < 2 ||
      size > ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE_MAX ||
      !isPrime(size)
    ) {
      fail(
        r,
        ts.path,
        `ConsistentHash: invalid TableSize value ${String(size)}`,
        `use a prime from 2 to ${ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE_MAX}, such as 65537`,
      );
    } else {
      out.tableSize = size;
      o['tableSize'] = manifestOrigin(r, ts.path);
    }
  } else {
    out.tableSize = ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE;
    o['tableSize'] = egDefault('ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE');
  }
  const t = get(r, c, 'type', base);
  const type = readEnum(r, t.value, t.path, EG_HASH_TYPES);
  if (t.value === undefined || t.value === null)
    fail(r, t.path, 'consistentHash.type is required', `set type to one of ${EG_HASH_TYPES.join(', ')}`);
  const need = (key: string, hashType: string) => {
    const f = get(r, c, key, base);
    const has = f.value !== undefined && f.value !== null;
    if ((type === hashType) !== has)
      fail(
        r,
        f.path,
        `If consistent hash type is ${key}, the ${key} field must be set.`,
        has ? `remove ${key} or set type: ${hashType}` : `add ${key}`,
      );
    return f;
  };
  const h = need('header', 'Header');
  const hs = need('headers', 'Headers');
  const ck = need('cookie', 'Cookie');
  const qp = need('queryParams', 'QueryParams');
  const names = (f: { value: unknown; path: Path }): string[] => {
    const list = readArray(r, f.value, f.path) ?? [];
    const res: string[] = [];
    list.forEach((x, i) => {
      const e = readObject(r, x, [...f.path, i]);
      if (!e) return;
      const n = get(r, e, 'name', [...f.path, i]);
      const name = readString(r, n.value, n.path);
      if (name === undefined || name === '') fail(r, n.path, 'name is required');
      else res.push(name);
    });
    return res;
  };
  switch (type) {
    case 'SourceIP':
      out.hashPolicy = [{ kind: 'source-ip' }];
      break;
    case 'Header': {
      const e = readObject(r, h.value, h.path);
      const n = e ? get(r, e, 'name', h.path) : undefined;
      const name = n ? readString(r, n.value, n.path) : undefined;
      if (n && (name === undefined || name === '')) fail(r, n.path, 'header.name is required');
      if (name) out.hashPolicy = [{ kind: 'header', name }];
      warn(r, EG_CODES.DEPRECATED, t.path, 'consistentHash type Header is deprecated', 'use type: Headers with headers: [{name: ...}]');
      break;
    }
    case 'Headers':
      out.hashPolicy = names(hs).map((name) => ({ kind: 'header', name }));
      break;
    case 'QueryParams':
      out.hashPolicy = names(qp).map((name) => ({ kind: 'query', name }));
      break;
    case 'Cookie': {
      const e = readObject(r, ck.value, ck.path);
      if (!e) break;
      checkKnown(r, e, ck.path, ['name', 'ttl', 'attributes']);
      const n = get(r, e, 'name', ck.path);
      const name = readString(r, n.value, n.path);
      if (name === undefined || name === '') fail(r, n.path, 'cookie.name is required');
      const tt = get(r, e, 'ttl', ck.path);
      const ttl = readDuration(r, tt.value, tt.path, 'TTL');
      const at = get(r, e, 'attributes', ck.path);
      const attrs = readObject(r, at.value, at.path);
      if (name) {
        out.hashPolicy = [{ kind: 'cookie', name }];
        out.cookie = { name };
        if (ttl !== undefined) out.cookie.ttlMs = ttl;
        if (attrs) out.cookie.attributes = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)]));
        if (ttl !== undefined || attrs)
          warn(
            r,
            EG_CODES.NOT_APPLIED,
            ck.path,
            'legate hashes on the cookie when the client sends it but does not generate it (ttl / attributes)',
            'have the application set the cookie',
          );
      }
      break;
    }
  }
  if (out.hashPolicy) o['hashPolicy'] = manifestOrigin(r, t.path);
}

function buildBackendUtilization(r: Reader, b: Json, base: Path, out: LoadBalancerFragment): void {
  checkKnown(r, b, base, [
    'blackoutPeriod',
    'weightExpirationPeriod',
    'weightUpdatePeriod',
    'errorUtilizationPenaltyPercent',
    'metricNamesForComputingUtilization',
    'keepResponseHeaders',
    'outOfBand',
  ]);
  const dur = (key: string, name: string) => {
    const f = get(r, b, key, base);
    return readDuration(r, f.value, f.path, name);
  };
  const bu: NonNullable<LoadBalancerFragment['backendUtilization']> = { keepResponseHeaders: false };
  const blackout = dur('blackoutPeriod', 'BlackoutPeriod');
  const expiration = dur('weightExpirationPeriod', 'WeightExpirationPeriod');
  const update = dur('weightUpdatePeriod', 'WeightUpdatePeriod');
  if (blackout !== undefined) bu.blackoutPeriodMs = blackout;
  if (expiration !== undefined) bu.weightExpirationPeriodMs = expiration;
  if (update !== undefined) bu.weightUpdatePeriodMs = update;
  const pen = get(r, b, 'errorUtilizationPenaltyPercent', base);
  const penalty = readInt(r, pen.value, pen.path, { min: 0, max: 4_294_967_295 });
  if (penalty !== undefined) bu.errorUtilizationPenaltyPercent = penalty;
  const mn = get(r, b, 'metricNamesForComputingUtilization', base);
  const metrics = readArray(r, mn.value, mn.path);
  if (metrics && metrics.length > 0) bu.metricNamesForComputingUtilization = metrics.map(String);
  const kr = get(r, b, 'keepResponseHeaders', base);
  bu.keepResponseHeaders = readBool(r, kr.value, kr.path) ?? false;
  const ob = get(r, b, 'outOfBand', base);
  const oob = readObject(r, ob.value, ob.path);
  if (oob) {
    checkKnown(r, oob, ob.path, ['reportingPeriod', 'port', 'authority']);
    bu.outOfBand = {};
    const rp = get(r, oob, 'reportingPeriod', ob.path);
    const period = readDuration(r, rp.value, rp.path, 'OutOfBand ReportingPeriod');
    if (period === 0) fail(r, rp.path, 'reportingPeriod must be greater than 0');
    else if (period !== undefined) bu.outOfBand.reportingPeriodMs = period;
    const po = get(r, oob, 'port', ob.path);
    const port = readInt(r, po.value, po.path, { min: 1, max: 65_535 });
    if (port !== undefined) bu.outOfBand.port = port;
    const au = get(r, oob, 'authority', ob.path);
    const authority = readString(r, au.value, au.path);
    if (authority !== undefined) bu.outOfBand.authority = authority;
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

function buildZoneAware(r: Reader, z: Json, base: Path, type: EgLbType, out: LoadBalancerFragment): void {
  checkKnown(r, z, base, ['preferLocal', 'weightedZones']);
  const pl = get(r, z, 'preferLocal', base);
  const wz = get(r, z, 'weightedZones', base);
  const prefer = readObject(r, pl.value, pl.path);
  const weighted = readArray(r, wz.value, wz.path);
  if (prefer && weighted)
    fail(r, base, 'ZoneAware PreferLocal and WeightedZones cannot be specified together.', 'keep one of preferLocal and weightedZones');
  if (prefer && type === 'ConsistentHash')
    fail(r, pl.path, 'PreferLocal zone-aware routing is not supported for ConsistentHash load balancers. Use weightedZones instead.');
  if (prefer && type === 'BackendUtilization')
    fail(
      r,
      pl.path,
      'PreferLocal zone-aware routing is not currently supported for BackendUtilization load balancers. Only WeightedZones can be used with BackendUtilization.',
    );
  if (type === 'DynamicModule') fail(r, base, 'ZoneAware routing is not supported for DynamicModule load balancers.');
  const zoneAware: NonNullable<LoadBalancerFragment['zoneAware']> = {};
  if (prefer) {
    checkKnown(r, prefer, pl.path, ['force', 'minEndpointsThreshold', 'percentageEnabled']);
    const m = get(r, prefer, 'minEndpointsThreshold', pl.path);
    const min = readInt(r, m.value, m.path, { min: 0, max: Number.MAX_SAFE_INTEGER });
    const p = get(r, prefer, 'percentageEnabled', pl.path);
    const pct = readInt(r, p.value, p.path, { min: 0, max: 100 });
    const f = get(r, prefer, 'force', pl.path);
    const force = readObject(r, f.value, f.path);
    const local: NonNullable<typeof zoneAware.preferLocal> = {
      minEndpointsThreshold: min ?? ENVOY_GATEWAY.ZONE_AWARE_MIN_ENDPOINTS_THRESHOLD,
    };
    if (pct !== undefined) local.percentageEnabled = pct;
    if (force) {
      const fm = get(r, force, 'minEndpointsInZoneThreshold', f.path);
      local.forceMinEndpointsInZone = readInt(r, fm.value, fm.path, { min: 0, max: 4_294_967_295 }) ?? 1;
    }
    zoneAware.preferLocal = local;
  }
  if (weighted) {
    zoneAware.weightedZones = [];
    weighted.forEach((x, i) => {
      const e = readObject(r, x, [...wz.path, i]);
      if (!e) return;
      const zn = get(r, e, 'zone', [...wz.path, i]);
      const wt = get(r, e, 'weight', [...wz.path, i]);
      const zoneName = readString(r, zn.value, zn.path);
      const weight = readInt(r, wt.value, wt.path, { min: 0, max: 4_294_967_295 });
      if (zoneName === undefined) fail(r, zn.path, 'zone is required');
      if (weight === undefined && (wt.value === undefined || wt.value === null)) fail(r, wt.path, 'weight is required');
      if (zoneName !== undefined && weight !== undefined) zoneAware.weightedZones!.push({ zone: zoneName, weight });
    });
  }
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

/** Deterministic primality for table sizes (at most 5 000 011). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) if (n % i === 0) return false;
  return true;
}
