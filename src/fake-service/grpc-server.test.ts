import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGrpcMessage, encodeGrpcMessage, frameMessage } from './grpc-server.js';

test('grpc-message is percent-encoded outside printable ASCII, and % itself', () => {
  assert.equal(encodeGrpcMessage('50% off\né'), '50%25 off%0A%C3%A9');
  assert.equal(decodeGrpcMessage(encodeGrpcMessage('50% off\né')), '50% off\né');
  assert.equal(encodeGrpcMessage('Service error automatically injected'), 'Service error automatically injected');
});

test('a message frame is a zero compression flag, a big-endian length and the bytes', () => {
  assert.deepEqual([...frameMessage(Buffer.from([7, 8, 9]))], [0, 0, 0, 0, 3, 7, 8, 9]);
});
