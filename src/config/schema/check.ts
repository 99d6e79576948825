/**
 * Checking a manifest value against a zod schema the way the Kubernetes API server checks a CRD,
 * with problems a dialect turns into its own diagnostics:
 *
 * - `null` object fields are dropped first (the API server prunes nulls of non-nullable fields), so
 *   `field:` with no value reads as absent;
 * - a key a plain `z.object` does not declare is an `unknown` problem naming the nearest declared
 *   key (the API server prunes it; kubectl warns); `z.strictObject` unknowns come from zod itself,
 *   `z.looseObject` and records accept any key;
 * - with `caseInsensitive`, a key that differs from a declared one only in letter case is read as
 *   that key and reported as a `case` problem (Envoy Gateway's Go JSON decoder accepts it);
 * - every other zod issue is an `invalid` problem with its message. Schemas write their own
 *   messages (custom issues, `error` options) and may use `{path}` for the field path; issues
 *   without one get the default messages below (`spec.port is 70000; it must be at most 65535`).
 *
 * Paths in problems are the paths as written (original letter case), so positions resolve.
 */
import { z } from 'zod';
import { formatPath } from '../model.js';

export type Path = readonly (string | number)[];

export type SchemaProblem =
  | { kind: 'unknown'; path: Path; key: string; known: readonly string[]; nearest?: string }
  | { kind: 'case'; path: Path; key: string; canonical: string }
  | { kind: 'invalid'; path: Path; message: string; fix?: string };

export type SchemaResult<T> = {
  /** The checked value (unknown keys dropped, case variants renamed), or undefined when invalid. */
  data?: T;
  problems: SchemaProblem[];
};

export type CheckOptions = {
  /** Path of `value` inside its object (`['spec']`), prefixed to every problem path. */
  base?: Path;
  /** Accept keys in another letter case (Envoy Gateway); default false. */
  caseInsensitive?: boolean;
  /** Drop null object fields before checking; default true. */
  dropNulls?: boolean;
};

/** Checks `value` against `schema`; never throws on bad input. */
export function checkValue<S extends z.ZodType>(schema: S, value: unknown, opts: CheckOptions = {}): SchemaResult<z.output<S>> {
  const base = opts.base ?? [];
  const problems: SchemaProblem[] = [];
  const prepared = prepare(schema, value, [], {
    caseInsensitive: opts.caseInsensitive ?? false,
    dropNulls: opts.dropNulls ?? true,
    problems,
  });
  // Problems from the walk carry canonical paths; rewrite them as written.
  const written = (path: Path): Path => [...base, ...(opts.caseInsensitive ? writtenPath(value, path) : path)];
  for (const p of problems) p.path = written(p.path);
  const result = schema.safeParse(prepared, { error: defaultMessage });
  if (result.success) return { data: result.data, problems };
  let invalid = false;
  for (const issue of result.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schemaAt(schema, path));
      for (const key of issue.keys) problems.push(unknownProblem(written([...path, key]), key, known));
      continue;
    }
    invalid = true;
    const at = written(path);
    const [text = '', worded] = issue.message.split(FIX_MARK);
    const fix = issue.code === 'custom' ? (issue.params?.['fix'] as string | undefined) : (worded ?? defaultFix(issue));
    problems.push({ kind: 'invalid', path: at, message: text.replaceAll('{path}', formatPath(at)), ...(fix ? { fix } : {}) });
  }
  // Only unknown keys of strict objects: the value is well formed, and nothing reads those keys.
  return invalid ? { problems } : { data: prepared as z.output<S>, problems };
}

/** Separates a message from its fix in `error` options, which can only return text. */
const FIX_MARK = '\u0001';

/** An `error` option's text with a fix: `z.string({ error: withFix('x is required', 'add x') })`. */
export function withFix(message: string, fix: string): string {
  return `${message}${FIX_MARK}${fix}`;
}

// ---------------------------------------------------------------- the walk

type WalkCtx = { caseInsensitive: boolean; dropNulls: boolean; problems: SchemaProblem[] };

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** What the walk needs of a schema, through optional / default / pipe / lazy wrappers; cached per schema. */
type NodeInfo =
  | { type: 'object'; shape: Record<string, unknown>; keys: string[]; mode: 'plain' | 'strict' | 'loose'; catchall: unknown }
  | { type: 'array'; element: unknown }
  | { type: 'record'; value: unknown }
  | { type: 'other' };

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch']);
const OTHER: NodeInfo = { type: 'other' };
const infos = new WeakMap<object, NodeInfo>();

function info(schema: unknown): NodeInfo {
  if (typeof schema !== 'object' || schema === null) return OTHER;
  let cached = infos.get(schema);
  if (!cached) infos.set(schema, (cached = computeInfo(schema)));
  return cached;
}

function computeInfo(schema: unknown): NodeInfo {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (!d) return OTHER;
    if (WRAPPERS.has(d.type)) s = d['innerType'];
    else if (d.type === 'pipe') s = d['in'];
    else if (d.type === 'lazy') s = (d['getter'] as () => unknown)();
    else if (d.type === 'object') {
      const shape = d['shape'] as Record<string, unknown>;
      const catchall = defOf(d['catchall'])?.type;
      const mode = catchall === undefined ? 'plain' : catchall === 'never' ? 'strict' : 'loose';
      return { type: 'object', shape, keys: Object.keys(shape), mode, catchall: d['catchall'] };
    } else if (d.type === 'array') return { type: 'array', element: d['element'] };
    else if (d.type === 'record') return { type: 'record', value: d['valueType'] };
    else return OTHER;
  }
  return OTHER;
}

