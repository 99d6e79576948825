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
import { durationMs } from '../../schema/k8s.js';
import { Retry } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn } from './spec-reader.js';

export { EG_RETRY_TRIGGERS } from './schema.js';

export function buildRetry(btp: LoadedObject, diags: Diagnostics): RetryPolicy | undefined {
  const r = reader(btp, diags, 'retry');
  const block = readFeature(r, Retry);
  if (!block) return undefined;
  const { value: retry, at } = block;

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

  if (retry.numRetries !== undefined) {
    policy.numRetries = retry.numRetries;
    origin['numRetries'] = manifestOrigin(r, at('numRetries'));
  }

  const perPriority = retry.numAttemptsPerPriority;
  if (perPriority !== undefined && perPriority > 0) {
    policy.retryPriority = { kind: 'previous-priorities', updateFrequency: perPriority };
    origin['retryPriority'] = manifestOrigin(r, at('numAttemptsPerPriority'));
  }

  const retryOn = retry.retryOn;
  const onPath = at('retryOn');
  const codesWritten = retryOn?.httpStatusCodes !== undefined;
  if (retryOn) {
    const triggers = retryOn.triggers;
    const codes = retryOn.httpStatusCodes;
    if (triggers && triggers.length > 0) {
      // Envoy Gateway keeps the triggers as a set: sorted, without duplicates.
      policy.retryOn = [...new Set<RetryOn>(triggers)].sort();
      origin['retryOn'] = manifestOrigin(r, at('retryOn', 'triggers'));
    }
    if (triggers || codes) {
      policy.retriableStatusCodes = [...new Set(codes ?? [])].sort((a, b) => a - b);
      origin['retriableStatusCodes'] = codes
        ? manifestOrigin(r, at('retryOn', 'httpStatusCodes'))
        : {
            kind: 'derived',
            from: `${onPath.join('.')} without httpStatusCodes: Envoy Gateway replaces the default [503] with an empty list`,
          };
    }
  }

  const perRetry = retry.perRetry;
  if (perRetry?.timeout !== undefined) {
    const timeout = durationMs(perRetry.timeout);
    const to = at('perRetry', 'timeout');
    policy.perTryTimeoutMs = timeout;
    origin['perTryTimeoutMs'] = manifestOrigin(r, to);
    if (timeout === 0)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        to,
        'a per-retry timeout of 0s means no per-try timeout',
        'remove it, or set the longest time one attempt may take',
      );
  }
  const backOff = perRetry?.backOff;
  if (backOff) {
    const b = at('perRetry', 'backOff', 'baseInterval');
    const m = at('perRetry', 'backOff', 'maxInterval');
    const baseMs = backOff.baseInterval === undefined ? undefined : durationMs(backOff.baseInterval);
    const maxMs = backOff.maxInterval === undefined ? undefined : durationMs(backOff.maxInterval);
    if (baseMs !== undefined) {
      policy.backoff.baseIntervalMs = baseMs;
      origin['backoff.baseIntervalMs'] = manifestOrigin(r, b);
      policy.backoff.maxIntervalMs = baseMs * ENVOY.RETRY_MAX_INTERVAL_FACTOR;
    }
    if (maxMs !== undefined) {
      policy.backoff.maxIntervalMs = maxMs;
      origin['backoff.maxIntervalMs'] = manifestOrigin(r, m);
    }
  }

  const onCodes = policy.retryOn.includes('retriable-status-codes');
  if (onCodes && policy.retriableStatusCodes.length === 0)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      onPath,
      'the retriable-status-codes trigger has no status codes: with retryOn set, Envoy Gateway drops its default [503]',
      'list the codes in retryOn.httpStatusCodes (for example [503])',
    );
  if (!onCodes && policy.retriableStatusCodes.length > 0 && codesWritten)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      at('retryOn', 'httpStatusCodes'),
      'httpStatusCodes are only used with the retriable-status-codes trigger, which retryOn.triggers does not list',
      'add retriable-status-codes to retryOn.triggers',
    );
  const grpcOnly = policy.retryOn.every((t) => (GRPC_RETRY_ON as readonly string[]).includes(t));
  if (grpcOnly && retryOn)
    warn(
      r,
      EG_CODES.NO_EFFECT,
      onPath,
      'only gRPC triggers are listed: plain HTTP failures (resets, connect failures, 5xx) are not retried',
      'add connect-failure, reset or 5xx if HTTP failures should be retried too',
    );
  return policy;
}
