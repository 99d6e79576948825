// One measured run of a target on a workload: start the target, check it, warm up, then measure
// (load workloads: rate, latency, CPU per request from /proc, upstream connections; idle-10k:
// memory per idle connection, see idle.mjs).
//   ctx: { benchDir, repoDir, workDir, cpus: { proxy, load }, tools, warmupS, durationS,
//          idleConnections, idleSettleMs, legateNodeArgs? }
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkTarget, grpcResponseBytes } from './check.mjs';
import { latencyFromLog, parseH2load, runH2load, runPinned } from './h2load.mjs';
import { measureIdle } from './idle.mjs';
import {
  coreBusyPercent,
  coreStealPercent,
  coreTimes,
  cpuDeltaUs,
  cpuTicks,
  peakRssKb,
  reapedChildrenCpuUs,
  stopProcess,
  tail,
} from './proc.mjs';

/**
 * h2load with `--warm-up-time`: warm-up and measurement on the same connections, so no request is
 * cut off between them (a proxy that closes the upstream connection of an aborted request would
 * otherwise open new ones in the measured part). Counts, rate and --log-file cover the measured part.
 */
async function h2load(ctx, workload, host, port, { warmupS, durationS, logFile, onSpawn }) {
  const args = workload.h2loadArgs({ host, port, seconds: durationS, workDir: ctx.workDir });
  if (warmupS > 0) args.unshift(`--warm-up-time=${warmupS}s`);
  if (logFile) args.unshift(`--log-file=${logFile}`);
  const limitS = warmupS + durationS + 10;
  const r = await runH2load(args, { cpu: ctx.cpus.load, timeoutMs: limitS * 1000, onSpawn });
  const parsed = parseH2load(r.stdout);
  if (r.timedOut) throw new Error(`h2load did not finish within ${limitS} s`);
  if (r.code !== 0 || parsed.succeeded === undefined) throw new Error(`h2load exited ${r.code}: ${tail(`${r.stdout}\n${r.stderr}`, 5)}`);
  // done = succeeded (finished with 2xx or 3xx) + failed (other statuses, errors, timeouts); the
  // bench backends send no 3xx. The status counts are not used for ok: with --warm-up-time they
  // miss the streams whose headers came in the warm-up and end in the measured part, and they
  // count streams whose headers came before the end but which were still open (not done).
  const ok = Math.max(0, (parsed.succeeded ?? 0) - (parsed.status?.['3xx'] ?? 0));
  // "finished in" includes the warm-up; req/s is over the measured part.
  return { ...parsed, durationS, ok, requests: parsed.done ?? ok, successBasis: '2xx', argv: r.argv };
}

/** bench/loadgen/grpc-unary-client.mjs: like h2load, but it reads grpc-status. */
async function grpcClient(ctx, workload, host, port, { warmupS, durationS, onSpawn }) {
  const script = path.join(ctx.benchDir, 'loadgen/grpc-unary-client.mjs');
  const limitS = warmupS + durationS + 10;
  const command = [process.execPath, script, ...workload.clientArgs({ host, port, seconds: durationS }), '--warmup', String(warmupS)];
  const { argv, code, stdout, stderr, timedOut } = await runPinned(command, { cpu: ctx.cpus.load, timeoutMs: limitS * 1000, onSpawn });
  if (timedOut) throw new Error(`grpc-unary-client did not finish within ${limitS} s`);
  let r;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`grpc-unary-client exited ${code}: ${tail(`${stdout}\n${stderr}`, 5)}`);
  }
  // ok = calls with :status 200 and grpc-status 0; every completed call counts as a request.
  return { ...r, ok: r.succeeded, requests: r.done, successBasis: 'grpc-status', argv };
}

/**
 * The workload's load generator, warm-up included (opts: { warmupS, durationS, logFile, onSpawn }):
 * h2load, or the gRPC client where grpc-status decides success.
 */
export function load(ctx, workload, host, port, opts) {
  return workload.client === 'grpc' ? grpcClient(ctx, workload, host, port, opts) : h2load(ctx, workload, host, port, opts);
}

/**
 * Payload throughput of a run: MiB/s of request or response bodies (1 MiB workloads: requests x
 * bytesPerRequest; gRPC streaming: h2load's DATA bytes) and, for streaming, messages per second.
 */
