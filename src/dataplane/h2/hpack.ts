// HPACK header compression (RFC 7541) for legate's HTTP/2 codec.
//
// Header names and values are JS strings holding latin1 bytes (one char per octet), as the frame layer
// hands them over; nothing here lower-cases or validates them.

import { huffmanDecode, huffmanEncode } from './huffman.js';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './static-table.js';

/** A COMPRESSION_ERROR: the header block cannot be decoded and the connection must be closed. */
export class HpackError extends Error {
  override name = 'HpackError';
}

type Latin1Buffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
};

/** The HTTP/2 default SETTINGS_HEADER_TABLE_SIZE, and the most our encoder uses. */
const DEFAULT_TABLE_SIZE = 4096;
/** Per-entry overhead of RFC 7541 section 4.1. */
const ENTRY_OVERHEAD = 32;
/** Integers above this (lengths, indexes, sizes) are refused: no valid block needs them. */
const MAX_INT = 0x7fffffff;

// Decoded-string cache, shared by all decoders. Literal names and values repeat across blocks (a gRPC
// method's :path, header names sent without indexing), so short ones are looked up by their encoded bytes
// first: a hit costs a hash and a compare instead of a decode and a new string, and returns the same string
// object (its hash already computed for later Map lookups). Never-indexed literals bypass it.
const CACHE_SLOTS = 512;
const CACHE_BYTES = 48;
const cacheKey = new Int32Array(CACHE_SLOTS).fill(-1); // encoded length | 0x100 when Huffman; -1 empty
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_BYTES);
const cacheString = new Array<string>(CACHE_SLOTS).fill('');

/** Dynamic table entries as a ring of names and values, newest at `head`. */
class Ring {
  names: string[];
  values: string[];
  mask: number;
  head = 0;
  count = 0;

  constructor(capacity: number) {
    this.names = new Array<string>(capacity).fill('');
    this.values = new Array<string>(capacity).fill('');
    this.mask = capacity - 1;
  }

  /** Slot of the entry at 1-based dynamic index i (1 = newest); i must be <= count. */
  slot(i: number): number {
    return (this.head - i + 1) & this.mask;
  }

  push(name: string, value: string): void {
    if (this.count > this.mask) this.grow();
    this.head = (this.head + 1) & this.mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.count++;
  }

  /** Drops the oldest entry and returns its slot (still holding the strings until overwritten). */
  dropOldest(): number {
    const s = (this.head - this.count + 1) & this.mask;
    this.count--;
    return s;
  }

  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const names = new Array<string>(cap).fill('');
    const values = new Array<string>(cap).fill('');
    // Re-lay oldest..newest at 0..count-1.
    for (let i = this.count, j = 0; i >= 1; i--, j++) {
      const s = this.slot(i);
      names[j] = this.names[s]!;
      values[j] = this.values[s]!;
    }
    this.names = names;
    this.values = values;
    this.mask = cap - 1;
    this.head = this.count - 1;
  }
}

export class HpackDecoder {
  /** RFC 7541 header list size of the last decoded block: sum of name.length + value.length + 32. */
  lastListSize = 0;

  private readonly limit: number;
  /** Current maximum size of the dynamic table (the encoder's last size update, initially 4096). */
  private maxSize: number;
  private size = 0;
  private readonly table = new Ring(16);
  /** Read position inside the block being decoded. */
  private pos = 0;

