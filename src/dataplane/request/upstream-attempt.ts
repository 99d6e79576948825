import type { Timer } from '../../common/clock.js';
import type { AttemptHandle, AttemptSink } from '../upstream/attempt-sink.js';
import type { Host } from '../upstream/host.js';
import type { UpstreamResetError } from '../upstream/reset-reason.js';

/** One line of the attempt trace: what an attempt met and what was decided about it. */
export type AttemptTrace = {
  attempt: number;
  host: string;
  /** `200`, `503`, `grpc 14`, `reset: remote reset`, `per-try timeout`, `fault abort 503`... */
  outcome: string;
  /** `retried (5xx) after 12 ms`, `committed`, `not retried: limit`... */
  decision: string;
  ms: number;
};

/** Receives the events of the attempts of one request (RequestState). */
export interface AttemptOwner {
  onAttemptPoolReady(a: UpstreamAttempt): void;
  onAttemptHeaders(a: UpstreamAttempt, status: number, headers: string[], endStream: boolean): void;
  onAttemptData(a: UpstreamAttempt, chunk: Buffer): boolean;
  onAttemptEnd(a: UpstreamAttempt, trailers: string[] | null): void;
  onAttemptReset(a: UpstreamAttempt, err: UpstreamResetError): void;
}

/**
 * One upstream attempt: its host, pool handle and per-try timers. Pool events are passed to the
 * owner with the attempt, so the owner can tell attempts apart (retries, hedging).
 */
export class UpstreamAttempt implements AttemptSink {
  readonly owner: AttemptOwner;
  readonly host: Host;
  readonly number: number;
  readonly startedAt: number;
  handle: AttemptHandle | null = null;
  poolReady = false;
  gotHeaders = false;
  /** Done: ended, reset or cancelled; later pool events are ignored. */
  done = false;
  /** A per-try timeout fired with hedging on: this attempt keeps running beside a new one. */
  hedged = false;
  /** Its response is being read and dropped so the connection can be reused (a retried 503). */
  draining = false;
  drained = 0;
  perTryTimer: Timer | null = null;
  idleTimer: Timer | null = null;
  /** Attempt-scope fault: the injected delay's timer and the active-fault slot it holds. */
  faultTimer: Timer | null = null;
  faultSlot: { held: boolean } | null = null;
  readonly trace: AttemptTrace;

  constructor(owner: AttemptOwner, host: Host, number: number, now: number) {
    this.owner = owner;
    this.host = host;
    this.number = number;
    this.startedAt = now;
    this.trace = { attempt: number, host: host.key, outcome: 'pending', decision: '', ms: 0 };
  }

  onPoolReady(): void {
    if (this.done) return;
    this.poolReady = true;
    this.owner.onAttemptPoolReady(this);
  }

  onResponseHeaders(status: number, headers: string[], endStream: boolean): void {
    if (this.done) return;
    this.gotHeaders = true;
    this.owner.onAttemptHeaders(this, status, headers, endStream);
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.done) return true;
    return this.owner.onAttemptData(this, chunk);
  }

  onResponseEnd(trailers: string[] | null): void {
    if (this.done) return;
    this.done = true;
    this.owner.onAttemptEnd(this, trailers);
  }

  onReset(err: UpstreamResetError): void {
    if (this.done) return;
    this.done = true;
    this.owner.onAttemptReset(this, err);
  }

  /** Abandons the attempt (local reset): no further events reach the owner. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.handle?.cancel();
  }

  resume(): void {
    this.handle?.resume();
  }
}
