#!/usr/bin/env node
// legate benchmark harness. See bench/README.md.
//   node bench/run.mjs [--quick] [--only direct,legate,node-http,node-undici]
//                      [--workload http1-get,grpc-unary,http1-retry,grpc-retry] [--peer 'name=command'] [--title text]
//                      [--duration S] [--warmup S] [--no-append]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGrpcBackend, startHttpBackend } from './lib/backends.mjs';
import { latencyFromLog, parseH2load, runH2load, runPinned } from './lib/h2load.mjs';
import {
  coreBusyPercent,
  coreStealPercent,
  coreTimes,
  cpuDeltaUs,
  cpuTicks,
  peakRssKb,
  reapedChildrenCpuUs,
  setNiceness,
  waitForQuiet,
  stopProcess,
  tail,
} from './lib/proc.mjs';
import { checkTarget } from './lib/check.mjs';
import { appendResults, machineLine, oneLine, section, summarize, table } from './lib/report.mjs';
import { builtinTargets, peerFromSpec } from './lib/targets.mjs';
import { ensureH2load, ensureNginx, machineInfo } from './lib/tools.mjs';
import { WORKLOADS } from './lib/workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const workDir = path.join(benchDir, '.work');
const CPUS = { proxy: 0, load: 1 };
const log = (s) => process.stderr.write(`${s}\n`);

const USAGE = `usage: node bench/run.mjs [options]
  --quick                 short runs (1 s warm-up, 2 s measured) for CI smoke tests
  --only a,b              targets (default: direct,legate,node-http,node-undici + --peer names)
  --workload a,b          workloads (default: ${Object.keys(WORKLOADS).filter((n) => !WORKLOADS[n].optional).join(',')};
                          also: ${Object.keys(WORKLOADS).filter((n) => WORKLOADS[n].optional).join(',')})
  --peer 'name=cmd'       extra target; cmd may use {port} {upstream} {upstreamHost} {upstreamPort}
                          {ir} {repo}; 'name@http1-get=cmd' limits it to some workloads (repeatable)
  --duration S            measured seconds per run (default 8, --quick 2; max 10)
  --warmup S              warm-up seconds per run (default 2, --quick 1)
  --repeat N              measure each target N times, interleaved, and report medians (default 1)
  --max-other-load P      before each run, wait (up to 30 s) until no core is more than P% busy;
                          a run during which other processes used more than P% of a core
                          (see 'other load %') is redone, up to twice, and the quietest attempt
                          kept (default 25; 0 disables both)
  --nice N                niceness of the proxy, backend and h2load (default -10 as root, so
                          other work on the machine yields to them; 0 = off)
  --title text            heading of the section appended to bench/RESULTS.md
  --no-append             do not append to bench/RESULTS.md
`;

let opts;
try {
  opts = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      workload: { type: 'string' },
      peer: { type: 'string', multiple: true, default: [] },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      title: { type: 'string' },
      repeat: { type: 'string' },
      'max-other-load': { type: 'string' },
      nice: { type: 'string' },
      'no-append': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const durationS = Math.min(10, Number(opts.duration ?? (opts.quick ? 2 : 8)));
const warmupS = Math.min(10, Number(opts.warmup ?? (opts.quick ? 1 : 2)));
const maxOtherLoad = Number(opts['max-other-load'] ?? 25);
const NOISY_RETRIES = 2;
const QUIET_WAIT_MS = 30_000;
const niceness = setNiceness(Number(opts.nice ?? -10) || 0);
const repeat = Math.max(1, Math.min(10, Number(opts.repeat ?? 1)));
if (!(durationS > 0) || !(warmupS >= 0) || !Number.isInteger(repeat)) {
  process.stderr.write(`bad --duration, --warmup or --repeat\n${USAGE}`);
  process.exit(2);
}

const fail = (msg) => {
  log(`bench: ${msg}`);
  process.exit(2);
};
const list = (v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))];
const targets = builtinTargets();
const peerNames = [];
for (const spec of opts.peer) {
  let t;
  try {
    t = peerFromSpec(spec);
  } catch (err) {
    fail(err.message);
  }
  targets[t.name] = t;
  peerNames.push(t.name);
}
const targetNames = opts.only ? list(opts.only) : [...new Set([...Object.keys(builtinTargets()), ...peerNames])];
const workloadNames = opts.workload
  ? list(opts.workload)
  : Object.keys(WORKLOADS).filter((n) => !WORKLOADS[n].optional);
for (const n of targetNames)
  if (!targets[n]) fail(`unknown target "${n}" (known: ${Object.keys(targets).join(', ')})`);
