import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { ManualClock } from '../../src/common/clock.js';
import { callHandle, fakeServiceClient, fixture, reflect, reflectionClient, startCaptured } from '../helpers/fake-service.js';

const T0 = Date.UTC(2024, 0, 4, 13, 57, 54, 123);

/** google.rpc.Status with Any details, decoded independently of the server's code. */
const statusRoot = protobuf.parse(
  `syntax = "proto3";
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message Response { string Message = 1; }`,
  { keepCase: true },
).root;

test('FakeService/Handle answers the document with type gRPC, code 0 and no uri', async () => {
  const fs = await startCaptured({ NAME: 'grpc-api' }, { clock: new ManualClock(T0) });
  const client = fakeServiceClient(fs.port);
  try {
    const r = await callHandle(client);
    assert.ok(r.ok);
    assert.equal(
      r.message,
      `{
  "name": "grpc-api",
  "type": "gRPC",
  "ip_addresses": [
    "10.1.0.7"
  ],
  "start_time": "2024-01-04T13:57:54.123000",
  "end_time": "2024-01-04T13:57:54.123000",
  "duration": "0s",
  "body": "Hello World",
  "code": 0
}
`,
    );
    assert.equal(r.headers.get('content-type')[0], 'application/grpc');
  } finally {
    client.close();
    await fs.close();
  }
});

test('ERROR_CODE is sent as the raw gRPC status: 14 is UNAVAILABLE, the default 500 stays 500; the document rides in the details', async () => {
  const unavailable = await startCaptured({ ERROR_RATE: '1', ERROR_CODE: '14' });
  const raw = await startCaptured({ ERROR_RATE: '1' });
  const c1 = fakeServiceClient(unavailable.port);
  const c2 = fakeServiceClient(raw.port);
  try {
    const r1 = await callHandle(c1);
    assert.ok(!r1.ok);
    assert.equal(r1.error.code, grpc.status.UNAVAILABLE);
    assert.equal(r1.error.details, 'Service error automatically injected');
    const bin = r1.error.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const Status = statusRoot.lookupType('Status');
    const status = Status.toObject(Status.decode(bin), { bytes: Buffer }) as {
      code: number;
      message: string;
      details: { type_url: string; value: Buffer }[];
    };
    assert.equal(status.code, 14);
    assert.equal(status.message, 'Service error automatically injected');
    assert.equal(status.details[0]!.type_url, 'type.googleapis.com/Response');
    const Response = statusRoot.lookupType('Response');
    const doc = JSON.parse((Response.decode(status.details[0]!.value) as unknown as { Message: string }).Message) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(doc), ['name', 'type', 'ip_addresses', 'code', 'error']);
    assert.equal(doc['code'], 14);

    const r2 = await callHandle(c2);
    assert.ok(!r2.ok);
    assert.equal(r2.error.code, 500);
  } finally {
    c1.close();
    c2.close();
    await unavailable.close();
    await raw.close();
  }
});

test('gRPC as grpc-go answers it: 415 for a non-gRPC HTTP/2 request, UNIMPLEMENTED for unknown services and methods', async () => {
  const fs = await startCaptured({});
  const session = http2.connect(`http://127.0.0.1:${fs.port}`);
  const request = (headers: http2.OutgoingHttpHeaders) =>
    new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const s = session.request(headers, { endStream: false });
      let got: http2.IncomingHttpHeaders = {};
      s.on('response', (h) => (got = { ...got, ...h }));
      s.on('trailers', (h) => (got = { ...got, ...h }));
      s.on('error', reject);
      s.on('close', () => resolve(got));
      s.resume();
      s.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  try {
    const plain = await request({ ':path': '/', ':method': 'GET' });
    assert.equal(plain[':status'], 415);
    assert.equal(plain['grpc-status'], '3');
    assert.equal(plain['grpc-message'], 'invalid gRPC request content-type ""');
    const unknownService = await request({ ':path': '/Nope/Handle', ':method': 'POST', 'content-type': 'application/grpc' });
    assert.deepEqual(
      [unknownService[':status'], unknownService['grpc-status'], unknownService['grpc-message']],
      [200, '12', 'unknown service Nope'],
    );
    const unknownMethod = await request({ ':path': '/FakeService/Other', ':method': 'POST', 'content-type': 'application/grpc' });
    assert.equal(unknownMethod['grpc-message'], 'unknown method Other for service FakeService');
    const ok = await request({ ':path': '/FakeService/Handle', ':method': 'POST', 'content-type': 'application/grpc' });
    assert.deepEqual([ok[':status'], ok['grpc-status']], [200, '0']);
  } finally {
    session.close();
    await fs.close();
  }
});

