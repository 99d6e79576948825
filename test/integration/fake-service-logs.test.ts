import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/common/clock.js';
import { callHandle, fakeServiceClient, httpRequest, startCaptured } from '../helpers/fake-service.js';

// The first seed's timestamps: 2025-02-19T06:06:12.653Z.
const T0 = Date.UTC(2025, 1, 19, 6, 6, 12, 653);
const STAMP = '2025-02-19T06:06:12.653Z';

test('startup lines in hclog text format', async () => {
  const svc = await startCaptured({ RAND_SEED: '42' }, { clock: new ManualClock(T0) });
  await svc.close();
  assert.deepEqual(svc.logs, [
    `${STAMP} [INFO]  Using seed: seed=42\n`,
    `${STAMP} [INFO]  Adding handler for UI static files\n`,
    `${STAMP} [INFO]  Settings CORS options: allow_creds=false allow_headers="Accept,Accept-Language,Content-Language,Origin,Content-Type" allow_origins="*"\n`,
    `${STAMP} [INFO]  Started service: name=Service upstreamURIs="" upstreamWorkers=1 listenAddress=127.0.0.1:0\n`,
  ]);
});

test('a retried gRPC call as in the seed article: the metadata with x-request-id, then the injected error', async () => {
  const svc = await startCaptured({ ERROR_RATE: '0.5', ERROR_TYPE: 'http_error', ERROR_CODE: '14' }, { clock: new ManualClock(T0) });
  const client = fakeServiceClient(svc.port);
  try {
    const id = 'b93fa578-5291-4023-9f2a-63feca3d07ea';
    assert.equal((await callHandle(client, { 'x-request-id': id })).ok, true);
    const from = svc.logs.length;
    const second = await callHandle(client, { 'x-request-id': id });
    assert.ok(!second.ok && second.error.code === 14);
    const lines = svc.logs.slice(from);
    const [context, ...rest] = lines;
    const block = context!.split('\n');
    assert.equal(block[0], `${STAMP} [INFO]  Handling request gRPC request:`);
    assert.equal(block[1], '  context=');
    const keys = block.slice(2, -2);
    for (const k of keys) assert.match(k, /^ {2}\| key: \S+ value: \[.*\]$/);
    assert.ok(keys.includes(`  | key: x-request-id value: [${id}]`));
    assert.ok(keys.includes(`  | key: :authority value: [127.0.0.1:${svc.port}]`));
    assert.ok(keys.includes('  | key: content-type value: [application/grpc]'));
    assert.ok(keys.some((k) => k.startsWith('  | key: user-agent value: [grpc-node-js/')));
    assert.deepEqual(block.slice(-2), ['  ', '']);
    assert.deepEqual(rest, [
      `${STAMP} [INFO]  error_injector: Injecting error: request_count=2 error_percentage=0.5 error_type=http_error\n`,
      `${STAMP} [ERROR] Error handling request: error="Service error automatically injected"\n`,
      `${STAMP} [INFO]  Finished handling request: duration=0s\n`,
    ]);
  } finally {
    client.close();
    await svc.close();
  }
});

