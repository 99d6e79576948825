/**
 * A small gRPC server on node:http2 streams, answering as grpc-go's server does: 415 for a
 * non-gRPC content type, 405 for a method other than POST, UNIMPLEMENTED for unknown services,
 * trailers-only responses for errors, raw numeric status codes passed through (500 stays 500).
 * It exists so that HTTP/1.1 and gRPC can share one port the way fake-service's cmux splits them,
 * and so handlers see the request metadata exactly as grpc-go exposes it (with `:authority`).
 */
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { GoPanic } from './response.js';

/** Request metadata in arrival order, as grpc-go's metadata.MD holds it (keys lower case, -bin values decoded). */
export type GrpcMetadata = [string, string | Buffer][];

export type GrpcCall = {
  path: string;
  service: string;
  method: string;
  metadata: GrpcMetadata;
  authority: string;
  remoteAddress: string;
  stream: http2.ServerHttp2Stream;
};

export class GrpcStatusError extends Error {
  readonly code: number;
  /** Encoded google.rpc.Status for grpc-status-details-bin. */
  readonly details: Buffer | undefined;
  constructor(code: number, message: string, details?: Buffer) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export type UnaryMethod = { kind: 'unary'; handle(request: Buffer, call: GrpcCall): Promise<Buffer> };
export type BidiMethod = {
  kind: 'bidi';
  /** Reads requests from `messages`, answers with `send`; resolves when done (status OK), throws GrpcStatusError otherwise. */
  handle(messages: AsyncIterable<Buffer>, send: (message: Buffer) => void, call: GrpcCall): Promise<void>;
};
export type GrpcService = {
  name: string;
  methods: Record<string, UnaryMethod | BidiMethod>;
  /**
   * Methods the service's proto declares but the server leaves to grpc-go's generated
   * `Unimplemented<Service>Server`: registered, so not "unknown", and answered UNIMPLEMENTED with
   * that embedding's text.
   */
  declaredOnly?: readonly string[];
};

export const MAX_RECEIVE_MESSAGE_SIZE = 4 * 1024 * 1024;

/** gRPC's reserved headers grpc-go keeps out of the handler's metadata (":authority" and "user-agent" stay). */
const RESERVED = new Set([
  'content-type',
  'grpc-message-type',
  'grpc-encoding',
  'grpc-message',
  'grpc-status',
  'grpc-timeout',
  'grpc-status-details-bin',
  'te',
]);

/** Percent-encodes grpc-message as the gRPC spec (and grpc-go) does. */
export function encodeGrpcMessage(msg: string): string {
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function decodeGrpcMessage(msg: string): string {
  try {
    return decodeURIComponent(msg);
  } catch {
    return msg;
  }
}

/** One length-prefixed message. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Splits incoming DATA into gRPC messages; decompresses gzip ones. */
async function* readMessages(stream: http2.ServerHttp2Stream, encoding: string): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(1);
      if (len > MAX_RECEIVE_MESSAGE_SIZE)
        throw new GrpcStatusError(8, `grpc: received message larger than max (${len} vs. ${MAX_RECEIVE_MESSAGE_SIZE})`);
      if (pending.length < 5 + len) break;
      const compressed = pending[0] === 1;
      let msg: Buffer = pending.subarray(5, 5 + len);
      pending = pending.subarray(5 + len);
      if (compressed) {
        if (encoding === '' || encoding === 'identity')
          throw new GrpcStatusError(13, 'grpc: compressed flag set with identity or empty encoding');
        try {
          msg = zlib.gunzipSync(msg);
        } catch (e) {
          throw new GrpcStatusError(13, `grpc: failed to decompress the received message: ${(e as Error).message}`);
        }
      }
      yield msg;
    }
  }
  if (pending.length > 0) throw new GrpcStatusError(2, 'unexpected EOF');
}

type Headers = http2.IncomingHttpHeaders;

export type GrpcServerOptions = {
  /** A handler panicked (GoPanic): grpc-go does not recover it and the process dies. */
  onPanic?: (error: GoPanic) => void;
};

/** Routes h2 streams to services; one instance per server. */
export class GrpcServer {
  #services = new Map<string, GrpcService>();
  #opts: GrpcServerOptions;

  constructor(services: GrpcService[], opts: GrpcServerOptions = {}) {
    for (const s of services) this.#services.set(s.name, s);
    this.#opts = opts;
  }

