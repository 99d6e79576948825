/**
 * Envoy Gateway v1alpha1 schemas (config-apis.md 2.1-2.9, section 6 #18-#20): the
 * BackendTrafficPolicy features legate builds, the policy's targets, and EnvoyProxy. They encode
 * the CRD: required fields, types, enums, patterns, bounds and the per-object CEL rules with the
 * CRD's messages. Where Envoy Gateway's translator words a schema failure itself (`invalid
 * MaxConnections value -1`, `invalid ConnectTimeout value 20kib`), the schema uses its words, since
 * those reach the policy's status. Object keys are listed in the order Envoy Gateway reads them,
 * so the first error of a feature is the one its status reports.
 *
 * Envoy Gateway's translator rules that concern one object (`baseInterval cannot be set to 0s`, a
 * prime Maglev table, durations Envoy refuses at 0s) are refinements here too, with its words, so
 * every problem of a policy is reported at once; the builders only convert checked values.
 *
 * Every duration field of these CRDs is a Gateway API Duration (GEP-2257). No kubebuilder defaults
 * here: the builders apply them and record their origin.
 */
import { z } from 'zod';
import { ENVOY, ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { RetryOn } from '../../../ir/policy.js';
import { withFix } from '../../schema/check.js';
import { formatQuantity, NANO, parseQuantity } from '../../schema/quantity.js';
import { gatewayDuration, INT32_MAX, issue, labelSelector, UINT32_MAX, validDurationMs, whenMissing } from '../../schema/k8s.js';
import { group, kind, objectName, sectionName } from '../gateway-api/schema.js';

// ---------------------------------------------------------------- field types

/**
 * A whole number in [min, max], with the API server's messages (`... in body should be greater than
 * or equal to 0`), or `message(value)` for every failure; `missing` words a required field's absence.
 */
function bounded(min: number, max: number, message?: (v: unknown) => string, missing?: [string, string?]) {
  const range = `${min}..${max}`;
  const onMissing = missing ? whenMissing(...missing).error : () => undefined;
  return z
    .int({
      error: (iss) =>
        iss.input === undefined
          ? onMissing(iss)
          : message
            ? message(iss.input)
            : withFix(`{path} must be an integer`, `write a whole number in ${range}`),
    })
    .superRefine((v, ctx) => {
      if (v < min)
        issue(ctx, message ? message(v) : `{path} in body should be greater than or equal to ${min}`, { fix: `use a value in ${range}` });
      else if (v > max)
        issue(ctx, message ? message(v) : `{path} in body should be less than or equal to ${max}`, { fix: `use a value in ${range}` });
    });
}

const int32 = bounded(-2_147_483_648, INT32_MAX);
const uint32 = bounded(0, UINT32_MAX);
/** Envoy Gateway's translator message for a uint32 setting out of range: `invalid MaxConnections value -1`. */
const egUint32 = (name: string) => bounded(0, UINT32_MAX, (v) => `invalid ${name} value ${String(v)}`);

/** A float percentage in [0, 100]. */
const percentage = z.number().superRefine((v, ctx) => {
  if (v < 0 || v > 100) issue(ctx, `{path} ${v} is not in 0..100`, { fix: 'use a value in 0..100' });
});

/** A GEP-2257 duration with Envoy Gateway's message: `invalid ConnectTimeout value 20kib`. */
const duration = (name: string, missing?: [string, string?]) =>
  gatewayDuration((text, why) => ({ message: `invalid ${name} value ${text}`, fix: why }), missing);

const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// ---------------------------------------------------------------- retry (2.3)

export const EG_RETRY_TRIGGERS = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const satisfies readonly RetryOn[];

export const Retry = z.object({
  numRetries: bounded(0, INT32_MAX).optional(),
  numAttemptsPerPriority: int32.optional(),
  retryOn: z
    .object({
      triggers: z.array(z.enum(EG_RETRY_TRIGGERS)).optional(),
      httpStatusCodes: z.array(bounded(100, 599)).optional(),
    })
    .optional(),
  perRetry: z
    .object({
      timeout: duration('Timeout').optional(),
      backOff: z
        .object({ baseInterval: duration('BaseInterval').optional(), maxInterval: duration('MaxInterval').optional() })
        .superRefine((b, ctx) => {
          // Envoy Gateway's translator rules (clustersettings.go buildRetry).
          const base = validDurationMs(b.baseInterval);
          const max = validDurationMs(b.maxInterval);
          if (base === 0)
            issue(ctx, 'baseInterval cannot be set to 0s', {
              path: ['baseInterval'],
              fix: 'set a positive base interval such as 25ms, or remove it for the 25ms default',
            });
          else if (max === 0)
            issue(ctx, 'maxInterval cannot be set to 0s', {
              path: ['maxInterval'],
              fix: 'set a positive maximum interval, or remove it for 10 x baseInterval',
            });
          else if (base !== undefined && max !== undefined && max < base)
            issue(ctx, 'maxInterval cannot be less than baseInterval', {
              path: ['maxInterval'],
              fix: `set maxInterval to at least ${b.baseInterval}`,
            });
          else if (base === undefined && max !== undefined && max < ENVOY.RETRY_BASE_INTERVAL_MS)
            // Envoy rejects max < base (the 25 ms default); Envoy Gateway would hand it a config Envoy refuses.
            issue(ctx, 'maxInterval cannot be less than baseInterval', {
              path: ['maxInterval'],
              fix: `baseInterval defaults to ${ENVOY.RETRY_BASE_INTERVAL_MS}ms: raise maxInterval or set baseInterval too`,
            });
        })
        .optional(),
    })
    .optional(),
});
export type Retry = z.infer<typeof Retry>;

// ---------------------------------------------------------------- timeout (2.4)

export const Timeout = z.object({
  tcp: z
    .object({ connectTimeout: duration('ConnectTimeout').optional() })
    .superRefine((t, ctx) => {
      if (validDurationMs(t.connectTimeout) === 0)
        issue(ctx, 'connectTimeout must be greater than 0s', {
          path: ['connectTimeout'],
          fix: 'Envoy refuses a zero connect timeout; remove it for the 10s default',
        });
    })
    .optional(),
  http: z
    .object({
      connectionIdleTimeout: duration('ConnectionIdleTimeout').optional(),
      maxConnectionDuration: duration('MaxConnectionDuration').optional(),
      requestTimeout: duration('RequestTimeout').optional(),
      maxStreamDuration: duration('MaxStreamDuration').optional(),
      streamIdleTimeout: duration('StreamIdleTimeout').optional(),
    })
    .optional(),
});
export type Timeout = z.infer<typeof Timeout>;

// ---------------------------------------------------------------- circuitBreaker (2.5)

export const CircuitBreaker = z.object({
  maxConnections: egUint32('MaxConnections').optional(),
  maxParallelRequests: egUint32('MaxParallelRequests').optional(),
  maxPendingRequests: egUint32('MaxPendingRequests').optional(),
  maxParallelRetries: egUint32('MaxParallelRetries').optional(),
  maxRequestsPerConnection: egUint32('MaxRequestsPerConnection').optional(),
  perEndpoint: z.object({ maxConnections: egUint32('PerEndpoint MaxConnections').optional() }).optional(),
  retryBudget: z
    .object({
      percent: z
        .object(
          {
            numerator: bounded(0, INT32_MAX, undefined).optional(),
            denominator: bounded(1, INT32_MAX).optional(),
          },
          whenMissing('retryBudget.percent is required', 'write percent: {numerator: 20} for a 20% budget'),
        )
        .superRefine((f, ctx) => {
          if (f.numerator === undefined)
            issue(ctx, 'percent.numerator is required', { path: ['numerator'], fix: 'write percent: {numerator: 20} for a 20% budget' });
          else if (f.numerator > (f.denominator ?? 100))
            issue(ctx, 'numerator must be less than or equal to denominator', {
              path: ['numerator'],
              fix: `use a numerator of at most ${f.denominator ?? 100}`,
            });
        }),
      minRetryConcurrency: uint32.optional(),
    })
    .optional(),
});
export type CircuitBreaker = z.infer<typeof CircuitBreaker>;

// ---------------------------------------------------------------- healthCheck (2.6)

/** `{type: Text, text}` or `{type: Binary, binary: base64}` (ActiveHealthCheckPayload). */
const Payload = z
  .object({
    type: z.enum(['Text', 'Binary'], whenMissing('payload type is required', 'set type: Text or type: Binary')),
    text: z.string().optional(),
    binary: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.type === 'Text' && p.text === undefined) issue(ctx, 'If payload type is Text, text field needs to be set.', { path: ['text'] });
    if (p.type !== 'Text' && p.text !== undefined)
      issue(ctx, 'If payload type is Text, text field needs to be set.', { path: ['text'], fix: 'remove text or set type: Text' });
    if (p.type === 'Binary' && p.binary === undefined)
      issue(ctx, 'If payload type is Binary, binary field needs to be set.', { path: ['binary'] });
    if (p.type !== 'Binary' && p.binary !== undefined)
      issue(ctx, 'If payload type is Binary, binary field needs to be set.', {
        path: ['binary'],
        fix: 'remove binary or set type: Binary',
      });
    if (p.binary !== undefined && (!BASE64.test(p.binary) || p.binary.length % 4 !== 0))
      issue(ctx, 'binary must be base64', { path: ['binary'], fix: 'encode the bytes with base64' });
  });
