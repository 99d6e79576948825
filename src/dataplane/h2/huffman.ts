// HPACK Huffman coding (RFC 7541 section 5.2, code in Appendix B).
//
// The code is canonical (codes of one length are consecutive, in symbol order, and each length starts
// where the previous one ended, shifted), so the 257 code lengths define it; the codes are derived at
// load and checked against a few values of the RFC's table. Decoding walks a byte-at-a-time state
// machine: a state is an internal node of the code tree, and one table lookup per input byte gives the
// next state and the 0, 1 or 2 symbols completed on the way.

/** Code length in bits of each symbol 0..255 and EOS (256), from RFC 7541 Appendix B. */
// prettier-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  32 ' ' .. '/'
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  48 '0' .. '?'
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  64 '@' .. 'O'
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  80 'P' .. '_'
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  96 '`' .. 'o'
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, // 112 'p' .. 127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240
  30, // 256 EOS
];

const EOS = 256;

/** Code length in bits per symbol. */
export const HUFFMAN_LENGTHS = Uint8Array.from(LENGTHS);
/** Code per symbol, right-aligned. */
export const HUFFMAN_CODES = new Uint32Array(257);

function deriveCodes(): void {
  if (LENGTHS.length !== 257) throw new Error('huffman: 257 code lengths expected');
  const order = Array.from({ length: 257 }, (_, i) => i).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let len = LENGTHS[order[0]!]!;
  for (const sym of order) {
    const l = LENGTHS[sym]!;
    code *= 2 ** (l - len);
    len = l;
    HUFFMAN_CODES[sym] = code++;
  }
  // A complete prefix code ends with the all-ones code of the longest length (Kraft sum exactly 1).
  if (code !== 2 ** len) throw new Error('huffman: code lengths do not form a complete code');
  // Spot checks against the codes printed in RFC 7541 Appendix B.
  const expected: [number, number][] = [
    [0, 0x1ff8],
    [1, 0x7fffd8],
    [9, 0xffffea],
    [10, 0x3ffffffc],
    [32, 0x14],
    [48, 0x0],
    [65, 0x21],
    [92, 0x7fff0],
    [122, 0x7b],
    [127, 0xffffffc],
    [128, 0xfffe6],
    [195, 0x7fff1],
    [220, 0xffffffd],
    [255, 0x3ffffee],
    [EOS, 0x3fffffff],
  ];
  for (const [sym, want] of expected) {
    if (HUFFMAN_CODES[sym] !== want) throw new Error(`huffman: derived code of symbol ${sym} differs from RFC 7541`);
  }
}

// Decoder state machine. States are the 256 internal nodes of the code tree (0 is the root).
// DECODE[(state << 8) | byte] = next state | first symbol << 8 | second symbol << 16 | count << 24 | FAIL.
const FAIL = 1 << 26;
const DECODE = new Uint32Array(256 * 256);
/** 1 when ending in this state is valid: the bits since the last symbol are at most 7 ones (EOS prefix). */
const ACCEPT = new Uint8Array(256);