  get serviceNames(): string[] {
    return [...this.#services.keys()];
  }

  handleStream(stream: http2.ServerHttp2Stream, headers: Headers, rawHeaders: string[] | undefined): void {
    stream.on('error', () => {});
    const raw = rawHeaders ?? flatten(headers);
    const metadata: GrpcMetadata = [];
    let contentType = '';
    let isGrpc = false;
    let malformedTimeout = false;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      if (name === 'content-type') {
        if (/^application\/grpc($|[+;])/i.test(value)) {
          isGrpc = true;
          metadata.push([name, value]);
        } else contentType = value;
      } else if (name === 'grpc-accept-encoding') metadata.push([name, value]);
      else if (name === 'grpc-timeout') malformedTimeout = !/^[0-9]{1,8}[HMSmun]$/.test(value);
      else if (name.startsWith(':')) {
        if (name === ':authority') metadata.push([name, value]);
      } else if (!RESERVED.has(name)) metadata.push([name, name.endsWith('-bin') ? Buffer.from(value, 'base64') : value]);
    }
    // "If :authority is missing, Host must be renamed to :authority"; otherwise host is dropped.
    const hostAt = metadata.findIndex(([k]) => k === 'host');
    if (hostAt >= 0) {
      const host = metadata[hostAt]!;
      metadata.splice(hostAt, 1);
      if (!metadata.some(([k]) => k === ':authority')) metadata.unshift([':authority', host[1]]);
    }
    const ended = () => stream.readableEnded;
    if (!isGrpc) return earlyAbort(stream, 415, 3, `invalid gRPC request content-type "${contentType}"`, !ended());
    if (malformedTimeout) return earlyAbort(stream, 400, 13, `malformed grpc-timeout: ${String(headers['grpc-timeout'])}`, !ended());
    if (headers[':method'] !== 'POST')
      return earlyAbort(
        stream,
        405,
        13,
        `Received a HEADERS frame with :method "${String(headers[':method'])}" which should be POST`,
        !ended(),
      );

    const path = String(headers[':path'] ?? '');
    const call: GrpcCall = {
      path,
      service: '',
      method: '',
      metadata,
      authority: String(headers[':authority'] ?? headers['host'] ?? ''),
      remoteAddress: stream.session?.socket?.remoteAddress ?? '',
      stream,
    };
    const slash = path.startsWith('/') ? path.lastIndexOf('/') : -1;
    if (slash <= 0) return finishWithStatus(stream, new GrpcStatusError(12, `malformed method name: "${path}"`));
    call.service = path.slice(1, slash);
    call.method = path.slice(slash + 1);
    const service = this.#services.get(call.service);
    const method = service?.methods[call.method];
    if (!method) {
      const declared = service?.declaredOnly?.includes(call.method) === true;
      const text = declared
        ? `method ${call.method} not implemented`
        : service
          ? `unknown method ${call.method} for service ${call.service}`
          : `unknown service ${call.service}`;
      return finishWithStatus(stream, new GrpcStatusError(12, text));
    }
    const encoding = String(headers['grpc-encoding'] ?? '');
    if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip')
      return finishWithStatus(stream, new GrpcStatusError(12, `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`));
    const run = method.kind === 'unary' ? this.#unary(method, call, encoding) : this.#bidi(method, call, encoding);
    run.catch((e: unknown) => {
      if (e instanceof GoPanic) {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        this.#opts.onPanic?.(e);
        return;
      }
      finishWithStatus(stream, e instanceof GrpcStatusError ? e : new GrpcStatusError(2, (e as Error).message));
    });
  }

  async #unary(method: UnaryMethod, call: GrpcCall, encoding: string): Promise<void> {
    let request: Buffer | undefined;
    for await (const msg of readMessages(call.stream, encoding)) request ??= msg;
    if (request === undefined) throw new GrpcStatusError(2, 'EOF');
    const reply = await method.handle(request, call);
    sendReply(call.stream, [reply]);
  }

  async #bidi(method: BidiMethod, call: GrpcCall, encoding: string): Promise<void> {
    const stream = call.stream;
    const send = (message: Buffer) => {
      if (stream.destroyed || stream.closed) return;
      if (!stream.headersSent) respondHeaders(stream);
      stream.write(frameMessage(message));
    };
    await method.handle(readMessages(stream, encoding), send, call);
    if (!stream.headersSent) return finishWithStatus(stream, new GrpcStatusError(0, ''));
    if (stream.destroyed || stream.closed) return;
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end();
  }
}

function flatten(headers: Headers): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else if (v !== undefined) out.push(k, String(v));
  }
  return out;
}

function respondHeaders(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, {
    waitForTrailers: true,
    sendDate: false,
  } as http2.ServerStreamResponseOptions);
}

/** Headers, the messages, then trailers with status OK. */
export function sendReply(stream: http2.ServerHttp2Stream, messages: Buffer[]): void {
  if (stream.destroyed || stream.closed) return;
  respondHeaders(stream);
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
  for (const m of messages) stream.write(frameMessage(m));
  stream.end();
}

/** A status: trailers-only when nothing was sent yet, as grpc-go's WriteStatus. */
export function finishWithStatus(stream: http2.ServerHttp2Stream, status: GrpcStatusError): void {
  if (stream.destroyed || stream.closed) return;
  const fields: http2.OutgoingHttpHeaders = {
    // codes.Code is a uint32 in grpc-go: a negative ERROR_CODE wraps around.
    'grpc-status': String(status.code >>> 0),
    'grpc-message': encodeGrpcMessage(status.message),
  };
  if (status.details) fields['grpc-status-details-bin'] = status.details.toString('base64').replace(/=+$/, '');
  if (stream.headersSent) {
    stream.once('wantTrailers', () => stream.sendTrailers(fields));
    stream.end();
    return;
  }
  const clientOpen = !stream.readableEnded;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...fields }, {
    endStream: true,
    sendDate: false,
  } as http2.ServerStreamResponseOptions);
  // grpc-go resets a stream the client has not half-closed yet, with NO_ERROR.
  if (clientOpen) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** grpc-go's earlyAbortStream: an HTTP status with a gRPC status, headers only. */
function earlyAbort(stream: http2.ServerHttp2Stream, httpStatus: number, code: number, message: string, rst: boolean): void {
  stream.respond(
    { ':status': httpStatus, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
    { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions,
  );
  if (rst) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  else stream.resume();
}
