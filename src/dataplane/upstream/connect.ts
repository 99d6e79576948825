import net from 'node:net';
import tls from 'node:tls';
import { UpstreamResetError } from './reset-reason.js';
import type { Histogram } from '../stats/histogram.js';

/** Envoy's `upstream_cx_connect_ms` and `upstream_cx_length_ms` of the cluster the connection is for. */
export type CxHistograms = { connectMs: Histogram; lengthMs: Histogram };

export type ConnectOptions = {
  host: string;
  port: number;
  timeoutMs: number;
  tls?: { servername?: string; rejectUnauthorized: boolean; alpn: string[] } | undefined;
  keepalive?: { timeSec?: number | undefined } | undefined;
  /** Records the time to connect (TLS handshake included) and, at close, the connection's life. */
  histograms?: CxHistograms | undefined;
};

/**
 * Opens a TCP (or TLS) connection with a connect timeout. Failures are UpstreamResetErrors with
 * Envoy's reason, so the request path can classify them (connect-failure retries, flag UF).
 */
export function connect(opts: ConnectOptions, cb: (err: UpstreamResetError | null, socket?: net.Socket) => void): void {
  let done = false;
  const start = performance.now();
  const socket: net.Socket = opts.tls
    ? tls.connect({
        host: opts.host,
        port: opts.port,
        servername: opts.tls.servername ?? (net.isIP(opts.host) ? undefined : opts.host),
        rejectUnauthorized: opts.tls.rejectUnauthorized,
        ALPNProtocols: opts.tls.alpn,
      })
    : net.connect({ host: opts.host, port: opts.port, noDelay: true });
  const timer = setTimeout(() => {
    finish(new UpstreamResetError('connection timeout', `connect timeout after ${opts.timeoutMs}ms`));
    socket.destroy();
  }, opts.timeoutMs);
  const finish = (err: UpstreamResetError | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('error', onError);
    if (err) cb(err);
    else {
      const h = opts.histograms;
      if (h) {
        h.connectMs.record(performance.now() - start);
        // Like Envoy's, the length counts from the start of the connect.
        socket.once('close', () => h.lengthMs.record(performance.now() - start));
      }
      socket.setNoDelay(true);
      if (opts.keepalive) socket.setKeepAlive(true, (opts.keepalive.timeSec ?? 0) * 1000);
      cb(null, socket);
    }
  };
  const onError = (e: NodeJS.ErrnoException) => {
    // Errors before the connection is up are connection failures. A refused connection is the
    // remote's answer; anything else (no route, bad address, TLS) is counted as local.
    const reason = e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'remote connection failure' : 'local connection failure';
    finish(new UpstreamResetError(reason, transportDetail(e)));
  };
  socket.once('error', onError);
  socket.once(opts.tls ? 'secureConnect' : 'connect', () => finish(null));
}

/** Envoy's transport failure wording for the common errno values. */
function transportDetail(e: NodeJS.ErrnoException): string {
  const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
  if (e.syscall === 'connect' && errno !== undefined) return `delayed connect error: ${errno}`;
  return e.code ? `${e.code}: ${e.message}` : e.message;
}
