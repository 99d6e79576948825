/**
 * What the loader hands to the translators: one Kubernetes-style object with where it came from.
 * Translators never throw on user input; they report diagnostics and skip what is invalid.
 */
import type { Diagnostic, Severity } from '../ir/diagnostic.js';
import type { Origin } from '../ir/origin.js';

export type SourcePos = { file: string; line: number; column: number };

export type ObjectMeta = {
  name: string;
  /** Defaulted to "default" for namespaced kinds by the loader. */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  creationTimestamp?: string;
  generation?: number;
};

export type LoadedObject = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  /** The object as parsed (plain JSON values), `spec` and all. */
  body: Record<string, unknown>;
  /** Where the object starts. */
  pos: SourcePos;
  /** Position of a field by its path (`['spec', 'rules', 0, 'matches']`), or the object's when unknown. */
  posOf(path: readonly (string | number)[]): SourcePos;
};

/**
 * `Kind/namespace/name`, as diagnostics and origins name objects; `Kind/name` for a cluster-scoped
 * object (GatewayClass, Namespace...), which has no namespace.
 */
export function objectRef(o: Pick<LoadedObject, 'kind' | 'metadata'>): string {
  return o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

/** Collects diagnostics with positions resolved from the object and field path. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];

  add(
    severity: Severity,
    code: string,
    message: string,
    where?: { object?: LoadedObject; path?: readonly (string | number)[]; pos?: SourcePos },
    fix?: string,
  ): void {
    const o = where?.object;
    const pos = where?.pos ?? (o ? o.posOf(where?.path ?? []) : undefined);
    this.items.push({
      code,
      severity,
      message,
      ...(o ? { object: objectRef(o) } : {}),
      ...(where?.path && where.path.length > 0 ? { field: formatPath(where.path) } : {}),
      ...(pos ? { file: pos.file, line: pos.line, column: pos.column } : {}),
      ...(fix ? { fix } : {}),
    });
  }

  error(code: string, message: string, where?: Parameters<Diagnostics['add']>[3], fix?: string): void {
    this.add('error', code, message, where, fix);
  }

  warning(code: string, message: string, where?: Parameters<Diagnostics['add']>[3], fix?: string): void {
    this.add('warning', code, message, where, fix);
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}

/** `spec.rules[0].matches` from ['spec', 'rules', 0, 'matches']. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** `{kind: 'manifest', ...}` for a field of an object, with its source position. */
export function originOf(o: LoadedObject, path: readonly (string | number)[]): Origin {
  const pos = o.posOf(path);
  return { kind: 'manifest', object: objectRef(o), field: formatPath(path), file: pos.file, line: pos.line, column: pos.column };
}
