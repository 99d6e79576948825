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

const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function buildHealthCheck(btp: LoadedObject, diags: Diagnostics): HealthCheckFragment | undefined {
  const r = reader(btp, diags, 'healthCheck');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'healthCheck', ['spec']);
  const hc = readObject(r, at.value, at.path);
  if (!hc) return undefined;
  checkKnown(r, hc, at.path, ['active', 'passive', 'panicThreshold']);
  const out: HealthCheckFragment = { origin: {} };

  const pt = get(r, hc, 'panicThreshold', at.path);
  const panic = readInt(r, pt.value, pt.path, { min: 0, max: 100 });
  if (panic !== undefined) {
    out.healthyPanicThreshold = panic;
    out.origin['healthyPanicThreshold'] = manifestOrigin(r, pt.path);
  }

  const a = get(r, hc, 'active', at.path);
  const active = readObject(r, a.value, a.path);
  if (active) buildActive(r, active, a.path, out);

  const p = get(r, hc, 'passive', at.path);
  const passive = readObject(r, p.value, p.path);
  if (passive) out.outlierDetection = buildPassive(r, passive, p.path);

  return r.ok ? out : undefined;
}

function buildActive(r: Reader, active: Json, base: Path, out: HealthCheckFragment): void {
  checkKnown(r, active, base, [
    'timeout',
    'interval',
    'initialJitter',
    'unhealthyThreshold',
    'healthyThreshold',
    'type',
    'http',
    'tcp',
    'grpc',
    'overrides',
    'healthCheckLog',
  ]);
  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  const t = get(r, active, 'type', base);
  const type = readEnum(r, t.value, t.path, ['HTTP', 'TCP', 'GRPC'] as const);
  if (t.value === undefined || t.value === null) fail(r, t.path, 'healthCheck.active.type is required', 'set type to HTTP, TCP or GRPC');
  const h = get(r, active, 'http', base);
  const tc = get(r, active, 'tcp', base);
  const g = get(r, active, 'grpc', base);
  const http = readObject(r, h.value, h.path);
  const tcp = readObject(r, tc.value, tc.path);
  const grpc = readObject(r, g.value, g.path);
  if (type !== undefined) {
    if ((type === 'HTTP') !== (h.value !== undefined && h.value !== null))
      fail(
        r,
        h.path,
        'If Health Checker type is HTTP, http field needs to be set.',
        type === 'HTTP' ? 'add http: {path: /healthz}' : 'remove the http block or set type: HTTP',
      );
    if ((type === 'TCP') !== (tc.value !== undefined && tc.value !== null))
      fail(
        r,
        tc.path,
        'If Health Checker type is TCP, tcp field needs to be set.',
        type === 'TCP' ? 'add tcp: {} for a connect-only check' : 'remove the tcp block or set type: TCP',
      );
    if (g.value !== undefined && g.value !== null && type !== 'GRPC')
      fail(r, g.path, 'The grpc field can only be set if the Health Checker type is GRPC.', 'set type: GRPC or remove the grpc block');
  }

  const positive = (key: string, name: string) => {
    const f = get(r, active, key, base);
    const ms = readDuration(r, f.value, f.path, name);
    if (ms === 0) fail(r, f.path, `${key} must be greater than 0s`, 'Envoy refuses a zero health-check timeout or interval');
    return { ms, path: f.path };
  };
  const timeout = positive('timeout', 'Timeout');
  const interval = positive('interval', 'Interval');
  const ij = get(r, active, 'initialJitter', base);
  const initialJitter = readDuration(r, ij.value, ij.path, 'InitialJitter');
  const ut = get(r, active, 'unhealthyThreshold', base);
  const unhealthy = readInt(r, ut.value, ut.path, { min: 1, max: 4_294_967_295 });
  const ht = get(r, active, 'healthyThreshold', base);
  const healthy = readInt(r, ht.value, ht.path, { min: 1, max: 4_294_967_295 });

  const origin: Origins = {
    kind: manifestOrigin(r, t.path),
    timeoutMs: timeout.ms !== undefined ? manifestOrigin(r, timeout.path) : d('HEALTH_CHECK_TIMEOUT_MS'),
    intervalMs: interval.ms !== undefined ? manifestOrigin(r, interval.path) : d('HEALTH_CHECK_INTERVAL_MS'),
    unhealthyThreshold: unhealthy !== undefined ? manifestOrigin(r, ut.path) : d('HEALTH_CHECK_UNHEALTHY_THRESHOLD'),
    healthyThreshold: healthy !== undefined ? manifestOrigin(r, ht.path) : d('HEALTH_CHECK_HEALTHY_THRESHOLD'),
  };
  const check: HealthCheck = {
    kind: type === 'GRPC' ? 'grpc' : type === 'TCP' ? 'tcp' : 'http',
    intervalMs: interval.ms ?? ENVOY_GATEWAY.HEALTH_CHECK_INTERVAL_MS,
    timeoutMs: timeout.ms ?? ENVOY_GATEWAY.HEALTH_CHECK_TIMEOUT_MS,
    healthyThreshold: healthy ?? ENVOY_GATEWAY.HEALTH_CHECK_HEALTHY_THRESHOLD,
    unhealthyThreshold: unhealthy ?? ENVOY_GATEWAY.HEALTH_CHECK_UNHEALTHY_THRESHOLD,
    origin,
  };
  const extras: ActiveCheckExtras = { origin: {} };
  if (initialJitter !== undefined) {
    extras.initialJitterMs = initialJitter;
    extras.origin['initialJitterMs'] = manifestOrigin(r, ij.path);
  }

  if (type === 'HTTP' && http) {
    checkKnown(r, http, h.path, ['hostname', 'path', 'method', 'expectedStatuses', 'retriableStatuses', 'expectedResponse', 'requestBody']);
    const pa = get(r, http, 'path', h.path);
    const path = readString(r, pa.value, pa.path);
    if (path === undefined && (pa.value === undefined || pa.value === null))
      fail(r, pa.path, 'http.path is required', 'set the path to probe, such as /healthz');
    else if (path !== undefined && (path.length < 1 || path.length > 1024)) fail(r, pa.path, 'http.path must have 1 to 1024 characters');
    const hn = get(r, http, 'hostname', h.path);
    const hostname = readString(r, hn.value, hn.path);
    if (hostname !== undefined && (hostname.length > 253 || !HOSTNAME.test(hostname)))
      fail(r, hn.path, `http.hostname "${hostname}" is not a lower-case DNS name`, 'write a host name such as health.example.com');
    const me = get(r, http, 'method', h.path);
    const method = readString(r, me.value, me.path);
    if (method !== undefined && method.length > 16) fail(r, me.path, 'http.method must have at most 16 characters');
    const es = get(r, http, 'expectedStatuses', h.path);
    const expected = readStatuses(r, es.value, es.path);
    const rs = get(r, http, 'retriableStatuses', h.path);
    const retriable = readStatuses(r, rs.value, rs.path);
    const er = get(r, http, 'expectedResponse', h.path);
    const expectedResponse = readPayload(r, er.value, er.path);
    const rb = get(r, http, 'requestBody', h.path);
    const requestBody = readPayload(r, rb.value, rb.path);
    const upper = method?.toUpperCase();
    if (rb.value !== undefined && rb.value !== null && upper !== 'POST' && upper !== 'PUT')
      fail(
        r,
        rb.path,
        'The requestBody field can only be set when method is POST or PUT.',
        'set method: POST (or PUT), or remove requestBody',
      );

    check.http = {
      path: path ?? '',
      expectedStatuses: toRanges(expected && expected.length > 0 ? expected : [...ENVOY_GATEWAY.HEALTH_CHECK_EXPECTED_STATUSES]),
    };
    origin['http.path'] = manifestOrigin(r, pa.path);
    origin['http.expectedStatuses'] = expected && expected.length > 0 ? manifestOrigin(r, es.path) : d('HEALTH_CHECK_EXPECTED_STATUSES');
    if (hostname !== undefined) {
      check.http.host = hostname;
      origin['http.host'] = manifestOrigin(r, hn.path);
    } else {
      origin['http.host'] = {
        kind: 'derived',
        from: 'the Backend endpoint hostname, else the route hostname (Envoy Gateway host hierarchy)',
      };
    }
    extras.method = upper ?? ENVOY_GATEWAY.HEALTH_CHECK_METHOD;
    extras.origin['method'] = upper !== undefined ? manifestOrigin(r, me.path) : d('HEALTH_CHECK_METHOD');
    if (upper !== undefined && upper !== 'GET')
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        me.path,
        `health-check method ${upper} is recorded, but legate's checker sends GET`,
        'serve the health endpoint on GET',
      );
    if (retriable && retriable.length > 0) {
      extras.retriableStatuses = toRanges(retriable);
      extras.origin['retriableStatuses'] = manifestOrigin(r, rs.path);
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        rs.path,
        'retriableStatuses are recorded, but legate counts them as plain failures',
        'remove them, or expect a host to turn unhealthy on the first such status',
      );
    }
    if (expectedResponse !== undefined) {
      extras.expectedResponse = expectedResponse;
      extras.origin['expectedResponse'] = manifestOrigin(r, er.path);
      warn(r, EG_CODES.NOT_APPLIED, er.path, 'expectedResponse is recorded, but legate checks the status only', 'rely on the status code');
    }
    if (requestBody !== undefined) {
      extras.requestBody = requestBody;
      extras.origin['requestBody'] = manifestOrigin(r, rb.path);
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        rb.path,
        'requestBody is recorded, but legate sends no body',
        'serve the health endpoint without a body',
      );
    }
  }
  if (type === 'TCP' && tcp) {
    checkKnown(r, tcp, tc.path, ['send', 'receive']);
    const s = get(r, tcp, 'send', tc.path);
    const send = readPayload(r, s.value, s.path);
    const rc = get(r, tcp, 'receive', tc.path);
    const receive = readPayload(r, rc.value, rc.path);
    check.tcp = {};
    if (send !== undefined) {
      check.tcp.send = send;
      origin['tcp.send'] = manifestOrigin(r, s.path);
    }
    if (receive !== undefined) {
      check.tcp.receive = [receive];
      origin['tcp.receive'] = manifestOrigin(r, rc.path);
    }
  }
  if (type === 'GRPC') {
    if (grpc) checkKnown(r, grpc, g.path, ['service']);
    const sv = grpc ? get(r, grpc, 'service', g.path) : undefined;
    const service = sv ? readString(r, sv.value, sv.path) : undefined;
    check.grpc = { serviceName: service ?? '' };
    origin['grpc.serviceName'] =
      sv && service !== undefined
        ? manifestOrigin(r, sv.path)
        : { kind: 'derived', from: 'no grpc.service: the whole server (grpc.health.v1)' };
  }

  const ov = get(r, active, 'overrides', base);
  const overrides = readObject(r, ov.value, ov.path);
  if (overrides) {
    checkKnown(r, overrides, ov.path, ['port']);
    const po = get(r, overrides, 'port', ov.path);
    const port = readInt(r, po.value, po.path, { min: 1, max: 65_535 });
    if (port !== undefined) {
      extras.portOverride = port;
      extras.origin['portOverride'] = manifestOrigin(r, po.path);
      warn(
        r,
        EG_CODES.NOT_APPLIED,
        po.path,
        `the health-check port override ${port} is recorded, but legate checks the serving port`,
        'serve health checks on the serving port',
      );
    }
  }
  const log = get(r, active, 'healthCheckLog', base);
  if (log.value !== undefined && log.value !== null)
    warn(
      r,
      EG_CODES.NOT_APPLIED,
      log.path,
      'health-check event logs are not written by legate',
      'watch /clusters or the admin stats instead',
    );
  if (initialJitter !== undefined)
    warn(r, EG_CODES.NOT_APPLIED, ij.path, 'initialJitter is recorded, but legate starts checks without an initial jitter');

  out.healthChecks = [check];
  if (Object.keys(extras.origin).length > 0) out.activeExtras = extras;
}

