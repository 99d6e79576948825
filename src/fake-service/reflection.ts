/**
 * gRPC server reflection, v1 and v1alpha (what grpc-go's reflection.Register serves), answered
 * from FileDescriptorProtos: list services, file by name, file containing a symbol. Each file is
 * sent once per stream, with the dependencies the client has not seen yet.
 */
import { describeFile, messageType, REFLECTION_FILES, type DescribedFile, type ProtoFile } from './protos.js';
import { GrpcStatusError, type GrpcService } from './grpc-server.js';

export const REFLECTION_V1 = 'grpc.reflection.v1.ServerReflection';
export const REFLECTION_V1ALPHA = 'grpc.reflection.v1alpha.ServerReflection';

type ReflectionRequest = {
  host?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type?: string; extension_number?: number };
  all_extension_numbers_of_type?: string;
  list_services?: string;
  message_request?: string;
};

export class ProtoRegistry {
  #files = new Map<string, DescribedFile>();
  #symbols = new Map<string, DescribedFile>();
  #services: string[] = [];

  constructor(files: ProtoFile[]) {
    for (const f of [...files, ...REFLECTION_FILES]) {
      const d = describeFile(f);
      this.#files.set(d.name, d);
      for (const s of d.symbols) this.#symbols.set(s, d);
      this.#services.push(...d.services);
    }
  }

  /** Service names, sorted as grpc-go lists them. */
  get services(): string[] {
    return [...this.#services].sort();
  }

  file(name: string): DescribedFile | undefined {
    return this.#files.get(name);
  }

  fileContainingSymbol(symbol: string): DescribedFile | undefined {
    return this.#symbols.get(symbol.replace(/^\./, ''));
  }

  /** The file (always) and its transitive dependencies not yet sent on this stream, as grpc-go does. */
  withDependencies(file: DescribedFile, sent: Set<string>): Buffer[] {
    const out: Buffer[] = [];
    const visit = (f: DescribedFile) => {
      if (out.length > 0 && sent.has(f.name)) return;
      sent.add(f.name);
      out.push(f.bytes);
      for (const dep of f.deps) {
        const d = this.#files.get(dep);
        if (d) visit(d);
      }
    };
    visit(file);
    return out;
  }
}

/** Both reflection services over one registry. */
export function reflectionServices(registry: ProtoRegistry): GrpcService[] {
  return [REFLECTION_V1, REFLECTION_V1ALPHA].map((full) => {
    const pkg = full.slice(0, full.lastIndexOf('.'));
    const Request = messageType(`${pkg}.ServerReflectionRequest`);
    const Response = messageType(`${pkg}.ServerReflectionResponse`);
    return {
      name: full,
      methods: {
        ServerReflectionInfo: {
          kind: 'bidi' as const,
          async handle(messages: AsyncIterable<Buffer>, send: (m: Buffer) => void) {
            const sent = new Set<string>();
            for await (const bytes of messages) {
              const decoded = Request.decode(bytes);
              const req = Request.toObject(decoded, { oneofs: true }) as ReflectionRequest;
              const reply: Record<string, unknown> = { valid_host: req.host ?? '', original_request: decoded };
              const notFound = (text: string) => (reply['error_response'] = { error_code: 5, error_message: text });
              if (req.file_by_filename !== undefined) {
                const f = registry.file(req.file_by_filename);
                if (f) reply['file_descriptor_response'] = { file_descriptor_proto: registry.withDependencies(f, sent) };
                else notFound('proto: not found');
              } else if (req.file_containing_symbol !== undefined) {
                const f = registry.fileContainingSymbol(req.file_containing_symbol);
                if (f) reply['file_descriptor_response'] = { file_descriptor_proto: registry.withDependencies(f, sent) };
                else notFound('proto: not found');
              } else if (req.file_containing_extension !== undefined) {
                notFound('proto: not found');
              } else if (req.all_extension_numbers_of_type !== undefined) {
                const name = req.all_extension_numbers_of_type;
                if (registry.fileContainingSymbol(name))
                  reply['all_extension_numbers_response'] = { base_type_name: name, extension_number: [] };
                else notFound('proto: not found');
              } else if (req.list_services !== undefined) {
                reply['list_services_response'] = { service: registry.services.map((name) => ({ name })) };
              } else {
                throw new GrpcStatusError(3, 'invalid MessageRequest: <nil>');
              }
              send(Buffer.from(Response.encode(Response.fromObject(reply)).finish()));
            }
          },
        },
      },
    };
  });
}
