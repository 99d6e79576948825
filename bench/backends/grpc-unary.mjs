#!/usr/bin/env node
// A cheap gRPC unary backend over h2c, on the node:http2 core API (no grpc-js).
// Any POST gets :status 200, content-type application/grpc, one length-prefixed message and
// the trailer grpc-status: 0. Other methods get 405.
// With --fail-ratio R (0..1), a fraction R of the calls, drawn independently per call from a
// small seeded PRNG, is answered trailers-only instead: one HEADERS frame with :status 200,
// content-type application/grpc, grpc-status 14 (UNAVAILABLE) and END_STREAM, no message.
// With --stream-messages N, POST /bench.Bench/Stream (server streaming) answers N messages of
// --stream-bytes payload bytes each, written back to back, then grpc-status: 0.
// With --stats-port P, GET http://127.0.0.1:P/stats answers {"accepts": n}: the connections the
// gRPC port accepted (the bench's count of upstream connections a proxy opened).
//   node bench/backends/grpc-unary.mjs --port 50051 [--host 127.0.0.1] [--fail-ratio 0.5] [--seed N]
//        [--stream-messages 100 --stream-bytes 100] [--stats-port P]
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { serveStats } from './stats.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '50051' },
    host: { type: 'string', default: '127.0.0.1' },
    'fail-ratio': { type: 'string', default: '0' },
    seed: { type: 'string' },
    'stream-messages': { type: 'string', default: '0' },
    'stream-bytes': { type: 'string', default: '100' },
    'stats-port': { type: 'string' },
  },
});
const failRatio = Number(values['fail-ratio']);
if (!(failRatio >= 0 && failRatio <= 1)) {
  process.stderr.write(`grpc-unary: --fail-ratio must be in [0, 1], got ${values['fail-ratio']}\n`);
  process.exit(2);
}

// gRPC framing: 1 byte compressed flag, 4 bytes big-endian length, then the message.
// The message is protobuf field 1 (string) = "ok": 0x0a 0x02 'o' 'k'.
const payload = Buffer.from([0x0a, 0x02, 0x6f, 0x6b]);
const frame = Buffer.alloc(5 + payload.length);
frame.writeUInt8(0, 0);
frame.writeUInt32BE(payload.length, 1);
payload.copy(frame, 5);

// The streaming answer: --stream-messages frames of protobuf field 1 (bytes) with --stream-bytes
// of payload each (the payload length must fit one length byte plus its varint: up to 16383).
const streamMessages = Number(values['stream-messages']);
const streamBytes = Number(values['stream-bytes']);
if (!(Number.isInteger(streamMessages) && streamMessages >= 0 && streamBytes >= 1 && streamBytes < 16384)) {
  process.stderr.write('grpc-unary: bad --stream-messages or --stream-bytes\n');
  process.exit(2);
}
const streamFrame = (() => {
  const len = streamBytes < 128 ? [streamBytes] : [(streamBytes & 0x7f) | 0x80, streamBytes >> 7];
  const msg = Buffer.concat([Buffer.from([0x0a, ...len]), Buffer.alloc(streamBytes, 0x61)]);
  const f = Buffer.alloc(5 + msg.length);
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
})();

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const TRAILERS = { 'grpc-status': '0' };
const UNAVAILABLE = {
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-status': '14',
  'grpc-message': 'bench: injected failure',
};

// xorshift32: a few integer operations per call, uniform enough for a failure coin.
let state = Number(values.seed ?? Date.now()) >>> 0 || 0x9e3779b9;
const threshold = Math.floor(failRatio * 2 ** 32);
function fails() {
  if (threshold === 0) return false;
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state < threshold;
}

const server = http2.createServer({
  settings: { maxConcurrentStreams: 1000 },
  peerMaxConcurrentStreams: 1000,
});

server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[':method'] !== 'POST') {
    stream.respond({ ':status': 405 });
    stream.end();
    return;
  }
  // Read (and discard) the request message, answer once the client half-closes.
  stream.on('data', () => {});
  stream.on('end', () => {
    if (stream.destroyed) return;
    if (fails()) {
      stream.respond(UNAVAILABLE, { endStream: true });
      return;
    }
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(TRAILERS));
    if (streamMessages > 0 && headers[':path'] === '/bench.Bench/Stream') {
      for (let i = 1; i < streamMessages; i++) stream.write(streamFrame);
      stream.end(streamFrame);
      return;
    }
    stream.end(frame);
  });
});
server.on('sessionError', () => {});
if (values['stats-port']) serveStats(server, Number(values['stats-port']), values.host);
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  process.stdout.write(
    `listening grpc-unary ${a.address}:${a.port}${failRatio ? ` (failing ${failRatio * 100}% with grpc-status 14)` : ''}\n`,
  );
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