export type Payload = z.infer<typeof Payload>;

const statuses = z.array(bounded(100, 599));

const ActiveHealthCheck = z
  .object({
    timeout: duration('Timeout').optional(),
    interval: duration('Interval').optional(),
    initialJitter: duration('InitialJitter').optional(),
    unhealthyThreshold: bounded(1, UINT32_MAX).optional(),
    healthyThreshold: bounded(1, UINT32_MAX).optional(),
    type: z.enum(['HTTP', 'TCP', 'GRPC'], whenMissing('healthCheck.active.type is required', 'set type to HTTP, TCP or GRPC')),
    http: z
      .object({
        hostname: z
          .string()
          .superRefine((h, ctx) => {
            if (h.length > 253 || !HOSTNAME.test(h))
              issue(ctx, `http.hostname "${h}" is not a lower-case DNS name`, { fix: 'write a host name such as health.example.com' });
          })
          .optional(),
        path: z.string(whenMissing('http.path is required', 'set the path to probe, such as /healthz')).superRefine((p, ctx) => {
          if (p.length < 1 || p.length > 1024) issue(ctx, 'http.path must have 1 to 1024 characters');
        }),
        method: z.string().max(16).optional(),
        expectedStatuses: statuses.optional(),
        retriableStatuses: statuses.optional(),
        expectedResponse: Payload.optional(),
        requestBody: Payload.optional(),
      })
      .superRefine((h, ctx) => {
        const method = h.method?.toUpperCase();
        if (h.requestBody !== undefined && method !== 'POST' && method !== 'PUT')
          issue(ctx, 'The requestBody field can only be set when method is POST or PUT.', {
            path: ['requestBody'],
            fix: 'set method: POST (or PUT), or remove requestBody',
          });
      })
      .optional(),
    tcp: z.object({ send: Payload.optional(), receive: Payload.optional() }).optional(),
    grpc: z.object({ service: z.string().optional() }).optional(),
    overrides: z.object({ port: bounded(1, 65_535).optional() }).optional(),
    healthCheckLog: z.looseObject({}).optional(),
  })
  .superRefine((a, ctx) => {
    if ((a.type === 'HTTP') !== (a.http !== undefined))
      issue(ctx, 'If Health Checker type is HTTP, http field needs to be set.', {
        path: ['http'],
        fix: a.type === 'HTTP' ? 'add http: {path: /healthz}' : 'remove the http block or set type: HTTP',
      });
    if ((a.type === 'TCP') !== (a.tcp !== undefined))
      issue(ctx, 'If Health Checker type is TCP, tcp field needs to be set.', {
        path: ['tcp'],
        fix: a.type === 'TCP' ? 'add tcp: {} for a connect-only check' : 'remove the tcp block or set type: TCP',
      });
    if (a.grpc !== undefined && a.type !== 'GRPC')
      issue(ctx, 'The grpc field can only be set if the Health Checker type is GRPC.', {
        path: ['grpc'],
        fix: 'set type: GRPC or remove the grpc block',
      });
    for (const key of ['timeout', 'interval'] as const)
      if (validDurationMs(a[key]) === 0)
        issue(ctx, `${key} must be greater than 0s`, { path: [key], fix: 'Envoy refuses a zero health-check timeout or interval' });
  });
