import { Flag } from '../http/response-flags.js';

/** Why an attempt ended without a response: Envoy's stream reset reasons. */
export type ResetReason =
  | 'local connection failure'
  | 'remote connection failure'
  | 'connection timeout'
  | 'connection termination'
  | 'local reset'
  | 'local refused stream reset'
  | 'remote reset'
  | 'remote refused stream reset'
  | 'overflow'
  | 'protocol error';

/** The response flag each reset reason sets (spec 9.1). */
export function resetFlag(reason: ResetReason): number {
  switch (reason) {
    case 'local connection failure':
    case 'remote connection failure':
    case 'connection timeout':
      return Flag.UF;
    case 'connection termination':
      return Flag.UC;
    case 'local reset':
    case 'local refused stream reset':
      return Flag.LR;
    case 'overflow':
      return Flag.UO;
    case 'remote reset':
    case 'remote refused stream reset':
      return Flag.UR;
    case 'protocol error':
      return Flag.UPE;
  }
}

export function isConnectFailure(reason: ResetReason): boolean {
  return reason === 'local connection failure' || reason === 'remote connection failure' || reason === 'connection timeout';
}

/** An error that carries the Envoy reset reason and, for connect failures, the transport detail. */
export class UpstreamResetError extends Error {
  readonly reason: ResetReason;
  readonly transportFailure: string | undefined;
  constructor(reason: ResetReason, transportFailure?: string) {
    super(transportFailure ? `${reason}: ${transportFailure}` : reason);
    this.name = 'UpstreamResetError';
    this.reason = reason;
    this.transportFailure = transportFailure;
  }
}

/** The error undici gets for a cancelled attempt; shared, so no stack trace is built per cancel. */
export const LOCAL_RESET = new UpstreamResetError('local reset');
