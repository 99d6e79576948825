// Markdown table, RESULTS.md section, last.json.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';

const f = (x, digits = 2) => (x === undefined || x === null || Number.isNaN(x) ? '—' : Number(x).toFixed(digits));
const int = (x) => (x === undefined || x === null ? '—' : String(Math.round(x)));

function median(xs) {
  const a = xs.filter((x) => x !== undefined && x !== null && !Number.isNaN(x)).sort((x, y) => x - y);
  if (a.length === 0) return undefined;
  const mid = a.length >> 1;
  return a.length % 2 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
}

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

/**
 * One row per workload/target: medians over the successful runs (a single run is its own median),
 * sums for counts, the maximum of max latency, and min/max of the two headline numbers.
 */
export function summarize(runs) {
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.workload}\u0000${r.target}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const out = [];
  for (const list of groups.values()) {
    const { workload, target } = list[0];
    const kind = list[0].kind ? { kind: list[0].kind } : {};
    if (list[0].skipped) {
      out.push({ workload, target, ...kind, skipped: list[0].skipped });
      continue;
    }
    const good = list.filter((r) => !r.error);
    const errors = list.filter((r) => r.error).map((r) => r.error);
    if (good.length === 0) {
      out.push({ workload, target, ...kind, error: errors[0] });
      continue;
    }
    const med = (p) => median(good.map((r) => get(r, p)));
    if (good[0].idle) {
      const idle = {};
      for (const k of Object.keys(good[0].idle)) if (typeof good[0].idle[k] === 'number') idle[k] = med(`idle.${k}`);
      idle.perConnKbRange = [Math.min(...good.map((r) => r.idle.perConnKb)), Math.max(...good.map((r) => r.idle.perConnKb))];
      out.push({ workload, target, ...kind, runs: good.length, subject: good[0].subject, idle, ...(errors.length ? { errors } : {}) });
      continue;
    }
    const range = (p) => {
      const v = good.map((r) => get(r, p)).filter((x) => x !== undefined);
      return v.length ? [Math.min(...v), Math.max(...v)] : undefined;
    };
    const row = {
      workload,
      target,
      runs: good.length,
      reqPerSec: med('reqPerSec'),
      reqPerSecRange: range('reqPerSec'),
      ok: good.reduce((a, r) => a + (r.ok ?? 0), 0),
      bad: good.reduce((a, r) => a + (r.bad ?? 0), 0),
      requests: good.reduce((a, r) => a + (r.requests ?? 0), 0),
      successBasis: good[0].successBasis,
      latency: {
        p50Ms: med('latency.p50Ms'),
        p90Ms: med('latency.p90Ms'),
        p99Ms: med('latency.p99Ms'),
        p999Ms: med('latency.p999Ms'),
        meanMs: med('latency.meanMs'),
        maxMs: Math.max(...good.map((r) => r.latency?.maxMs ?? 0)),
      },
      mibPerSec: med('mibPerSec'),
      messagesPerSec: med('messagesPerSec'),
      upstreamConns: med('upstreamConns'),
      upstreamConnsTotal: med('upstreamConnsTotal'),
      backend: { kind: good[0].backend.kind, cpuUsPerReq: med('backend.cpuUsPerReq') },
      h2load: { cpuUsPerReq: med('h2load.cpuUsPerReq') },
      otherLoadPercent: med('otherLoadPercent'),
      noisyRuns: good.filter((r) => r.noisy).length,
    };
    // Over all the runs' requests, not a median of per-run rates.
    row.successPercent = row.requests ? (100 * row.ok) / row.requests : undefined;
    if (good[0].proxy) {
      row.proxy = {
        cpuUsPerReq: med('proxy.cpuUsPerReq'),
        cpuUsPerReqRange: range('proxy.cpuUsPerReq'),
        cpuPercent: med('proxy.cpuPercent'),
        peakRssKb: Math.max(...good.map((r) => r.proxy.peakRssKb ?? 0)),
      };
    }
    if (errors.length) row.errors = errors;
    out.push(row);
  }
  return out;
}

export function table(results) {
  const head = [
    'workload',
    'target',
    'runs',
    'req/s',
    'ok',
    'bad',
    'success %',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'MiB/s',
    'proxy CPU µs/req',
    'proxy CPU %',
    'proxy peak RSS MiB',
    'upstream conns',
    'backend CPU µs/req',
    'client CPU µs/req',
    'other load %',
  ];
  const rows = [head, head.map(() => '---')];
  for (const r of results) {
    if (r.kind === 'idle') continue;
    if (r.error) {
      rows.push([r.workload, r.target, '0', `**failed**: ${oneLine(r.error)}`, ...head.slice(4).map(() => '')]);
      continue;
    }
    if (r.skipped) {
      rows.push([r.workload, r.target, '0', `skipped: ${oneLine(r.skipped)}`, ...head.slice(4).map(() => '')]);
      continue;
    }
    const p = r.proxy;
    const withRange = (v, range, digits) =>
      r.runs > 1 && range ? `${f(v, digits)} (${f(range[0], digits)}–${f(range[1], digits)})` : f(v, digits);
    rows.push([
      r.workload,
      r.target,
      String(r.runs),
      r.runs > 1 && r.reqPerSecRange ? `${int(r.reqPerSec)} (${int(r.reqPerSecRange[0])}–${int(r.reqPerSecRange[1])})` : int(r.reqPerSec),
      int(r.ok),
      int(r.bad),
      successCell(r),
      f(r.latency?.p50Ms, 3),
      f(r.latency?.p99Ms, 3),
      f(r.latency?.p999Ms, 3),
      f(r.latency?.maxMs, 2),
      r.mibPerSec === undefined ? '' : f(r.mibPerSec, 0),
      p ? withRange(p.cpuUsPerReq, p.cpuUsPerReqRange, 1) : 'n/a',
      p ? f(p.cpuPercent, 0) : 'n/a',
      p ? f(p.peakRssKb / 1024, 1) : 'n/a',
      upstreamCell(r),
      f(r.backend?.cpuUsPerReq, 1),
      f(r.h2load?.cpuUsPerReq, 1),
      `${f(r.otherLoadPercent, 0)}${r.noisyRuns ? ` (${r.noisyRuns} noisy)` : ''}`,
    ]);
  }
  return rows.map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}

