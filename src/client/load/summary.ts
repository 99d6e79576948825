import { formatDuration } from '../../common/durations.js';
import type { HistogramBucket, LatencyStats } from './latency.js';

export type LoadProtocol = 'http1' | 'http2' | 'grpc';

export type LoadSummary = {
  target: string;
  protocol: LoadProtocol;
  /** HTTP method, or the gRPC :path. */
  method: string;
  concurrency: number;
  /** Requests per second asked for, when limited. */
  rate?: number;
  /** Requests that completed (with a response or an error). */
  requests: number;
  succeeded: number;
  failed: number;
  /** succeeded / requests (0 when nothing completed). HTTP 2xx and 3xx, gRPC OK succeed. */
  successRate: number;
  elapsedMs: number;
  /** Completed requests per second. */
  throughput: number;
  /** What ended the run: the request count, the duration (or the time cap), or an abort. */
  stoppedBy: 'count' | 'duration' | 'aborted';
  /** HTTP status -> count (HTTP runs). */
  statusCodes: Record<string, number>;
  /** gRPC status name -> count (gRPC runs). */
  grpcStatus: Record<string, number>;
  /** Transport errors (no response): error code -> count. */
  errors: Record<string, number>;
  /** From the x-envoy-attempt-count response header, when the proxy adds it. */
  attempts: {
    /** Attempts ("1", "2", ...) -> requests. */
    counts: Record<string, number>;
    /** Responses without the header. */
    withoutHeader: number;
    /** Responses whose header says more than one attempt. */
    retried: number;
  };
  latencyMs: LatencyStats;
  histogram: HistogramBucket[];
};

const BAR = 40;

/** The human summary printed at the end of `legate load`. */
export function formatSummary(s: LoadSummary): string {
  const lines: string[] = [];
  const pct = (n: number, of: number) => (of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`);
  const counts = (r: Record<string, number>) =>
    Object.entries(r)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${k} x${v}`)
      .join(', ');
  lines.push(`${s.protocol} ${s.method} ${s.target}`);
  lines.push(
    `  requests      ${s.requests} in ${seconds(s.elapsedMs)} (${s.throughput.toFixed(1)}/s), concurrency ${s.concurrency}` +
      `${s.rate ? `, rate ${s.rate}/s` : ''}${s.stoppedBy === 'aborted' ? ', interrupted' : ''}`,
  );
  lines.push(`  success rate  ${(s.successRate * 100).toFixed(2)}% (${s.succeeded} ok, ${s.failed} failed)`);
  if (Object.keys(s.statusCodes).length) lines.push(`  status        ${counts(s.statusCodes)}`);
  if (Object.keys(s.grpcStatus).length) lines.push(`  grpc status   ${counts(s.grpcStatus)}`);
  if (Object.keys(s.errors).length) lines.push(`  errors        ${counts(s.errors)}`);
  const l = s.latencyMs;
  if (s.requests > 0)
    lines.push(
      `  latency       p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  (min ${ms(l.min)}, mean ${ms(l.mean)})`,
    );

  const withHeader = Object.values(s.attempts.counts).reduce((a, b) => a + b, 0);
  lines.push('');
  if (withHeader === 0) {
    if (s.requests > 0) lines.push('Attempts: no response carried x-envoy-attempt-count (the proxy adds it when the route asks for it).');
  } else {
    lines.push(`Attempts per request (x-envoy-attempt-count; ${s.attempts.retried} of ${withHeader} retried):`);
    const max = Math.max(...Object.values(s.attempts.counts));
    const width = String(max).length;
    for (const [k, v] of Object.entries(s.attempts.counts).sort(([a], [b]) => Number(a) - Number(b)))
      lines.push(`  ${k.padStart(3)}  ${String(v).padStart(width)}  ${pct(v, withHeader).padStart(6)}  ${bar(v, max)}`);
    if (s.attempts.withoutHeader) lines.push(`  (${s.attempts.withoutHeader} responses without the header)`);
  }
  if (s.histogram.length) {
    lines.push('', 'Latency histogram:');
    const max = Math.max(...s.histogram.map((b) => b.count));
    const labels = s.histogram.map((b) => ms(b.upToMs));
    const lw = Math.max(...labels.map((x) => x.length));
    const cw = String(max).length;
    s.histogram.forEach((b, i) => lines.push(`  <= ${labels[i]!.padStart(lw)}  ${String(b.count).padStart(cw)}  ${bar(b.count, max)}`));
  }
  return lines.join('\n') + '\n';
}

function bar(n: number, max: number): string {
  return '■'.repeat(max === 0 ? 0 : Math.max(n > 0 ? 1 : 0, Math.round((BAR * n) / max)));
}

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)}s`;
  if (v >= 100) return `${v.toFixed(0)}ms`;
  if (v >= 10) return `${v.toFixed(1)}ms`;
  return `${v.toFixed(2)}ms`;
}

function seconds(v: number): string {
  return v >= 60_000 ? formatDuration(Math.round(v)) : `${(v / 1000).toFixed(2)}s`;
}
