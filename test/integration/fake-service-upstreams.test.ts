import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callHandle, fakeServiceClient, httpRequest, startCaptured } from '../helpers/fake-service.js';

type Doc = {
  name?: string;
  uri?: string;
  type?: string;
  headers?: Record<string, string>;
  body?: unknown;
  upstream_calls?: Record<string, Doc>;
  code: number;
  error?: string;
};

test('a chain over HTTP and gRPC: upstream_calls keyed by URI (sorted), nested documents, upstream headers, inbound path appended', async () => {
  const backend = await startCaptured({ NAME: 'backend', MESSAGE: '{"items": [1, 2]}' });
  const http = `http://127.0.0.1:${backend.port}`;
  const grpc = `grpc://127.0.0.1:${backend.port}`;
  const api = await startCaptured({ NAME: 'api', UPSTREAM_URIS: `${http}, ${grpc}` });
  try {
    const res = await httpRequest(api.port, '/items?id=1', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body) as Doc;
    assert.deepEqual(Object.keys(doc.upstream_calls!), [grpc, http]);
    const viaHttp = doc.upstream_calls![http]!;
    assert.equal(viaHttp.name, 'backend');
    assert.equal(viaHttp.uri, http);
    assert.equal(viaHttp.type, 'HTTP');
    assert.equal(viaHttp.code, 200);
    assert.deepEqual(viaHttp.body, { items: [1, 2] });
    assert.equal(viaHttp.headers!['Content-Type'], 'text/plain; charset=utf-8');
    assert.deepEqual(Object.keys(viaHttp.headers!).sort(), ['Content-Length', 'Content-Type', 'Date']);
    const viaGrpc = doc.upstream_calls![grpc]!;
    assert.deepEqual([viaGrpc.name, viaGrpc.uri, viaGrpc.type, viaGrpc.code], ['backend', grpc, 'gRPC', 0]);
    assert.equal(viaGrpc.headers!['content-type'], 'application/grpc');
    // The upstream saw the inbound path (not the query) and the inbound headers.
    const inbound = backend.text();
    assert.match(inbound, /\n {2}\| GET \/items HTTP\/1\.1\n/);
    assert.match(inbound, /\n {2}\| x-request-id: abc-123\n/);
    assert.match(inbound, /Handling request gRPC request:\n/);
    assert.match(
      api.text(),
      /\[INFO\] {2}Calling upstream service: uri=http:\/\/127\.0\.0\.1:\d+ type=HTTP\n {2}request=\n {2}\| GET http:\/\/127\.0\.0\.1:\d+ HTTP\/1\.1\n/,
    );
    assert.match(api.text(), /\[INFO\] {2}Calling upstream service: uri=grpc:\/\/127\.0\.0\.1:\d+ type=gRPC\n/);
  } finally {
    await api.close();
    await backend.close();
  }
});

test('a gRPC entry point calling an HTTP upstream nests the document in Response.Message', async () => {
  const backend = await startCaptured({ NAME: 'backend' });
  const front = await startCaptured({ NAME: 'front', UPSTREAM_URIS: `http://127.0.0.1:${backend.port}` });
  const client = fakeServiceClient(front.port);
  try {
    const r = await callHandle(client);
    assert.ok(r.ok);
    const doc = JSON.parse(r.message) as Doc;
    assert.equal(doc.type, 'gRPC');
    const up = Object.values(doc.upstream_calls!)[0]!;
    assert.deepEqual([up.name, up.type, up.code], ['backend', 'HTTP', 200]);
    // No inbound HTTP request to append from: the upstream sees "/".
    assert.match(backend.text(), /\n {2}\| GET \/ HTTP\/1\.1\n/);
  } finally {
    client.close();
    await front.close();
    await backend.close();
  }
});

test('a failing HTTP upstream: 500 with code 500 and no error at the top, the upstream entry keeps its code and error', async () => {
  const backend = await startCaptured({ NAME: 'backend', ERROR_RATE: '1', ERROR_CODE: '503' });
  const uri = `http://127.0.0.1:${backend.port}`;
  const api = await startCaptured({ NAME: 'api', UPSTREAM_URIS: uri });
  try {
    const res = await httpRequest(api.port, '/a');
    assert.equal(res.status, 500);
    const doc = JSON.parse(res.body) as Doc;
    assert.equal(doc.code, 500);
    assert.equal(doc.error, undefined);
    assert.equal(doc.body, 'Hello World');
    const up = doc.upstream_calls![uri]!;
    assert.equal(up.code, 503);
    assert.equal(up.error, `Error processing upstream request: ${uri}/a, expected code 200, got 503`);
    assert.match(
      api.text(),
      /\[ERROR\] Error processing upstream request: error="Error processing upstream request: http:\/\/127\.0\.0\.1:\d+\/a, expected code 200, got 503"\n/,
    );
    assert.match(api.text(), /\[ERROR\] Error handling request: error="Error processing upstream request: /);
  } finally {
    await api.close();
    await backend.close();
  }
});

test('a failing gRPC upstream under a gRPC entry point: INTERNAL (13) with the nested error and the upstream code', async () => {
  const backend = await startCaptured({ NAME: 'backend', ERROR_RATE: '1', ERROR_CODE: '14' });
  const uri = `grpc://127.0.0.1:${backend.port}`;
  const front = await startCaptured({ NAME: 'front', UPSTREAM_URIS: uri });
  const client = fakeServiceClient(front.port);
  try {
    const r = await callHandle(client);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 13);
    assert.equal(r.error.details, 'rpc error: code = Unavailable desc = Service error automatically injected');
    const res = await httpRequest(front.port, '/');
    const doc = JSON.parse(res.body) as Doc;
    const up = doc.upstream_calls![uri]!;
    assert.deepEqual(
      [up.name, up.type, up.code, up.error],
      ['backend', 'gRPC', 14, 'rpc error: code = Unavailable desc = Service error automatically injected'],
    );
  } finally {
    client.close();
    await front.close();
    await backend.close();
  }
});

test('an unreachable HTTP upstream: code -1 and Go-style transport error text', async () => {
  const api = await startCaptured({ UPSTREAM_URIS: 'http://127.0.0.1:1' });
  try {
    const res = await httpRequest(api.port, '/');
    assert.equal(res.status, 500);
    const up = (JSON.parse(res.body) as Doc).upstream_calls!['http://127.0.0.1:1']!;
    assert.equal(up.code, -1);
    assert.equal(
      up.error,
      'Error communicating with upstream service: Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused',
    );
  } finally {
    await api.close();
  }
});

test('UPSTREAM_WORKERS runs calls in parallel; UPSTREAM_REQUEST_BODY turns them into POSTs', async () => {
  const slow = await startCaptured({ NAME: 'slow', TIMING_50_PERCENTILE: '200ms' });
  const uris = [`http://127.0.0.1:${slow.port}/one`, `http://127.0.0.1:${slow.port}/two`];
  const parallel = await startCaptured({ UPSTREAM_URIS: uris.join(','), UPSTREAM_WORKERS: '2', UPSTREAM_REQUEST_BODY: 'x=1' });
  try {
    const t0 = performance.now();
    const res = await httpRequest(parallel.port, '/');
    const elapsed = performance.now() - t0;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 195 && elapsed < 390, `two 200 ms calls in parallel took ${elapsed} ms`);
    assert.equal(slow.logs.filter((l) => /\| POST \/(one|two)\/ HTTP\/1\.1\n/.test(l)).length, 2);
  } finally {
    await parallel.close();
    await slow.close();
  }
});
