// Workload definitions: which backend they need (and how often it fails), the upstream protocol
// legate uses, the route's retry policy, and the load generator's arguments.
//   backend          'http' (nginx) or 'grpc' (bench/backends/grpc-unary.mjs)
//   failRatio        share of requests the backend fails (503, or trailers-only grpc-status 14)
//   retry            retry fields for the route in the bench IR (bench/lib/ir.mjs retryPolicy)
//   client           'h2load' (default: h2loadArgs) or 'grpc' (bench/loadgen/grpc-unary-client.mjs:
//                    clientArgs), which reads grpc-status
//   optional         only run when named with --workload
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
  'http1-retry': {
    description:
      'HTTP/1.1 GET / against nginx failing 50% of requests with 503 (independently per request); legate retries 5xx up to 3 times (4 attempts, backoff 25/250 ms); 200 connections, 1 request in flight each, 1 h2load thread',
    backend: 'http',
    failRatio: 0.5,
    retry: { retryOn: ['5xx'], numRetries: 3 },
    upstreamProtocol: 'http1',
    // Backoff keeps a retried request out of the proxy for tens of ms, so 50 connections (as in
    // http1-get) leave the proxy mostly idle; 200 keep it busy. See bench/README.md.
    h2loadArgs: ({ host, port, seconds }) => [
      '--h1',
      '-t', '1',
      '-c', '200',
      '-m', '1',
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
  'grpc-retry': {
    description:
      'gRPC unary over h2c against a backend failing 50% of calls trailers-only with grpc-status 14 (UNAVAILABLE); legate retries unavailable up to 3 times (4 attempts, backoff 25/250 ms); 20 connections x 10 streams from bench/loadgen/grpc-unary-client.mjs (reads grpc-status)',
    backend: 'grpc',
    failRatio: 0.5,
    retry: { retryOn: ['unavailable'], numRetries: 3 },
    upstreamProtocol: 'http2',
    client: 'grpc',
    clientArgs: ({ host, port, seconds }) => [
      '--url', `http://${host}:${port}/bench.Bench/Unary`,
      '--connections', '20',
      '--streams', '10',
      '--duration', String(seconds),
    ],
  },
};
