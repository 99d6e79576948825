import { Readable } from 'node:stream';
import type { Clock, Timer } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import { grpcToHttpStatus } from '../http/grpc.js';
import { chargeCode } from '../stats/scopes.js';
import { firstValue } from './backoff.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from '../upstream/attempt-sink.js';
import type { Cluster } from '../upstream/cluster.js';
import type { Host } from '../upstream/host.js';
import type { UpstreamResetError } from '../upstream/reset-reason.js';

/** A route's request mirror, compiled: the live cluster and the share of requests it gets (0-100). */
export type CompiledMirror = { cluster: Cluster | undefined; percent: number };

/**
 * Envoy's request mirroring: a fire-and-forget copy of the request to another cluster, sent once
 * the whole request has arrived, with `-shadow` appended to the host. Its response is read and
 * dropped; it never delays, fails or retries the real request. It is a real request on the
 * mirror cluster: it counts in its stats, circuit breakers and outlier detection.
 */
export function sendShadow(
  m: CompiledMirror,
  req: UpstreamRequest,
  body: Buffer | null,
  useH2: boolean,
  isGrpc: boolean,
  timeoutMs: number,
  clock: Clock,
  random: Random,
): void {
  const cluster = m.cluster;
  // A mirror to a cluster that does not exist is skipped, as Envoy's router does.
  if (!cluster) return;
  if (m.percent < 100 && random.next() * 100 >= m.percent) return;
  const host = cluster.chooseHost();
  if (!host) {
    cluster.stats.upstream_cx_none_healthy++;
    return;
  }
  const shadow: UpstreamRequest = {
    ...req,
    authority: shadowAuthority(req.authority),
    headers: { ...req.headers },
    body: body && body.length > 0 ? Readable.from([body], { objectMode: false }) : null,
  };
  if (!useH2) shadow.headers.host = shadow.authority;
  if (body) shadow.headers['content-length'] = String(body.length);
  new ShadowRequest(cluster, host, shadow, useH2, isGrpc, timeoutMs, clock);
}

/** `foo` -> `foo-shadow`, `foo:8080` -> `foo-shadow:8080` (the port stays last). */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(':');
  // An IPv6 literal's colons are inside brackets; a port follows the closing one.
  if (colon > 0 && colon > authority.lastIndexOf(']')) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

class ShadowRequest implements AttemptSink {
  readonly #cluster: Cluster;
  readonly #host: Host;
  readonly #isGrpc: boolean;
  readonly #clock: Clock;
  #handle: AttemptHandle | null = null;
  #timer: Timer | null = null;
  #status = 0;
  #done = false;

  constructor(cluster: Cluster, host: Host, req: UpstreamRequest, useH2: boolean, isGrpc: boolean, timeoutMs: number, clock: Clock) {
    this.#cluster = cluster;
    this.#host = host;
    this.#isGrpc = isGrpc;
    this.#clock = clock;
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    host.stats.rq_total++;
    host.stats.rq_active++;
    // The shadow has the route's timeout, so a hanging mirror cannot pile up requests forever.
    if (timeoutMs > 0) this.#timer = clock.setTimeout(() => this.#onTimeout(), timeoutMs);
    this.#handle = (useH2 ? host.h2() : host.h1()).request(req, this);
  }

  onPoolReady(): void {
    this.#cluster.outlier.reportLocalOrigin(this.#host, 'connect-success');
  }

  onResponseHeaders(status: number, headers: string[], endStream: boolean): void {
    this.#status = status;
    let code = status;
    if (this.#isGrpc) {
      const g = firstValue(headers, 'grpc-status');
      if (g !== undefined) code = grpcToHttpStatus(Number(g));
    }
    this.#cluster.outlier.reportHttpStatus(this.#host, code);
    if (endStream) this.#finish(code < 500);
  }

  onResponseData(): boolean {
    return true;
  }

  onResponseEnd(trailers: string[] | null): void {
    let ok = this.#status < 500;
    const g = this.#isGrpc && trailers ? firstValue(trailers, 'grpc-status') : undefined;
    if (g !== undefined) ok = grpcToHttpStatus(Number(g)) < 500;
    this.#finish(ok);
  }

  onReset(err: UpstreamResetError): void {
    if (this.#done) return;
    this.#cluster.noteReset(this.#host, err.reason);
    this.#finish(false);
  }

  #onTimeout(): void {
    this.#timer = null;
    if (this.#done) return;
    this.#cluster.stats.upstream_rq_timeout++;
    this.#host.stats.rq_timeout++;
    this.#handle?.cancel();
    this.#finish(false);
  }

  #finish(success: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    const c = this.#cluster;
    if (this.#status > 0) chargeCode(c.stats, c.codes, this.#status);
    c.stats.upstream_rq_active--;
    this.#host.stats.rq_active--;
    if (success) this.#host.stats.rq_success++;
    else this.#host.stats.rq_error++;
  }
}
