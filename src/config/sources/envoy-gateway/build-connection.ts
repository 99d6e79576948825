/**
 * BackendTrafficPolicy `spec.connection` -> connection buffer limit (Envoy Gateway
 * `buildBackendConnection`). `bufferLimit` is a Kubernetes quantity (`100M`, `32Ki`) and becomes
 * Envoy's per_connection_buffer_limit_bytes, which is also the retry replay limit
 * (`ir.RetryPolicy.bufferLimitBytes`). Not one of the seven resilience features, but an invalid
 * value rejects the whole policy, so its schema is checked like the others'.
 */
import type { Origins } from '../../../ir/origin.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { NANO, parseQuantity } from '../../schema/quantity.js';
import { Connection } from './schema.js';
import { manifestOrigin, readFeature, reader } from './spec-reader.js';

export { formatQuantity, parseQuantity, type Quantity } from '../../schema/quantity.js';

export type ConnectionFragment = { bufferLimitBytes?: number; origin: Origins };

export function buildConnection(btp: LoadedObject, diags: Diagnostics): ConnectionFragment | undefined {
  const r = reader(btp, diags, 'connection');
  const block = readFeature(r, Connection);
  if (!block) return undefined;
  const { value: conn, at } = block;
  const out: ConnectionFragment = { origin: {} };
  // The schema checked the quantity: a whole number of bytes that fits in 32 bits.
  const q = conn.bufferLimit === undefined ? undefined : parseQuantity(String(conn.bufferLimit));
  if (q) {
    out.bufferLimitBytes = Number(q.nano / NANO);
    out.origin['bufferLimitBytes'] = manifestOrigin(r, at('bufferLimit'));
  }
  return r.ok ? out : undefined;
}
