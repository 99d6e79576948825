// --soak S: a fixed request rate through legate for S seconds (h2load --rps), legate's resident
// memory sampled every SAMPLE_MS, and the growth slope over the steady part of the run.
import { startBackendFor } from './backends.mjs';
import { checkTarget } from './check.mjs';
import { parseH2load, runH2load } from './h2load.mjs';
import { cpuDeltaUs, cpuTicks, peakRssKb, rssKb, stopProcess, tail } from './proc.mjs';

const SAMPLE_MS = 5000;
/** Growth of the RSS envelope over the steady part below this many MiB counts as flat (allocator and GC noise). */
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

/**
 * RSS trend of a soak. The steady part starts after the first minute (or fifth of the run), once
 * pools, JIT code and the heap have grown. Node's RSS is a sawtooth there: it climbs while the heap
 * fills and drops when a major GC gives memory back (every minute or two at 2000 req/s), so a
 * straight line through all samples depends on where the teeth fall. The steady part is cut into
 * windows of `windowS` (up to 2 minutes, at least one tooth each) and the trend is the
 * least-squares slope of the windows' maxima (the envelope a leak would lift); a partial last
 * window joins the one before. The minima (after GC) are listed too, but a window in which no
 * major GC happened has none, so they make no trend. Flat: the envelope grows less than FLAT_MIB
 * over the steady part.
 */
export function analyzeSoak(samples, seconds) {
  const warm = Math.min(60, seconds / 5);
  const steady = samples.filter((s) => s.t >= warm);
  const spanS = steady.length ? steady[steady.length - 1].t - steady[0].t : 0;
  const windowS = Math.max(15, Math.min(120, spanS / 3));
  const windows = [];
  for (const s of steady) {
    const i = Math.min(Math.floor((s.t - warm) / windowS), Math.max(0, Math.floor(spanS / windowS) - 1));
    windows[i] ??= { fromS: warm + i * windowS, minKb: Infinity, maxKb: 0 };
    windows[i].minKb = Math.min(windows[i].minKb, s.rssKb);
    windows[i].maxKb = Math.max(windows[i].maxKb, s.rssKb);
  }
  const w = windows.filter(Boolean);
  const mid = w.map((x) => x.fromS + windowS / 2);
  const perMin = (kbPerS) => (kbPerS === undefined ? undefined : kbPerS * 60);
  const envelope = perMin(
    slope(
      mid,
      w.map((x) => x.maxKb),
    ),
  );
  const growthMiB = envelope === undefined ? undefined : (envelope * spanS) / 60 / 1024;
  return {
    steadyFromS: warm,
    windowS,
    windows: w,
    rssStartKb: steady[0]?.rssKb,
    rssEndKb: steady[steady.length - 1]?.rssKb,
    rssMaxKb: Math.max(...samples.map((s) => s.rssKb)),
    envelopeSlopeKbPerMin: envelope,
    growthMiB,
    flat: growthMiB !== undefined && growthMiB < FLAT_MIB,
  };
}

/** The markdown of a soak's results (`json` as runSoak builds it). */
export function soakText(json) {
  const f = (x, d = 1) => (x === undefined ? '—' : x.toFixed(d));
  const mib = (kb) => f(kb / 1024);
  return [
    `| workload | rate req/s | seconds | requests | ok % | legate CPU µs/req | RSS at ${json.steadyFromS.toFixed(0)} s MiB | RSS at end MiB | max RSS MiB | envelope slope KiB/min | envelope growth MiB | flat (< ${FLAT_MIB} MiB) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${json.workload} | ${json.rate} | ${json.seconds} | ${json.requests} | ${f((100 * json.ok) / (json.requests || 1), 2)} | ${f(json.cpuUsPerReq)} | ${mib(json.rssStartKb)} | ${mib(json.rssEndKb)} | ${mib(json.rssMaxKb)} | ${f(json.envelopeSlopeKbPerMin)} | ${f(json.growthMiB, 2)} | ${json.flat ? 'yes' : 'no'} |`,
    '',
    `RSS per ${json.windowS.toFixed(0)} s window of the steady part, min–max MiB: ${json.windows
      .map((w) => `${w.fromS.toFixed(0)} s ${mib(w.minKb)}–${mib(w.maxKb)}`)
      .join(', ')}`,
    '',
  ].join('\n');
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
  const backend = await startBackendFor(ctx, workload);
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

    const ok = Math.max(0, (m.succeeded ?? 0) - (m.status?.['3xx'] ?? 0)); // as in measure.mjs
    const json = {
      workload: workload.name,
      seconds,
      rate: paced.rate,
      sampleMs: SAMPLE_MS,
      requests: m.done,
      ok,
      reqPerSec: m.reqPerSec,
      cpuUsPerReq: m.done ? cpuUs / m.done : undefined,
      peakRssKb: peakRssKb(pid),
      ...analyzeSoak(samples, seconds),
      requestTime: m.requestTime,
      argv: r.argv,
      samples,
    };
    const text = soakText(json);
    return { text, json };
  } catch (err) {
    return { text: `soak failed: ${err.message}\n`, json: { error: err.message, samples } };
  } finally {
    if (proc) await stopProcess(proc.handle);
    await backend.stop();
  }
}
