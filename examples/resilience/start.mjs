// Resilience example: two backends (see below for how they misbehave), legate on :8082 with a route per feature (examples/resilience/
// ir.json), one request per route, and what happened to each attempt (from the JSON access log).
import http from 'node:http';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const logFile = `${here}access.log`;
fs.rmSync(logFile, { force: true });

// /plain and /retry fail every other request; /slow and /hedge are slow on flaky-1 only;
// everything else succeeds.
function backend(name, port, slow) {
  const counts = new Map();
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    const fail = (path === '/plain' || path === '/retry') && n % 2 === 1;
    const delay = slow && (path === '/slow' || path === '/hedge') ? 500 : 0;
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(`${name} answered ${path} #${n}\n`);
    }, delay);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server)));
}

const servers = await Promise.all([backend('flaky-1', 9911, true), backend('flaky-2', 9912, false)]).catch((e) => {
  console.error(`cannot start the backends: ${e.message}`);
  process.exit(1);
});
const legate = spawn(process.execPath, [`${root}bin/legate.js`, 'serve', '--ir', `${here}ir.json`], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
legate.on('exit', (code) => {
  if (code) {
    for (const s of servers) s.close();
    process.exit(code);
  }
});
const stop = () => {
  legate.kill('SIGINT');
  for (const s of servers) s.close();
};

for (let i = 0; i < 100; i++) {
  try {
    await fetch('http://127.0.0.1:8082/ready');
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}
const paths = ['/plain', '/retry', '/slow', '/hedge', '/fault', '/fault', '/fault', '/fault-attempt', '/fault-attempt', '/fault-attempt'];
for (const p of paths) {
  const res = await fetch(`http://127.0.0.1:8082${p}`);
  const body = (await res.text()).trim();
  console.log(`GET ${p.padEnd(15)} -> ${res.status} attempts=${res.headers.get('x-envoy-attempt-count') ?? '-'}  ${body}`);
}
await new Promise((r) => setTimeout(r, 300));
console.log('\nattempt traces (from access.log):');
for (const line of fs.readFileSync(logFile, 'utf8').trim().split('\n')) {
  const e = JSON.parse(line);
  if (e.path === '/ready') continue;
  console.log(`${e.path} ${e.response_code} ${e.response_flags}`);
  for (const t of e.attempt_trace) console.log(`   #${t.attempt} ${t.host} ${t.outcome} -> ${t.decision}`);
}
stop();
