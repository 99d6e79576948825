/** GET /ready and POST /drain (alias /drain_listeners). */
import { json, text, type AdminContext, type AdminRequest, type AdminResponse } from '../admin-context.js';

/** Envoy's /ready: 200 `LIVE` while serving, 503 with the state name otherwise. */
export function ready(ctx: AdminContext): AdminResponse {
  const state = ctx.sources.proxy.state;
  return text(`${state}\n`, state === 'LIVE' ? 200 : 503);
}

/**
 * Stops accepting on every listener and lets in-flight requests finish. By default the answer
 * waits for the drain to end (at most `timeout_ms`, then what is left is closed) and reports
 * it; `?wait=false` answers 202 at once.
 */
export async function drain(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  const p = req.url.searchParams;
  let grace = ctx.drainGraceMs;
  const t = p.get('timeout_ms');
  if (t !== null) {
    if (!/^[0-9]+$/.test(t)) return text(`timeout_ms must be a whole number of milliseconds, not "${t}"\n`, 400);
    grace = Number(t);
  }
  const done = ctx.sources.proxy.drain(grace);
  const workers = ctx.sources.workers?.drain(grace);
  ctx.onDrain?.(Promise.all([done, workers]).then(([report]) => report));
  if (p.get('wait') === 'false') return json({ state: 'DRAINING', timeout_ms: grace }, 202);
  const [report] = await Promise.all([done, workers]);
  return json({
    state: ctx.sources.proxy.state,
    duration_ms: report.durationMs,
    listeners: report.listeners.map((l) => ({
      name: l.name,
      address: l.address,
      port: l.port,
      active_connections_at_start: l.activeConnectionsAtStart,
      active_requests_at_start: l.activeRequestsAtStart,
      forced_closed: l.forcedClosed,
    })),
  });
}

/** GET /workers: the processes of `--workers N` (one, this one, without it). */
export function workers(ctx: AdminContext): AdminResponse {
  const w = ctx.sources.workers;
  return json({ workers: w ? w.list() : [{ index: 0, pid: process.pid, state: 'running', restarts: 0 }] });
}