function buildPassive(r: Reader, passive: Json, base: Path): OutlierDetection {
  checkKnown(r, passive, base, [
    'splitExternalLocalOriginErrors',
    'interval',
    'consecutiveLocalOriginFailures',
    'consecutiveGatewayErrors',
    'consecutive5XxErrors',
    'baseEjectionTime',
    'maxEjectionPercent',
    'failurePercentageThreshold',
    'alwaysEjectOneEndpoint',
  ]);
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

  const u32 = (key: string, max = 4_294_967_295) => {
    const f = get(r, passive, key, base);
    return { v: readInt(r, f.value, f.path, { min: 0, max }), path: f.path };
  };
  const split = get(r, passive, 'splitExternalLocalOriginErrors', base);
  const splitV = readBool(r, split.value, split.path);
  if (splitV !== undefined) {
    od.splitExternalLocalOriginErrors = splitV;
    o['splitExternalLocalOriginErrors'] = manifestOrigin(r, split.path);
  }
  const iv = get(r, passive, 'interval', base);
  const interval = readDuration(r, iv.value, iv.path, 'Interval');
  if (interval === 0) fail(r, iv.path, 'interval must be greater than 0s', 'Envoy refuses a zero ejection-sweep interval');
  else if (interval !== undefined) {
    od.intervalMs = interval;
    o['intervalMs'] = manifestOrigin(r, iv.path);
  }
  const local = u32('consecutiveLocalOriginFailures');
  if (local.v !== undefined) {
    od.consecutiveLocalOriginFailure = local.v;
    o['consecutiveLocalOriginFailure'] = manifestOrigin(r, local.path);
    if (!od.splitExternalLocalOriginErrors)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        local.path,
        'consecutiveLocalOriginFailures only counts with splitExternalLocalOriginErrors: true',
        'set splitExternalLocalOriginErrors: true, or remove it',
      );
  }
  const gw = u32('consecutiveGatewayErrors');
  if (gw.v !== undefined) {
    od.consecutiveGatewayFailure = gw.v;
    o['consecutiveGatewayFailure'] = manifestOrigin(r, gw.path);
    od.enforcingConsecutiveGatewayFailure = ENVOY_GATEWAY.OUTLIER_ENFORCING_WHEN_SET;
    o['enforcingConsecutiveGatewayFailure'] = d('OUTLIER_ENFORCING_WHEN_SET');
  }
  const c5 = u32('consecutive5XxErrors');
  if (c5.v !== undefined) {
    od.consecutive5xx = c5.v;
    o['consecutive5xx'] = manifestOrigin(r, c5.path);
  }
  const be = get(r, passive, 'baseEjectionTime', base);
  const baseEjection = readDuration(r, be.value, be.path, 'BaseEjectionTime');
  if (baseEjection === 0) fail(r, be.path, 'baseEjectionTime must be greater than 0s', 'Envoy refuses a zero base ejection time');
  else if (baseEjection !== undefined) {
    od.baseEjectionTimeMs = baseEjection;
    o['baseEjectionTimeMs'] = manifestOrigin(r, be.path);
    if (baseEjection > od.maxEjectionTimeMs) {
      // Envoy caps ejection time at max(max_ejection_time, base_ejection_time).
      od.maxEjectionTimeMs = baseEjection;
      o['maxEjectionTimeMs'] = { kind: 'derived', from: 'Envoy: max_ejection_time is at least base_ejection_time' };
    }
  }
  const mp = u32('maxEjectionPercent', 100);
  if (mp.v !== undefined && mp.v > 0) {
    od.maxEjectionPercent = mp.v;
    o['maxEjectionPercent'] = manifestOrigin(r, mp.path);
  } else if (mp.v === 0) {
    o['maxEjectionPercent'] = {
      kind: 'derived',
      from: `${mp.path.join('.')} is 0: Envoy Gateway writes max_ejection_percent only when > 0, so Envoy's 10 applies`,
    };
    warn(
      r,
      EG_CODES.NO_EFFECT,
      mp.path,
      "maxEjectionPercent: 0 is not passed to Envoy; Envoy's default of 10% applies",
      'set 1 or more to change the cap',
    );
  }
  const fp = u32('failurePercentageThreshold', 100);
  if (fp.v !== undefined) {
    od.failurePercentageThreshold = fp.v;
    o['failurePercentageThreshold'] = manifestOrigin(r, fp.path);
    od.enforcingFailurePercentage = ENVOY_GATEWAY.OUTLIER_ENFORCING_WHEN_SET;
    o['enforcingFailurePercentage'] = d('OUTLIER_ENFORCING_WHEN_SET');
  }
  const ae = get(r, passive, 'alwaysEjectOneEndpoint', base);
  const always = readBool(r, ae.value, ae.path);
  if (always !== undefined) {
    od.alwaysEjectOneHost = always;
    o['alwaysEjectOneHost'] = manifestOrigin(r, ae.path);
  }
  return od;
}

