/**
 * What the admin handlers read: the running proxy, and what the control plane knows about the
 * configuration it applied (version, load time, diagnostics, route and policy status). The
 * manifest reloader supplies `configState`; without it the proxy's own IR version is shown.
 */
import type { DrainReport, Proxy } from '../dataplane/proxy.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import type { LocalRuntimeStats } from '../dataplane/stats/proxy-stats.js';
import type { WireStat } from '../dataplane/stats/merge.js';

export type ConfigState = {
  /** The applied configuration's version. */
  version: string;
  /** Wall-clock ms when that configuration was loaded. */
  loadedAt: number;
  /** Diagnostics of the last load (the last good config keeps serving when it had errors). */
  diagnostics: readonly Diagnostic[];
  /** Gateway, listener and route status conditions, as `legate validate -o json` prints them. */
  status?: readonly unknown[] | undefined;
  /** Policy status per ancestor (BackendTrafficPolicy and friends). */
  policyStatus?: readonly unknown[] | undefined;
  /** Where the configuration came from (files, directories). */
  sources?: readonly string[] | undefined;
};

export type AdminSources = {
  proxy: Proxy;
  configState?: (() => ConfigState | undefined) | undefined;
  /** Stats of the local runtime's processes (`local_runtime.*`), when something runs them. */
  localRuntimeStats?: (() => LocalRuntimeStats) | undefined;
  /** The other worker processes of `--workers N` (src/cli/workers.ts), when there are any. */
  workers?: WorkerSources | undefined;
};

/** What the admin API needs of worker processes: their stats, and the same resets and drains. */
export type WorkerSources = {
  readonly count: number;
  stats(): Promise<WireStat[][]>;
  resetCounters(): void;
  drain(graceMs: number): Promise<void>;
  list(): { index: number; pid: number | undefined; state: string; restarts: number }[];
};

export type AdminContext = {
  sources: AdminSources;
  version: string;
  /** `host:port` the admin server listens on. */
  adminAddress: string;
  /** Default grace period of POST /drain. */
  drainGraceMs: number;
  /** Told of every POST /drain, with the drain's end (the dashboard's streams end with it). */
  onDrain?: (drained: Promise<DrainReport>) => void;
};

export type AdminRequest = { method: string; url: URL };

export type AdminResponse = { status: number; contentType: string; body: string; headers?: Record<string, string> };

export function text(body: string, status = 200): AdminResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body };
}

export function json(value: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(value, null, 2) + '\n' };
}

/** Reads `?format=` (Envoy spells JSON output `format=json`). */
export function wantsJson(url: URL): boolean {
  return url.searchParams.get('format') === 'json';
}
