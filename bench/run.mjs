#!/usr/bin/env node
// legate benchmark harness. See bench/README.md.
//   node bench/run.mjs [--quick] [--only direct,legate,haproxy,nginx,http-proxy,fastify]
//                      [--workload http1-get,...] [--repeat N] [--peer 'name=command'] [--title text]
//                      [--duration S] [--warmup S] [--no-append]
//   node bench/run.mjs --profile [--workload http1-get,grpc-unary]   legate under --cpu-prof, top self time
//   node bench/run.mjs --memory                                      RSS of legate idle with each example
//   node bench/run.mjs --soak 600 [--rate 2000]                      fixed rate through legate, RSS slope
//   node bench/run.mjs --latency [--workload http1-get,grpc-unary]   latency added at half legate's maximum rate
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startWorkloadBackend } from './lib/backends.mjs';
import { runOne } from './lib/measure.mjs';
import { runMemory } from './lib/memory.mjs';
import { newestProfile, profileText, summarizeProfile } from './lib/profile.mjs';
import { setNiceness, waitForQuiet } from './lib/proc.mjs';
import { appendResults, idleTable, machineLine, oneLine, section, summarize, table } from './lib/report.mjs';
import { runLatency } from './lib/latency.mjs';
import { runSoak } from './lib/soak.mjs';
import { builtinTargets, peerFromSpec } from './lib/targets.mjs';
import { ensureH2load, ensureHaproxy, ensureNginx, machineInfo, raiseOpenFiles } from './lib/tools.mjs';
import { WORKLOADS } from './lib/workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const workDir = path.join(benchDir, '.work');
const log = (s) => process.stderr.write(`${s}\n`);

const builtin = builtinTargets();
const defaultTargets = Object.keys(builtin).filter((n) => !builtin[n].optional);
const optionalTargets = Object.keys(builtin).filter((n) => builtin[n].optional);
const defaultWorkloads = Object.keys(WORKLOADS).filter((n) => !WORKLOADS[n].optional);
const optionalWorkloads = Object.keys(WORKLOADS).filter((n) => WORKLOADS[n].optional);

