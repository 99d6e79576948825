import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (...kv: string[]): string[] => kv;
const throwsHpack = (fn: () => unknown, re?: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof HpackError && (re === undefined || re.test(e.message)));
};
const huff = (s: string): Buffer => {
  const b = Buffer.alloc(s.length * 4 + 1);
  return b.subarray(0, huffmanEncode(s, b, 0));
};

/** Deterministic PRNG (mulberry32): rnd(n) is an integer in [0, n). */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

// RFC 7541 Appendix C.

test('RFC 7541 C.3: requests without Huffman, one decoder across blocks', () => {
  const d = new HpackDecoder();
  assert.deepEqual(
    d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')),
    pairs(':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'),
  );
  assert.deepEqual(
    d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')),
    pairs(':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache'),
  );
  assert.deepEqual(
    d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')),
    pairs(':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'),
  );
  // Three entries now: custom-key (62), cache-control (63), :authority (64).
  assert.deepEqual(d.decode(hex('c0')), pairs(':authority', 'www.example.com'));
  throwsHpack(() => d.decode(hex('c1')), /beyond/);
});

test('RFC 7541 C.4: requests with Huffman; HpackEncoder produces the same bytes', () => {
  const blocks = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ];
  const lists = [
    pairs(':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'),
    pairs(':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache'),
    pairs(':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'),
  ];
  const d = new HpackDecoder();
  const e = new HpackEncoder();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(d.decode(hex(blocks[i]!)), lists[i]);
    assert.equal(e.encode(lists[i]!).toString('hex'), blocks[i]!.replace(/\s+/g, ''));
  }
});

