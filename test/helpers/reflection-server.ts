import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** dist/test/helpers/ -> <repo>/test/fixtures/ */
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

// Original field names in the descriptors, as protoc-generated servers have.
const options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true } as const;
const fakeDef = protoLoader.loadSync(fixture('fake-service.proto'), options);
const greeterDef = protoLoader.loadSync(fixture('greeter.proto'), options);

type Svc = { service: grpc.ServiceDefinition };
const FakeService = (grpc.loadPackageDefinition(fakeDef) as unknown as { FakeService: Svc }).FakeService;
const Greeter = (grpc.loadPackageDefinition(greeterDef) as unknown as { legate: { demo: { Greeter: Svc } } }).legate.demo.Greeter;

export type ReflectionServerOptions = {
  /** FakeService.Handle fails every other call (the 1st, 3rd, ...) with UNAVAILABLE. */
  failEveryOther?: boolean;
  /** Adds x-envoy-attempt-count to FakeService.Handle responses: the n-th call says 1 + (n-1) % attemptCycle. */
  attemptCycle?: number;
  /** Which reflection versions to offer: both (default), only v1alpha, or none. */
  reflection?: 'both' | 'v1alpha' | 'none';
  /** Serve TLS with this key pair instead of plaintext. */
  tls?: { cert: string; key: string };
  /** Milliseconds FakeService.Handle waits before answering. */
  delayMs?: number;
};

export type ReflectionServer = {
  port: number;
  /** Calls per method name. */
  count: Record<string, number>;
  /** Metadata of the last call per method name. */
  lastMetadata: Record<string, grpc.Metadata>;
  /** :authority of the last call per method name. */
  lastHost: Record<string, string>;
  /** Size of the `data` field of the last FakeService.Handle request. */
  lastDataBytes: number | undefined;
  /** Most FakeService.Handle calls in progress at once. */
  maxInFlight: number;
  close(): Promise<void>;
};

/** A grpc-js server on 127.0.0.1:0 with FakeService, legate.demo.Greeter and server reflection. */
export async function startReflectionServer(opts: ReflectionServerOptions = {}): Promise<ReflectionServer> {
  const count: Record<string, number> = {};
  const lastMetadata: Record<string, grpc.Metadata> = {};
  const lastHost: Record<string, string> = {};
  let inFlight = 0;
  const state: { maxInFlight: number; lastDataBytes?: number } = { maxInFlight: 0 };
  const seen = (name: string, call: { metadata: grpc.Metadata; getHost(): string }) => {
    count[name] = (count[name] ?? 0) + 1;
    lastMetadata[name] = call.metadata;
    lastHost[name] = call.getHost();
    return count[name]!;
  };
  const server = new grpc.Server();
  server.addService(FakeService.service, {
    Handle(call: grpc.ServerUnaryCall<{ data?: Buffer }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const n = seen('Handle', call);
      state.lastDataBytes = call.request.data?.length ?? 0;
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const answer = () => {
        inFlight--;
        const md = new grpc.Metadata();
        if (opts.attemptCycle) md.set('x-envoy-attempt-count', String(1 + ((n - 1) % opts.attemptCycle)));
        if (opts.failEveryOther && n % 2 === 1) {
          md.set('x-fault', 'injected');
          cb({ code: grpc.status.UNAVAILABLE, details: 'Service error automatically injected', metadata: md } as grpc.ServiceError);
          return;
        }
        call.sendMetadata(md);
        cb(null, { Message: `{"name":"Service","body":"Hello World","bytes":${call.request.data?.length ?? 0}}` });
      };
      if (opts.delayMs) setTimeout(answer, opts.delayMs);
      else answer();
    },
  });
  type Hello = Record<string, unknown> & { name?: string; fail_code?: number };
  server.addService(Greeter.service, {
    Hello(call: grpc.ServerUnaryCall<Hello, unknown>, cb: grpc.sendUnaryData<unknown>) {
      seen('Hello', call);
      const req = call.request;
      if (req.fail_code) {
        const md = new grpc.Metadata();
        md.set('x-reason', 'asked to fail');
        cb({ code: req.fail_code, details: `failing as asked for ${req.name ?? ''}`, metadata: md } as grpc.ServiceError);
        return;
      }
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) if (k.startsWith('x-')) metadata[k] = String(v);
      const headers = new grpc.Metadata();
      headers.set('x-greeter', 'yes');
      call.sendMetadata(headers);
      const trailers = new grpc.Metadata();
      trailers.set('x-done', 'true');
      cb(null, { greeting: `hello ${req.name ?? ''}`, echo: req, metadata }, trailers);
    },
    Count(call: grpc.ServerWritableStream<{ up_to?: number }, unknown>) {
      seen('Count', call);
      for (let n = 1; n <= (call.request.up_to ?? 0); n++) call.write({ n });
      call.end();
    },
    Sum(call: grpc.ServerReadableStream<{ value?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      seen('Sum', call);
      let sum = 0;
      let n = 0;
      call.on('data', (m: { value?: number }) => {
        sum += m.value ?? 0;
        n++;
      });
      call.on('end', () => cb(null, { sum, count: n }));
    },
    Chat(call: grpc.ServerDuplexStream<{ value?: number }, unknown>) {
      seen('Chat', call);
      let sum = 0;
      let n = 0;
      call.on('data', (m: { value?: number }) => {
        sum += m.value ?? 0;
        call.write({ sum, count: ++n });
      });
      call.on('end', () => call.end());
    },
  });
  const which = opts.reflection ?? 'both';
  if (which !== 'none') {
    const reflection = new ReflectionService({ ...fakeDef, ...greeterDef });
    if (which === 'both') reflection.addToServer(server);
    // Only the v1alpha service, as older servers have.
    else
      reflection.addToServer({
        addService: (def, impl) => {
          if (Object.values(def)[0]?.path.startsWith('/grpc.reflection.v1alpha.')) server.addService(def, impl);
        },
      });
  }
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(opts.tls.key), cert_chain: Buffer.from(opts.tls.cert) }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    count,
    lastMetadata,
    lastHost,
    get lastDataBytes() {
      return state.lastDataBytes;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