const USAGE = `usage: node bench/run.mjs [options]
  --quick                 smoke test: every target and workload once, 1 s warm-up, 2 s measured,
                          2,000 idle connections, no waiting for a quiet machine
  --only a,b              targets (default: ${defaultTargets.join(',')} + --peer names;
                          also: ${optionalTargets.join(',')})
  --workload a,b          workloads (default: ${defaultWorkloads.join(',')};
                          also: ${optionalWorkloads.join(',')})
  --peer 'name=cmd'       extra target; cmd may use {port} {upstream} {upstreamHost} {upstreamPort}
                          {ir} {repo}; 'name@http1-get=cmd' limits it to some workloads (repeatable)
  --duration S            measured seconds per run (default 6, --quick 2; max 10)
  --warmup S              warm-up seconds per run (default 2, --quick 1)
  --repeat N              measure each target N times, interleaved, and report medians
                          (default 3, --quick 1)
  --connections N         idle-10k: connections to open (default 10000, --quick 2000)
  --max-other-load P      before each run, wait (up to 30 s) until no core is more than P% busy;
                          a run during which other processes used more than P% of a core
                          (see 'other load %') is redone, up to twice, and the quietest attempt
                          kept (default 25, --quick 0; 0 disables both)
  --nice N                niceness of the proxy, backend and load generator (default -10 as root,
                          so other work on the machine yields to them; 0 = off)
  --title text            heading of the section appended to bench/RESULTS.md
  --no-append             do not append to bench/RESULTS.md nor write bench/results/
  --profile               run legate only, under node --cpu-prof, and print the 25 functions with
                          the most self time (default workloads http1-get,grpc-unary; print only)
  --memory                RSS of legate idle with each example of examples/ loaded
  --soak S                S seconds (max 3600) of fixed-rate load through legate, RSS sampled
                          every 5 s, growth slope reported (workload http1-get unless --workload)
  --rate R                --soak: requests per second (default 2000)
  --latency               latency legate adds at half of its own maximum rate: legate saturated
                          once, then direct and legate paced at half that rate, --repeat times
                          interleaved (default workloads http1-get,grpc-unary)
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
      connections: { type: 'string' },
      'max-other-load': { type: 'string' },
      nice: { type: 'string' },
      'no-append': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      memory: { type: 'boolean', default: false },
      soak: { type: 'string' },
      latency: { type: 'boolean', default: false },
      rate: { type: 'string' },
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
const fail = (msg) => {
  log(`bench: ${msg}`);
  process.exit(2);
};

const quick = opts.quick;
const profiling = opts.profile;
const durationS = Math.min(10, Number(opts.duration ?? (quick ? 2 : 6)));
const warmupS = Math.min(10, Number(opts.warmup ?? (quick ? 1 : 2)));
const maxOtherLoad = Number(opts['max-other-load'] ?? (quick ? 0 : 25));
// --profile keeps the profile of the one run it made: no redoing of noisy runs.
const NOISY_RETRIES = profiling ? 0 : 2;
const QUIET_WAIT_MS = 30_000;
const niceness = setNiceness(Number(opts.nice ?? -10) || 0);
const repeat = Math.max(1, Math.min(10, Number(opts.repeat ?? (quick || profiling ? 1 : 3))));
const idleConnections = opts.connections ? Number(opts.connections) : quick ? WORKLOADS['idle-10k'].quickConnections : undefined;
if (!(durationS > 0) || !(warmupS >= 0) || !Number.isInteger(repeat) || (idleConnections !== undefined && !(idleConnections >= 1)))
  fail(`bad --duration, --warmup, --repeat or --connections\n${USAGE}`);
const append = !opts['no-append'] && !profiling;
// The proxy alone on one core, the load generator and the backend on the other (both on CPU 0 on
// a one-core machine).
const nproc = machineInfo().nproc;
const cpus = nproc >= 2 ? { proxy: 1, load: 0 } : { proxy: 0, load: 0 };

const list = (v) => [
  ...new Set(
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
];
mkdirSync(workDir, { recursive: true });
const openFiles = raiseOpenFiles();
const date = new Date().toISOString();
const stamp = date.slice(0, 19).replace(/:/g, '-');

/** Appends a section to bench/RESULTS.md and writes the JSON next to it in bench/results/. */
function record(kind, text, json) {
  writeFileSync(path.join(workDir, `last${kind ? `-${kind}` : ''}.json`), `${JSON.stringify(json, null, 2)}\n`);
  if (!append) return;
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}${kind ? `-${kind}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  appendResults(
    path.join(benchDir, 'RESULTS.md'),
    `${text}\n- JSON: [${path.relative(benchDir, file)}](${path.relative(benchDir, file)})\n`,
  );
  log(`bench: appended to bench/RESULTS.md; JSON in ${path.relative(repoDir, file)}`);
}

if (opts.memory) {
  const machine = machineInfo({});
  log(`bench: ${machineLine(machine)}`);
  const r = await runMemory({ repoDir, workDir, cpu: cpus.proxy, settleMs: quick ? 2000 : 15000, log });
  process.stdout.write(`\n${r.text}\n`);
  record(
    'memory',
    `## ${opts.title ?? `Idle memory ${date.slice(0, 16).replace('T', ' ')} UTC`}\n\n- date: ${date}\n- machine: ${machineLine(machine)}\n\n${r.text}`,
    { date, machine, ...r.json },
  );
  process.exit(r.json.examples.some((e) => e.error) ? 1 : 0);
}

if (opts.soak) {
  const seconds = Number(opts.soak);
  if (!(seconds >= 10 && seconds <= 3600)) fail('--soak takes 10..3600 seconds');
  const rate = Number(opts.rate ?? 2000);
  if (!(rate >= 10 && rate <= 100_000)) fail('--rate takes 10..100000 requests per second');
  const wname = opts.workload ?? 'http1-get';
  if (!WORKLOADS[wname] || WORKLOADS[wname].client) fail(`--soak runs one h2load workload: ${wname} is not one`);
  ensureH2load(log);
  const tools = { nginx: ensureNginx(log) };
  const machine = machineInfo(tools);
  log(`bench: ${machineLine(machine)}`);
  const ctx = { benchDir, repoDir, workDir, cpus, tools, log };
  const r = await runSoak(ctx, { workload: { name: wname, ...WORKLOADS[wname] }, seconds, rate, target: builtin.legate });
  process.stdout.write(`\n${r.text}\n`);
  record(
    'soak',
    `## ${opts.title ?? `Soak ${date.slice(0, 16).replace('T', ' ')} UTC`}\n\n- date: ${date}\n- machine: ${machineLine(machine)}\n\n${r.text}`,
    { date, machine, ...r.json },
  );
  process.exit(r.json.error ? 1 : 0);
}