test('RFC 7541 C.5 and C.6: responses with a 256-byte table evict by size', () => {
  const c5 = [
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768' +
      '7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153' +
      '444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ];
  const c6 = [
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8' +
      'e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b' +
      '3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ];
  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const loc = 'https://www.example.com';
  const want = [
    pairs(':status', '302', 'cache-control', 'private', 'date', date1, 'location', loc),
    pairs(':status', '307', 'cache-control', 'private', 'date', date1, 'location', loc),
    pairs(
      ':status',
      '200',
      'cache-control',
      'private',
      'date',
      'Mon, 21 Oct 2013 20:13:22 GMT',
      'location',
      loc,
      'content-encoding',
      'gzip',
      'set-cookie',
      'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    ),
  ];
  for (const blocks of [c5, c6]) {
    const d = new HpackDecoder(256);
    // The examples assume the 256-byte size is in force; signal it (3f e1 01 = size update to 256).
    d.decode(hex('3fe101'));
    for (let i = 0; i < 3; i++) assert.deepEqual(d.decode(hex(blocks[i]!)), want[i]);
    // Left: set-cookie (98), content-encoding (52), date (65) = 215 bytes; the rest was evicted.
    assert.deepEqual(d.decode(hex('c0')), pairs('date', 'Mon, 21 Oct 2013 20:13:22 GMT'));
    throwsHpack(() => d.decode(hex('c1')), /beyond/);
  }
});

// Integers.

test('integers at the 5-bit prefix boundary (size updates): encoder bytes and decoder values', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder(4096);
  const cases: [number, string][] = [
    [30, '3e'],
    [31, '3f00'],
    [32, '3f01'],
    [1337, '3f9a0a'], // RFC 7541 C.1.2
    [4096, '3fe11f'],
  ];
  for (const [n, bytes] of cases) {
    e.setPeerMaxTableSize(n);
    const block = e.encode([]);
    assert.equal(block.toString('hex'), bytes, `size update ${n}`);
    assert.deepEqual(d.decode(block), []);
  }
  // The decoder really applied the sizes: an entry of 32 bytes (empty name and value) fits in 32, not in 31.
  for (const [n, fits] of [
    [30, false],
    [31, false],
    [32, true],
  ] as const) {
    const dd = new HpackDecoder();
    const update = e2b(0x20, 5, n);
    assert.deepEqual(dd.decode(Buffer.concat([update, hex('400000')])), pairs('', ''));
    if (fits) assert.deepEqual(dd.decode(hex('be')), pairs('', ''));
    else throwsHpack(() => dd.decode(hex('be')));
  }
  // 1337 bytes hold 13 entries of 100 bytes (name 'x', value of 67 bytes); the 14th evicts the first.
  const dd = new HpackDecoder(4096);
  const lit = (k: number): Buffer => Buffer.concat([hex('40 01 78 43'), Buffer.from(String(k).padStart(67, '0'))]);
  dd.decode(Buffer.concat([e2b(0x20, 5, 1337), ...Array.from({ length: 14 }, (_, k) => lit(k))]));
  assert.deepEqual(dd.decode(e2b(0x80, 7, 61 + 13)), pairs('x', '1'.padStart(67, '0')));
  throwsHpack(() => dd.decode(e2b(0x80, 7, 61 + 14)), /beyond/);
});

/** Test-side integer encoder (RFC 7541 5.1 pseudo-code). */
function e2b(first: number, n: number, v: number): Buffer {
  const max = 2 ** n - 1;
  if (v < max) return Buffer.from([first | v]);
  const out = [first | max];
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

test('integers at the 7-bit prefix boundary (string lengths) and overflow', () => {
  const d = new HpackDecoder();
  for (const len of [0, 1, 126, 127, 128, 255, 1337, 20000]) {
    const value = 'v'.repeat(len);
    // Literal without indexing, literal name 'n'.
    const block = Buffer.concat([hex('00 01 6e'), e2b(0, 7, len), Buffer.from(value)]);
    assert.deepEqual(d.decode(block), pairs('n', value), `length ${len}`);
  }
  assert.equal(e2b(0, 7, 127).toString('hex'), '7f00');
  // Index 2^31 - 1 is past the tables; 2^31 and longer continuations overflow.
  throwsHpack(() => d.decode(Buffer.concat([e2b(0x80, 7, 2 ** 31 - 1)])), /beyond/);
  throwsHpack(() => d.decode(Buffer.concat([e2b(0x80, 7, 2 ** 31)])), /overflow/);
  throwsHpack(() => d.decode(hex('ff ff ff ff ff ff 01')), /overflow/);
  throwsHpack(() => d.decode(hex('ff 80 80 80 80 80 80 00')), /overflow/); // zero padding without end
  throwsHpack(() => d.decode(hex('00 7f ff ff ff ff 0f')), /overflow/);
  throwsHpack(() => d.decode(hex('ff 80')), /truncated/);
});

// Strings and Huffman.

test('string literals with and without Huffman; the encoder uses Huffman only when shorter', () => {
  const d = new HpackDecoder();
  const raw = Buffer.concat([hex('00 03'), Buffer.from('abc'), hex('03'), Buffer.from('xyz')]);
  assert.deepEqual(d.decode(raw), pairs('abc', 'xyz'));
  const h = huff('www.example.com');
  assert.deepEqual(d.decode(Buffer.concat([hex('00'), e2b(0x80, 7, h.length), h, hex('80')])), pairs('www.example.com', ''));
  const e = new HpackEncoder();
  // 'aaaaaaaa' is 5 bytes in Huffman: used. A run of '\x00' (13 bits each) is longer: raw.
  assert.equal(e.encode(['x-a', 'aaaaaaaa']).subarray(-6).toString('hex'), '85' + huff('aaaaaaaa').toString('hex'));
  const ctl = '\0\0\0\0';
  assert.equal(e.encode(['x-a', ctl]).subarray(-5).toString('hex'), '0400000000');
  // Equal lengths stay raw (8 bytes of '&' are 8 bytes of Huffman).
  assert.equal(huffmanEncodedLength('&&&&&&&&'), 8);
  assert.equal(e.encode(['x-b', '&&&&&&&&']).subarray(-9).toString('hex'), '08' + Buffer.from('&&&&&&&&').toString('hex'));
});

test('Huffman: codes of the control bytes match RFC 7541 Appendix B', () => {
  // prettier-ignore
  const want = [
    0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
    0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
    0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
    0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  ];
  for (let c = 0; c < 32; c++) {
    assert.equal(HUFFMAN_CODES[c], want[c], `symbol ${c}`);
    assert.equal(HUFFMAN_LENGTHS[c], Math.max(want[c]!.toString(2).length, 5), `length of ${c}`);
  }
});

test('Huffman: every byte value round-trips, alone and in runs', () => {
  let all = '';
  for (let c = 0; c < 256; c++) {
    const s = String.fromCharCode(c);
    all += s;
    for (const v of [s, s.repeat(7), `a${s}b`, s.repeat(33)]) {
      const h = huff(v);
      assert.equal(h.length, huffmanEncodedLength(v));
      assert.equal(huffmanDecode(h, 0, h.length), v, `byte ${c}`);
    }
  }
  const h = huff(all + all.split('').reverse().join(''));
  assert.equal(huffmanDecode(h, 0, h.length), all + all.split('').reverse().join(''));
  assert.equal(huffmanDecode(h, 0, 0), '');
});

test('Huffman: EOS inside, long padding or padding that is not all ones is an error', () => {
  assert.equal(huffmanDecode(hex('1f'), 0, 1), 'a'); // 00011 + 111 padding
  assert.equal(huffmanDecode(hex('18'), 0, 1), undefined); // padding 000
  assert.equal(huffmanDecode(hex('1b'), 0, 1), undefined); // padding 011
  assert.equal(huffmanDecode(hex('1fff'), 0, 2), undefined); // 11 bits of padding
  assert.equal(huffmanDecode(hex('ff'), 0, 1), undefined); // 8 bits of padding alone
  assert.equal(huffmanDecode(hex('fffffffc'), 0, 4), undefined); // EOS (30 ones) then 00
  assert.equal(huffmanDecode(hex('fffffffff8'), 0, 5), undefined); // EOS then more
  // Inside a block: a value of '0' then 19 one bits, a name with zero padding.
  const d = new HpackDecoder();
  throwsHpack(() => d.decode(hex('00 81 1f 83 07 ff ff')), /Huffman/);
  throwsHpack(() => d.decode(hex('00 81 18 80')), /Huffman/);
});

// Dynamic table.

test('dynamic table: insertion, eviction by size with the 32-byte overhead', () => {
  const d = new HpackDecoder();
  // Size update to 100: entries 'aaaa: bbbb' are 40 bytes, so two fit.
  const ent = (v: string): Buffer => Buffer.concat([hex('40 04'), Buffer.from('aaaa'), hex('04'), Buffer.from(v)]);
  d.decode(Buffer.concat([e2b(0x20, 5, 100), ent('b001'), ent('b002')]));
  assert.deepEqual(d.decode(hex('be bf')), pairs('aaaa', 'b002', 'aaaa', 'b001'));
  d.decode(ent('b003'));
  assert.deepEqual(d.decode(hex('be bf')), pairs('aaaa', 'b003', 'aaaa', 'b002'));
  throwsHpack(() => d.decode(hex('c0')), /beyond/);
  // A literal naming a dynamic entry that its own insertion evicts still gets the name.
  d.decode(Buffer.concat([e2b(0x20, 5, 40)])); // keeps one 40-byte entry: b003
  assert.deepEqual(d.decode(Buffer.concat([hex('7e 04'), Buffer.from('b004')])), pairs('aaaa', 'b004'));
  assert.deepEqual(d.decode(hex('be')), pairs('aaaa', 'b004'));
  // An entry larger than the table empties it and is not added.
  d.decode(Buffer.concat([hex('40 04'), Buffer.from('aaaa'), hex('05'), Buffer.from('b0005')]));
  throwsHpack(() => d.decode(hex('be')), /beyond/);
});

test('dynamic table: many entries (ring growth and wrap) stay addressable', () => {
  const d = new HpackDecoder(1 << 16);
  const block = [e2b(0x20, 5, 1 << 16)];
  for (let k = 0; k < 3000; k++) block.push(Buffer.concat([hex('40 01 6b'), e2b(0, 7, String(k).length), Buffer.from(String(k))]));
  d.decode(Buffer.concat(block));
  // The newest entries are 37 bytes ('k' + 4 digits + 32): 65536 bytes hold exactly 1771 of them.
  assert.deepEqual(d.decode(e2b(0x80, 7, 62)), pairs('k', '2999'));
  assert.deepEqual(d.decode(e2b(0x80, 7, 61 + 1771)), pairs('k', '1229'));
  throwsHpack(() => d.decode(e2b(0x80, 7, 61 + 1772)), /beyond/);
});

test('size update to 0 evicts everything; above the maximum or after a field is an error', () => {
  const d = new HpackDecoder();
  d.decode(Buffer.concat([hex('40 01 61 01 62'), hex('40 01 63 01 64')]));
  assert.deepEqual(d.decode(hex('be bf')), pairs('c', 'd', 'a', 'b'));
  assert.deepEqual(d.decode(hex('20')), []);
  throwsHpack(() => d.decode(hex('be')), /beyond/);
  // Two updates at the start of a block are allowed (RFC 7541 4.2).
  assert.deepEqual(d.decode(Buffer.concat([hex('20'), e2b(0x20, 5, 4096), hex('82')])), pairs(':method', 'GET'));
  throwsHpack(() => d.decode(e2b(0x20, 5, 4097)), /above 4096/);
  throwsHpack(() => new HpackDecoder(100).decode(e2b(0x20, 5, 101)), /above 100/);
  throwsHpack(() => d.decode(hex('82 20')), /after a header field/);
});

test('malformed blocks: index 0, index past the tables, truncation', () => {
  const d = new HpackDecoder();
  throwsHpack(() => d.decode(hex('80')), /index 0/);
  throwsHpack(() => d.decode(hex('be')), /beyond/); // 62 with an empty dynamic table
  throwsHpack(() => d.decode(hex('7f 00 01 61')), /beyond/); // literal naming index 63
  throwsHpack(() => d.decode(hex('40')), /truncated/); // name missing
  throwsHpack(() => d.decode(hex('40 01 61')), /truncated/); // value missing
  throwsHpack(() => d.decode(hex('40 05 61 62')), /beyond the block/);
  throwsHpack(() => d.decode(hex('04 8a ff')), /beyond the block/);
  throwsHpack(() => d.decode(hex('0f')), /truncated/);
  assert.deepEqual(d.decode(new Uint8Array(0)), []);
  // A view into a larger buffer decodes only its own bytes.
  const big = hex('ff 82 86 ff');
  assert.deepEqual(d.decode(new Uint8Array(big.buffer, big.byteOffset + 1, 2)), pairs(':method', 'GET', ':scheme', 'http'));
});

test('decoded-string cache: repeated and colliding literals decode to the right strings', () => {
  const d = new HpackDecoder();
  // 3000 distinct 6-byte values, raw and Huffman, in 512 cache slots: many share a slot and a length.
  const values = Array.from({ length: 3000 }, (_, k) => `v${String(k).padStart(5, '0')}`);
  for (let round = 0; round < 3; round++) {
    for (const v of values) {
      const h = huff(v);
      const block = Buffer.concat([hex('00 01 6e 06'), Buffer.from(v), hex('10 01 6e'), e2b(0x80, 7, h.length), h]);
      assert.deepEqual(d.decode(block), pairs('n', v, 'n', v));
    }
  }
});

test('lastListSize sums name + value + 32 per field', () => {
  const d = new HpackDecoder();
  d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  assert.equal(d.lastListSize, 7 + 3 + 32 + (7 + 4 + 32) + (5 + 1 + 32) + (10 + 15 + 32));
  d.decode(hex('20'));
  assert.equal(d.lastListSize, 0);
});

// Encoder policy.

test('encoder: representations follow the indexing policy', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const first = (name: string, value: string): number => {
    const b = e.encode([name, value]);
    assert.deepEqual(d.decode(b), [name, value]);
    return b[0]!;
  };
  assert.equal(first(':method', 'POST'), 0x83); // static exact
  assert.equal(first(':status', '500'), 0x8e);
  assert.equal(first('authorization', ''), 0x97); // static exact (empty value)
  assert.equal(first('content-type', 'application/grpc'), 0x40 | 31); // indexed, static name
  assert.equal(first('content-type', 'application/grpc'), 0x80 | 62); // now in the dynamic table
  assert.equal(first('authorization', 'Bearer x'), 0x1f); // never indexed, name 23 (4-bit prefix: 15 + 8)
  assert.equal(first('set-cookie', 'a=b'), 0x1f);
  assert.equal(first('proxy-authorization', 'Basic x'), 0x1f);
  assert.equal(first('cookie', 'short=1'), 0x1f); // < 20 bytes: never indexed
  assert.equal(first('cookie', 'long-enough-cookie=123'), 0x40 | 32); // indexed
  assert.equal(first('cookie', 'long-enough-cookie=123'), 0x80 | 62);
  assert.equal(first(':path', '/pkg.Svc/Method'), 0x04); // without indexing, name 4
  assert.equal(first(':path', '/'), 0x84);
  assert.equal(first('grpc-timeout', '100m'), 0x00); // without indexing, literal name
  assert.equal(first('x-request-id', 'abc'), 0x00);
  assert.equal(first('date', 'Mon, 21 Oct 2013 20:13:21 GMT'), 0x0f); // name 33: 15 + 18
  assert.equal(first('x-custom', 'v'), 0x40); // literal name, indexed
  assert.equal(first('x-custom', 'w'), 0x40 | 62); // name from the dynamic table
  assert.equal(first('x-custom', 'v'), 0x80 | 63);
  // Entries over half the table (2048 bytes) are not indexed.
  assert.equal(first('x-big', 'z'.repeat(2100)), 0x00);
  assert.equal(first('x-big', 'z'.repeat(2100)), 0x00);
  assert.equal(first('x-mid', 'z'.repeat(2000)), 0x40);
  assert.equal(first('x-mid', 'z'.repeat(2000)), 0x80 | 62);
});

test('encoder: repeated header lists compress to indexes; state survives evictions', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const list = pairs(
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    '/pkg.Svc/Method',
    ':authority',
    'svc.local:8080',
    'content-type',
    'application/grpc',
    'te',
    'trailers',
    'user-agent',
    'grpc-node-js/1.14.0',
    'grpc-accept-encoding',
    'identity,deflate,gzip',
  );
  const b1 = e.encode(list);
  const b2 = e.encode(list);
  assert.deepEqual(d.decode(b1), list);
  assert.deepEqual(d.decode(b2), list);
  // Second time: 7 one-byte indexes plus :path without indexing (1 + 1 + 11 Huffman bytes).
  assert.equal(b2.length, 7 + 2 + huffmanEncodedLength('/pkg.Svc/Method'));
});

test('encoder: setPeerMaxTableSize signals the minimum then the final size, and evicts', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const roundTrip = (list: string[]): Buffer => {
    const b = e.encode(list);
    assert.deepEqual(d.decode(b), list);
    return b;
  };
  roundTrip(['x-a', '1', 'x-b', '2']);
  e.setPeerMaxTableSize(8192); // above 4096: no change, no update
  assert.equal(roundTrip(['x-a', '1']).toString('hex'), 'bf');
  e.setPeerMaxTableSize(0);
  e.setPeerMaxTableSize(100);
  // 0 (empties the table), then 100 (69 past the 5-bit prefix); 'x-a: 1' is a literal again.
  assert.equal(roundTrip(['x-a', '1']).subarray(0, 4).toString('hex'), '20' + '3f45' + '40');
  assert.equal(roundTrip(['x-a', '1']).toString('hex'), 'be');
  // Entries over half of 100 bytes are not indexed.
  assert.equal(roundTrip(['x-b', 'v'.repeat(20)])[0], 0x00);
  e.setPeerMaxTableSize(0);
  const z = roundTrip(['x-a', '1', 'x-a', '1']);
  assert.equal(z.subarray(0, 2).toString('hex'), '2000'); // size 0, then a literal without indexing
  e.setPeerMaxTableSize(4096);
  assert.equal(roundTrip([]).toString('hex'), '3fe11f');
  e.setPeerMaxTableSize(4096);
  assert.equal(roundTrip([]).toString('hex'), '');
});

