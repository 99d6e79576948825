/**
 * Checking a manifest object's `spec` against a zod schema, as the API server checks a CRD's
 * OpenAPI schema: each issue becomes a diagnostic at the exact field (file:line:column).
 */
import type { z } from 'zod';
import { formatPath, type Diagnostics, type LoadedObject } from './model.js';

export type SchemaCodes = {
  /** Warning code for a field the API does not have (the object is still applied). */
  unknownField: string;
  /** Error code for a schema violation (the object is skipped). */
  invalid: string;
  /** Where to look the field names up, for the unknown-field fix. */
  api: string;
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
): z.infer<S> | undefined {
  const spec = o.body.spec ?? {};
  const result = schema.safeParse(spec);
  if (result.success) return result.data as z.infer<S>;
  let failed = false;
  for (const issue of result.error.issues) {
    const path = ['spec', ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        diags.warning(
          codes.unknownField,
          `unknown field "${formatPath([...path, key])}": ${o.kind} has no such field here; it is ignored`,
          { object: o, path: [...path, key] },
          `check the spelling against ${codes.api}`,
        );
      continue;
    }
    failed = true;
    const present = valueAt(spec, path.slice(1)) !== undefined;
    diags.error(codes.invalid, `${formatPath(path)}: ${schemaMessage(issue, present)} (the API server rejects this ${o.kind})`, {
      object: o,
      path,
    });
  }
  // Only unknown fields failed: the spec is well formed, and nothing reads the unknown keys.
  return failed ? undefined : (spec as z.infer<S>);
}

/** The value at a path inside parsed JSON (zod issues do not carry the input). */
function valueAt(v: unknown, path: readonly (string | number)[]): unknown {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function schemaMessage(issue: z.core.$ZodIssue, present: boolean): string {
  if (issue.code === 'invalid_type') return `must be ${article(issue.expected)}${present ? '' : ' (it is required)'}`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`;
  return issue.message;
}

function article(t: string): string {
  if (t === 'object') return 'an object';
  if (t === 'array') return 'a list';
  if (t === 'int') return 'a whole number';
  return `a ${t}`;
}