if (opts.latency) {
  const names = opts.workload ? list(opts.workload) : ['http1-get', 'grpc-unary'];
  for (const n of names) if (!WORKLOADS[n] || WORKLOADS[n].client) fail(`--latency runs h2load workloads: ${n} is not one`);
  ensureH2load(log);
  const tools = { nginx: ensureNginx(log) };
  const machine = machineInfo(tools);
  log(`bench: ${machineLine(machine)}`);
  const ctx = { benchDir, repoDir, workDir, cpus, tools, warmupS, durationS, log };
  const r = await runLatency(ctx, { workloadNames: names, workloads: WORKLOADS, targets: builtin, repeat, maxOtherLoad });
  process.stdout.write(`\n${r.text}\n`);
  record(
    'latency',
    `## ${opts.title ?? `Added latency ${date.slice(0, 16).replace('T', ' ')} UTC`}\n\n- date: ${date}\n- machine: ${machineLine(machine)}\n- warm-up ${warmupS} s, measured ${durationS} s, ${repeat} interleaved run(s) per target, medians\n\n${r.text}`,
    { date, machine, rows: r.rows },
  );
  process.exit(r.rows.some((x) => x.error) ? 1 : 0);
}

// The benchmark (and --profile).
const targets = { ...builtin };
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
const targetNames = profiling ? ['legate'] : opts.only ? list(opts.only) : [...defaultTargets, ...peerNames];
const workloadNames = opts.workload ? list(opts.workload) : profiling ? ['http1-get', 'grpc-unary'] : defaultWorkloads;
for (const n of targetNames) if (!targets[n]) fail(`unknown target "${n}" (known: ${Object.keys(targets).join(', ')})`);
for (const n of workloadNames) if (!WORKLOADS[n]) fail(`unknown workload "${n}" (known: ${Object.keys(WORKLOADS).join(', ')})`);

try {
  ensureH2load(log);
} catch (err) {
  log(`bench: ${err.message}`);
  process.exit(1);
}
const tools = {
  nginx: ensureNginx(log),
  haproxy: targetNames.includes('haproxy') ? ensureHaproxy(log) : null,
};
if (!tools.nginx) log('bench: nginx unavailable; using the Node backends (bench/backends/)');
const machine = machineInfo(tools);
log(`bench: ${machineLine(machine)}`);
log(
  `bench: targets ${targetNames.join(',')}; workloads ${workloadNames.join(',')}; warm-up ${warmupS} s, measured ${durationS} s, ` +
    `${repeat} run(s) each; proxy on CPU ${cpus.proxy}, load on CPU ${cpus.load}; open files ${openFiles}`,
);

const profileDir = (workload) => path.join(workDir, 'prof', workload.name);
const ctx = {
  benchDir,
  repoDir,
  workDir,
  cpus,
  tools,
  warmupS,
  durationS,
  idleConnections,
  idleSettleMs: quick ? 1000 : 3000,
  legateNodeArgs: profiling ? (workload) => ['--cpu-prof', `--cpu-prof-dir=${profileDir(workload)}`] : undefined,
};

const runs = [];
const backendsUsed = new Set();
const notes = new Set();
const profiles = [];
const fmt = (x, d = 1) => (x === undefined ? '—' : x.toFixed(d));

function describe(r) {
  if (r.idle) {
    const i = r.idle;
    return `${i.connections} idle connections (${i.failed} failed) in ${i.openMs} ms, RSS ${fmt(i.rssBeforeKb / 1024)} -> ${fmt(i.rssIdleKb / 1024)} MiB, ${fmt(i.perConnKb, 2)} KiB/connection, upstream conns ${i.upstreamConns}`;
  }
  return (
    `${Math.round(r.reqPerSec)} req/s, ${r.ok} ok, ${r.bad} bad (success ${fmt(r.successPercent, 2)}%), p50 ${fmt(r.latency.p50Ms, 3)} ms, p99 ${fmt(r.latency.p99Ms, 3)} ms` +
    (r.mibPerSec !== undefined ? `, ${fmt(r.mibPerSec, 0)} MiB/s` : '') +
    (r.messagesPerSec !== undefined ? `, ${Math.round(r.messagesPerSec)} msg/s` : '') +
    (r.proxy ? `, proxy ${fmt(r.proxy.cpuUsPerReq)} µs/req (${fmt(r.proxy.cpuPercent, 0)}% CPU)` : '') +
    `, upstream conns ${r.upstreamConns}, other load ${fmt(r.otherLoadPercent, 0)}%`
  );
}

