/**
 * HTTP/1.1 websocket upgrades through a forward route, as Envoy's `upgrade_configs: websocket`
 * (which Envoy Gateway enables on every route): the request head goes to one host of the picked
 * cluster with the route's header edits and rewrites, then bytes flow both ways until either side
 * closes. The upstream's answer (101, or a refusal) reaches the client as it is. There are no
 * retries and no route timeout once connected; a connect failure is a 503 local reply.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ENVOY_INTERNAL_ONLY, HOP_BY_HOP } from '../http/headers.js';
import { connect } from '../upstream/connect.js';
import type { ForwardTarget } from './request-state.js';

export type UpgradeRequest = {
  req: http.IncomingMessage;
  socket: Duplex;
  /** Bytes the client sent after the request head (the first frames). */
  head: Buffer;
  scheme: 'http' | 'https';
  /** The listener port as declared (routes match on it). */
  port: number;
};

/** A websocket handshake (the only upgrade legate proxies; others are served as plain requests). */
export function isWebSocketUpgrade(req: http.IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** Writes a complete HTTP/1.1 response on a socket that left node:http, then closes it. */
export function rawReply(socket: Duplex, status: number, body: string, headers: string[] = []): void {
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  if (body) head += 'content-type: text/plain\r\n';
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + body);
}

export function proxyUpgrade(u: UpgradeRequest, t: ForwardTarget, trusted: boolean, preserveRequestId: boolean): void {
  const { req, socket } = u;
  socket.on('error', () => socket.destroy());
  const picked = t.pick();
  if (!picked) return rawReply(socket, t.clusterNotFoundStatus, '');
  const cluster = picked.cluster;
  const host = cluster.chooseHost();
  if (!host) {
    cluster.stats.upstream_cx_none_healthy++;
    return rawReply(socket, 503, 'no healthy upstream');
  }
  const headers = upstreamHeaders(u, trusted, preserveRequestId);
  t.requestEdit?.(headers);
  picked.requestEdit?.(headers);
  headers.host = t.rewriteAuthority ?? req.headers.host ?? '';
  const path = t.rewritePath ? t.rewritePath(req.url ?? '/') : (req.url ?? '/');

  cluster.stats.upstream_rq_total++;
  cluster.stats.upstream_rq_active++;
  host.stats.rq_total++;
  host.stats.rq_active++;
  let open = true;
  const finish = (success: boolean) => {
    if (!open) return;
    open = false;
    cluster.stats.upstream_rq_active--;
    host.stats.rq_active--;
    if (success) host.stats.rq_success++;
    else host.stats.rq_error++;
  };
  connect(host.connectOptions(['http/1.1']), (err, upstream) => {
    if (err || !upstream) {
      cluster.noteReset(host, err!.reason);
      finish(false);
      if (!socket.destroyed)
        rawReply(socket, 503, `upstream connect error or disconnect/reset before headers. reset reason: ${err!.reason}`);
      return;
    }
    cluster.stats.upstream_cx_total++;
    cluster.outlier.reportLocalOrigin(host, 'connect-success');
    if (socket.destroyed) {
      upstream.destroy();
      return finish(false);
    }
    let head = `${req.method} ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : [v]) head += `${k}: ${x}\r\n`;
    upstream.write(head + '\r\n');
    if (u.head.length > 0) upstream.write(u.head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    const close = () => {
      finish(true);
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    upstream.on('close', close);
    socket.on('close', close);
  });
}

/** The client's headers without hop-by-hop ones (the upgrade pair is kept), plus the proxy's own. */
function upstreamHeaders(u: UpgradeRequest, trusted: boolean, preserveRequestId: boolean): Record<string, string | string[]> {
  const src = u.req.headers;
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k === 'host') continue;
    if (ENVOY_INTERNAL_ONLY.has(k) && !trusted) continue;
    out[k] = v;
  }
  out.connection = 'upgrade';
  out.upgrade = src.upgrade!;
  const remote = u.req.socket.remoteAddress ?? '';
  const xff = src['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${xff}, ${remote}` : remote;
  out['x-forwarded-proto'] = u.scheme;
  const rid = src['x-request-id'];
  out['x-request-id'] = typeof rid === 'string' && rid !== '' && preserveRequestId ? rid : randomUUID();
  return out;
}
