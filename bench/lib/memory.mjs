// --memory: resident memory of legate idle with each example of examples/ loaded.
// An example with an ir.json runs as `legate serve --ir` (listener ports moved to free ones, no
// backends); one with manifests (*.yaml) as `legate run -f <dir> --port-offset N -q`, which also
// starts the backends it knows as child processes: only the legate process itself is measured.
// Every legate gets `--admin-address 127.0.0.1:0`; the harness waits for /ready, lets it idle for
// `settleMs` and reads VmRSS and VmHWM from /proc.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { runPinned } from './h2load.mjs';
import { freePort, peakRssKb, pinned, rssKb, sleep, startProcess, stopProcess, tail } from './proc.mjs';
import { legateArgv } from './targets.mjs';

/** Issue 8's goal for legate idle with the examples loaded. */
export const IDLE_GOAL_MIB = 80;
const READY_TIMEOUT_MS = 30_000;

function hasManifests(dir) {
  return readdirSync(dir).some((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? hasManifests(p) : /\.(ya?ml)$/.test(f);
  });
}

function status(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Waits for the admin address in legate's output ("admin 127.0.0.1:P" or "admin API  http://127.0.0.1:P/"), then for /ready. */
async function waitReady(handle) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let admin;
  while (Date.now() < deadline) {
    if (handle.exitInfo) throw new Error(`legate exited (${JSON.stringify(handle.exitInfo)}): ${tail(handle.output(), 5)}`);
    admin ??= /admin(?: API)?\s+(?:http:\/\/)?(127\.0\.0\.1:\d+)/.exec(handle.output())?.[1];
    if (admin && (await status(`http://${admin}/ready`)) === 200) return admin;
    await sleep(200);
  }
  throw new Error(`legate not ready within ${READY_TIMEOUT_MS} ms: ${tail(handle.output(), 5)}`);
}

/** How to start legate for one example: { how, args } or null when it has nothing legate loads. */
async function launch(name, dir, workDir) {
  const irFile = path.join(dir, 'ir.json');
  if (existsSync(irFile)) {
    const ir = JSON.parse(readFileSync(irFile, 'utf8'));
    for (const l of ir.listeners ?? []) l.port = await freePort();
    const copy = path.join(workDir, `memory-${name}.ir.json`);
    writeFileSync(copy, JSON.stringify(ir));
    return { how: `serve --ir ${path.relative(path.dirname(path.dirname(dir)), irFile)} (free ports)`, args: ['serve', '--ir', copy] };
  }
  if (hasManifests(dir)) {
    // Listener ports + offset must be free; a random offset in 20000-39000, retried on failure.
    const offset = 20000 + 1000 * Math.floor(Math.random() * 20);
    return { how: `run -f examples/${name} --port-offset ${offset} -q`, args: ['run', '-f', dir, '--port-offset', String(offset), '-q'] };
  }
  return null;
}

/** Starts legate as `makeLaunch()` says (up to 3 tries: a random port offset may collide), idles, measures. */
async function measureOne(name, makeLaunch, { repoDir, workDir, cpu, settleMs }) {
  // A scratch working directory: examples may write files relative to it (resilience: access.log).
  const cwd = path.join(workDir, 'memory');
  mkdirSync(cwd, { recursive: true });
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const l = await makeLaunch();
    if (!l) return null;
    const handle = startProcess(`legate-${name}`, pinned(cpu, legateArgv(repoDir, [...l.args, '--admin-address', '127.0.0.1:0'])), {
      cwd,
    });
    try {
      await waitReady(handle);
      await sleep(settleMs);
      const self = rssKb(handle.pid, true);
      return {
        example: name,
        how: l.how,
        rssKb: self,
        peakRssKb: peakRssKb(handle.pid, true),
        backendsRssKb: rssKb(handle.pid) - self,
      };
    } catch (err) {
      lastErr = err;
    } finally {
      await stopProcess(handle, 5000);
    }
    // Only a port taken by someone else is worth another try (with another offset).
    if (!/EADDRINUSE|address already in use/i.test(lastErr.message)) break;
  }
  // An example made for other commands (examples/analyze: images legate cannot start) is no failure.
  if (/E_RUNTIME_UNKNOWN_IMAGE/.test(lastErr.message))
    return { example: name, skipped: 'has workloads legate run cannot start (E_RUNTIME_UNKNOWN_IMAGE)' };
  return { example: name, error: lastErr.message };
}

/**
 * What the floor is made of: RSS of `node` alone, of node after importing each runtime dependency
 * of package.json on its own, and after importing legate's CLI entry (which `legate serve` runs),
 * each in a fresh process, 500 ms after the import. The dependency rows overlap (V8 and the
 * Node runtime are in every one), so read them as "import X costs about RSS - bare".
 */
