/**
 * BackendTrafficPolicy `spec.retry` -> the route's retry policy (config-apis.md 2.3; Envoy Gateway
 * `buildRetry` in clustersettings.go and `buildRetryPolicy` in xds/translator/route.go).
 *
 * A `retry` block at all gives Envoy Gateway's policy: 2 retries on
 * `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes` with status [503],
 * previous-hosts predicate and 5 host-selection attempts. Then:
 * - `numRetries` replaces the count (0 disables retries);
 * - `retryOn` with triggers replaces the trigger list (Envoy Gateway sorts and de-duplicates it);
 * - the 503 quirk: as soon as `retryOn` sets triggers or status codes, the status-code list becomes
 *   `httpStatusCodes`, even when that is empty, so `retryOn: {triggers: [5xx]}` drops the default
 *   503 and `retryOn: {httpStatusCodes: [500]}` keeps the default triggers with [500];
 * - `perRetry.timeout` -> per-try timeout; `perRetry.backOff` -> base / max interval (max defaults
 *   to 10 x base, Envoy's rule); `0s` and max < base are errors, as in Envoy Gateway;
 * - `numAttemptsPerPriority` > 0 -> Envoy's previous_priorities retry plugin.
 */
import { ENVOY, ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { Origins } from '../../../ir/origin.js';
import { GRPC_RETRY_ON, type RetryOn, type RetryPolicy } from '../../../ir/policy.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import {
  EG_CODES,
  checkKnown,
  egDefault,
  fail,
  get,
  manifestOrigin,
  readArray,
  readDuration,
  readEnum,
  readInt,
  readObject,
  reader,
  warn,
  type Path,
} from './spec-reader.js';

/** Envoy Gateway's TriggerEnum (CRD enum). */
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