test('an inbound HTTP request is logged as formatRequest prints it; a POST form is appended', async () => {
  const svc = await startCaptured({}, { clock: new ManualClock(T0) });
  try {
    await httpRequest(svc.port, '/x?y=1', { headers: { 'x-request-id': 'abc' } });
    await httpRequest(svc.port, '/f?b=2', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    const text = svc.text();
    assert.ok(
      text.includes(
        `${STAMP} [INFO]  Handle inbound request:\n  request=\n  | GET /x?y=1 HTTP/1.1\n  | Host: 127.0.0.1:${svc.port}\n  | x-request-id: abc\n  | connection: close\n  \n${STAMP} [INFO]  Finished handling request: duration=0s\n`,
      ),
      text,
    );
    assert.ok(
      text.includes(`  | POST /f?b=2 HTTP/1.1\n  | Host: 127.0.0.1:${svc.port}\n  | content-type: application/x-www-form-urlencoded\n`),
      text,
    );
    assert.ok(text.includes('  | \n  | \n  | a=1&b=2\n  \n'), text);
  } finally {
    await svc.close();
  }
});

test('with the real clock, sub-millisecond durations are quoted because of the µ sign', async () => {
  const svc = await startCaptured({});
  try {
    for (let i = 0; i < 3; i++) await httpRequest(svc.port, '/');
    assert.match(svc.text(), /\[INFO\] {2}Finished handling request: duration=("\d+(\.\d+)?µs"|\d+(\.\d+)?ms)\n/);
  } finally {
    await svc.close();
  }
});

test('LOG_FORMAT=json writes one object per line with sorted keys; LOG_LEVEL filters; LOG_OUTPUT writes a file', async () => {
  const json = await startCaptured({ LOG_FORMAT: 'json', RAND_SEED: '42', ERROR_RATE: '1' }, { clock: new ManualClock(T0) });
  await httpRequest(json.port, '/');
  await json.close();
  assert.equal(json.logs[0], '{"@level":"info","@message":"Using seed","@timestamp":"2025-02-19T06:06:12.653000Z","seed":42}\n');
  const injected = json.logs.find((l) => l.includes('Injecting error'))!;
  assert.equal(
    injected,
    '{"@level":"info","@message":"Injecting error","@module":"error_injector","@timestamp":"2025-02-19T06:06:12.653000Z","error_percentage":1,"error_type":"http_error","request_count":1}\n',
  );
  assert.ok(
    json.logs.some(
      (l) => l === '{"@level":"info","@message":"Finished handling request","@timestamp":"2025-02-19T06:06:12.653000Z","duration":0}\n',
    ),
  );

  const quiet = await startCaptured({ LOG_LEVEL: 'error', ERROR_RATE: '1' }, { clock: new ManualClock(T0) });
  await httpRequest(quiet.port, '/');
  await quiet.close();
  assert.deepEqual(quiet.logs, [`${STAMP} [ERROR] Error handling request: error="Service error automatically injected"\n`]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-service-'));
  const file = path.join(dir, 'out.log');
  const toFile = await startCaptured({ LOG_OUTPUT: file, RAND_SEED: '7' }, { clock: new ManualClock(T0), logSink: undefined });
  await toFile.close();
  assert.equal(fs.readFileSync(file, 'utf8').split('\n')[0], `${STAMP} [INFO]  Using seed: seed=7`);
  fs.rmSync(dir, { recursive: true });
});

test('TRACING_ZIPKIN: B3 context joined and propagated upstream, spans reported, span_id and trace_id logged', async () => {
  const spans: Record<string, unknown>[] = [];
  const collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/api/v2/spans') spans.push(...(JSON.parse(body) as Record<string, unknown>[]));
      res.end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const zipkin = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const backend = await startCaptured({ NAME: 'backend', TRACING_ZIPKIN: zipkin });
  const api = await startCaptured({ NAME: 'api', TRACING_ZIPKIN: zipkin, UPSTREAM_URIS: `http://127.0.0.1:${backend.port}` });
  try {
    const traceId = '463ac35c9f6413ad';
    await httpRequest(api.port, '/', { headers: { 'X-B3-TraceId': traceId, 'X-B3-SpanId': 'a2fb4a1d1a96d312', 'X-B3-Sampled': '1' } });
    await api.close();
    await backend.close();
    const names = spans
      .map((s) => `${String(s['localEndpoint'] && (s['localEndpoint'] as { serviceName: string }).serviceName)}:${String(s['name'])}`)
      .sort();
    assert.deepEqual(names, ['api:call_upstream', 'api:handle_request', 'backend:handle_request']);
    for (const s of spans) assert.equal(s['traceId'], traceId);
    const serverSpan = spans.find(
      (s) => s['name'] === 'handle_request' && (s['localEndpoint'] as { serviceName: string }).serviceName === 'api',
    )!;
    assert.deepEqual([serverSpan['id'], serverSpan['kind'], serverSpan['shared']], ['a2fb4a1d1a96d312', 'SERVER', true]);
    assert.match(api.text(), new RegExp(`Finished handling request: duration=\\S+ span_id=a2fb4a1d1a96d312 trace_id=${traceId}\\n`));
    // The backend's server span joined the client span of the call.
    const client = spans.find((s) => s['name'] === 'call_upstream')!;
    const backendSpan = spans.find((s) => (s['localEndpoint'] as { serviceName: string }).serviceName === 'backend')!;
    assert.equal(backendSpan['id'], client['id']);
  } finally {
    await api.close();
    await backend.close();
    collector.close();
  }
});

test('METRICS_DATADOG_HOST: DogStatsD timings with the service and env tags', async () => {
  const socket = dgram.createSocket('udp4');
  const packets: string[] = [];
  socket.on('message', (m) => packets.push(m.toString()));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = socket.address().port;
  const svc = await startCaptured({ NAME: 'web', METRICS_DATADOG_HOST: '127.0.0.1', METRICS_DATADOG_PORT: String(port) });
  try {
    await httpRequest(svc.port, '/');
    for (let i = 0; i < 100 && !packets.some((p) => p.startsWith('handle.request.http:')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(packets.includes('service.started:1|c|#service:web,env:production'), packets.join('\n'));
    assert.ok(
      packets.some((p) => /^handle\.request\.http:[0-9.]+\|ms\|#service:web,env:production,response:200$/.test(p)),
      packets.join('\n'),
    );
  } finally {
    await svc.close();
    socket.close();
  }
});
