import { compileRegex } from '../common/regex.js';
import type { Config } from './index.js';
import type { Diagnostic } from './diagnostic.js';
import type { Cluster } from './cluster.js';
import type { PathMatch, Route, StringMatch, VirtualHost } from './route.js';
import type { FaultPolicy, FractionalPercent, RetryPolicy } from './policy.js';

/** Checks an IR for internal consistency. Returns diagnostics; never throws. */
export function validate(config: Config): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (object: string, field: string, message: string, fix?: string) =>
    out.push({ code: 'E_IR_INVALID', severity: 'error', object, field, message, ...(fix ? { fix } : {}) });

  const clusters = new Set<string>();
  config.clusters.forEach((c, i) => {
    const obj = `cluster/${c.name}`;
    if (!c.name) err(`clusters[${i}]`, 'name', 'cluster has no name', 'give every cluster a unique name');
    if (clusters.has(c.name)) err(obj, 'name', `duplicate cluster name "${c.name}"`, 'rename one of them');
    clusters.add(c.name);
    validateCluster(c, obj, err);
  });

  const names = new Set<string>();
  const addresses = new Set<string>();
  config.listeners.forEach((l, i) => {
    const obj = `listener/${l.name || i}`;
    if (names.has(l.name)) err(obj, 'name', `duplicate listener name "${l.name}"`, 'rename one of them');
    names.add(l.name);
    if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) err(obj, 'port', `port ${l.port} is not in 0-65535`);
    if (l.declaredPort !== undefined && (!Number.isInteger(l.declaredPort) || l.declaredPort < 1 || l.declaredPort > 65535))
      err(obj, 'declaredPort', `declaredPort ${l.declaredPort} is not in 1-65535`, 'leave it out to use the bound port');
    const key = `${l.address}:${l.port}`;
    if (l.port !== 0 && addresses.has(key))
      err(obj, 'port', `another listener already binds ${key}`, 'merge the listeners or change a port');
    addresses.add(key);
    if (l.tls && !((l.tls.cert || l.tls.certFile) && (l.tls.key || l.tls.keyFile)))
      err(obj, 'tls', 'TLS needs both a certificate and a key');
    for (const k of ['idleTimeoutMs', 'requestTimeoutMs', 'requestHeadersTimeoutMs', 'streamIdleTimeoutMs', 'maxConnections'] as const)
      if (!(l.limits[k] >= 0)) err(obj, `limits.${k}`, `${k} must be 0 or more, not ${l.limits[k]}`);
    // RFC 9113 6.5.2: windows above 2^31-1 are a protocol error; Node also refuses them.
    for (const k of ['h2InitialStreamWindowSize', 'h2InitialConnectionWindowSize'] as const)
      if (!(l.limits[k] >= 0 && l.limits[k] <= 2_147_483_647)) err(obj, `limits.${k}`, `${k} must be between 0 and 2147483647`);
    const domains = new Map<string, string>();
    l.virtualHosts.forEach((vh, j) => {
      const vobj = `${obj}/vhost/${vh.name || j}`;
      for (const d of vh.domains) {
        const norm = d.toLowerCase();
        if (!isValidDomain(norm)) err(vobj, 'domains', `"${d}" is not a host name, "*.suffix" wildcard or "*"`);
        const other = domains.get(norm);
        if (other !== undefined)
          err(
            vobj,
            'domains',
            `domain "${d}" is also served by virtual host "${other}"`,
            'each domain may appear in one virtual host of a listener',
          );
        domains.set(norm, vh.name);
      }
      validateVirtualHost(vh, vobj, clusters, err);
    });
  });
  return out;
}

type Err = (object: string, field: string, message: string, fix?: string) => void;

function validateCluster(c: Cluster, obj: string, err: Err): void {
  c.endpoints.forEach((e, i) => {
    if (!e.address) err(obj, `endpoints[${i}].address`, 'endpoint has no address');
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) err(obj, `endpoints[${i}].port`, `port ${e.port} is not in 1-65535`);
    if (!Number.isInteger(e.weight) || e.weight < 1) err(obj, `endpoints[${i}].weight`, `weight ${e.weight} must be a whole number >= 1`);
    if (!Number.isInteger(e.priority) || e.priority < 0) err(obj, `endpoints[${i}].priority`, `priority ${e.priority} must be >= 0`);
  });
  const cb = c.circuitBreakers;
  for (const k of ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries'] as const)
    if (!(cb[k] >= 0)) err(obj, `circuitBreakers.${k}`, `${k} must be >= 0`);
  if (!(c.pool.connectTimeoutMs > 0)) err(obj, 'pool.connectTimeoutMs', 'connect timeout must be > 0');
  if (!(c.pool.h2MaxConcurrentStreams >= 1)) err(obj, 'pool.h2MaxConcurrentStreams', 'must be >= 1');
  if (c.healthyPanicThreshold < 0 || c.healthyPanicThreshold > 100) err(obj, 'healthyPanicThreshold', 'must be within 0-100');
}

