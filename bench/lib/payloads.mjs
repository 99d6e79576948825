// Bodies and paths the backends serve and the checks expect. No side effects: the backends import it.

export const BODY = 'hello from bench\n';
/** Body of the 503 a failing HTTP backend answers with (nginx and the Node fallback alike). */
export const FAIL_BODY = 'unavailable\n';
/** Size of the file served at DOWNLOAD_PATH (http1-download-1m) and of the http1-upload-1m body. */
export const LARGE_BYTES = 1024 * 1024;
export const DOWNLOAD_PATH = '/1m';
/** The gRPC response message: protobuf field 1 (string) = "ok", length-prefixed (9 bytes). */
export const GRPC_RESPONSE_FRAME = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x6f, 0x6b]);
/** The gRPC request message: protobuf field 1 (string) = "hi", length-prefixed (9 bytes). */
export const GRPC_REQUEST_FRAME = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x68, 0x69]);

/** LARGE_BYTES of a repeating printable pattern (no compression anywhere). */
export function largeBody() {
  const b = Buffer.alloc(LARGE_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + (i % 94);
  return b;
}
