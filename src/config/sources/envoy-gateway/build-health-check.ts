/**
 * BackendTrafficPolicy `spec.healthCheck` -> active health checks, outlier detection and the panic
 * threshold (config-apis.md 2.6; Envoy Gateway `buildHealthCheck`, xds/translator cluster.go
 * `buildXdsHealthCheck` / `buildXdsOutlierDetection`).
 *
 * Envoy Gateway's defaults are kubebuilder defaults, applied here as the API server would: active
 * timeout 1 s, interval 3 s, unhealthy 3, healthy 1, expected status [200]; passive interval 3 s
 * (Envoy: 10 s), consecutive 5xx 5, consecutive local-origin failures 5, base ejection 30 s, max
 * ejection 10 %. Gateway errors and failure percentage stay off unless set; when set, Envoy Gateway
 * enforces them at 100 %. `maxEjectionPercent: 0` is not written by Envoy Gateway, so Envoy's 10 %
 * applies. Split mode (`splitExternalLocalOriginErrors`) is passed through; success-rate detection
 * keeps Envoy's defaults.
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import { outlierDetectionDefaults } from '../../../ir/builders.js';
import type { HealthCheck, OutlierDetection } from '../../../ir/cluster.js';
import type { Origins } from '../../../ir/origin.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { durationMs } from '../../schema/k8s.js';
import { HealthCheck as HealthCheckSchema, type ActiveHealthCheck, type PassiveHealthCheck, type Payload } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn, type FeatureBlock, type Reader } from './spec-reader.js';

/** Settings of an Envoy Gateway active check that legate's IR has no field for yet (recorded, not applied). */
export type ActiveCheckExtras = {
  method?: string;
  /** Status ranges [start, end) counted as retriable failures. */
  retriableStatuses?: [number, number][];
  /** Hex payloads, as Envoy's HealthCheck.Payload.text. */
  expectedResponse?: string;
  requestBody?: string;
  portOverride?: number;
  initialJitterMs?: number;
  origin: Origins;
};

export type HealthCheckFragment = {
  /** `active` -> `ir.Cluster.healthChecks`. */
  healthChecks?: HealthCheck[];
  activeExtras?: ActiveCheckExtras;
  /** `passive` -> `ir.Cluster.outlierDetection`. */
  outlierDetection?: OutlierDetection;
  /** `panicThreshold` -> `ir.Cluster.healthyPanicThreshold`. */
  healthyPanicThreshold?: number;
  origin: Origins;
};

type At = FeatureBlock<unknown>['at'];

export function buildHealthCheck(btp: LoadedObject, diags: Diagnostics): HealthCheckFragment | undefined {
  const r = reader(btp, diags, 'healthCheck');
  const block = readFeature(r, HealthCheckSchema);
  if (!block) return undefined;
  const { value: hc, at } = block;
  const out: HealthCheckFragment = { origin: {} };
  if (hc.panicThreshold !== undefined) {
    out.healthyPanicThreshold = hc.panicThreshold;
    out.origin['healthyPanicThreshold'] = manifestOrigin(r, at('panicThreshold'));
  }
  if (hc.active) buildActive(r, hc.active, (...p) => at('active', ...p), out);
  if (hc.passive) out.outlierDetection = buildPassive(r, hc.passive, (...p) => at('passive', ...p));
  return r.ok ? out : undefined;
}

