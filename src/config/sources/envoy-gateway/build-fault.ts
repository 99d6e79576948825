/**
 * BackendTrafficPolicy `spec.faultInjection` -> the route's fault policy (config-apis.md 2.7;
 * Envoy Gateway `buildFaultInjection`, xds/translator fault.go).
 *
 * Percentages are float percents (default 100, 0 = never, precision 0.0001 %), written as Envoy's
 * FractionalPercent over a million. Envoy delays first, then decides the abort. `grpcStatus` answers
 * a trailers-only gRPC response. Placement: Envoy injects the fault before routing, so retries never
 * see it (`scope: 'request'`); the annotation `legate.dev/fault-scope: attempt` on the policy injects
 * it per attempt instead, so retries, outlier detection and breakers see it (DESIGN.md 3).
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { Origins } from '../../../ir/origin.js';
import type { FaultPolicy, FractionalPercent } from '../../../ir/policy.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { durationMs } from '../../schema/k8s.js';
import { FaultInjection } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn, type Path } from './spec-reader.js';

export const FAULT_SCOPE_ANNOTATION = 'legate.dev/fault-scope';

/** A float percent as Envoy Gateway writes it: numerator over 1 000 000. */
export function percentToFraction(percent: number): FractionalPercent {
  return { numerator: Math.round(percent * 10_000), denominator: 1_000_000 };
}

export function buildFault(btp: LoadedObject, diags: Diagnostics): FaultPolicy | undefined {
  const r = reader(btp, diags, 'faultInjection');
  const block = readFeature(r, FaultInjection);
  if (!block) return undefined;
  const { value: fi, at } = block;
  const origin: Origins = {};
  const fault: FaultPolicy = { scope: 'request', origin };

  const annotation = btp.metadata.annotations[FAULT_SCOPE_ANNOTATION];
  const annPath: Path = ['metadata', 'annotations', FAULT_SCOPE_ANNOTATION];
  if (annotation === 'attempt' || annotation === 'request') {
    fault.scope = annotation;
    origin['scope'] = manifestOrigin(r, annPath);
  } else {
    origin['scope'] = egDefault('fault before routing (Envoy)', 'envoy');
    if (annotation !== undefined)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        annPath,
        `${FAULT_SCOPE_ANNOTATION}: "${annotation}" is not request or attempt; the fault is injected once per request`,
        'use attempt (per attempt) or request',
      );
  }

  const percent = (v: number | undefined, path: Path, key: string): FractionalPercent => {
    origin[`${key}.percent`] = v !== undefined ? manifestOrigin(r, path) : egDefault('ENVOY_GATEWAY.FAULT_PERCENTAGE');
    return percentToFraction(v ?? ENVOY_GATEWAY.FAULT_PERCENTAGE);
  };

  if (fi.delay) {
    fault.delay = { fixedMs: durationMs(fi.delay.fixedDelay), percent: percent(fi.delay.percentage, at('delay', 'percentage'), 'delay') };
    origin['delay.fixedMs'] = manifestOrigin(r, at('delay', 'fixedDelay'));
  }
  const abort = fi.abort;
  if (abort) {
    const pct = percent(abort.percentage, at('abort', 'percentage'), 'abort');
    if (abort.httpStatus !== undefined) {
      fault.abort = { httpStatus: abort.httpStatus, percent: pct };
      origin['abort.httpStatus'] = manifestOrigin(r, at('abort', 'httpStatus'));
    } else if (abort.grpcStatus !== undefined) {
      fault.abort = { grpcStatus: abort.grpcStatus, percent: pct };
      origin['abort.grpcStatus'] = manifestOrigin(r, at('abort', 'grpcStatus'));
    }
  }
  return r.ok ? fault : undefined;
}
