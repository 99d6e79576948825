/**
 * Reading a BackendTrafficPolicy's spec for the builders: each feature's block checked by its schema
 * (schema.ts), diagnostics with the field path and a fix, and `origin` records naming the object
 * and field a value came from.
 *
 * One `Reader` covers one feature of one policy. The first error marks it failed; the builder then
 * returns nothing for that feature (never partial values), and the aggregator turns the first error
 * into Envoy Gateway's status text (`Retry: baseInterval cannot be set to 0s.`).
 */
import type { z } from 'zod';
import { defaultOrigin, type Dialect, type Origin } from '../../../ir/origin.js';
import { formatPath, objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import { reportProblems as reportSchemaProblems } from '../../schema-check.js';
import { checkValue, writtenPath, type SchemaProblem } from '../../schema/check.js';

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
  /** targetRef/targetRefs/targetSelectors/mergeType rules (CEL on the spec), and the type of fields legate does not read. */
  POLICY_INVALID: 'E_EG_POLICY_INVALID',
  /** An EnvoyProxy the API server would refuse; it is left out, so references to it find nothing. */
  ENVOYPROXY_INVALID: 'E_EG_ENVOYPROXY_INVALID',
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

/** One feature's block, checked by its schema: the typed value, and paths as written for origins. */
export type FeatureBlock<T> = {
  value: T;
  /** `['spec', 'retry']`, as written. */
  path: Path;
  /** The path of a field below the block, as written (`at('perRetry', 'backOff')`). */
  at(...segs: (string | number)[]): Path;
};

/**
 * Reads `spec.<feature>` and checks it against its schema. Like Envoy Gateway's JSON decoder, a key
 * in another letter case (`backoff` for `backOff`) is read, with a warning; an unknown key is a
 * warning; a schema violation fails the feature (the builder then returns nothing). Absent: undefined.
 */
export function readFeature<S extends z.ZodType>(r: Reader, schema: S): FeatureBlock<z.output<S>> | undefined {
  const spec = r.btp.body['spec'];
  if (spec === undefined || spec === null) return undefined;
  if (!isObject(spec)) {
    fail(r, ['spec'], 'spec must be an object');
    return undefined;
  }
  // The key's own letter case is the spec-level check's to report (precedence.ts).
  const key = Object.hasOwn(spec, r.feature) ? r.feature : Object.keys(spec).find((k) => k.toLowerCase() === r.feature.toLowerCase());
  const raw = key === undefined ? undefined : spec[key];
  if (key === undefined || raw === undefined || raw === null) return undefined;
  const base: Path = ['spec', key];
  const { data, problems } = checkValue(schema, raw, { base, caseInsensitive: true });
  if (reportProblems(r.btp, r.diags, problems, EG_CODES[r.feature])) r.ok = false;
  if (data === undefined) return undefined;
  return { value: data, path: base, at: (...segs) => [...base, ...writtenPath(raw, segs)] };
}

/**
 * Schema problems as Envoy Gateway diagnostics, errors with `errorCode` and in Envoy Gateway's words
 * (they become status text); true when there was an error.
 */
export function reportProblems(btp: LoadedObject, diags: Diagnostics, problems: readonly SchemaProblem[], errorCode: string): boolean {
  return reportSchemaProblems(
    problems,
    diags,
    {
      invalid: errorCode,
      unknownField: EG_CODES.UNKNOWN_FIELD,
      fieldCase: EG_CODES.FIELD_CASE,
      api: 'the Envoy Gateway API reference',
      plainErrors: true,
    },
    (path) => ownerOf(btp, path),
  );
}
