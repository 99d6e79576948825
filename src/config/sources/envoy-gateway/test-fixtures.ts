/**
 * Test fixtures for the Envoy Gateway builders: a BackendTrafficPolicy as a `LoadedObject` from
 * YAML text, with real line/column positions per field path.
 */
import { LineCounter, parseDocument, isNode } from 'yaml';
import { Diagnostics, type LoadedObject, type SourcePos } from '../../model.js';

export const FILE = 'policy.yaml';

/** A LoadedObject from one YAML document; `posOf` gives the position of the deepest existing node on the path. */
export function loadYaml(text: string, file = FILE): LoadedObject {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const body = (doc.toJS() ?? {}) as Record<string, unknown>;
  const at = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const pos = at(doc.contents?.range?.[0] ?? 0);
  const md = (body['metadata'] ?? {}) as Record<string, unknown>;
  return {
    apiVersion: String(body['apiVersion'] ?? 'gateway.envoyproxy.io/v1alpha1'),
    kind: String(body['kind'] ?? 'BackendTrafficPolicy'),
    metadata: {
      name: String(md['name'] ?? 'policy'),
      namespace: String(md['namespace'] ?? 'default'),
      labels: (md['labels'] ?? {}) as Record<string, string>,
      annotations: (md['annotations'] ?? {}) as Record<string, string>,
      ...(md['creationTimestamp'] ? { creationTimestamp: String(md['creationTimestamp']) } : {}),
    },
    body,
    pos,
    posOf(path) {
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return at(node.range[0]);
      }
      return pos;
    },
  };
}

/** A BackendTrafficPolicy around `spec` (YAML, indented as under `spec:`). */
export function btp(
  specYaml: string,
  meta: { name?: string; namespace?: string; annotations?: Record<string, string>; creationTimestamp?: string } = {},
): LoadedObject {
  const ann = meta.annotations
    ? `  annotations:\n${Object.entries(meta.annotations)
        .map(([k, v]) => `    ${k}: "${v}"`)
        .join('\n')}\n`
    : '';
  const ts = meta.creationTimestamp ? `  creationTimestamp: "${meta.creationTimestamp}"\n` : '';
  const spec = specYaml
    .split('\n')
    .map((l) => (l.trim() ? `  ${l}` : l))
    .join('\n');
  return loadYaml(
    `apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata:\n  name: ${meta.name ?? 'policy'}\n  namespace: ${meta.namespace ?? 'default'}\n${ann}${ts}spec:\n${spec}\n`,
  );
}

/** Runs a builder and returns its value and diagnostics. */
export function run<T>(build: (o: LoadedObject, d: Diagnostics) => T, o: LoadedObject): { value: T; diags: Diagnostics } {
  const diags = new Diagnostics();
  return { value: build(o, diags), diags };
}

/** `code field` pairs of the diagnostics, for compact assertions. */
export function codes(diags: Diagnostics): string[] {
  return diags.items.map((d) => `${d.code} ${d.field ?? ''}`.trim());
}
