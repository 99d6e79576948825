import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineHash, hashKeyOf, hashString, xxHash32 } from './hash.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('xxHash32 matches published reference values for strings', () => {
  // Seed 0 digests as published with XXH32 ports' known-answer tables (e.g. pierrec/lz4 xxh32).
  const vectors: [string, number][] = [
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['ab', 0x4999fc53],
    ['abc', 0x32d153ff],
    ['abcd', 0xa3643705],
    ['abcde', 0x9738f19b],
    ['abcdefgh', 0x0bb3c6bb],
    ['abcdefghij', 0x8b988cfe],
    ['abcdefghijklmnop', 0x9d2d8b62],
    ['abcdefghijklmnopqrstuvwxyz0123456789', 0x42ae804d],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
    ['The quick brown fox jumps over the lazy dog', 0xe85ea4de],
  ];
  for (const [s, want] of vectors) {
    assert.equal(xxHash32(bytes(s)), want, JSON.stringify(s));
    assert.equal(hashString(s), want, JSON.stringify(s));
  }
  assert.equal(hashString('', 1), 0x0b2cb792);
});

test("xxHash32 matches xxHash's own sanity check (101-byte generated buffer, seeds 0 and PRIME32_1)", () => {
  // The reference self-test: byte i is the top byte of a 32-bit generator squared at each step.
  const prime = 2654435761;
  const buf = new Uint8Array(101);
  let gen = prime;
  for (let i = 0; i < buf.length; i++) {
    buf[i] = gen >>> 24;
    gen = Math.imul(gen, gen) >>> 0;
  }
  const cases: [number, number, number][] = [
    [0, 0, 0x02cc5d05],
    [0, prime, 0x36b78ae7],
    [1, 0, 0xb85cbee5],
    [1, prime, 0xd5845d64],
    [14, 0, 0xe5aa0ab4],
    [14, prime, 0x4481951d],
    [101, 0, 0x1f1aa412],
    [101, prime, 0x498ec8e2],
  ];
  for (const [len, seed, want] of cases) assert.equal(xxHash32(buf, seed, 0, len), want, `len ${len} seed ${seed}`);
  // A sub-range hashes like a copy of it.
  assert.equal(xxHash32(buf, 7, 3, 40), xxHash32(buf.slice(3, 40), 7));
});

test('hashString hashes UTF-8 and handles long strings', () => {
  assert.equal(hashString('héllo→😀'), xxHash32(bytes('héllo→😀')));
  const long = 'x'.repeat(5000) + 'é';
  assert.equal(hashString(long), xxHash32(bytes(long)));
  assert.equal(hashString('abc'), 0x32d153ff, 'the grown scratch buffer does not leak into later hashes');
});

test('hashKeyOf combines policy values like Envoy: rotate left one, then xor', () => {
  assert.equal(hashKeyOf([]), undefined);
  assert.equal(hashKeyOf(['a']), 0x550d7456);
  const a = hashString('a');
  const b = hashString('b');
  assert.equal(hashKeyOf(['a', 'b']), (((a << 1) | (a >>> 31)) ^ b) >>> 0);
  assert.equal(hashKeyOf(['a', 'b']), combineHash(combineHash(undefined, a), b));
  assert.notEqual(hashKeyOf(['a', 'a']), 0, 'duplicate rules do not cancel out');
  assert.notEqual(hashKeyOf(['a', 'b']), hashKeyOf(['b', 'a']), 'order matters');
  for (const k of [hashKeyOf(['x', 'y', 'z'])!, hashKeyOf(['\u{1F600}'])!]) assert.ok(Number.isInteger(k) && k >= 0 && k < 2 ** 32);
});