  /** maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096); a dynamic table size update above it is an error. */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    this.limit = maxTableSize;
    // Until the peer's encoder signals otherwise, the protocol's initial size (4096) applies (RFC 7540 6.5.2).
    this.maxSize = DEFAULT_TABLE_SIZE;
  }

  /**
   * Decodes one complete header block into a flat [name, value, ...] list. Throws HpackError on malformed
   * input; always reads the whole block so the dynamic table stays in sync with the peer's encoder.
   */
  decode(block: Uint8Array): string[] {
    const buf = (Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)) as Latin1Buffer;
    const end = buf.length;
    const out: string[] = [];
    let listSize = 0;
    let fields = false;
    this.pos = 0;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string;
      let value: string;
      if (b >= 0x80) {
        // Indexed header field (6.1).
        const index = this.int(buf, 0x7f);
        if (index <= STATIC_TABLE_LENGTH) {
          if (index === 0) throw new HpackError('HPACK: index 0');
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const slot = this.dynamicSlot(index);
          name = this.table.names[slot]!;
          value = this.table.values[slot]!;
        }
      } else if (b >= 0x40) {
        // Literal with incremental indexing (6.2.1).
        const index = this.int(buf, 0x3f);
        name = index === 0 ? this.string(buf, true) : this.nameAt(index);
        value = this.string(buf, true);
        this.insert(name, value);
      } else if (b >= 0x20) {
        // Dynamic table size update (6.3): only before the first field of a block.
        if (fields) throw new HpackError('HPACK: dynamic table size update after a header field');
        const n = this.int(buf, 0x1f);
        if (n > this.limit) throw new HpackError(`HPACK: dynamic table size update to ${n} above ${this.limit}`);
        this.maxSize = n;
        this.evict(n);
        continue;
      } else {
        // Literal without indexing (6.2.2) or never indexed (6.2.3).
        const cache = b < 0x10;
        const index = this.int(buf, 0x0f);
        name = index === 0 ? this.string(buf, cache) : this.nameAt(index);
        value = this.string(buf, cache);
      }
      fields = true;
      out.push(name, value);
      listSize += name.length + value.length + ENTRY_OVERHEAD;
    }
    this.lastListSize = listSize;
    return out;
  }

  /** Reads an integer whose prefix is the low bits of the current byte (mask = 2^N - 1). */
  private int(buf: Buffer, mask: number): number {
    let p = this.pos;
    let v = buf[p++]! & mask;
    if (v === mask) {
      let shift = 0;
      let b: number;
      do {
        if (p >= buf.length) throw new HpackError('HPACK: truncated integer');
        b = buf[p++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (v > MAX_INT || shift > 35) throw new HpackError('HPACK: integer overflow');
      } while (b >= 0x80);
    }
    this.pos = p;
    return v;
  }

  /** Reads a string literal; `cache` is false for never-indexed fields, which must not linger in the shared cache. */
  private string(buf: Latin1Buffer, cache: boolean): string {
    const p = this.pos;
    if (p >= buf.length) throw new HpackError('HPACK: truncated block');
    const huffman = buf[p]! >= 0x80;
    const len = this.int(buf, 0x7f);
    const start = this.pos;
    const stop = start + len;
    if (stop > buf.length) throw new HpackError('HPACK: string length beyond the block');
    this.pos = stop;
    let slot = -1;
    if (cache && len <= CACHE_BYTES && len > 0) {
      const key = huffman ? len | 0x100 : len;
      let h = key;
      for (let i = start; i < stop; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
      slot = (h ^ (h >>> 16)) & (CACHE_SLOTS - 1);
      if (cacheKey[slot] === key) {
        const base = slot * CACHE_BYTES - start;
        let i = start;
        while (i < stop && buf[i] === cacheBytes[base + i]) i++;
        if (i === stop) return cacheString[slot]!;
      }
      cacheKey[slot] = -1; // until the decode below succeeds
    }
    const s = huffman ? huffmanDecode(buf, start, stop) : buf.latin1Slice(start, stop);
    if (s === undefined) throw new HpackError('HPACK: invalid Huffman string');
    if (slot >= 0) {
      cacheKey[slot] = huffman ? len | 0x100 : len;
      for (let i = start, j = slot * CACHE_BYTES; i < stop; i++, j++) cacheBytes[j] = buf[i]!;
      cacheString[slot] = s;
    }
    return s;
  }

  private nameAt(index: number): string {
    return index <= STATIC_TABLE_LENGTH ? STATIC_NAMES[index]! : this.table.names[this.dynamicSlot(index)]!;
  }

  private dynamicSlot(index: number): number {
    const i = index - STATIC_TABLE_LENGTH;
    if (i > this.table.count) throw new HpackError(`HPACK: index ${index} beyond the tables`);
    return this.table.slot(i);
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (4.4).
    this.evict(this.maxSize - size);
    if (size <= this.maxSize) {
      this.table.push(name, value);
      this.size += size;
    }
  }

  /** Evicts oldest entries until the table size is at most target. */
  private evict(target: number): void {
    const t = this.table;
    while (this.size > target && t.count > 0) {
      const s = t.dropOldest();
      this.size -= t.names[s]!.length + t.values[s]!.length + ENTRY_OVERHEAD;
      t.names[s] = '';
      t.values[s] = '';
    }
  }
}

// Encoder policy, looked up once per header by name.
const INDEX = 0;
const WITHOUT_INDEXING = 1;
const NEVER_INDEXED = 2;
const NEVER_IF_SHORT = 3; // cookie: never indexed below 20 bytes (short cookies are guessable)

interface NameInfo {
  /** Lowest static index of the name, 0 if none. */
  staticIndex: number;
  /** Static index by value, for the names whose static entries carry values (their values are never empty). */
  staticValues: Map<string, number> | undefined;
  policy: number;
}

const NAME_INFO = new Map<string, NameInfo>();
function info(name: string): NameInfo {
  let i = NAME_INFO.get(name);
  if (i === undefined) {
    i = { staticIndex: 0, staticValues: undefined, policy: INDEX };
    NAME_INFO.set(name, i);
  }
  return i;
}
for (let i = STATIC_TABLE_LENGTH; i >= 1; i--) {
  const n = info(STATIC_NAMES[i]!);
  n.staticIndex = i;
  if (STATIC_VALUES[i] !== '') (n.staticValues ??= new Map()).set(STATIC_VALUES[i]!, i);
}
for (const n of ['authorization', 'proxy-authorization', 'set-cookie']) info(n).policy = NEVER_INDEXED;
info('cookie').policy = NEVER_IF_SHORT;
for (const n of [
  ':path',
  'content-length',
  'date',
  'x-request-id',
  'grpc-timeout',
  'x-envoy-upstream-service-time',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-attempt-count',
  'traceparent',
  'etag',
  'last-modified',
  'age',
  'expires',
]) {
  info(n).policy = WITHOUT_INDEXING;
}

/** The encoder's dynamic-table entries of one name. */
interface NameEntries {
  info: NameInfo | undefined;
  /** value -> insertion number. */
  byValue: Map<string, number>;
  /** Insertion number of the newest entry with this name. */
  newest: number;
}

/** Output slab: blocks are written in place and returned as subarrays, so nothing is copied. */
const SLAB_SIZE = 16384;

export class HpackEncoder {
  /** Our dynamic table's maximum size: min(peer's SETTINGS_HEADER_TABLE_SIZE, 4096). */
  private maxSize = DEFAULT_TABLE_SIZE;
  private size = 0;
  /** Smallest size set since the last block, or -1 when no size update is pending. */
  private pendingMin = -1;
  private readonly table = new Ring(16);
  /** Insertions so far; the entry inserted as number k has dynamic index inserted - k. */
  private inserted = 0;
  /** Names with entries in the dynamic table. */
  private readonly names = new Map<string, NameEntries>();
  private buf = Buffer.allocUnsafe(SLAB_SIZE) as Latin1Buffer;
  /** Start of the block being written; the slab before it belongs to blocks already returned. */
  private start = 0;
  private pos = 0;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed: the next block starts with a dynamic table size update (to min(n, 4096)). */
  setPeerMaxTableSize(n: number): void {
    const size = Math.min(n, DEFAULT_TABLE_SIZE);
    if (size === this.maxSize && this.pendingMin === -1) return;
    this.pendingMin = this.pendingMin === -1 ? size : Math.min(this.pendingMin, size);
    this.maxSize = size;
  }

  /**
   * Encodes a flat [name, value, ...] list (names lower-case, pseudo-headers first) into one header block.
   * The result is a subarray of a slab that is never written again: the caller may keep it.
   */
  encode(headers: readonly string[]): Buffer {
    this.pos = this.start;
    if (this.pendingMin !== -1) {
      // Signal the smallest size reached since the last block, then the final one (RFC 7541 4.2).
      if (this.pendingMin < this.maxSize) {
        this.sizeUpdate(this.pendingMin);
        this.evict(this.pendingMin);
      }
      this.sizeUpdate(this.maxSize);
      this.evict(this.maxSize);
      this.pendingMin = -1;
    }
    for (let i = 0; i + 1 < headers.length; i += 2) this.field(headers[i]!, headers[i + 1]!);
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  private field(name: string, value: string): void {
    // Room for three integers, the strings (Huffman output is only used when shorter) and their lengths.
    this.reserve(name.length + value.length + 16);
    const entries = this.names.get(name);
    const ni = entries !== undefined ? entries.info : NAME_INFO.get(name);
    let nameIndex = 0;
    let policy = INDEX;
    if (ni !== undefined) {
      const exact = ni.staticValues !== undefined ? ni.staticValues.get(value) : value === '' ? ni.staticIndex : undefined;
      if (exact !== undefined && exact !== 0) return this.int(0x80, 7, exact);
      nameIndex = ni.staticIndex;
      policy = ni.policy;
      if (policy === NEVER_IF_SHORT) policy = value.length < 20 ? NEVER_INDEXED : INDEX;
    }
    if (entries !== undefined) {
      const k = entries.byValue.get(value);
      if (k !== undefined) return this.int(0x80, 7, STATIC_TABLE_LENGTH + this.inserted - k);
      if (nameIndex === 0) nameIndex = STATIC_TABLE_LENGTH + this.inserted - entries.newest;
    }
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (policy === INDEX && size * 2 > this.maxSize) policy = WITHOUT_INDEXING;
    if (policy === INDEX) this.int(0x40, 6, nameIndex);
    else this.int(policy === NEVER_INDEXED ? 0x10 : 0x00, 4, nameIndex);
    if (nameIndex === 0) this.string(name);
    this.string(value);
    if (policy === INDEX) this.insert(name, value, size, entries, ni);
  }

  private insert(name: string, value: string, size: number, entries: NameEntries | undefined, ni: NameInfo | undefined): void {
    this.evict(this.maxSize - size);
    const k = this.inserted++;
    this.table.push(name, value);
    this.size += size;
    // The eviction may have dropped the name's last entry (and its record).
    if (entries === undefined || this.names.get(name) !== entries) {
      entries = { info: ni, byValue: new Map(), newest: k };
      this.names.set(name, entries);
    }
    entries.byValue.set(value, k);
    entries.newest = k;
  }

  private evict(target: number): void {
    const t = this.table;
    while (this.size > target && t.count > 0) {
      const k = this.inserted - t.count; // insertion number of the oldest entry
      const s = t.dropOldest();
      const name = t.names[s]!;
      const value = t.values[s]!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      const entries = this.names.get(name)!;
      // Eviction is oldest first: when the newest entry of a name goes, all of them have.
      if (entries.newest === k) this.names.delete(name);
      else if (entries.byValue.get(value) === k) entries.byValue.delete(value);
      t.names[s] = '';
      t.values[s] = '';
    }
  }

  private sizeUpdate(n: number): void {
    this.reserve(8);
    this.int(0x20, 5, n);
  }

  /** Writes an integer with an n-bit prefix after the pattern bits `first`. */
  private int(first: number, n: number, v: number): void {
    const max = (1 << n) - 1;
    const buf = this.buf;
    let p = this.pos;
    if (v < max) {
      buf[p++] = first | v;
    } else {
      buf[p++] = first | max;
      v -= max;
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    }
    this.pos = p;
  }

  private string(s: string): void {
    const len = s.length;
    const buf = this.buf;
    const p = this.pos;
    if (len === 0) {
      buf[this.pos++] = 0;
      return;
    }
    // Try Huffman in place after room for the raw length's prefix; it gives up once not shorter.
    const pre = lengthPrefixSize(len);
    const end = huffmanEncode(s, buf, p + pre, p + pre + len - 1);
    if (end >= 0) {
      const hlen = end - p - pre;
      const hpre = lengthPrefixSize(hlen);
      if (hpre < pre) buf.copyWithin(p + hpre, p + pre, end);
      this.int(0x80, 7, hlen);
      this.pos += hlen;
      return;
    }
    this.int(0, 7, len);
    let q = this.pos;
    if (len < 32) {
      // A JS loop beats the native call for short strings.
      for (let i = 0; i < len; i++) buf[q++] = s.charCodeAt(i);
    } else {
      q += buf.latin1Write(s, q, len);
    }
    this.pos = q;
  }

  /** Makes room for n more bytes, moving the block being written to a new slab if needed. */
  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, (used + n) * 2)) as Latin1Buffer;
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }
}

/** Bytes taken by a string length with its 7-bit prefix. */
function lengthPrefixSize(v: number): number {
  if (v < 0x7f) return 1;
  let n = 2;
  for (v -= 0x7f; v >= 0x80; v >>>= 7) n++;
  return n;
}