test('encoder + decoder round-trip random header lists over many blocks', () => {
  const rnd = prng(7);
  const names = [':authority', ':path', 'accept', 'cookie', 'set-cookie', 'date', 'x-a', 'x-b', 'x-c', 'x-d', 'grpc-timeout', 'etag'];
  const values = Array.from({ length: 40 }, (_, k) => 'v'.repeat(k * 13) + String(k));
  const randomString = (): string => {
    const n = rnd(4) === 0 ? rnd(600) : rnd(30);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(rnd(4) === 0 ? rnd(256) : 97 + rnd(26));
    return s;
  };
  const sizes = [4096, 4096, 4096, 0, 100, 256, 1000, 8192];
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const kept: [Buffer, string[]][] = [];
  for (let block = 0; block < 2000; block++) {
    if (rnd(40) === 0) e.setPeerMaxTableSize(sizes[rnd(sizes.length)]!);
    if (rnd(80) === 0) e.setPeerMaxTableSize(sizes[rnd(sizes.length)]!);
    const list: string[] = [];
    const n = rnd(20);
    for (let i = 0; i < n; i++) {
      const name = rnd(3) === 0 ? randomString() : names[rnd(names.length)]!;
      const value = rnd(2) === 0 ? values[rnd(values.length)]! : randomString();
      list.push(name, value);
    }
    const encoded = e.encode(list);
    kept.push([encoded, list]);
    assert.deepEqual(d.decode(encoded), list, `block ${block}`);
    let size = 0;
    for (let i = 0; i < list.length; i += 2) size += list[i]!.length + list[i + 1]!.length + 32;
    assert.equal(d.lastListSize, size);
  }
  // Returned blocks stay intact while later blocks are written (the encoder's output slab is never reused).
  const again = new HpackDecoder();
  for (const [encoded, list] of kept) assert.deepEqual(again.decode(encoded), list);
});

