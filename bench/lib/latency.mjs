// --latency: the latency legate adds at half of its own maximum rate (issue 8: p99 added < 1 ms).
// Per workload: legate at saturation gives its maximum rate; then the backend direct and through
// legate are both paced (h2load --rps) at half of it, interleaved, and the percentiles compared.
import { startBackendFor } from './backends.mjs';
import { runOne } from './measure.mjs';
import { waitForQuiet } from './proc.mjs';

const GOAL_MS = 1;

/**
 * `workload` on PACED_CONNECTIONS connections together sending `rate` req/s. h2load paces each
 * connection with its own timer and the timers start together, so requests arrive in bursts of
 * one per connection: with the workloads' 50 connections a burst alone would queue for 50
 * requests' processing time, which measures the burst, not the proxy.
 */
const PACED_CONNECTIONS = 10;
function paced(workload, rate) {
  return {
    ...workload,
    h2loadArgs: (o) => {
      const args = [...workload.h2loadArgs(o)];
      const i = args.indexOf('-c');
      const c = Math.min(PACED_CONNECTIONS, Number(args[i + 1]));
      args[i + 1] = String(c);
      return ['--rps', String(Math.max(1, Math.round(rate / c))), ...args];
    },
  };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor((s.length - 1) / 2)];
};

export async function runLatency(ctx, { workloadNames, workloads, targets, repeat, maxOtherLoad }) {
  const { log } = ctx;
  const rows = [];
  for (const wname of workloadNames) {
    const workload = { name: wname, ...workloads[wname] };
    if (workload.client) {
      rows.push({ workload: wname, error: 'not an h2load workload' });
      continue;
    }
    const backend = await startBackendFor(ctx, workload);
    try {
      const quiet = async () => {
        if (maxOtherLoad > 0) await waitForQuiet(maxOtherLoad, 30_000);
      };
      await quiet();
      const sat = await runOne(ctx, workload, targets.legate, backend, 0);
      if (sat.error) throw new Error(`legate at saturation: ${sat.error}`);
      const rate = Math.floor(sat.reqPerSec / 2);
      log(`bench: latency: ${wname}: legate's maximum ${Math.round(sat.reqPerSec)} req/s; pacing at ${rate} req/s`);
      const p = paced(workload, rate);
      const got = { direct: [], legate: [] };
      for (let rep = 1; rep <= repeat; rep++) {
        for (const t of ['direct', 'legate']) {
          await quiet();
          const r = await runOne(ctx, p, targets[t], backend, rep);
          if (r.error) throw new Error(`${t} at ${rate} req/s: ${r.error}`);
          log(
            `bench: latency: ${wname} / ${t} at ${rate} req/s: ${Math.round(r.reqPerSec)} req/s, p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms, p99.9 ${r.latency.p999Ms} ms`,
          );
          got[t].push(r);
        }
      }
      const m = (t, k) => median(got[t].map((r) => r.latency[k]));
      const row = { workload: wname, maxRate: sat.reqPerSec, rate };
      for (const t of ['direct', 'legate'])
        row[t] = { p50Ms: m(t, 'p50Ms'), p99Ms: m(t, 'p99Ms'), p999Ms: m(t, 'p999Ms'), reqPerSec: median(got[t].map((r) => r.reqPerSec)) };
      row.addedP50Ms = row.legate.p50Ms - row.direct.p50Ms;
      row.addedP99Ms = row.legate.p99Ms - row.direct.p99Ms;
      row.met = row.addedP99Ms < GOAL_MS;
      rows.push(row);
    } catch (err) {
      rows.push({ workload: wname, error: err.message });
      log(`bench: latency: ${wname}: FAILED: ${err.message}`);
    } finally {
      await backend.stop();
    }
  }
  return { rows, text: latencyText(rows) };
}

export function latencyText(rows) {
  const f = (x, d = 3) => (x === undefined ? '—' : x.toFixed(d));
  const lines = [
    `| workload | legate max req/s | paced at req/s | direct p50 / p99 / p99.9 ms | legate p50 / p99 / p99.9 ms | added p50 ms | added p99 ms | p99 added < ${GOAL_MS} ms |`,
    '| --- | ---: | ---: | --- | --- | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.workload} | failed: ${r.error} | | | | | | |`);
      continue;
    }
    const d = r.direct;
    const l = r.legate;
    lines.push(
      `| ${r.workload} | ${Math.round(r.maxRate)} | ${r.rate} | ${f(d.p50Ms)} / ${f(d.p99Ms)} / ${f(d.p999Ms)} | ${f(l.p50Ms)} / ${f(l.p99Ms)} / ${f(l.p999Ms)} | ${f(r.addedP50Ms)} | ${f(r.addedP99Ms)} | ${r.met ? 'yes' : 'no'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
