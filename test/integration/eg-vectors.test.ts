/**
 * Replays Envoy Gateway's BackendTrafficPolicy translation cases (../shared/conformance/envoy-gateway)
 * through legate's builders and precedence: for every IR route a case lists, the resolved retry,
 * timeout, circuit-breaker, health-check, fault, load-balancer and TCP keepalive settings, the
 * applied policies and the 500 direct responses; for every policy, its status conditions (which
 * covers the rejected policies). Values are compared resolved: Envoy Gateway's IR leaves defaults
 * out, so the expected side gets Envoy Gateway's defaults filled in (written out here, independently
 * of the builders) and legate's side is read from its IR fragments.
 *
 * The case inputs are read from ../shared at run time; the test is skipped when it is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseGoDuration } from '../../src/common/durations.js';
import { Diagnostics, type LoadedObject } from '../../src/config/model.js';
import type { TrafficFeatures } from '../../src/config/sources/envoy-gateway/build-traffic-features.js';
import { toRanges } from '../../src/config/sources/envoy-gateway/build-health-check.js';
import {
  resolveBackendTrafficPolicies,
  type AttachmentWorld,
  type PolicyStatus,
  type RouteKind,
  type RouteParent,
  type TrafficTarget,
  type WorldRoute,
} from '../../src/config/sources/envoy-gateway/precedence.js';

/** Cases that must keep matching; raise it when more match. */
const FLOOR = 65;

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}
const VECTORS = join(repoRoot(), '..', 'shared', 'conformance', 'envoy-gateway');

// ---------------------------------------------------------------- loading

const list = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);

function loaded(o: J, file: string): LoadedObject {
  const md = (o['metadata'] ?? {}) as J;
  const pos = { file, line: 1, column: 1 };
  return {
    apiVersion: String(o['apiVersion'] ?? ''),
    kind: String(o['kind'] ?? ''),
    metadata: {
      name: String(md['name'] ?? ''),
      namespace: String(md['namespace'] ?? 'default'),
      labels: (md['labels'] ?? {}) as Record<string, string>,
      annotations: (md['annotations'] ?? {}) as Record<string, string>,
      ...(md['creationTimestamp'] ? { creationTimestamp: String(md['creationTimestamp']) } : {}),
    },
    body: o,
    pos,
    posOf: () => pos,
  };
}

const ROUTE_KEYS: [string, RouteKind][] = [
  ['httpRoutes', 'HTTPRoute'],
  ['grpcRoutes', 'GRPCRoute'],
  ['tcpRoutes', 'TCPRoute'],
  ['udpRoutes', 'UDPRoute'],
  ['tlsRoutes', 'TLSRoute'],
];
const ROUTE_PROTOCOLS: Record<RouteKind, string[]> = {
  HTTPRoute: ['HTTP', 'HTTPS'],
  GRPCRoute: ['HTTP', 'HTTPS'],
  TCPRoute: ['TCP'],
  UDPRoute: ['UDP'],
  TLSRoute: ['TLS'],
};

type Listener = { name: string; protocol: string; namespace: string; from: string };

