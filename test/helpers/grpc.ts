import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

/** dist/test/helpers/grpc.js -> <repo>/test/fixtures/echo.proto */
const PROTO_PATH = fileURLToPath(new URL('../../../test/fixtures/echo.proto', import.meta.url));

export type EchoRequest = { message?: string; count?: number; failCode?: number; failMessage?: string; delayMs?: number };
export type EchoReply = { message: string; index: number; metadata: Record<string, string> };

/** What the server saw of one call, keyed by the first request's `message`. */
export type CallRecord = {
  method: string;
  metadata: grpc.Metadata;
  /** The stream was reset/closed by the peer before the handler answered. */
  cancelled: boolean;
  /** The handler sent its answer (so a later 'cancelled' event is not a cancellation). */
  answered: boolean;
  /** Resolves when the call is cancelled before it was answered. */
  whenCancelled: Promise<void>;
};

const packageDefinition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  legate: { test: { Echo: grpc.ServiceClientConstructor } };
};
const EchoService = loaded.legate.test.Echo;

/** Response initial metadata and trailing metadata every call sends. */
export const INITIAL_MD = { key: 'x-initial', value: 'hello' } as const;
export const TRAILER_MD = { key: 'x-trailer', value: 'done' } as const;

function metadataMap(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
  return out;
}

function initial(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(INITIAL_MD.key, INITIAL_MD.value);
  return md;
}

function trailer(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(TRAILER_MD.key, TRAILER_MD.value);
  return md;
}

export type EchoServer = {
  port: number;
  calls: Map<string, CallRecord>;
  /** Number of calls started, by method name. */
  count: Record<string, number>;
  close(): Promise<void>;
};

/** A real grpc-js server (insecure) on 127.0.0.1:0 implementing legate.test.Echo. */
export async function startEchoServer(): Promise<EchoServer> {
  const calls = new Map<string, CallRecord>();
  const count: Record<string, number> = {};
  const record = (
    method: string,
    call: { metadata: grpc.Metadata; on(event: 'cancelled', fn: () => void): unknown },
    key: string | undefined,
  ) => {
    count[method] = (count[method] ?? 0) + 1;
    let resolve!: () => void;
    const rec: CallRecord = {
      method,
      metadata: call.metadata,
      cancelled: false,
      answered: false,
      whenCancelled: new Promise<void>((r) => (resolve = r)),
    };
    // grpc-js also emits 'cancelled' when the stream closes after a normal answer: ignore that.
    call.on('cancelled', () => {
      if (rec.answered) return;
      rec.cancelled = true;
      resolve();
    });
    if (key) calls.set(key, rec);
    return rec;
  };

  const server = new grpc.Server();
  server.addService(EchoService.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      const req = call.request;
      const rec = record('Unary', call, req.message);
      const answer = () => {
        if (rec.cancelled) return;
        rec.answered = true;
        if (req.failCode) {
          callback({ code: req.failCode, details: req.failMessage ?? '', metadata: trailer() } as grpc.ServiceError);
          return;
        }
        call.sendMetadata(initial());
        callback(null, { message: req.message ?? '', index: 0, metadata: metadataMap(call.metadata) }, trailer());
      };
      if (req.delayMs) {
        const t = setTimeout(answer, req.delayMs);
        void rec.whenCancelled.then(() => clearTimeout(t));
      } else answer();
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      const req = call.request;
      record('ServerStream', call, req.message);
      call.sendMetadata(initial());
      const n = req.count ?? 0;
      let i = 0;
      const pump = () => {
        while (i < n) {
          const ok = call.write({ message: `${req.message ?? ''}-${i}`, index: i, metadata: {} });
          i++;
          if (!ok) return void call.once('drain', pump);
        }
        if (req.failCode) call.emit('error', { code: req.failCode, details: req.failMessage ?? '', metadata: trailer() });
        else call.end(trailer());
      };
      pump();
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      let n = 0;
      let last = '';
      let rec: CallRecord | undefined;
      call.on('data', (m: EchoRequest) => {
        if (n === 0) rec = record('ClientStream', call, m.message);
        n++;
        last = m.message ?? '';
      });
      call.on('end', () => {
        if (rec?.cancelled) return;
        call.sendMetadata(initial());
        callback(null, { message: `${n} messages, last ${last}`, index: n, metadata: metadataMap(call.metadata) }, trailer());
      });
      call.on('error', () => {});
    },
    Bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      let i = 0;
      call.sendMetadata(initial());
      call.on('data', (m: EchoRequest) => {
        if (i === 0) record('Bidi', call, m.message);
        call.write({ message: m.message ?? '', index: i++, metadata: {} });
      });
      call.on('end', () => call.end(trailer()));
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    calls,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** The typed surface of the generated Echo client that the tests use. */
export type EchoClient = grpc.Client & {
  Unary(
    req: EchoRequest,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(req: EchoRequest, md: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientWritableStream<EchoRequest>;
  Bidi(md: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequest, EchoReply>;
};

/** An Echo client on its own channel to 127.0.0.1:`port` (plaintext, no HTTP proxy from the environment). */
export function echoClient(port: number): EchoClient {
  return new EchoService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.enable_http_proxy': 0,
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as EchoClient;
}

export type UnaryResult = {
  error: grpc.ServiceError | null;
  reply: EchoReply | undefined;
  /** Response initial metadata (undefined when the response was trailers-only). */
  initial: grpc.Metadata | undefined;
  status: grpc.StatusObject;
};

/** Runs one unary call and collects everything the client sees; never rejects. */
export function unary(
  client: EchoClient,
  req: EchoRequest,
  opts: { metadata?: Record<string, string>; deadlineMs?: number } = {},
): Promise<UnaryResult> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  const callOpts: grpc.CallOptions = opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
  return new Promise((resolve) => {
    let error: grpc.ServiceError | null = null;
    let reply: EchoReply | undefined;
    let initialMd: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    let got = 0;
    const maybe = () => {
      if (++got === 2) resolve({ error, reply, initial: initialMd, status: status! });
    };
    const call = client.Unary(req, md, callOpts, (err, r) => {
      error = err;
      reply = r;
      maybe();
    });
    call.on('metadata', (m: grpc.Metadata) => (initialMd = m));
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      maybe();
    });
  });
}

export { grpc };
