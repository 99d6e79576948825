/**
 * Reading Gateway API objects: the schema check of a `spec` with the API server's outcome, and
 * the origin of a field.
 */
import type { z } from 'zod';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { checkSchema } from '../../schema-check.js';
import { CODES } from './codes.js';

export type Path = readonly (string | number)[];
export type Json = Record<string, unknown>;

/**
 * The object's `spec` checked against its schema (schema.ts), as the API server checks the CRD:
 * a violation is an error and the object is skipped (undefined); an unknown field is a warning
 * (the API server prunes it) and the rest applies.
 */
export function checkSpec<S extends z.ZodType>(o: LoadedObject, schema: S, diags: Diagnostics): z.output<S> | undefined {
  return checkSchema(o, schema, diags, { unknownField: CODES.UNKNOWN_FIELD, invalid: CODES.INVALID, api: 'the Gateway API reference' });
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export { originOf } from '../../model.js';
