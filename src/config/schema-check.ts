/**
 * Checking a manifest object's `spec` against a zod schema, as the API server checks a CRD's
 * OpenAPI schema: each problem (schema/check.ts) becomes a diagnostic at the exact field
 * (file:line:column). One wording for every dialect; each brings its codes.
 */
import type { z } from 'zod';
import { formatPath, type Diagnostics, type LoadedObject } from './model.js';
import { checkValue, type Path, type SchemaProblem } from './schema/check.js';

export type SchemaCodes = {
  /** Warning code for a field the API does not have (the object is still applied). */
  unknownField: string;
  /** Error code for a schema violation (the object is skipped). */
  invalid: string;
  /** Where to look the field names up, for the unknown-field fix. */
  api: string;
  /**
   * Warning code for a key in another letter case, read as the declared one (Envoy Gateway's Go
   * decoder does so); unset, such a key is unknown.
   */
  fieldCase?: string;
  /** Keep null fields as written; by default they are dropped, as the API server prunes them. */
  keepNulls?: boolean;
  /** Errors without the "(the API server rejects this Kind)" note: Envoy Gateway's become policy status text. */
  plainErrors?: boolean;
};

/**
 * Checks `spec` against a schema. Unknown fields are warnings (the object is still applied, as
 * kubectl's "unknown field" warning leaves it); anything else is an error and the object is skipped.
 */
export function checkSchema<S extends z.ZodType>(
  o: LoadedObject,
  schema: S,
  diags: Diagnostics,
  codes: SchemaCodes,
): z.output<S> | undefined {
  const { data, problems } = checkValue(schema, o.body.spec ?? {}, {
    base: ['spec'],
    caseInsensitive: codes.fieldCase !== undefined,
    dropNulls: !codes.keepNulls,
  });
  return reportProblems(problems, diags, codes, () => o) ? undefined : data;
}

/**
 * Reports schema problems; `objectAt` names the object a path belongs to (a merged policy has
 * fields from two). Returns true when there was an error.
 */
export function reportProblems(
  problems: readonly SchemaProblem[],
  diags: Diagnostics,
  codes: SchemaCodes,
  objectAt: (path: Path) => LoadedObject,
): boolean {
  let failed = false;
  for (const p of problems) {
    const o = objectAt(p.path);
    const where = { object: o, path: p.path };
    if (p.kind === 'invalid') {
      failed = true;
      diags.error(codes.invalid, codes.plainErrors ? p.message : `${p.message} (the API server rejects this ${o.kind})`, where, p.fix);
    } else if (p.kind === 'case')
      diags.warning(
        codes.fieldCase ?? codes.unknownField,
        `field "${p.key}" is spelled "${p.canonical}" in the API: Envoy Gateway's translator accepts it, but the Kubernetes API server drops it as unknown`,
        where,
        `rename it to "${p.canonical}"`,
      );
    else
      diags.warning(
        codes.unknownField,
        `unknown field "${formatPath(p.path)}": ${o.kind} has no such field here; it is ignored`,
        where,
        p.nearest ? `did you mean "${p.nearest}"?` : `check the spelling against ${codes.api}; the fields here are ${p.known.join(', ')}`,
      );
  }
  return failed;
}
