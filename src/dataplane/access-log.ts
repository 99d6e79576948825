import fs from 'node:fs';
import { formatFlags } from './http/response-flags.js';
import type { Downstream } from './listener/downstream.js';

/** What one request leaves in the access log. */
export type AccessLogEntry = {
  startWall: number;
  method: string;
  path: string;
  protocol: 'HTTP/1.1' | 'HTTP/2';
  status: number;
  grpcStatus: string | undefined;
  flags: number;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTimeMs: number | undefined;
  forwardedFor: string | undefined;
  userAgent: string | undefined;
  requestId: string | undefined;
  authority: string;
  upstreamHost: string | undefined;
  upstreamCluster: string | undefined;
  route: string | undefined;
  attempts: number;
  /** Why the request ended this way when the proxy made the reply (Envoy's response code details). */
  details: string | undefined;
  attemptTrace?: unknown[] | undefined;
};

/** The fields every entry takes from the downstream exchange. */
export function downstreamEntry(ds: Downstream) {
  return {
    startWall: ds.startWall,
    method: ds.method,
    path: ds.path,
    protocol: ds.protocol === 'http2' ? ('HTTP/2' as const) : ('HTTP/1.1' as const),
    bytesSent: ds.bytesSent,
    forwardedFor: ds.headers['x-forwarded-for'] as string | undefined,
    userAgent: ds.headers['user-agent'] as string | undefined,
    authority: ds.authority,
  };
}

export interface AccessLogSink {
  log(e: AccessLogEntry): void;
  close(): Promise<void>;
}

const q = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));

/**
 * Envoy's default format:
 * [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
 * "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
 * followed by legate's additions: the cluster, route, attempt count and gRPC status.
 */
export function formatText(e: AccessLogEntry, trace: boolean): string {
  let line =
    `[${new Date(e.startWall).toISOString()}] "${e.method} ${e.path} ${e.protocol}" ${e.status} ${formatFlags(e.flags)} ` +
    `${e.bytesReceived} ${e.bytesSent} ${Math.round(e.durationMs)} ${q(e.upstreamServiceTimeMs)} ` +
    `"${q(e.forwardedFor)}" "${q(e.userAgent)}" "${q(e.requestId)}" "${q(e.authority)}" "${q(e.upstreamHost)}" ` +
    `cluster=${q(e.upstreamCluster)} route=${q(e.route)} attempts=${e.attempts} grpc_status=${q(e.grpcStatus)}`;
  if (e.details) line += ` details=${e.details}`;
  if (trace && e.attemptTrace) line += ` trace=${JSON.stringify(e.attemptTrace)}`;
  return line + '\n';
}

export function formatJson(e: AccessLogEntry): string {
  return (
    JSON.stringify({
      start_time: new Date(e.startWall).toISOString(),
      method: e.method,
      path: e.path,
      protocol: e.protocol,
      response_code: e.status,
      grpc_status: e.grpcStatus ?? null,
      response_flags: formatFlags(e.flags),
      bytes_received: e.bytesReceived,
      bytes_sent: e.bytesSent,
      duration_ms: Math.round(e.durationMs),
      upstream_service_time_ms: e.upstreamServiceTimeMs ?? null,
      x_forwarded_for: e.forwardedFor ?? null,
      user_agent: e.userAgent ?? null,
      request_id: e.requestId ?? null,
      authority: e.authority,
      upstream_host: e.upstreamHost ?? null,
      upstream_cluster: e.upstreamCluster ?? null,
      route_name: e.route ?? null,
      attempts: e.attempts,
      response_code_details: e.details ?? null,
      attempt_trace: e.attemptTrace ?? [],
    }) + '\n'
  );
}

/**
 * Buffers lines and writes them in batches, so logging costs one write per event-loop turn rather
 * than one per request.
 */
export function createAccessLog(opts: { format: 'text' | 'json'; path: string; attemptTrace?: boolean | undefined }): AccessLogSink {
  const stream = opts.path === '-' ? process.stdout : fs.createWriteStream(opts.path, { flags: 'a' });
  const trace = opts.attemptTrace ?? false;
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  return {
    log(e) {
      pending.push(opts.format === 'json' ? formatJson(e) : formatText(e, trace));
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close() {
      flush();
      if (stream === process.stdout) return Promise.resolve();
      return new Promise((resolve) => (stream as fs.WriteStream).end(() => resolve()));
    },
  };
}
