import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { buildRoot, commonFile, type FileDesc } from './descriptor-root.js';
import { grpc, grpcClient, type GrpcTarget } from './grpc-channel.js';

// The server reflection protocol (grpc/reflection/v1/reflection.proto; v1alpha has the same
// messages), declared here so the client needs no .proto files at run time.
const REFLECTION = protobuf.Root.fromJSON({
  nested: {
    ServerReflectionRequest: {
      oneofs: {
        messageRequest: {
          oneof: ['fileByFilename', 'fileContainingSymbol', 'fileContainingExtension', 'allExtensionNumbersOfType', 'listServices'],
        },
      },
      fields: {
        host: { type: 'string', id: 1 },
        fileByFilename: { type: 'string', id: 3 },
        fileContainingSymbol: { type: 'string', id: 4 },
        fileContainingExtension: { type: 'ExtensionRequest', id: 5 },
        allExtensionNumbersOfType: { type: 'string', id: 6 },
        listServices: { type: 'string', id: 7 },
      },
    },
    ExtensionRequest: { fields: { containingType: { type: 'string', id: 1 }, extensionNumber: { type: 'int32', id: 2 } } },
    ServerReflectionResponse: {
      oneofs: {
        messageResponse: { oneof: ['fileDescriptorResponse', 'allExtensionNumbersResponse', 'listServicesResponse', 'errorResponse'] },
      },
      fields: {
        validHost: { type: 'string', id: 1 },
        originalRequest: { type: 'ServerReflectionRequest', id: 2 },
        fileDescriptorResponse: { type: 'FileDescriptorResponse', id: 4 },
        allExtensionNumbersResponse: { type: 'ExtensionNumberResponse', id: 5 },
        listServicesResponse: { type: 'ListServiceResponse', id: 6 },
        errorResponse: { type: 'ErrorResponse', id: 7 },
      },
    },
    FileDescriptorResponse: { fields: { fileDescriptorProto: { rule: 'repeated', type: 'bytes', id: 1 } } },
    ExtensionNumberResponse: {
      fields: { baseTypeName: { type: 'string', id: 1 }, extensionNumber: { rule: 'repeated', type: 'int32', id: 2 } },
    },
    ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
    ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
    ErrorResponse: { fields: { errorCode: { type: 'int32', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
  },
});
const Request = REFLECTION.lookupType('ServerReflectionRequest');
const Response = REFLECTION.lookupType('ServerReflectionResponse');

type ReflectionRequest = { fileByFilename?: string; fileContainingSymbol?: string; listServices?: string };
type ReflectionResponse = {
  fileDescriptorResponse?: { fileDescriptorProto?: Uint8Array[] };
  listServicesResponse?: { service?: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
};

const VERSIONS = ['grpc.reflection.v1', 'grpc.reflection.v1alpha'] as const;

/** A failure of the reflection service itself (NOT_FOUND, UNIMPLEMENTED, unreachable). */
export class ReflectionError extends Error {
  override name = 'ReflectionError';
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/**
 * One reflection conversation with a server: v1 first, v1alpha when the server does not know v1.
 * Each question is its own short bidi stream; descriptors are cached per file name.
 */
export class ReflectionClient {
  #client: grpc.Client;
  #metadata: grpc.Metadata;
  #deadlineMs: number;
  #version: (typeof VERSIONS)[number] | undefined;
  #files = new Map<string, FileDesc>();

  constructor(target: GrpcTarget, opts: { metadata?: grpc.Metadata; deadlineMs?: number } = {}) {
    this.#client = grpcClient(target);
    this.#metadata = opts.metadata ?? new grpc.Metadata();
    this.#deadlineMs = opts.deadlineMs ?? 10_000;
  }

  close(): void {
    this.#client.close();
  }

  async listServices(): Promise<string[]> {
    const res = await this.#ask({ listServices: '' });
    // grpc-node's reflection names services without a package ".FakeService".
    return (res.listServicesResponse?.service ?? []).map((s) => s.name.replace(/^\./, '')).sort();
  }

  /** Loads the file defining `symbol` and every file it imports, then builds a protobufjs root. */
  async rootFor(symbol: string): Promise<protobuf.Root> {
    let res: ReflectionResponse;
    try {
      res = await this.#ask({ fileContainingSymbol: symbol });
    } catch (e) {
      // grpc-node's reflection indexes symbols without a package with a leading dot.
      if (!(e instanceof ReflectionError) || e.code !== grpc.status.NOT_FOUND || symbol.includes('.')) throw e;
      res = await this.#ask({ fileContainingSymbol: `.${symbol}` });
    }
    this.#add(res);
    await this.#loadDependencies();
    return buildRoot([...this.#files.values()]);
  }

  async #loadDependencies(): Promise<void> {
    for (;;) {
      const missing = [...this.#files.values()].flatMap((f) => f.dependency ?? []).filter((d) => !this.#files.has(d));
      if (missing.length === 0) return;
      for (const name of new Set(missing)) {
        try {
          this.#add(await this.#ask({ fileByFilename: name }));
        } catch (e) {
          // Servers often leave the well-known types out; protobufjs carries them.
          const common = commonFile(name);
          if (!common) throw e;
          this.#files.set(name, common);
          continue;
        }
        if (!this.#files.has(name)) throw new ReflectionError(`the server did not return ${name}`, grpc.status.NOT_FOUND);
      }
    }
  }

  #add(res: ReflectionResponse): void {
    for (const bytes of res.fileDescriptorResponse?.fileDescriptorProto ?? []) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as FileDesc;
      if (file.name && !this.#files.has(file.name)) this.#files.set(file.name, file);
    }
  }

  async #ask(req: ReflectionRequest): Promise<ReflectionResponse> {
    if (this.#version) return this.#askWith(this.#version, req);
    try {
      const res = await this.#askWith(VERSIONS[0], req);
      this.#version = VERSIONS[0];
      return res;
    } catch (e) {
      if (!(e instanceof ReflectionError) || e.code !== grpc.status.UNIMPLEMENTED) throw e;
    }
    const res = await this.#askWith(VERSIONS[1], req);
    this.#version = VERSIONS[1];
    return res;
  }

  // One stream per question keeps the code simple; reflection is a handful of round trips.
  #askWith(version: string, req: ReflectionRequest): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const call = this.#client.makeBidiStreamRequest<ReflectionRequest, ReflectionResponse>(
        `/${version}.ServerReflection/ServerReflectionInfo`,
        (m) => Buffer.from(Request.encode(Request.fromObject(m)).finish()),
        (b) => Response.toObject(Response.decode(b), { longs: Number }) as ReflectionResponse,
        this.#metadata,
        { deadline: Date.now() + this.#deadlineMs },
      );
      let answered = false;
      call.on('data', (res: ReflectionResponse) => {
        if (answered) return;
        answered = true;
        call.end();
        if (res.errorResponse) reject(new ReflectionError(res.errorResponse.errorMessage, res.errorResponse.errorCode));
        else resolve(res);
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (!answered) reject(new ReflectionError(e.details || e.message, e.code));
      });
      call.on('status', (s: grpc.StatusObject) => {
        if (!answered) reject(new ReflectionError(`server reflection ended without an answer: ${s.details}`, s.code));
      });
      call.write(req);
    });
  }
}
