/**
 * A minimal RFC 6455 echo endpoint for the conformance echo backend's `/ws`: the opening
 * handshake (an Origin is required, as golang.org/x/net/websocket's default check does), then
 * every data frame is sent back with its opcode, pings are answered and a close is echoed.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function websocketAccept(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** Encodes one unmasked server frame. */
export function encodeFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export type Frame = { fin: boolean; opcode: number; payload: Buffer };

/** Decodes as many complete frames as `buf` holds; returns them and the unused rest. */
export function decodeFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let pos = off + 2;
    if (len === 126) {
      if (buf.length - pos < 2) break;
      len = buf.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buf.length - pos < 8) break;
      len = Number(buf.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const mask = masked ? buf.subarray(pos, pos + 4) : undefined;
    if (masked) pos += 4;
    if (buf.length - pos < len) break;
    const payload = Buffer.from(buf.subarray(pos, pos + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
    off = pos + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Completes the handshake on an upgraded socket and echoes frames until close; false if the handshake is refused. */
export function serveWebSocketEcho(req: http.IncomingMessage, socket: Duplex, head: Buffer, onOpen?: () => void): boolean {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers['upgrade'] ?? '').toLowerCase();
  if (req.method !== 'GET' || upgrade !== 'websocket' || typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return false;
  }
  if (!req.headers['origin']) {
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return false;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n\r\n`,
  );
  onOpen?.();
  let pending: Buffer = head;
  const onData = (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const { frames, rest } = decodeFrames(pending);
    pending = rest;
    for (const f of frames) {
      if (f.opcode === 0x8) {
        socket.end(encodeFrame(0x8, f.payload.subarray(0, 2)));
        return;
      }
      if (f.opcode === 0x9) socket.write(encodeFrame(0xa, f.payload));
      else if (f.opcode <= 0x2) socket.write(encodeFrame(f.opcode, f.payload, f.fin));
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  if (head.length) onData(Buffer.alloc(0));
  return true;
}