function validateVirtualHost(vh: VirtualHost, obj: string, clusters: Set<string>, err: Err): void {
  if (vh.retry) validateRetry(vh.retry, obj, 'retry', err);
  const names = new Set<string>();
  vh.routes.forEach((r, i) => {
    const robj = `${obj}/route/${r.name || i}`;
    if (names.has(r.name)) err(robj, 'name', `duplicate route name "${r.name}" in virtual host "${vh.name}"`);
    names.add(r.name);
    validateRoute(r, robj, clusters, err);
  });
}

function validateRoute(r: Route, obj: string, clusters: Set<string>, err: Err): void {
  if (r.match.path) validatePath(r.match.path, obj, err);
  r.match.headers?.forEach((h, i) => validateString(h.match, obj, `match.headers[${i}]`, err));
  r.match.query?.forEach((q, i) => validateString(q.match, obj, `match.query[${i}]`, err));
  if (r.match.grpc?.kind === 'regex') {
    for (const k of ['service', 'method'] as const) {
      const v = r.match.grpc[k];
      if (v !== undefined && !compiles(v)) err(obj, `match.grpc.${k}`, `invalid regular expression ${JSON.stringify(v)}`);
    }
  }
  const a = r.action;
  if (a.kind === 'forward') {
    if (a.clusters.length === 0) err(obj, 'action.clusters', 'forward action has no clusters');
    let total = 0;
    a.clusters.forEach((wc, i) => {
      if (!wc.missing && !clusters.has(wc.cluster))
        err(obj, `action.clusters[${i}].cluster`, `cluster "${wc.cluster}" does not exist`, 'define the cluster or fix the name');
      if (!Number.isInteger(wc.weight) || wc.weight < 0) err(obj, `action.clusters[${i}].weight`, 'weight must be a whole number >= 0');
      total += wc.weight;
    });
    if (a.clusters.length > 0 && total === 0) err(obj, 'action.clusters', 'every weight is 0; at least one must be > 0');
  } else if (a.kind === 'redirect') {
    if (![301, 302, 303, 307, 308].includes(a.redirect.statusCode))
      err(obj, 'action.redirect.statusCode', `redirect status ${a.redirect.statusCode} is not 301, 302, 303, 307 or 308`);
  } else if (a.kind === 'direct') {
    if (!Number.isInteger(a.response.status) || a.response.status < 200 || a.response.status > 599)
      err(obj, 'action.response.status', `status ${a.response.status} is not in 200-599`);
  }
  if (r.retry) validateRetry(r.retry, obj, 'retry', err);
  const rewrites = [r.rewrite?.path, a.kind === 'redirect' ? a.redirect.path : undefined];
  for (const pr of rewrites) {
    if (pr?.kind === 'regex' && !compiles(pr.pattern))
      err(obj, 'rewrite.path.pattern', `invalid regular expression ${JSON.stringify(pr.pattern)}`);
  }
  r.cors?.allowOrigins.forEach((m, i) => validateString(m, obj, `cors.allowOrigins[${i}]`, err));
  r.mirrors?.forEach((m, i) => {
    if (!clusters.has(m.cluster)) err(obj, `mirrors[${i}].cluster`, `cluster "${m.cluster}" does not exist`);
  });
  if (r.timeout) {
    const t = r.timeout;
    for (const k of ['requestMs', 'idleMs', 'maxGrpcTimeoutMs', 'grpcTimeoutOffsetMs'] as const) {
      const v = t[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) err(obj, `timeout.${k}`, `${k} must be a number of milliseconds >= 0`);
    }
    const m = t.maxStreamDuration;
    if (m) {
      for (const k of ['maxMs', 'grpcTimeoutHeaderMaxMs', 'grpcTimeoutHeaderOffsetMs'] as const) {
        const v = m[k];
        if (v !== undefined && !(Number.isFinite(v) && v >= 0)) err(obj, `timeout.maxStreamDuration.${k}`, `${k} must be >= 0`);
      }
    }
  }
  if (r.fault) validateFault(r.fault, obj, err);
}

