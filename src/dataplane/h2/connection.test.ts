import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { H2Connection, type H2CloseHow, type H2Options, type H2Stream, type H2StreamHandler } from './connection.js';
import { ErrorCode, Flag, FrameType, PREFACE, Setting } from './frame.js';
import { HpackDecoder, HpackEncoder } from './hpack.js';

// Protocol-level tests of H2Connection (RFC 9113) over loopback sockets, against a raw-frame peer
// written here and against node:http2. Every wait is bounded so that a bug fails instead of hanging.

const WAIT = 3000;

type Frame = { type: number; flags: number; stream: number; payload: Buffer; headers?: string[] };

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function settings(...kv: number[]): Buffer {
  const p = Buffer.alloc(kv.length * 3);
  for (let i = 0; i < kv.length; i += 2) {
    p.writeUInt16BE(kv[i]!, i * 3);
    p.writeUInt32BE(kv[i + 1]! >>> 0, i * 3 + 2);
  }
  return frame(FrameType.SETTINGS, 0, 0, p);
}

function parseSettings(payload: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= payload.length; i += 6) m.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
  return m;
}

const GET = (path = '/echo'): string[] => [':method', 'GET', ':scheme', 'http', ':path', path, ':authority', 'test'];
const POST = (path = '/echo'): string[] => [':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'test'];

/** A raw HTTP/2 endpoint: writes frames as given and records every frame it receives. */
class Peer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly enc = new HpackEncoder();
  readonly dec = new HpackDecoder();
  closed = false;
  #taken = new Set<Frame>();
  #buf = Buffer.alloc(0);
  #prefaceLeft: number;
  #waiters = new Set<() => void>();
  #hdr: Frame | null = null;
  #hdrParts: Buffer[] = [];

  constructor(socket: net.Socket, expectPreface = false) {
    this.socket = socket;
    this.#prefaceLeft = expectPreface ? PREFACE.length : 0;
    socket.on('data', (c: Buffer) => this.#onData(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  #onData(c: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, c]);
    if (this.#prefaceLeft > 0) {
      if (this.#buf.length < PREFACE.length) return;
      assert.ok(this.#buf.subarray(0, PREFACE.length).equals(PREFACE), 'client preface');
      this.#buf = this.#buf.subarray(PREFACE.length);
      this.#prefaceLeft = 0;
    }
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const f: Frame = {
        type: this.#buf[3]!,
        flags: this.#buf[4]!,
        stream: this.#buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#buf.subarray(9, 9 + len)),
      };
      this.#buf = this.#buf.subarray(9 + len);
      this.#decodeHeaders(f);
      this.frames.push(f);
    }
    this.#notify();
  }

  /** Header blocks are decoded in arrival order (HPACK state); the block goes on its HEADERS frame. */
  #decodeHeaders(f: Frame): void {
    if (f.type === FrameType.HEADERS) {
      let p = f.payload;
      if (f.flags & Flag.PADDED) p = p.subarray(1, p.length - p[0]!);
      if (f.flags & Flag.PRIORITY) p = p.subarray(5);
      this.#hdr = f;
      this.#hdrParts = [p];
    } else if (f.type === FrameType.CONTINUATION) this.#hdrParts.push(f.payload);
    else return;
    if (f.flags & Flag.END_HEADERS && this.#hdr) {
      this.#hdr.headers = this.dec.decode(Buffer.concat(this.#hdrParts));
      this.#hdr = null;
    }
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** A HEADERS frame carrying the whole block. */
  headers(stream: number, headers: string[], flags: number = Flag.END_HEADERS): Buffer {
    return frame(FrameType.HEADERS, flags | Flag.END_HEADERS, stream, this.enc.encode(headers));
  }

  data(stream: number, body: Buffer | string, flags: number = 0): Buffer {
    return frame(FrameType.DATA, flags, stream, typeof body === 'string' ? Buffer.from(body) : body);
  }

  wait<R>(check: () => R | undefined, what: string, ms = WAIT): Promise<R> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(tick);
      };
      const tick = (): void => {
        let r: R | undefined;
        try {
          r = check();
        } catch (e) {
          done();
          reject(e as Error);
          return;
        }
        if (r !== undefined) {
          done();
          resolve(r);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; received ${this.describe()}`));
      }, ms);
      this.#waiters.add(tick);
      tick();
    });
  }

  /** The first frame not yet taken that matches. */
  take(pred: (f: Frame) => boolean, what: string, ms = WAIT): Promise<Frame> {
    return this.wait(
      () => {
        const f = this.frames.find((x) => !this.#taken.has(x) && pred(x));
        if (f) this.#taken.add(f);
        return f;
      },
      what,
      ms,
    );
  }

  async goaway(ms = WAIT): Promise<{ last: number; code: number }> {
    const f = await this.take((f) => f.type === FrameType.GOAWAY, 'GOAWAY', ms);
    return { last: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
  }

  async rst(stream: number, ms = WAIT): Promise<number> {
    const f = await this.take((f) => f.type === FrameType.RST_STREAM && f.stream === stream, `RST_STREAM on ${stream}`, ms);
    return f.payload.readUInt32BE(0);
  }

  /** A connection error: GOAWAY with `code`, then the socket closes. */
  async connectionError(code: number): Promise<void> {
    const g = await this.goaway();
    assert.equal(g.code, code, `GOAWAY code ${g.code}, expected ${code}`);
    await this.waitClosed();
  }

  waitClosed(ms = WAIT): Promise<true> {
    return this.wait(() => (this.closed ? true : undefined), 'close', ms);
  }

  /** PING round trip: everything sent before it was processed. */
  async sync(): Promise<void> {
    const payload = Buffer.from(String(Math.random()).slice(2, 10).padEnd(8, '0'));
    this.send(frame(FrameType.PING, 0, 0, payload));
    await this.take((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(payload), 'PING ACK');
  }

  /** A full response on `stream`: headers, body, trailers, once END_STREAM arrives. */
  async response(stream: number, ms = WAIT): Promise<{ headers: string[]; body: Buffer; trailers: string[] | null }> {
    return this.wait(
      () => {
        const fs = this.frames.filter((f) => f.stream === stream);
        if (fs.some((f) => f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) !== 0)) throw new Error(`stream ${stream} reset`);
        const end = fs.find((f) => (f.type === FrameType.DATA || f.type === FrameType.HEADERS) && f.flags & Flag.END_STREAM);
        if (!end) return undefined;
        const hs = fs.filter((f) => f.type === FrameType.HEADERS);
        const body = Buffer.concat(fs.filter((f) => f.type === FrameType.DATA).map((f) => dataOf(f)));
        return { headers: hs[0]!.headers!, body, trailers: hs.length > 1 ? hs[hs.length - 1]!.headers! : null };
      },
      `response on ${stream}`,
      ms,
    );
  }

  dataBytes(stream: number): number {
    let n = 0;
    for (const f of this.frames) if (f.type === FrameType.DATA && f.stream === stream) n += dataOf(f).length;
    return n;
  }

  describe(): string {
    const names = ['DATA', 'HEADERS', 'PRIORITY', 'RST', 'SETTINGS', 'PUSH', 'PING', 'GOAWAY', 'WU', 'CONT'];
    const list = this.frames.slice(-12).map((f) => {
      let s = `${names[f.type] ?? f.type}/${f.stream}/${f.flags}/${f.payload.length}`;
      if (f.type === FrameType.RST_STREAM || f.type === FrameType.WINDOW_UPDATE) s += `=${f.payload.readUInt32BE(0)}`;
      if (f.type === FrameType.GOAWAY) s += `=${f.payload.readUInt32BE(4)}`;
      return s;
    });
    return `${this.frames.length} frames [..${list.join(' ')}]${this.closed ? ' closed' : ''}`;
  }
}

function dataOf(f: Frame): Buffer {
  if (!(f.flags & Flag.PADDED)) return f.payload;
  return f.payload.subarray(1, f.payload.length - f.payload[0]!);
}

// ---------------------------------------------------------------- server role fixture

type Rec = {
  s: H2Stream;
  headers: string[];
  data: Buffer[];
  trailers: string[] | null;
  ended: boolean;
  closed: { code: number | null; how: H2CloseHow | null } | null;
  /** Handler calls in order. */
  order: string[];
};

type Server = { port: number; conns: H2Connection[]; recs: Rec[]; close(): Promise<void> };

function path(r: Rec): string {
  return r.headers[r.headers.indexOf(':path') + 1]!;
}

/**
 * The test application, by :path. /echo answers the request body (and its trailers) once it has
 * ended, /size/N answers N bytes, /trailers answers with trailers, /early answers at once (before
 * the body), /reset resets, /pause pauses, /hold does nothing.
 */
function answer(r: Rec, phase: 'start' | 'end'): void {
  const p = path(r);
  const s = r.s;
  if (phase === 'start') {
    if (p === '/early') {
      s.respond([':status', '200'], false);
      s.write(Buffer.from('early'));
      s.end();
    } else if (p === '/reset') s.reset(ErrorCode.CANCEL);
    else if (p === '/pause') s.pause();
    return;
  }
  if (p === '/echo') {
    const body = Buffer.concat(r.data);
    s.respond([':status', '200', 'content-length', String(body.length)], false);
    s.write(body);
    s.end(r.trailers ? ['x-echo-trailers', r.trailers.join(',')] : null);
  } else if (p.startsWith('/size/')) {
    s.respond([':status', '200'], false);
    s.write(Buffer.alloc(Number(p.slice(6)), 'x'));
    s.end();
  } else if (p === '/trailers') {
    s.respond([':status', '200'], false);
    s.write(Buffer.from('body'));
    s.end(['grpc-status', '0', 'x-trailer', 'yes']);
  }
}

async function startServer(opts: Partial<H2Options> = {}, events: { onStream?: (r: Rec) => void } = {}): Promise<Server> {
  const conns: H2Connection[] = [];
  const recs: Rec[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new H2Connection(socket, { role: 'server', ...opts });
    conns.push(conn);
    conn.events = {
      onStream(s, headers, endStream) {
        const r: Rec = { s, headers, data: [], trailers: null, ended: endStream, closed: null, order: [] };
        recs.push(r);
        s.handler = {
          onHeaders() {},
          onData: (_s, c) => {
            r.order.push('data');
            r.data.push(Buffer.from(c));
          },
          onTrailers: (_s, t) => {
            r.order.push('trailers');
            r.trailers = t;
          },
          onEnd: () => {
            r.order.push('end');
            r.ended = true;
            answer(r, 'end');
          },
          onWritable() {},
          onClose: (_s, code, how) => {
            r.order.push('close');
            r.closed = { code, how };
          },
        };
        events.onStream?.(r);
        answer(r, 'start');
        if (endStream && !s.closed) answer(r, 'end');
      },
    };
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as net.AddressInfo).port,
    conns,
    recs,
    async close() {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, 'close');
    },
  };
}

/** A raw client: preface, SETTINGS, and the ACK of the server's SETTINGS. */
async function rawClient(
  port: number,
  opts: { settings?: number[]; handshake?: boolean } = {},
): Promise<{ peer: Peer; serverSettings: Frame }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const peer = new Peer(socket);
  if (opts.handshake === false) return { peer, serverSettings: null as unknown as Frame };
  peer.send(PREFACE, settings(...(opts.settings ?? [])));
  const serverSettings = await peer.take((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), 'server SETTINGS');
  peer.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
  return { peer, serverSettings };
}

/** One server, one raw client, both torn down after `fn`. */
async function withServer(
  opts: Partial<H2Options>,
  fn: (x: { srv: Server; peer: Peer; serverSettings: Frame }) => Promise<void>,
  clientSettings: number[] = [],
): Promise<void> {
  const srv = await startServer(opts);
  try {
    const { peer, serverSettings } = await rawClient(srv.port, { settings: clientSettings });
    try {
      await fn({ srv, peer, serverSettings });
    } finally {
      peer.socket.destroy();
    }
  } finally {
    await srv.close();
  }
}

function waitFor(cond: () => boolean, what: string, ms = WAIT): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

// ---------------------------------------------------------------- client role fixture

type ClientRec = {
  headers: string[] | null;
  data: Buffer[];
  trailers: string[] | null;
  ended: boolean;
  closed: { code: number | null; how: H2CloseHow | null } | null;
  handler: H2StreamHandler;
};

function clientRec(): ClientRec {
  const r: ClientRec = {
    headers: null,
    data: [],
    trailers: null,
    ended: false,
    closed: null,
    handler: {
      onHeaders: (_s, h) => (r.headers = h),
      onData: (_s, c) => r.data.push(Buffer.from(c)),
      onTrailers: (_s, t) => (r.trailers = t),
      onEnd: () => (r.ended = true),
      onWritable() {},
      onClose: (_s, code, how) => (r.closed = { code, how }),
    },
  };
  return r;
}

/** Our client against a raw server peer; the peer has read the preface and our SETTINGS and answered. */
async function withClient(
  opts: Partial<H2Options>,
  fn: (x: { conn: H2Connection; peer: Peer; clientSettings: Frame; closed: Promise<void> }) => Promise<void>,
  serverSettings: number[] | null = [],
): Promise<void> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const socket = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const [ss] = (await accepted) as [net.Socket];
  const peer = new Peer(ss, true);
  let onClose!: () => void;
  const closed = new Promise<void>((r) => (onClose = r));
  const conn = new H2Connection(socket, { role: 'client', ...opts }, { onClose });
  try {
    const clientSettings = await peer.take((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), 'client SETTINGS');
    if (serverSettings !== null) {
      peer.send(settings(...serverSettings), frame(FrameType.SETTINGS, Flag.ACK, 0));
      await waitFor(() => conn.remoteSettingsReceived || conn.destroyed, 'client ready');
    }
    await fn({ conn, peer, clientSettings, closed });
  } finally {
    conn.destroy();
    ss.destroy();
    srv.close();
  }
}

// ================================================================ 1. preface

test('preface: a wrong preface gets GOAWAY(PROTOCOL_ERROR) and the connection closes', async () => {
  const srv = await startServer();
  try {
    const { peer } = await rawClient(srv.port, { handshake: false });
    peer.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  } finally {
    await srv.close();
  }
});

test('preface: the first frame after the preface must be SETTINGS', async () => {
  const srv = await startServer();
  try {
    const { peer } = await rawClient(srv.port, { handshake: false });
    peer.send(PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  } finally {
    await srv.close();
  }
});

test('preface: client role, the server preface must start with SETTINGS', async () => {
  await withClient(
    {},
    async ({ peer, closed }) => {
      peer.send(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
      await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
      await closed;
    },
    null,
  );
});

test('preface: a whole request fed one byte per write (preface and every frame split at every byte)', async () => {
  const srv = await startServer();
  try {
    const { peer } = await rawClient(srv.port, { handshake: false });
    peer.socket.setNoDelay(true);
    const bytes = Buffer.concat([
      PREFACE,
      settings(Setting.INITIAL_WINDOW_SIZE, 100_000),
      peer.headers(1, POST()),
      peer.data(1, 'hello '),
      frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, Buffer.concat([Buffer.from([3]), Buffer.from('world'), Buffer.alloc(3)])),
    ]);
    for (let i = 0; i < bytes.length; i++) {
      peer.socket.write(bytes.subarray(i, i + 1));
      // Let some bytes go alone through the socket.
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    const res = await peer.response(1);
    assert.equal(res.body.toString(), 'hello world');
    assert.deepEqual(res.headers, [':status', '200', 'content-length', '11']);
  } finally {
    await srv.close();
  }
});

// ================================================================ 2. SETTINGS

test('SETTINGS: ours carries the options, the connection window follows, the peer SETTINGS is ACKed', async () => {
  await withServer(
    { maxConcurrentStreams: 7, initialWindowSize: 12345, connectionWindowSize: 200_000, maxHeaderListSize: 9999 },
    async ({ peer, serverSettings }) => {
      const m = parseSettings(serverSettings.payload);
      assert.equal(m.get(Setting.ENABLE_PUSH), 0);
      assert.equal(m.get(Setting.INITIAL_WINDOW_SIZE), 12345);
      assert.equal(m.get(Setting.MAX_CONCURRENT_STREAMS), 7);
      assert.equal(m.get(Setting.MAX_HEADER_LIST_SIZE), 9999);
      const wu = await peer.take((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 0, 'connection WINDOW_UPDATE');
      assert.equal(wu.payload.readUInt32BE(0), 200_000 - 65_535);
      await peer.take((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, 'SETTINGS ACK');
    },
  );
});

test('SETTINGS: client role sends the preface and its SETTINGS; it ACKs the server SETTINGS', async () => {
  await withClient({ initialWindowSize: 70_000, maxHeaderListSize: 5000 }, async ({ peer, clientSettings }) => {
    const m = parseSettings(clientSettings.payload);
    assert.equal(m.get(Setting.ENABLE_PUSH), 0);
    assert.equal(m.get(Setting.INITIAL_WINDOW_SIZE), 70_000);
    assert.equal(m.get(Setting.MAX_HEADER_LIST_SIZE), 5000);
    assert.equal(m.has(Setting.MAX_CONCURRENT_STREAMS), false);
    await peer.take((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, 'SETTINGS ACK');
  });
});

test('SETTINGS: INITIAL_WINDOW_SIZE changes open streams (down to negative), WINDOW_UPDATE then lets data flow', async () => {
  await withServer(
    {},
    async ({ peer }) => {
      peer.send(peer.headers(1, GET('/size/300'), Flag.END_STREAM));
      await peer.wait(() => (peer.dataBytes(1) === 100 ? true : undefined), '100 bytes');
      // 100 sent on a window of 100: 0 left; lowering the initial window by 50 makes it -50.
      peer.send(settings(Setting.INITIAL_WINDOW_SIZE, 50));
      await peer.take((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, 'ACK');
      peer.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(50)));
      await peer.sync();
      assert.equal(peer.dataBytes(1), 100, 'a window of -50 + 50 is still closed');
      peer.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(30)));
      await peer.wait(() => (peer.dataBytes(1) === 130 ? true : undefined), '130 bytes');
      // Raising the initial window by 1000 opens it for the rest.
      peer.send(settings(Setting.INITIAL_WINDOW_SIZE, 1050));
      const res = await peer.response(1);
      assert.equal(res.body.length, 300);
    },
    [Setting.INITIAL_WINDOW_SIZE, 100],
  );
});

test('SETTINGS: a larger MAX_FRAME_SIZE lets DATA frames grow; the default limits them to 16384', async () => {
  await withServer(
    {},
    async ({ peer }) => {
      peer.send(peer.headers(1, GET('/size/50000'), Flag.END_STREAM));
      await peer.response(1);
      const sizes = peer.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length);
      assert.equal(Math.max(...sizes), 20000);
    },
    [Setting.MAX_FRAME_SIZE, 20000],
  );
  await withServer({}, async ({ peer }) => {
    peer.send(peer.headers(1, GET('/size/50000'), Flag.END_STREAM));
    await peer.response(1);
    const sizes = peer.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length);
    assert.equal(Math.max(...sizes), 16384);
  });
});

test('SETTINGS: invalid values and sizes are connection errors', async () => {
  const cases: [string, Buffer, number][] = [
    ['MAX_FRAME_SIZE 16383', settings(Setting.MAX_FRAME_SIZE, 16383), ErrorCode.PROTOCOL_ERROR],
    ['MAX_FRAME_SIZE 2^24', settings(Setting.MAX_FRAME_SIZE, 1 << 24), ErrorCode.PROTOCOL_ERROR],
    ['ENABLE_PUSH 2', settings(Setting.ENABLE_PUSH, 2), ErrorCode.PROTOCOL_ERROR],
    ['INITIAL_WINDOW_SIZE 2^31', settings(Setting.INITIAL_WINDOW_SIZE, 2 ** 31), ErrorCode.FLOW_CONTROL_ERROR],
    ['length 5', frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR],
    ['ACK with a payload', frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6)), ErrorCode.FRAME_SIZE_ERROR],
    ['on a stream', frame(FrameType.SETTINGS, 0, 1), ErrorCode.PROTOCOL_ERROR],
    ['frame over 16384', frame(FrameType.DATA, 0, 1, Buffer.alloc(16385)), ErrorCode.FRAME_SIZE_ERROR],
    ['PING over 16384', frame(FrameType.PING, 0, 0, Buffer.alloc(16385)), ErrorCode.FRAME_SIZE_ERROR],
  ];
  const srv = await startServer();
  try {
    for (const [name, bytes, code] of cases) {
      const { peer } = await rawClient(srv.port);
      try {
        peer.send(bytes);
        await peer.connectionError(code);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      } finally {
        peer.socket.destroy();
      }
    }
  } finally {
    await srv.close();
  }
});

test('SETTINGS: client role rejects ENABLE_PUSH=1 from a server', async () => {
  await withClient({}, async ({ peer, closed }) => {
    peer.send(settings(Setting.ENABLE_PUSH, 1));
    const g = await peer.goaway();
    assert.equal(g.code, ErrorCode.PROTOCOL_ERROR);
    await closed;
  });
});

// ================================================================ 3. headers

test('headers: HEADERS with PADDED and PRIORITY, then several CONTINUATION frames', async () => {
  await withServer({}, async ({ peer, srv }) => {
    const block = peer.enc.encode([...GET('/echo'), 'x-a', 'a'.repeat(100), 'x-b', 'b'.repeat(100)]);
    const pad = 10;
    const first = Buffer.concat([Buffer.from([pad]), Buffer.from([0x80, 0, 0, 0, 16]), block.subarray(0, 20), Buffer.alloc(pad)]);
    peer.send(
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 1, first),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(20, 60)),
      frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0)),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(60, 150)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(150)),
    );
    const res = await peer.response(1);
    assert.equal(res.headers[1], '200');
    assert.equal(srv.recs[0]!.headers[srv.recs[0]!.headers.indexOf('x-b') + 1], 'b'.repeat(100));
    // The HPACK state stayed in step: the next request decodes too.
    peer.send(peer.headers(3, GET('/echo'), Flag.END_STREAM));
    await peer.response(3);
  });
});

test('headers: a header block over the peer frame size goes as HEADERS + CONTINUATION; HEADER_TABLE_SIZE 0 is honoured', async () => {
  await withServer(
    {},
    async ({ peer, srv }) => {
      peer.send(peer.headers(1, GET('/hold'), Flag.END_STREAM));
      await waitFor(() => srv.recs.length === 1, 'stream');
      const big = [':status', '200', 'x-big', 'v'.repeat(40_000), 'x-small', 's'];
      srv.recs[0]!.s.respond(big, true);
      const res = await peer.response(1);
      assert.deepEqual(res.headers, big);
      const fs = peer.frames.filter((f) => f.stream === 1);
      assert.deepEqual(
        fs.map((f) => [f.type, f.flags]),
        [
          [FrameType.HEADERS, Flag.END_STREAM],
          [FrameType.CONTINUATION, 0],
          [FrameType.CONTINUATION, Flag.END_HEADERS],
        ],
      );
      // Nothing went into a dynamic table the peer has not got: a decoder with no table reads every block.
      peer.send(peer.headers(3, GET(), Flag.END_STREAM));
      await peer.response(3);
      const d = new HpackDecoder(0);
      for (const f of peer.frames.filter((x) => x.type === FrameType.HEADERS)) {
        const block = Buffer.concat([
          f.payload,
          ...peer.frames.filter((x) => x.type === FrameType.CONTINUATION && x.stream === f.stream).map((x) => x.payload),
        ]);
        assert.deepEqual(d.decode(block), f.headers);
      }
    },
    [Setting.HEADER_TABLE_SIZE, 0],
  );
});

test('headers: CONTINUATION out of place is a connection error', async () => {
  const srv = await startServer();
  try {
    const cases: [string, (p: Peer) => Buffer[]][] = [
      [
        'for another stream',
        (p) => [frame(FrameType.HEADERS, 0, 1, p.enc.encode(GET())), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3)],
      ],
      ['PING interleaved', (p) => [frame(FrameType.HEADERS, 0, 1, p.enc.encode(GET())), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]],
      ['DATA interleaved', (p) => [frame(FrameType.HEADERS, 0, 1, p.enc.encode(GET())), frame(FrameType.DATA, 0, 1, Buffer.from('x'))]],
      ['HEADERS interleaved', (p) => [frame(FrameType.HEADERS, 0, 1, p.enc.encode(GET())), p.headers(3, GET())]],
      ['unknown type interleaved', (p) => [frame(FrameType.HEADERS, 0, 1, p.enc.encode(GET())), frame(0x42, 0, 0, Buffer.alloc(3))]],
      ['without HEADERS', () => [frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1)]],
      ['after a complete block', (p) => [p.headers(1, GET()), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1)]],
    ];
    for (const [name, make] of cases) {
      const { peer } = await rawClient(srv.port);
      try {
        peer.send(...make(peer));
        await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      } finally {
        peer.socket.destroy();
      }
    }
  } finally {
    await srv.close();
  }
});

test('headers: an endless CONTINUATION sequence is cut off (non-empty and empty fragments)', async () => {
  for (const size of [1000, 0]) {
    await withServer({ maxHeaderListSize: 4096 }, async ({ peer }) => {
      peer.send(frame(FrameType.HEADERS, 0, 1, peer.enc.encode(GET())));
      let sent = 0;
      const chunk = Buffer.concat(Array.from({ length: 100 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(size, 0x40))));
      while (!peer.closed && sent < 300_000) {
        const ok = peer.socket.write(chunk);
        sent += 100;
        if (!ok) await Promise.race([once(peer.socket, 'drain'), once(peer.socket, 'close')]);
        await new Promise((r) => setImmediate(r));
        if (peer.frames.some((f) => f.type === FrameType.GOAWAY)) break;
      }
      const g = await peer.goaway();
      assert.ok(g.code === ErrorCode.ENHANCE_YOUR_CALM || g.code === ErrorCode.PROTOCOL_ERROR, `code ${g.code}`);
    });
  }
});

test('headers: HPACK garbage is COMPRESSION_ERROR', async () => {
  await withServer({}, async ({ peer }) => {
    // Index 127+ far beyond both tables.
    peer.send(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from([0xff, 0xff, 0xff, 0x7f])));
    await peer.connectionError(ErrorCode.COMPRESSION_ERROR);
  });
});

test('headers: malformed requests are reset with PROTOCOL_ERROR; the connection goes on', async () => {
  const base = ['x-ok', '1'];
  const cases: [string, string[], Buffer[]?][] = [
    ['no :method', [':scheme', 'http', ':path', '/echo']],
    ['no :path', [':method', 'GET', ':scheme', 'http']],
    ['no :scheme', [':method', 'GET', ':path', '/echo']],
    ['empty :path', [':method', 'GET', ':scheme', 'http', ':path', '']],
    ['unknown pseudo', [...GET(), ':foo', 'bar']],
    ['response pseudo in a request', [...GET(), ':status', '200']],
    ['pseudo after regular', [':method', 'GET', ':scheme', 'http', 'x-a', 'b', ':path', '/echo']],
    ['upper-case name', [...GET(), 'X-Upper', 'v']],
    ['space in a name', [...GET(), 'x a', 'v']],
    ['connection', [...GET(), 'connection', 'keep-alive']],
    ['keep-alive', [...GET(), 'keep-alive', '5']],
    ['transfer-encoding', [...GET(), 'transfer-encoding', 'chunked']],
    ['upgrade', [...GET(), 'upgrade', 'h2c']],
    ['proxy-connection', [...GET(), 'proxy-connection', 'x']],
    ['te gzip', [...GET(), 'te', 'gzip']],
    ['CR in a value', [...GET(), 'x-a', 'a\rb']],
    ['LF in a value', [...GET(), 'x-a', 'a\nb']],
    ['NUL in a value', [...GET(), 'x-a', 'a\0b']],
    ['duplicate :path', [...GET(), ':path', '/other']],
    ['duplicate :method', [':method', 'GET', ...GET()]],
    ['CONNECT with :path', [':method', 'CONNECT', ':authority', 'h:1', ':scheme', 'http', ':path', '/']],
    ['CONNECT without :authority', [':method', 'CONNECT']],
    ['content-length not a number', [...POST(), 'content-length', '1x']],
    ['two content-lengths differing', [...POST(), 'content-length', '1', 'content-length', '2']],
  ];
  await withServer({}, async ({ peer, srv }) => {
    let id = 1;
    for (const [name, headers] of cases) {
      peer.send(peer.headers(id, [...headers, ...base], Flag.END_STREAM));
      assert.equal(await peer.rst(id).catch((e: Error) => e.message), ErrorCode.PROTOCOL_ERROR, name);
      id += 2;
    }
    // content-length against DATA, both ways, and END_STREAM on HEADERS with a length.
    peer.send(peer.headers(id, [...POST(), 'content-length', '3']), peer.data(id, 'abcd', Flag.END_STREAM));
    assert.equal(await peer.rst(id), ErrorCode.PROTOCOL_ERROR, 'more DATA than content-length');
    id += 2;
    peer.send(peer.headers(id, [...POST(), 'content-length', '5']), peer.data(id, 'abc', Flag.END_STREAM));
    assert.equal(await peer.rst(id), ErrorCode.PROTOCOL_ERROR, 'less DATA than content-length');
    id += 2;
    peer.send(peer.headers(id, [...POST(), 'content-length', '5'], Flag.END_STREAM));
    assert.equal(await peer.rst(id), ErrorCode.PROTOCOL_ERROR, 'END_STREAM on HEADERS with content-length 5');
    id += 2;
    peer.send(peer.headers(id, [...POST(), 'content-length', '5']), peer.data(id, 'abc'), peer.headers(id, ['x-t', '1'], Flag.END_STREAM));
    assert.equal(await peer.rst(id), ErrorCode.PROTOCOL_ERROR, 'trailers before content-length was reached');
    id += 2;
    // Valid: content-length matching, OPTIONS *, CONNECT with authority only, te: trailers.
    peer.send(peer.headers(id, [...POST(), 'content-length', '3']), peer.data(id, 'abc', Flag.END_STREAM));
    assert.equal((await peer.response(id)).body.toString(), 'abc');
    id += 2;
    peer.send(peer.headers(id, [...GET(), 'te', 'trailers'], Flag.END_STREAM));
    await peer.response(id);
    id += 2;
    peer.send(peer.headers(id, [':method', 'CONNECT', ':authority', 'h:1'], Flag.END_STREAM));
    await waitFor(() => srv.recs.some((r) => r.s.id === id), 'CONNECT stream');
    await peer.sync();
    assert.equal(srv.conns[0]!.destroyed, false);
    for (const r of srv.recs) if (r.s.id < id && path(r) !== '/echo') assert.fail(`malformed request reached the app: ${r.headers}`);
  });
});

test('headers: too many fields or a too large list resets with ENHANCE_YOUR_CALM', async () => {
  await withServer({ maxHeaderCount: 10, maxHeaderListSize: 2000 }, async ({ peer, srv }) => {
    const many = [...GET()];
    for (let i = 0; i < 7; i++) many.push(`x-${i}`, 'v');
    peer.send(peer.headers(1, many, Flag.END_STREAM));
    assert.equal(await peer.rst(1), ErrorCode.ENHANCE_YOUR_CALM);
    peer.send(peer.headers(3, [...GET(), 'x-big', 'v'.repeat(2100)], Flag.END_STREAM));
    assert.equal(await peer.rst(3), ErrorCode.ENHANCE_YOUR_CALM);
    // Trailers too.
    peer.send(peer.headers(5, POST('/hold')), peer.headers(5, ['x-big', 'v'.repeat(2100)], Flag.END_STREAM));
    assert.equal(await peer.rst(5), ErrorCode.ENHANCE_YOUR_CALM);
    peer.send(peer.headers(7, GET(), Flag.END_STREAM));
    await peer.response(7);
    assert.deepEqual(
      srv.recs.map((r) => r.s.id),
      [5, 7],
    );
  });
});

test('headers: trailers are delivered; trailers without END_STREAM or with a pseudo-header reset the stream', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST()), peer.data(1, 'abc'), peer.headers(1, ['x-t', 'v'], Flag.END_STREAM));
    const res = await peer.response(1);
    assert.equal(res.body.toString(), 'abc');
    assert.deepEqual(res.trailers, ['x-echo-trailers', 'x-t,v']);
    peer.send(peer.headers(3, POST()), peer.data(3, 'abc'), peer.headers(3, ['x-t', 'v']));
    assert.equal(await peer.rst(3), ErrorCode.PROTOCOL_ERROR);
    peer.send(peer.headers(5, POST()), peer.data(5, 'abc'), peer.headers(5, [':status', '200'], Flag.END_STREAM));
    assert.equal(await peer.rst(5), ErrorCode.PROTOCOL_ERROR);
    await waitFor(() => srv.recs.length === 3 && srv.recs.every((r) => r.closed !== null), 'closed');
    assert.deepEqual(srv.recs[1]!.closed, { code: ErrorCode.PROTOCOL_ERROR, how: 'protocol' });
  });
});

test('headers: trailers on a paused stream wait behind its data', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/pause')), peer.data(1, 'ab'), peer.data(1, 'cd'), peer.headers(1, ['x-t', '1'], Flag.END_STREAM));
    await peer.sync();
    const r = srv.recs[0]!;
    assert.deepEqual(r.order, []);
    r.s.resume();
    assert.deepEqual(r.order, ['data', 'data', 'trailers', 'end']);
    assert.deepEqual(r.trailers, ['x-t', '1']);
    r.s.respond([':status', '204'], true);
    await peer.response(1);
    assert.deepEqual(r.order, ['data', 'data', 'trailers', 'end', 'close']);
  });
});

test('streams: a handler that pauses and resumes inside onData gets the held data in order, then the end', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/pause')), peer.data(1, 'a'), peer.data(1, 'b'), peer.data(1, 'c', Flag.END_STREAM));
    await peer.sync();
    const r = srv.recs[0]!;
    const onData = r.s.handler.onData;
    r.s.handler.onData = (s, c) => {
      onData(s, c);
      s.pause();
      s.resume();
    };
    r.s.resume();
    assert.deepEqual(r.order, ['data', 'data', 'data', 'end']);
    assert.equal(Buffer.concat(r.data).toString(), 'abc');
  });
});

test('headers: client role gets the response headers, body and trailers; malformed responses are reset', async () => {
  await withClient({}, async ({ conn, peer }) => {
    const a = clientRec();
    const s1 = conn.request(GET('/a'), true, a.handler);
    const req = await peer.take((f) => f.type === FrameType.HEADERS && f.stream === s1.id, 'request');
    assert.deepEqual(req.headers, GET('/a'));
    peer.send(
      peer.headers(s1.id, [':status', '100']),
      peer.headers(s1.id, [':status', '200', 'content-length', '5']),
      peer.data(s1.id, 'hello'),
      peer.headers(s1.id, ['grpc-status', '0'], Flag.END_STREAM),
    );
    await waitFor(() => a.closed !== null, 'closed');
    assert.deepEqual(a.headers, [':status', '200', 'content-length', '5']);
    assert.equal(Buffer.concat(a.data).toString(), 'hello');
    assert.deepEqual(a.trailers, ['grpc-status', '0']);
    assert.deepEqual(a.closed, { code: null, how: null });
    const bad: string[][] = [
      ['x-a', 'b'],
      [':status', '200', ':path', '/'],
      [':status', '200', 'connection', 'close'],
      [':status', 'abc'],
    ];
    for (const h of bad) {
      const r = clientRec();
      const s = conn.request(GET(), true, r.handler);
      peer.send(peer.headers(s.id, h, Flag.END_STREAM));
      assert.equal(await peer.rst(s.id), ErrorCode.PROTOCOL_ERROR, h.join(' '));
      assert.equal(r.closed?.how, 'protocol');
    }
  });
});

// ================================================================ 4. streams

test('streams: an even stream id from a client is a connection PROTOCOL_ERROR', async () => {
  await withServer({}, async ({ peer }) => {
    peer.send(peer.headers(2, GET(), Flag.END_STREAM));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
});

test('streams: a stream id lower than one already used is a connection PROTOCOL_ERROR', async () => {
  await withServer({}, async ({ peer }) => {
    peer.send(peer.headers(5, GET('/hold')));
    peer.send(peer.headers(3, GET(), Flag.END_STREAM));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
  // A stream that ended normally does not start again.
  await withServer({}, async ({ peer }) => {
    peer.send(peer.headers(1, GET(), Flag.END_STREAM));
    await peer.response(1);
    peer.send(peer.headers(1, GET(), Flag.END_STREAM));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
});

test('streams: late trailers of streams we closed early are not taken for a lower stream id', async () => {
  await withServer({ maxConcurrentStreams: 1 }, async ({ peer, srv }) => {
    // Answered before the body (RST_STREAM(NO_ERROR)), reset by the app, refused, malformed.
    peer.send(peer.headers(1, POST('/early')), peer.data(1, 'x'));
    assert.equal(await peer.rst(1), ErrorCode.NO_ERROR);
    peer.send(peer.headers(3, POST('/reset')));
    assert.equal(await peer.rst(3), ErrorCode.CANCEL);
    peer.send(peer.headers(5, POST('/hold')), peer.headers(7, POST()));
    assert.equal(await peer.rst(7), ErrorCode.REFUSED_STREAM);
    srv.recs[2]!.s.reset();
    assert.equal(await peer.rst(5), ErrorCode.CANCEL);
    peer.send(peer.headers(9, [...POST(), 'connection', 'x']));
    assert.equal(await peer.rst(9), ErrorCode.PROTOCOL_ERROR);
    for (const id of [1, 3, 5, 7, 9]) peer.send(peer.data(id, 'late'), peer.headers(id, ['x-t', '1'], Flag.END_STREAM));
    await peer.sync();
    assert.equal(srv.conns[0]!.destroyed, false);
    // More such streams than are remembered: the oldest are let through all the same.
    peer.send(peer.headers(11, POST('/hold')));
    await waitFor(() => srv.recs.length === 4, 'held stream');
    const ids: number[] = [];
    for (let id = 13; ids.length < 1500; id += 2) ids.push(id);
    peer.send(...ids.map((id) => peer.headers(id, POST())));
    await peer.sync();
    assert.equal(
      peer.frames.filter((f) => f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) === ErrorCode.REFUSED_STREAM).length,
      1501,
    );
    peer.send(...ids.map((id) => peer.headers(id, ['x-t', '1'], Flag.END_STREAM)));
    await peer.sync();
    assert.equal(srv.conns[0]!.destroyed, false);
  });
});

test('streams: DATA, RST_STREAM, WINDOW_UPDATE on an idle stream are connection errors', async () => {
  const srv = await startServer();
  try {
    const cases: [string, Buffer][] = [
      ['DATA', frame(FrameType.DATA, 0, 1, Buffer.from('x'))],
      ['RST_STREAM', frame(FrameType.RST_STREAM, 0, 1, u32(8))],
      ['WINDOW_UPDATE', frame(FrameType.WINDOW_UPDATE, 0, 1, u32(8))],
      ['DATA on stream 0', frame(FrameType.DATA, 0, 0, Buffer.from('x'))],
      ['HEADERS on stream 0', frame(FrameType.HEADERS, Flag.END_HEADERS, 0, Buffer.from([0x82]))],
      ['PUSH_PROMISE', frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.from([0, 0, 0, 2, 0x82]))],
      ['PRIORITY on stream 0', frame(FrameType.PRIORITY, 0, 0, Buffer.alloc(5))],
    ];
    for (const [name, bytes] of cases) {
      const { peer } = await rawClient(srv.port);
      try {
        peer.send(bytes);
        await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      } finally {
        peer.socket.destroy();
      }
    }
  } finally {
    await srv.close();
  }
});

test('streams: PRIORITY on an idle stream and unknown frame types are ignored', async () => {
  await withServer({}, async ({ peer }) => {
    peer.send(frame(FrameType.PRIORITY, 0, 9, Buffer.from([0, 0, 0, 0, 16])), frame(0x42, 0xff, 1, Buffer.alloc(20)));
    peer.send(peer.headers(1, GET(), Flag.END_STREAM));
    await peer.response(1);
  });
});

test('streams: DATA after END_STREAM is STREAM_CLOSED (also on a paused stream)', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/hold'), Flag.END_STREAM), peer.data(1, 'late'));
    assert.equal(await peer.rst(1), ErrorCode.STREAM_CLOSED);
    // Paused: the END_STREAM is held behind the data, but the stream is half-closed all the same.
    peer.send(peer.headers(3, POST('/pause')), peer.data(3, 'a'), peer.data(3, 'b', Flag.END_STREAM), peer.data(3, 'late'));
    assert.equal(await peer.rst(3), ErrorCode.STREAM_CLOSED);
    peer.send(
      peer.headers(5, POST('/pause')),
      peer.data(5, 'a'),
      peer.data(5, 'b', Flag.END_STREAM),
      peer.headers(5, ['x-t', '1'], Flag.END_STREAM),
    );
    assert.equal(await peer.rst(5), ErrorCode.STREAM_CLOSED);
    await peer.sync();
    assert.equal(srv.conns[0]!.destroyed, false);
  });
});

test('streams: frames on a stream we reset are ignored, not connection errors', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/reset')));
    assert.equal(await peer.rst(1), ErrorCode.CANCEL);
    peer.send(
      peer.data(1, 'more'),
      frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100)),
      frame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16])),
      peer.headers(1, ['x-t', '1'], Flag.END_STREAM),
      frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)),
    );
    // A refused and a malformed stream: the same.
    peer.send(peer.headers(3, [...POST(), 'connection', 'x']), peer.data(3, 'x'), peer.headers(3, ['x-t', '1'], Flag.END_STREAM));
    assert.equal(await peer.rst(3), ErrorCode.PROTOCOL_ERROR);
    peer.send(peer.headers(5, GET(), Flag.END_STREAM));
    await peer.response(5);
    assert.equal(srv.conns[0]!.destroyed, false);
    assert.equal(srv.conns[0]!.activeStreams, 0);
  });
});

test('streams: beyond MAX_CONCURRENT_STREAMS a stream is refused, the others are served', async () => {
  await withServer({ maxConcurrentStreams: 2 }, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST()), peer.headers(3, POST()), peer.headers(5, POST()));
    assert.equal(await peer.rst(5), ErrorCode.REFUSED_STREAM);
    assert.equal(srv.conns[0]!.activeStreams, 2);
    peer.send(peer.data(5, 'ignored', Flag.END_STREAM), peer.data(1, 'one', Flag.END_STREAM), peer.data(3, 'three', Flag.END_STREAM));
    assert.equal((await peer.response(1)).body.toString(), 'one');
    assert.equal((await peer.response(3)).body.toString(), 'three');
    // A slot is free again.
    peer.send(peer.headers(7, GET(), Flag.END_STREAM));
    await peer.response(7);
    assert.deepEqual(
      srv.recs.map((r) => r.s.id),
      [1, 3, 7],
    );
  });
});

test('streams: RST_STREAM from the peer closes the stream; the handler sees it', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/hold')), peer.data(1, 'x'));
    await waitFor(() => srv.recs.length === 1, 'stream');
    peer.send(frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)));
    await waitFor(() => srv.recs[0]!.closed !== null, 'closed');
    assert.deepEqual(srv.recs[0]!.closed, { code: ErrorCode.CANCEL, how: 'remote' });
    assert.equal(srv.conns[0]!.activeStreams, 0);
    // Writes after the close go nowhere.
    srv.recs[0]!.s.respond([':status', '200'], true);
    await peer.sync();
    assert.equal(peer.frames.filter((f) => f.stream === 1).length, 0);
    peer.send(frame(FrameType.RST_STREAM, 0, 1, u32(4)));
    await peer.sync();
  });
});

test('streams: a response completed before the request body sends RST_STREAM(NO_ERROR) and closes the stream', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/early')), peer.data(1, 'part'));
    const res = await peer.response(1);
    assert.equal(res.body.toString(), 'early');
    assert.equal(await peer.rst(1), ErrorCode.NO_ERROR);
    await waitFor(() => srv.recs[0]!.closed !== null, 'closed');
    assert.deepEqual(srv.recs[0]!.closed, { code: null, how: null });
    peer.send(peer.data(1, 'rest', Flag.END_STREAM));
    await peer.sync();
    assert.equal(srv.conns[0]!.activeStreams, 0);
  });
});

test('streams: client role, RST_STREAM(NO_ERROR) after a complete response ends it normally', async () => {
  await withClient({}, async ({ conn, peer }) => {
    const r = clientRec();
    const s = conn.request(POST(), false, r.handler);
    s.write(Buffer.from('body'));
    peer.send(peer.headers(s.id, [':status', '200']), peer.data(s.id, 'ok', Flag.END_STREAM), frame(FrameType.RST_STREAM, 0, s.id, u32(0)));
    await waitFor(() => r.closed !== null, 'closed');
    assert.equal(r.ended, true);
    assert.equal(Buffer.concat(r.data).toString(), 'ok');
    assert.deepEqual(r.closed, { code: null, how: null });
    assert.equal(conn.activeStreams, 0);
  });
});

// ================================================================ 5. flow control

test('flow control: a response beyond the windows is held and resumes on WINDOW_UPDATE (stream and connection)', async () => {
  await withServer({}, async ({ peer }) => {
    peer.send(peer.headers(1, GET('/size/100000'), Flag.END_STREAM));
    await peer.wait(() => (peer.dataBytes(1) === 65535 ? true : undefined), 'a window of data');
    await peer.sync();
    assert.equal(peer.dataBytes(1), 65535);
    // Stream window only: the connection window is still closed.
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(50000)));
    await peer.sync();
    assert.equal(peer.dataBytes(1), 65535);
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(10000)));
    await peer.wait(() => (peer.dataBytes(1) === 75535 ? true : undefined), 'the connection window');
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(100000)));
    const res = await peer.response(1);
    assert.equal(res.body.length, 100000);
  });
});

test('flow control: WINDOW_UPDATE overflow and increments of 0', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, GET('/hold')), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff - 65535 + 1)));
    assert.equal(await peer.rst(1), ErrorCode.FLOW_CONTROL_ERROR);
    peer.send(peer.headers(3, GET('/hold')), frame(FrameType.WINDOW_UPDATE, 0, 3, u32(0)));
    assert.equal(await peer.rst(3), ErrorCode.PROTOCOL_ERROR);
    // Up to exactly 2^31-1 is fine.
    peer.send(peer.headers(5, GET('/size/10'), Flag.END_STREAM), frame(FrameType.WINDOW_UPDATE, 0, 5, u32(0x7fffffff - 65535)));
    await peer.response(5);
    assert.equal(srv.conns[0]!.destroyed, false);
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535 + 10 + 1)));
    await peer.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
  });
  await withServer({}, async ({ peer }) => {
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
  await withServer({}, async ({ peer }) => {
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(5)));
    await peer.connectionError(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test('flow control: before our SETTINGS is ACKed the peer may use the default window of 65,535', async () => {
  const srv = await startServer({ initialWindowSize: 1000 });
  try {
    const { peer } = await rawClient(srv.port, { handshake: false });
    // All in one write, as a client does that has not read our SETTINGS yet.
    peer.send(PREFACE, settings(), peer.headers(1, POST()), peer.data(1, Buffer.alloc(5000, 'w'), Flag.END_STREAM));
    const res = await peer.response(1);
    assert.equal(res.body.length, 5000);
  } finally {
    await srv.close();
  }
});

test('flow control: a peer sending beyond the stream window gets FLOW_CONTROL_ERROR', async () => {
  await withServer({ initialWindowSize: 65535 }, async ({ peer, srv }) => {
    // A paused stream acknowledges nothing once a window is held: the window runs out.
    peer.send(peer.headers(1, POST('/pause')));
    let window = 65535;
    let sent = 0;
    const credited = (): number =>
      peer.frames.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 1).reduce((a, f) => a + f.payload.readUInt32BE(0), 0);
    for (let round = 0; round < 10 && window > 0; round++) {
      while (window > 0) {
        const n = Math.min(window, 16384);
        peer.send(peer.data(1, Buffer.alloc(n, 'p')));
        window -= n;
        sent += n;
      }
      await peer.sync();
      window = 65535 + credited() - sent;
    }
    assert.equal(window, 0);
    const held = srv.recs[0]!.data.length;
    assert.equal(held, 0, 'nothing delivered while paused');
    peer.send(peer.data(1, 'x'));
    assert.equal(await peer.rst(1), ErrorCode.FLOW_CONTROL_ERROR);
    assert.deepEqual(srv.recs[0]!.closed, { code: ErrorCode.FLOW_CONTROL_ERROR, how: 'protocol' });
  });
});

test('flow control: a paused stream stops acknowledging after about a window, and acknowledges again once resumed', async () => {
  await withServer({ initialWindowSize: 65535 }, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/pause')));
    const credited = (): number =>
      peer.frames.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 1).reduce((a, f) => a + f.payload.readUInt32BE(0), 0);
    let sent = 0;
    for (let round = 0; round < 10; round++) {
      const window = 65535 + credited() - sent;
      if (window === 0) break;
      for (let left = window; left > 0;) {
        const n = Math.min(left, 16384);
        peer.send(peer.data(1, Buffer.alloc(n, 'p')));
        left -= n;
        sent += n;
      }
      await peer.sync();
    }
    assert.equal(65535 + credited() - sent, 0, 'the peer is held back');
    assert.ok(sent >= 65535 && sent <= 3 * 65535, `held ${sent}`);
    const r = srv.recs[0]!;
    assert.equal(r.data.length, 0);
    r.s.resume();
    assert.equal(Buffer.concat(r.data).length, sent);
    await peer.wait(() => (65535 + credited() - sent > 0 ? true : undefined), 'WINDOW_UPDATE after resume');
    peer.send(peer.data(1, 'end', Flag.END_STREAM));
    await waitFor(() => r.ended, 'end');
  });
});

test('flow control: padding counts toward both windows', async () => {
  await withServer({ initialWindowSize: 65535, connectionWindowSize: 65535 }, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/hold')));
    // 200 frames of 1 data byte + 255 padding + the pad length byte: 257 flow-controlled bytes each.
    const one = frame(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([255]), Buffer.from('d'), Buffer.alloc(255)]));
    for (let i = 0; i < 200; i++) peer.send(one);
    await peer.sync();
    assert.equal(Buffer.concat(srv.recs[0]!.data).length, 200);
    const sum = (id: number): number =>
      peer.frames.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === id).reduce((a, f) => a + f.payload.readUInt32BE(0), 0);
    // Both are acknowledged from half a window on: 200 * 257 = 51400 bytes were consumed.
    assert.ok(sum(0) >= 32768 && sum(0) <= 51400, `connection credited ${sum(0)}`);
    assert.ok(sum(1) >= 32768 && sum(1) <= 51400, `stream credited ${sum(1)}`);
    // The window did not close: 51400 bytes were more than 65535 - 51400 left if padding were free.
    peer.send(peer.data(1, Buffer.alloc(16384)), peer.data(1, Buffer.alloc(16384), Flag.END_STREAM));
    await waitFor(() => srv.recs[0]!.ended, 'end');
    // Padding beyond the payload is a connection error.
    peer.send(peer.headers(3, POST('/hold')), frame(FrameType.DATA, Flag.PADDED, 3, Buffer.from([6, 1, 2, 3, 4, 5])));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
});

test('flow control: client role, the request body waits for the server window', async () => {
  await withClient(
    {},
    async ({ conn, peer }) => {
      const r = clientRec();
      const s = conn.request(POST(), false, r.handler);
      s.write(Buffer.alloc(3000, 'q'));
      s.end();
      await peer.wait(() => (peer.dataBytes(s.id) === 1000 ? true : undefined), '1000 bytes');
      await peer.sync();
      assert.equal(peer.dataBytes(s.id), 1000);
      peer.send(frame(FrameType.WINDOW_UPDATE, 0, s.id, u32(5000)));
      await peer.take((f) => f.type === FrameType.DATA && f.stream === s.id && (f.flags & Flag.END_STREAM) !== 0, 'END_STREAM');
      assert.equal(peer.dataBytes(s.id), 3000);
    },
    [Setting.INITIAL_WINDOW_SIZE, 1000],
  );
});

// ================================================================ 6. PING, GOAWAY, close

test('PING: answered with ACK and the same payload; malformed PINGs are connection errors', async () => {
  await withServer({}, async ({ peer }) => {
    const payload = Buffer.from('abcdefgh');
    peer.send(frame(FrameType.PING, 0, 0, payload));
    const ack = await peer.take((f) => f.type === FrameType.PING, 'PING ACK');
    assert.equal(ack.flags, Flag.ACK);
    assert.deepEqual(ack.payload, payload);
    // An unsolicited ACK is ignored.
    peer.send(frame(FrameType.PING, Flag.ACK, 0, payload));
    await peer.sync();
    peer.send(frame(FrameType.PING, 0, 0, Buffer.alloc(7)));
    await peer.connectionError(ErrorCode.FRAME_SIZE_ERROR);
  });
  await withServer({}, async ({ peer }) => {
    peer.send(frame(FrameType.PING, 0, 1, Buffer.alloc(8)));
    await peer.connectionError(ErrorCode.PROTOCOL_ERROR);
  });
});

test('PING: ping(cb) runs cb on its own ACK, not on an unsolicited one', async () => {
  await withClient({}, async ({ conn, peer }) => {
    let acked = 0;
    conn.ping(() => acked++);
    const p = await peer.take((f) => f.type === FrameType.PING && !(f.flags & Flag.ACK), 'PING');
    assert.equal(acked, 0);
    // An ACK of some other payload is not ours.
    peer.send(frame(FrameType.PING, Flag.ACK, 0, Buffer.from('12345678')));
    await peer.sync();
    assert.equal(acked, 0);
    peer.send(frame(FrameType.PING, Flag.ACK, 0, p.payload));
    await waitFor(() => acked === 1, 'cb');
    conn.ping(() => acked++);
    conn.ping(() => acked++);
    const p2 = await peer.take((f) => f.type === FrameType.PING && !(f.flags & Flag.ACK), 'PING 2');
    const p3 = await peer.take((f) => f.type === FrameType.PING && !(f.flags & Flag.ACK), 'PING 3');
    assert.notDeepEqual(p2.payload, p3.payload);
    peer.send(frame(FrameType.PING, Flag.ACK, 0, p2.payload), frame(FrameType.PING, Flag.ACK, 0, p3.payload));
    await waitFor(() => acked === 3, 'cbs');
  });
});

test('GOAWAY from the server: streams above last-stream-id are refused, lower ones complete, then the connection closes', async () => {
  await withClient({}, async ({ conn, peer, closed }) => {
    const recs = [clientRec(), clientRec(), clientRec()];
    const ss = recs.map((r) => conn.request(GET(), true, r.handler));
    assert.deepEqual(
      ss.map((s) => s.id),
      [1, 3, 5],
    );
    await peer.take((f) => f.type === FrameType.HEADERS && f.stream === 5, 'requests');
    let goaway: number[] = [];
    conn.events.onGoaway = (last, code) => (goaway = [last, code]);
    peer.send(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(3), u32(0)])));
    await waitFor(() => recs[2]!.closed !== null, 'stream 5 refused');
    assert.deepEqual(recs[2]!.closed, { code: ErrorCode.REFUSED_STREAM, how: 'refused' });
    assert.deepEqual(goaway, [3, 0]);
    assert.equal(conn.canRequest, false);
    peer.send(peer.headers(1, [':status', '200'], Flag.END_STREAM));
    await waitFor(() => recs[0]!.closed !== null, 'stream 1');
    assert.equal(conn.destroyed, false);
    peer.send(peer.headers(3, [':status', '204'], Flag.END_STREAM));
    await waitFor(() => recs[1]!.closed !== null, 'stream 3');
    assert.deepEqual(recs[1]!.closed, { code: null, how: null });
    await peer.waitClosed();
    await closed;
  });
});

test('close(): GOAWAY with the last stream id, open streams finish, new ones are ignored, then the socket ends', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST()), peer.data(1, 'x'));
    await waitFor(() => srv.recs.length === 1, 'stream');
    srv.conns[0]!.close();
    const g = await peer.goaway();
    assert.deepEqual(g, { last: 1, code: 0 });
    peer.send(peer.headers(3, GET(), Flag.END_STREAM));
    await peer.sync();
    assert.equal(peer.closed, false);
    peer.send(peer.data(1, 'y', Flag.END_STREAM));
    assert.equal((await peer.response(1)).body.toString(), 'xy');
    await peer.waitClosed();
    assert.equal(srv.recs.length, 1);
  });
});

test('destroy(): every open stream closes with how "connection"', async () => {
  await withServer({}, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/hold')), peer.headers(3, POST('/hold')));
    await waitFor(() => srv.recs.length === 2, 'streams');
    srv.conns[0]!.destroy(ErrorCode.INTERNAL_ERROR);
    assert.deepEqual(
      srv.recs.map((r) => r.closed?.how),
      ['connection', 'connection'],
    );
    assert.equal(srv.conns[0]!.activeStreams, 0);
    await peer.connectionError(ErrorCode.INTERNAL_ERROR);
  });
});

test('idle timeout: fires only with no stream open', async () => {
  await withServer({ idleTimeoutMs: 150 }, async ({ peer, srv }) => {
    peer.send(peer.headers(1, POST('/hold')));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(
      peer.frames.some((f) => f.type === FrameType.GOAWAY),
      false,
    );
    srv.recs[0]!.s.reset();
    await peer.rst(1);
    const g = await peer.goaway();
    assert.deepEqual(g, { last: 1, code: 0 });
    await peer.waitClosed();
  });
});

// ================================================================ 7. interop with node:http2

const SIZES = [0, 1, 16384, 16385, 1 << 20];

function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('interop: node:http2 client, concurrent streams with bodies and trailers both ways', async () => {
  const srv = await startServer();
  const client = http2.connect(`http://127.0.0.1:${srv.port}`);
  try {
    const calls = [...SIZES, ...SIZES, ...SIZES].map(async (size, i) => {
      const req = client.request({ ':method': 'POST', ':path': '/echo' }, { waitForTrailers: true });
      req.on('wantTrailers', () => req.sendTrailers({ 'x-req': String(i) }));
      const sent = body(size, i);
      req.end(sent);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      const [trailers] = (await Promise.all([once(req, 'trailers'), once(req, 'end')]))[0] as [http2.IncomingHttpHeaders];
      assert.ok(Buffer.concat(chunks).equals(sent), `body of ${size}`);
      assert.equal(trailers['x-echo-trailers'], `x-req,${i}`);
    });
    await Promise.race([Promise.all(calls), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20_000))]);
    await waitFor(() => srv.conns[0]!.activeStreams === 0, 'streams closed');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('interop: our client against node:http2, concurrent streams with bodies and trailers both ways', async () => {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    let reqTrailer = '';
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => (reqTrailer = String(t['x-req-trailer'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-got': `${String(headers['x-i'])},${reqTrailer}` }));
      stream.end(Buffer.concat(chunks));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const conn = new H2Connection(socket, { role: 'client' });
  try {
    await waitFor(() => conn.remoteSettingsReceived, 'server SETTINGS');
    const calls = [...SIZES, ...SIZES, ...SIZES].map(async (size, i) => {
      const r = clientRec();
      const sent = body(size, i);
      let resolve!: () => void;
      const done = new Promise<void>((res) => (resolve = res));
      const onClose = r.handler.onClose;
      r.handler.onClose = (s, code, how) => {
        onClose(s, code, how);
        resolve();
      };
      let writable: (() => void) | null = null;
      r.handler.onWritable = () => writable?.();
      const s = conn.request([...POST(), 'x-i', String(i)], false, r.handler);
      for (let off = 0; off < sent.length; off += 65536) {
        if (!s.write(sent.subarray(off, off + 65536))) await new Promise<void>((res) => (writable = res));
      }
      s.end(['x-req-trailer', 'yes']);
      await done;
      assert.deepEqual(r.closed, { code: null, how: null });
      assert.equal(r.headers?.[1], '200');
      assert.ok(Buffer.concat(r.data).equals(sent), `body of ${size}`);
      assert.equal(r.trailers?.[0], 'x-got');
      assert.equal(r.trailers?.[1], `${i},yes`);
    });
    await Promise.race([Promise.all(calls), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20_000))]);
    assert.equal(conn.activeStreams, 0);
  } finally {
    conn.destroy();
    server.close();
  }
});

test('interop: a node:http2 client cancelling streams mid-body', async () => {
  const srv = await startServer();
  const client = http2.connect(`http://127.0.0.1:${srv.port}`);
  try {
    // Cancelling a large response mid-way.
    const req = client.request({ ':path': '/size/4000000' });
    req.end();
    await once(req, 'data');
    req.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => srv.recs[0]?.closed !== null && srv.recs[0] !== undefined, 'server saw the cancel');
    assert.deepEqual(srv.recs[0]!.closed, { code: ErrorCode.CANCEL, how: 'remote' });
    // Cancelling mid-upload.
    const up = client.request({ ':method': 'POST', ':path': '/echo' });
    up.write(Buffer.alloc(100_000));
    await waitFor(() => (srv.recs[1]?.data.length ?? 0) > 0, 'upload started');
    up.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => srv.recs[1]!.closed !== null, 'server saw the upload cancel');
    assert.equal(srv.recs[1]!.closed!.how, 'remote');
    assert.equal(srv.conns[0]!.activeStreams, 0);
    // The connection still serves.
    const ok = client.request({ ':path': '/size/10' });
    ok.end();
    const chunks: Buffer[] = [];
    ok.on('data', (c: Buffer) => chunks.push(c));
    await once(ok, 'end');
    assert.equal(Buffer.concat(chunks).length, 10);
  } finally {
    client.destroy();
    await srv.close();
  }
});

// ================================================================ 8. abuse

async function floodUnread(make: () => Buffer, srv: Server, peer: Peer, limit: number): Promise<number> {
  // The peer never reads: our replies pile up unless the connection stops them.
  peer.socket.pause();
  const batch = Buffer.concat(Array.from({ length: 2000 }, make));
  let sent = 0;
  while (!srv.conns[0]!.destroyed && !peer.closed && sent < limit) {
    const ok = peer.socket.write(batch);
    sent += batch.length;
    if (!ok) await Promise.race([once(peer.socket, 'drain'), once(peer.socket, 'close'), new Promise((r) => setTimeout(r, 1000))]);
    else await new Promise((r) => setImmediate(r));
  }
  return sent;
}

test('abuse: a PING flood from a peer that never reads closes the connection (ENHANCE_YOUR_CALM)', async () => {
  await withServer({}, async ({ peer, srv }) => {
    const counts: string[] = [];
    srv.conns[0]!.events.onCount = (w) => counts.push(w);
    const sent = await floodUnread(() => frame(FrameType.PING, 0, 0, Buffer.alloc(8)), srv, peer, 128 << 20);
    assert.equal(srv.conns[0]!.destroyed, true, `still open after ${sent} bytes of PING`);
    assert.ok(srv.conns[0]!.socket.writableLength < 1 << 20, `queued ${srv.conns[0]!.socket.writableLength}`);
    assert.ok(counts.includes('protocol_error'));
    // What was queued still arrives, GOAWAY last.
    peer.socket.resume();
    assert.equal((await peer.goaway(10_000)).code, ErrorCode.ENHANCE_YOUR_CALM);
  });
});

test('abuse: a SETTINGS flood from a peer that never reads closes the connection', async () => {
  await withServer({}, async ({ peer, srv }) => {
    const sent = await floodUnread(() => settings(), srv, peer, 128 << 20);
    assert.equal(srv.conns[0]!.destroyed, true, `still open after ${sent} bytes of SETTINGS`);
  });
});

test('abuse: a rapid-reset flood leaks no stream', async () => {
  await withServer({ maxConcurrentStreams: 100 }, async ({ peer, srv }) => {
    let id = 1;
    for (let round = 0; round < 10; round++) {
      const bufs: Buffer[] = [];
      for (let i = 0; i < 500; i++, id += 2)
        bufs.push(peer.headers(id, POST('/hold')), frame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
      peer.send(...bufs);
      await peer.sync();
    }
    const conn = srv.conns[0]!;
    assert.equal(conn.destroyed, false);
    assert.equal(conn.activeStreams, 0);
    assert.equal(srv.recs.length, 5000);
    assert.ok(srv.recs.every((r) => r.closed?.how === 'remote'));
    peer.send(peer.headers(id, GET(), Flag.END_STREAM));
    await peer.response(id);
  });
});