/** The world as a minimal stand-in for the Gateway API translator: parentRefs, protocols and allowedRoutes namespaces. */
function buildWorld(doc: J): AttachmentWorld {
  const gwListeners = new Map<string, Listener[]>();
  const world: AttachmentWorld = { gateways: [], listenerSets: [], routes: [] };
  for (const g of list(doc['gateways'])) {
    const ns = g['metadata']?.['namespace'] ?? 'default';
    const ls: Listener[] = list(g['spec']?.['listeners']).map((l) => ({
      name: l['name'],
      protocol: l['protocol'],
      namespace: ns,
      from: l['allowedRoutes']?.['namespaces']?.['from'] ?? 'Same',
    }));
    gwListeners.set(`${ns}/${g['metadata']['name']}`, ls);
    world.gateways.push({
      namespace: ns,
      name: g['metadata']['name'],
      labels: g['metadata']['labels'] ?? {},
      listeners: ls.map((l) => l.name),
    });
  }
  const lsListeners = new Map<string, Listener[]>();
  for (const s of list(doc['listenerSets'])) {
    const ns = s['metadata']?.['namespace'] ?? 'default';
    const ls: Listener[] = list(s['spec']?.['listeners']).map((l) => ({
      name: l['name'],
      protocol: l['protocol'],
      namespace: ns,
      from: l['allowedRoutes']?.['namespaces']?.['from'] ?? 'Same',
    }));
    lsListeners.set(`${ns}/${s['metadata']['name']}`, ls);
    const parent = s['spec']?.['parentRef'] ?? {};
    world.listenerSets!.push({
      namespace: ns,
      name: s['metadata']['name'],
      labels: s['metadata']['labels'] ?? {},
      gateway: { namespace: parent['namespace'] ?? ns, name: parent['name'] },
      listeners: ls.map((l) => l.name),
    });
  }
  for (const [key, kind] of ROUTE_KEYS) {
    for (const r of list(doc[key])) {
      const ns = r['metadata']?.['namespace'] ?? 'default';
      const parents: RouteParent[] = [];
      for (const p of list(r['spec']?.['parentRefs'])) {
        const pkind = p['kind'] ?? 'Gateway';
        if (pkind !== 'Gateway' && pkind !== 'ListenerSet') continue;
        const pns = p['namespace'] ?? ns;
        const candidates = (pkind === 'Gateway' ? gwListeners : lsListeners).get(`${pns}/${p['name']}`);
        if (!candidates) continue;
        const listeners = candidates
          .filter((l) => (p['sectionName'] ? l.name === p['sectionName'] : true))
          .filter((l) => ROUTE_PROTOCOLS[kind].includes(l.protocol))
          .filter((l) => l.from === 'All' || l.from === 'Selector' || l.namespace === ns)
          .map((l) => l.name);
        parents.push({
          kind: pkind,
          namespace: pns,
          name: p['name'],
          ...(p['sectionName'] ? { sectionName: p['sectionName'] } : {}),
          listeners,
        });
      }
      const route: WorldRoute = {
        kind,
        namespace: ns,
        name: r['metadata']['name'],
        labels: r['metadata']['labels'] ?? {},
        ruleNames: list(r['spec']?.['rules']).map((x) => x['name'] as string | undefined),
        parents,
      };
      world.routes.push(route);
    }
  }
  return world;
}

const KIND_BY_PREFIX: Record<string, RouteKind> = {
  httproute: 'HTTPRoute',
  grpcroute: 'GRPCRoute',
  tcproute: 'TCPRoute',
  udproute: 'UDPRoute',
  tlsroute: 'TLSRoute',
};

function targetOf(r: J, world: AttachmentWorld): TrafficTarget {
  const parts = String(r['route']).split('/');
  const kind = KIND_BY_PREFIX[parts[0]!]!;
  const route = { kind, namespace: parts[1]!, name: parts[2]! };
  const ruleIndex = parts[3] === 'rule' ? Number(parts[4]) : 0;
  const ruleName = world.routes.find((w) => w.kind === kind && w.namespace === route.namespace && w.name === route.name)?.ruleNames[
    ruleIndex
  ];
  // The IR listener name is `ns/gateway/listener`, or `ns/gateway/lsNamespace/listenerSet/listener`
  // (the IR key itself is the GatewayClass name when Gateways are merged).
  const [gwNs, gwName, ...rest] = String(r['listener']).split('/');
  const target: TrafficTarget = {
    route,
    ruleIndex,
    ...(ruleName !== undefined ? { ruleName } : {}),
    gateway: { namespace: gwNs!, name: gwName! },
    listener: rest[rest.length - 1]!,
    protocol: r['protocol'],
  };
  if (rest.length === 3) target.listenerSet = { namespace: rest[0]!, name: rest[1]! };
  return target;
}

