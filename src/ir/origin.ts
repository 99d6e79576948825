/**
 * Where a value came from. Every policy object in the IR carries an `origin` record keyed by its
 * field names (dotted for nested fields), so `legate translate` and `/config_dump` can say why a
 * value is what it is.
 */
export type Dialect = 'envoy' | 'envoy-gateway' | 'gateway-api' | 'istio' | 'kubernetes' | 'legate';

export type Origin =
  | {
      kind: 'manifest';
      /** `Kind/namespace/name` of the object that set the value. */
      object: string;
      /** Field path inside that object, such as `spec.retry.numRetries`. */
      field: string;
      file?: string;
      line?: number;
      column?: number;
    }
  | {
      kind: 'default';
      /** Whose default applied: Envoy's own, or the control plane whose manifests were read. */
      dialect: Dialect;
      /** The constant's name in `ir/defaults.ts`. */
      name: string;
    }
  | { kind: 'derived'; from: string };

export type Origins = Record<string, Origin>;

export function defaultOrigin(dialect: Dialect, name: string): Origin {
  return { kind: 'default', dialect, name };
}
