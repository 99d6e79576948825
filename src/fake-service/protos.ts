/**
 * The protobuf schemas the backends serve, their wire types (protobufjs) and their
 * FileDescriptorProtos for server reflection, built the way protoc writes them (json_name on
 * every field, empty method options for `{}` bodies, go_package kept).
 */
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

/** fake-service's grpc/protos/api.proto: no package, so the service is plain `FakeService`. */
const API_PROTO = `syntax = "proto3";
option go_package = "github.com/nicholasjackson/fake-service/grpc/api";
service FakeService { rpc Handle(Request) returns (Response) {} }
message Request { bytes data = 1; }
message Response { string Message = 1; }
`;

/** The conformance echo backend's grpcecho.proto (names and numbers are what clients decode). */
const GRPCECHO_PROTO = `syntax = "proto3";
option go_package = "sigs.k8s.io/gateway-api-conformance-images/echo-basic/grpcechoserver";
package gateway_api_conformance.echo_basic.grpcecho;
message Header { string key = 1; string value = 2; }
message Context { string namespace = 1; string ingress = 2; string service_name = 3; string pod = 4; }
message TLSAssertions {
  string version = 1; string negotiated_protocol = 2; string server_name = 3; string cipher_suite = 4;
  repeated string peer_certificates = 5;
}
message Assertions {
  string fully_qualified_method = 1; repeated Header headers = 2; string authority = 3; Context context = 4;
  TLSAssertions tls_assertions = 5;
}
message EchoRequest {}
message EchoResponse { Assertions assertions = 1; EchoRequest request = 2; }
service GrpcEcho {
  rpc Echo(EchoRequest) returns (EchoResponse) {}
  rpc EchoTwo(EchoRequest) returns (EchoResponse) {}
  rpc EchoThree(EchoRequest) returns (EchoResponse) {}
}
`;

