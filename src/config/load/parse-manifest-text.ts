/**
 * One text (a file, stdin, a test string) -> the objects it holds, with positions.
 * Multi-document YAML and JSON (YAML's flow syntax covers it) go through the same parser.
 * Bad input becomes diagnostics; nothing here throws on user input.
 */
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, visit, type Alias, type Document, type Node, type YAMLError } from 'yaml';
import type { Diagnostics, LoadedObject, ObjectMeta, SourcePos } from '../model.js';
import { apiVersionProblem } from './api-group.js';
import { isClusterScoped } from './cluster-scoped.js';
import { findPair, makePosOf, resolveNode } from './node-positions.js';

type Path = readonly (string | number)[];
type Ctx = { file: string; lineCounter: LineCounter; doc: Document.Parsed; diags: Diagnostics; out: LoadedObject[] };
type Problem = { path: Path; message: string; fix: string };

const MAX_LIST_DEPTH = 8;

/** Parses every document of `text`; `file` names it in positions and diagnostics. */
export function parseManifestText(file: string, text: string, diags: Diagnostics): LoadedObject[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lineCounter = new LineCounter();
  const posAt = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const docs = parseAllDocuments(src, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    // `!!binary`, `!!set`, `!!timestamp`... stay strings and mappings (with a W_YAML warning): bodies are plain JSON.
    resolveKnownTags: false,
    logLevel: 'silent',
  });
  const out: LoadedObject[] = [];
  if ('empty' in docs) {
    reportYamlErrors(docs.errors, 'the stream', posAt, diags);
    return out;
  }
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `document ${i + 1}` : 'the document';
    if (doc.errors.length > 0) {
      reportYamlErrors(doc.errors, where, posAt, diags);
      return;
    }
    for (const w of doc.warnings) diags.warning('W_YAML', `${w.message} (in ${where})`, { pos: posAt(w.pos[0]) });
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return; // empty document
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      const bad = firstUnresolvedAlias(doc);
      diags.error(
        'E_YAML_SYNTAX',
        `invalid YAML in ${where}: ${err instanceof Error ? err.message : String(err)}; the document is skipped`,
        { pos: posAt(bad?.range?.[0] ?? root.range[0]) },
        bad ? `Define the anchor &${bad.source} before this alias, or remove the alias.` : undefined,
      );
      return;
    }
    collect({ file, lineCounter, doc, diags, out }, root, value, where, undefined, 0);
  });
  return out;
}