export function buildRetry(btp: LoadedObject, diags: Diagnostics): RetryPolicy | undefined {
  const r = reader(btp, diags, 'retry');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'retry', ['spec']);
  const retry = readObject(r, at.value, at.path);
  if (!retry) return undefined;
  const base: Path = at.path;
  checkKnown(r, retry, base, ['numRetries', 'numAttemptsPerPriority', 'retryOn', 'perRetry']);

  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  const e = (name: string) => egDefault(`ENVOY.${name}`, 'envoy');
  const origin: Origins = {
    numRetries: d('NUM_RETRIES'),
    retryOn: d('RETRY_ON'),
    retriableStatusCodes: d('RETRIABLE_STATUS_CODES'),
    previousHosts: d('RETRY_PREVIOUS_HOSTS'),
    hostSelectionRetryMaxAttempts: d('HOST_SELECTION_RETRY_MAX_ATTEMPTS'),
    'backoff.baseIntervalMs': e('RETRY_BASE_INTERVAL_MS'),
    'backoff.maxIntervalMs': { kind: 'derived', from: 'backoff.baseIntervalMs x ENVOY.RETRY_MAX_INTERVAL_FACTOR' },
    bufferLimitBytes: e('BUFFER_LIMIT_BYTES'),
  };
  const policy: RetryPolicy = {
    retryOn: [...ENVOY_GATEWAY.RETRY_ON],
    numRetries: ENVOY_GATEWAY.NUM_RETRIES,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: [...ENVOY_GATEWAY.RETRIABLE_STATUS_CODES],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backoff: {
      baseIntervalMs: ENVOY.RETRY_BASE_INTERVAL_MS,
      maxIntervalMs: ENVOY.RETRY_BASE_INTERVAL_MS * ENVOY.RETRY_MAX_INTERVAL_FACTOR,
    },
    previousHosts: ENVOY_GATEWAY.RETRY_PREVIOUS_HOSTS,
    hostSelectionRetryMaxAttempts: ENVOY_GATEWAY.HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    bufferLimitBytes: ENVOY.BUFFER_LIMIT_BYTES,
    origin,
  };

  const n = get(r, retry, 'numRetries', base);
  const numRetries = readInt(r, n.value, n.path, { min: 0, max: 2_147_483_647 });
  if (numRetries !== undefined) {
    policy.numRetries = numRetries;
    origin['numRetries'] = manifestOrigin(r, n.path);
  }

  const p = get(r, retry, 'numAttemptsPerPriority', base);
  const perPriority = readInt(r, p.value, p.path, { min: -2_147_483_648, max: 2_147_483_647 });
  if (perPriority !== undefined && perPriority > 0) {
    policy.retryPriority = { kind: 'previous-priorities', updateFrequency: perPriority };
    origin['retryPriority'] = manifestOrigin(r, p.path);
  }

  const on = get(r, retry, 'retryOn', base);
  const retryOn = readObject(r, on.value, on.path);
  let codesWritten = false;
  if (retryOn) {
    checkKnown(r, retryOn, on.path, ['triggers', 'httpStatusCodes']);
    const t = get(r, retryOn, 'triggers', on.path);
    const c = get(r, retryOn, 'httpStatusCodes', on.path);
    const triggerList = readArray(r, t.value, t.path);
    const codeList = readArray(r, c.value, c.path);
    codesWritten = codeList !== undefined;
    const triggers: RetryOn[] = [];
    triggerList?.forEach((v, i) => {
      const trig = readEnum(r, v, [...t.path, i], EG_RETRY_TRIGGERS);
      if (trig) triggers.push(trig);
    });
    const codes: number[] = [];
    codeList?.forEach((v, i) => {
      const code = readInt(r, v, [...c.path, i], { min: 100, max: 599 });
      if (code !== undefined) codes.push(code);
    });
    if (triggerList && triggers.length > 0) {
      // Envoy Gateway keeps the triggers as a set: sorted, without duplicates.
      policy.retryOn = [...new Set(triggers)].sort();
      origin['retryOn'] = manifestOrigin(r, t.path);
    }
    if (triggerList || codeList) {
      policy.retriableStatusCodes = [...new Set(codes)].sort((a, b) => a - b);
      origin['retriableStatusCodes'] = codeList
        ? manifestOrigin(r, c.path)
        : {
            kind: 'derived',
            from: `${on.path.join('.')} without httpStatusCodes: Envoy Gateway replaces the default [503] with an empty list`,
          };
    }
  }

  const pr = get(r, retry, 'perRetry', base);
  const perRetry = readObject(r, pr.value, pr.path);
  if (perRetry) {
    checkKnown(r, perRetry, pr.path, ['timeout', 'backOff']);
    const to = get(r, perRetry, 'timeout', pr.path);
    const timeout = readDuration(r, to.value, to.path, 'Timeout');
    if (timeout !== undefined) {
      policy.perTryTimeoutMs = timeout;
      origin['perTryTimeoutMs'] = manifestOrigin(r, to.path);
      if (timeout === 0)
        warn(
          r,
          EG_CODES.NO_EFFECT,
          to.path,
          'a per-retry timeout of 0s means no per-try timeout',
          'remove it, or set the longest time one attempt may take',
        );
    }
    const bo = get(r, perRetry, 'backOff', pr.path);
    const backOff = readObject(r, bo.value, bo.path);
    if (backOff) {
      checkKnown(r, backOff, bo.path, ['baseInterval', 'maxInterval']);
      const b = get(r, backOff, 'baseInterval', bo.path);
      const m = get(r, backOff, 'maxInterval', bo.path);
      const baseMs = readDuration(r, b.value, b.path, 'BaseInterval');
      const maxMs = readDuration(r, m.value, m.path, 'MaxInterval');
      if (baseMs === 0)
        fail(r, b.path, 'baseInterval cannot be set to 0s', 'set a positive base interval such as 25ms, or remove it for the 25ms default');
      else if (maxMs === 0)
        fail(r, m.path, 'maxInterval cannot be set to 0s', 'set a positive maximum interval, or remove it for 10 x baseInterval');
      else if (baseMs !== undefined && maxMs !== undefined && maxMs < baseMs)
        fail(r, m.path, 'maxInterval cannot be less than baseInterval', `set maxInterval to at least ${String(b.value)}`);
      else if (baseMs === undefined && maxMs !== undefined && maxMs < ENVOY.RETRY_BASE_INTERVAL_MS)
        // Envoy rejects max < base (the 25 ms default); Envoy Gateway would hand it a config Envoy refuses.
        fail(
          r,
          m.path,
          'maxInterval cannot be less than baseInterval',
          `baseInterval defaults to ${ENVOY.RETRY_BASE_INTERVAL_MS}ms: raise maxInterval or set baseInterval too`,
        );
      if (baseMs !== undefined && r.ok) {
        policy.backoff.baseIntervalMs = baseMs;
        origin['backoff.baseIntervalMs'] = manifestOrigin(r, b.path);
        policy.backoff.maxIntervalMs = baseMs * ENVOY.RETRY_MAX_INTERVAL_FACTOR;
      }
      if (maxMs !== undefined && r.ok) {
        policy.backoff.maxIntervalMs = maxMs;
        origin['backoff.maxIntervalMs'] = manifestOrigin(r, m.path);
      }
    }
  }

  if (!r.ok) return undefined;

  const onCodes = policy.retryOn.includes('retriable-status-codes');
  if (onCodes && policy.retriableStatusCodes.length === 0)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      on.path,
      'the retriable-status-codes trigger has no status codes: with retryOn set, Envoy Gateway drops its default [503]',
      'list the codes in retryOn.httpStatusCodes (for example [503])',
    );
  if (!onCodes && policy.retriableStatusCodes.length > 0 && codesWritten)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      [...on.path, 'httpStatusCodes'],
      'httpStatusCodes are only used with the retriable-status-codes trigger, which retryOn.triggers does not list',
      'add retriable-status-codes to retryOn.triggers',
    );
  const grpcOnly = policy.retryOn.every((t) => (GRPC_RETRY_ON as readonly string[]).includes(t));
  if (grpcOnly && retryOn)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      on.path,
      'only gRPC triggers are listed: plain HTTP failures (resets, connect failures, 5xx) are not retried',
      'add connect-failure, reset or 5xx if HTTP failures should be retried too',
    );
  return policy;
}
