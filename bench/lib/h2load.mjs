// Runs h2load and turns its output (and --log-file) into numbers.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { pinned } from './proc.mjs';

/**
 * Runs a command pinned to `cpu` to completion, collecting its output. `timeoutMs` is a hard
 * bound: past it the process is killed. `onSpawn(child)` is called once it runs (its pid is the
 * command's: nice and taskset exec). Returns { argv, code, stdout, stderr, timedOut }.
 */
export function runPinned(command, { cpu, timeoutMs, onSpawn }) {
  const argv = pinned(cpu, command);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ argv, code, stdout, stderr, timedOut });
    });
  });
}

/** Runs h2load to completion (see runPinned). */
export function runH2load(args, opts) {
  return runPinned(['h2load', ...args], opts);
}

const num = (s) => (s === undefined ? undefined : Number(s));

/** Converts h2load's "1.23ms" / "456us" / "1.2s" to milliseconds. */
function toMs(v) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return undefined;
  const x = Number(m[1]);
  return m[2] === 'us' ? x / 1000 : m[2] === 's' ? x * 1000 : x;
}

/** Parses h2load's summary. */
export function parseH2load(stdout) {
  const r = {};
  let m = /finished in ([\d.]+)(s|ms), ([\d.]+) req\/s/.exec(stdout);
  if (m) {
    r.durationS = m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
    r.reqPerSec = Number(m[3]);
  }
  m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (m) {
    [r.total, r.started, r.done, r.succeeded, r.failed, r.errored, r.timeout] = m.slice(1).map(num);
  }
  m = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (m) r.status = { '2xx': num(m[1]), '3xx': num(m[2]), '4xx': num(m[3]), '5xx': num(m[4]) };
  // traffic: 38.04MB (39889380) total, 1.30MB (1360000) headers (space savings 95.47%), 35.88MB (37620000) data
  m = /traffic: \S+ \((\d+)\) total, \S+ \((\d+)\) headers.*?, \S+ \((\d+)\) data/.exec(stdout);
  if (m) r.traffic = { totalBytes: num(m[1]), headerBytes: num(m[2]), dataBytes: num(m[3]) };
  m = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
  if (m) r.requestTime = { minMs: toMs(m[1]), maxMs: toMs(m[2]), meanMs: toMs(m[3]), sdMs: toMs(m[4]) };
  return r;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  // Nearest-rank method.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Reads h2load's --log-file (start µs since epoch, status, µs until end of response) and returns
 * exact latency percentiles in milliseconds over the requests with a 2xx/3xx status.
 */
export function latencyFromLog(file, { remove = true } = {}) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  if (remove) rmSync(file, { force: true });
  const lat = [];
  let other = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [, status, us] = line.split('\t');
    const s = Number(status);
    if (s >= 200 && s < 400) lat.push(Number(us));
    else other++;
  }
  const a = Float64Array.from(lat).sort();
  const ms = (x) => (x === undefined ? undefined : x / 1000);
  let sum = 0;
  for (const x of a) sum += x;
  return {
    samples: a.length,
    nonSuccessRows: other,
    p50Ms: ms(percentile(a, 50)),
    p90Ms: ms(percentile(a, 90)),
    p99Ms: ms(percentile(a, 99)),
    p999Ms: ms(percentile(a, 99.9)),
    maxMs: ms(a[a.length - 1]),
    meanMs: a.length ? ms(sum / a.length) : undefined,
  };
}
