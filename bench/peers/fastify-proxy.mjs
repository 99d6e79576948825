#!/usr/bin/env node
// Node peer: fastify 5 with @fastify/http-proxy (undici upstream through @fastify/reply-from), as
// its README sets it up. HTTP/1.1 only here: fastify's h2c server and reply-from's HTTP/2 client
// do not carry gRPC trailers.
//   --retries N   retry a failed attempt (5xx answer or connection error) up to N times with
//                 Envoy's backoff (uniform in [0, min(25 * 2^n, 250)) ms before retry n + 1), through
//                 reply-from's retryDelay hook. Without it, reply-from's default applies: GET
//                 requests answered 503 are retried up to 10 times, after 0-42*n ms.
//   --routes N    N prefixes /svc0000 .. (one plugin registration, with its own pool, per prefix)
//                 instead of one catch-all
//   node bench/peers/fastify-proxy.mjs --upstream 127.0.0.1:8080 --port 10000 [--retries 3] [--routes 1000]
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { peerArgs } from './args.mjs';
import { routeName } from '../lib/workloads.mjs';

const values = peerArgs(
  'fastify-proxy.mjs',
  { retries: { type: 'string' }, routes: { type: 'string', default: '0' } },
  ' [--retries N] [--routes N]',
);

const replyOptions = {};
if (values.retries !== undefined) {
  const retries = Number(values.retries);
  replyOptions.retryDelay = ({ err, res, attempt }) => {
    if (attempt >= retries || !(err || (res && res.statusCode >= 500))) return null;
    // A delay of 0 would mean "do not retry" to reply-from.
    return Math.max(0.001, Math.random() * Math.min(25 * 2 ** attempt, 250));
  };
}

// keepAliveTimeout: as the other targets, idle client connections are kept for minutes (idle-10k).
const app = Fastify({ logger: false, disableRequestLogging: true, keepAliveTimeout: 300_000, bodyLimit: 8 * 1024 * 1024 });
const undici = { connections: 4096, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 };
const upstream = `http://${values.upstream}`;
const routes = Number(values.routes);
if (routes > 0) {
  for (let i = 0; i < routes; i++) {
    const prefix = `/${routeName(i)}`;
    await app.register(proxy, { upstream, prefix, rewritePrefix: prefix, undici, replyOptions });
  }
} else {
  await app.register(proxy, { upstream, undici, replyOptions });
}
await app.listen({ port: Number(values.port), host: values.host });
process.stdout.write(`listening fastify-proxy ${values.host}:${values.port}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