function buildActive(r: Reader, active: ActiveHealthCheck, at: At, out: HealthCheckFragment): void {
  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  const type = active.type;
  const ms = (text: string | undefined) => (text === undefined ? undefined : durationMs(text));
  const timeout = ms(active.timeout);
  const interval = ms(active.interval);
  const initialJitter = ms(active.initialJitter);
  const { unhealthyThreshold: unhealthy, healthyThreshold: healthy } = active;

  const origin: Origins = {
    kind: manifestOrigin(r, at('type')),
    timeoutMs: timeout !== undefined ? manifestOrigin(r, at('timeout')) : d('HEALTH_CHECK_TIMEOUT_MS'),
    intervalMs: interval !== undefined ? manifestOrigin(r, at('interval')) : d('HEALTH_CHECK_INTERVAL_MS'),
    unhealthyThreshold: unhealthy !== undefined ? manifestOrigin(r, at('unhealthyThreshold')) : d('HEALTH_CHECK_UNHEALTHY_THRESHOLD'),
    healthyThreshold: healthy !== undefined ? manifestOrigin(r, at('healthyThreshold')) : d('HEALTH_CHECK_HEALTHY_THRESHOLD'),
  };
  const check: HealthCheck = {
    kind: type === 'GRPC' ? 'grpc' : type === 'TCP' ? 'tcp' : 'http',
    intervalMs: interval ?? ENVOY_GATEWAY.HEALTH_CHECK_INTERVAL_MS,
    timeoutMs: timeout ?? ENVOY_GATEWAY.HEALTH_CHECK_TIMEOUT_MS,
    healthyThreshold: healthy ?? ENVOY_GATEWAY.HEALTH_CHECK_HEALTHY_THRESHOLD,
    unhealthyThreshold: unhealthy ?? ENVOY_GATEWAY.HEALTH_CHECK_UNHEALTHY_THRESHOLD,
    origin,
  };
  const extras: ActiveCheckExtras = { origin: {} };
  if (initialJitter !== undefined) {
    extras.initialJitterMs = initialJitter;
    extras.origin['initialJitterMs'] = manifestOrigin(r, at('initialJitter'));
  }

  const http = active.http;
  if (type === 'HTTP' && http) {
    const expected = sortedStatuses(http.expectedStatuses);
    const retriable = sortedStatuses(http.retriableStatuses);
    const expectedResponse = payloadHex(http.expectedResponse);
    const requestBody = payloadHex(http.requestBody);
    const upper = http.method?.toUpperCase();
    check.http = {
      path: http.path,
      expectedStatuses: toRanges(expected && expected.length > 0 ? expected : [...ENVOY_GATEWAY.HEALTH_CHECK_EXPECTED_STATUSES]),
    };
    origin['http.path'] = manifestOrigin(r, at('http', 'path'));
    origin['http.expectedStatuses'] =
      expected && expected.length > 0 ? manifestOrigin(r, at('http', 'expectedStatuses')) : d('HEALTH_CHECK_EXPECTED_STATUSES');
    if (http.hostname !== undefined) {
      check.http.host = http.hostname;
      origin['http.host'] = manifestOrigin(r, at('http', 'hostname'));
    } else {
      origin['http.host'] = {
        kind: 'derived',
        from: 'the Backend endpoint hostname, else the route hostname (Envoy Gateway host hierarchy)',
      };
    }
    extras.method = upper ?? ENVOY_GATEWAY.HEALTH_CHECK_METHOD;
    extras.origin['method'] = upper !== undefined ? manifestOrigin(r, at('http', 'method')) : d('HEALTH_CHECK_METHOD');
    if (upper !== undefined && upper !== 'GET')
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        at('http', 'method'),
        `health-check method ${upper} is recorded, but legate's checker sends GET`,
        'serve the health endpoint on GET',
      );
    if (retriable && retriable.length > 0) {
      const rs = at('http', 'retriableStatuses');
      extras.retriableStatuses = toRanges(retriable);
      extras.origin['retriableStatuses'] = manifestOrigin(r, rs);
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        rs,
        'retriableStatuses are recorded, but legate counts them as plain failures',
        'remove them, or expect a host to turn unhealthy on the first such status',
      );
    }
    if (expectedResponse !== undefined) {
      const er = at('http', 'expectedResponse');
      extras.expectedResponse = expectedResponse;
      extras.origin['expectedResponse'] = manifestOrigin(r, er);
      warn(r, EG_CODES.NOT_APPLIED, er, 'expectedResponse is recorded, but legate checks the status only', 'rely on the status code');
    }
    if (requestBody !== undefined) {
      const rb = at('http', 'requestBody');
      extras.requestBody = requestBody;
      extras.origin['requestBody'] = manifestOrigin(r, rb);
      warn(r, EG_CODES.NOT_APPLIED, rb, 'requestBody is recorded, but legate sends no body', 'serve the health endpoint without a body');
    }
  }
  if (type === 'TCP' && active.tcp) {
    const send = payloadHex(active.tcp.send);
    const receive = payloadHex(active.tcp.receive);
    check.tcp = {};
    if (send !== undefined) {
      check.tcp.send = send;
      origin['tcp.send'] = manifestOrigin(r, at('tcp', 'send'));
    }
    if (receive !== undefined) {
      check.tcp.receive = [receive];
      origin['tcp.receive'] = manifestOrigin(r, at('tcp', 'receive'));
    }
  }
  if (type === 'GRPC') {
    const service = active.grpc?.service;
    check.grpc = { serviceName: service ?? '' };
    origin['grpc.serviceName'] =
      service !== undefined
        ? manifestOrigin(r, at('grpc', 'service'))
        : { kind: 'derived', from: 'no grpc.service: the whole server (grpc.health.v1)' };
  }

  const port = active.overrides?.port;
  if (port !== undefined) {
    const po = at('overrides', 'port');
    extras.portOverride = port;
    extras.origin['portOverride'] = manifestOrigin(r, po);
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      po,
      `the health-check port override ${port} is recorded, but legate checks the serving port`,
      'serve health checks on the serving port',
    );
  }
  if (active.healthCheckLog !== undefined)
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      at('healthCheckLog'),
      'health-check event logs are not written by legate',
      'watch /clusters or the admin stats instead',
    );
  if (initialJitter !== undefined)
    warn(r, EG_CODES.NOT_APPLIED, at('initialJitter'), 'initialJitter is recorded, but legate starts checks without an initial jitter');

  out.healthChecks = [check];
  if (Object.keys(extras.origin).length > 0) out.activeExtras = extras;
}