/** grpc.reflection.v1 and v1alpha share their messages; only the package differs. */
const reflectionProto = (pkg: string) => `syntax = "proto3";
package ${pkg};
service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}
message ExtensionRequest { string containing_type = 1; int32 extension_number = 2; }
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ExtensionNumberResponse { string base_type_name = 1; repeated int32 extension_number = 2; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;

const ANY_PROTO = `syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
`;

const STATUS_PROTO = `syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
`;

export type ProtoFile = { name: string; text: string; deps: string[] };

export const FAKE_SERVICE_FILES: ProtoFile[] = [{ name: 'api.proto', text: API_PROTO, deps: [] }];
export const GRPCECHO_FILES: ProtoFile[] = [{ name: 'grpcecho.proto', text: GRPCECHO_PROTO, deps: [] }];
export const REFLECTION_FILES: ProtoFile[] = [
  { name: 'grpc/reflection/v1/reflection.proto', text: reflectionProto('grpc.reflection.v1'), deps: [] },
  { name: 'grpc/reflection/v1alpha/reflection.proto', text: reflectionProto('grpc.reflection.v1alpha'), deps: [] },
];
const STATUS_FILES: ProtoFile[] = [
  { name: 'google/protobuf/any.proto', text: ANY_PROTO, deps: [] },
  { name: 'google/rpc/status.proto', text: STATUS_PROTO, deps: ['google/protobuf/any.proto'] },
];

/** One root with every message type, for encoding and decoding. */
const wireRoot = new protobuf.Root();
for (const f of [...FAKE_SERVICE_FILES, ...GRPCECHO_FILES, ...REFLECTION_FILES, ...STATUS_FILES])
  protobuf.parse(f.text, wireRoot, { keepCase: true });
wireRoot.resolveAll();

export function messageType(fullName: string): protobuf.Type {
  return wireRoot.lookupType(fullName);
}

const SCALAR: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};

/** protoc's ToJsonName: underscores dropped, the next letter upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replaceAll('_', '');
}

/** Everything reflection needs about one file. */
export type DescribedFile = {
  name: string;
  bytes: Buffer;
  deps: string[];
  /** Fully qualified names of the symbols the file defines (messages, fields, services, methods). */
  symbols: string[];
  services: string[];
};

/** Builds a FileDescriptorProto for one schema file (only the constructs used above). */
export function describeFile(file: ProtoFile): DescribedFile {
  const parsed = protobuf.parse(file.text, new protobuf.Root(), { keepCase: true });
  const pkg = parsed.package ?? '';
  const qualify = (name: string) => (pkg ? `${pkg}.${name}` : name);
  const typeRef = (t: string) => (t.includes('.') ? `.${t}` : `.${qualify(t)}`);
  const symbols: string[] = [];
  const services: string[] = [];
  const messageTypes: object[] = [];
  const serviceDescs: object[] = [];
  const root = parsed.root.lookup(pkg) ?? parsed.root;
  for (const nested of (root as protobuf.Namespace).nestedArray) {
    if (nested instanceof protobuf.Type) {
      const full = qualify(nested.name);
      symbols.push(full);
      const oneofs = nested.oneofsArray.map((o) => o.name);
      messageTypes.push({
        name: nested.name,
        field: nested.fieldsArray.map((f) => {
          symbols.push(`${full}.${f.name}`);
          const scalar = SCALAR[f.type];
          const oneofIndex = f.partOf ? oneofs.indexOf(f.partOf.name) : -1;
          return {
            name: f.name,
            number: f.id,
            label: f.repeated ? 3 : 1,
            type: scalar ?? 11,
            ...(scalar === undefined ? { typeName: typeRef(f.type) } : {}),
            ...(oneofIndex >= 0 ? { oneofIndex } : {}),
            jsonName: jsonName(f.name),
          };
        }),
        oneofDecl: oneofs.map((name) => ({ name })),
      });
    } else if (nested instanceof protobuf.Service) {
      const full = qualify(nested.name);
      symbols.push(full);
      services.push(full);
      serviceDescs.push({
        name: nested.name,
        method: nested.methodsArray.map((m) => {
          symbols.push(`${full}.${m.name}`);
          return {
            name: m.name,
            inputType: typeRef(m.requestType),
            outputType: typeRef(m.responseType),
            options: {},
            ...(m.requestStream ? { clientStreaming: true } : {}),
            ...(m.responseStream ? { serverStreaming: true } : {}),
          };
        }),
      });
    }
  }
  const goPackage = (parsed.root.options ?? {})['go_package'] as string | undefined;
  const proto = descriptor.FileDescriptorProto.fromObject({
    name: file.name,
    ...(pkg ? { package: pkg } : {}),
    dependency: file.deps,
    messageType: messageTypes,
    service: serviceDescs,
    ...(goPackage ? { options: { goPackage } } : {}),
    syntax: 'proto3',
  });
  return { name: file.name, bytes: Buffer.from(descriptor.FileDescriptorProto.encode(proto).finish()), deps: file.deps, symbols, services };
}

/** google.rpc.Status bytes for grpc-status-details-bin, with one detail of the given message. */
export function encodeStatusDetails(code: number, message: string, detailType: string, detail: Uint8Array): Buffer {
  const Status = messageType('google.rpc.Status');
  return Buffer.from(
    Status.encode(
      Status.create({ code, message, details: [{ type_url: `type.googleapis.com/${detailType}`, value: Buffer.from(detail) }] }),
    ).finish(),
  );
}

/** The first detail of grpc-status-details-bin, when it is of the given type. */
export function decodeStatusDetail(bytes: Buffer, detailType: string): Uint8Array | undefined {
  try {
    const Status = messageType('google.rpc.Status');
    const status = Status.toObject(Status.decode(bytes), { bytes: Buffer }) as { details?: { type_url?: string; value?: Buffer }[] };
    const first = status.details?.[0];
    if (!first || !first.type_url || first.type_url.slice(first.type_url.lastIndexOf('/') + 1) !== detailType) return undefined;
    return first.value ?? Buffer.alloc(0);
  } catch {
    return undefined;
  }
}