/** The schema of a child (object key, array item, record value), for the walk and for unknown-key hints. */
function childSchema(schema: unknown, seg: string | number): unknown {
  const n = info(schema);
  if (n.type === 'object') return Object.hasOwn(n.shape, seg) ? n.shape[seg] : n.catchall;
  if (n.type === 'array') return n.element;
  if (n.type === 'record') return n.value;
  return undefined;
}

function schemaAt(schema: unknown, path: Path): unknown {
  let s = schema;
  for (const seg of path) s = childSchema(s, seg);
  return s;
}

function knownKeys(schema: unknown): string[] {
  const n = info(schema);
  return n.type === 'object' ? n.keys : [];
}

/**
 * A copy of `value` to parse: nulls dropped, case variants renamed, unknown keys of plain objects
 * reported and dropped. Values the schema does not describe are copied as they are. `path` is a
 * stack shared by the walk, copied only into problems.
 */
function prepare(schema: unknown, value: unknown, path: (string | number)[], ctx: WalkCtx): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const n = info(schema);
  if (Array.isArray(value)) {
    const element = n.type === 'array' ? n.element : undefined;
    return value.map((v: unknown, i) => {
      path.push(i);
      const out = prepare(element, v, path, ctx);
      path.pop();
      return out;
    });
  }
  if (n.type !== 'object' && n.type !== 'record') return ctx.dropNulls ? dropNulls(value) : value;
  const out: Record<string, unknown> = {};
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v === null && ctx.dropNulls) continue;
    let key = k;
    let child: unknown;
    if (n.type === 'record') child = n.value;
    else if (Object.hasOwn(n.shape, k)) child = n.shape[k];
    else if (n.mode === 'loose') child = n.catchall;
    else {
      const lower = k.toLowerCase();
      const canonical = ctx.caseInsensitive ? n.keys.find((c) => c.toLowerCase() === lower) : undefined;
      if (canonical !== undefined && !Object.hasOwn(value, canonical)) {
        key = canonical;
        child = n.shape[canonical];
        ctx.problems.push({ kind: 'case', path: [...path, canonical], key: k, canonical });
      } else if (n.mode === 'plain') {
        ctx.problems.push(unknownProblem([...path, k], k, n.keys));
        continue;
      }
    }
    path.push(key);
    out[key] = prepare(child, v, path, ctx);
    path.pop();
  }
  return out;
}

/** A copy without null object fields, for values no schema describes (loose objects, unknown). */
function dropNulls(value: object): unknown {
  if (Array.isArray(value)) return value.map((v: unknown) => (typeof v === 'object' && v !== null ? dropNulls(v) : v));
  const out: Record<string, unknown> = {};
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== null) out[k] = typeof v === 'object' ? dropNulls(v) : v;
  }
  return out;
}

function unknownProblem(path: Path, key: string, known: readonly string[]): SchemaProblem {
  const nearest = nearestName(key, known);
  return { kind: 'unknown', path, key, known, ...(nearest ? { nearest } : {}) };
}

/** `path` as written in `raw`: each key looked up exactly, else ignoring letter case. */
export function writtenPath(raw: unknown, path: Path): Path {
  const out: (string | number)[] = [];
  let cur = raw;
  for (const seg of path) {
    let key: string | number = seg;
    if (typeof seg === 'string' && typeof cur === 'object' && cur !== null && !Array.isArray(cur) && !Object.hasOwn(cur, seg)) {
      const lower = seg.toLowerCase();
      key = Object.keys(cur).find((k) => k.toLowerCase() === lower) ?? seg;
    }
    out.push(key);
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string | number, unknown>)[key] : undefined;
  }
  return out;
}

/** The declared name closest to a misspelled one (edit distance at most a third of its length, min 2), if any. */
export function nearestName(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------- default messages

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Messages for issues a schema did not word itself; `{path}` becomes the field path. */
function defaultMessage(iss: z.core.$ZodRawIssue): string {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      if (input === undefined) return '{path} is required';
      // z.int() reports `expected: number`; its definition says it is a whole number.
      const format = (iss.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
      const expected = iss.expected === 'number' && format?.endsWith('int') ? 'int' : iss.expected;
      return `{path} must be ${TYPE_NAMES[expected] ?? expected}, not ${describe(input)}`;
    }
    case 'invalid_value':
      return `{path}: Unsupported value: ${JSON.stringify(input)}: supported values: ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
    case 'too_big': {
      const small = iss.code === 'too_small';
      const bound = small ? (iss as { minimum: number | bigint }).minimum : (iss as { maximum: number | bigint }).maximum;
      if (iss.origin === 'string')
        return `{path} must have ${small ? 'at least' : 'at most'} ${bound} character${Number(bound) === 1 ? '' : 's'}`;
      if (iss.origin === 'array') {
        const n = Array.isArray(input) ? input.length : 0;
        return small
          ? `{path} needs at least ${bound} item${Number(bound) === 1 ? '' : 's'}`
          : `{path} has ${n} items; at most ${bound} are allowed`;
      }
      return `{path} is ${String(input)}; it must be ${small ? 'at least' : 'at most'} ${bound}`;
    }
    case 'invalid_format':
      return `{path} "${String(input)}" does not match ${(iss as { pattern?: RegExp }).pattern?.source ?? iss.format}`;
    case 'invalid_union':
      return `{path} has the wrong type (${describe(input)})`;
    default:
      return `{path}: ${iss.message ?? 'invalid value'}`;
  }
}

function defaultFix(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'invalid_value') return `use one of ${issue.values.map(String).join(', ')}`;
  return undefined;
}

/** A short description of a wrong value: `"80"` (a string), `[...]`, `{...}`. */
function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}
