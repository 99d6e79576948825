import { encodeGrpcMessage, httpToGrpcStatus } from '../http/grpc.js';
import type { Downstream } from '../listener/downstream.js';

export type LocalReplyOptions = {
  /** Explicit gRPC status (fault aborts); otherwise mapped from the HTTP status. */
  grpcStatus?: number | undefined;
  /** Extra response headers, flat [name, value, ...]. */
  headers?: string[] | undefined;
  /** Content type of an HTTP body (default text/plain); gRPC replies are always application/grpc. */
  contentType?: string | undefined;
  isGrpc: boolean;
};

/**
 * Sends a response made by the proxy itself, as Envoy shapes it: text/plain with the body for
 * HTTP; for gRPC a trailers-only response (HTTP 200, grpc-status, percent-encoded grpc-message).
 * Returns the HTTP status actually sent.
 */
export function sendLocalReply(ds: Downstream, status: number, body: string, opts: LocalReplyOptions): number {
  if (opts.isGrpc) {
    const grpc = opts.grpcStatus ?? httpToGrpcStatus(status);
    const headers = ['content-type', 'application/grpc', 'grpc-status', String(grpc)];
    if (body) headers.push('grpc-message', encodeGrpcMessage(body));
    if (opts.headers) headers.push(...opts.headers);
    ds.respond(200, headers, true);
    return 200;
  }
  const headers = ['content-type', opts.contentType ?? 'text/plain', 'content-length', String(Buffer.byteLength(body))];
  if (opts.headers) headers.push(...opts.headers);
  // An HTTP/1.1 request whose body has not all arrived cannot be followed by another on the
  // connection (Node would wait to discard the rest): close it after the reply, as Envoy does.
  if (ds.protocol === 'http1' && !ds.requestComplete) headers.push('connection', 'close');
  if (body.length === 0 || ds.method === 'HEAD') {
    ds.respond(status, headers, true);
  } else {
    ds.respond(status, headers, false);
    ds.write(Buffer.from(body));
    ds.end(null);
  }
  return status;
}