/** Upstream connections opened during the measured run(s) (median), and since the target started in parentheses when more. */
function upstreamCell(r) {
  if (r.upstreamConns === undefined) return '—';
  const total = r.upstreamConnsTotal;
  return total !== undefined && total > r.upstreamConns ? `${int(r.upstreamConns)} (${int(total)})` : int(r.upstreamConns);
}

/** The idle-10k rows: memory of the subject (the proxy; the backend for `direct`) with N idle connections. */
export function idleTable(results) {
  const head = [
    'workload',
    'target',
    'runs',
    'connections',
    'RSS before MiB',
    'RSS idle MiB',
    'KiB/connection',
    'peak RSS MiB',
    'CPU µs/connection',
    'upstream conns',
    'closed by target',
  ];
  const rows = [head, head.map(() => '---')];
  for (const r of results) {
    if (r.kind !== 'idle') continue;
    if (r.error || r.skipped) {
      rows.push([
        r.workload,
        r.target,
        '0',
        r.error ? `**failed**: ${oneLine(r.error)}` : `skipped: ${oneLine(r.skipped)}`,
        ...head.slice(4).map(() => ''),
      ]);
      continue;
    }
    const i = r.idle;
    const range = r.runs > 1 ? ` (${f(i.perConnKbRange[0], 1)}–${f(i.perConnKbRange[1], 1)})` : '';
    rows.push([
      r.workload,
      `${r.target}${r.subject === 'backend' ? ' (backend)' : ''}`,
      String(r.runs),
      int(i.connections),
      f(i.rssBeforeKb / 1024, 1),
      f(i.rssIdleKb / 1024, 1),
      `${f(i.perConnKb, 1)}${range}`,
      f(i.peakRssKb / 1024, 1),
      f(i.cpuUsPerConn, 0),
      int(i.upstreamConns),
      int(i.closedByPeer),
    ]);
  }
  return rows.length > 2 ? rows.map((cols) => `| ${cols.join(' | ')} |`).join('\n') : '';
}

/**
 * Success %: the share of client requests that succeeded. 2xx for HTTP; grpc-status 0 for gRPC
 * where the load generator reads it; for gRPC through h2load only :status is known, so the cell
 * shows that share in parentheses as "— (2xx N)".
 */
function successCell(r) {
  if (r.successPercent === undefined) return '—';
  if (r.successBasis && r.successBasis !== '2xx' && r.successBasis !== 'grpc-status') return `— (2xx ${f(r.successPercent, 2)})`;
  return f(r.successPercent, 2);
}

/** One table-safe line from a possibly multi-line error: its first line plus the most telling detail. */
export function oneLine(s) {
  const lines = String(s)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let text = lines[0] ?? '';
  const detail =
    lines.slice(1).find((l) => /^(\w*Error\b|error\b|legate:|E_[A-Z_]+)/i.test(l)) ??
    lines.slice(1).find((l) => !/^at\s|^Node\.js v|^\^+$|^\}$|^code:|^url:/.test(l));
  if (detail) text = `${text.replace(/:$/, '')}: ${detail}`;
  return text.replace(/\|/g, '\\|').slice(0, 240);
}

export function machineLine(m) {
  const peers = m.nodePeers
    ? Object.entries(m.nodePeers)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '';
  return `legate ${m.legate ?? 'unknown'}; ${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB, Linux ${m.kernel}, node ${m.node}, ${m.h2load}, nginx ${m.nginx}, HAProxy ${m.haproxy ?? 'not used'}${peers ? `, ${peers}` : ''}`;
}

export function section({ title, date, machine, settings, results, backends, notes = [] }) {
  const errors = results.flatMap((r) =>
    r.error ? [{ ...r }] : (r.errors ?? []).map((error) => ({ workload: r.workload, target: r.target, error })),
  );
  const lines = [
    `## ${title}`,
    '',
    `- date: ${date}`,
    `- machine: ${machineLine(machine)}; load average at start ${machine.loadavg}`,
    `- settings: warm-up ${settings.warmupS} s, measured ${settings.durationS} s per run, ${settings.repeat} run(s) per target (medians shown, ranges in parentheses); proxy pinned to CPU ${settings.cpus.proxy}, load generator and backend to CPU ${settings.cpus.load}, niceness ${settings.niceness}` +
      (settings.quick ? ' (`--quick`)' : ''),
    `- backends: ${backends.join(', ') || '—'}`,
    '',
  ];
  if (results.some((r) => r.kind !== 'idle')) lines.push(table(results), '');
  const idle = idleTable(results);
  if (idle) lines.push(idle, '');
  if (notes.length) {
    lines.push('Notes:', '');
    for (const n of notes) lines.push(`- ${n}`);
    lines.push('');
  }
  if (errors.length) {
    lines.push('Errors:', '');
    for (const e of errors) lines.push(`- ${e.workload} / ${e.target}: ${oneLine(e.error)}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function appendResults(file, text) {
  if (!existsSync(file)) {
    writeFileSync(file, '# Benchmark results\n\nAppended by `node bench/run.mjs` (see bench/README.md for the method). Newest last.\n\n');
  }
  appendFileSync(file, `${text}\n`);
}