async function importCosts(repoDir, cpu) {
  const pkg = JSON.parse(readFileSync(path.join(repoDir, 'package.json'), 'utf8'));
  const entries = [
    ['(bare node)', null],
    ...Object.keys(pkg.dependencies ?? {}).map((d) => [d, d]),
    ['legate CLI (dist/src/cli/main.js)', path.join(repoDir, 'dist/src/cli/main.js')],
  ];
  const script =
    'const m = process.argv[1]; (m ? import(m.startsWith("/") ? "file://" + m : m) : Promise.resolve()).then(() => setTimeout(() => ' +
    'console.log(JSON.stringify({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed })), 500));';
  const out = [];
  for (const [name, spec] of entries) {
    const r = await runPinned([process.execPath, '--input-type=module', '-e', script, ...(spec ? [spec] : [])], { cpu, timeoutMs: 20_000 });
    try {
      const j = JSON.parse(r.stdout.trim().split('\n').pop());
      out.push({ name, rssKb: j.rss / 1024, heapUsedKb: j.heapUsed / 1024 });
    } catch {
      out.push({ name, error: tail(`${r.stdout}\n${r.stderr}`, 2) });
    }
  }
  return out;
}

/** The line of legate's output that says what went wrong, safe in a table cell. */
function errorLine(message) {
  const lines = message.split('\n').map((l) => l.trim());
  return (lines.find((l) => /error/i.test(l)) ?? lines[0]).replace(/\|/g, '\\|');
}

export async function runMemory({ repoDir, workDir, cpu, settleMs, log }) {
  const examplesDir = path.join(repoDir, 'examples');
  const examples = [];
  // A baseline: legate with an empty config (the Node runtime, the CLI and the admin API).
  const empty = path.join(workDir, 'memory-empty.ir.json');
  writeFileSync(empty, JSON.stringify({ version: 'empty', listeners: [], clusters: [] }));
  const baseline = { how: 'serve --ir <no listeners, no clusters>', args: ['serve', '--ir', empty] };
  for (const name of ['(empty config)', ...readdirSync(examplesDir).sort()]) {
    const dir = path.join(examplesDir, name);
    if (name !== '(empty config)' && !statSync(dir).isDirectory()) continue;
    const r = await measureOne(name, () => (name === '(empty config)' ? baseline : launch(name, dir, workDir)), {
      repoDir,
      workDir,
      cpu,
      settleMs,
    });
    if (!r) continue;
    log(
      `bench: memory: ${name}: ${r.skipped ? `skipped: ${r.skipped}` : r.error ? `FAILED: ${r.error}` : `${(r.rssKb / 1024).toFixed(1)} MiB (peak ${(r.peakRssKb / 1024).toFixed(1)} MiB)`}`,
    );
    examples.push(r);
  }
  const f = (kb) => (kb / 1024).toFixed(1);
  const rows = [
    `| example | how legate runs it | legate RSS MiB | legate peak RSS MiB | backends RSS MiB | under ${IDLE_GOAL_MIB} MiB |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...examples.map((e) =>
      e.skipped
        ? `| ${e.example} | skipped: ${e.skipped} | | | | |`
        : e.error
          ? `| ${e.example} | **failed**: ${errorLine(e.error)} | | | | |`
          : `| ${e.example} | \`legate ${e.how}\` | ${f(e.rssKb)} | ${f(e.peakRssKb)} | ${e.backendsRssKb ? f(e.backendsRssKb) : '—'} | ${e.rssKb / 1024 < IDLE_GOAL_MIB ? 'yes' : '**no**'} |`,
    ),
  ];
  const imports = await importCosts(repoDir, cpu);
  const bare = imports[0].rssKb;
  const importRows = [
    '| imported alone | RSS MiB | + over bare node MiB | V8 heap used MiB |',
    '| --- | --- | --- | --- |',
    ...imports.map((i) =>
      i.error
        ? `| ${i.name} | **failed**: ${i.error.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | | |`
        : `| ${i.name} | ${f(i.rssKb)} | ${i.rssKb === bare ? '—' : f(i.rssKb - bare)} | ${f(i.heapUsedKb)} |`,
    ),
  ];
  const text =
    `RSS ${settleMs / 1000} s after /ready, nothing sent; legate pinned to CPU ${cpu}.\n\n${rows.join('\n')}\n\n` +
    `Where the floor comes from (each line a fresh \`node\` importing one module, 500 ms later):\n\n${importRows.join('\n')}\n`;
  return { text, json: { settleMs, goalMiB: IDLE_GOAL_MIB, examples, imports } };
}
