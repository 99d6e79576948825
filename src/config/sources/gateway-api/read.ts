/**
 * Reading Gateway API objects: the schema check of a `spec` with the API server's outcome, and
 * the origin of a field.
 */
import type { z } from 'zod';
import type * as ir from '../../../ir/index.js';
import { formatPath, objectRef, type Diagnostics, type LoadedObject } from '../../model.js';
import { checkValue } from '../../schema/check.js';
import { CODES } from './codes.js';

export type Path = readonly (string | number)[];
export type Json = Record<string, unknown>;

/**
 * The object's `spec` checked against its schema (schema.ts), as the API server checks the CRD:
 * a violation is an error and the object is skipped (undefined); an unknown field is a warning
 * (the API server prunes it) and the rest applies.
 */
export function checkSpec<S extends z.ZodType>(o: LoadedObject, schema: S, diags: Diagnostics): z.output<S> | undefined {
  const { data, problems } = checkValue(schema, o.body.spec ?? {}, { base: ['spec'] });
  for (const p of problems) {
    const where = { object: o, path: p.path };
    if (p.kind === 'invalid') diags.error(CODES.INVALID, `${p.message} (the API server rejects this ${o.kind})`, where, p.fix);
    else if (p.kind === 'unknown')
      diags.warning(
        CODES.UNKNOWN_FIELD,
        `unknown field "${formatPath(p.path)}": ${o.kind} has no such field here; the API server drops it`,
        where,
        p.nearest ? `did you mean "${p.nearest}"?` : `the fields here are ${p.known.join(', ')}`,
      );
  }
  return data;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{kind: 'manifest', ...}` for a field of an object, with its source position. */
export function originOf(o: LoadedObject, path: Path): ir.Origin {
  const pos = o.posOf(path);
  return { kind: 'manifest', object: objectRef(o), field: formatPath(path), file: pos.file, line: pos.line, column: pos.column };
}