function throughput(workload, m) {
  const s = m.durationS;
  if (!s) return {};
  if (workload.stream && m.traffic) {
    const perCall = grpcResponseBytes(workload.stream);
    // Not h2load's `data` count: with --warm-up-time it keeps the warm-up's bytes (nghttp2 1.52),
    // while `total` and `headers` cover the measured part. total - headers also counts HTTP/2
    // frame headers (9 bytes a frame, under 0.5 % here).
    const bytes = m.traffic.totalBytes - m.traffic.headerBytes;
    return { mibPerSec: bytes / s / 2 ** 20, messagesPerSec: ((bytes / perCall) * workload.stream.messages) / s };
  }
  if (workload.bytesPerRequest) return { mibPerSec: ((m.ok ?? 0) * workload.bytesPerRequest) / s / 2 ** 20 };
  return {};
}

/** CPU readings of the proxy, the backend, the cores and the load generator, at one moment. */
function snapshot(proc, backend, loadPid) {
  return {
    at: process.hrtime.bigint(),
    cores: coreTimes(),
    proxy: proc ? cpuTicks(proc.handle.pid) : null,
    backend: cpuTicks(backend.handle.pid),
    // CPU the load generator used so far (its warm-up), subtracted from its total at the end.
    loadUs: loadPid ? cpuDeltaUs({ per: {} }, cpuTicks(loadPid)) : 0,
  };
}

async function measureLoad(ctx, workload, proc, backend, host, port) {
  const logFile = path.join(ctx.workDir, `h2load-${workload.name}-${proc ? proc.handle.name : 'direct'}.log`);
  // The measured part starts warmupS after the load generator started: the readings are taken then.
  let first;
  let timer;
  const reaped0 = reapedChildrenCpuUs();
  const onSpawn = (child) => {
    const take = () => {
      first = snapshot(proc, backend, child.pid);
      first.accepts = backend.accepts().catch(() => NaN);
    };
    if (ctx.warmupS > 0) timer = setTimeout(take, ctx.warmupS * 1000);
    else take();
  };
  const m = await load(ctx, workload, host, port, { warmupS: ctx.warmupS, durationS: ctx.durationS, logFile, onSpawn });
  clearTimeout(timer);
  const last = snapshot(proc, backend, null);
  const reaped1 = reapedChildrenCpuUs();
  if (!first) throw new Error('the load generator ended before its warm-up did');
  const a1 = await backend.accepts();
  if (!m.ok)
    throw new Error(
      `no successful response (${m.failed} failed, ${m.errored} errored, status ${JSON.stringify(m.status)}` +
        `${m.grpcStatus ? `, grpc-status ${JSON.stringify(m.grpcStatus)}` : ''})`,
    );
  if (proc?.handle.exitInfo) throw new Error(`${proc.handle.name} exited during the run: ${tail(proc.handle.output(), 5)}`);
  const wallUs = Number(last.at - first.at) / 1000;
  const cores0 = first.cores;
  const cores1 = last.cores;
  const upstreamConns = a1 - (await first.accepts);
  // After the readings: parsing h2load's log is the harness's own work. The gRPC client
  // computes its percentiles itself.
  const latency = m.latency ?? latencyFromLog(logFile);

  // ok = successful client requests: finished with 2xx for h2load (see h2load() above), :status
  // 200 with grpc-status 0 for the gRPC client. requests = every completed client request,
  // answered or not (h2load's "done"); bad = requests - ok. CPU per request is per client
  // request: with retries one client request costs several upstream attempts.
  const { ok, requests } = m;
  const perReq = (us) => (requests ? us / requests : undefined);
  const pct = (us) => (100 * us) / wallUs;
  const backendUs = cpuDeltaUs(first.backend, last.backend);
  const loadUs = reaped1 - reaped0 - first.loadUs;
  const proxyUs = proc ? cpuDeltaUs(first.proxy, last.proxy) : 0;
  const cores = coreBusyPercent(cores0, cores1);
  // Anything but the proxy (proxy CPU) and the backend and the load generator (load CPU), per core.
  const other = {};
  other[ctx.cpus.proxy] = Math.max(0, (cores[ctx.cpus.proxy] ?? 0) - pct(proxyUs));
  other[ctx.cpus.load] = Math.max(
    0,
    (cores[ctx.cpus.load] ?? 0) - pct(backendUs) - pct(loadUs) - (ctx.cpus.load === ctx.cpus.proxy ? pct(proxyUs) : 0),
  );
  const otherLoad = Object.values(other);
  const result = {
    reqPerSec: m.reqPerSec,
    durationS: m.durationS,
    // The measured part on the monotonic clock, in µs (to cut CPU profiles to it).
    monotonicUs: [Number(first.at / 1000n), Number(last.at / 1000n)],
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
    bad: requests - ok,
    requests,
    successPercent: requests ? (100 * ok) / requests : undefined,
    successBasis:
      workload.backend === 'grpc' && m.successBasis === '2xx' ? ':status 2xx (h2load does not read grpc-status)' : m.successBasis,
    latency: latency ?? { meanMs: m.requestTime?.meanMs, maxMs: m.requestTime?.maxMs, note: 'no --log-file data' },
    ...(m.failedLatency ? { failedLatency: m.failedLatency } : {}),
    ...(m.traffic ? { traffic: m.traffic } : {}),
    ...throughput(workload, m),
    upstreamConns,
    h2loadRequestTime: m.requestTime,
    backend: { kind: backend.kind, cpuUs: backendUs, cpuUsPerReq: perReq(backendUs), cpuPercent: pct(backendUs) },
    // The load generator (h2load, or bench/loadgen/grpc-unary-client.mjs); key kept for last.json readers.
    h2load: {
      tool: workload.client === 'grpc' ? 'grpc-unary-client' : 'h2load',
      cpuUs: loadUs,
      cpuUsPerReq: perReq(loadUs),
      cpuPercent: pct(loadUs),
      argv: m.argv,
    },
    coresBusyPercent: cores,
    coresStealPercent: coreStealPercent(cores0, cores1),
    // CPU used by anything but the proxy, the backend and the load generator (other users of the
    // machine, kernel threads) on the busier of the two cores, in percent of that core, and per core.
    otherLoadPercent: Math.max(...otherLoad),
    otherLoadPerCore: other,
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
  }
  return result;
}