function buildDecoder(): void {
  // child[node * 2 + bit]: >= 0 internal node, < 0 leaf -(symbol + 1).
  const child = new Int16Array(512);
  const depth = new Uint8Array(256);
  const ones = new Uint8Array(256); // node reached by all one bits
  ones[0] = 1;
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) {
        if (child[slot] !== 0) throw new Error('huffman: not a prefix code');
        child[slot] = -(sym + 1);
      } else {
        if (child[slot]! < 0) throw new Error('huffman: not a prefix code');
        if (child[slot] === 0) {
          if (nodes === 256) throw new Error('huffman: too many tree nodes');
          depth[nodes] = depth[node]! + 1;
          ones[nodes] = ones[node]! & bit;
          child[slot] = nodes++;
        }
        node = child[slot]!;
      }
    }
  }
  if (nodes !== 256) throw new Error('huffman: expected 256 internal nodes');
  // Nibble transitions first (same layout as DECODE, at most one symbol per nibble), then bytes as two nibbles.
  const nibble = new Uint32Array(256 * 16);
  for (let s = 0; s < 256; s++) {
    ACCEPT[s] = s === 0 || (ones[s] === 1 && depth[s]! <= 7) ? 1 : 0;
    for (let x = 0; x < 16; x++) {
      let node = s;
      let e = 0;
      for (let i = 3; i >= 0; i--) {
        const c = child[node * 2 + ((x >> i) & 1)]!;
        if (c >= 0) {
          node = c;
        } else if (c === -(EOS + 1)) {
          e = FAIL;
          break;
        } else {
          e = ((-c - 1) << 8) | (1 << 24);
          node = 0;
        }
      }
      nibble[s * 16 + x] = e === FAIL ? FAIL : e | node;
    }
  }
  for (let s = 0; s < 256; s++) {
    for (let h = 0; h < 16; h++) {
      const hi = nibble[s * 16 + h]!;
      const row = (s << 8) | (h << 4);
      if (hi & FAIL) {
        DECODE.fill(FAIL, row, row + 16);
        continue;
      }
      const next = (hi & 0xff) * 16;
      const sym = hi & 0xff00;
      const emitted = hi >>> 24;
      for (let l = 0; l < 16; l++) {
        const lo = nibble[next + l]!;
        DECODE[row | l] =
          lo & FAIL || emitted === 0 ? lo : lo >>> 24 === 0 ? sym | (1 << 24) | lo : sym | ((lo & 0xff00) << 8) | (2 << 24) | (lo & 0xff);
      }
    }
  }
}

deriveCodes();
buildDecoder();

let scratch = Buffer.allocUnsafe(256) as Latin1Buffer;

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * Decodes src[start, end) as a Huffman-coded string (latin1). Returns undefined when the input is not a
 * valid encoding: EOS inside, padding longer than 7 bits, or padding that is not a prefix of EOS.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string | undefined {
  // The shortest code is 5 bits, so n bytes decode to at most 8n/5 symbols.
  const max = ((end - start) * 8) / 5 + 1;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2)) as Latin1Buffer;
  const out = scratch;
  let state = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    const e = DECODE[(state << 8) | src[i]!]!;
    if (e >= 1 << 24) {
      if (e & FAIL) return undefined;
      out[o++] = e >>> 8;
      if (e >= 2 << 24) out[o++] = e >>> 16;
    }
    state = e & 0xff;
  }
  if (ACCEPT[state] === 0) return undefined;
  return out.latin1Slice(0, o);
}

/** Length in bytes of the Huffman encoding of s (characters taken as latin1 bytes). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman encoding of s (characters taken as latin1 bytes) at dst[offset] and returns the offset
 * after it, or -1 as soon as it would write at or past limit (the caller then sends the string raw).
 */
export function huffmanEncode(s: string, dst: Uint8Array, offset: number, limit = dst.length): number {
  let o = offset;
  let acc = 0; // the pending n bits, n < 8 between symbols
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    const len = HUFFMAN_LENGTHS[c]!;
    const code = HUFFMAN_CODES[c]!;
    if (len > 24) {
      // Would overflow 31 bits with 7 pending: push the high part first.
      acc = (acc << (len - 8)) | (code >>> 8);
      n += len - 8;
      while (n >= 8) {
        n -= 8;
        if (o >= limit) return -1;
        dst[o++] = acc >>> n;
      }
      acc = ((acc & ((1 << n) - 1)) << 8) | (code & 0xff);
      n += 8;
    } else {
      acc = (acc << len) | code;
      n += len;
    }
    while (n >= 8) {
      n -= 8;
      if (o >= limit) return -1;
      dst[o++] = acc >>> n;
    }
    acc &= (1 << n) - 1;
  }
  if (n > 0) {
    // Pad with the most significant bits of EOS (all ones).
    if (o >= limit) return -1;
    dst[o++] = (acc << (8 - n)) | (0xff >>> n);
  }
  return o;
}
