// Workload definitions: which backend they need (and how often it fails), the upstream protocol
// legate uses, the route's retry policy, the functional check and the load generator's arguments.
//   backend          'http' (nginx) or 'grpc' (nginx for plain unary calls, else
//                    bench/backends/grpc-unary.mjs)
//   nativeBackend    gRPC: nginx may serve it (plain unary calls only)
//   nodeBackend      HTTP: always the Node backend (bench/backends/http-fixed.mjs), not nginx
//   stream           gRPC server streaming: { messages, bytes } per call from the Node backend
//   failRatio        share of requests the backend fails (503, or trailers-only grpc-status 14)
//   retry            retry fields for the route in the bench IR (bench/lib/ir.mjs retryPolicy)
//   routes           number of routes (and clusters) in every proxy's config; requests go to the last
//   request          the check's request: { method, path, bodyBytes } (HTTP) or { path } (gRPC)
//   bytesPerRequest  payload bytes moved per request (MiB/s column)
//   client           'h2load' (default: h2loadArgs), 'grpc' (bench/loadgen/grpc-unary-client.mjs:
//                    clientArgs), which reads grpc-status, or 'idle' (bench/loadgen/idle-conns.mjs)
//   optional         only run when named with --workload
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOWNLOAD_PATH, GRPC_REQUEST_FRAME, LARGE_BYTES } from './payloads.mjs';

/** One gRPC message (GRPC_REQUEST_FRAME) in a file, for h2load -d. */
function grpcRequestBody(workDir) {
  const file = path.join(workDir, 'grpc-request.bin');
  writeFileSync(file, GRPC_REQUEST_FRAME);
  return file;
}

/** LARGE_BYTES of zeros in a file, for h2load -d (http1-upload-1m). */
function uploadBody(workDir) {
  const file = path.join(workDir, 'upload-1m.bin');
  writeFileSync(file, Buffer.alloc(LARGE_BYTES, 0x61));
  return file;
}

/** Route i of the routes-1000 config: prefix /svcNNNN/ to cluster svcNNNN. */
export const routeName = (i) => `svc${String(i).padStart(4, '0')}`;
export const ROUTES = 1000;
const LAST_ROUTE_PATH = `/${routeName(ROUTES - 1)}/item`;

const STREAM = { messages: 100, bytes: 100 };

/** h2load over HTTP/1.1: `c` connections with one request in flight each. */
const h1 =
  (c, urlPath = '/', extra = () => []) =>
  ({ host, port, seconds, workDir }) => [
    '--h1',
    '-t',
    '1',
    '-c',
    String(c),
    '-m',
    '1',
    '-D',
    `${seconds}s`,
    ...extra(workDir),
    `http://${host}:${port}${urlPath}`,
  ];

/** h2load over h2c: 10 connections x 10 streams, gRPC headers and one request message. */
const grpcH2load =
  (urlPath) =>
  ({ host, port, seconds, workDir }) => [
    '-t',
    '1',
    '-c',
    '10',
    '-m',
    '10',
    '-D',
    `${seconds}s`,
    '-d',
    grpcRequestBody(workDir),
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://${host}:${port}${urlPath}`,
  ];