// ---------------------------------------------------------------- resolved shapes

const go = (v: unknown): number | undefined => {
  if (v === undefined || v === null) return undefined;
  const d = parseGoDuration(String(v));
  return d.ok ? d.ms : NaN;
};
const hex = (p: J | undefined): string | null =>
  !p
    ? null
    : p['text'] !== undefined
      ? Buffer.from(String(p['text'])).toString('hex')
      : p['binary'] !== undefined
        ? Buffer.from(String(p['binary']), 'base64').toString('hex')
        : '';
const EG_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

/** Envoy Gateway IR outcome -> resolved values, with Envoy Gateway's defaults (config-apis.md 2.3-2.9). */
const expected = {
  retry(e: J) {
    const base = go(e['perRetry']?.['backOff']?.['baseInterval']) ?? 25;
    return {
      numRetries: e['numRetries'] ?? 2,
      retryOn: [...(e['retryOn']?.['triggers']?.length ? e['retryOn']['triggers'] : EG_RETRY_ON)].sort(),
      codes: e['retryOn'] ? [...(e['retryOn']['httpStatusCodes'] ?? [])].sort() : [503],
      perTryMs: go(e['perRetry']?.['timeout']) ?? 0,
      backoff: [base, go(e['perRetry']?.['backOff']?.['maxInterval']) ?? base * 10],
      perPriority: e['numAttemptsPerPriority'] > 0 ? e['numAttemptsPerPriority'] : 0,
      previousHosts: true,
      hostSelectionMaxAttempts: 5,
    };
  },
  timeout(e: J) {
    const h = e['http'] ?? {};
    const req = go(h['requestTimeout']);
    const hasRoute = req !== undefined || h['maxStreamDuration'] != null || h['streamIdleTimeout'] != null;
    const idle = go(h['streamIdleTimeout']) ?? (req !== undefined ? (req === 0 ? 0 : Math.max(3_600_000, req)) : null);
    return {
      connectMs: go(e['tcp']?.['connectTimeout']) ?? 10_000,
      idleMs: go(h['connectionIdleTimeout']) ?? 3_600_000,
      maxConnectionMs: go(h['maxConnectionDuration']) ?? 0,
      route: hasRoute ? { requestMs: req ?? 15_000, maxStreamMs: go(h['maxStreamDuration']) ?? null, idleMs: idle } : null,
    };
  },
  circuitBreaker(e: J) {
    return {
      maxConnections: e['maxConnections'] ?? 1024,
      maxPendingRequests: e['maxPendingRequests'] ?? 1024,
      maxRequests: e['maxParallelRequests'] ?? 1024,
      maxRetries: e['maxParallelRetries'] ?? 1024,
      maxRequestsPerConnection: e['maxRequestsPerConnection'] ?? 0,
      retryBudget: e['retryBudget'] ? [e['retryBudget']['percent'], e['retryBudget']['minRetryConcurrency'] ?? 3] : null,
      perEndpoint: e['perEndpoint']?.['maxConnections'] ?? null,
    };
  },
  healthCheck(e: J) {
    const a = e['active'];
    const p = e['passive'];
    const kind = a ? (a['grpc'] ? 'grpc' : a['tcp'] ? 'tcp' : 'http') : null;
    return {
      panic: e['panicThreshold'] ?? null,
      active: a
        ? {
            kind,
            timeoutMs: go(a['timeout']) ?? 1000,
            intervalMs: go(a['interval']) ?? 3000,
            unhealthy: a['unhealthyThreshold'] ?? 3,
            healthy: a['healthyThreshold'] ?? 1,
            initialJitterMs: go(a['initialJitter']) ?? null,
            http:
              kind === 'http'
                ? {
                    path: a['http']['path'],
                    host: a['http']['host'] || null,
                    method: a['http']['method'] ?? 'GET',
                    expected: toRanges(a['http']['expectedStatuses'] ?? [200]),
                    retriable: a['http']['retriableStatuses'] ? toRanges(a['http']['retriableStatuses']) : null,
                    expectedResponse: hex(a['http']['expectedResponse']),
                    requestBody: hex(a['http']['requestBody']),
                  }
                : null,
            tcp: kind === 'tcp' ? { send: hex(a['tcp']['send']), receive: hex(a['tcp']['receive']) } : null,
            grpc: kind === 'grpc' ? { service: a['grpc']['service'] ?? '' } : null,
            port: a['overrides']?.['port'] ?? null,
          }
        : null,
      passive: p
        ? {
            intervalMs: go(p['interval']) ?? 3000,
            consecutive5xx: p['consecutive5XxErrors'] ?? 5,
            consecutiveGateway: p['consecutiveGatewayErrors'] ?? null,
            consecutiveLocal: p['consecutiveLocalOriginFailures'] ?? 5,
            baseEjectionMs: go(p['baseEjectionTime']) ?? 30_000,
            maxEjectionPercent: p['maxEjectionPercent'] > 0 ? p['maxEjectionPercent'] : 10,
            split: p['splitExternalLocalOriginErrors'] ?? false,
            failurePercentage: p['failurePercentageThreshold'] ?? null,
            alwaysEjectOne: p['alwaysEjectOneEndpoint'] ?? false,
          }
        : null,
    };
  },
  faultInjection(e: J) {
    const num = (p: number | undefined) => Math.round((p ?? 100) * 10_000);
    return {
      delay: e['delay'] ? { ms: go(e['delay']['fixedDelay']), percent: num(e['delay']['percentage']) } : null,
      abort: e['abort']
        ? {
            httpStatus: e['abort']['httpStatus'] ?? null,
            grpcStatus: e['abort']['grpcStatus'] ?? null,
            percent: num(e['abort']['percentage']),
          }
        : null,
    };
  },
  loadBalancer(e: J) {
    const ch = e['consistentHash'];
    const type = ch ? 'maglev' : e['leastRequest'] ? 'least_request' : e['random'] ? 'random' : 'round_robin';
    const slow = (e['leastRequest'] ?? e['roundRobin'] ?? e['backendUtilization'])?.['slowStart']?.['window'];
    let hash: J[] | null = null;
    if (ch?.['sourceIP']) hash = [{ kind: 'source-ip' }];
    else if (ch?.['headers']) hash = ch['headers'].map((h: J) => ({ kind: 'header', name: h['name'] }));
    else if (ch?.['cookie']) hash = [{ kind: 'cookie', name: ch['cookie']['name'] }];
    else if (ch?.['queryParams']) hash = ch['queryParams'].map((q: J) => ({ kind: 'query', name: q['name'] }));
    const bu = e['backendUtilization'];
    return {
      lbPolicy: type,
      hash,
      tableSize: ch ? (ch['tableSize'] ?? 65_537) : null,
      slowStartMs: go(slow) ?? null,
      weightedZones: e['weightedZones'] ?? null,
      preferLocal: e['preferLocal']
        ? [
            e['preferLocal']['minEndpointsThreshold'] ?? 6,
            e['preferLocal']['percentageEnabled'] ?? null,
            e['preferLocal']['force']?.['minEndpointsInZoneThreshold'] ?? null,
          ]
        : null,
      endpointOverride: e['endpointOverride'] ? e['endpointOverride']['extractFrom'].map((x: J) => x['header']) : null,
      backendUtilization: bu
        ? {
            blackoutMs: go(bu['blackoutPeriod']) ?? null,
            expirationMs: go(bu['weightExpirationPeriod']) ?? null,
            updateMs: go(bu['weightUpdatePeriod']) ?? null,
            penalty: bu['errorUtilizationPenaltyPercent'] ?? null,
            metrics: bu['metricNamesForComputingUtilization'] ?? null,
            keep: bu['keepResponseHeaders'] ?? false,
            oob: bu['outOfBand']
              ? {
                  port: bu['outOfBand']['port'] ?? null,
                  authority: bu['outOfBand']['authority'] ?? null,
                  periodMs: go(bu['outOfBand']['reportingPeriod']) ?? null,
                }
              : null,
          }
        : null,
    };
  },
  tcpKeepalive(e: J) {
    return { probes: e['probes'] ?? 9, timeSec: e['idleTime'] ?? 7200, intervalSec: e['interval'] ?? 75 };
  },
};

