import type net from 'node:net';
import { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
import {
  CONNECTION_SPECIFIC,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FrameType,
  H2ConnectionError,
  MAX_WINDOW,
  PREFACE,
  Setting,
} from './frame.js';

/**
 * legate's own HTTP/2 connection (RFC 9113), for both ends of the proxy. node:http2 builds a
 * Duplex, an AsyncResource and a header object per stream; a proxied gRPC call paid that twice.
 * Here a stream is one small object, frames are parsed straight from the socket's buffers, every
 * frame produced in one event-loop turn leaves in one write, and events go to a handler object
 * instead of emitters.
 */

export type H2Role = 'client' | 'server';

export type H2Options = {
  role: H2Role;
  /** Server: SETTINGS_MAX_CONCURRENT_STREAMS advertised and enforced (0 = unlimited). */
  maxConcurrentStreams?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window. */
  initialWindowSize?: number;
  /** The connection's receive window (raised by a WINDOW_UPDATE at start when above 65,535). */
  connectionWindowSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, advertised and enforced (bytes, RFC 7541 sizes). */
  maxHeaderListSize?: number;
  /** Header fields per block beyond which a stream is reset (ENHANCE_YOUR_CALM). */
  maxHeaderCount?: number;
  /** Close the connection after this long with no stream open (0 = never). */
  idleTimeoutMs?: number;
};

export interface H2StreamHandler {
  /** Client: response headers (final, status >= 200). */
  onHeaders(s: H2Stream, headers: string[], endStream: boolean): void;
  onData(s: H2Stream, chunk: Buffer): void;
  /** Trailers: the peer's last HEADERS; `onEnd` follows. */
  onTrailers(s: H2Stream, trailers: string[]): void;
  /** The peer ended its side (END_STREAM). */
  onEnd(s: H2Stream): void;
  /** The stream can take more data after `write` returned false. */
  onWritable(s: H2Stream): void;
  /**
   * The stream is over. `code` is null when both sides ended normally; otherwise the RST_STREAM
   * code, with `how`: 'remote' (the peer reset it), 'local' (we did), 'refused' (refused by a
   * GOAWAY or REFUSED_STREAM before the peer processed it), 'connection' (the connection went away),
   * 'protocol' (the peer's frames or headers were malformed).
   */
  onClose(s: H2Stream, code: number | null, how: H2CloseHow | null): void;
}

export type H2CloseHow = 'remote' | 'local' | 'refused' | 'connection' | 'protocol';

export interface H2ConnectionEvents {
  /** Server: a new request. `headers` is the flat decoded list, validated. */
  onStream?(s: H2Stream, headers: string[], endStream: boolean): void;
  /** The peer's first SETTINGS arrived (client: the connection is ready for requests). */
  onRemoteSettings?(): void;
  /** The peer sent GOAWAY: no new streams. */
  onGoaway?(lastStreamId: number, code: number): void;
  /** The connection closed; every stream was closed before this. */
  onClose?(): void;
  /** The stream count dropped (a slot may be free). */
  onStreamClosed?(s: H2Stream): void;
  /** Counters: a stream reset received or sent, a protocol error, idle timeout. */
  onCount?(what: H2Count): void;
}

/**
 * What a connection counts: resets received and sent, connection-level protocol errors, malformed
 * requests or responses (a stream error), header limits, control-frame floods, idle closes.
 */
export type H2Count =
  'rx_reset' | 'tx_reset' | 'protocol_error' | 'messaging_error' | 'idle_timeout' | 'header_overflow' | 'refused' | 'control_flood';

const HIGH_WATER = 64 * 1024;
/** Bytes a connection's paused streams may hold before its connection window stops reopening. */
const HELD_LIMIT = 8 * 1024 * 1024;
/**
 * Replies the peer's frames call for (PING and SETTINGS ACKs, resets) queued while the socket still
 * holds unsent bytes: beyond this the peer is not reading them (nghttp2 stops at 1000 too).
 */
const MAX_UNREAD_REPLIES = 1000;
/** Socket bytes queued beyond which writers are told to wait. */
const SOCKET_HIGH_WATER = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const NOOP_HANDLER: H2StreamHandler = {
  onHeaders() {},
  onData() {},
  onTrailers() {},
  onEnd() {},
  onWritable() {},
  onClose() {},
};

/** Pending outbound frames: parallel arrays, encoded into one buffer per flush. */
type OutFrame = { type: number; flags: number; stream: number; payload: Buffer };

export class H2Stream {
  readonly id: number;
  readonly conn: H2Connection;
  handler: H2StreamHandler = NOOP_HANDLER;
  /** Opaque slot for the owner (avoids a side map). */
  owner: unknown = null;
  /** We sent (or queued) END_STREAM. */
  localEnded = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  closed = false;
  /** Client: final response headers arrived. Server: always true. */
  headersReceived = false;
  /** Server: a response HEADERS was sent. */
  headersSent = false;
  /** Client: the request was HEAD (no response body expected). */
  isHead = false;
  sendWindow: number;
  /** Bytes consumed since our last WINDOW_UPDATE for this stream. */
  recvUnacked = 0;
  /** Bytes the peer may still send before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** content-length the peer declared, -1 if none; bytes received so far. */
  expectLength = -1;
  receivedLength = 0;
  /** Outbound DATA waiting for window, and what follows it. */
  queue: Buffer[] | null = null;
  queuedBytes = 0;
  /** END_STREAM (true) or trailers waiting behind queued data. */
  pendingEnd: true | string[] | null = null;
  needDrain = false;
  paused = false;
  /** Data received while paused, its size, and the part of it not yet acknowledged. */
  inbox: Buffer[] | null = null;
  inboxBytes = 0;
  heldUnacked = 0;
  inboxEnd = false;
  /** deliverInbox is running: a resume() from inside the handler lets that loop go on. */
  delivering = false;
  /** Trailers held behind the paused data they followed. */
  inboxTrailers: string[] | null = null;
  rstCode: number | null = null;

  constructor(id: number, conn: H2Connection, sendWindow: number, recvWindow: number) {
    this.id = id;
    this.conn = conn;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Server: the response headers (`:status` first). */
  respond(headers: string[], endStream: boolean): void {
    this.conn.sendHeaders(this, headers, endStream);
  }

  /** false: buffered beyond the high-water mark; `onWritable` follows. */
  write(chunk: Buffer): boolean {
    return this.conn.writeData(this, chunk);
  }

  /** Ends our side, with trailers when given. */
  end(trailers: string[] | null = null): void {
    this.conn.endStream(this, trailers);
  }

  /** RST_STREAM with `code` (default CANCEL). */
  reset(code: number = ErrorCode.CANCEL): void {
    this.conn.resetStream(this, code, 'local');
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.deliverInbox(this);
  }
}

export class H2Connection {
  readonly socket: net.Socket;
  readonly role: H2Role;
  events: H2ConnectionEvents;
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  readonly #streams = new Map<number, H2Stream>();
  #nextStreamId: number;
  #lastPeerStreamId = 0;
  /**
   * Server: peer streams we closed before the peer ended them, whose trailers may still come; other
   * HEADERS at or below #lastPeerStreamId are a stream id going backwards. Bounded: past the bound,
   * ids up to #lenientBelow are let through as before.
   */
  readonly #closedEarly = new Set<number>();
  #lenientBelow = 0;
  // Our settings.
  readonly #maxConcurrent: number;
  readonly #initialWindow: number;
  readonly #connWindow: number;
  readonly #maxHeaderListSize: number;
  readonly #maxHeaderCount: number;
  // The peer's settings.
  remoteMaxConcurrent = 0xffffffff;
  #remoteInitialWindow = DEFAULT_WINDOW;
  #remoteMaxFrame = DEFAULT_MAX_FRAME;
  remoteSettingsReceived = false;
  /** The peer ACKed our SETTINGS: until then it may use the default stream window (RFC 9113 6.9.2). */
  #settingsAcked = false;
  // Connection flow control.
  #sendWindow = DEFAULT_WINDOW;
  #recvUnacked = 0;
  /** Bytes received and held by paused streams, not yet read. */
  #held = 0;
  /** Streams with DATA waiting for window. */
  readonly #blocked = new Set<H2Stream>();
  // Reading.
  /** Bytes of an incomplete frame, and how many are needed before parsing can go on. */
  #rest: Buffer[] | null = null;
  #restBytes = 0;
  #need = 9;
  #prefaceLeft: number;
  #hdrStream = 0;
  #hdrFlags = 0;
  #hdrParts: Buffer[] | null = null;
  #hdrBytes = 0;
  // Writing.
  #out: OutFrame[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #needSocketDrain = false;
  #unreadReplies = 0;
  // Lifecycle.
  #goawaySent = false;
  goawayReceived = false;
  #closing = false;
  destroyed = false;
  activeStreams = 0;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | null = null;
  #pings: (() => void)[] = [];
  /** Our PINGs carry their number: only the ACK of the oldest unanswered one runs a callback. */
  #pingSent = 0;
  #pingAcked = 0;

  constructor(socket: net.Socket, opts: H2Options, events: H2ConnectionEvents = {}) {
    this.socket = socket;
    this.role = opts.role;
    this.events = events;
    this.#nextStreamId = opts.role === 'client' ? 1 : 2;
    this.#maxConcurrent = opts.maxConcurrentStreams && opts.maxConcurrentStreams > 0 ? opts.maxConcurrentStreams : 0xffffffff;
    this.#initialWindow = Math.min(opts.initialWindowSize ?? 1 << 20, MAX_WINDOW);
    this.#connWindow = Math.min(Math.max(opts.connectionWindowSize ?? 1 << 20, DEFAULT_WINDOW), MAX_WINDOW);
    this.#maxHeaderListSize = opts.maxHeaderListSize ?? 64 * 1024;
    this.#maxHeaderCount = opts.maxHeaderCount ?? 0xffffffff;
    this.#idleMs = opts.idleTimeoutMs ?? 0;
    this.#decoder = new HpackDecoder(4096);
    this.#prefaceLeft = opts.role === 'server' ? PREFACE.length : 0;

    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#onSocketClose());
    socket.on('error', () => {});
    socket.on('drain', () => this.#onSocketDrain());

    // Our preface: the client magic, then SETTINGS, then the connection window.
    if (opts.role === 'client') this.#queueRaw(PREFACE);
    const settings: number[] = [Setting.ENABLE_PUSH, 0, Setting.INITIAL_WINDOW_SIZE, this.#initialWindow];
    if (opts.role === 'server' && this.#maxConcurrent !== 0xffffffff) settings.push(Setting.MAX_CONCURRENT_STREAMS, this.#maxConcurrent);
    settings.push(Setting.MAX_HEADER_LIST_SIZE, this.#maxHeaderListSize);
    const p = Buffer.allocUnsafe(settings.length * 3);
    for (let i = 0; i < settings.length; i += 2) {
      p.writeUInt16BE(settings[i]!, i * 3);
      p.writeUInt32BE(settings[i + 1]!, i * 3 + 2);
    }
    this.#queue(FrameType.SETTINGS, 0, 0, p);
    if (this.#connWindow > DEFAULT_WINDOW) this.#queueWindowUpdate(0, this.#connWindow - DEFAULT_WINDOW);
    this.#armIdle();
  }

  get closing(): boolean {
    return this.#closing || this.#goawaySent || this.goawayReceived;
  }

  /** Client: whether a new stream may be opened now. */
  get canRequest(): boolean {
    return !this.destroyed && !this.closing && this.activeStreams < this.remoteMaxConcurrent;
  }

  // ---------------------------------------------------------------- streams (client side)

  /** Client: opens a stream with the request headers (pseudo-headers first). */
  request(headers: string[], endStream: boolean, handler: H2StreamHandler, isHead = false): H2Stream {
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const s = new H2Stream(id, this, this.#remoteInitialWindow, this.#streamRecvWindow());
    s.handler = handler;
    s.isHead = isHead;
    this.#streams.set(id, s);
    this.#streamOpened();
    this.#queueHeaders(id, headers, endStream);
    s.headersSent = true;
    if (endStream) s.localEnded = true;
    return s;
  }

  sendHeaders(s: H2Stream, headers: string[], endStream: boolean): void {
    if (s.closed || s.localEnded) return;
    this.#queueHeaders(s.id, headers, endStream);
    s.headersSent = true;
    if (endStream) this.#localEnd(s);
  }

  writeData(s: H2Stream, chunk: Buffer): boolean {
    if (s.closed || s.localEnded || this.destroyed) return true;
    if (chunk.length === 0) return true;
    if (s.queue === null) {
      const n = Math.min(chunk.length, s.sendWindow, this.#sendWindow);
      if (n > 0) {
        this.#sendData(s, n === chunk.length ? chunk : chunk.subarray(0, n), 0);
        if (n === chunk.length) return !this.#needSocketDrainNow(s);
        chunk = chunk.subarray(n);
      }
      s.queue = [];
    }
    s.queue.push(chunk);
    s.queuedBytes += chunk.length;
    this.#blocked.add(s);
    if (s.queuedBytes >= HIGH_WATER) {
      s.needDrain = true;
      return false;
    }
    return true;
  }

  endStream(s: H2Stream, trailers: string[] | null): void {
    if (s.closed || s.localEnded) return;
    if (s.queue !== null) {
      s.pendingEnd = trailers ?? true;
      s.localEnded = true;
      return;
    }
    if (trailers && trailers.length > 0) this.#queueHeaders(s.id, trailers, true);
    else this.#queue(FrameType.DATA, Flag.END_STREAM, s.id, EMPTY);
    this.#localEnd(s);
  }

  resetStream(s: H2Stream, code: number, how: H2CloseHow): void {
    if (s.closed) return;
    if (!this.destroyed) {
      if (how === 'protocol') this.#countReply();
      const p = Buffer.allocUnsafe(4);
      p.writeUInt32BE(code, 0);
      this.#queue(FrameType.RST_STREAM, 0, s.id, p);
      this.events.onCount?.('tx_reset');
    }
    this.#closeStream(s, code, how);
  }

  deliverInbox(s: H2Stream): void {
    // Re-entered (pause then resume inside onData): the outer loop delivers the rest, in order.
    if (s.delivering) return;
    const box = s.inbox;
    s.inbox = null;
    if (box) {
      s.delivering = true;
      try {
        for (let i = 0; i < box.length; i++) {
          if (s.closed) return;
          const c = box[i]!;
          s.inboxBytes -= c.length;
          this.#held -= c.length;
          s.handler.onData(s, c);
          if (s.paused) {
            // Paused again by the handler: keep the rest.
            s.inbox = box.slice(i + 1);
            break;
          }
        }
      } finally {
        s.delivering = false;
      }
    }
    this.#ackConnection();
    if (s.heldUnacked > 0 && s.inboxBytes <= this.#initialWindow && !s.closed) {
      const n = s.heldUnacked;
      s.heldUnacked = 0;
      this.#consumed(s, n);
    }
    if (s.paused) return;
    if (s.inboxEnd && !s.closed) {
      s.inboxEnd = false;
      const t = s.inboxTrailers;
      if (t !== null) {
        s.inboxTrailers = null;
        s.handler.onTrailers(s, t);
        if (s.closed) return;
      }
      this.#remoteEnd(s);
    }
  }

  // ---------------------------------------------------------------- connection control

  /** Sends a PING; `cb` runs on its ACK. */
  ping(cb: () => void): void {
    this.#pings.push(cb);
    const p = Buffer.alloc(8);
    p.writeUInt32BE(++this.#pingSent >>> 0, 4);
    this.#queue(FrameType.PING, 0, 0, p);
  }

  /** Graceful close: GOAWAY, finish open streams, then close the socket. */
  close(code: number = ErrorCode.NO_ERROR): void {
    if (this.destroyed) return;
    this.#closing = true;
    if (!this.#goawaySent) this.#sendGoaway(code);
    if (this.activeStreams === 0) this.#endSocket();
  }

  /** Immediate close: every open stream is closed as a connection loss. */
  destroy(code?: number): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#clearIdle();
    this.#closeAll('connection');
    if (code !== undefined && !this.#goawaySent && !this.socket.destroyed) {
      // Tell the peer why, then close once that is written.
      this.#sendGoaway(code);
      this.#flush();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else this.socket.destroy();
  }

  // ---------------------------------------------------------------- reading

  #onData(chunk: Buffer): void {
    if (this.destroyed) return;
    let buf = chunk;
    if (this.#rest !== null) {
      // Gather until the frame is whole: joining on every read would be quadratic in a frame sent byte by byte.
      this.#rest.push(chunk);
      this.#restBytes += chunk.length;
      if (this.#restBytes < this.#need) return;
      buf = Buffer.concat(this.#rest, this.#restBytes);
      this.#rest = null;
    }
    let off = 0;
    if (this.#prefaceLeft > 0) {
      const start = PREFACE.length - this.#prefaceLeft;
      const n = Math.min(this.#prefaceLeft, buf.length);
      if (buf.compare(PREFACE, start, start + n, 0, n) !== 0) {
        this.destroy(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.#prefaceLeft -= n;
      off = n;
    }
    const len = buf.length;
    try {
      while (len - off >= 9) {
        const size = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
        if (size > DEFAULT_MAX_FRAME) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${size} bytes`);
        const end = off + 9 + size;
        if (end > len) {
          this.#need = end - off;
          break;
        }
        const type = buf[off + 3]!;
        const flags = buf[off + 4]!;
        const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
        this.#frame(type, flags, id, buf, off + 9, end);
        off = end;
        if (this.destroyed) return;
      }
    } catch (e) {
      if (e instanceof H2ConnectionError) {
        this.events.onCount?.('protocol_error');
        this.destroy(e.code);
        return;
      }
      // A bug in a handler must not take the process down: this connection ends, the rest go on.
      process.emitWarning(`HTTP/2 connection closed after an internal error: ${(e as Error)?.stack ?? String(e)}`);
      this.destroy(ErrorCode.INTERNAL_ERROR);
      return;
    }
    if (off < len) {
      if (len - off < 9) this.#need = 9;
      this.#rest = [off === 0 ? buf : buf.subarray(off)];
      this.#restBytes = len - off;
    }
  }

  #frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.#hdrParts !== null && type !== FrameType.CONTINUATION)
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    // The peer's preface ends with its SETTINGS: any other first frame is an invalid preface (RFC 9113 3.4).
    if (!this.remoteSettingsReceived && (type !== FrameType.SETTINGS || flags & Flag.ACK))
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'first frame is not SETTINGS');
    switch (type) {
      case FrameType.DATA:
        return this.#onDataFrame(flags, id, buf, start, end);
      case FrameType.HEADERS:
        return this.#onHeadersFrame(flags, id, buf, start, end);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, id, buf, start, end);
      case FrameType.RST_STREAM:
        return this.#onRst(id, buf, start, end);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, buf, start, end);
      case FrameType.PING:
        return this.#onPing(flags, id, buf, start, end);
      case FrameType.GOAWAY:
        return this.#onGoaway(id, buf, start, end);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, buf, start, end);
      case FrameType.PRIORITY:
        if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY size');
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      default:
        return; // unknown frame types are ignored
    }
  }

  #onDataFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const frameLen = end - start;
    if (flags & Flag.PADDED) {
      if (frameLen < 1) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'DATA padding');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA padding too long');
      end -= pad;
    }
    // Connection flow control counts every DATA frame, whatever its stream's state.
    this.#recvUnacked += frameLen;
    this.#ackConnection();
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      if (flags & Flag.END_STREAM) this.#closedEarly.delete(id);
      return; // a stream we closed: its frames may still be in flight
    }
    // inboxEnd: END_STREAM arrived but is held behind paused data; the peer's side is closed all the same.
    if (s.remoteEnded || s.inboxEnd || !s.headersReceived) {
      this.resetStream(s, s.remoteEnded || s.inboxEnd ? ErrorCode.STREAM_CLOSED : ErrorCode.PROTOCOL_ERROR, 'protocol');
      return;
    }
    s.recvWindow -= frameLen;
    if (s.recvWindow < 0) {
      this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR, 'protocol');
      return;
    }
    const n = end - start;
    const held = s.paused;
    if (n > 0) {
      s.receivedLength += n;
      if (s.expectLength >= 0 && s.receivedLength > s.expectLength) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      const chunk = buf.subarray(start, end);
      if (held) {
        (s.inbox ??= []).push(chunk);
        s.inboxBytes += n;
        this.#held += n;
      } else {
        s.handler.onData(s, chunk);
        if (s.closed) return;
      }
    }
    // Held data is acknowledged at once while a window's worth or less is held, as node:http2's
    // client does: some servers (node:http2's) end a response with RST_STREAM(NO_ERROR) as soon as
    // their writes are queued, and drop what a closed window still held back.
    let consumedNow = frameLen;
    if (held && s.inboxBytes > this.#initialWindow) {
      consumedNow = frameLen - n;
      s.heldUnacked += n;
    }
    if (consumedNow > 0) this.#consumed(s, consumedNow);
    if (flags & Flag.END_STREAM) {
      if (s.expectLength >= 0 && s.receivedLength !== s.expectLength) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      if (s.paused && s.inbox !== null) s.inboxEnd = true;
      else this.#remoteEnd(s);
    }
  }

  /**
   * Connection-level WINDOW_UPDATE once half the window is used, unless the connection's paused
   * streams already hold HELD_LIMIT bytes: then the peer waits, so one connection's memory stays
   * bounded whatever its stream count.
   */
  #ackConnection(): void {
    if (this.#recvUnacked >= this.#connWindow >>> 1 && this.#held <= HELD_LIMIT) {
      this.#queueWindowUpdate(0, this.#recvUnacked);
      this.#recvUnacked = 0;
    }
  }

  #consumed(s: H2Stream, n: number): void {
    if (s.remoteEnded || s.closed) return;
    s.recvUnacked += n;
    if (s.recvUnacked >= this.#initialWindow >>> 1) {
      this.#queueWindowUpdate(s.id, s.recvUnacked);
      s.recvWindow += s.recvUnacked;
      s.recvUnacked = 0;
    }
  }

  #onHeadersFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    if (flags & Flag.PADDED) {
      if (end - start < 1) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS padding');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding too long');
      end -= pad;
    }
    if (flags & Flag.PRIORITY) {
      if (end - start < 5) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority');
      start += 5;
    }
    const fragment = buf.subarray(start, end);
    if (flags & Flag.END_HEADERS) {
      this.#onHeaderBlock(id, flags, fragment);
      return;
    }
    this.#hdrStream = id;
    this.#hdrFlags = flags;
    this.#hdrParts = [Buffer.from(fragment)];
    this.#hdrBytes = fragment.length;
  }

  #onContinuation(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    const parts = this.#hdrParts;
    if (parts === null || id !== this.#hdrStream) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    // A header block is bounded: an endless CONTINUATION stream is an attack (CVE-2024-27316).
    // Frame headers count too, or empty CONTINUATION frames would never reach the bound.
    this.#hdrBytes += 9 + end - start;
    if (this.#hdrBytes > this.#maxHeaderListSize + 65_536)
      throw new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    if (end > start) parts.push(Buffer.from(buf.subarray(start, end)));
    if (flags & Flag.END_HEADERS) {
      this.#hdrParts = null;
      this.#onHeaderBlock(id, this.#hdrFlags, Buffer.concat(parts));
    }
  }

  #onHeaderBlock(id: number, flags: number, block: Buffer): void {
    let headers: string[];
    try {
      headers = this.#decoder.decode(block);
    } catch (e) {
      if (e instanceof HpackError) throw new H2ConnectionError(ErrorCode.COMPRESSION_ERROR, e.message);
      throw e;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (this.role === 'client' || (id & 1) === 0) {
        if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on an idle stream');
        return; // a stream we reset
      }
      if (id <= this.#lastPeerStreamId) {
        if (this.#closedEarly.has(id)) {
          if (endStream) this.#closedEarly.delete(id);
          return; // trailers of a stream we closed
        }
        if (id <= this.#lenientBelow || this.#goawaySent) return;
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'stream id not above the last one (RFC 9113 5.1.1)');
      }
      this.#newPeerStream(id, headers, endStream);
      return;
    }
    if (s.remoteEnded || s.inboxEnd) {
      this.resetStream(s, ErrorCode.STREAM_CLOSED, 'protocol');
      return;
    }
    if (this.#tooLarge(headers)) {
      this.events.onCount?.('header_overflow');
      this.resetStream(s, ErrorCode.ENHANCE_YOUR_CALM, 'protocol');
      return;
    }
    if (!s.headersReceived) {
      // Client: the response headers (1xx ones are skipped).
      const status = headers[0] === ':status' ? Number(headers[1]) : NaN;
      if (!validResponse(headers) || !(status >= 100 && status <= 999)) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      if (status < 200) {
        if (endStream) this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      s.headersReceived = true;
      if (!s.isHead && status !== 204 && status !== 304) s.expectLength = contentLength(headers);
      if (s.expectLength === -2) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      if (endStream && s.expectLength > 0) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
        return;
      }
      s.handler.onHeaders(s, headers, endStream);
      if (endStream && !s.closed) this.#remoteEnd(s);
      return;
    }
    // Trailers: they end the stream and carry no pseudo-headers.
    if (!endStream || !validTrailers(headers)) {
      this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
      return;
    }
    if (s.expectLength >= 0 && s.receivedLength !== s.expectLength) {
      this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
      return;
    }
    if (s.paused && s.inbox !== null) {
      s.inboxTrailers = headers;
      s.inboxEnd = true;
      return;
    }
    s.handler.onTrailers(s, headers);
    if (!s.closed) this.#remoteEnd(s);
  }

  #newPeerStream(id: number, headers: string[], endStream: boolean): void {
    this.#lastPeerStreamId = id;
    if (this.#goawaySent) return; // past our GOAWAY: ignored, the client retries elsewhere
    const s = new H2Stream(id, this, this.#remoteInitialWindow, this.#streamRecvWindow());
    s.headersReceived = true;
    if (this.activeStreams >= this.#maxConcurrent) {
      this.events.onCount?.('refused');
      this.#rstUntracked(id, ErrorCode.REFUSED_STREAM, endStream);
      return;
    }
    if (this.#tooLarge(headers)) {
      this.events.onCount?.('header_overflow');
      this.#rstUntracked(id, ErrorCode.ENHANCE_YOUR_CALM, endStream);
      return;
    }
    const cl = validRequest(headers);
    if (cl === -2 || (endStream && cl > 0)) {
      this.events.onCount?.('messaging_error');
      this.#rstUntracked(id, ErrorCode.PROTOCOL_ERROR, endStream);
      return;
    }
    s.expectLength = cl;
    this.#streams.set(id, s);
    this.#streamOpened();
    if (endStream) s.remoteEnded = true;
    this.events.onStream?.(s, headers, endStream);
  }

  #addClosedEarly(id: number): void {
    const set = this.#closedEarly;
    set.add(id);
    if (set.size > 1000) {
      const oldest = set.values().next().value!;
      set.delete(oldest);
      if (oldest > this.#lenientBelow) this.#lenientBelow = oldest;
    }
  }

  #streamRecvWindow(): number {
    return this.#settingsAcked ? this.#initialWindow : Math.max(this.#initialWindow, DEFAULT_WINDOW);
  }

  #tooLarge(headers: string[]): boolean {
    return headers.length / 2 > this.#maxHeaderCount || this.#decoder.lastListSize > this.#maxHeaderListSize;
  }

  #rstUntracked(id: number, code: number, endStream: boolean): void {
    this.#countReply();
    if (!endStream) this.#addClosedEarly(id);
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code, 0);
    this.#queue(FrameType.RST_STREAM, 0, id, p);
    this.events.onCount?.('tx_reset');
  }

  #onRst(id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - start !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM size');
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
      this.#closedEarly.delete(id);
      return;
    }
    const code = buf.readUInt32BE(start);
    if (
      code === ErrorCode.NO_ERROR &&
      this.role === 'client' &&
      s.headersReceived &&
      (s.inboxEnd || s.remoteEnded || s.expectLength < 0 || s.receivedLength === s.expectLength)
    ) {
      // NO_ERROR: the peer is done and asks us to stop sending. node:http2 servers send it in place
      // of END_STREAM once their writes are queued; like node:http2's client, take it as the end of
      // what the peer sent (all of a declared content-length), and keep delivering what is held.
      this.#blocked.delete(s);
      s.queue = null;
      s.pendingEnd = null;
      s.localEnded = true;
      // RST_STREAM closes the stream: already ended by the peer, nothing is left to wait for.
      if (s.remoteEnded) this.#closeStream(s, null, null);
      if (s.remoteEnded || s.inboxEnd) return;
      if (s.paused && s.inbox !== null) s.inboxEnd = true;
      else this.#remoteEnd(s);
      return;
    }
    this.events.onCount?.('rx_reset');
    this.#closeStream(s, code, code === ErrorCode.REFUSED_STREAM && !s.headersReceived ? 'refused' : 'remote');
  }

  #onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (end !== start) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with payload');
      this.#settingsAcked = true;
      return;
    }
    if ((end - start) % 6 !== 0) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS size');
    for (let p = start; p < end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          this.#encoder.setPeerMaxTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          // A server may only send 0 (RFC 9113 6.5.2).
          if (value > 1 || (value === 1 && this.role === 'client'))
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1');
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.remoteMaxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          const delta = value - this.#remoteInitialWindow;
          this.#remoteInitialWindow = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window overflow');
          }
          if (delta > 0) this.#drainBlocked();
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > 0xffffff)
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
          this.#remoteMaxFrame = value;
          break;
        default:
          break; // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored
      }
    }
    this.#countReply();
    this.#queue(FrameType.SETTINGS, Flag.ACK, 0, EMPTY);
    if (!this.remoteSettingsReceived) {
      this.remoteSettingsReceived = true;
      this.events.onRemoteSettings?.();
    }
  }

  #onPing(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (end - start !== 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING size');
    if (flags & Flag.ACK) {
      // An ACK we did not ask for (or a stale one) must not count as a live peer for keepalive.
      if (this.#pings.length === 0 || buf.readUInt32BE(start) !== 0 || buf.readUInt32BE(start + 4) !== (this.#pingAcked + 1) >>> 0) return;
      this.#pingAcked++;
      this.#pings.shift()!();
      return;
    }
    this.#countReply();
    this.#queue(FrameType.PING, Flag.ACK, 0, Buffer.from(buf.subarray(start, end)));
  }

  #onGoaway(id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY size');
    const last = buf.readUInt32BE(start) & 0x7fffffff;
    const code = buf.readUInt32BE(start + 4);
    this.goawayReceived = true;
    // Our streams above the last one the peer will process were never seen: safe to retry.
    if (this.role === 'client') {
      for (const s of [...this.#streams.values()]) if (s.id > last) this.#closeStream(s, ErrorCode.REFUSED_STREAM, 'refused');
    }
    this.events.onGoaway?.(last, code);
    if (this.activeStreams === 0) this.#endSocket();
  }

  #onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
    const inc = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow');
      this.#drainBlocked();
      return;
    }
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (inc === 0) {
      this.resetStream(s, ErrorCode.PROTOCOL_ERROR, 'protocol');
      return;
    }
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR, 'protocol');
      return;
    }
    if (s.queue !== null) this.#drainStream(s);
  }

  /** A stream id never opened: frames for it (other than HEADERS/PRIORITY) are a protocol error. */
  #isIdle(id: number): boolean {
    const ownParity = this.role === 'client' ? 1 : 0;
    if ((id & 1) === ownParity) return id >= this.#nextStreamId;
    return id > this.#lastPeerStreamId;
  }

  // ---------------------------------------------------------------- writing

  #queueRaw(payload: Buffer): void {
    this.#out.push({ type: -1, flags: 0, stream: 0, payload });
    this.#outBytes += payload.length;
    this.#scheduleFlush();
  }

  #queue(type: number, flags: number, stream: number, payload: Buffer): void {
    this.#out.push({ type, flags, stream, payload });
    this.#outBytes += 9 + payload.length;
    this.#scheduleFlush();
  }

  #queueWindowUpdate(stream: number, inc: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(inc, 0);
    this.#queue(FrameType.WINDOW_UPDATE, 0, stream, p);
  }

  #queueHeaders(id: number, headers: string[], endStream: boolean): void {
    const block = this.#encoder.encode(headers);
    const max = this.#remoteMaxFrame;
    const es = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.#queue(FrameType.HEADERS, es | Flag.END_HEADERS, id, block);
      return;
    }
    this.#queue(FrameType.HEADERS, es, id, block.subarray(0, max));
    for (let off = max; off < block.length; off += max) {
      const last = off + max >= block.length;
      this.#queue(FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, id, block.subarray(off, Math.min(off + max, block.length)));
    }
  }

  /** DATA within the windows already checked; split at the peer's frame size. */
  #sendData(s: H2Stream, chunk: Buffer, flags: number): void {
    const n = chunk.length;
    s.sendWindow -= n;
    this.#sendWindow -= n;
    const max = this.#remoteMaxFrame;
    if (n <= max) {
      this.#queue(FrameType.DATA, flags, s.id, chunk);
      return;
    }
    for (let off = 0; off < n; off += max) {
      const last = off + max >= n;
      this.#queue(FrameType.DATA, last ? flags : 0, s.id, chunk.subarray(off, Math.min(off + max, n)));
    }
  }

  /** A peer that makes us reply (PING, SETTINGS, bad streams) but never reads would grow our output without bound. */
  #countReply(): void {
    if (this.socket.writableLength === 0) this.#unreadReplies = 0;
    else if (++this.#unreadReplies > MAX_UNREAD_REPLIES) {
      this.events.onCount?.('control_flood');
      throw new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'the peer does not read our replies');
    }
  }

  #needSocketDrainNow(s: H2Stream): boolean {
    if (this.#outBytes + this.socket.writableLength < SOCKET_HIGH_WATER) return false;
    s.needDrain = true;
    this.#needSocketDrain = true;
    return true;
  }

  #drainBlocked(): void {
    for (const s of this.#blocked) {
      if (this.#sendWindow <= 0) return;
      this.#drainStream(s);
    }
  }

  #drainStream(s: H2Stream): void {
    const q = s.queue;
    if (q === null) return;
    while (q.length > 0) {
      const c = q[0]!;
      const n = Math.min(c.length, s.sendWindow, this.#sendWindow);
      if (n <= 0) break;
      if (n === c.length) {
        q.shift();
        this.#sendData(s, c, 0);
      } else {
        q[0] = c.subarray(n);
        this.#sendData(s, c.subarray(0, n), 0);
      }
      s.queuedBytes -= n;
    }
    if (q.length > 0) return;
    s.queue = null;
    this.#blocked.delete(s);
    const end = s.pendingEnd;
    if (end !== null) {
      s.pendingEnd = null;
      if (end === true) this.#queue(FrameType.DATA, Flag.END_STREAM, s.id, EMPTY);
      else this.#queueHeaders(s.id, end, true);
      this.#localEnd(s);
      return;
    }
    if (s.needDrain && !s.closed) {
      s.needDrain = false;
      s.handler.onWritable(s);
    }
  }

  #onSocketDrain(): void {
    this.#unreadReplies = 0;
    if (!this.#needSocketDrain) return;
    this.#needSocketDrain = false;
    for (const s of this.#streams.values()) {
      if (s.needDrain && s.queue === null && !s.closed) {
        s.needDrain = false;
        s.handler.onWritable(s);
      }
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // One write per event-loop turn: frames from every stream (and every socket read) go together.
    setImmediate(this.#flushNow);
  }

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    const frames = this.#out;
    if (frames.length === 0 || this.socket.destroyed) {
      this.#out = [];
      this.#outBytes = 0;
      return;
    }
    this.#out = [];
    const total = this.#outBytes;
    this.#outBytes = 0;
    if (total <= 256 * 1024) {
      this.socket.write(encodeFrames(frames, total));
      return;
    }
    // Large payloads go by reference; the frame headers and small frames are packed around them.
    this.socket.cork();
    let batch: OutFrame[] = [];
    let batchBytes = 0;
    for (const f of frames) {
      if (f.payload.length >= 16 * 1024 && f.type !== -1) {
        batch.push({ type: f.type, flags: f.flags, stream: f.stream, payload: EMPTY });
        batchBytes += 9;
        const hdr = encodeFrames(batch, batchBytes);
        // Fix the length field of the header just written: it carries the real payload.
        const h = hdr.length - 9;
        const len = f.payload.length;
        hdr[h] = (len >>> 16) & 0xff;
        hdr[h + 1] = (len >>> 8) & 0xff;
        hdr[h + 2] = len & 0xff;
        this.socket.write(hdr);
        this.socket.write(f.payload);
        batch = [];
        batchBytes = 0;
      } else {
        batch.push(f);
        batchBytes += (f.type === -1 ? 0 : 9) + f.payload.length;
      }
    }
    if (batch.length > 0) this.socket.write(encodeFrames(batch, batchBytes));
    this.socket.uncork();
  }

  // ---------------------------------------------------------------- stream lifecycle

  #streamOpened(): void {
    this.activeStreams++;
    if (this.#idleTimer !== null) this.#clearIdle();
  }

  #localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (s.remoteEnded) this.#closeStream(s, null, null);
    else if (this.role === 'server' && s.headersSent) {
      // The response is complete but the request is not: stop the client sending (RFC 9113 8.1).
      const p = Buffer.allocUnsafe(4);
      p.writeUInt32BE(ErrorCode.NO_ERROR, 0);
      this.#queue(FrameType.RST_STREAM, 0, s.id, p);
      this.#closeStream(s, null, null);
    }
  }

  #remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.handler.onEnd(s);
    if (s.localEnded && s.queue === null && !s.closed) this.#closeStream(s, null, null);
  }

  #closeStream(s: H2Stream, code: number | null, how: H2CloseHow | null): void {
    if (s.closed) return;
    s.closed = true;
    if (this.role === 'server' && !s.remoteEnded && !s.inboxEnd && how !== 'remote' && how !== 'connection') this.#addClosedEarly(s.id);
    s.rstCode = code;
    this.#streams.delete(s.id);
    this.#blocked.delete(s);
    s.queue = null;
    if (s.inbox !== null) {
      this.#held -= s.inboxBytes;
      s.inbox = null;
      s.inboxBytes = 0;
      this.#ackConnection();
    }
    this.activeStreams--;
    s.handler.onClose(s, code, how);
    this.events.onStreamClosed?.(s);
    if (this.activeStreams === 0) {
      if (this.#closing || this.#goawaySent || this.goawayReceived) this.#endSocket();
      else this.#armIdle();
    }
  }

  #closeAll(how: H2CloseHow): void {
    for (const s of [...this.#streams.values()]) this.#closeStream(s, ErrorCode.CANCEL, how);
  }

  #sendGoaway(code: number): void {
    this.#goawaySent = true;
    const p = Buffer.allocUnsafe(8);
    p.writeUInt32BE(this.#lastPeerStreamId, 0);
    p.writeUInt32BE(code, 4);
    this.#queue(FrameType.GOAWAY, 0, 0, p);
  }

  #endSocket(): void {
    if (this.destroyed) return;
    if (!this.#goawaySent) this.#sendGoaway(ErrorCode.NO_ERROR);
    this.#flush();
    this.destroyed = true;
    this.#clearIdle();
    this.socket.end();
    // A peer that never closes its side would keep the socket half-open.
    const t = setTimeout(() => this.socket.destroy(), 5000);
    t.unref();
  }

  #armIdle(): void {
    if (this.#idleMs <= 0 || this.destroyed) return;
    this.#clearIdle();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.activeStreams > 0 || this.destroyed) return;
      this.events.onCount?.('idle_timeout');
      this.close();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== null) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
  }

  #onSocketClose(): void {
    this.destroyed = true;
    this.#clearIdle();
    this.#out = [];
    this.#outBytes = 0;
    this.#closeAll('connection');
    this.#pings.length = 0;
    this.events.onClose?.();
  }
}

/** Frames to one buffer (type -1: raw bytes, the client preface). */
function encodeFrames(frames: OutFrame[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const f of frames) {
    const p = f.payload;
    if (f.type !== -1) {
      const len = p.length;
      out[o] = (len >>> 16) & 0xff;
      out[o + 1] = (len >>> 8) & 0xff;
      out[o + 2] = len & 0xff;
      out[o + 3] = f.type;
      out[o + 4] = f.flags;
      out.writeUInt32BE(f.stream, o + 5);
      o += 9;
    }
    if (p.length > 0) {
      p.copy(out, o);
      o += p.length;
    }
  }
  return out;
}

// ---------------------------------------------------------------- header validation (RFC 9113 8.2, 8.3)

/** Names already checked to be valid lower-case field names (names repeat across requests). */
const GOOD_NAMES = new Set<string>();
const TOKEN = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
const BAD_VALUE = /[\0\r\n]/;

function goodName(name: string): boolean {
  if (GOOD_NAMES.has(name)) return true;
  if (!TOKEN.test(name)) return false;
  if (GOOD_NAMES.size < 4096) GOOD_NAMES.add(name);
  return true;
}

/**
 * Checks a request header list; returns its content-length (-1 when absent) or -2 when the
 * request is malformed (the stream is then reset with PROTOCOL_ERROR).
 */
function validRequest(h: string[]): number {
  let method = '';
  let scheme = false;
  let path = false;
  let authority = false;
  let regular = false;
  let cl = -1;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const value = h[i + 1]!;
    if (BAD_VALUE.test(value)) return -2;
    if (name.charCodeAt(0) === 58) {
      if (regular) return -2;
      switch (name) {
        case ':method':
          if (method !== '' || value === '') return -2;
          method = value;
          break;
        case ':scheme':
          if (scheme) return -2;
          scheme = true;
          break;
        case ':path':
          if (path || value === '') return -2;
          path = true;
          break;
        case ':authority':
          if (authority) return -2;
          authority = true;
          break;
        default:
          return -2;
      }
      continue;
    }
    regular = true;
    if (!goodName(name)) return -2;
    if (CONNECTION_SPECIFIC.has(name)) return -2;
    if (name === 'te' && value !== 'trailers') return -2;
    if (name === 'content-length') {
      const n = parseLength(value);
      if (n < 0 || (cl >= 0 && cl !== n)) return -2;
      cl = n;
    }
  }
  if (method === '') return -2;
  if (method === 'CONNECT') {
    if (scheme || path || !authority) return -2;
  } else if (!scheme || !path) return -2;
  return cl;
}

function validResponse(h: string[]): boolean {
  for (let i = 2; i < h.length; i += 2) {
    const name = h[i]!;
    if (name.charCodeAt(0) === 58 || !goodName(name) || CONNECTION_SPECIFIC.has(name) || BAD_VALUE.test(h[i + 1]!)) return false;
  }
  return true;
}

function validTrailers(h: string[]): boolean {
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (name.charCodeAt(0) === 58 || !goodName(name) || BAD_VALUE.test(h[i + 1]!)) return false;
  }
  return true;
}

/** content-length of a response: -1 absent, -2 malformed. */
function contentLength(h: string[]): number {
  let cl = -1;
  for (let i = 2; i < h.length; i += 2) {
    if (h[i] !== 'content-length') continue;
    const n = parseLength(h[i + 1]!);
    if (n < 0 || (cl >= 0 && cl !== n)) return -2;
    cl = n;
  }
  return cl;
}

function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(v);
}
