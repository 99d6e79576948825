// Process helpers: spawn pinned processes, wait for ports, read CPU time and RSS from /proc.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

const live = new Set();

/** Kill every process this harness started (by pid) when it exits or is interrupted. */
function killAllSync() {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllSync();
    process.exit(130);
  });
}

let niceness = 0;
/**
 * Niceness for every process the harness starts (proxy, backend, h2load). Negative values need
 * root; without it the setting is ignored. Processes of other users of the machine then yield
 * to the measured ones instead of sharing their cores evenly.
 */
export function setNiceness(n) {
  niceness = n < 0 && process.getuid?.() !== 0 ? 0 : n;
  return niceness;
}

let tasksetOk;
/**
 * Returns argv prefixed with `nice -n <niceness>` (when set) and `taskset -c <cpu>` (when taskset
 * works here). Both exec, so the pid of the spawned process is the pid of the command itself.
 */
export function pinned(cpu, argv) {
  const prio = niceness !== 0 ? ['nice', '-n', String(niceness)] : [];
  return [...prio, ...pinnedOnly(cpu, argv)];
}

function pinnedOnly(cpu, argv) {
  if (tasksetOk === undefined) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      tasksetOk = true;
    } catch {
      tasksetOk = false;
      process.stderr.write('bench: taskset is unavailable; processes are not pinned\n');
    }
  }
  return tasksetOk && cpu !== undefined && cpu !== null ? ['taskset', '-c', String(cpu), ...argv] : argv;
}

/**
 * Starts a long-running process. Returns { child, pid, exited (promise), output() }.
 * stdout/stderr are kept (last 64 KiB) for error reports.
 */
export function startProcess(name, argv, { cwd, env } = {}) {
  const child = spawn(argv[0], argv.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const handle = {
    name,
    argv,
    child,
    pid: child.pid,
    exitInfo: null,
    output: () => out,
  };
  handle.exited = new Promise((resolve) => {
    child.on('error', (err) => {
      handle.exitInfo = { error: err.message };
      live.delete(handle);
      resolve(handle.exitInfo);
    });
    child.on('exit', (code, signal) => {
      handle.exitInfo = { code, signal };
      live.delete(handle);
      resolve(handle.exitInfo);
    });
  });
  live.add(handle);
  return handle;
}

/** SIGTERM, then SIGKILL after `graceMs`. Only ever signals the pid we started. */
export async function stopProcess(handle, graceMs = 3000) {
  if (!handle || handle.exitInfo) return;
  try {
    process.kill(handle.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(handle.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await handle.exited;
  clearTimeout(t);
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port, host) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

/**
 * Waits until 127.0.0.1:port accepts a connection. Fails early if `handle` exits first.
 * Throws an Error with the process output on failure.
 */
export async function waitForPort(port, handle, timeoutMs = 15000, host = '127.0.0.1') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle?.exitInfo) {
      throw new Error(`${handle.name} exited before listening (${JSON.stringify(handle.exitInfo)}):\n${tail(handle.output())}`);
    }
    if (await tryConnect(port, host)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${handle?.name ?? 'process'} did not accept connections on ${host}:${port} within ${timeoutMs} ms:\n${tail(handle?.output() ?? '')}`,
  );
}

export function tail(text, lines = 15) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Parses /proc/<pid>/stat; the comm field may contain spaces, so split after the last ')'. */
function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field N is rest[N - 3].
    return {
      ppid: Number(rest[1]),
      utime: Number(rest[11]),
      stime: Number(rest[12]),
      cutime: Number(rest[13]),
      cstime: Number(rest[14]),
    };
  } catch {
    return null;
  }
}

/** pid and all its live descendants. */
export function processTree(pid) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(d);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(d));
    children.set(st.ppid, list);
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** utime+stime in clock ticks of a process and its live descendants, by pid. */
export function cpuTicks(pid) {
  const per = {};
  let total = 0;
  for (const p of processTree(pid)) {
    const st = readStat(p);
    if (!st) continue;
    per[p] = st.utime + st.stime;
    total += per[p];
  }
  return { total, per };
}

/** Difference of two cpuTicks() snapshots, in microseconds (only pids alive at the end count fully). */
export function cpuDeltaUs(before, after) {
  let ticks = 0;
  for (const [p, t] of Object.entries(after.per)) ticks += t - (before.per[p] ?? 0);
  return (ticks * 1e6) / CLK_TCK;
}

/** Sum of a /proc/<pid>/status field in kB (VmHWM, VmRSS) over a process and, unless `alone`, its descendants. */
function statusKb(pid, field, alone = false) {
  let total = 0;
  for (const p of alone ? [pid] : processTree(pid)) {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Sum of VmHWM (peak RSS) in KiB over a process and its descendants (`alone`: the process only). */
export const peakRssKb = (pid, alone) => statusKb(pid, 'VmHWM', alone);
/** Sum of VmRSS (resident memory now) in KiB over a process and its descendants (`alone`: the process only). */
export const rssKb = (pid, alone) => statusKb(pid, 'VmRSS', alone);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Per-CPU { busy, total } jiffies from /proc/stat. */
export function coreTimes() {
  const out = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2].split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal (guest time is already in user)
      const idle = v[3] + (v[4] || 0);
      const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
      out[Number(m[1])] = { busy: total - idle, total, steal: v[7] || 0 };
    }
  } catch {
    /* not linux */
  }
  return out;
}

/** Busy percent per core between two coreTimes() snapshots. */
export function coreBusyPercent(before, after) {
  return after.map((a, i) => {
    const b = before[i];
    if (!b) return undefined;
    const dt = a.total - b.total;
    return dt > 0 ? (100 * (a.busy - b.busy)) / dt : undefined;
  });
}

/**
 * CPU time, in microseconds, of this process's children that have exited and been reaped
 * (cutime + cstime of /proc/self/stat). Taken around an h2load run, its delta is h2load's CPU time.
 */
export function reapedChildrenCpuUs() {
  const st = readStat('self');
  return st ? ((st.cutime + st.cstime) * 1e6) / CLK_TCK : 0;
}

/**
 * Waits (at most `maxWaitMs`) until, over a 1 s sample, no core is busier than `thresholdPercent`.
 * Call it while nothing of the harness is running. Returns { quiet, waitedMs, busy }.
 */
export async function waitForQuiet(thresholdPercent, maxWaitMs) {
  const start = Date.now();
  let busy = [];
  for (;;) {
    const a = coreTimes();
    await new Promise((r) => setTimeout(r, 1000));
    busy = coreBusyPercent(a, coreTimes());
    if (busy.every((b) => b === undefined || b <= thresholdPercent)) return { quiet: true, waitedMs: Date.now() - start, busy };
    if (Date.now() - start >= maxWaitMs) return { quiet: false, waitedMs: Date.now() - start, busy };
  }
}

/** Percent of each core's time stolen by the hypervisor between two coreTimes() snapshots. */
export function coreStealPercent(before, after) {
  return after.map((a, i) => {
    const b = before[i];
    if (!b) return undefined;
    const dt = a.total - b.total;
    return dt > 0 ? (100 * (a.steal - b.steal)) / dt : undefined;
  });
}