/** legate's IR fragments -> the same resolved shapes. */
const actual = {
  retry(f: NonNullable<TrafficFeatures['retry']>) {
    return {
      numRetries: f.numRetries,
      retryOn: [...f.retryOn].sort(),
      codes: [...f.retriableStatusCodes].sort(),
      perTryMs: f.perTryTimeoutMs,
      backoff: [f.backoff.baseIntervalMs, f.backoff.maxIntervalMs],
      perPriority: f.retryPriority?.updateFrequency ?? 0,
      previousHosts: f.previousHosts,
      hostSelectionMaxAttempts: f.hostSelectionRetryMaxAttempts,
    };
  },
  timeout(f: NonNullable<TrafficFeatures['timeout']>) {
    return {
      connectMs: f.pool.connectTimeoutMs ?? 10_000,
      idleMs: f.pool.idleTimeoutMs ?? 3_600_000,
      maxConnectionMs: f.pool.maxConnectionDurationMs ?? 0,
      route: f.route
        ? { requestMs: f.route.requestMs, maxStreamMs: f.route.maxStreamDuration?.maxMs ?? null, idleMs: f.route.idleMs ?? null }
        : null,
    };
  },
  circuitBreaker(f: NonNullable<TrafficFeatures['circuitBreaker']>) {
    const c = f.circuitBreakers;
    return {
      maxConnections: c.maxConnections,
      maxPendingRequests: c.maxPendingRequests,
      maxRequests: c.maxRequests,
      maxRetries: c.maxRetries,
      maxRequestsPerConnection: f.pool?.maxRequestsPerConnection ?? 0,
      retryBudget: c.retryBudget ? [c.retryBudget.budgetPercent, c.retryBudget.minRetryConcurrency] : null,
      perEndpoint: f.perEndpoint?.maxConnections ?? null,
    };
  },
  healthCheck(f: NonNullable<TrafficFeatures['healthCheck']>) {
    const a = f.healthChecks?.[0];
    const x = f.activeExtras;
    const o = f.outlierDetection;
    return {
      panic: f.healthyPanicThreshold ?? null,
      active: a
        ? {
            kind: a.kind,
            timeoutMs: a.timeoutMs,
            intervalMs: a.intervalMs,
            unhealthy: a.unhealthyThreshold,
            healthy: a.healthyThreshold,
            initialJitterMs: x?.initialJitterMs ?? null,
            http: a.http
              ? {
                  path: a.http.path,
                  host: a.http.host ?? null,
                  method: x?.method ?? 'GET',
                  expected: a.http.expectedStatuses,
                  retriable: x?.retriableStatuses ?? null,
                  expectedResponse: x?.expectedResponse ?? null,
                  requestBody: x?.requestBody ?? null,
                }
              : null,
            tcp: a.tcp ? { send: a.tcp.send ?? null, receive: a.tcp.receive?.[0] ?? null } : null,
            grpc: a.grpc ? { service: a.grpc.serviceName } : null,
            port: x?.portOverride ?? null,
          }
        : null,
      passive: o
        ? {
            intervalMs: o.intervalMs,
            consecutive5xx: o.consecutive5xx,
            consecutiveGateway: o.enforcingConsecutiveGatewayFailure === 100 ? o.consecutiveGatewayFailure : null,
            consecutiveLocal: o.consecutiveLocalOriginFailure,
            baseEjectionMs: o.baseEjectionTimeMs,
            maxEjectionPercent: o.maxEjectionPercent,
            split: o.splitExternalLocalOriginErrors,
            failurePercentage: o.enforcingFailurePercentage === 100 ? o.failurePercentageThreshold : null,
            alwaysEjectOne: o.alwaysEjectOneHost,
          }
        : null,
    };
  },
  faultInjection(f: NonNullable<TrafficFeatures['faultInjection']>) {
    return {
      delay: f.delay ? { ms: f.delay.fixedMs, percent: f.delay.percent.numerator } : null,
      abort: f.abort
        ? { httpStatus: f.abort.httpStatus ?? null, grpcStatus: f.abort.grpcStatus ?? null, percent: f.abort.percent.numerator }
        : null,
    };
  },
  loadBalancer(f: NonNullable<TrafficFeatures['loadBalancer']>) {
    const bu = f.backendUtilization;
    const pl = f.zoneAware?.preferLocal;
    return {
      lbPolicy: f.lbPolicy,
      hash: f.hashPolicy ?? null,
      tableSize: f.tableSize ?? null,
      slowStartMs: f.slowStart?.windowMs ?? null,
      weightedZones: f.zoneAware?.weightedZones ?? null,
      preferLocal: pl ? [pl.minEndpointsThreshold, pl.percentageEnabled ?? null, pl.forceMinEndpointsInZone ?? null] : null,
      endpointOverride: f.endpointOverride?.headers ?? null,
      backendUtilization: bu
        ? {
            blackoutMs: bu.blackoutPeriodMs ?? null,
            expirationMs: bu.weightExpirationPeriodMs ?? null,
            updateMs: bu.weightUpdatePeriodMs ?? null,
            penalty: bu.errorUtilizationPenaltyPercent ?? null,
            metrics: bu.metricNamesForComputingUtilization ?? null,
            keep: bu.keepResponseHeaders,
            oob: bu.outOfBand
              ? {
                  port: bu.outOfBand.port ?? null,
                  authority: bu.outOfBand.authority ?? null,
                  periodMs: bu.outOfBand.reportingPeriodMs ?? null,
                }
              : null,
          }
        : null,
    };
  },
  tcpKeepalive(f: NonNullable<TrafficFeatures['tcpKeepalive']>) {
    return { probes: f.tcpKeepalive.probes, timeSec: f.tcpKeepalive.timeSec, intervalSec: f.tcpKeepalive.intervalSec };
  },
};

