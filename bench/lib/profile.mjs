// Summaries of a V8 .cpuprofile (node --cpu-prof): self time per function and per area.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest *.cpuprofile in `dir`, or null. */
export function newestProfile(dir) {
  let best = null;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    const p = path.join(dir, f);
    const t = statSync(p).mtimeMs;
    if (!best || t > best.t) best = { p, t };
  }
  return best?.p ?? null;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a function lives, for the per-area totals. */
function area(frame, repoDir) {
  const { functionName, url } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (!url) return '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node: internals';
  const rel = url.replace(/^file:\/\//, '').replace(`${repoDir}/`, '');
  if (rel.startsWith('dist/src/')) return `legate ${rel.split('/')[2]}/`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel);
  if (m) return m[1];
  return rel;
}

function location(frame, repoDir) {
  if (!frame.url) return '';
  const rel = frame.url.replace(/^file:\/\//, '').replace(`${repoDir}/`, '');
  return `${rel}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function (name + location) and per area, in ms, from the samples: each sample
 * lasts until the next one (timeDeltas[i + 1]). Percentages are of the busy time (all but idle).
 * `window` ([from, to] in µs of the monotonic clock, which V8's timestamps and
 * process.hrtime share on Linux) keeps only the samples of the measured part: without it,
 * start-up (compiling modules) and shutdown weigh in.
 */
export function summarizeProfile(file, { repoDir, top = 25, window } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples, timeDeltas } = prof;
  let t = prof.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i];
    if (window && (t < window[0] || t > window[1])) continue;
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const areas = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id).callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') idleUs += us;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\u0000${location(frame, repoDir)}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(frame, repoDir);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us) => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const functions = [...fns]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => {
      const [name, loc] = k.split('\u0000');
      return { name, location: loc, selfMs: us / 1000, percent: pct(us) };
    });
  const byArea = [...areas]
    .filter(([a]) => a !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ area: name, selfMs: us / 1000, percent: pct(us) }));
  return { file, window, totalMs: totalUs / 1000, busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions, byArea };
}

export function profileText(s, title) {
  const lines = [
    `### ${title}`,
    '',
    `${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms profiled${s.window ? ' (the measured part only)' : ''}, ${path.basename(s.file)}; percentages of the busy time`,
    '',
    '| # | self ms | self % | function | where |',
    '| --- | --- | --- | --- | --- |',
    ...s.functions.map(
      (f, i) => `| ${i + 1} | ${f.selfMs.toFixed(1)} | ${f.percent.toFixed(1)} | ${f.name.replace(/\|/g, '\\|')} | ${f.location} |`,
    ),
    '',
    'By area:',
    '',
    '| area | self ms | self % |',
    '| --- | --- | --- |',
    ...s.byArea.slice(0, 15).map((a) => `| ${a.area} | ${a.selfMs.toFixed(1)} | ${a.percent.toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}