export type ActiveHealthCheck = z.infer<typeof ActiveHealthCheck>;

const PassiveHealthCheck = z
  .object({
    splitExternalLocalOriginErrors: z.boolean().optional(),
    interval: duration('Interval').optional(),
    consecutiveLocalOriginFailures: uint32.optional(),
    consecutiveGatewayErrors: uint32.optional(),
    consecutive5XxErrors: uint32.optional(),
    baseEjectionTime: duration('BaseEjectionTime').optional(),
    maxEjectionPercent: bounded(0, 100).optional(),
    failurePercentageThreshold: bounded(0, 100).optional(),
    alwaysEjectOneEndpoint: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    // Envoy refuses zero durations here; Envoy Gateway passes them on.
    if (validDurationMs(p.interval) === 0)
      issue(ctx, 'interval must be greater than 0s', { path: ['interval'], fix: 'Envoy refuses a zero ejection-sweep interval' });
    if (validDurationMs(p.baseEjectionTime) === 0)
      issue(ctx, 'baseEjectionTime must be greater than 0s', {
        path: ['baseEjectionTime'],
        fix: 'Envoy refuses a zero base ejection time',
      });
  });
export type PassiveHealthCheck = z.infer<typeof PassiveHealthCheck>;

export const HealthCheck = z.object({
  panicThreshold: bounded(0, 100).optional(),
  active: ActiveHealthCheck.optional(),
  passive: PassiveHealthCheck.optional(),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

// ---------------------------------------------------------------- faultInjection (2.7)

export const FaultInjection = z
  .object({
    delay: z
      .object({
        fixedDelay: duration('FixedDelay', ['delay.fixedDelay is required', 'set fixedDelay, such as 2s']),
        percentage: percentage.optional(),
      })
      .optional(),
    abort: z
      .object({ httpStatus: bounded(200, 600).optional(), grpcStatus: bounded(0, 16).optional(), percentage: percentage.optional() })
      .superRefine((a, ctx) => {
        if (a.httpStatus !== undefined && a.grpcStatus !== undefined)
          issue(ctx, 'httpStatus and grpcStatus cannot be simultaneously defined.', {
            path: ['grpcStatus'],
            fix: 'keep one of httpStatus and grpcStatus',
          });
        else if (a.httpStatus === undefined && a.grpcStatus === undefined)
          issue(ctx, 'httpStatus and grpcStatus are set at least one.', { fix: 'set httpStatus (such as 503) or grpcStatus (such as 14)' });
      })
      .optional(),
  })
  .superRefine((f, ctx) => {
    if (f.delay === undefined && f.abort === undefined)
      issue(ctx, 'Delay and abort faults are set at least one.', { fix: 'add delay: {fixedDelay: 1s} or abort: {httpStatus: 503}' });
  });
export type FaultInjection = z.infer<typeof FaultInjection>;

// ---------------------------------------------------------------- loadBalancer (2.8)

/** Deterministic primality for Maglev table sizes (at most 5 000 011). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) if (n % i === 0) return false;
  return true;
}

export const EG_LB_TYPES = ['ConsistentHash', 'LeastRequest', 'Random', 'RoundRobin', 'BackendUtilization', 'DynamicModule'] as const;
export const EG_HASH_TYPES = ['SourceIP', 'Header', 'Headers', 'Cookie', 'QueryParams'] as const;

const HashName = z.object({ name: z.string().min(1, { error: 'name is required' }) });

const ConsistentHash = z
  .object({
    // The CRD's range and Envoy Gateway's prime rule in one check: Envoy Gateway reads the table size first.
    tableSize: z
      .int({ error: (iss) => (iss.input === undefined ? undefined : `ConsistentHash: invalid TableSize value ${String(iss.input)}`) })
      .superRefine((n, ctx) => {
        if (n < 2 || n > ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE_MAX || !isPrime(n))
          issue(ctx, `ConsistentHash: invalid TableSize value ${n}`, {
            fix: `use a prime from 2 to ${ENVOY_GATEWAY.CONSISTENT_HASH_TABLE_SIZE_MAX}, such as 65537`,
          });
      })
      .optional(),
    type: z.enum(EG_HASH_TYPES, whenMissing('consistentHash.type is required', `set type to one of ${EG_HASH_TYPES.join(', ')}`)),
    header: HashName.optional(),
    headers: z.array(HashName).optional(),
    cookie: z
      .object({
        name: z.string(whenMissing('cookie.name is required')).min(1, { error: 'cookie.name is required' }),
        ttl: duration('TTL').optional(),
        attributes: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    queryParams: z.array(HashName).optional(),
  })
  .superRefine((c, ctx) => {
    const pairs: [keyof typeof c, string][] = [
      ['header', 'Header'],
      ['headers', 'Headers'],
      ['cookie', 'Cookie'],
      ['queryParams', 'QueryParams'],
    ];
    for (const [key, hashType] of pairs) {
      const has = c[key] !== undefined;
      if ((c.type === hashType) !== has)
        issue(ctx, `If consistent hash type is ${key}, the ${key} field must be set.`, {
          path: [key],
          fix: has ? `remove ${key} or set type: ${hashType}` : `add ${key}`,
        });
    }
  });
export type ConsistentHash = z.infer<typeof ConsistentHash>;

const BackendUtilization = z.object({
  blackoutPeriod: duration('BlackoutPeriod').optional(),
  weightExpirationPeriod: duration('WeightExpirationPeriod').optional(),
  weightUpdatePeriod: duration('WeightUpdatePeriod').optional(),
  errorUtilizationPenaltyPercent: uint32.optional(),
  metricNamesForComputingUtilization: z.array(z.string()).optional(),
  keepResponseHeaders: z.boolean().optional(),
  outOfBand: z
    .object({
      reportingPeriod: duration('OutOfBand ReportingPeriod').optional(),
      port: bounded(1, 65_535).optional(),
      authority: z.string().min(1).max(259).optional(),
    })
    .superRefine((o, ctx) => {
      if (validDurationMs(o.reportingPeriod) === 0) issue(ctx, 'reportingPeriod must be greater than 0', { path: ['reportingPeriod'] });
    })
    .optional(),
});
export type BackendUtilization = z.infer<typeof BackendUtilization>;

const ZoneAware = z.object({
  preferLocal: z
    .object({
      force: z.object({ minEndpointsInZoneThreshold: uint32.optional() }).optional(),
      minEndpointsThreshold: bounded(0, Number.MAX_SAFE_INTEGER).optional(),
      percentageEnabled: bounded(0, 100).optional(),
    })
    .optional(),
  weightedZones: z
    .array(z.object({ zone: z.string(whenMissing('zone is required')), weight: bounded(0, UINT32_MAX, undefined, ['weight is required']) }))
    .optional(),
});
export type ZoneAware = z.infer<typeof ZoneAware>;

export const LoadBalancer = z
  .object({
    type: z.enum(EG_LB_TYPES, whenMissing('loadBalancer.type is required', `set type to one of ${EG_LB_TYPES.slice(0, 5).join(', ')}`)),
    consistentHash: ConsistentHash.optional(),
    backendUtilization: BackendUtilization.optional(),
    dynamicModule: z.looseObject({}).optional(),
    endpointOverride: z
      .object({
        extractFrom: z
          .array(z.object({ header: z.string().optional() }), whenMissing('endpointOverride.extractFrom must have 1 to 10 entries'))
          .superRefine((l, ctx) => {
            if (l.length < 1 || l.length > 10)
              issue(ctx, 'endpointOverride.extractFrom must have 1 to 10 entries', { fix: 'list the headers carrying IP:port' });
          }),
      })
      .optional(),
    slowStart: z.object({ window: duration('Window', ['slowStart.window is required', 'set the ramp-up window, such as 30s']) }).optional(),
    zoneAware: ZoneAware.optional(),
  })
  .superRefine((lb, ctx) => {
    const t = lb.type;
    if ((t === 'ConsistentHash') !== (lb.consistentHash !== undefined))
      issue(ctx, 'If LoadBalancer type is consistentHash, consistentHash field needs to be set.', {
        path: ['consistentHash'],
        fix: 'set type: ConsistentHash together with consistentHash: {type: SourceIP}',
      });
    if ((t === 'BackendUtilization') !== (lb.backendUtilization !== undefined))
      issue(ctx, 'If LoadBalancer type is BackendUtilization, backendUtilization field needs to be set.', {
        path: ['backendUtilization'],
        fix: 'set type: BackendUtilization together with backendUtilization: {}',
      });
    if ((t === 'DynamicModule') !== (lb.dynamicModule !== undefined))
      issue(ctx, 'If LoadBalancer type is DynamicModule, dynamicModule field needs to be set.', { path: ['dynamicModule'] });
    if (lb.slowStart !== undefined && (t === 'Random' || t === 'ConsistentHash' || t === 'DynamicModule'))
      issue(ctx, 'Currently SlowStart is only supported for RoundRobin, LeastRequest, and BackendUtilization load balancers.', {
        path: ['slowStart'],
        fix: 'remove slowStart or use RoundRobin / LeastRequest',
      });
    const zone = lb.zoneAware;
    if (zone?.preferLocal !== undefined && t === 'ConsistentHash')
      issue(ctx, 'PreferLocal zone-aware routing is not supported for ConsistentHash load balancers. Use weightedZones instead.', {
        path: ['zoneAware', 'preferLocal'],
      });
    if (zone?.preferLocal !== undefined && t === 'BackendUtilization')
      issue(
        ctx,
        'PreferLocal zone-aware routing is not currently supported for BackendUtilization load balancers. Only WeightedZones can be used with BackendUtilization.',
        { path: ['zoneAware', 'preferLocal'] },
      );
    if (zone !== undefined && t === 'DynamicModule')
      issue(ctx, 'ZoneAware routing is not supported for DynamicModule load balancers.', { path: ['zoneAware'] });
    if (zone?.preferLocal !== undefined && zone.weightedZones !== undefined)
      issue(ctx, 'ZoneAware PreferLocal and WeightedZones cannot be specified together.', {
        path: ['zoneAware'],
        fix: 'keep one of preferLocal and weightedZones',
      });
    if (lb.endpointOverride !== undefined && t === 'DynamicModule')
      issue(ctx, 'EndpointOverride is not supported for DynamicModule load balancers.', { path: ['endpointOverride'] });
  });
export type LoadBalancer = z.infer<typeof LoadBalancer>;

// ---------------------------------------------------------------- tcpKeepalive (2.9), connection

export const TcpKeepalive = z.object({
  probes: uint32.optional(),
  idleTime: duration('IdleTime').optional(),
  interval: duration('Interval').optional(),
});
export type TcpKeepalive = z.infer<typeof TcpKeepalive>;

/** int-or-string quantities. */
const quantity = z.union([z.number(), z.string()]);

/** A buffer limit: a quantity of whole bytes up to 4Gi - 1, with Envoy Gateway's messages. */
const bufferLimit = quantity.superRefine((v, ctx) => {
  const q = parseQuantity(String(v));
  if (q === undefined)
    issue(ctx, `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`, {
      fix: 'write bytes such as 32Ki or 100M',
    });
  else if (q.nano % NANO !== 0n)
    issue(ctx, `invalid BufferLimit value ${formatQuantity(q)}`, {
      fix: 'the limit must be a whole number of bytes (note that "m" means milli; use M)',
    });
  else if (q.nano < 0n || q.nano / NANO > BigInt(UINT32_MAX))
    issue(ctx, `BufferLimit value ${formatQuantity(q)} is out of range`, { fix: 'use 0 to 4294967295 bytes (4Gi - 1)' });
});

export const Connection = z.object({
  bufferLimit: bufferLimit.optional(),
  socketBufferLimit: quantity.optional(),
  preconnect: z
    .object({ perEndpointPercent: bounded(100, 300).optional(), predictivePercent: bounded(100, INT32_MAX).optional() })
    .optional(),
});
export type Connection = z.infer<typeof Connection>;

// ---------------------------------------------------------------- the policy (2.2)

export const TARGET_GROUP = 'gateway.networking.k8s.io';
export const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'UDPRoute', 'TLSRoute'] as const;
export const TARGET_KINDS = ['Gateway', 'ListenerSet', ...ROUTE_KINDS] as const;

// group is required; the spec's rule words its absence (`targetRefs[*].group is required`).
const TargetRef = z.object({
  group: group.optional(),
  kind,
  name: objectName,
  sectionName: sectionName.optional(),
});
export type TargetRef = z.infer<typeof TargetRef>;

const TargetSelector = z
  .object({
    group: group.optional(),
    kind,
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: labelSelector.shape.matchExpressions,
    namespaces: z
      .object({ from: z.enum(['Same', 'All', 'Selector']).optional(), selector: labelSelector.optional() })
      .superRefine((n, ctx) => {
        if (n.from === 'Selector' && n.selector === undefined) issue(ctx, 'selector must be specified when from is Selector');
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.group !== undefined && s.group !== TARGET_GROUP) issue(ctx, `group must be ${TARGET_GROUP}`, { path: ['group'] });
    if (!(TARGET_KINDS as readonly string[]).includes(s.kind))
      issue(ctx, `{path} must be one of ${TARGET_KINDS.join(', ')}`, { path: ['kind'] });
  });
export type TargetSelector = z.infer<typeof TargetSelector>;

/** The features legate builds; their schemas are checked by the builders, one feature at a time. */
export const FEATURE_KEYS = [
  'retry',
  'timeout',
  'circuitBreaker',
  'healthCheck',
  'faultInjection',
  'loadBalancer',
  'tcpKeepalive',
  'connection',
] as const;

const KIND_LIST = 'Gateway/ListenerSet/HTTPRoute/GRPCRoute/TCPRoute/UDPRoute/TLSRoute';

const targetFields = {
  targetRef: TargetRef.optional(),
  targetRefs: z.array(TargetRef).optional(),
  targetSelectors: z.array(TargetSelector).optional(),
  mergeType: z.string().optional(),
};
type Targets = { [K in keyof typeof targetFields]?: z.infer<(typeof targetFields)[K]> };

/** The CEL rules on a policy's targets and mergeType (policy_helpers.go, backendtrafficpolicy_types.go). */
function checkTargets(s: Targets, ctx: z.RefinementCtx): void {
  const hasSingle = s.targetRef !== undefined;
  const hasMany = s.targetRefs !== undefined;
  const hasSel = (s.targetSelectors ?? []).length > 0;
  if (!((hasSingle && !hasMany) || (!hasSingle && hasMany) || hasSel))
    issue(ctx, 'either targetRef or targetRefs must be used', { fix: 'list the targets in spec.targetRefs' });
  const refs: [TargetRef, (string | number)[], string][] = [
    ...(s.targetRef ? [[s.targetRef, ['targetRef'], 'targetRef'] as [TargetRef, (string | number)[], string]] : []),
    ...(s.targetRefs ?? []).map((r, i) => [r, ['targetRefs', i], 'targetRefs[*]'] as [TargetRef, (string | number)[], string]),
  ];
  for (const [r, path, list] of refs) {
    if (r.group === undefined) issue(ctx, `${list}.group is required`, { path: [...path, 'group'], fix: `add group: ${TARGET_GROUP}` });
    else if (r.group !== TARGET_GROUP)
      issue(ctx, `this policy can only have a ${list}.group of ${TARGET_GROUP}`, { path: [...path, 'group'] });
    if (!(TARGET_KINDS as readonly string[]).includes(r.kind))
      issue(ctx, `this policy can only have a ${list}.kind of ${KIND_LIST}`, { path: [...path, 'kind'], fix: `kind is "${r.kind}"` });
  }
  if (s.mergeType !== undefined) {
    if (s.mergeType === 'Replace')
      issue(ctx, 'Replace is not a valid MergeType for BackendTrafficPolicySpec', {
        path: ['mergeType'],
        fix: 'use StrategicMerge or JSONMerge, or remove mergeType',
      });
    else if (s.mergeType !== 'StrategicMerge' && s.mergeType !== 'JSONMerge')
      issue(ctx, `spec.mergeType: Unsupported value: ${JSON.stringify(s.mergeType)}: supported values: "StrategicMerge", "JSONMerge"`, {
        path: ['mergeType'],
      });
    const routeOnly = (k: string) => (ROUTE_KINDS as readonly string[]).includes(k);
    if (!refs.every(([r]) => routeOnly(r.kind)) || !(s.targetSelectors ?? []).every((t) => routeOnly(t.kind)))
      issue(ctx, 'mergeType can only be used with xRoute targets', {
        path: ['mergeType'],
        fix: 'remove mergeType from policies that target Gateways or ListenerSets',
      });
  }
}

/** A policy's targets alone, whatever its kind: the other fields are its own schema's. */
export const PolicyTargets = z.looseObject(targetFields).superRefine(checkTargets);
export type PolicyTargets = z.infer<typeof PolicyTargets>;

/**
 * The BackendTrafficPolicy `spec` as a whole: targets, mergeType and the spec-level CEL rules.
 * The feature blocks are left to their builders (each has its own error code and status text);
 * the fields legate does not read are typed as what they are, objects or lists.
 */
export const BackendTrafficPolicySpec = z
  .object({
    ...targetFields,
    ...Object.fromEntries(FEATURE_KEYS.map((k) => [k, z.unknown().optional()])),
    admissionControl: z.looseObject({}).optional(),
    bandwidthLimit: z.looseObject({}).optional(),
    compression: z.array(z.unknown()).optional(),
    compressor: z.array(z.unknown()).optional(),
    dns: z.looseObject({}).optional(),
    http2: z.looseObject({}).optional(),
    httpUpgrade: z.array(z.unknown()).optional(),
    proxyProtocol: z.looseObject({}).optional(),
    rateLimit: z.looseObject({}).optional(),
    requestBuffer: z.looseObject({}).optional(),
    responseOverride: z.array(z.unknown()).optional(),
    routingType: z.string().optional(),
    telemetry: z.looseObject({}).optional(),
    useClientProtocol: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    checkTargets(s, ctx);
    if (s.compression !== undefined && s.compressor !== undefined) issue(ctx, 'either compression or compressor can be set, not both');
  });
export type BackendTrafficPolicySpec = z.infer<typeof BackendTrafficPolicySpec>;

// ---------------------------------------------------------------- EnvoyProxy (2.1)

const loose = z.looseObject({}).optional();

/** EnvoyProxy: accepted as a GatewayClass / Gateway parameter; the fields of config-apis.md 2.1 typed, the rest as objects. */
export const EnvoyProxySpec = z.object({
  provider: z
    .object({
      type: z.enum(['Kubernetes', 'Host']),
      kubernetes: z
        .object({
          envoyService: z
            .object({
              name: z.string().optional(),
              type: z.enum(['ClusterIP', 'LoadBalancer', 'NodePort']).optional(),
              externalTrafficPolicy: z.enum(['Local', 'Cluster']).optional(),
              annotations: z.record(z.string(), z.string()).optional(),
              labels: z.record(z.string(), z.string()).optional(),
              loadBalancerClass: z.string().optional(),
              loadBalancerIP: z.string().optional(),
              loadBalancerSourceRanges: z.array(z.string()).optional(),
              allocateLoadBalancerNodePorts: z.boolean().optional(),
              patch: loose,
            })
            .superRefine((s, ctx) => {
              const lb = (s.type ?? 'LoadBalancer') === 'LoadBalancer';
              for (const f of ['allocateLoadBalancerNodePorts', 'loadBalancerSourceRanges', 'loadBalancerIP'] as const)
                if (s[f] !== undefined && !lb) issue(ctx, `${f} can only be set for LoadBalancer type`, { path: [f] });
            })
            .optional(),
          envoyDeployment: z
            .object({
              name: z.string().optional(),
              replicas: int32.optional(),
              strategy: loose,
              pod: loose,
              container: loose,
              initContainers: z.array(z.unknown()).optional(),
              patch: loose,
            })
            .optional(),
          envoyDaemonSet: loose,
          envoyHpa: loose,
          envoyPDB: loose,
          envoyServiceAccount: loose,
          useListenerPortAsContainerPort: z.boolean().optional(),
        })
        .superRefine((k, ctx) => {
          if (k.envoyDeployment !== undefined && k.envoyDaemonSet !== undefined)
            issue(ctx, 'only one of envoyDeployment or envoyDaemonSet can be specified');
          if (k.envoyHpa !== undefined && k.envoyDaemonSet !== undefined) issue(ctx, 'cannot use envoyHpa if envoyDaemonSet is used');
        })
        .optional(),
      host: loose,
    })
    .optional(),
  shutdown: z
    .object({
      drainTimeout: duration('DrainTimeout').optional(),
      minDrainDuration: duration('MinDrainDuration').optional(),
      healthCheckFailureDelay: duration('HealthCheckFailureDelay').optional(),
    })
    .optional(),
  logging: z
    .object({ level: z.record(z.string(), z.enum(['trace', 'debug', 'info', 'warn', 'error', 'off', 'critical'])).optional() })
    .optional(),
  telemetry: loose,
  mergeGateways: z.boolean().optional(),
  mergeBackends: loose,
  ipFamily: z.enum(['IPv4', 'IPv6', 'DualStack']).optional(),
  routingType: z.enum(['Service', 'Endpoint']).optional(),
  backendTLS: loose,
  bootstrap: loose,
  concurrency: int32.optional(),
  dynamicModules: z.array(z.unknown()).optional(),
  extraArgs: z.array(z.string()).optional(),
  filterOrder: z.array(z.unknown()).optional(),
  geoIP: loose,
  lua: loose,
  luaValidation: z.enum(['Strict', 'InsecureSyntax', 'Disabled']).optional(),
  mergeType: z.enum(['Replace', 'StrategicMerge', 'JSONMerge']).optional(),
  preserveRouteOrder: z.boolean().optional(),
});
export type EnvoyProxySpec = z.infer<typeof EnvoyProxySpec>;
