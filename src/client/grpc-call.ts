import type { EventEmitter } from 'node:events';
import protobuf from 'protobufjs';
import { grpc, grpcClient, metadataRecord, statusName, toMetadata, type GrpcTarget } from './grpc-channel.js';
import { UsageError, type HeaderPair } from './headers.js';
import { decodeToJson, encodeJson } from './proto-json.js';
import { describeSymbol, parseMethodName, resolveMethod, services, type ResolvedMethod } from './grpc-method.js';
import { ReflectionClient, ReflectionError } from './reflection.js';

export type SchemaOptions = GrpcTarget & {
  /** Metadata sent with every call, reflection included (`-H 'name: value'`). */
  metadata?: readonly HeaderPair[];
  /** .proto files to use instead of server reflection. */
  protoFiles?: readonly string[];
  /** Bound on the reflection round trips (default 10 s). */
  reflectionTimeoutMs?: number;
};

export type GrpcCallOptions = SchemaOptions & {
  /** Service.Method, package.Service.Method or package.Service/Method. */
  method: string;
  /**
   * The request as JSON text (one object; several concatenated objects for a client stream) or as
   * values. Default: one empty message ({}), none for a client or bidi stream.
   */
  data?: string | Record<string, unknown> | readonly Record<string, unknown>[];
  deadlineMs?: number;
  /** Called with the response headers when they arrive (not for a trailers-only response). */
  onHeaders?: (headers: Record<string, string[]>) => void;
  /** Called with each response message as it arrives (server streams print as they come). */
  onMessage?: (message: unknown) => void;
};

export type GrpcCallResult = {
  /** The :path called, /package.Service/Method. */
  path: string;
  ok: boolean;
  code: number;
  /** Canonical status name: OK, UNAVAILABLE, ... */
  codeName: string;
  details: string;
  /** Response messages as proto3 JSON. */
  responses: unknown[];
  /** Response headers (initial metadata); empty for a trailers-only response. */
  headers: Record<string, string[]>;
  trailers: Record<string, string[]>;
};

/**
 * Calls one gRPC method with a JSON request, resolving the schema by server reflection (v1, then
 * v1alpha) or from .proto files. Mistakes in the request throw; the call's own status, OK or not,
 * is in the result.
 */
export async function grpcCall(opts: GrpcCallOptions): Promise<GrpcCallResult> {
  const method = await loadMethod(opts, opts.method);
  const requests = requestMessages(opts.data, method).map((m) => Buffer.from(encodeJson(method.requestType, m)));
  if (!method.requestStream && requests.length !== 1)
    throw new UsageError(`${method.path} takes exactly one request message, ${requests.length} given`);
  const client = grpcClient(opts);
  try {
    return await invoke(client, method, requests, opts);
  } finally {
    client.close();
  }
}

/** Finds a method and its message types: from --proto files, else by reflection. */
export async function loadMethod(opts: SchemaOptions, name: string): Promise<ResolvedMethod> {
  const parsed = parseMethodName(name);
  if (opts.protoFiles?.length) return resolveMethod(loadProtoFiles(opts.protoFiles), parsed);
  const reflection = reflectionFor(opts);
  try {
    return resolveMethod(await reflection.rootFor(parsed.service).catch(explain(opts, parsed.service)), parsed);
  } finally {
    reflection.close();
  }
}

/** Services the server offers (by reflection), or the methods of one service as Service.Method. */
export async function grpcList(opts: SchemaOptions & { service?: string }): Promise<string[]> {
  if (opts.protoFiles?.length) return listIn(loadProtoFiles(opts.protoFiles), opts.service);
  const reflection = reflectionFor(opts);
  try {
    if (!opts.service) return await reflection.listServices().catch(explain(opts, 'the service list'));
    return listIn(await reflection.rootFor(opts.service).catch(explain(opts, opts.service)), opts.service);
  } finally {
    reflection.close();
  }
}

