import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../common/clock.js';
import { echoDocument, echoSetHeaders, EchoHandlers, type EchoRequest } from './echo-backend.js';

const req = (over: Partial<EchoRequest> = {}): EchoRequest => ({
  requestURI: '/',
  host: 'example.com',
  method: 'GET',
  proto: 'HTTP/1.1',
  headers: [],
  remoteAddr: '10.0.0.1:1234',
  ...over,
});
const ctx = { namespace: 'ns', ingress: '', service: '', pod: 'p-1-2' };

test('echoDocument: field order, headers grouped and sorted, tls only when present', () => {
  const doc = echoDocument(
    req({
      headers: [
        ['X-B', '1'],
        ['Accept', '*/*'],
        ['X-B', '2'],
      ],
    }),
    '3000',
    ctx,
  );
  assert.equal(
    doc,
    '{\n "path": "/",\n "host": "example.com",\n "method": "GET",\n "proto": "HTTP/1.1",\n "headers": {\n  "Accept": [\n   "*/*"\n  ],\n  "X-B": [\n   "1",\n   "2"\n  ]\n },\n "httpPort": "3000",\n "namespace": "ns",\n "ingress": "",\n "service": "",\n "pod": "p-1-2"\n}',
  );
  const withTls = JSON.parse(
    echoDocument(
      req({
        tls: { version: 'TLSv1.3', serverName: 'a', negotiatedProtocol: '', cipherSuite: 'TLS_AES_128_GCM_SHA256', peerCertificates: [] },
      }),
      '3000',
      ctx,
    ),
  ) as { tls: Record<string, string> };
  assert.deepEqual(Object.keys(withTls.tls), ['version', 'serverName', 'cipherSuite']);
});

test('X-Echo-Set-Header: pairs split on "," and the first ":", repeats appended, empty and invalid names dropped', () => {
  assert.deepEqual(echoSetHeaders(req({ headers: [['X-Echo-Set-Header', '']] })), []);
  assert.deepEqual(
    echoSetHeaders(req({ headers: [['X-Echo-Set-Header', 'X-Header-Set-1: v1, x-lower:a:b,X-Header-Set-1:v2,bad name:x']] })),
    [
      ['X-Header-Set-1', 'v1,v2'],
      ['x-lower', 'a:b'],
    ],
  );
});

test('status: only an exact /status/NNN request-URI sets the code', () => {
  const h = new EchoHandlers('3000', ctx, new ManualClock(), () => {});
  assert.equal((h.status(req({ requestURI: '/status/418' })) as { status: number }).status, 418);
  assert.equal((h.status(req({ requestURI: '/status/418/' })) as { status: number }).status, 400);
});

test('retry: counts per uuid, answers hijack-unsupported over HTTP/2, then echoes', async () => {
  const h = new EchoHandlers('3000', ctx, new ManualClock(), () => {});
  const r = req({ requestURI: '/retry/x?uuid=a&succeedAfter=1', proto: 'HTTP/2.0' });
  assert.deepEqual(await h.retry(r), { kind: 'hijack-unsupported' });
  assert.equal((await h.retry(r)).kind, 'response');
  assert.deepEqual(await h.retry(req({ requestURI: '/retry/x?uuid=b&succeedAfter=1' })), { kind: 'reset' });
  const missing = (await h.retry(req({ requestURI: '/retry/x?uuid=b' }))) as { status: number; body: Buffer };
  assert.deepEqual([missing.status, missing.body.toString()], [400, 'succeedAfter is required']);
});

test('route: // collapses before matching, cleaned paths redirect, /ws is left to the websocket handler', async () => {
  const h = new EchoHandlers('3000', ctx, new ManualClock(), () => {});
  assert.equal(((await h.route(req({ requestURI: '//health' }))) as { status: number }).status, 200);
  assert.deepEqual(await h.route(req({ requestURI: '/a/./b?x=1' })), { kind: 'redirect', location: '/a/b?x=1' });
  assert.deepEqual(await h.route(req({ requestURI: '/retry?x' })), { kind: 'redirect', location: '/retry/?x' });
  assert.equal(await h.route(req({ requestURI: '/ws' })), undefined);
});
