// Workload definitions: which backend they need, the upstream protocol legate uses, h2load args.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** One gRPC message: flag 0, length 4, protobuf field 1 = "hi". */
function grpcRequestBody(workDir) {
  const file = path.join(workDir, 'grpc-request.bin');
  const payload = Buffer.from([0x0a, 0x02, 0x68, 0x69]);
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  writeFileSync(file, frame);
  return file;
}

export const WORKLOADS = {
  'http1-get': {
    description: 'HTTP/1.1 GET / , 50 connections, 1 request in flight each, 1 h2load thread',
    backend: 'http',
    upstreamProtocol: 'http1',
    h2loadArgs: ({ host, port, seconds }) => [
      '--h1',
      '-t', '1',
      '-c', '50',
      '-m', '1',
      '-D', `${seconds}s`,
      `http://${host}:${port}/`,
    ],
  },
  'http1-get-5k': {
    description:
      'HTTP/1.1 GET / at a fixed 5000 req/s (50 connections x --rps 100): CPU per request at equal load, not at saturation',
    backend: 'http',
    upstreamProtocol: 'http1',
    optional: true,
    h2loadArgs: ({ host, port, seconds }) => [
      '--h1',
      '-t', '1',
      '-c', '50',
      '-m', '1',
      '--rps', '100',
      '-D', `${seconds}s`,
      `http://${host}:${port}/`,
    ],
  },
  'grpc-unary': {
    description:
      'gRPC unary over h2c (prior knowledge), POST /bench.Bench/Unary, 9-byte message, 10 connections x 10 streams, 1 h2load thread',
    backend: 'grpc',
    upstreamProtocol: 'http2',
    h2loadArgs: ({ host, port, seconds, workDir }) => [
      '-t', '1',
      '-c', '10',
      '-m', '10',
      '-D', `${seconds}s`,
      '-d', grpcRequestBody(workDir),
      '-H', 'content-type: application/grpc',
      '-H', 'te: trailers',
      `http://${host}:${port}/bench.Bench/Unary`,
    ],
  },
};
