/**
 * legate's own annotations, for behaviour beyond Envoy that the manifest APIs have no field for.
 * They go on the object that carries the setting (a BackendTrafficPolicy, a VirtualService).
 */
import type * as ir from '../../ir/index.js';
import { originOf, type Diagnostics, type LoadedObject } from '../model.js';

/** `"true"`: hold unary gRPC responses until their trailers and retry on the trailer status (docs/retries.md). */
export const GRPC_TRAILER_RETRY_ANNOTATION = 'legate.dev/grpc-trailer-retry';

/** Sets `grpcTrailerRetry` on a retry policy from the object's annotation, when present. */
export function applyGrpcTrailerRetry(o: LoadedObject, retry: ir.RetryPolicy, diags: Diagnostics): void {
  const v = o.metadata.annotations[GRPC_TRAILER_RETRY_ANNOTATION];
  if (v === undefined) return;
  const path = ['metadata', 'annotations', GRPC_TRAILER_RETRY_ANNOTATION];
  if (v !== 'true' && v !== 'false') {
    diags.warning(
      'W_LEGATE_ANNOTATION_INVALID',
      `${GRPC_TRAILER_RETRY_ANNOTATION}: "${v}" is not "true" or "false"; gRPC statuses in trailers are not retried`,
      { object: o, path },
      'write "true" (quoted in YAML) to retry on trailer statuses',
    );
    return;
  }
  retry.grpcTrailerRetry = v === 'true';
  retry.origin['grpcTrailerRetry'] = originOf(o, path);
}
