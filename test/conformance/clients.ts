/**
 * The conformance clients (README 1.1, 1.3, 1.4): one HTTP request on a new connection over
 * HTTP/1.1, HTTPS, HTTP/2 over TLS or h2c; one unary gRPC call with an empty EchoRequest; one
 * websocket exchange. Everything goes to 127.0.0.1; Host, :authority and SNI carry the names.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { decodeFrames, websocketAccept } from '../../src/fake-service/websocket.js';
import { goCheckServerIdentity } from './tls-identity.js';

export type HttpResult = { status: number; headers: [string, string][]; body: Buffer };

export type HttpSend = {
  port: number;
  protocol: 'HTTP' | 'HTTPS' | 'H2' | 'H2C_PRIOR_KNOWLEDGE';
  method: string;
  path: string;
  host: string;
  headers: [string, string][];
  /** TLS: SNI and the only certificate trusted. */
  servername?: string;
  ca?: string;
  timeoutMs: number;
};

export function sendHttp(r: HttpSend): Promise<HttpResult> {
  return r.protocol === 'H2' || r.protocol === 'H2C_PRIOR_KNOWLEDGE' ? sendH2(r) : sendH1(r);
}

function sendH1(r: HttpSend): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: [string, string][] = [['Host', r.host], ...r.headers];
    const opts: https.RequestOptions = {
      host: '127.0.0.1',
      port: r.port,
      method: r.method,
      path: r.path,
      headers: headers.flat(),
      agent: false,
      timeout: r.timeoutMs,
      setHost: false,
      ...(r.protocol === 'HTTPS' ? { servername: r.servername, ca: r.ca, checkServerIdentity: goCheckServerIdentity } : {}),
    };
    const req = (r.protocol === 'HTTPS' ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: pairs(res.rawHeaders), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${r.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function sendH2(r: HttpSend): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const tls = r.protocol === 'H2';
    const session = http2.connect(
      `${tls ? 'https' : 'http'}://127.0.0.1:${r.port}`,
      tls ? { servername: r.servername, ca: r.ca, ALPNProtocols: ['h2'], checkServerIdentity: goCheckServerIdentity } : {},
    );
    const fail = (err: Error) => {
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    const headers: http2.OutgoingHttpHeaders = {
      ':method': r.method,
      ':path': r.path,
      ':authority': r.host,
      ':scheme': tls ? 'https' : 'http',
    };
    for (const [k, v] of r.headers) headers[k.toLowerCase()] = v;
    const stream = session.request(headers, { endStream: true });
    stream.setTimeout(r.timeoutMs, () => fail(new Error(`no response within ${r.timeoutMs} ms`)));
    let status = 0;
    const out: [string, string][] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      for (const [k, v] of Object.entries(h)) {
        if (k.startsWith(':') || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) out.push([k, String(x)]);
      }
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({ status, headers: out, body: Buffer.concat(chunks) });
    });
    stream.on('error', fail);
  });
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

// The echo service's messages as README 3.2 describes them (field names and numbers).
const ECHO = protobuf.Root.fromJSON({
  nested: {
    Context: {
      fields: {
        namespace: { type: 'string', id: 1 },
        ingress: { type: 'string', id: 2 },
        service_name: { type: 'string', id: 3 },
        pod: { type: 'string', id: 4 },
      },
    },
    Header: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Assertions: {
      fields: {
        fully_qualified_method: { type: 'string', id: 1 },
        headers: { rule: 'repeated', type: 'Header', id: 2 },
        authority: { type: 'string', id: 3 },
        context: { type: 'Context', id: 4 },
      },
    },
    EchoResponse: { fields: { assertions: { type: 'Assertions', id: 1 } } },
  },
}).lookupType('EchoResponse');

export type GrpcAssertions = {
  fully_qualified_method?: string;
  headers?: { key: string; value: string }[];
  authority?: string;
  context?: { namespace?: string; pod?: string };
};
export type GrpcResult = { code: number; details: string; assertions?: GrpcAssertions };

/** One unary call with an empty EchoRequest over h2c. */
export function callGrpc(r: {
  port: number;
  service: string;
  method: string;
  authority: string;
  metadata: [string, string][];
  timeoutMs: number;
}): Promise<GrpcResult> {
  const client = new grpc.Client(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': r.authority });
  const md = new grpc.Metadata();
  for (const [k, v] of r.metadata) md.add(k.toLowerCase(), v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${r.service}/${r.method}`,
      () => Buffer.alloc(0),
      (b: Buffer) => ECHO.toObject(ECHO.decode(b), { defaults: true }) as { assertions?: GrpcAssertions },
      {},
      md,
      { deadline: Date.now() + r.timeoutMs },
      (err, res) => {
        client.close();
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: 0, details: '', ...(res?.assertions ? { assertions: res.assertions } : {}) });
      },
    );
  });
}

export type WsFrame = { text?: string; binary?: number[] };

/** Opens a websocket to `path`, sends each frame and collects one answer per frame. */
export function websocketExchange(r: {
  port: number;
  host: string;
  path: string;
  origin: string;
  send: WsFrame[];
  timeoutMs: number;
}): Promise<WsFrame[]> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const sock = net.connect({ host: '127.0.0.1', port: r.port });
    const timer = setTimeout(() => done(new Error(`websocket: no answer within ${r.timeoutMs} ms`)), r.timeoutMs);
    const done = (err: Error | null, frames?: WsFrame[]) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(frames!);
    };
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('websocket: connection closed before every answer came')));
    sock.write(
      `GET ${r.path} HTTP/1.1\r\nHost: ${r.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\nOrigin: ${r.origin}\r\n\r\n`,
    );
    let buf: Buffer = Buffer.alloc(0);
    let open = false;
    const got: WsFrame[] = [];
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        if (!/^HTTP\/1\.1 101 /.test(head)) return done(new Error(`websocket: handshake answered ${head.split('\r\n')[0]}`));
        if (!head.toLowerCase().includes(`sec-websocket-accept: ${websocketAccept(key).toLowerCase()}`))
          return done(new Error('websocket: wrong Sec-WebSocket-Accept'));
        open = true;
        sock.write(clientFrame(r.send[0]!));
      }
      const { frames, rest } = decodeFrames(buf);
      buf = rest;
      for (const f of frames) {
        if (f.opcode === 1) got.push({ text: f.payload.toString('utf8') });
        else if (f.opcode === 2) got.push({ binary: [...f.payload] });
        else continue;
        if (got.length === r.send.length) return done(null, got);
        sock.write(clientFrame(r.send[got.length]!));
      }
    });
  });
}

/** A masked client frame (RFC 6455 5.3), text or binary. */
function clientFrame(f: WsFrame): Buffer {
  const payload = f.text !== undefined ? Buffer.from(f.text, 'utf8') : Buffer.from(f.binary ?? []);
  if (payload.length > 125) throw new Error('websocket test frames are short');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from([0x80 | (f.text !== undefined ? 1 : 2), 0x80 | payload.length]), mask, masked]);
}