// Interop with nghttp2 (node:http2) over loopback.

const SETTINGS = 0x4;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const RST_STREAM = 0x3;
const GOAWAY = 0x7;
const PING = 0x6;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  b.set(payload, 9);
  return b;
}

/** A header block as HEADERS + CONTINUATION frames of at most 16384 bytes. */
function headerFrames(stream: number, block: Buffer, endStream: boolean): Buffer {
  const max = 16384;
  const out: Buffer[] = [];
  for (let off = 0; off === 0 || off < block.length; off += max) {
    const last = off + max >= block.length;
    const part = block.subarray(off, off + max);
    if (off === 0) out.push(frame(HEADERS, (endStream ? END_STREAM : 0) | (last ? END_HEADERS : 0), stream, part));
    else out.push(frame(CONTINUATION, last ? END_HEADERS : 0, stream, part));
  }
  return Buffer.concat(out);
}

function settingsPayload(params: [number, number][]): Buffer {
  const b = Buffer.alloc(6 * params.length);
  params.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return b;
}

/** Splits a byte stream into frames and reassembles header blocks (HEADERS + CONTINUATION). */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceLeft: number;
  private block: Buffer[] = [];
  private blockStream = 0;
  private blockFlags = 0;
  readonly stats = { headers: 0, padded: 0, priority: 0, continuation: 0 };

  constructor(expectPreface: boolean) {
    this.prefaceLeft = expectPreface ? PREFACE.length : 0;
  }

  push(data: Buffer, onFrame: (f: Frame) => void, onBlock: (stream: number, flags: number, block: Buffer) => void): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (this.prefaceLeft > 0) {
      if (this.buf.length < PREFACE.length) return;
      assert.deepEqual(this.buf.subarray(0, PREFACE.length), PREFACE);
      this.buf = this.buf.subarray(PREFACE.length);
      this.prefaceLeft = 0;
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = {
        type: this.buf[3]!,
        flags: this.buf[4]!,
        stream: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + len),
      };
      this.buf = this.buf.subarray(9 + len);
      if (f.type === HEADERS) {
        assert.equal(this.block.length, 0, 'HEADERS inside a header block');
        this.stats.headers++;
        let p = f.payload;
        if (f.flags & PADDED) {
          this.stats.padded++;
          const pad = p[0]!;
          p = p.subarray(1, p.length - pad);
        }
        if (f.flags & PRIORITY) {
          this.stats.priority++;
          p = p.subarray(5);
        }
        this.blockStream = f.stream;
        this.blockFlags = f.flags;
        this.block.push(p);
      } else if (f.type === CONTINUATION) {
        assert.equal(f.stream, this.blockStream, 'CONTINUATION on another stream');
        this.stats.continuation++;
        this.block.push(f.payload);
      } else {
        assert.equal(this.block.length, 0, `frame type ${f.type} inside a header block`);
        onFrame(f);
        continue;
      }
      if (f.flags & END_HEADERS) {
        const block = Buffer.concat(this.block);
        this.block = [];
        onBlock(this.blockStream, this.blockFlags, block);
      }
    }
  }
}

