/**
 * fake-service's environment variables (v0.26.2), read with the rules of nicholasjackson/env:
 * an unset or empty variable takes its default; a value that does not parse leaves the Go zero
 * value (0, false, 0s), not the default, and is reported in `problems`.
 */
import { parseGoBool, parseGoDuration, parseGoFloat, parseGoInt } from './go-format.js';

export type Env = Record<string, string | undefined>;

export type FakeServiceConfig = {
  upstreamURIs: string;
  upstreamAllowInsecure: boolean;
  upstreamWorkers: number;
  upstreamRequestBody: string;
  upstreamRequestSize: number;
  upstreamRequestVariance: number;
  message: string;
  name: string;
  listenAddress: string;
  allowedOrigins: string;
  allowedHeaders: string;
  allowCredentials: boolean;
  serverKeepAlives: boolean;
  /** Durations are in nanoseconds, as Go's time.Duration. */
  serverReadTimeoutNs: number;
  serverReadHeaderTimeoutNs: number;
  serverWriteTimeoutNs: number;
  serverIdleTimeoutNs: number;
  upstreamClientKeepAlives: boolean;
  upstreamAppendRequest: boolean;
  upstreamRequestTimeoutNs: number;
  timing50Ns: number;
  timing90Ns: number;
  timing99Ns: number;
  timingVariance: number;
  errorRate: number;
  errorType: string;
  errorCode: number;
  errorDelayNs: number;
  rateLimitRPS: number;
  rateLimitCode: number;
  loadCPUAllocated: number;
  loadCPUClockSpeed: number;
  loadCPUCores: number;
  loadCPUPercentage: number;
  loadMemoryAllocated: number;
  loadMemoryVariance: number;
  zipkinEndpoint: string;
  datadogTracingHost: string;
  datadogTracingPort: string;
  datadogMetricsHost: string;
  datadogMetricsPort: string;
  datadogMetricsEnvironment: string;
  logFormat: string;
  logLevel: string;
  logOutput: string;
  tlsCertificate: string;
  tlsKey: string;
  healthResponseCode: number;
  readySuccessResponseCode: number;
  readyFailureResponseCode: number;
  readyRootPathWaitTillReady: boolean;
  readyResponseDelayNs: number;
  seed: number;
  uiPath: string;
};

type Kind = 'string' | 'integer' | 'float' | 'boolean' | 'duration';
type Spec = [env: string, key: keyof FakeServiceConfig, kind: Kind, dflt: string | number | boolean];

