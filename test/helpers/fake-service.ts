import http from 'node:http';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { startFakeService, type FakeServiceHandle, type FakeServiceOptions } from '../../src/fake-service/index.js';

/** dist/test/helpers/x.js -> <repo>/test/fixtures/fake-service/<name> */
export const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/fake-service/${name}`, import.meta.url));

const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

type Ctor = grpc.ServiceClientConstructor;
const api = grpc.loadPackageDefinition(protoLoader.loadSync(fixture('api.proto'), loaderOptions)) as unknown as { FakeService: Ctor };
const echo = grpc.loadPackageDefinition(protoLoader.loadSync(fixture('grpcecho.proto'), loaderOptions)) as unknown as {
  gateway_api_conformance: { echo_basic: { grpcecho: { GrpcEcho: Ctor } } };
};
const reflection = grpc.loadPackageDefinition(protoLoader.loadSync(fixture('reflection.proto'), loaderOptions)) as unknown as {
  grpc: { reflection: { v1: { ServerReflection: Ctor } } };
};

export type Started = FakeServiceHandle & { logs: string[]; text(): string };

/** A fake-service on 127.0.0.1:0 whose log lines are kept in memory. */
export async function startCaptured(env: Record<string, string>, opts: FakeServiceOptions = {}): Promise<Started> {
  const logs: string[] = [];
  const handle = await startFakeService(
    { LISTEN_ADDR: '127.0.0.1:0', ...env },
    { ipAddresses: ['10.1.0.7'], tzOffsetMin: 0, shutdownGraceMs: 200, logSink: (l) => logs.push(l), ...opts },
  );
  return Object.assign(handle, { logs, text: () => logs.join('') });
}

export type HttpResult = { status: number; statusMessage: string; headers: http.IncomingHttpHeaders; body: string };

/** One HTTP/1.1 request on a fresh connection. */
export function httpRequest(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}

export type GrpcOutcome = { ok: true; message: string; headers: grpc.Metadata } | { ok: false; error: grpc.ServiceError };

/** FakeService.Handle through a grpc-js client built from the .proto (proto-loader). */
export function fakeServiceClient(port: number): grpc.Client & Record<string, unknown> {
  return new api.FakeService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
}

export function callHandle(client: grpc.Client & Record<string, unknown>, metadata: Record<string, string> = {}): Promise<GrpcOutcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    const call = (
      client['Handle'] as (
        r: object,
        m: grpc.Metadata,
        o: object,
        cb: (e: grpc.ServiceError | null, r?: { Message: string }) => void,
      ) => grpc.ClientUnaryCall
    )({ data: Buffer.alloc(0) }, md, { deadline: Date.now() + 10_000 }, (error, reply) =>
      resolve(error ? { ok: false, error } : { ok: true, message: reply!.Message, headers }),
    );
    call.on('metadata', (m) => (headers = m));
  });
}

export function grpcEchoClient(port: number): grpc.Client & Record<string, unknown> {
  return new echo.gateway_api_conformance.echo_basic.grpcecho.GrpcEcho(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as grpc.Client & Record<string, unknown>;
}

export function reflectionClient(port: number): grpc.Client & Record<string, unknown> {
  return new reflection.grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, unknown>;
}

/** One request/response exchange on a reflection stream per request given. */
export function reflect(client: grpc.Client & Record<string, unknown>, requests: object[]): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const call = (client['ServerReflectionInfo'] as () => grpc.ClientDuplexStream<object, Record<string, unknown>>)();
    const out: Record<string, unknown>[] = [];
    call.on('data', (d: Record<string, unknown>) => {
      out.push(d);
      if (out.length === requests.length) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(out));
    for (const r of requests) call.write(r);
  });
}

/** Parses the structured parts of hclog text lines: level, logger name, message. */
export function messages(logs: string[]): string[] {
  return logs.map((l) => /^\S+ \[(\w+)\] ?\s(.*?)(?::(?: |\n|$)|\n|$)/.exec(l)?.[2] ?? l);
}