const ALLOWED_BYTES = [9, ...Array.from({ length: 95 }, (_, i) => 32 + i), ...Array.from({ length: 128 }, (_, i) => 128 + i)];
const REPEATED = Array.from({ length: 40 }, (_, k) => `pooled-${k}-` + 'q'.repeat(10 + ((k * 37) % 90)));

/** A request header list (pseudo-headers first, lower-case names) valid for node:http2 and nghttp2. */
function requestHeaders(i: number, rnd: (n: number) => number): string[] {
  const hexs = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[rnd(16)]).join('');
  const printable = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(33 + rnd(94))).join('');
  const h = [
    ':method',
    i % 3 === 0 ? 'GET' : 'POST',
    ':scheme',
    'http',
    ':path',
    `/pkg.Svc/Method${i % 7}`,
    ':authority',
    'example.test:8080',
  ];
  h.push('content-type', 'application/grpc', 'te', 'trailers', 'user-agent', `grpc-node-js/1.${i % 3}.0`);
  h.push(
    'grpc-accept-encoding',
    'identity,deflate,gzip',
    'grpc-timeout',
    `${1 + rnd(99999)}m`,
    'x-seq',
    String(i),
    'x-request-id',
    hexs(16),
  );
  for (let k = rnd(14); k > 0; k--) h.push(`x-rep-${rnd(25)}`, REPEATED[rnd(REPEATED.length)]!);
  // Each allowed byte once, inside common text so that Huffman is the shorter encoding.
  for (const j of [2 * i, 2 * i + 1])
    if (j < ALLOWED_BYTES.length) h.push(`x-byte-${j % 2}`, `abcdefghijkl${String.fromCharCode(ALLOWED_BYTES[j]!)}xyz`);
  if (i % 25 === 3) h.push('x-all', `A${String.fromCharCode(...ALLOWED_BYTES)}Z`);
  if (i % 20 === 7) h.push('x-long', printable(3000 + rnd(3000)));
  if (i === 42) for (let k = 0; k < 5; k++) h.push(`x-big-${k}`, printable(4000));
  if (i % 5 === 0) h.push('authorization', `Bearer ${hexs(40)}`);
  if (i % 6 === 1) h.push('cookie', `a=${rnd(1000)}`);
  if (i % 6 === 2) h.push('cookie', `session=${'z'.repeat(30)}`);
  if (i % 10 === 4) h.push('set-cookie', `id=${i}`);
  if (i % 8 === 5) h.push('proxy-authorization', `Basic ${hexs(12)}`);
  if (i % 4 === 0)
    h.push('x-envoy-attempt-count', String(1 + (i % 3)), 'traceparent', `00-${hexs(32)}-${hexs(16)}-01`, 'content-length', '0');
  if (i % 9 === 0) h.push('x-dup', 'one', 'x-dup', 'two');
  if (i % 11 === 0) h.push('x-empty', '');
  return h;
}