const S = 1e9;
/** Every variable, its field, type and default, in main.go's order. */
export const ENV_SPECS: readonly Spec[] = [
  ['UPSTREAM_URIS', 'upstreamURIs', 'string', ''],
  ['UPSTREAM_ALLOW_INSECURE', 'upstreamAllowInsecure', 'boolean', false],
  ['UPSTREAM_WORKERS', 'upstreamWorkers', 'integer', 1],
  ['UPSTREAM_REQUEST_BODY', 'upstreamRequestBody', 'string', ''],
  ['UPSTREAM_REQUEST_SIZE', 'upstreamRequestSize', 'integer', 0],
  ['UPSTREAM_REQUEST_VARIANCE', 'upstreamRequestVariance', 'integer', 0],
  ['MESSAGE', 'message', 'string', 'Hello World'],
  ['NAME', 'name', 'string', 'Service'],
  ['LISTEN_ADDR', 'listenAddress', 'string', '0.0.0.0:9090'],
  ['ALLOWED_ORIGINS', 'allowedOrigins', 'string', '*'],
  ['ALLOWED_HEADERS', 'allowedHeaders', 'string', 'Accept,Accept-Language,Content-Language,Origin,Content-Type'],
  ['ALLOW_CREDENTIALS', 'allowCredentials', 'boolean', false],
  ['HTTP_SERVER_KEEP_ALIVES', 'serverKeepAlives', 'boolean', false],
  ['HTTP_SERVER_READ_TIMEOUT', 'serverReadTimeoutNs', 'duration', 5 * S],
  ['HTTP_SERVER_READHEADER_TIMEOUT', 'serverReadHeaderTimeoutNs', 'duration', 0],
  ['HTTP_SERVER_WRITE_TIMEOUT', 'serverWriteTimeoutNs', 'duration', 10 * S],
  ['HTTP_SERVER_IDLE_TIMEOUT', 'serverIdleTimeoutNs', 'duration', 30 * S],
  ['HTTP_CLIENT_KEEP_ALIVES', 'upstreamClientKeepAlives', 'boolean', false],
  ['HTTP_CLIENT_APPEND_REQUEST', 'upstreamAppendRequest', 'boolean', true],
  ['HTTP_CLIENT_REQUEST_TIMEOUT', 'upstreamRequestTimeoutNs', 'duration', 30 * S],
  ['TIMING_50_PERCENTILE', 'timing50Ns', 'duration', 0],
  ['TIMING_90_PERCENTILE', 'timing90Ns', 'duration', 0],
  ['TIMING_99_PERCENTILE', 'timing99Ns', 'duration', 0],
  ['TIMING_VARIANCE', 'timingVariance', 'integer', 0],
  ['ERROR_RATE', 'errorRate', 'float', 0],
  ['ERROR_TYPE', 'errorType', 'string', 'http_error'],
  ['ERROR_CODE', 'errorCode', 'integer', 500],
  ['ERROR_DELAY', 'errorDelayNs', 'duration', 0],
  ['RATE_LIMIT', 'rateLimitRPS', 'float', 0],
  ['RATE_LIMIT_CODE', 'rateLimitCode', 'integer', 503],
  ['LOAD_CPU_ALLOCATED', 'loadCPUAllocated', 'integer', 0],
  ['LOAD_CPU_CLOCK_SPEED', 'loadCPUClockSpeed', 'integer', 1000],
  ['LOAD_CPU_CORES', 'loadCPUCores', 'integer', -1],
  ['LOAD_CPU_PERCENTAGE', 'loadCPUPercentage', 'float', 0],
  ['LOAD_MEMORY_PER_REQUEST', 'loadMemoryAllocated', 'integer', 0],
  ['LOAD_MEMORY_VARIANCE', 'loadMemoryVariance', 'integer', 0],
  ['TRACING_ZIPKIN', 'zipkinEndpoint', 'string', ''],
  ['TRACING_DATADOG_HOST', 'datadogTracingHost', 'string', ''],
  ['TRACING_DATADOG_PORT', 'datadogTracingPort', 'string', '8126'],
  ['METRICS_DATADOG_HOST', 'datadogMetricsHost', 'string', ''],
  ['METRICS_DATADOG_PORT', 'datadogMetricsPort', 'string', '8125'],
  ['METRICS_DATADOG_ENVIRONMENT', 'datadogMetricsEnvironment', 'string', 'production'],
  ['LOG_FORMAT', 'logFormat', 'string', 'text'],
  ['LOG_LEVEL', 'logLevel', 'string', 'info'],
  ['LOG_OUTPUT', 'logOutput', 'string', 'stdout'],
  ['TLS_CERT_LOCATION', 'tlsCertificate', 'string', ''],
  ['TLS_KEY_LOCATION', 'tlsKey', 'string', ''],
  ['HEALTH_CHECK_RESPONSE_CODE', 'healthResponseCode', 'integer', 200],
  ['READY_CHECK_RESPONSE_SUCCESS_CODE', 'readySuccessResponseCode', 'integer', 200],
  ['READY_CHECK_RESPONSE_FAILURE_CODE', 'readyFailureResponseCode', 'integer', 503],
  ['READY_CHECK_ROOT_PATH_WAIT_TILL_READY', 'readyRootPathWaitTillReady', 'boolean', false],
  ['READY_CHECK_RESPONSE_DELAY', 'readyResponseDelayNs', 'duration', 0],
  ['RAND_SEED', 'seed', 'integer', 0],
  ['UI_PATH', 'uiPath', 'string', '/ui/'],
];

export type ParsedConfig = { config: FakeServiceConfig; problems: string[] };

/** Reads the configuration; `nowUnixSeconds` is RAND_SEED's default (the start time, as the original). */
export function parseFakeServiceEnv(env: Env, nowUnixSeconds: number): ParsedConfig {
  const config = {} as Record<keyof FakeServiceConfig, string | number | boolean>;
  const problems: string[] = [];
  for (const [name, key, kind, dflt] of ENV_SPECS) {
    const text = env[name] ?? '';
    if (text === '') {
      config[key] = key === 'seed' ? nowUnixSeconds : dflt;
      continue;
    }
    const parsed =
      kind === 'string'
        ? { ok: true as const, value: text }
        : kind === 'integer'
          ? parseGoInt(text)
          : kind === 'float'
            ? parseGoFloat(text)
            : kind === 'boolean'
              ? parseGoBool(text)
              : parseGoDuration(text);
    if (parsed.ok) config[key] = parsed.value;
    else {
      config[key] = kind === 'boolean' ? false : 0;
      problems.push(`expected: ${name} type: ${kind} got: ${text}`);
    }
  }
  return { config: config as unknown as FakeServiceConfig, problems };
}

/** tidyURIs: split on ',', trim spaces, drop empties. */
export function tidyURIs(uris: string): string[] {
  return uris
    .split(',')
    .map((u) => u.replace(/^ +| +$/g, ''))
    .filter((u) => u !== '');
}