for (const n of workloadNames)
  if (!WORKLOADS[n]) fail(`unknown workload "${n}" (known: ${Object.keys(WORKLOADS).join(', ')})`);

mkdirSync(workDir, { recursive: true });
try {
  ensureH2load(log);
} catch (err) {
  log(`bench: ${err.message}`);
  process.exit(1);
}
const needsHttp = workloadNames.some((n) => WORKLOADS[n].backend === 'http');
const nginx = needsHttp ? ensureNginx(log) : null;
if (needsHttp && !nginx) log('bench: nginx unavailable; using the Node HTTP backend (bench/backends/http-fixed.mjs)');
const machine = machineInfo({ nginx });
const date = new Date().toISOString();
log(`bench: ${machineLine(machine)}`);
log(`bench: targets ${targetNames.join(',')}; workloads ${workloadNames.join(',')}; warm-up ${warmupS} s, measured ${durationS} s`);

const runs = [];
const backendsUsed = new Set();

async function h2load(workload, host, port, seconds, logFile) {
  const args = workload.h2loadArgs({ host, port, seconds, workDir });
  if (logFile) args.unshift(`--log-file=${logFile}`);
  const r = await runH2load(args, { cpu: CPUS.load, timeoutMs: (seconds + 10) * 1000 });
  const parsed = parseH2load(r.stdout);
  if (r.timedOut) throw new Error(`h2load did not finish within ${seconds + 10} s`);
  if (r.code !== 0 || parsed.succeeded === undefined)
    throw new Error(`h2load exited ${r.code}: ${tail(`${r.stdout}\n${r.stderr}`, 5)}`);
  // done = succeeded (2xx/3xx) + failed (other statuses, errors, timeouts). The status counts
  // also include streams whose headers arrived but which were still open when -D ran out (not
  // done), so ok = 2xx is capped by succeeded to stay a subset of done.
  const ok = Math.min(parsed.status?.['2xx'] ?? 0, parsed.succeeded ?? 0);
  return { ...parsed, ok, requests: parsed.done ?? ok, successBasis: '2xx', argv: r.argv };
}

/** bench/loadgen/grpc-unary-client.mjs: like h2load, but it reads grpc-status. */
async function grpcClient(workload, host, port, seconds) {
  const script = path.join(benchDir, 'loadgen/grpc-unary-client.mjs');
  const { argv, code, stdout, stderr, timedOut } = await runPinned([process.execPath, script, ...workload.clientArgs({ host, port, seconds })], {
    cpu: CPUS.load,
    timeoutMs: (seconds + 10) * 1000,
  });
  if (timedOut) throw new Error(`grpc-unary-client did not finish within ${seconds + 10} s`);
  let r;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`grpc-unary-client exited ${code}: ${tail(`${stdout}\n${stderr}`, 5)}`);
  }
  // ok = calls with :status 200 and grpc-status 0; every completed call counts as a request.
  return { ...r, ok: r.succeeded, requests: r.done, successBasis: 'grpc-status', argv };
}

/** The workload's load generator: h2load, or the gRPC client where grpc-status decides success. */
function load(workload, host, port, seconds, logFile) {
  return workload.client === 'grpc' ? grpcClient(workload, host, port, seconds) : h2load(workload, host, port, seconds, logFile);
}