const sortedPairs = (list: readonly string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) out.push(`${list[i]}\0${list[i + 1]}`);
  return out.sort();
};

function toNodeHeaders(list: readonly string[]): http2.OutgoingHttpHeaders {
  const h: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const [n, v] = [list[i]!, list[i + 1]!];
    const prev = h[n];
    h[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return h;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]);
}

test('interop: node:http2 client -> HpackDecoder, HpackEncoder responses -> node:http2 client', { timeout: 60_000 }, async () => {
  const decoded = new Map<string, string[]>();
  const sentResponses = new Map<string, string[]>();
  const errors: string[] = [];
  let reader: FrameReader | undefined;
  const server = net.createServer((sock) => {
    const dec = new HpackDecoder();
    const enc = new HpackEncoder();
    const r = (reader = new FrameReader(true));
    sock.write(frame(SETTINGS, 0, 0));
    sock.on('error', () => {});
    sock.on('data', (data: Buffer) => {
      try {
        r.push(
          data,
          (f) => {
            if (f.type === SETTINGS && !(f.flags & ACK)) {
              for (let o = 0; o + 6 <= f.payload.length; o += 6) {
                if (f.payload.readUInt16BE(o) === 1) enc.setPeerMaxTableSize(f.payload.readUInt32BE(o + 2));
              }
              sock.write(frame(SETTINGS, ACK, 0));
            } else if (f.type === PING && !(f.flags & ACK)) {
              sock.write(frame(PING, ACK, 0, f.payload));
            }
          },
          (stream, _flags, block) => {
            const list = dec.decode(block);
            const seq = list[list.indexOf('x-seq') + 1]!;
            decoded.set(seq, list);
            const resp = [':status', '200', 'content-type', 'application/grpc', 'x-seq', seq];
            for (let i = 0; i < list.length; i += 2) if (!list[i]!.startsWith(':')) resp.push(`echo-${list[i]}`, list[i + 1]!);
            if (Number(seq) % 10 === 0) resp.push('set-cookie', `sid=${seq}`, 'date', new Date(0).toUTCString(), 'etag', `"${seq}"`);
            sentResponses.set(seq, resp);
            sock.write(headerFrames(stream, enc.encode(resp), true));
          },
        );
      } catch (e) {
        errors.push(String(e));
        sock.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const client = http2.connect(`http://127.0.0.1:${port}`, {
    paddingStrategy: 1, // PADDING_STRATEGY_ALIGNED (missing from @types/node): pads some HEADERS frames
    maxHeaderListPairs: 2000,
    settings: { maxHeaderListSize: 1 << 20 },
  });
  client.on('error', (e) => errors.push(`client: ${e}`));
  try {
    const rnd = prng(42);
    const sent = Array.from({ length: 200 }, (_, i) => requestHeaders(i, rnd));
    const one = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = client.request(toNodeHeaders(sent[i]!), {
          endStream: true,
          ...(i % 4 === 1 ? { weight: 200 } : {}),
        } as http2.ClientSessionRequestOptions);
        req.on('response', (...args: unknown[]) => {
          const raw = args[2] as string[];
          const want = sentResponses.get(String(i));
          if (want === undefined || JSON.stringify(raw) !== JSON.stringify(want))
            errors.push(`response ${i}: ${JSON.stringify(raw).slice(0, 200)}`);
        });
        req.on('error', reject);
        req.on('close', () => resolve());
        req.resume();
      });
    // Eight requests in flight at a time.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sent.length) await one(next++);
    };
    await withTimeout(Promise.all(Array.from({ length: 8 }, worker)), 30_000, 'node:http2 client requests');
    assert.deepEqual(errors, []);
    assert.equal(decoded.size, 200);
    for (let i = 0; i < 200; i++) assert.deepEqual(sortedPairs(decoded.get(String(i))!), sortedPairs(sent[i]!), `request ${i}`);
    // The block shapes the test is about were produced.
    const stats = reader!.stats;
    assert.ok(stats.padded > 0, `PADDED HEADERS: ${JSON.stringify(stats)}`);
    assert.ok(stats.priority > 0, `PRIORITY HEADERS: ${JSON.stringify(stats)}`);
    assert.ok(stats.continuation > 0, `CONTINUATION: ${JSON.stringify(stats)}`);
  } finally {
    client.destroy();
    server.close();
  }
});

/** Sends ~200 requests encoded by HpackEncoder to a node:http2 server and decodes its responses with HpackDecoder. */
async function encoderInterop(opts: { serverTable: number; clientTable: number; changeAt?: number }): Promise<void> {
  const errors: string[] = [];
  const expected = new Map<string, string[]>();
  let sensitiveSeen = 0;
  const server = http2.createServer({
    settings: { headerTableSize: opts.serverTable, maxHeaderListSize: 1 << 20 },
    maxHeaderListPairs: 2000,
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    const seq = String(headers['x-seq']);
    const want = expected.get(seq);
    if (want === undefined || JSON.stringify(raw) !== JSON.stringify(want))
      errors.push(`request ${seq}: got ${JSON.stringify(raw).slice(0, 300)}`);
    // Never-indexed fields are reported as sensitive by nghttp2.
    const sensitive = [...new Set(((headers as Record<symbol, unknown>)[http2.sensitiveHeaders] as string[] | undefined) ?? [])].sort();
    sensitiveSeen += sensitive.length;
    const neverIndexed = new Set<string>();
    for (let i = 0; want && i < want.length; i += 2) {
      const [n, v] = [want[i]!, want[i + 1]!];
      if (v !== '' && (n === 'authorization' || n === 'proxy-authorization' || n === 'set-cookie' || (n === 'cookie' && v.length < 20)))
        neverIndexed.add(n);
    }
    if (JSON.stringify(sensitive) !== JSON.stringify([...neverIndexed].sort()))
      errors.push(`request ${seq}: sensitive ${sensitive} != ${[...neverIndexed]}`);
    if (Number(seq) === opts.changeAt) {
      stream.session!.settings({ headerTableSize: 64 });
      stream.session!.settings({ headerTableSize: 1024 });
    }
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-accept-encoding': 'identity,deflate,gzip',
        'x-seq': seq,
        'x-resp': REPEATED[Number(seq) % REPEATED.length]!,
      },
      { endStream: true },
    );
  });
  server.on('sessionError', (e) => errors.push(`server session: ${e}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const sock = net.connect(port, '127.0.0.1');
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(opts.clientTable);
  const pending = new Map<number, { resolve: (list: string[]) => void; reject: (e: Error) => void }>();
  let sawSettings: () => void;
  const settingsSeen = new Promise<void>((resolve) => (sawSettings = resolve));
  let peerTableSizes = 0;
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const reader = new FrameReader(false);
  sock.on('error', (e) => failAll(e));
  sock.on('close', () => failAll(new Error('connection closed')));
  sock.on('data', (data: Buffer) => {
    try {
      reader.push(
        data,
        (f) => {
          if (f.type === SETTINGS && !(f.flags & ACK)) {
            for (let o = 0; o + 6 <= f.payload.length; o += 6) {
              if (f.payload.readUInt16BE(o) === 1) {
                enc.setPeerMaxTableSize(f.payload.readUInt32BE(o + 2));
                peerTableSizes++;
              }
            }
            sock.write(frame(SETTINGS, ACK, 0));
            sawSettings();
          } else if (f.type === PING && !(f.flags & ACK)) {
            sock.write(frame(PING, ACK, 0, f.payload));
          } else if (f.type === RST_STREAM) {
            pending.get(f.stream)?.reject(new Error(`RST_STREAM ${f.payload.readUInt32BE(0)} on stream ${f.stream}`));
          } else if (f.type === GOAWAY) {
            failAll(new Error(`GOAWAY ${f.payload.readUInt32BE(4)}: ${f.payload.subarray(8).toString()}`));
          }
        },
        (stream, flags, block) => {
          const list = dec.decode(block);
          assert.ok(flags & END_STREAM);
          pending.get(stream)?.resolve(list);
          pending.delete(stream);
        },
      );
    } catch (e) {
      failAll(e as Error);
      sock.destroy();
    }
  });
  try {
    await withTimeout(once(sock, 'connect'), 5000, 'connect');
    const ours: [number, number][] = opts.clientTable === 4096 ? [] : [[1, opts.clientTable]];
    sock.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settingsPayload(ours))]));
    await withTimeout(settingsSeen, 5000, 'server SETTINGS');
    const rnd = prng(opts.serverTable + 1);
    for (let i = 0; i < 200; i++) {
      const list = requestHeaders(i, rnd);
      expected.set(String(i), list);
      const stream = 2 * i + 1;
      const response = new Promise<string[]>((resolve, reject) => pending.set(stream, { resolve, reject }));
      sock.write(headerFrames(stream, enc.encode(list), true));
      const resp = await withTimeout(response, 5000, `response to request ${i}`);
      assert.equal(resp[0], ':status');
      assert.equal(resp[1], '200');
      assert.equal(resp[resp.indexOf('x-seq') + 1], String(i));
      assert.equal(resp[resp.indexOf('x-resp') + 1], REPEATED[i % REPEATED.length]);
    }
    assert.deepEqual(errors, []);
    assert.ok(sensitiveSeen > 0, 'never-indexed fields reached the server');
    if (opts.changeAt !== undefined) assert.ok(peerTableSizes >= 2, 'the server changed its table size');
  } finally {
    sock.destroy();
    server.close();
  }
}

test('interop: HpackEncoder -> node:http2 server (default table), its responses -> HpackDecoder', { timeout: 60_000 }, () =>
  encoderInterop({ serverTable: 4096, clientTable: 4096 }),
);

test('interop: HpackEncoder -> node:http2 server with a 256-byte table, changed mid-connection', { timeout: 60_000 }, () =>
  encoderInterop({ serverTable: 256, clientTable: 256, changeAt: 100 }),
);

test('interop: HpackEncoder -> node:http2 server with a 0-byte table; our decoder advertises 0 too', { timeout: 60_000 }, () =>
  encoderInterop({ serverTable: 0, clientTable: 0 }),
);
