/** Every rule of `legate analyze`, in the order docs/analyze.md lists them. Codes are stable. */
import type { Rule } from './finding.js';
import { faultNotRetried } from './rules/faults.js';
import { perTryTimeoutIgnored, perTryTimeoutNotRetried, retryTimeoutBudget, routeTimeoutCutsStreams } from './rules/timeouts.js';
import { codesWithoutTrigger, grpcStatusInTrailers, nonIdempotentRetry, triggerWithoutCodes } from './rules/retry-triggers.js';
import {
  failoverWithoutOutlierDetection,
  maxRetriesCapsRetries,
  outlierDetectionEnablesFailover,
  outlierNeverEjects,
} from './rules/upstream-health.js';
import { backendNotFound, subsetWithoutEndpoints } from './rules/backends.js';
import { fakeServiceErrorCodeInvalid, fakeServiceErrorNotRetried, fakeServiceErrorRate } from './rules/fake-service.js';

export const RULES: readonly Rule[] = [
  faultNotRetried,
  retryTimeoutBudget,
  perTryTimeoutIgnored,
  perTryTimeoutNotRetried,
  routeTimeoutCutsStreams,
  codesWithoutTrigger,
  triggerWithoutCodes,
  grpcStatusInTrailers,
  nonIdempotentRetry,
  outlierNeverEjects,
  failoverWithoutOutlierDetection,
  outlierDetectionEnablesFailover,
  backendNotFound,
  subsetWithoutEndpoints,
  maxRetriesCapsRetries,
  fakeServiceErrorNotRetried,
  fakeServiceErrorRate,
  fakeServiceErrorCodeInvalid,
];