const FEATURES = ['retry', 'timeout', 'circuitBreaker', 'healthCheck', 'faultInjection', 'loadBalancer', 'tcpKeepalive'] as const;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${k}:${canonical((v as J)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
const short = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}...` : s);

// ---------------------------------------------------------------- comparison

function compareRoute(
  r: J,
  world: AttachmentWorld,
  apply: (t: TrafficTarget) => ReturnType<ReturnType<typeof resolveBackendTrafficPolicies>['apply']>,
): string[] {
  const where = `${r['route']} on ${r['listener']}`;
  const got = apply(targetOf(r, world));
  const out: string[] = [];
  const want500 = r['directResponse']?.['statusCode'] === 500;
  if (want500 !== !!got.directResponse)
    out.push(`${where}: direct 500 expected ${want500}, got ${got.directResponse ? got.directResponse.message : 'none'}`);
  const wantApplied = (r['appliedPolicies'] ?? []).map((s: string) => s.replace(/^BackendTrafficPolicy /, ''));
  if (canonical(wantApplied) !== canonical(got.applied))
    out.push(`${where}: applied policies expected ${canonical(wantApplied)}, got ${canonical(got.applied)}`);
  const outcome = (r['outcome'] ?? {}) as J;
  for (const f of FEATURES) {
    const e = outcome[f];
    const a = got.features[f];
    if (e === undefined && a === undefined) continue;
    if (e === undefined) {
      out.push(`${where}: ${f} not expected, got one from ${got.sources[f]}`);
      continue;
    }
    if (a === undefined) {
      out.push(`${where}: ${f} expected, got none`);
      continue;
    }
    const want = canonical((expected[f] as (x: J) => unknown)(e));
    const have = canonical((actual[f] as (x: unknown) => unknown)(a));
    if (want !== have) out.push(`${where}: ${f} differs:\n      want ${short(want, 400)}\n      got  ${short(have, 400)}`);
  }
  return out;
}

function compareStatuses(policies: J[], statuses: PolicyStatus[]): string[] {
  const out: string[] = [];
  const norm = (anc: { ancestor: string; conditions: J[] }[]) =>
    anc
      .map(
        (a) =>
          `${a.ancestor}: ${a.conditions
            .map((c) => `${c['type']}=${c['status']}/${c['reason']} "${c['message']}"`)
            .sort()
            .join('; ')}`,
      )
      .sort();
  for (const p of policies) {
    const mine = statuses.find((s) => s.policy === p['name']);
    const want = norm(p['status'] ?? []);
    const have = norm(mine?.ancestors ?? []);
    if (canonical(want) !== canonical(have)) {
      const missing = want.filter((w) => !have.includes(w));
      const extra = have.filter((h) => !want.includes(h));
      out.push(
        `policy ${p['name']} status differs:\n      want ${short(missing.join(' | '), 500)}\n      got  ${short(extra.join(' | '), 500)}`,
      );
    }
    const rejected = (p['rejected'] ?? []).map((x: J) => `${x['ancestor']} ${x['reason']}: ${x['message']}`).sort();
    const mineRejected = (mine?.ancestors ?? [])
      .flatMap((a) =>
        a.conditions.filter((c) => c.type === 'Accepted' && c.status === 'False').map((c) => `${a.ancestor} ${c.reason}: ${c.message}`),
      )
      .sort();
    if (canonical(rejected) !== canonical(mineRejected))
      out.push(`policy ${p['name']} rejection differs: want ${canonical(rejected)}, got ${canonical(mineRejected)}`);
  }
  return out;
}

export type CaseResult = { input: string; mismatches: string[] };

export function replayCase(c: J): CaseResult {
  const file = join(VECTORS, c['input']);
  const doc = parse(readFileSync(file, 'utf8')) as J;
  const policies = list(doc['backendTrafficPolicies']).map((o) => loaded(o, file));
  const world = buildWorld(doc);
  const diags = new Diagnostics();
  const res = resolveBackendTrafficPolicies(policies, world, diags);
  const mismatches: string[] = [];
  for (const r of list(c['routes'])) mismatches.push(...compareRoute(r, world, res.apply));
  mismatches.push(...compareStatuses(list(c['policies']), res.statuses));
  return { input: c['input'], mismatches };
}

test('Envoy Gateway BackendTrafficPolicy vectors', (t) => {
  const json = join(VECTORS, 'backendtrafficpolicy-cases.json');
  if (!existsSync(json)) {
    t.skip(`no vectors at ${VECTORS} (../shared/conformance is absent)`);
    return;
  }
  const cases = list(JSON.parse(readFileSync(json, 'utf8'))['cases']);
  const results = cases.map(replayCase);
  const matched = results.filter((r) => r.mismatches.length === 0).length;
  console.log(`${matched}/${cases.length} match`);
  for (const r of results) {
    if (r.mismatches.length === 0) continue;
    console.log(`MISMATCH ${r.input}`);
    for (const m of r.mismatches) console.log(`    ${m}`);
  }
  assert.ok(matched >= FLOOR, `${matched}/${cases.length} cases match; the recorded floor is ${FLOOR}`);
});