function reportYamlErrors(errors: readonly YAMLError[], where: string, posAt: (o: number) => SourcePos, diags: Diagnostics): void {
  const first = errors[0];
  if (!first) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more YAML error${errors.length > 2 ? 's' : ''} after it)` : '';
  diags.error(
    'E_YAML_SYNTAX',
    `invalid YAML in ${where}: ${first.message}${more}; the document is skipped`,
    { pos: posAt(first.pos[0]) },
    yamlFix(first.code),
  );
}

function yamlFix(code: string): string | undefined {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'Indent with spaces; YAML does not allow tabs for indentation.';
    case 'DUPLICATE_KEY':
      return 'Remove or rename one of the two keys.';
    case 'MISSING_CHAR':
      return 'Close the quote or bracket that starts before this point.';
    case 'BAD_INDENT':
    case 'MISSING_INDENT':
      return 'Check the indentation: nested fields need more spaces than their parent, siblings the same.';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'Put the nested mapping on its own indented line, or quote the value if it contains ": ".';
    default:
      return undefined;
  }
}

function firstUnresolvedAlias(doc: Document.Parsed): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (!node.resolve(doc)) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a sequence';
  if (isRecord(v)) return 'a mapping';
  if (typeof v === 'object') return `a ${v.constructor?.name ?? 'non-JSON'} value`;
  return `a ${typeof v} (${JSON.stringify(v)})`;
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** One node: an object, or a List whose items are objects. */
function collect(
  ctx: Ctx,
  node: Node | undefined,
  value: unknown,
  where: string,
  defaults: { apiVersion: string; kind: string } | undefined,
  depth: number,
): void {
  const { pos, posOf } = makePosOf(ctx.file, ctx.lineCounter, ctx.doc, node ?? ctx.doc.contents!);
  if (!isRecord(value) || !isMap(resolveNode(node, ctx.doc))) {
    ctx.diags.error(
      'E_OBJECT_INVALID',
      `${where} is ${describeValue(value)}, not a Kubernetes object (a mapping with apiVersion, kind and metadata)`,
      { pos },
      'Write one object per document, separated by `---` lines; to group objects use `kind: List` with `items:`.',
    );
    return;
  }
  const apiVersion = isMissing(value.apiVersion) && defaults ? defaults.apiVersion : value.apiVersion;
  const kind = isMissing(value.kind) && defaults ? defaults.kind : value.kind;

  // kind: List, and typed lists such as ConfigMapList, hold objects in `items`.
  if (
    typeof kind === 'string' &&
    typeof apiVersion === 'string' &&
    (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items)))
  ) {
    const items = value.items;
    if (items === undefined || items === null) return;
    if (!Array.isArray(items)) {
      ctx.diags.error(
        'E_OBJECT_INVALID',
        `${kind} in ${where}: items is ${describeValue(items)}, not a sequence`,
        { pos: posOf(['items']) },
        'Write `items:` as a sequence of objects (`- apiVersion: ...`).',
      );
      return;
    }
    if (depth >= MAX_LIST_DEPTH) {
      ctx.diags.error('E_OBJECT_INVALID', `${kind} in ${where}: lists nested more than ${MAX_LIST_DEPTH} deep`, { pos });
      return;
    }
    const map = resolveNode(node, ctx.doc);
    const seq = isMap(map) ? resolveNode(findPair(map, 'items', ctx.doc)?.value, ctx.doc) : undefined;
    const itemDefaults = kind === 'List' ? undefined : { apiVersion, kind: kind.slice(0, -'List'.length) };
    items.forEach((item, j) => {
      const itemNode = isSeq(seq) ? seq.items[j] : undefined;
      collect(ctx, (itemNode as Node | undefined) ?? seq ?? node, item, `items[${j}] of the ${kind} in ${where}`, itemDefaults, depth + 1);
    });
    return;
  }

  const problems: Problem[] = [];
  if (isMissing(apiVersion)) {
    problems.push({
      path: [],
      message: 'apiVersion is missing',
      fix: 'Add `apiVersion:`, e.g. `gateway.networking.k8s.io/v1` for Gateway API kinds or `v1` for a Service.',
    });
  } else if (typeof apiVersion !== 'string') {
    problems.push({
      path: ['apiVersion'],
      message: `apiVersion must be a string, not ${describeValue(apiVersion)}`,
      fix: 'Write apiVersion as `group/version`, e.g. `apps/v1`.',
    });
  } else {
    const bad = apiVersionProblem(apiVersion);
    if (bad)
      problems.push({
        path: ['apiVersion'],
        message: `apiVersion "${apiVersion}" ${bad}`,
        fix: 'Write apiVersion as `group/version` (e.g. `gateway.networking.k8s.io/v1`) or `v1` for core kinds.',
      });
  }
  if (isMissing(kind)) {
    problems.push({ path: [], message: 'kind is missing', fix: 'Add `kind:` with the resource type, e.g. `kind: HTTPRoute`.' });
  } else if (typeof kind !== 'string') {
    problems.push({
      path: ['kind'],
      message: `kind must be a string, not ${describeValue(kind)}`,
      fix: 'Write kind as the resource type, e.g. `kind: HTTPRoute`.',
    });
  }
  const meta = value.metadata;
  if (isMissing(meta)) {
    problems.push({
      path: [],
      message: 'metadata.name is missing',
      fix: 'Add `metadata:` with `name: <name>` (and `namespace:` unless it is "default").',
    });
  } else if (!isRecord(meta)) {
    problems.push({
      path: ['metadata'],
      message: `metadata must be a mapping, not ${describeValue(meta)}`,
      fix: 'Write `metadata:` as a mapping with `name:` (and optionally `namespace:`, `labels:`).',
    });
  } else {
    if (isMissing(meta.name)) {
      const gen = typeof meta.generateName === 'string';
      problems.push({
        path: ['metadata'],
        message: gen
          ? 'metadata.name is missing (metadata.generateName is not supported: objects need a fixed name)'
          : 'metadata.name is missing',
        fix: 'Add `name: <name>` under `metadata:`.',
      });
    } else if (typeof meta.name !== 'string') {
      problems.push({
        path: ['metadata', 'name'],
        message: `metadata.name must be a string, not ${describeValue(meta.name)}`,
        fix: `Quote the name: \`name: "${String(meta.name)}"\`.`,
      });
    }
    if (meta.namespace !== undefined && meta.namespace !== null && typeof meta.namespace !== 'string') {
      problems.push({
        path: ['metadata', 'namespace'],
        message: `metadata.namespace must be a string, not ${describeValue(meta.namespace)}`,
        fix: 'Quote the namespace, or remove it to use "default".',
      });
    }
  }
  if (problems.length > 0) {
    const what = typeof kind === 'string' && kind ? kind : 'Object';
    const named = isRecord(meta) && typeof meta.name === 'string' && meta.name ? ` "${meta.name}"` : '';
    ctx.diags.error(
      'E_OBJECT_INVALID',
      `${what}${named} in ${where} is not a valid object: ${problems.map((p) => p.message).join('; ')}; it is skipped`,
      { pos: posOf(problems[0]!.path) },
      problems.map((p) => p.fix).join(' '),
    );
    return;
  }

  const av = apiVersion as string;
  const k = kind as string;
  const m = meta as Record<string, unknown>;
  const issues: { path: Path; message: string; fix?: string }[] = [];
  const metadata: ObjectMeta = {
    name: m.name as string,
    namespace: isClusterScoped(av, k) ? '' : typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default',
    labels: stringMap(m.labels, 'labels', issues),
    annotations: stringMap(m.annotations, 'annotations', issues),
    ...(typeof m.creationTimestamp === 'string' ? { creationTimestamp: m.creationTimestamp } : {}),
    ...(typeof m.generation === 'number' && Number.isInteger(m.generation) ? { generation: m.generation } : {}),
  };
  const body = value.apiVersion === av && value.kind === k ? value : { ...value, apiVersion: av, kind: k };
  const obj: LoadedObject = { apiVersion: av, kind: k, metadata, body, pos, posOf };
  for (const issue of issues) ctx.diags.warning('W_METADATA_VALUE', issue.message, { object: obj, path: issue.path }, issue.fix);
  ctx.out.push(obj);
}

