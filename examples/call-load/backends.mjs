// Backends for the `legate call` and `legate load` examples (docs/call.md, docs/load.md):
// - gRPC on 127.0.0.1:9000: FakeService.Handle (the API of nicholasjackson/fake-service) with server
//   reflection; every other call fails with UNAVAILABLE, as the first seed's fake-service does with
//   ERROR_RATE=0.5 and ERROR_CODE=14 (but deterministically).
// - HTTP on 127.0.0.1:9001: every other request gets 503.
// Run with `node examples/call-load/backends.mjs` from the legate checkout (after `npm ci`).
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

const definition = protoLoader.loadSync(fileURLToPath(new URL('fake-service.proto', import.meta.url)), { keepCase: true });
const { FakeService } = grpc.loadPackageDefinition(definition);

let grpcCalls = 0;
const server = new grpc.Server();
server.addService(FakeService.service, {
  Handle(call, callback) {
    if (++grpcCalls % 2 === 1) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'Service error automatically injected' });
      return;
    }
    const body = { name: 'Service', type: 'gRPC', body: 'Hello World', code: 0, request_bytes: call.request.data?.length ?? 0 };
    callback(null, { Message: JSON.stringify(body, null, 2) + '\n' });
  },
});
new ReflectionService(definition).addToServer(server);
await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:9000', grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
).catch((e) => {
  console.error(`cannot listen on 127.0.0.1:9000: ${e.message}`);
  process.exit(1);
});

let httpRequests = 0;
const web = http.createServer((req, res) => {
  req.resume();
  const fail = ++httpRequests % 2 === 1;
  res.writeHead(fail ? 503 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ path: req.url, method: req.method, host: req.headers.host, ok: !fail }) + '\n');
});
web.once('error', (e) => {
  console.error(`cannot listen on 127.0.0.1:9001: ${e.message}`);
  process.exit(1);
});
web.listen(9001, '127.0.0.1', () =>
  console.log('gRPC FakeService on 127.0.0.1:9000, HTTP on 127.0.0.1:9001 (each fails every other request)'),
);

const stop = () => {
  server.forceShutdown();
  web.close();
  web.closeAllConnections();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
