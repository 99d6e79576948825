/**
 * Reading a BackendTrafficPolicy's raw spec (plain JSON from YAML) for the builders: field lookup
 * with positions, the API server's schema checks (types, bounds, GEP-2257 durations), diagnostics
 * with the field path and a fix, and `origin` records naming the object and field a value came from.
 *
 * One `Reader` covers one feature of one policy. The first error marks it failed; the builder then
 * returns nothing for that feature (never partial values), and the aggregator turns the first error
 * into Envoy Gateway's status text (`Retry: baseInterval cannot be set to 0s.`).
 */
import { parseGatewayDuration } from '../../../common/durations.js';
import { defaultOrigin, type Dialect, type Origin } from '../../../ir/origin.js';
import { formatPath, objectRef, type Diagnostics, type LoadedObject } from '../../model.js';

export type Path = readonly (string | number)[];
export type Json = Record<string, unknown>;

/** The BackendTrafficPolicy features the builders cover, with Envoy Gateway's names for status text. */
export type Feature =
  'retry' | 'timeout' | 'circuitBreaker' | 'healthCheck' | 'faultInjection' | 'loadBalancer' | 'tcpKeepalive' | 'connection';

/** Stable diagnostic codes. Errors reject the policy (Accepted=False/Invalid); warnings do not. */
export const EG_CODES = {
  retry: 'E_EG_RETRY_INVALID',
  timeout: 'E_EG_TIMEOUT_INVALID',
  circuitBreaker: 'E_EG_CIRCUIT_BREAKER_INVALID',
  healthCheck: 'E_EG_HEALTH_CHECK_INVALID',
  faultInjection: 'E_EG_FAULT_INVALID',
  loadBalancer: 'E_EG_LOAD_BALANCER_INVALID',
  tcpKeepalive: 'E_EG_TCP_KEEPALIVE_INVALID',
  connection: 'E_EG_CONNECTION_INVALID',
  /** targetRef/targetRefs/targetSelectors/mergeType rules (CEL on the spec). */
  POLICY_INVALID: 'E_EG_POLICY_INVALID',
  /** A field written in another letter case than the API's (`backoff` for `backOff`); Envoy Gateway's decoder accepts it. */
  FIELD_CASE: 'W_EG_FIELD_CASE',
  /** A field the API does not have at this place. */
  UNKNOWN_FIELD: 'W_EG_UNKNOWN_FIELD',
  /** A valid setting legate records in the translation but does not apply (yet). */
  NOT_APPLIED: 'W_EG_NOT_APPLIED',
  /** A deprecated field or value (Envoy Gateway reports `Warning/DeprecatedField`). */
  DEPRECATED: 'W_EG_DEPRECATED',
  /** A setting that is valid but, with Envoy's semantics, does not do what it seems to. */
  NO_EFFECT: 'W_EG_NO_EFFECT',
  /** A policy target that does not exist (Envoy Gateway ignores it silently). */
  TARGET_NOT_FOUND: 'W_EG_TARGET_NOT_FOUND',
  /** A policy that lost to another one at the same level, or named a missing section. */
  POLICY_NOT_ATTACHED: 'W_EG_POLICY_NOT_ATTACHED',
} as const;

/** Envoy Gateway's prefix for a feature's translation error (`perr.WithMessage(err, "Retry")`). */
export const FEATURE_TITLE: Record<Feature, string> = {
  retry: 'Retry',
  timeout: 'Timeout',
  circuitBreaker: 'CircuitBreaker',
  healthCheck: 'HealthCheck',
  faultInjection: 'FaultInjection',
  loadBalancer: 'LoadBalancer',
  tcpKeepalive: 'TCPKeepalive',
  connection: 'BackendConnection',
};

/**
 * A policy produced by merging a route policy into its parent (mergeType): `ownerOf` names the
 * policy that wrote a field, so diagnostics and origins point at the right object and line.
 */
export type MergedPolicy = LoadedObject & { ownerOf(path: Path): LoadedObject };

export function ownerOf(btp: LoadedObject, path: Path): LoadedObject {
  return 'ownerOf' in btp && typeof (btp as MergedPolicy).ownerOf === 'function' ? (btp as MergedPolicy).ownerOf(path) : btp;
}

export type Reader = {
  readonly btp: LoadedObject;
  readonly diags: Diagnostics;
  readonly feature: Feature;
  /** False once an error was reported for this feature. */
  ok: boolean;
};