/** Where a failed run's output is kept. */
const outFile = (ctx, target, workload) => path.join(ctx.workDir, `${target.name}-${workload.name}.out`);

export async function runOne(ctx, workload, target, backend, rep) {
  rmSync(outFile(ctx, target, workload), { force: true });
  const base = { workload: workload.name, target: target.name, rep, ...(workload.client === 'idle' ? { kind: 'idle' } : {}) };
  let proc = null;
  try {
    const aStart = await backend.accepts();
    if (!target.direct) {
      proc = await target.start({ ...ctx, backend, workload, cpu: ctx.cpus.proxy });
    }
    const host = proc ? proc.host : backend.host;
    const port = proc ? proc.port : backend.port;

    await checkTarget(workload, host, port);
    let result;
    if (workload.client === 'idle') {
      const subjectPid = proc ? proc.handle.pid : backend.handle.pid;
      const idle = await measureIdle({
        host,
        port,
        path: workload.request.path,
        subjectPid,
        backend,
        connections: ctx.idleConnections ?? workload.connections,
        settleMs: ctx.idleSettleMs,
        cpu: ctx.cpus.load,
        benchDir: ctx.benchDir,
      });
      result = { ...base, idle, subject: proc ? 'proxy' : 'backend', otherLoadPercent: 0 };
    } else {
      result = { ...base, ...(await measureLoad(ctx, workload, proc, backend, host, port)) };
    }
    result.upstreamConnsTotal = (await backend.accepts()) - aStart;
    if (proc?.handle.exitInfo) result.exitedDuringRun = proc.handle.exitInfo;
    return result;
  } catch (err) {
    const output = err.output ?? proc?.handle.output();
    let outputFile;
    if (output) {
      outputFile = outFile(ctx, target, workload);
      writeFileSync(outputFile, output);
    }
    return { ...base, error: err.message, ...(outputFile ? { outputFile: path.relative(ctx.repoDir, outputFile) } : {}) };
  } finally {
    if (proc) await stopProcess(proc.handle);
  }
}
