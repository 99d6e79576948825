/**
 * Reading raw manifest values (plain JSON from YAML) with the API server's schema checks. A value
 * of the wrong type or out of bounds is reported once, as the API server would refuse the object,
 * and marks the object invalid so the caller skips it.
 */
import { formatPath, type Diagnostics, type LoadedObject } from '../../model.js';
import { CODES } from './codes.js';

export type Path = readonly (string | number)[];
export type Json = Record<string, unknown>;

/** One object being read: its diagnostics and whether it is still valid. */
export type ReadCtx = { readonly o: LoadedObject; readonly diags: Diagnostics; ok: boolean };

export function readCtx(o: LoadedObject, diags: Diagnostics): ReadCtx {
  return { o, diags, ok: true };
}

/** Reports an admission-time rejection (CRD schema or CEL) and marks the object invalid. */
export function reject(ctx: ReadCtx, path: Path, message: string, fix?: string): void {
  ctx.ok = false;
  ctx.diags.error(CODES.INVALID, `${message} (the API server rejects this ${ctx.o.kind})`, { object: ctx.o, path }, fix);
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readObject(ctx: ReadCtx, v: unknown, path: Path): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v)) return v;
  reject(ctx, path, `${formatPath(path)} must be an object`);
  return undefined;
}

export function readArray(ctx: ReadCtx, v: unknown, path: Path, max?: number): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    reject(ctx, path, `${formatPath(path)} must be a list`);
    return [];
  }
  if (max !== undefined && v.length > max) reject(ctx, path, `${formatPath(path)} has ${v.length} items; at most ${max} are allowed`);
  return v;
}

export function readString(
  ctx: ReadCtx,
  v: unknown,
  path: Path,
  opts: { required?: boolean; min?: number; max?: number } = {},
): string | undefined {
  if (v === undefined || v === null) {
    if (opts.required) reject(ctx, path, `${formatPath(path)} is required`);
    return undefined;
  }
  if (typeof v !== 'string') {
    reject(ctx, path, `${formatPath(path)} must be a string`);
    return undefined;
  }
  const min = opts.min ?? 0;
  if (v.length < min) reject(ctx, path, `${formatPath(path)} must have at least ${min} character${min === 1 ? '' : 's'}`);
  else if (opts.max !== undefined && v.length > opts.max) reject(ctx, path, `${formatPath(path)} must have at most ${opts.max} characters`);
  return v;
}

export function readInt(ctx: ReadCtx, v: unknown, path: Path, min: number, max: number, required = false): number | undefined {
  if (v === undefined || v === null) {
    if (required) reject(ctx, path, `${formatPath(path)} is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    reject(ctx, path, `${formatPath(path)} must be a whole number`);
    return undefined;
  }
  if (v < min || v > max) {
    reject(ctx, path, `${formatPath(path)} is ${v}; it must be between ${min} and ${max}`);
    return undefined;
  }
  return v;
}

export function readBool(ctx: ReadCtx, v: unknown, path: Path): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    reject(ctx, path, `${formatPath(path)} must be true or false`);
    return undefined;
  }
  return v;
}

export { originOf } from '../../model.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length >= 1 && s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function isKind(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && KIND.test(s);
}