export const WORKLOADS = {
  'http1-get': {
    description: 'HTTP/1.1 GET / (17-byte answer), 50 connections, 1 request in flight each, 1 h2load thread',
    backend: 'http',
    upstreamProtocol: 'http1',
    request: { method: 'GET', path: '/' },
    h2loadArgs: h1(50),
  },
  'http1-get-5k': {
    description: 'HTTP/1.1 GET / at a fixed 5000 req/s (50 connections x --rps 100): CPU per request at equal load, not at saturation',
    backend: 'http',
    upstreamProtocol: 'http1',
    optional: true,
    request: { method: 'GET', path: '/' },
    h2loadArgs: h1(50, '/', () => ['--rps', '100']),
  },
  'http1-upload-1m': {
    description:
      'HTTP/1.1 POST of 1 MiB (content-length) answered with 17 bytes once the body has been read, 10 connections, 1 request in flight each; backend bench/backends/http-fixed.mjs',
    backend: 'http',
    // nginx's `return` answers before reading the body (and discards it afterwards): an answer
    // before the upload is over stalls some proxies and h2load. A real upload endpoint reads first.
    nodeBackend: true,
    upstreamProtocol: 'http1',
    request: { method: 'POST', path: '/upload', bodyBytes: LARGE_BYTES },
    bytesPerRequest: LARGE_BYTES,
    h2loadArgs: h1(10, '/upload', (workDir) => ['-d', uploadBody(workDir)]),
  },
  'http1-download-1m': {
    description: 'HTTP/1.1 GET of a 1 MiB file (nginx sendfile), 10 connections, 1 request in flight each',
    backend: 'http',
    upstreamProtocol: 'http1',
    request: { method: 'GET', path: DOWNLOAD_PATH },
    bytesPerRequest: LARGE_BYTES,
    h2loadArgs: h1(10, DOWNLOAD_PATH),
  },
  'http1-retry': {
    description:
      'HTTP/1.1 GET / against nginx failing 50% of requests with 503 (independently per request); proxies retry 5xx up to 3 times (4 attempts; legate and fastify with backoff 25/250 ms); 200 connections, 1 request in flight each, 1 h2load thread',
    backend: 'http',
    failRatio: 0.5,
    retry: { retryOn: ['5xx'], numRetries: 3 },
    upstreamProtocol: 'http1',
    request: { method: 'GET', path: '/' },
    // Backoff keeps a retried request out of the proxy for tens of ms, so 50 connections (as in
    // http1-get) leave the proxy mostly idle; 200 keep it busy. See bench/README.md.
    h2loadArgs: h1(200),
  },
  'routes-1000': {
    description: `HTTP/1.1 GET ${LAST_ROUTE_PATH} through a config of ${ROUTES} prefix routes (/svc0000/ .. /svc0999/), each to its own cluster (all the same backend); requests match the last route; 50 connections`,
    backend: 'http',
    upstreamProtocol: 'http1',
    routes: ROUTES,
    request: { method: 'GET', path: LAST_ROUTE_PATH },
    h2loadArgs: h1(50, LAST_ROUTE_PATH),
  },
  'grpc-unary': {
    description:
      'gRPC unary over h2c (prior knowledge), POST /bench.Bench/Unary, 9-byte message each way, 10 connections x 10 streams, 1 h2load thread; backend nginx (fixed answer with grpc-status trailer)',
    backend: 'grpc',
    nativeBackend: true,
    upstreamProtocol: 'http2',
    request: { path: '/bench.Bench/Unary' },
    h2loadArgs: grpcH2load('/bench.Bench/Unary'),
  },
  'grpc-server-stream': {
    description: `gRPC server streaming over h2c, POST /bench.Bench/Stream: ${STREAM.messages} messages of ${STREAM.bytes} payload bytes per call, 10 connections x 10 streams, 1 h2load thread; backend bench/backends/grpc-unary.mjs`,
    backend: 'grpc',
    stream: STREAM,
    upstreamProtocol: 'http2',
    request: { path: '/bench.Bench/Stream' },
    h2loadArgs: grpcH2load('/bench.Bench/Stream'),
  },
  'grpc-retry': {
    description:
      'gRPC unary over h2c against a backend failing 50% of calls trailers-only with grpc-status 14 (UNAVAILABLE); legate retries unavailable up to 3 times (4 attempts, backoff 25/250 ms); 20 connections x 10 streams from bench/loadgen/grpc-unary-client.mjs (reads grpc-status)',
    backend: 'grpc',
    failRatio: 0.5,
    retry: { retryOn: ['unavailable'], numRetries: 3 },
    upstreamProtocol: 'http2',
    request: { path: '/bench.Bench/Unary' },
    client: 'grpc',
    clientArgs: ({ host, port, seconds }) => [
      '--url',
      `http://${host}:${port}/bench.Bench/Unary`,
      '--connections',
      '20',
      '--streams',
      '10',
      '--duration',
      String(seconds),
    ],
  },
  'idle-10k': {
    description:
      'memory: 10,000 HTTP/1.1 keep-alive connections, one GET / each, then held idle; RSS of the proxy before and with them, per connection (--quick: 2,000)',
    backend: 'http',
    upstreamProtocol: 'http1',
    request: { method: 'GET', path: '/' },
    client: 'idle',
    connections: 10_000,
    quickConnections: 2_000,
  },
};