test('server reflection v1 lists FakeService and serves a file descriptor that decodes to Handle(Request) returns (Response)', async () => {
  const fs = await startCaptured({});
  const client = reflectionClient(fs.port);
  try {
    const [list, bySymbol, byMethod, missing] = await reflect(client, [
      { host: '', list_services: '' },
      { file_containing_symbol: 'FakeService' },
      { file_containing_symbol: 'FakeService.Handle' },
      { file_containing_symbol: 'No.Such' },
    ]);
    const services = (list!['list_services_response'] as { service: { name: string }[] }).service.map((s) => s.name);
    assert.deepEqual(services, ['FakeService', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
    const files = (bySymbol!['file_descriptor_response'] as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
    assert.equal(files.length, 1);
    const file = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(files[0]!)) as {
      name: string;
      package?: string;
      service: { name: string; method: { name: string; inputType: string; outputType: string }[] }[];
      messageType: { name: string; field: { name: string; number: number; type: number; jsonName: string }[] }[];
      syntax: string;
    };
    assert.equal(file.name, 'api.proto');
    assert.equal(file.package, undefined);
    assert.equal(file.syntax, 'proto3');
    assert.deepEqual(
      file.service[0]!.method.map((m) => [m.name, m.inputType, m.outputType]),
      [['Handle', '.Request', '.Response']],
    );
    assert.deepEqual(
      file.messageType.map((m) => [m.name, m.field.map((f) => [f.name, f.number, f.type, f.jsonName])]),
      [
        ['Request', [['data', 1, 12, 'data']]],
        ['Response', [['Message', 1, 9, 'Message']]],
      ],
    );
    // A method resolves to its file; the requested file is sent again (only dependencies are sent once per stream).
    assert.deepEqual((byMethod!['file_descriptor_response'] as { file_descriptor_proto: Buffer[] }).file_descriptor_proto, files);
    assert.deepEqual(missing!['error_response'], { error_code: 5, error_message: 'proto: not found' });
  } finally {
    client.close();
    await fs.close();
  }
});

test('server reflection v1alpha answers on its own service name', async () => {
  const fs = await startCaptured({});
  const def = (await import('@grpc/proto-loader')).default.loadSync(fixture('reflection.proto'), {
    keepCase: true,
    oneofs: true,
    defaults: true,
  });
  const method = def['grpc.reflection.v1.ServerReflection'] as unknown as Record<
    string,
    grpc.MethodDefinition<object, Record<string, unknown>>
  >;
  const info = method['ServerReflectionInfo']!;
  const Alpha = grpc.makeGenericClientConstructor(
    { ServerReflectionInfo: { ...info, path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' } },
    'x',
  );
  const client = new Alpha(`127.0.0.1:${fs.port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
  try {
    const [r] = await reflect(client, [{ file_by_filename: 'api.proto' }]);
    assert.equal((r!['file_descriptor_response'] as { file_descriptor_proto: Buffer[] }).file_descriptor_proto.length, 1);
    assert.equal((r!['original_request'] as { file_by_filename: string }).file_by_filename, 'api.proto');
  } finally {
    client.close();
    await fs.close();
  }
});

test('ERROR_RATE above 1 divides by zero: over HTTP the connection drops, in a gRPC handler the service dies (onFatal)', async () => {
  let fatal: Error | undefined;
  const fs = await startCaptured({ ERROR_RATE: '2' }, { onFatal: (e) => (fatal = e) });
  const client = fakeServiceClient(fs.port);
  try {
    await assert.rejects(
      import('../helpers/fake-service.js').then((h) => h.httpRequest(fs.port, '/')),
      /socket hang up|ECONNRESET/,
    );
    const r = await callHandle(client);
    assert.equal(r.ok, false);
    assert.equal(fatal?.message, 'runtime error: integer divide by zero');
  } finally {
    client.close();
    await fs.close();
  }
});