async function runOne(workload, target, backend, rep) {
  const base = { workload: workload.name, target: target.name, rep };
  let proc = null;
  try {
    if (!target.direct) {
      proc = await target.start({
        backend,
        workload,
        cpu: CPUS.proxy,
        workDir,
        repoDir,
        benchDir,
      });
    }
    const host = proc ? proc.host : backend.host;
    const port = proc ? proc.port : backend.port;

    await checkTarget(workload, host, port);
    if (warmupS > 0) {
      const warm = await load(workload, host, port, warmupS);
      if (!warm.ok)
        throw new Error(
          `warm-up: no successful response (${warm.failed} failed, ${warm.errored} errored, status ${JSON.stringify(warm.status)}` +
            `${warm.grpcStatus ? `, grpc-status ${JSON.stringify(warm.grpcStatus)}` : ''})`,
        );
    }
    if (proc?.handle.exitInfo) throw new Error(`${target.name} exited during warm-up: ${tail(proc.handle.output(), 5)}`);

    const logFile = path.join(workDir, `h2load-${workload.name}-${target.name}.log`);
    const cores0 = coreTimes();
    const p0 = proc ? cpuTicks(proc.handle.pid) : null;
    const b0 = cpuTicks(backend.handle.pid);
    const l0 = reapedChildrenCpuUs();
    const t0 = process.hrtime.bigint();
    const m = await load(workload, host, port, durationS, logFile);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const l1 = reapedChildrenCpuUs();
    const p1 = proc ? cpuTicks(proc.handle.pid) : null;
    const b1 = cpuTicks(backend.handle.pid);
    const cores1 = coreTimes();
    // After the readings: parsing h2load's log is the harness's own work. The gRPC client
    // computes its percentiles itself.
    const latency = m.latency ?? latencyFromLog(logFile);

    // ok = successful client requests: 2xx for h2load (whose "succeeded" also counts 3xx), :status
    // 200 with grpc-status 0 for the gRPC client. requests = every completed client request,
    // answered or not (h2load's "done"); bad = requests - ok. CPU per request is per client
    // request: with retries one client request costs several upstream attempts.
    const ok = m.ok;
    const requests = m.requests;
    const bad = requests - ok;
    const perReq = (us) => (requests ? us / requests : undefined);
    const pct = (us) => (100 * us) / wallUs;
    const backendUs = cpuDeltaUs(b0, b1);
    const loadUs = l1 - l0;
    const proxyUs = p0 ? cpuDeltaUs(p0, p1) : 0;
    const cores = coreBusyPercent(cores0, cores1);
    // Anything but the proxy (CPU 0) and the backend and h2load (CPU 1), per core.
    const otherLoad = [
      Math.max(0, (cores[CPUS.proxy] ?? 0) - pct(proxyUs)),
      Math.max(0, (cores[CPUS.load] ?? 0) - pct(backendUs) - pct(loadUs)),
    ];
    const result = {
      ...base,
      reqPerSec: m.reqPerSec,
      durationS: m.durationS,
      wallS: wallUs / 1e6,
      total: m.total,
      done: m.done,
      succeeded: m.succeeded,
      failed: m.failed,
      errored: m.errored,
      timeout: m.timeout,
      status: m.status,
      ...(m.grpcStatus ? { grpcStatus: m.grpcStatus } : {}),
      ok,
      bad,
      requests,
      successPercent: requests ? (100 * ok) / requests : undefined,
      successBasis: workload.backend === 'grpc' && m.successBasis === '2xx' ? ':status 2xx (h2load does not read grpc-status)' : m.successBasis,
      latency: latency ?? { meanMs: m.requestTime?.meanMs, maxMs: m.requestTime?.maxMs, note: 'no --log-file data' },
      ...(m.failedLatency ? { failedLatency: m.failedLatency } : {}),
      h2loadRequestTime: m.requestTime,
      backend: { kind: backend.kind, cpuUs: backendUs, cpuUsPerReq: perReq(backendUs), cpuPercent: pct(backendUs) },
      // The load generator (h2load, or bench/loadgen/grpc-unary-client.mjs); key kept for last.json readers.
      h2load: { tool: workload.client === 'grpc' ? 'grpc-unary-client' : 'h2load', cpuUs: loadUs, cpuUsPerReq: perReq(loadUs), cpuPercent: pct(loadUs), argv: m.argv },
      coresBusyPercent: cores,
      coresStealPercent: coreStealPercent(cores0, cores1),
      // CPU used by anything but the proxy, the backend and h2load (other users of the machine,
      // kernel threads) on the busier of the two cores, in percent of that core, and per core.
      otherLoadPercent: Math.max(...otherLoad),
      otherLoadPerCore: otherLoad,
    };
    if (proc) {
      result.proxy = {
        pid: proc.handle.pid,
        argv: proc.handle.argv,
        cpuUs: proxyUs,
        cpuUsPerReq: perReq(proxyUs),
        cpuUsPerOk: ok ? proxyUs / ok : undefined,
        cpuPercent: pct(proxyUs),
        peakRssKb: peakRssKb(proc.handle.pid),
      };
      if (proc.handle.exitInfo) result.proxy.exitedDuringRun = proc.handle.exitInfo;
    }
    return result;
  } catch (err) {
    const output = err.output ?? proc?.handle.output();
    let outputFile;
    if (output) {
      outputFile = path.join(workDir, `${target.name}-${workload.name}.out`);
      writeFileSync(outputFile, output);
    }
    return { ...base, error: err.message, ...(outputFile ? { outputFile: path.relative(repoDir, outputFile) } : {}) };
  } finally {
    if (proc) await stopProcess(proc.handle);
  }
}