/** HTTP statuses (100-599), de-duplicated and sorted, as Envoy Gateway keeps them. */
function readStatuses(r: Reader, v: unknown, path: Path): number[] | undefined {
  const list = readArray(r, v, path);
  if (!list) return undefined;
  const out = new Set<number>();
  list.forEach((s, i) => {
    const code = readInt(r, s, [...path, i], { min: 100, max: 599 });
    if (code !== undefined) out.add(code);
  });
  return [...out].sort((a, b) => a - b);
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

/** `{type: Text, text}` or `{type: Binary, binary: base64}` -> hex, Envoy's payload text form. */
function readPayload(r: Reader, v: unknown, path: Path): string | undefined {
  const p = readObject(r, v, path);
  if (!p) return undefined;
  checkKnown(r, p, path, ['type', 'text', 'binary']);
  const t = get(r, p, 'type', path);
  const type = readEnum(r, t.value, t.path, ['Text', 'Binary'] as const);
  if (t.value === undefined || t.value === null) fail(r, t.path, 'payload type is required', 'set type: Text or type: Binary');
  const tx = get(r, p, 'text', path);
  const bn = get(r, p, 'binary', path);
  const hasText = tx.value !== undefined && tx.value !== null;
  const hasBinary = bn.value !== undefined && bn.value !== null;
  if (type === 'Text' && !hasText) fail(r, tx.path, 'If payload type is Text, text field needs to be set.');
  if (type !== 'Text' && hasText) fail(r, tx.path, 'If payload type is Text, text field needs to be set.', 'remove text or set type: Text');
  if (type === 'Binary' && !hasBinary) fail(r, bn.path, 'If payload type is Binary, binary field needs to be set.');
  if (type !== 'Binary' && hasBinary)
    fail(r, bn.path, 'If payload type is Binary, binary field needs to be set.', 'remove binary or set type: Binary');
  if (type === 'Text') {
    const text = readString(r, tx.value, tx.path);
    return text === undefined ? undefined : Buffer.from(text, 'utf8').toString('hex');
  }
  if (type === 'Binary') {
    const b64 = readString(r, bn.value, bn.path);
    if (b64 === undefined) return undefined;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      fail(r, bn.path, 'binary must be base64', 'encode the bytes with base64');
      return undefined;
    }
    return Buffer.from(b64, 'base64').toString('hex');
  }
  return undefined;
}