function buildPassive(r: Reader, passive: PassiveHealthCheck, at: At): OutlierDetection {
  const od = outlierDetectionDefaults('envoy');
  const o = od.origin;
  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  // Envoy Gateway's kubebuilder defaults over Envoy's.
  od.intervalMs = ENVOY_GATEWAY.OUTLIER_INTERVAL_MS;
  o['intervalMs'] = d('OUTLIER_INTERVAL_MS');
  od.consecutive5xx = ENVOY_GATEWAY.OUTLIER_CONSECUTIVE_5XX;
  o['consecutive5xx'] = d('OUTLIER_CONSECUTIVE_5XX');
  od.consecutiveLocalOriginFailure = ENVOY_GATEWAY.OUTLIER_CONSECUTIVE_LOCAL_ORIGIN_FAILURES;
  o['consecutiveLocalOriginFailure'] = d('OUTLIER_CONSECUTIVE_LOCAL_ORIGIN_FAILURES');
  od.baseEjectionTimeMs = ENVOY_GATEWAY.OUTLIER_BASE_EJECTION_TIME_MS;
  o['baseEjectionTimeMs'] = d('OUTLIER_BASE_EJECTION_TIME_MS');
  od.maxEjectionPercent = ENVOY_GATEWAY.OUTLIER_MAX_EJECTION_PERCENT;
  o['maxEjectionPercent'] = d('OUTLIER_MAX_EJECTION_PERCENT');
  od.splitExternalLocalOriginErrors = ENVOY_GATEWAY.OUTLIER_SPLIT_EXTERNAL_LOCAL_ORIGIN_ERRORS;
  o['splitExternalLocalOriginErrors'] = d('OUTLIER_SPLIT_EXTERNAL_LOCAL_ORIGIN_ERRORS');
  od.alwaysEjectOneHost = ENVOY_GATEWAY.OUTLIER_ALWAYS_EJECT_ONE_ENDPOINT;
  o['alwaysEjectOneHost'] = d('OUTLIER_ALWAYS_EJECT_ONE_ENDPOINT');

  if (passive.splitExternalLocalOriginErrors !== undefined) {
    od.splitExternalLocalOriginErrors = passive.splitExternalLocalOriginErrors;
    o['splitExternalLocalOriginErrors'] = manifestOrigin(r, at('splitExternalLocalOriginErrors'));
  }
  const interval = passive.interval === undefined ? undefined : durationMs(passive.interval);
  if (interval !== undefined) {
    od.intervalMs = interval;
    o['intervalMs'] = manifestOrigin(r, at('interval'));
  }
  const local = passive.consecutiveLocalOriginFailures;
  if (local !== undefined) {
    od.consecutiveLocalOriginFailure = local;
    o['consecutiveLocalOriginFailure'] = manifestOrigin(r, at('consecutiveLocalOriginFailures'));
    if (!od.splitExternalLocalOriginErrors)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        at('consecutiveLocalOriginFailures'),
        'consecutiveLocalOriginFailures only counts with splitExternalLocalOriginErrors: true',
        'set splitExternalLocalOriginErrors: true, or remove it',
      );
  }
  if (passive.consecutiveGatewayErrors !== undefined) {
    od.consecutiveGatewayFailure = passive.consecutiveGatewayErrors;
    o['consecutiveGatewayFailure'] = manifestOrigin(r, at('consecutiveGatewayErrors'));
    od.enforcingConsecutiveGatewayFailure = ENVOY_GATEWAY.OUTLIER_ENFORCING_WHEN_SET;
    o['enforcingConsecutiveGatewayFailure'] = d('OUTLIER_ENFORCING_WHEN_SET');
  }
  if (passive.consecutive5XxErrors !== undefined) {
    od.consecutive5xx = passive.consecutive5XxErrors;
    o['consecutive5xx'] = manifestOrigin(r, at('consecutive5XxErrors'));
  }
  const baseEjection = passive.baseEjectionTime === undefined ? undefined : durationMs(passive.baseEjectionTime);
  if (baseEjection !== undefined) {
    od.baseEjectionTimeMs = baseEjection;
    o['baseEjectionTimeMs'] = manifestOrigin(r, at('baseEjectionTime'));
    if (baseEjection > od.maxEjectionTimeMs) {
      // Envoy caps ejection time at max(max_ejection_time, base_ejection_time).
      od.maxEjectionTimeMs = baseEjection;
      o['maxEjectionTimeMs'] = { kind: 'derived', from: 'Envoy: max_ejection_time is at least base_ejection_time' };
    }
  }
  const mp = passive.maxEjectionPercent;
  const mpPath = at('maxEjectionPercent');
  if (mp !== undefined && mp > 0) {
    od.maxEjectionPercent = mp;
    o['maxEjectionPercent'] = manifestOrigin(r, mpPath);
  } else if (mp === 0) {
    o['maxEjectionPercent'] = {
      kind: 'derived',
      from: `${mpPath.join('.')} is 0: Envoy Gateway writes max_ejection_percent only when > 0, so Envoy's 10 applies`,
    };
    warn(
      r,
      EG_CODES.NO_EFFECT,
      mpPath,
      "maxEjectionPercent: 0 is not passed to Envoy; Envoy's default of 10% applies",
      'set 1 or more to change the cap',
    );
  }
  if (passive.failurePercentageThreshold !== undefined) {
    od.failurePercentageThreshold = passive.failurePercentageThreshold;
    o['failurePercentageThreshold'] = manifestOrigin(r, at('failurePercentageThreshold'));
    od.enforcingFailurePercentage = ENVOY_GATEWAY.OUTLIER_ENFORCING_WHEN_SET;
    o['enforcingFailurePercentage'] = d('OUTLIER_ENFORCING_WHEN_SET');
  }
  if (passive.alwaysEjectOneEndpoint !== undefined) {
    od.alwaysEjectOneHost = passive.alwaysEjectOneEndpoint;
    o['alwaysEjectOneHost'] = manifestOrigin(r, at('alwaysEjectOneEndpoint'));
  }
  return od;
}

/** HTTP statuses, de-duplicated and sorted, as Envoy Gateway keeps them. */
function sortedStatuses(list: readonly number[] | undefined): number[] | undefined {
  return list && [...new Set(list)].sort((a, b) => a - b);
}

/** Contiguous statuses merged into [start, end) ranges (Envoy Gateway `buildHTTPStatusRange`). */
export function toRanges(statuses: readonly number[]): [number, number][] {
  const sorted = [...new Set(statuses)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === s) last[1] = s + 1;
    else out.push([s, s + 1]);
  }
  return out;
}

/** A checked payload as hex, Envoy's payload text form. */
function payloadHex(p: Payload | undefined): string | undefined {
  if (!p) return undefined;
  if (p.type === 'Text') return p.text === undefined ? undefined : Buffer.from(p.text, 'utf8').toString('hex');
  return p.binary === undefined ? undefined : Buffer.from(p.binary, 'base64').toString('hex');
}