const fmt = (x, d = 1) => (x === undefined ? '—' : x.toFixed(d));
for (const wname of workloadNames) {
  const workload = { name: wname, ...WORKLOADS[wname] };
  let backend;
  try {
    const failRatio = workload.failRatio ?? 0;
    backend =
      workload.backend === 'http'
        ? await startHttpBackend({ nginx, workDir, cpu: CPUS.load, benchDir, log, failRatio })
        : await startGrpcBackend({ cpu: CPUS.load, benchDir, failRatio });
    backendsUsed.add(`${wname}: ${backend.kind}`);
  } catch (err) {
    for (const t of targetNames) runs.push({ workload: wname, target: t, rep: 1, error: `backend: ${err.message}` });
    log(`bench: ${wname}: backend failed to start: ${err.message}`);
    continue;
  }
  try {
    const skipped = [];
    const active = targetNames.filter((tname) => {
      const reason = targets[tname].skip?.(workload) ?? null;
      if (reason) {
        log(`bench: ${wname} / ${tname}: skipped (${reason})`);
        skipped.push({ workload: wname, target: tname, rep: 1, skipped: reason });
        return false;
      }
      return true;
    });
    const broken = new Set();
    for (let rep = 1; rep <= repeat; rep++) {
      for (const tname of active) {
        if (broken.has(tname)) continue;
        log(`bench: ${wname} / ${tname}${repeat > 1 ? ` (run ${rep}/${repeat})` : ''} ...`);
        let r;
        for (let attempt = 0; attempt <= NOISY_RETRIES; attempt++) {
          if (maxOtherLoad > 0) {
            const q = await waitForQuiet(maxOtherLoad, QUIET_WAIT_MS);
            if (!q.quiet)
              log(`bench: the machine is busy (cores ${q.busy.map((b) => fmt(b, 0)).join('% / ')}%) after waiting ${Math.round(q.waitedMs / 1000)} s; measuring anyway`);
          }
          const x = await runOne(workload, targets[tname], backend, rep);
          if (x.error) {
            r = x;
            break;
          }
          x.attempt = attempt + 1;
          if (!r || x.otherLoadPercent < r.otherLoadPercent) r = x;
          if (!(maxOtherLoad > 0) || x.otherLoadPercent <= maxOtherLoad) break;
          log(
            `bench: ${wname} / ${tname}: other processes used ${fmt(x.otherLoadPercent, 0)}% of a core during the run` +
              (attempt < NOISY_RETRIES ? '; running it again' : '; keeping the quietest attempt'),
          );
        }
        if (!r.error && maxOtherLoad > 0 && r.otherLoadPercent > maxOtherLoad) r.noisy = true;
        if (r.error) {
          log(`bench: ${wname} / ${tname}: FAILED: ${oneLine(r.error)}${r.outputFile ? `\n  (full output in ${r.outputFile})` : ''}`);
          broken.add(tname); // a target that fails once is not retried
        } else {
          log(
            `bench: ${wname} / ${tname}: ${Math.round(r.reqPerSec)} req/s, ${r.ok} ok, ${r.bad} bad (success ${fmt(r.successPercent, 2)}%), p50 ${fmt(r.latency.p50Ms, 3)} ms, p99 ${fmt(r.latency.p99Ms, 3)} ms` +
              (r.proxy ? `, proxy ${fmt(r.proxy.cpuUsPerReq)} µs/req (${fmt(r.proxy.cpuPercent, 0)}% CPU)` : '') +
              `, other load ${fmt(r.otherLoadPercent, 0)}%`,
          );
        }
        runs.push(r);
      }
    }
    runs.push(...skipped); // after the measured targets in the table
  } finally {
    await backend.stop();
  }
}

const results = summarize(runs);
const settings = { quick: opts.quick, warmupS, durationS, repeat, maxOtherLoad, niceness, cpus: CPUS };
const out = {
  date,
  machine,
  settings,
  workloads: Object.fromEntries(workloadNames.map((n) => [n, WORKLOADS[n].description])),
  backends: [...backendsUsed],
  results,
  runs,
};
writeFileSync(path.join(workDir, 'last.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`\n${table(results)}\n\n`);
if (!opts['no-append']) {
  const title = opts.title ?? `Run ${date.slice(0, 16).replace('T', ' ')} UTC${opts.quick ? ' (quick)' : ''}`;
  appendResults(path.join(benchDir, 'RESULTS.md'), section({ title, date, machine, settings, results, backends: [...backendsUsed] }));
  log('bench: appended to bench/RESULTS.md; JSON in bench/.work/last.json');
}
process.exitCode = results.some((r) => r.error) ? 1 : 0;
