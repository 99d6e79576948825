// --soak S: a fixed request rate through legate for S seconds (h2load --rps), legate's resident
// memory sampled every SAMPLE_MS, and the growth slope over the steady part of the run.
import { startWorkloadBackend } from './backends.mjs';
import { checkTarget } from './check.mjs';
import { parseH2load, runH2load } from './h2load.mjs';
import { cpuDeltaUs, cpuTicks, peakRssKb, rssKb, stopProcess, tail } from './proc.mjs';

const SAMPLE_MS = 5000;
/** Growth over the steady window below this many MiB counts as flat (allocator and GC noise). */
const FLAT_MIB = 2;

/** Least-squares slope of y over x. */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : undefined;
}

/** The h2load arguments of `workload` with `--rps` so that its connections together send `rate` req/s. */
function pacedArgs(workload, { host, port, seconds, workDir, rate }) {
  const args = workload.h2loadArgs({ host, port, seconds, workDir });
  const c = Number(args[args.indexOf('-c') + 1]);
  const perConn = Math.max(1, Math.round(rate / c));
  return { args: ['--rps', String(perConn), ...args], rate: perConn * c };
}

export async function runSoak(ctx, { workload, seconds, rate, target }) {
  const { log } = ctx;
  const backend = await startWorkloadBackend(workload, {
    nginx: ctx.tools.nginx,
    workDir: ctx.workDir,
    cpu: ctx.cpus.load,
    benchDir: ctx.benchDir,
    log,
  });
  let proc;
  const samples = [];
  try {
    proc = await target.start({ ...ctx, backend, workload, cpu: ctx.cpus.proxy });
    await checkTarget(workload, proc.host, proc.port);
    const pid = proc.handle.pid;
    const paced = pacedArgs(workload, { host: proc.host, port: proc.port, seconds, workDir: ctx.workDir, rate });
    log(`bench: soak: ${workload.name} through legate at ${paced.rate} req/s for ${seconds} s; RSS every ${SAMPLE_MS / 1000} s`);
    const c0 = cpuTicks(pid);
    const t0 = Date.now();
    const sample = () => {
      const s = { t: (Date.now() - t0) / 1000, rssKb: rssKb(pid) };
      samples.push(s);
      if (samples.length % 12 === 1) log(`bench: soak: ${s.t.toFixed(0)} s, RSS ${(s.rssKb / 1024).toFixed(1)} MiB`);
    };
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    const r = await runH2load(paced.args, { cpu: ctx.cpus.load, timeoutMs: (seconds + 30) * 1000 });
    clearInterval(timer);
    sample();
    const cpuUs = cpuDeltaUs(c0, cpuTicks(pid));
    const m = parseH2load(r.stdout);
    if (r.timedOut || m.done === undefined) throw new Error(`h2load: ${tail(`${r.stdout}\n${r.stderr}`, 5)}`);
    if (proc.handle.exitInfo) throw new Error(`legate exited during the soak: ${tail(proc.handle.output(), 5)}`);

    // Steady part: after the first minute (or fifth of the run), when pools, JIT and heap have grown.
    const warm = Math.min(60, seconds / 5);
    const steady = samples.filter((s) => s.t >= warm);
    const kbPerS = slope(
      steady.map((s) => s.t),
      steady.map((s) => s.rssKb),
    );
    const spanS = steady.length ? steady[steady.length - 1].t - steady[0].t : 0;
    const growthMiB = kbPerS === undefined ? undefined : (kbPerS * spanS) / 1024;
    const ok = Math.min(m.status?.['2xx'] ?? 0, m.succeeded ?? 0);
    const json = {
      workload: workload.name,
      seconds,
      rate: paced.rate,
      sampleMs: SAMPLE_MS,
      steadyFromS: warm,
      requests: m.done,
      ok,
      reqPerSec: m.reqPerSec,
      cpuUsPerReq: m.done ? cpuUs / m.done : undefined,
      rssStartKb: steady[0]?.rssKb,
      rssEndKb: steady[steady.length - 1]?.rssKb,
      rssMaxKb: Math.max(...samples.map((s) => s.rssKb)),
      peakRssKb: peakRssKb(pid),
      slopeKbPerMin: kbPerS === undefined ? undefined : kbPerS * 60,
      growthMiB,
      flat: growthMiB !== undefined && growthMiB < FLAT_MIB,
      requestTime: m.requestTime,
      argv: r.argv,
      samples,
    };
    const f = (x, d = 1) => (x === undefined ? '—' : x.toFixed(d));
    const every = Math.max(1, Math.round(60_000 / SAMPLE_MS));
    const text = [
      `| workload | rate req/s | seconds | requests | ok % | legate CPU µs/req | RSS at ${warm.toFixed(0)} s MiB | RSS at end MiB | max RSS MiB | slope KiB/min | growth over steady part MiB | flat (< ${FLAT_MIB} MiB) |`,
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| ${workload.name} | ${paced.rate} | ${seconds} | ${m.done} | ${f((100 * ok) / (m.done || 1), 2)} | ${f(json.cpuUsPerReq)} | ${f(json.rssStartKb / 1024)} | ${f(json.rssEndKb / 1024)} | ${f(json.rssMaxKb / 1024)} | ${f(json.slopeKbPerMin)} | ${f(growthMiB, 2)} | ${json.flat ? 'yes' : 'no'} |`,
      '',
      `RSS (MiB) every minute: ${samples
        .filter((_, i) => i % every === 0)
        .map((s) => `${s.t.toFixed(0)} s ${f(s.rssKb / 1024)}`)
        .join(', ')}`,
      '',
    ].join('\n');
    return { text, json };
  } catch (err) {
    return { text: `soak failed: ${err.message}\n`, json: { error: err.message, samples } };
  } finally {
    if (proc) await stopProcess(proc.handle);
    await backend.stop();
  }
}