function validateRetry(p: RetryPolicy, obj: string, field: string, err: Err): void {
  if (!Number.isInteger(p.numRetries) || p.numRetries < 0) err(obj, `${field}.numRetries`, 'must be a whole number >= 0');
  if (!(p.backoff.baseIntervalMs > 0)) err(obj, `${field}.backoff.baseIntervalMs`, 'must be > 0');
  if (p.backoff.maxIntervalMs < p.backoff.baseIntervalMs)
    err(obj, `${field}.backoff.maxIntervalMs`, 'max interval must be >= base interval');
  for (const k of ['perTryTimeoutMs', 'perTryIdleTimeoutMs', 'bufferLimitBytes', 'hostSelectionRetryMaxAttempts'] as const) {
    if (!(Number.isFinite(p[k]) && p[k] >= 0)) err(obj, `${field}.${k}`, `${k} must be >= 0`);
  }
  p.retriableStatusCodes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 100 || s > 599) err(obj, `${field}.retriableStatusCodes[${i}]`, `${s} is not an HTTP status`);
  });
}

function validateFault(f: FaultPolicy, obj: string, err: Err): void {
  const pct = (p: FractionalPercent, field: string) => {
    if (![100, 10_000, 1_000_000].includes(p.denominator))
      err(obj, `${field}.denominator`, `denominator ${p.denominator} must be 100, 10000 or 1000000`);
    if (!(p.numerator >= 0)) err(obj, `${field}.numerator`, 'numerator must be >= 0');
  };
  if (!f.delay && !f.abort) err(obj, 'fault', 'a fault needs a delay, an abort, or both');
  if (f.delay) {
    pct(f.delay.percent, 'fault.delay.percent');
    if (!f.delay.fromHeader && !(f.delay.fixedMs !== undefined && f.delay.fixedMs >= 0))
      err(obj, 'fault.delay.fixedMs', 'a delay needs fixedMs >= 0 (or fromHeader)');
  }
  if (f.abort) {
    pct(f.abort.percent, 'fault.abort.percent');
    const a = f.abort;
    if (a.httpStatus !== undefined && !(Number.isInteger(a.httpStatus) && a.httpStatus >= 200 && a.httpStatus < 600))
      err(obj, 'fault.abort.httpStatus', `HTTP status ${a.httpStatus} must be within 200-599`);
    if (a.grpcStatus !== undefined && !(Number.isInteger(a.grpcStatus) && a.grpcStatus >= 0 && a.grpcStatus <= 16))
      err(obj, 'fault.abort.grpcStatus', `gRPC status ${a.grpcStatus} must be within 0-16`);
    if (a.httpStatus === undefined && a.grpcStatus === undefined && !a.fromHeader)
      err(obj, 'fault.abort', 'an abort needs httpStatus, grpcStatus or fromHeader');
  }
  if (f.maxActiveFaults !== undefined && !(Number.isInteger(f.maxActiveFaults) && f.maxActiveFaults >= 0))
    err(obj, 'fault.maxActiveFaults', 'must be a whole number >= 0');
}

function validatePath(p: PathMatch, obj: string, err: Err): void {
  if (p.kind === 'regex') {
    if (!compiles(p.value)) err(obj, 'match.path', `invalid regular expression ${JSON.stringify(p.value)}`);
  } else if (!p.value.startsWith('/')) {
    err(obj, 'match.path', `path "${p.value}" must start with "/"`);
  }
}

function validateString(m: StringMatch, obj: string, field: string, err: Err): void {
  if (m.kind === 'regex' && !compiles(m.value)) err(obj, field, `invalid regular expression ${JSON.stringify(m.value)}`);
}

/** Regexes are RE2 (Envoy's dialect); the same translation the router uses decides validity. */
function compiles(re: string): boolean {
  try {
    compileRegex(re);
    return true;
  } catch {
    return false;
  }
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
function isValidDomain(d: string): boolean {
  if (d === '*') return true;
  const host = d.startsWith('*.') ? d.slice(2) : d;
  const noPort = host.replace(/:[0-9]+$/, '');
  return noPort.length > 0 && noPort.split('.').every((l) => LABEL.test(l) || l === '_');
}