for (const wname of workloadNames) {
  const workload = { name: wname, ...WORKLOADS[wname] };
  const kind = workload.client === 'idle' ? { kind: 'idle' } : {};
  let backend;
  try {
    backend = await startWorkloadBackend(workload, { nginx: tools.nginx, workDir, cpu: cpus.load, benchDir, log });
    backendsUsed.add(`${wname}: ${backend.kind}`);
  } catch (err) {
    for (const t of targetNames) runs.push({ workload: wname, target: t, rep: 1, ...kind, error: `backend: ${err.message}` });
    log(`bench: ${wname}: backend failed to start: ${err.message}`);
    continue;
  }
  try {
    const skipped = [];
    const active = targetNames.filter((tname) => {
      const reason = targets[tname].skip?.(workload, tools) ?? null;
      if (reason) {
        log(`bench: ${wname} / ${tname}: skipped (${reason})`);
        skipped.push({ workload: wname, target: tname, rep: 1, ...kind, skipped: reason });
        return false;
      }
      const note = targets[tname].note?.(workload);
      if (note) notes.add(`${wname} / ${tname}: ${note}`);
      return true;
    });
    const broken = new Set();
    for (let rep = 1; rep <= repeat; rep++) {
      for (const tname of active) {
        if (broken.has(tname)) continue;
        log(`bench: ${wname} / ${tname}${repeat > 1 ? ` (run ${rep}/${repeat})` : ''} ...`);
        if (profiling) rmSync(profileDir(workload), { recursive: true, force: true });
        let r;
        for (let attempt = 0; attempt <= NOISY_RETRIES; attempt++) {
          if (maxOtherLoad > 0) {
            const q = await waitForQuiet(maxOtherLoad, QUIET_WAIT_MS);
            if (!q.quiet)
              log(
                `bench: the machine is busy (cores ${q.busy.map((b) => fmt(b, 0)).join('% / ')}%) after waiting ${Math.round(q.waitedMs / 1000)} s; measuring anyway`,
              );
          }
          const x = await runOne(ctx, workload, targets[tname], backend, rep);
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
          log(`bench: ${wname} / ${tname}: ${describe(r)}`);
        }
        runs.push(r);
        if (profiling && !r.error) {
          const file = newestProfile(profileDir(workload));
          if (!file) log(`bench: ${wname}: legate wrote no .cpuprofile in ${profileDir(workload)}`);
          else {
            const s = summarizeProfile(file, { repoDir, window: r.monotonicUs });
            profiles.push({ workload: wname, ...s });
            process.stdout.write(`\n${profileText(s, `legate CPU profile: ${wname} (${describe(r)})`)}\n`);
          }
        }
      }
    }
    runs.push(...skipped); // after the measured targets in the table
  } finally {
    await backend.stop();
  }
}

const results = summarize(runs);
const settings = {
  quick,
  warmupS,
  durationS,
  repeat,
  maxOtherLoad,
  niceness,
  cpus,
  openFiles,
  idleConnections: idleConnections ?? WORKLOADS['idle-10k'].connections,
};
const out = {
  date,
  machine,
  settings,
  workloads: Object.fromEntries(workloadNames.map((n) => [n, WORKLOADS[n].description])),
  targets: Object.fromEntries(targetNames.map((n) => [n, targets[n].description])),
  backends: [...backendsUsed],
  notes: [...notes],
  results,
  runs,
  ...(profiling ? { profiles } : {}),
};
const mainTable = results.some((r) => r.kind !== 'idle') ? `${table(results)}\n\n` : '';
const idle = idleTable(results);
process.stdout.write(`\n${mainTable}${idle ? `${idle}\n\n` : ''}${[...notes].map((n) => `- ${n}`).join('\n')}\n`);
const title = opts.title ?? `Run ${date.slice(0, 16).replace('T', ' ')} UTC${quick ? ' (quick)' : ''}`;
record(
  profiling ? 'profile' : '',
  section({ title, date, machine, settings, results, backends: [...backendsUsed], notes: [...notes] }),
  out,
);
process.exitCode = results.some((r) => r.error) ? 1 : 0;