/** A proto-like description of a service, method, message or enum. */
export async function grpcDescribe(opts: SchemaOptions & { symbol: string }): Promise<string> {
  if (opts.protoFiles?.length) return describeSymbol(loadProtoFiles(opts.protoFiles), opts.symbol);
  const reflection = reflectionFor(opts);
  try {
    // A method is found through its service's file.
    const symbol = opts.symbol.replace(/^\./, '').replace(/\//g, '.');
    const root = await reflection.rootFor(symbol).catch(async (e: unknown) => {
      const parent = symbol.slice(0, Math.max(0, symbol.lastIndexOf('.')));
      if (!(e instanceof ReflectionError) || e.code !== grpc.status.NOT_FOUND || !parent) throw e;
      return reflection.rootFor(parent);
    });
    return describeSymbol(root, symbol);
  } catch (e) {
    return explain(opts, opts.symbol)(e);
  } finally {
    reflection.close();
  }
}

function listIn(root: protobuf.Root, service: string | undefined): string[] {
  if (!service) return services(root);
  const s = root.lookup(service.replace(/^\./, ''));
  if (!(s instanceof protobuf.Service)) throw new UsageError(`no service ${service} in the schema`);
  return s.methodsArray.map((m) => `${s.fullName.slice(1)}.${m.name}`);
}

function reflectionFor(opts: SchemaOptions): ReflectionClient {
  return new ReflectionClient(opts, { metadata: toMetadata(opts.metadata ?? []), deadlineMs: opts.reflectionTimeoutMs ?? 10_000 });
}

/** Turns reflection failures into messages that say what to do. */
function explain(opts: SchemaOptions, what: string): (e: unknown) => never {
  return (e) => {
    if (!(e instanceof ReflectionError)) throw e;
    if (e.code === grpc.status.UNIMPLEMENTED)
      throw new NoReflectionError(
        `${opts.address} does not offer server reflection (grpc.reflection.v1 or v1alpha); give the schema with --proto FILE` +
          // A proxy answers UNIMPLEMENTED (HTTP 404) when no route matches the host, which is the address without --authority.
          (opts.authority
            ? ''
            : ` (through a proxy, UNIMPLEMENTED also means that no route matched: give the host its routes serve with --authority)`),
      );
    if (e.code === grpc.status.NOT_FOUND) throw new UsageError(`the server does not know ${what}: ${e.message}`);
    // Unreachable, TLS trouble, deadline: the call failed, the command was right.
    throw new CallError(`cannot use server reflection at ${opts.address}: ${statusName(e.code)}: ${e.message}`);
  };
}

/** The server could not be asked (unreachable, TLS failure, deadline). */
export class CallError extends Error {
  override name = 'CallError';
}

/** The server has no reflection service (and no --proto files were given). */
export class NoReflectionError extends UsageError {
  override name = 'NoReflectionError';
}

const protoRoots = new Map<string, protobuf.Root>();

export function loadProtoFiles(files: readonly string[]): protobuf.Root {
  const key = files.join('\0');
  let root = protoRoots.get(key);
  if (!root) {
    try {
      // Original field names, as a descriptor from protoc has them; JSON names are derived.
      root = new protobuf.Root().loadSync([...files], { keepCase: true });
      root.resolveAll();
    } catch (e) {
      throw new UsageError(`cannot load ${files.join(', ')}: ${(e as Error).message}`);
    }
    protoRoots.set(key, root);
  }
  return root;
}

/** The request messages as JSON values: one object, or a whitespace-separated stream of them. */
export function requestMessages(data: GrpcCallOptions['data'], method: Pick<ResolvedMethod, 'requestStream'>): unknown[] {
  if (data === undefined) return method.requestStream ? [] : [{}];
  if (typeof data !== 'string') return Array.isArray(data) ? [...data] : [data];
  if (data.trim() === '') return method.requestStream ? [] : [{}];
  try {
    return [JSON.parse(data)];
  } catch {
    return splitJsonStream(data);
  }
}

/** Splits concatenated JSON objects ("{...} {...}"), as grpcurl accepts for streams. */
function splitJsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) out.push(parseJson(text.slice(start, i + 1)));
    } else if (depth === 0 && !/\s/.test(c!)) throw new UsageError(`the request is not JSON (unexpected "${c}" at offset ${i})`);
  }
  if (depth !== 0 || inString) throw new UsageError('the request is not JSON (unterminated object)');
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`the request is not JSON: ${(e as Error).message}`);
  }
}

function invoke(client: grpc.Client, method: ResolvedMethod, requests: Buffer[], opts: GrpcCallOptions): Promise<GrpcCallResult> {
  const md = toMetadata(opts.metadata ?? []);
  const callOpts: grpc.CallOptions = opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
  const identity = (b: Buffer) => b;
  const decode = (b: Buffer) => decodeToJson(method.responseType, b);
  const responses: unknown[] = [];
  const onMessage = (m: unknown) => {
    responses.push(m);
    opts.onMessage?.(m);
  };
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let call: EventEmitter;
    const unaryDone = (err: grpc.ServiceError | null, res?: unknown) => {
      if (!err && res !== undefined) onMessage(res);
    };
    if (!method.requestStream && !method.responseStream)
      call = client.makeUnaryRequest(method.path, identity, decode, requests[0]!, md, callOpts, unaryDone);
    else if (!method.requestStream) {
      call = client.makeServerStreamRequest(method.path, identity, decode, requests[0]!, md, callOpts).on('data', onMessage);
    } else if (!method.responseStream) {
      const w = client.makeClientStreamRequest(method.path, identity, decode, md, callOpts, unaryDone);
      for (const r of requests) w.write(r);
      w.end();
      call = w;
    } else {
      const d = client.makeBidiStreamRequest(method.path, identity, decode, md, callOpts);
      d.on('data', onMessage);
      for (const r of requests) d.write(r);
      d.end();
      call = d;
    }
    // Streams emit 'error' for a non-OK status; the status event below carries everything.
    call.on('error', () => {});
    call.on('metadata', (m: grpc.Metadata) => {
      headers = m;
      opts.onHeaders?.(metadataRecord(m));
    });
    // A response stream's last messages can still be queued when the status arrives: wait for 'end'.
    let status: grpc.StatusObject | undefined;
    let ended = !method.responseStream;
    const finish = () => {
      if (!status || !ended) return;
      resolve({
        path: method.path,
        ok: status.code === grpc.status.OK,
        code: status.code,
        codeName: statusName(status.code),
        details: status.details,
        responses,
        headers: metadataRecord(headers),
        trailers: metadataRecord(status.metadata),
      });
    };
    call.on('end', () => {
      ended = true;
      finish();
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      finish();
      // A failed stream may never end; what arrived before the status is all there is.
      if (s.code !== grpc.status.OK)
        setImmediate(() => {
          ended = true;
          finish();
        });
    });
  });
}
