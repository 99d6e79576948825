import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { callHandle, fakeServiceClient, httpRequest } from '../helpers/fake-service.js';

const BIN = fileURLToPath(new URL('../../../bin/legate.js', import.meta.url));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Run = { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> };

function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(pred(), `timed out waiting for ${what}`);
}

test('legate fake-service: configured by the environment, logs to stdout, stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const r = run(['fake-service'], { LISTEN_ADDR: `127.0.0.1:${port}`, NAME: 'cli', MESSAGE: 'from the CLI' });
  try {
    await until(() => r.stdout().includes('Started service'), 'the service to start');
    assert.match(r.stdout(), /\[INFO\] {2}Started service: name=cli upstreamURIs="" upstreamWorkers=1 listenAddress=127\.0\.0\.1:\d+\n/);
    const res = await httpRequest(port, '/');
    assert.match(res.body, /"body": "from the CLI"/);
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    assert.match(r.stderr(), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Graceful shutdown, got signal: terminated\n$/);
  } finally {
    r.child.kill('SIGKILL');
  }
});

test('legate fake-service: a gRPC handler panic ends the process with status 2, as the Go original', async () => {
  const port = await freePort();
  const r = run(['fake-service', '--env', 'ERROR_RATE=2', '--env', `LISTEN_ADDR=127.0.0.1:${port}`], {});
  const client = fakeServiceClient(port);
  try {
    await until(() => r.stdout().includes('Started service'), 'the service to start');
    await callHandle(client);
    assert.equal(await r.exited, 2);
    assert.match(r.stderr(), /panic: runtime error: integer divide by zero\n/);
  } finally {
    client.close();
    r.child.kill('SIGKILL');
  }
});

test('legate echo-backend: HTTP mode on HTTP_PORT and H2C_PORT, SIGINT stops it', async () => {
  const [http, h2c] = [await freePort(), await freePort()];
  const r = run(['echo-backend'], { HTTP_PORT: String(http), H2C_PORT: String(h2c), NAMESPACE: 'ns', POD_NAME: 'web-backend-1-2' });
  try {
    await until(() => r.stdout().includes('(h2c)'), 'the backend to start');
    const res = await httpRequest(http, '/hello');
    assert.equal((JSON.parse(res.body) as { pod: string }).pod, 'web-backend-1-2');
    r.child.kill('SIGINT');
    assert.equal(await r.exited, 0);
    assert.match(r.stdout(), /Echoing back request made to \/hello to client/);
  } finally {
    r.child.kill('SIGKILL');
  }
});
