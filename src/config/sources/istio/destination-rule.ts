/**
 * DestinationRules (config-apis.md 3.7, 3.9): which rule applies to a host, the effective policy for
 * a port and subset (port-level settings replace the top level; a subset replaces whole blocks),
 * and that policy written onto a cluster with Istio's defaults and mappings.
 */
import type * as ir from '../../../ir/index.js';
import { ISTIO } from '../../../ir/defaults.js';
import { outlierDetectionDefaults } from '../../../ir/builders.js';
import { defaultOrigin } from '../../../ir/origin.js';
import { objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import { parseGoDuration } from '../../../common/durations.js';
import { ISTIO_CODES } from './codes.js';
import { covers, resolveShortname, specificity } from './hosts.js';
import type { ServiceRegistry } from './registry.js';
import { byAge, duration, originOf, reject, ruleCtx, type Path, type RuleCtx } from './rules.js';
import { checkSpec, DestinationRuleSpec, type PolicyBlocks, type TrafficPolicy } from './schema.js';

export type DestinationRuleEntry = {
  object: LoadedObject;
  spec: DestinationRuleSpec;
  /** Resolved host (FQDN or literal). */
  host: string;
  /** Namespaces that see it (exportTo); undefined = all. */
  visibleTo?: Set<string>;
};

type Block = keyof PolicyBlocks;
const BLOCKS: readonly Block[] = ['connectionPool', 'outlierDetection', 'loadBalancer', 'tls'];

/** The policy for one cluster: each block with the path it came from (for origins). */
export type EffectivePolicy = { [K in Block]?: { value: NonNullable<PolicyBlocks[K]>; path: Path } } & {
  retryBudget?: { value: NonNullable<TrafficPolicy['retryBudget']>; path: Path };
};

export class DestinationRules {
  readonly #entries: DestinationRuleEntry[] = [];

  constructor(objects: readonly LoadedObject[], registry: ServiceRegistry, diags: Diagnostics) {
    const drs = objects.filter((o) => o.kind === 'DestinationRule' && o.apiVersion.startsWith('networking.istio.io/')).sort(byAge);
    for (const o of drs) {
      const spec = checkSpec(o, DestinationRuleSpec, diags);
      if (!spec) continue;
      const ctx = ruleCtx(o, diags);
      let host = spec.host;
      if (!host) {
        // Istio requires spec.host. A rule without one is read as meant for the service of its
        // own name (the second seed article's DestinationRule omits the host), with a warning.
        host = o.metadata.name;
        diags.warning(
          ISTIO_CODES.DESTINATION_RULE_HOST_INFERRED,
          `${objectRef(o)} has no spec.host, which Istio requires; legate applies it to the service of the same name, ${resolveShortname(host, o.metadata.namespace)}`,
          { object: o, path: ['spec'] },
          `add "host: ${o.metadata.name}" under spec`,
        );
      }
      validateDestinationRule(ctx, spec);
      if (!ctx.ok) continue;
      if (spec.workloadSelector) {
        // Such a rule applies only to the sidecars of the selected workloads, which legate is not.
        diags.warning(
          ISTIO_CODES.NOT_APPLIED,
          `${objectRef(o)} has a workloadSelector: it applies only to the selected workloads' sidecars, and legate is not one of them; it is skipped`,
          { object: o, path: ['spec', 'workloadSelector'] },
          'remove workloadSelector to apply the rule to every client',
        );
        continue;
      }
      for (const f of ['tunnel', 'proxyProtocol'] as const)
        if (spec.trafficPolicy?.[f])
          diags.warning(ISTIO_CODES.NOT_APPLIED, `trafficPolicy.${f} is not applied by legate`, {
            object: o,
            path: ['spec', 'trafficPolicy', f],
          });
      const resolved = resolveShortname(host, o.metadata.namespace);
      const known = [...registry.services.keys()].some((h) => covers(resolved, h) || covers(h, resolved));
      if (!known)
        diags.warning(
          ISTIO_CODES.UNKNOWN_DESTINATION_RULE_HOST,
          `${objectRef(o)} is for host ${resolved}, which matches no Service or ServiceEntry; it has no effect (IST0174)`,
          { object: o, path: ['spec', 'host'] },
          'fix the host, or add the Service it is meant for',
        );
      const exportTo = spec.exportTo;
      const visibleTo =
        exportTo && !exportTo.includes('*') ? new Set(exportTo.map((e) => (e === '.' ? o.metadata.namespace : e))) : undefined;
      this.#entries.push({ object: o, spec, host: resolved, ...(visibleTo ? { visibleTo } : {}) });
    }
  }

  /**
   * The rule for a service host as a client in `clientNamespace` sees it: exact host beats the most
   * specific wildcard; the client's namespace first, then the service's, then the root namespace.
   */
  lookup(host: string, clientNamespace: string, serviceNamespace: string): DestinationRuleEntry | undefined {
    for (const ns of [clientNamespace, serviceNamespace, ISTIO.ROOT_NAMESPACE]) {
      let best: DestinationRuleEntry | undefined;
      for (const e of this.#entries) {
        if (e.object.metadata.namespace !== ns) continue;
        if (e.visibleTo && !e.visibleTo.has(clientNamespace)) continue;
        if (!covers(e.host, host)) continue;
        if (!best || specificity(e.host) > specificity(best.host)) best = e;
      }
      if (best) return best;
    }
    return undefined;
  }
}

export function subsetOf(dr: DestinationRuleEntry, name: string): { labels: Record<string, string>; index: number } | undefined {
  const i = (dr.spec.subsets ?? []).findIndex((s) => s.name === name);
  return i < 0 ? undefined : { labels: dr.spec.subsets![i]!.labels ?? {}, index: i };
}

/** MergeTrafficPolicy: port-level settings replace the top level; a subset replaces whole blocks. */
export function effectivePolicy(dr: DestinationRuleEntry, port: number, subset: string | undefined): EffectivePolicy {
  const out: EffectivePolicy = {};
  const set = (tp: PolicyBlocks | undefined, path: Path) => {
    for (const b of BLOCKS) {
      const v = tp?.[b];
      if (v !== undefined) (out as Record<string, unknown>)[b] = { value: v, path: [...path, b] };
    }
  };
  const top = dr.spec.trafficPolicy;
  const topPath: Path = ['spec', 'trafficPolicy'];
  const pl = top?.portLevelSettings?.findIndex((p) => p.port?.number === port) ?? -1;
  if (pl >= 0) set(top!.portLevelSettings![pl], [...topPath, 'portLevelSettings', pl]);
  else set(top, topPath);
  if (top?.retryBudget) out.retryBudget = { value: top.retryBudget, path: [...topPath, 'retryBudget'] };
  if (subset !== undefined) {
    const s = subsetOf(dr, subset);
    const stp = s ? dr.spec.subsets![s.index]!.trafficPolicy : undefined;
    if (s && stp) {
      const sPath: Path = ['spec', 'subsets', s.index, 'trafficPolicy'];
      const spl = stp.portLevelSettings?.findIndex((p) => p.port?.number === port) ?? -1;
      if (spl >= 0) {
        // A subset's port-level entry replaces all four blocks, even the ones it leaves unset.
        for (const b of BLOCKS) delete (out as Record<string, unknown>)[b];
        set(stp.portLevelSettings![spl], [...sPath, 'portLevelSettings', spl]);
      } else set(stp, sPath);
    }
  }
  return out;
}

/** Result of applying a policy: route-level parts a cluster cannot carry (hash policy). */
export type AppliedPolicy = { hashPolicy?: ir.HashPolicy[] };

/** Writes a DestinationRule policy onto an Istio-default cluster. */
export function applyPolicy(c: ir.Cluster, dr: DestinationRuleEntry, p: EffectivePolicy, diags: Diagnostics): AppliedPolicy {
  const o = dr.object;
  const ctx = ruleCtx(o, diags);
  const at = (path: Path, ...rest: (string | number)[]) => originOf(o, [...path, ...rest]);
  const out: AppliedPolicy = {};

  const cp = p.connectionPool;
  if (cp) {
    const { tcp, http } = cp.value;
    const cb = c.circuitBreakers;
    const pool = c.pool;
    // Istio writes user thresholds only when > 0 (0 cannot be expressed).
    const limit = (v: number | undefined, field: keyof Omit<ir.CircuitBreakers, 'origin' | 'retryBudget'>, path: Path) => {
      if (v !== undefined && v > 0) {
        cb[field] = v;
        cb.origin[field] = at(path);
      }
    };
    limit(tcp?.maxConnections, 'maxConnections', [...cp.path, 'tcp', 'maxConnections']);
    limit(http?.http1MaxPendingRequests, 'maxPendingRequests', [...cp.path, 'http', 'http1MaxPendingRequests']);
    limit(http?.http2MaxRequests, 'maxRequests', [...cp.path, 'http', 'http2MaxRequests']);
    limit(http?.maxRetries, 'maxRetries', [...cp.path, 'http', 'maxRetries']);
    const ms = (v: string | undefined, path: Path) => duration(ctx, v, path);
    const connect = ms(tcp?.connectTimeout, [...cp.path, 'tcp', 'connectTimeout']);
    if (connect !== undefined) {
      pool.connectTimeoutMs = connect;
      pool.origin.connectTimeoutMs = at(cp.path, 'tcp', 'connectTimeout');
    }
    const maxDuration = ms(tcp?.maxConnectionDuration, [...cp.path, 'tcp', 'maxConnectionDuration']);
    if (maxDuration !== undefined) {
      pool.maxConnectionDurationMs = maxDuration;
      pool.origin.maxConnectionDurationMs = at(cp.path, 'tcp', 'maxConnectionDuration');
    }
    // http.idleTimeout wins over tcp.idleTimeout; a zero tcp.idleTimeout disables (http's must be >= 1 ms).
    const idlePath = http?.idleTimeout !== undefined ? [...cp.path, 'http', 'idleTimeout'] : [...cp.path, 'tcp', 'idleTimeout'];
    const idleText = http?.idleTimeout ?? tcp?.idleTimeout;
    if (idleText !== undefined) {
      const idle = http?.idleTimeout === undefined && isZeroDuration(idleText) ? 0 : ms(idleText, idlePath);
      if (idle !== undefined) {
        pool.idleTimeoutMs = idle;
        pool.origin.idleTimeoutMs = at(idlePath);
      }
    }
    if (http?.maxRequestsPerConnection !== undefined && http.maxRequestsPerConnection > 0) {
      pool.maxRequestsPerConnection = http.maxRequestsPerConnection;
      pool.origin.maxRequestsPerConnection = at(cp.path, 'http', 'maxRequestsPerConnection');
    }
    if (http?.maxConcurrentStreams !== undefined && http.maxConcurrentStreams > 0) {
      pool.h2MaxConcurrentStreams = http.maxConcurrentStreams;
      pool.origin.h2MaxConcurrentStreams = at(cp.path, 'http', 'maxConcurrentStreams');
    }
    if (http?.useClientProtocol) {
      c.protocol = 'downstream';
      c.origin.protocol = at(cp.path, 'http', 'useClientProtocol');
    } else if (http?.h2UpgradePolicy === 'UPGRADE' && c.protocol === 'http1') {
      c.protocol = 'http2';
      c.origin.protocol = at(cp.path, 'http', 'h2UpgradePolicy');
    }
    const ka = tcp?.tcpKeepalive;
    if (ka) {
      const time = ms(ka.time, [...cp.path, 'tcp', 'tcpKeepalive', 'time']);
      const interval = ms(ka.interval, [...cp.path, 'tcp', 'tcpKeepalive', 'interval']);
      pool.tcpKeepalive = {
        ...(ka.probes !== undefined ? { probes: ka.probes } : {}),
        ...(time !== undefined ? { timeSec: Math.ceil(time / 1000) } : {}),
        ...(interval !== undefined ? { intervalSec: Math.ceil(interval / 1000) } : {}),
      };
      pool.origin.tcpKeepalive = at(cp.path, 'tcp', 'tcpKeepalive');
    }
  }

  const od = p.outlierDetection;
  if (od) {
    const v = od.value;
    const d = outlierDetectionDefaults('envoy');
    const set = <K extends keyof Omit<ir.OutlierDetection, 'origin'>>(k: K, value: ir.OutlierDetection[K], field: string) => {
      d[k] = value;
      d.origin[k] = at(od.path, field);
    };
    // Istio never enforces success rate.
    d.enforcingSuccessRate = 0;
    d.origin.enforcingSuccessRate = defaultOrigin('istio', 'outlierDetection: enforcing_success_rate 0');
    if (v.consecutive5xxErrors !== undefined) {
      set('consecutive5xx', v.consecutive5xxErrors, 'consecutive5xxErrors');
      set('enforcingConsecutive5xx', v.consecutive5xxErrors > 0 ? 100 : 0, 'consecutive5xxErrors');
    }
    if (v.consecutiveGatewayErrors !== undefined && v.consecutiveGatewayErrors > 0) {
      set('consecutiveGatewayFailure', v.consecutiveGatewayErrors, 'consecutiveGatewayErrors');
      set('enforcingConsecutiveGatewayFailure', 100, 'consecutiveGatewayErrors');
    }
    if (v.splitExternalLocalOriginErrors) {
      set('splitExternalLocalOriginErrors', true, 'splitExternalLocalOriginErrors');
      set('enforcingLocalOriginSuccessRate', 0, 'splitExternalLocalOriginErrors');
      if (v.consecutiveLocalOriginFailures !== undefined && v.consecutiveLocalOriginFailures > 0) {
        set('consecutiveLocalOriginFailure', v.consecutiveLocalOriginFailures, 'consecutiveLocalOriginFailures');
        set('enforcingConsecutiveLocalOriginFailure', 100, 'consecutiveLocalOriginFailures');
      }
    }
    const interval = duration(ctx, v.interval, [...od.path, 'interval']);
    if (interval !== undefined) set('intervalMs', interval, 'interval');
    const base = duration(ctx, v.baseEjectionTime, [...od.path, 'baseEjectionTime']);
    if (base !== undefined) set('baseEjectionTimeMs', base, 'baseEjectionTime');
    if (v.maxEjectionPercent !== undefined && v.maxEjectionPercent > 0)
      set('maxEjectionPercent', v.maxEjectionPercent, 'maxEjectionPercent');
    if (v.consecutiveErrors !== undefined)
      diags.warning(
        ISTIO_CODES.DEPRECATED,
        'outlierDetection.consecutiveErrors is deprecated and ignored',
        { object: o, path: [...od.path, 'consecutiveErrors'] },
        'use consecutive5xxErrors or consecutiveGatewayErrors',
      );
    c.outlierDetection = d;
    // Written whenever outlier detection is present; 0 turns panic mode off.
    c.healthyPanicThreshold = v.minHealthPercent ?? ISTIO.MIN_HEALTH_PERCENT;
    c.origin.healthyPanicThreshold =
      v.minHealthPercent !== undefined ? at(od.path, 'minHealthPercent') : defaultOrigin('istio', 'ISTIO.MIN_HEALTH_PERCENT');
  }

  const lb = p.loadBalancer;
  if (lb) {
    const v = lb.value;
    if (v.simple) {
      const map: Record<string, ir.LbPolicy | undefined> = {
        UNSPECIFIED: 'least_request',
        LEAST_CONN: 'least_request',
        LEAST_REQUEST: 'least_request',
        ROUND_ROBIN: 'round_robin',
        RANDOM: 'random',
      };
      const policy = map[v.simple];
      if (policy) {
        c.lbPolicy = policy;
        c.origin.lbPolicy = at(lb.path, 'simple');
      } else
        diags.warning(
          ISTIO_CODES.NOT_APPLIED,
          `loadBalancer.simple ${v.simple} sends each request to the address the client dialled, which a local proxy cannot know; legate uses LEAST_REQUEST`,
          { object: o, path: [...lb.path, 'simple'] },
        );
      if (v.simple === 'LEAST_CONN')
        diags.warning(ISTIO_CODES.DEPRECATED, 'LEAST_CONN is deprecated; it means LEAST_REQUEST', {
          object: o,
          path: [...lb.path, 'simple'],
        });
    }
    const ch = v.consistentHash;
    if (ch) {
      c.lbPolicy = ch.maglev ? 'maglev' : 'ring_hash';
      c.origin.lbPolicy = at(lb.path, 'consistentHash');
      const key: ir.HashPolicy | undefined = ch.httpHeaderName
        ? { kind: 'header', name: ch.httpHeaderName.toLowerCase() }
        : ch.httpCookie
          ? { kind: 'cookie', name: ch.httpCookie.name }
          : ch.useSourceIp
            ? { kind: 'source-ip' }
            : ch.httpQueryParameterName
              ? { kind: 'query', name: ch.httpQueryParameterName }
              : undefined;
      if (key) out.hashPolicy = [key];
      if (ch.httpCookie?.ttl !== undefined)
        diags.warning(
          ISTIO_CODES.NOT_APPLIED,
          'consistentHash.httpCookie.ttl: legate hashes on the cookie when present but does not generate it when missing (requests without it are spread at random)',
          { object: o, path: [...lb.path, 'consistentHash', 'httpCookie', 'ttl'] },
        );
      if (ch.ringHash?.minimumRingSize !== undefined || ch.minimumRingSize !== undefined || ch.maglev?.tableSize !== undefined)
        diags.warning(ISTIO_CODES.NOT_APPLIED, 'ring and table sizes are recorded but legate uses its own fixed sizes', {
          object: o,
          path: [...lb.path, 'consistentHash'],
        });
    }
    const loc = v.localityLbSetting;
    if (loc) {
      const path = [...lb.path, 'localityLbSetting'];
      c.localityLb = {
        enabled: loc.enabled ?? true,
        ...(loc.distribute ? { distribute: loc.distribute.map((d) => ({ from: d.from ?? '*', to: d.to ?? {} })) } : {}),
        ...(loc.failover ? { failover: loc.failover.map((f) => ({ from: f.from ?? '', to: f.to ?? '' })) } : {}),
        ...(loc.failoverPriority ? { failoverPriority: loc.failoverPriority } : {}),
        origin: { enabled: originOf(o, loc.enabled !== undefined ? [...path, 'enabled'] : path) },
      };
      if ((loc.failover || loc.failoverPriority) && !c.outlierDetection && loc.enabled !== false)
        diags.warning(
          ISTIO_CODES.NO_EFFECT,
          'outlier detection policy must be provided for failover: without outlierDetection Istio (and legate) does not prioritise endpoints by locality',
          { object: o, path },
          'add an outlierDetection block to the same DestinationRule',
        );
    }
    const warm = v.warmup;
    const warmDuration = warm
      ? duration(ctx, warm.duration, [...lb.path, 'warmup', 'duration'])
      : duration(ctx, v.warmupDurationSecs, [...lb.path, 'warmupDurationSecs']);
    if (warmDuration !== undefined) {
      if (c.lbPolicy === 'round_robin' || c.lbPolicy === 'least_request') {
        c.slowStart = {
          windowMs: warmDuration,
          aggression: warm?.aggression ?? ISTIO.WARMUP_AGGRESSION,
          minWeightPercent: warm?.minimumPercent ?? ISTIO.WARMUP_MINIMUM_PERCENT,
        };
        c.origin.slowStart = at(lb.path, warm ? 'warmup' : 'warmupDurationSecs');
      } else
        diags.warning(ISTIO_CODES.NO_EFFECT, 'warmup applies only to ROUND_ROBIN and LEAST_REQUEST', {
          object: o,
          path: [...lb.path, warm ? 'warmup' : 'warmupDurationSecs'],
        });
    }
  }

  const tls = p.tls;
  if (tls) {
    const mode = tls.value.mode ?? 'DISABLE';
    if (mode === 'SIMPLE') {
      c.tls = { ...(tls.value.sni ? { sni: tls.value.sni } : {}), ...(tls.value.insecureSkipVerify ? { insecureSkipVerify: true } : {}) };
      c.origin.tls = at(tls.path, 'mode');
    } else if (mode !== 'DISABLE')
      diags.warning(
        ISTIO_CODES.NOT_APPLIED,
        `tls.mode ${mode} needs workload certificates a local proxy does not have; legate connects in plaintext`,
        { object: o, path: [...tls.path, 'mode'] },
        'use mode SIMPLE for TLS to a server, or DISABLE',
      );
  }

  const rb = p.retryBudget;
  if (rb) {
    c.circuitBreakers.retryBudget = {
      budgetPercent: rb.value.percent?.value ?? 20,
      minRetryConcurrency: rb.value.minRetryConcurrency ?? 3,
    };
    c.circuitBreakers.origin.retryBudget = at(rb.path);
  }
  return out;
}

/** DestinationRule webhook rules (config-apis.md 6 #23). */
function validateDestinationRule(ctx: RuleCtx, spec: DestinationRuleSpec): void {
  const names = new Set<string>();
  (spec.subsets ?? []).forEach((s, i) => {
    if (names.has(s.name))
      reject(ctx, ['spec', 'subsets', i, 'name'], `duplicate subset names: ${s.name}`, 'give every subset its own name');
    names.add(s.name);
    if (s.trafficPolicy) validateTrafficPolicy(ctx, s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']);
  });
  if (spec.trafficPolicy) validateTrafficPolicy(ctx, spec.trafficPolicy, ['spec', 'trafficPolicy']);
}

function validateTrafficPolicy(ctx: RuleCtx, tp: TrafficPolicy, path: Path): void {
  if (
    !tp.connectionPool &&
    !tp.outlierDetection &&
    !tp.loadBalancer &&
    !tp.tls &&
    !tp.portLevelSettings &&
    !tp.tunnel &&
    !tp.proxyProtocol &&
    !tp.retryBudget
  )
    reject(ctx, path, 'traffic policy must have at least one field', 'remove the empty trafficPolicy');
  validateBlocks(ctx, tp, path);
  (tp.portLevelSettings ?? []).forEach((pl, i) => {
    const p = [...path, 'portLevelSettings', i];
    if (pl.port?.number === undefined) reject(ctx, [...p, 'port'], 'portTrafficPolicy must have valid port', 'add port: {number: N}');
    if (!pl.connectionPool && !pl.outlierDetection && !pl.loadBalancer && !pl.tls)
      reject(ctx, p, 'port traffic policy must have at least one field');
    validateBlocks(ctx, pl, p);
  });
}

function validateBlocks(ctx: RuleCtx, b: PolicyBlocks, path: Path): void {
  const cp = b.connectionPool;
  if (cp) {
    const p = [...path, 'connectionPool'];
    if (!cp.tcp && !cp.http) reject(ctx, p, 'connection pool must have at least one field');
    const neg = (v: number | undefined, field: string, what: string) => {
      if (v !== undefined && v < 0) reject(ctx, [...p, ...field.split('.')], `${what} must be non-negative`);
    };
    neg(cp.tcp?.maxConnections, 'tcp.maxConnections', 'max connections');
    neg(cp.http?.http1MaxPendingRequests, 'http.http1MaxPendingRequests', 'http1 max pending requests');
    neg(cp.http?.http2MaxRequests, 'http.http2MaxRequests', 'http2 max requests');
    neg(cp.http?.maxRequestsPerConnection, 'http.maxRequestsPerConnection', 'max requests per connection');
    neg(cp.http?.maxRetries, 'http.maxRetries', 'max retries');
    neg(cp.http?.maxConcurrentStreams, 'http.maxConcurrentStreams', 'max concurrent streams');
    if (cp.http?.useClientProtocol && cp.http.h2UpgradePolicy === 'UPGRADE')
      reject(
        ctx,
        [...p, 'http', 'useClientProtocol'],
        'use client protocol must not be true when H2UpgradePolicy is UPGRADE',
        'drop one of the two',
      );
    for (const f of ['connectTimeout', 'maxConnectionDuration'] as const) duration(ctx, cp.tcp?.[f], [...p, 'tcp', f]);
    // Only tcp.idleTimeout may be zero (it disables the timeout); http.idleTimeout must be >= 1 ms.
    if (cp.tcp?.idleTimeout !== undefined && !isZeroDuration(cp.tcp.idleTimeout))
      duration(ctx, cp.tcp.idleTimeout, [...p, 'tcp', 'idleTimeout']);
    duration(ctx, cp.http?.idleTimeout, [...p, 'http', 'idleTimeout']);
    duration(ctx, cp.tcp?.tcpKeepalive?.time, [...p, 'tcp', 'tcpKeepalive', 'time']);
    duration(ctx, cp.tcp?.tcpKeepalive?.interval, [...p, 'tcp', 'tcpKeepalive', 'interval']);
  }
  const od = b.outlierDetection;
  if (od) {
    const p = [...path, 'outlierDetection'];
    if (od.maxEjectionPercent !== undefined && (od.maxEjectionPercent < 0 || od.maxEjectionPercent > 100))
      reject(ctx, [...p, 'maxEjectionPercent'], 'max ejection percent must be in range [0..100]');
    if (od.minHealthPercent !== undefined && (od.minHealthPercent < 0 || od.minHealthPercent > 100))
      reject(ctx, [...p, 'minHealthPercent'], 'min health percent must be in range [0..100]');
    if (!od.splitExternalLocalOriginErrors && (od.consecutiveLocalOriginFailures ?? 0) > 0)
      reject(
        ctx,
        [...p, 'consecutiveLocalOriginFailures'],
        'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false',
        'set splitExternalLocalOriginErrors: true',
      );
    duration(ctx, od.interval, [...p, 'interval']);
    duration(ctx, od.baseEjectionTime, [...p, 'baseEjectionTime']);
  }
  const lb = b.loadBalancer;
  if (lb) {
    const p = [...path, 'loadBalancer'];
    const ch = lb.consistentHash;
    if (ch) {
      const keys = [ch.httpHeaderName, ch.httpCookie, ch.useSourceIp, ch.httpQueryParameterName].filter((k) => k !== undefined);
      if (keys.length !== 1)
        reject(
          ctx,
          [...p, 'consistentHash'],
          'consistent hash must set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName',
        );
      const size = ch.maglev?.tableSize;
      if (ch.maglev && !size) reject(ctx, [...p, 'consistentHash', 'maglev'], 'tableSize must be set for maglev');
      else if (size !== undefined && size >= 5_000_011)
        reject(ctx, [...p, 'consistentHash', 'maglev', 'tableSize'], 'tableSize must be less than 5000011 for maglev');
      else if (size !== undefined && !isPrime(size))
        reject(ctx, [...p, 'consistentHash', 'maglev', 'tableSize'], 'tableSize must be a prime number for maglev', 'use 65537');
      if (lb.simple) reject(ctx, p, 'only one of simple and consistentHash may be set');
    }
    if (lb.warmup && lb.warmupDurationSecs) reject(ctx, p, 'only one of warmup and warmupDurationSecs may be set');
    const warm = lb.warmup;
    if (warm) {
      if (warm.duration === undefined) reject(ctx, [...p, 'warmup', 'duration'], 'duration is required');
      else duration(ctx, warm.duration, [...p, 'warmup', 'duration']);
      if (warm.minimumPercent !== undefined && (warm.minimumPercent < 0 || warm.minimumPercent > 100))
        reject(ctx, [...p, 'warmup', 'minimumPercent'], 'minimumPercent value should be less than or equal to 100');
      if (warm.aggression !== undefined && warm.aggression < 1)
        reject(ctx, [...p, 'warmup', 'aggression'], 'aggression should be greater than or equal to 1');
    }
    const loc = lb.localityLbSetting;
    if (loc) {
      const lp = [...p, 'localityLbSetting'];
      if (loc.distribute && loc.failover) reject(ctx, lp, "can not simultaneously specify 'distribute' and 'failover'", 'keep one of them');
      if (loc.distribute && loc.failoverPriority) reject(ctx, lp, "can not simultaneously specify 'distribute' and 'failoverPriority'");
      (loc.distribute ?? []).forEach((d, i) => {
        const weights = Object.values(d.to ?? {});
        const total = weights.reduce((a, w) => a + w, 0);
        if (weights.some((w) => w < 1 || w > 100)) reject(ctx, [...lp, 'distribute', i, 'to'], 'locality weight must be in range [1, 100]');
        else if (total !== 100)
          reject(ctx, [...lp, 'distribute', i, 'to'], `total locality weight ${total} != 100`, 'make the weights add up to 100');
      });
      (loc.failover ?? []).forEach((f, i) => {
        if (f.from === f.to) reject(ctx, [...lp, 'failover', i], 'locality lb failover settings must specify different regions');
        if (f.from?.includes('/') || f.to?.includes('/') || f.from?.includes('*') || f.to?.includes('*'))
          reject(ctx, [...lp, 'failover', i], 'locality lb failover only specify region', 'name regions only, without "/" or "*"');
      });
    }
  }
}

/** A duration Go reads as under 1 ms: Istio's "0s disables" values. */
function isZeroDuration(v: string): boolean {
  const parsed = parseGoDuration(v);
  return parsed.ok && parsed.ms === 0;
}

/** Envoy's primality test for Maglev table sizes. */
function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}
