/**
 * Request mirroring (Envoy's request_mirror_policies; Gateway API RequestMirror, Istio mirror):
 * a copy of the request goes to the mirror cluster, fire and forget. Its response is read and
 * dropped, it is never retried, and nothing it meets touches the main request. As Envoy does by
 * default, the copy's host gets `-shadow` appended (before any port). The mirror cluster counts
 * it like any request (upstream_rq_total, response classes, outlier reports).
 */
import type { Clock, Timer } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from '../upstream/attempt-sink.js';
import type { Cluster } from '../upstream/cluster.js';
import type { Host } from '../upstream/host.js';
import { isConnectFailure, type ResetReason, type UpstreamResetError } from '../upstream/reset-reason.js';
import { chargeCode } from '../stats/scopes.js';

export type CompiledMirror = { cluster: Cluster; percent: number };

/** Whether this request is mirrored: `percent` of requests, at random (Envoy's runtime fraction). */
export function mirrorSampled(m: CompiledMirror, random: Random): boolean {
  return m.percent >= 100 || (m.percent > 0 && random.next() * 100 < m.percent);
}

/** `foo` -> `foo-shadow`, `foo:8080` -> `foo-shadow:8080`, `[::1]:80` -> `[::1]-shadow:80` (Envoy's shadowAppendedHost). */
export function shadowHost(authority: string): string {
  const colon = authority.lastIndexOf(':');
  const hasPort = colon > authority.lastIndexOf(']') && colon >= 0;
  return hasPort ? `${authority.slice(0, colon)}-shadow${authority.slice(colon)}` : `${authority}-shadow`;
}

/** Sends one mirrored request; `timeoutMs` (the route's timeout, 0 = none) bounds it. */
export function sendShadow(cluster: Cluster, req: UpstreamRequest, useH2: boolean, timeoutMs: number, clock: Clock): void {
  const host = cluster.chooseHost();
  if (!host) {
    cluster.stats.upstream_cx_none_healthy++;
    req.body?.destroy();
    return;
  }
  const authority = shadowHost(req.authority);
  const headers = { ...req.headers };
  if (!useH2) headers.host = authority;
  const sink = new ShadowSink(cluster, host, clock);
  cluster.stats.upstream_rq_total++;
  cluster.stats.upstream_rq_active++;
  host.stats.rq_total++;
  host.stats.rq_active++;
  if (timeoutMs > 0) sink.timer = clock.setTimeout(() => sink.timeout(), timeoutMs);
  sink.handle = (useH2 ? host.h2() : host.h1()).request({ ...req, authority, headers }, sink);
}

/** What a failed exchange tells outlier detection and the cluster's and host's counters (main requests and mirrors alike). */
export function chargeReset(c: Cluster, host: Host, reason: ResetReason): void {
  if (reason !== 'overflow') c.outlier.reportLocalOrigin(host, isConnectFailure(reason) ? 'connect-failure' : 'reset');
  if (isConnectFailure(reason)) {
    c.stats.upstream_cx_connect_fail++;
    host.stats.cx_connect_fail++;
    if (reason === 'connection timeout') c.stats.upstream_cx_connect_timeout++;
  } else if (reason === 'remote reset' || reason === 'remote refused stream reset') {
    c.stats.upstream_rq_rx_reset++;
  } else if (reason === 'connection termination') {
    c.stats.upstream_cx_destroy_remote_with_active_rq++;
  } else if (reason === 'protocol error') {
    c.stats.upstream_cx_protocol_error++;
  }
}

class ShadowSink implements AttemptSink {
  readonly #cluster: Cluster;
  readonly #host: Host;
  readonly #clock: Clock;
  handle: AttemptHandle | null = null;
  timer: Timer | null = null;
  #status = 0;
  #done = false;

  constructor(cluster: Cluster, host: Host, clock: Clock) {
    this.#cluster = cluster;
    this.#host = host;
    this.#clock = clock;
  }

  onPoolReady(): void {
    this.#cluster.outlier.reportLocalOrigin(this.#host, 'connect-success');
  }

  onResponseHeaders(status: number, _headers: string[], endStream: boolean): void {
    this.#status = status;
    this.#cluster.outlier.reportHttpStatus(this.#host, status);
    chargeCode(this.#cluster.stats, this.#cluster.codes, status);
    if (endStream) this.#finish(status < 500);
  }

  onResponseData(): boolean {
    return true;
  }

  onResponseEnd(): void {
    this.#finish(this.#status < 500);
  }

  onReset(err: UpstreamResetError): void {
    chargeReset(this.#cluster, this.#host, err.reason);
    this.#finish(false);
  }

  timeout(): void {
    this.timer = null;
    if (this.#done) return;
    this.#cluster.stats.upstream_rq_timeout++;
    this.handle?.cancel();
    this.#finish(false);
  }

  #finish(success: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (this.timer) this.#clock.clearTimeout(this.timer);
    this.timer = null;
    this.#cluster.stats.upstream_rq_active--;
    this.#host.stats.rq_active--;
    if (success) this.#host.stats.rq_success++;
    else this.#host.stats.rq_error++;
  }
}
