import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmuxHttp1Fast, h2cPreface } from './conn-split.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('cmux HTTP1Fast: the eight methods go to HTTP/1, everything else (PATCH, the h2 preface) to gRPC', () => {
  for (const m of ['GET / HTTP/1.1', 'POST /', 'PUT /', 'DELETE /', 'HEAD /', 'OPTIONS *', 'TRACE /', 'CONNECT x:1'])
    assert.equal(cmuxHttp1Fast(b(m)), 'http1', m);
  assert.equal(cmuxHttp1Fast(b('PATCH / HTTP/1.1')), 'http2');
  assert.equal(cmuxHttp1Fast(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'http2');
  assert.equal(cmuxHttp1Fast(b('\x16\x03\x01')), 'http2');
  // Not enough bytes to tell yet.
  assert.equal(cmuxHttp1Fast(b('G')), undefined);
  assert.equal(cmuxHttp1Fast(b('P')), undefined);
  assert.equal(cmuxHttp1Fast(b('OPTI')), undefined);
});

test('the h2c port splits on the full HTTP/2 preface', () => {
  assert.equal(h2cPreface(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00')), 'http2');
  assert.equal(h2cPreface(b('PRI * HTTP/2')), undefined);
  assert.equal(h2cPreface(b('GET / HTTP/1.1\r\n')), 'http1');
  assert.equal(h2cPreface(b('PRI / HTTP/1.1')), 'http1');
});
