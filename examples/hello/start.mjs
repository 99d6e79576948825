// The bundled example: two echo backends on 127.0.0.1:9901 and :9902, legate on :8080 in front of
// them (examples/hello/ir.json), a few requests through it, then it keeps running until Ctrl-C.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function echo(name, port) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify(
        { backend: name, method: req.method, path: req.url, headers: req.headers, bytes: Buffer.concat(chunks).length },
        null,
        2,
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body + '\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const backends = await Promise.all([echo('echo-1', 9901), echo('echo-2', 9902)]).catch((e) => {
  console.error(`cannot start the echo backends: ${e.message} (is something else on ports 9901/9902?)`);
  process.exit(1);
});

const legate = spawn(process.execPath, [`${root}/bin/legate.js`, 'serve', '--ir', `${root}/examples/hello/ir.json`], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
legate.stdout.pipe(process.stdout);
legate.on('exit', (code) => {
  for (const b of backends) b.close();
  process.exit(code ?? 0);
});

async function ready() {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch('http://127.0.0.1:8080/healthz');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('legate did not start on 127.0.0.1:8080');
}

await ready();
for (const path of ['/hello', '/hello', '/old/page', '/healthz']) {
  const res = await fetch(`http://127.0.0.1:8080${path}`, { redirect: 'manual' });
  const body = await res.text();
  const where = res.headers.get('location') ?? (body.includes('"backend"') ? JSON.parse(body).backend : body.trim());
  console.log(`GET ${path} -> ${res.status} ${where}`);
}
console.log('\nlegate is listening on http://127.0.0.1:8080 (try: curl -i http://127.0.0.1:8080/hello). Ctrl-C stops it.');
process.on('SIGINT', () => legate.kill('SIGINT'));
process.on('SIGTERM', () => legate.kill('SIGTERM'));