/** labels / annotations: string values; scalars are read as strings (with a warning), the rest dropped. */
function stringMap(
  v: unknown,
  field: 'labels' | 'annotations',
  issues: { path: Path; message: string; fix?: string }[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isRecord(v)) {
    issues.push({
      path: ['metadata', field],
      message: `metadata.${field} is ${describeValue(v)}, not a mapping; ignored`,
      fix: `Write \`${field}:\` as \`key: "value"\` lines.`,
    });
    return out;
  }
  for (const [key, val] of Object.entries(v)) {
    if (typeof val === 'string') setOwn(out, key, val);
    else if (val === null || typeof val === 'number' || typeof val === 'boolean') {
      const s = val === null ? '' : String(val);
      setOwn(out, key, s);
      issues.push({
        path: ['metadata', field, key],
        message: `metadata.${field}.${key} is ${describeValue(val)}; ${field === 'labels' ? 'label' : 'annotation'} values are strings, so it is read as "${s}"`,
        fix: `Quote the value: \`${key}: "${s}"\`.`,
      });
    } else {
      issues.push({
        path: ['metadata', field, key],
        message: `metadata.${field}.${key} is ${describeValue(val)}, not a string; ignored`,
        fix: 'Write the value as a quoted string.',
      });
    }
  }
  return out;
}

/** Plain assignment, except that a `__proto__` key stays an own property. */
function setOwn(o: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
