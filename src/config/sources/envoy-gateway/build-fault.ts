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
import {
  EG_CODES,
  checkKnown,
  egDefault,
  fail,
  get,
  manifestOrigin,
  readDuration,
  readInt,
  readNumber,
  readObject,
  reader,
  warn,
  type Path,
} from './spec-reader.js';

export const FAULT_SCOPE_ANNOTATION = 'legate.dev/fault-scope';

/** A float percent as Envoy Gateway writes it: numerator over 1 000 000. */
export function percentToFraction(percent: number): FractionalPercent {
  return { numerator: Math.round(percent * 10_000), denominator: 1_000_000 };
}

export function buildFault(btp: LoadedObject, diags: Diagnostics): FaultPolicy | undefined {
  const r = reader(btp, diags, 'faultInjection');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'faultInjection', ['spec']);
  const fi = readObject(r, at.value, at.path);
  if (!fi) return undefined;
  checkKnown(r, fi, at.path, ['delay', 'abort']);
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

  const percent = (obj: Record<string, unknown>, base: Path, key: string): FractionalPercent | undefined => {
    const p = get(r, obj, 'percentage', base);
    const v = readNumber(r, p.value, p.path, { min: 0, max: 100 });
    if (p.value !== undefined && p.value !== null && v === undefined) return undefined;
    origin[`${key}.percent`] = v !== undefined ? manifestOrigin(r, p.path) : egDefault('ENVOY_GATEWAY.FAULT_PERCENTAGE');
    return percentToFraction(v ?? ENVOY_GATEWAY.FAULT_PERCENTAGE);
  };

  const dl = get(r, fi, 'delay', at.path);
  const ab = get(r, fi, 'abort', at.path);
  const delay = readObject(r, dl.value, dl.path);
  const abort = readObject(r, ab.value, ab.path);
  if (!delay && !abort && r.ok)
    fail(r, at.path, 'Delay and abort faults are set at least one.', 'add delay: {fixedDelay: 1s} or abort: {httpStatus: 503}');

  if (delay) {
    checkKnown(r, delay, dl.path, ['fixedDelay', 'percentage']);
    const f = get(r, delay, 'fixedDelay', dl.path);
    const ms = readDuration(r, f.value, f.path, 'FixedDelay');
    if (f.value === undefined || f.value === null) fail(r, f.path, 'delay.fixedDelay is required', 'set fixedDelay, such as 2s');
    const pct = percent(delay, dl.path, 'delay');
    if (ms !== undefined && pct) {
      fault.delay = { fixedMs: ms, percent: pct };
      origin['delay.fixedMs'] = manifestOrigin(r, f.path);
    }
  }
  if (abort) {
    checkKnown(r, abort, ab.path, ['httpStatus', 'grpcStatus', 'percentage']);
    const h = get(r, abort, 'httpStatus', ab.path);
    const g = get(r, abort, 'grpcStatus', ab.path);
    const hasHttp = h.value !== undefined && h.value !== null;
    const hasGrpc = g.value !== undefined && g.value !== null;
    if (hasHttp && hasGrpc)
      fail(r, g.path, 'httpStatus and grpcStatus cannot be simultaneously defined.', 'keep one of httpStatus and grpcStatus');
    else if (!hasHttp && !hasGrpc)
      fail(r, ab.path, 'httpStatus and grpcStatus are set at least one.', 'set httpStatus (such as 503) or grpcStatus (such as 14)');
    const httpStatus = readInt(r, h.value, h.path, { min: 200, max: 600 });
    const grpcStatus = readInt(r, g.value, g.path, { min: 0, max: 16 });
    const pct = percent(abort, ab.path, 'abort');
    if (pct && (httpStatus !== undefined || grpcStatus !== undefined)) {
      fault.abort = httpStatus !== undefined ? { httpStatus, percent: pct } : { grpcStatus: grpcStatus!, percent: pct };
      origin[httpStatus !== undefined ? 'abort.httpStatus' : 'abort.grpcStatus'] = manifestOrigin(
        r,
        httpStatus !== undefined ? h.path : g.path,
      );
    }
  }
  return r.ok ? fault : undefined;
}
