// idle-10k: memory of a target holding many idle keep-alive connections.
// bench/loadgen/idle-conns.mjs (on the load CPU) opens the connections, one GET each, and holds
// them; the harness reads the subject's resident memory (VmRSS, the target's process tree, or the
// backend's for `direct`) before and while they are held.
import path from 'node:path';
import { cpuDeltaUs, cpuTicks, peakRssKb, pinned, rssKb, sleep, startProcess, stopProcess, tail } from './proc.mjs';

const OPEN_TIMEOUT_MS = 60_000;

/** The first JSON line of `output` with the given phase, or undefined. */
function phaseLine(output, phase) {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line);
      if (j.phase === phase) return j;
    } catch {
      /* partial line */
    }
  }
  return undefined;
}

async function waitFor(handle, phase, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = phaseLine(handle.output(), phase);
    if (j) return j;
    if (handle.exitInfo) throw new Error(`idle-conns exited (${JSON.stringify(handle.exitInfo)}): ${tail(handle.output(), 5)}`);
    if (Date.now() > deadline) throw new Error(`idle-conns: no "${phase}" within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Opens `connections` idle connections to host:port and measures `subjectPid`'s memory.
 * `settleMs` after the last connection is open, VmRSS is read again. Returns the `idle` fields of a run.
 */
export async function measureIdle({ host, port, path: urlPath, subjectPid, backend, connections, settleMs, cpu, benchDir }) {
  const rssBeforeKb = rssKb(subjectPid);
  const a0 = await backend.accepts();
  const c0 = cpuTicks(subjectPid);
  const argv = [
    process.execPath,
    path.join(benchDir, 'loadgen/idle-conns.mjs'),
    '--host',
    host,
    '--port',
    String(port),
    '--path',
    urlPath,
    '--connections',
    String(connections),
    '--open-timeout-ms',
    String(OPEN_TIMEOUT_MS),
    '--hold-ms',
    String(settleMs + 2000),
  ];
  const handle = startProcess('idle-conns', pinned(cpu, argv));
  try {
    const ready = await waitFor(handle, 'ready', OPEN_TIMEOUT_MS + 15_000);
    const cpuUs = cpuDeltaUs(c0, cpuTicks(subjectPid));
    await sleep(settleMs);
    const rssIdleKb = rssKb(subjectPid);
    const peak = peakRssKb(subjectPid);
    const upstreamConns = (await backend.accepts()) - a0;
    const done = await waitFor(handle, 'done', settleMs + 20_000);
    return {
      connections: ready.open,
      failed: ready.failed,
      openMs: ready.openMs,
      stillOpen: done.stillOpen,
      closedByPeer: done.closedByPeer,
      rssBeforeKb,
      rssIdleKb,
      perConnKb: ready.open ? (rssIdleKb - rssBeforeKb) / ready.open : undefined,
      peakRssKb: peak,
      cpuUsPerConn: ready.open ? cpuUs / ready.open : undefined,
      upstreamConns,
      argv: handle.argv,
    };
  } finally {
    await stopProcess(handle);
  }
}
