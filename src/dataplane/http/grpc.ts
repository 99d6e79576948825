/** gRPC helpers: status mappings as Envoy applies them, and the grpc-timeout header. */

/** True when a request is gRPC: its content-type starts with `application/grpc`. */
export function isGrpcContentType(ct: string | string[] | undefined): boolean {
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/** gRPC status -> HTTP status, as outlier detection and host stats see it. */
export function grpcToHttpStatus(grpc: number): number {
  return GRPC_TO_HTTP[grpc] ?? 500;
}
const GRPC_TO_HTTP: Record<number, number> = {
  0: 200,
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

export { GRPC_STATUS_NAMES, httpToGrpcStatus } from '../../common/grpc-status.js';

/** Percent-encodes a grpc-message value as the gRPC spec requires (printable ASCII except %). */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  const bytes = Buffer.from(message, 'utf8');
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const GRPC_TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/**
 * Parses `grpc-timeout` (up to 8 digits and one unit H M S m u n) to milliseconds, rounding
 * sub-millisecond values up. Returns undefined for anything malformed, which means "absent".
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = GRPC_TIMEOUT_UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return undefined;
  const digits = value.slice(0, -1);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  return Math.ceil(Number(digits) * unit);
}

/** Formats milliseconds as grpc-timeout in the smallest unit that keeps at most 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  if (ms < 100_000_000) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 100_000_000) return `${s}S`;
  const m = Math.ceil(s / 60);
  if (m < 100_000_000) return `${m}M`;
  return `${Math.min(99_999_999, Math.ceil(m / 60))}H`;
}
