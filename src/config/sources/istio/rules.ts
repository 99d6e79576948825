/**
 * Istio webhook rules that a schema cannot say, with Istio's own messages (config-apis.md 3, 6 #21-24).
 * One `RuleCtx` covers one object: the first failed rule marks it rejected, and every failure is
 * reported with its field path.
 */
import { parseGoDuration } from '../../../common/durations.js';
import type * as ir from '../../../ir/index.js';
import { formatPath, objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import { ISTIO_CODES } from './codes.js';

export type Path = readonly (string | number)[];

export type RuleCtx = { readonly o: LoadedObject; readonly diags: Diagnostics; ok: boolean };

export function ruleCtx(o: LoadedObject, diags: Diagnostics): RuleCtx {
  return { o, diags, ok: true };
}

export function reject(ctx: RuleCtx, path: Path, message: string, fix?: string): void {
  ctx.ok = false;
  ctx.diags.error(
    ISTIO_CODES.INVALID,
    `${formatPath(path)}: ${message} (Istio's webhook rejects this ${ctx.o.kind})`,
    { object: ctx.o, path },
    fix,
  );
}

/** An Istio duration: a Go duration of at least 1 ms with millisecond precision. */
export function duration(ctx: RuleCtx, v: string | undefined, path: Path): number | undefined {
  if (v === undefined) return undefined;
  const parsed = parseGoDuration(v);
  if (!parsed.ok) {
    reject(ctx, path, parsed.error);
    return undefined;
  }
  const exact = exactMs(v);
  if (exact < 1) {
    reject(ctx, path, 'duration must be greater than 1ms', 'use at least "1ms"');
    return undefined;
  }
  if (Math.abs(exact - Math.round(exact)) > 1e-6) {
    reject(ctx, path, 'only durations to ms precision are supported', `round it to whole milliseconds, such as "${Math.round(exact)}ms"`);
    return undefined;
  }
  return Math.round(exact);
}

const UNIT: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

function exactMs(v: string): number {
  let ms = 0;
  for (const m of v.matchAll(/([0-9]*\.?[0-9]+)(h|ms|m|s|us|µs|ns)/g)) ms += Number(m[1]) * UNIT[m[2] as string]!;
  return ms;
}

export { originOf } from '../../model.js';

/** Istio percentages: 0, or 0.0001 to 100 (FractionalPercent per million). */
export function percentage(ctx: RuleCtx, v: number | undefined, path: Path): ir.FractionalPercent | undefined {
  if (v === undefined) return undefined;
  if (v !== 0 && (v < 0.0001 || v > 100)) {
    reject(ctx, path, `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`);
    return undefined;
  }
  return { numerator: Math.round(v * 10_000), denominator: 1_000_000 };
}

/** Istio's order of precedence among objects: older first, then by Kind/namespace/name. */
export function byAge(a: LoadedObject, b: LoadedObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return objectRef(a) < objectRef(b) ? -1 : objectRef(a) > objectRef(b) ? 1 : 0;
}
