import { test } from 'node:test';
import assert from 'node:assert/strict';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { GRPCECHO_FILES } from './protos.js';
import { ProtoRegistry } from './reflection.js';

test('the registry finds files by name and by any symbol they define, with or without a leading dot', () => {
  const reg = new ProtoRegistry(GRPCECHO_FILES);
  assert.deepEqual(reg.services, [
    'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
  ]);
  for (const s of [
    'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho.EchoThree',
    '.gateway_api_conformance.echo_basic.grpcecho.Assertions',
    'gateway_api_conformance.echo_basic.grpcecho.Context.service_name',
  ])
    assert.equal(reg.fileContainingSymbol(s)?.name, 'grpcecho.proto', s);
  assert.equal(
    reg.fileContainingSymbol('grpc.reflection.v1alpha.ServerReflectionRequest')?.name,
    'grpc/reflection/v1alpha/reflection.proto',
  );
  assert.equal(reg.fileContainingSymbol('Nope'), undefined);
});

test('file descriptors are what protoc writes: package, json_name, message type references, oneofs', () => {
  const reg = new ProtoRegistry([]);
  const f = reg.file('grpc/reflection/v1/reflection.proto')!;
  const d = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(f.bytes)) as {
    package: string;
    messageType: {
      name: string;
      field: { name: string; jsonName: string; typeName?: string; oneofIndex?: number }[];
      oneofDecl: { name: string }[];
    }[];
    service: { method: { clientStreaming?: boolean; serverStreaming?: boolean }[] }[];
  };
  assert.equal(d.package, 'grpc.reflection.v1');
  const req = d.messageType.find((m) => m.name === 'ServerReflectionRequest')!;
  assert.deepEqual(req.oneofDecl, [{ name: 'message_request' }]);
  const ext = req.field.find((x) => x.name === 'file_containing_extension')!;
  assert.deepEqual([ext.jsonName, ext.typeName, ext.oneofIndex], ['fileContainingExtension', '.grpc.reflection.v1.ExtensionRequest', 0]);
  assert.deepEqual(
    d.service[0]!.method.map((m) => [m.clientStreaming, m.serverStreaming]),
    [[true, true]],
  );
  const sent = new Set<string>();
  assert.equal(reg.withDependencies(f, sent).length, 1);
  assert.equal(reg.withDependencies(f, sent).length, 1);
});