export function reader(btp: LoadedObject, diags: Diagnostics, feature: Feature): Reader {
  return { btp, diags, feature, ok: true };
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports an error for the reader's feature; the builder returns nothing for it. */
export function fail(r: Reader, path: Path, message: string, fix?: string): void {
  r.ok = false;
  r.diags.error(EG_CODES[r.feature], message, { object: ownerOf(r.btp, path), path }, fix);
}

export function warn(r: Reader, code: string, path: Path, message: string, fix?: string): void {
  r.diags.warning(code, message, { object: ownerOf(r.btp, path), path }, fix);
}

/** The manifest origin of the value at `path`. */
export function manifestOrigin(r: Reader, path: Path): Origin {
  const owner = ownerOf(r.btp, path);
  const pos = owner.posOf(path);
  return { kind: 'manifest', object: objectRef(owner), field: formatPath(path), file: pos.file, line: pos.line, column: pos.column };
}

/** Envoy Gateway's own default (`ENVOY_GATEWAY.X`), or Envoy's when EG leaves the value to Envoy. */
export function egDefault(name: string, dialect: Dialect = 'envoy-gateway'): Origin {
  return defaultOrigin(dialect, name);
}

/**
 * Looks up `key` in `obj`. Like Envoy Gateway's JSON decoder, a key that differs only in letter case
 * (`backoff` for `backOff`) is accepted, with a warning. Returns the value and its path as written.
 */
export function get(r: Reader, obj: Json, key: string, path: Path): { value: unknown; path: Path } {
  if (Object.hasOwn(obj, key)) return { value: obj[key], path: [...path, key] };
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) {
    if (k.toLowerCase() === lower) {
      const p = [...path, k];
      warn(
        r,
        EG_CODES.FIELD_CASE,
        p,
        `field "${k}" is spelled "${key}" in the API: Envoy Gateway's translator accepts it, but the Kubernetes API server drops it as unknown`,
        `rename it to "${key}"`,
      );
      return { value: obj[k], path: p };
    }
  }
  return { value: undefined, path: [...path, key] };
}

/** Warns about keys the API does not define at this place (typos are otherwise silently ignored). */
export function checkKnown(r: Reader, obj: Json, path: Path, known: readonly string[]): void {
  const lower = new Set(known.map((k) => k.toLowerCase()));
  for (const k of Object.keys(obj)) {
    if (!lower.has(k.toLowerCase()))
      warn(
        r,
        EG_CODES.UNKNOWN_FIELD,
        [...path, k],
        `unknown field "${k}" in ${formatPath(path)}; it is ignored`,
        `known fields: ${known.join(', ')}`,
      );
  }
}

/** An object value, or undefined when absent or null; anything else is an error. */
export function readObject(r: Reader, v: unknown, path: Path): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v)) return v;
  fail(r, path, `${formatPath(path)} must be an object`);
  return undefined;
}

export function readArray(r: Reader, v: unknown, path: Path): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  fail(r, path, `${formatPath(path)} must be a list`);
  return undefined;
}

export function readString(r: Reader, v: unknown, path: Path): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  fail(r, path, `${formatPath(path)} must be a string`);
  return undefined;
}

export function readBool(r: Reader, v: unknown, path: Path): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  fail(r, path, `${formatPath(path)} must be true or false`);
  return undefined;
}

/**
 * An integer in [min, max] (the CRD's bounds). `message` replaces the generic bound message with
 * Envoy Gateway's own text where it has one (`invalid MaxConnections value -1`).
 */
export function readInt(
  r: Reader,
  v: unknown,
  path: Path,
  bounds: { min?: number; max?: number; message?: (v: unknown) => string } = {},
): number | undefined {
  if (v === undefined || v === null) return undefined;
  const { min, max } = bounds;
  const range = `${min ?? '-inf'}..${max ?? 'inf'}`;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(r, path, bounds.message ? bounds.message(v) : `${formatPath(path)} must be an integer`, `write a whole number in ${range}`);
    return undefined;
  }
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    const text =
      bounds.message?.(v) ??
      (min !== undefined && v < min
        ? `${formatPath(path)} in body should be greater than or equal to ${min}`
        : `${formatPath(path)} in body should be less than or equal to ${max}`);
    fail(r, path, text, `use a value in ${range}`);
    return undefined;
  }
  return v;
}

/** A number (float) in [min, max]. */
export function readNumber(r: Reader, v: unknown, path: Path, bounds: { min?: number; max?: number } = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    fail(r, path, `${formatPath(path)} must be a number`);
    return undefined;
  }
  if ((bounds.min !== undefined && v < bounds.min) || (bounds.max !== undefined && v > bounds.max)) {
    fail(
      r,
      path,
      `${formatPath(path)} ${v} is not in ${bounds.min ?? '-inf'}..${bounds.max ?? 'inf'}`,
      `use a value in ${bounds.min}..${bounds.max}`,
    );
    return undefined;
  }
  return v;
}

/** One of the enum's values (CRD `Enum`), with the API server's message. */
export function readEnum<T extends string>(r: Reader, v: unknown, path: Path, values: readonly T[]): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  fail(
    r,
    path,
    `${formatPath(path)}: Unsupported value: ${JSON.stringify(v)}: supported values: ${values.map((x) => JSON.stringify(x)).join(', ')}`,
    `use one of ${values.join(', ')}`,
  );
  return undefined;
}

/**
 * A Gateway API duration (GEP-2257: `10s`, `1m30s`, `500ms`; no fractions, no `d`). `name` is the
 * field's name in Envoy Gateway's error text: `invalid ConnectTimeout value 20kib`.
 */
export function readDuration(r: Reader, v: unknown, path: Path, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const text = typeof v === 'string' ? v : String(v);
  const parsed = parseGatewayDuration(text);
  if (!parsed.ok) {
    fail(r, path, `invalid ${name} value ${text}`, parsed.error);
    return undefined;
  }
  return parsed.ms;
}
