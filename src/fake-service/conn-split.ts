/**
 * One port, two servers: the first bytes of a connection decide whether it goes to the HTTP/1.1
 * server or the HTTP/2 server. fake-service splits as soheilhy/cmux's HTTP1Fast does (an HTTP/1
 * method prefix goes to HTTP, everything else, h2c preface and PATCH included, to gRPC); the echo
 * backend's h2c port splits on the HTTP/2 preface.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';

export type Route = 'http1' | 'http2';
/** Decides from the bytes seen so far, or returns undefined to wait for more. */
export type Classifier = (head: Buffer) => Route | undefined;

const CMUX_HTTP1_METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT'];

/** cmux.HTTP1Fast: HTTP/1 when the data starts with one of its methods. */
export const cmuxHttp1Fast: Classifier = (head) => {
  const text = head.subarray(0, 8).toString('latin1');
  if (CMUX_HTTP1_METHODS.some((m) => text.startsWith(m))) return 'http1';
  if (CMUX_HTTP1_METHODS.some((m) => m.startsWith(text))) return undefined;
  return 'http2';
};

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HTTP/2 with prior knowledge when the connection starts with the HTTP/2 preface. */
export const h2cPreface: Classifier = (head) => {
  const n = Math.min(head.length, PREFACE.length);
  if (head.subarray(0, n).equals(PREFACE.subarray(0, n))) return head.length >= PREFACE.length ? 'http2' : undefined;
  return 'http1';
};

/** A socket whose first bytes were already read, replayed to node:http2 (which reads the native handle otherwise). */
class ReplaySocket extends Duplex {
  #socket: net.Socket;
  #head: Buffer | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;

  constructor(socket: net.Socket, head: Buffer) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#head = head;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    socket.on('data', (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
  }
  override _read(): void {
    if (this.#head) {
      const h = this.#head;
      this.#head = undefined;
      this.push(h);
    }
    this.#socket.resume();
  }
  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#socket.write(chunk, encoding, cb);
  }
  override _final(cb: () => void): void {
    this.#socket.end();
    cb();
  }
  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.#socket.destroy();
    cb(e);
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(ms: number, fn?: () => void): this {
    this.#socket.setTimeout(ms, fn);
    return this;
  }
}

/** Where an h2 session's connection came from (the replayed socket hides it). */
export type Peer = { remoteAddress: string; remotePort: number };

export class ConnectionSplitter {
  #classify: Classifier;
  #http1: http.Server;
  #http2: http2.Http2Server;
  #peers = new WeakMap<http2.Http2Session, Peer>();
  #pending: Peer | undefined;
  #sockets = new Set<net.Socket>();

  constructor(classify: Classifier, http1: http.Server, h2: http2.Http2Server) {
    this.#classify = classify;
    this.#http1 = http1;
    this.#http2 = h2;
    h2.on('session', (s) => {
      if (this.#pending) this.#peers.set(s, this.#pending);
    });
  }

  peer(session: http2.Http2Session | undefined): Peer | undefined {
    return session ? this.#peers.get(session) : undefined;
  }

  /** Every accepted socket not yet closed, for shutdown. */
  get sockets(): Set<net.Socket> {
    return this.#sockets;
  }

  /** Takes a freshly accepted (or TLS-decrypted) socket. */
  accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const route = this.#classify(head);
      if (route === undefined) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (route === 'http1') {
        socket.unshift(head);
        this.#http1.emit('connection', socket);
        socket.resume();
      } else {
        const replay = new ReplaySocket(socket, head);
        this.#pending = { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
        this.#http2.emit('connection', replay);
        this.#pending = undefined;
      }
    };
    const onEnd = () => socket.destroy();
    socket.on('data', onData);
    socket.on('end', onEnd);
  }
}
