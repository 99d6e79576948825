import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrames, encodeFrame, websocketAccept } from './websocket.js';

test('the accept key of RFC 6455 section 1.3', () => {
  assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('frames round-trip through the three length forms; masked client frames are unmasked; partial frames wait', () => {
  for (const len of [5, 300, 70_000]) {
    const payload = Buffer.alloc(len, 7);
    const { frames, rest } = decodeFrames(encodeFrame(2, payload));
    assert.equal(rest.length, 0);
    assert.deepEqual([frames[0]!.opcode, frames[0]!.fin, frames[0]!.payload.length], [2, true, len]);
  }
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.concat([Buffer.from([0x81, 0x83]), mask, Buffer.from([0x61 ^ 1, 0x62 ^ 2, 0x63 ^ 3])]);
  assert.equal(decodeFrames(masked).frames[0]!.payload.toString(), 'abc');
  const partial = decodeFrames(masked.subarray(0, 5));
  assert.deepEqual([partial.frames.length, partial.rest.length], [0, 5]);
});
