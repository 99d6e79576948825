/**
 * `legate proxy-config` against a running admin API: tables, JSON and YAML for each type, the
 * name filter, an unreachable admin API; and `legate serve` starting (or refusing) the admin API.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { proxyConfig, formatTable, adminBaseUrl } from '../../src/cli/proxy-config-command.js';
import { parseAdminAddress, startAdmin } from '../../src/cli/admin-options.js';
import { outlierDetectionDefaults } from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request } from '../helpers/backends.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const be = await h1Backend((_req, res) => res.end('ok'));
const dead = await closedPort();
const cfg = config(
  [
    route('api', { match: { path: { kind: 'prefix', value: '/api', segmentAware: true } }, cluster: 'api' }),
    route('all', {
      action: {
        kind: 'forward',
        clusters: [
          { cluster: 'backend', weight: 3 },
          { cluster: 'api', weight: 1 },
        ],
      },
    }),
  ],
  [
    cluster('backend', [be.port], { protocol: 'http1' }),
    cluster('api', [be.port, dead], { protocol: 'http1', outlierDetection: outlierDetectionDefaults() }),
  ],
);
const proxy = await Proxy.start(cfg);
const port = proxy.port('main');
const admin = new AdminServer({ sources: { proxy }, port: 0 });
await admin.start();
after(async () => {
  await admin.close();
  await proxy.close(100);
  await be.close();
});

const rowsOf = (table: string) =>
  table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/));

test('listeners: a table with the bound port, counts of virtual hosts and routes', async () => {
  const t = rowsOf(await proxyConfig('listeners', { admin: admin.url, output: 'table' }));
  assert.deepEqual(t[0], ['NAME', 'ADDRESS', 'PORT', 'TLS', 'VIRTUAL HOSTS', 'ROUTES', 'CONNECTIONS', 'STATE']);
  assert.deepEqual(t[1], ['main', '127.0.0.1', String(port), 'no', '1', '2', '0', 'ACCEPTING']);
  assert.equal(t.length, 2);
});

test('routes: match and destination per route, requests counted', async () => {
  await h1Request(port, { path: '/api/x' });
  const t = rowsOf(await proxyConfig('routes', { admin: admin.url, output: 'table' }));
  assert.deepEqual(t[0], ['LISTENER', 'VIRTUAL HOST', 'DOMAINS', 'NAME', 'MATCH', 'DESTINATION', 'REQUESTS']);
  assert.deepEqual(t[1], ['main', 'default', '*', 'api', 'prefix /api', 'api', '1']);
  assert.deepEqual(t[2], ['main', 'default', '*', 'all', 'prefix /', 'backend:3,api:1', '0']);
});

test('clusters and endpoints: tables from /config_dump and /clusters', async () => {
  const c = rowsOf(await proxyConfig('clusters', { admin: admin.url, output: 'table' }));
  assert.equal(c[0]![0], 'NAME');
  const api = c.find((r) => r[0] === 'api')!;
  assert.deepEqual(api.slice(0, 5), ['api', 'http1', 'round_robin', '2', '2']);
  assert.equal(api[6], 'on', 'outlier detection');
  const e = rowsOf(await proxyConfig('endpoints', { admin: admin.url, output: 'table', name: 'api' }));
  assert.deepEqual(e[0], ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'HEALTH FLAGS', 'CLUSTER', 'WEIGHT', 'PRIORITY', 'RQ TOTAL', 'RQ ERROR']);
  assert.deepEqual(
    e.slice(1).map((r) => r[0]),
    [`127.0.0.1:${be.port}`, `127.0.0.1:${dead}`],
  );
  assert.deepEqual(e[1]!.slice(1, 5), ['HEALTHY', 'OK', 'healthy', 'api']);
});

test('-o json and -o yaml print the records; all has every section; --name filters', async () => {
  const j = JSON.parse(await proxyConfig('clusters', { admin: admin.url, output: 'json', name: 'backend' }));
  assert.equal(j.length, 1);
  assert.equal(j[0].name, 'backend');
  assert.equal(j[0].status.host_statuses[0].address.socket_address.port_value, be.port);
  const y = parseYaml(await proxyConfig('endpoints', { admin: admin.url, output: 'yaml' }));
  assert.equal(y.length, 3);
  const all = JSON.parse(await proxyConfig('all', { admin: admin.url, output: 'json' }));
  assert.deepEqual(Object.keys(all), ['listeners', 'routes', 'clusters', 'endpoints']);
  const table = await proxyConfig('all', { admin: admin.url, output: 'table' });
  for (const h of ['LISTENERS\nNAME', 'ROUTES\nLISTENER', 'CLUSTERS\nNAME', 'ENDPOINTS\nENDPOINT']) assert.ok(table.includes(h), h);
  await assert.rejects(proxyConfig('listeners', { admin: admin.url, output: 'xml' }), /-o must be table, json or yaml/);
});

test('an admin API that is not there: a message saying where and what to do', async () => {
  const p = await closedPort();
  await assert.rejects(
    proxyConfig('clusters', { admin: `127.0.0.1:${p}`, output: 'table' }),
    /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+.*--admin/,
  );
});

test('helpers: table layout, admin URLs and addresses', () => {
  assert.equal(formatTable(['A', 'LONG'], [['xyz', '1']]), 'A    LONG\nxyz  1\n');
  assert.equal(adminBaseUrl('15001'), 'http://127.0.0.1:15001');
  assert.equal(adminBaseUrl('localhost:15000/'), 'http://localhost:15000');
  assert.deepEqual(parseAdminAddress('0.0.0.0:9901'), { host: '0.0.0.0', port: 9901 });
  assert.deepEqual(parseAdminAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseAdminAddress('15000'), { host: '127.0.0.1', port: 15000 });
  assert.match(String(parseAdminAddress('localhost')), /needs a port/);
  assert.match(String(parseAdminAddress('a:99999')), /not a port number/);
});

/** Runs the CLI; resolves with its exit code and output, killing it after `ms`. */
function run(args: string[], ms = 10_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/legate.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

test('the CLI: legate proxy-config endpoints prints a table; an unknown type is an error', async () => {
  const ok = await run(['proxy-config', 'endpoints', '--admin', admin.url, '--name', 'backend']);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(rowsOf(ok.out)[1]![0], `127.0.0.1:${be.port}`);
  const bad = await run(['pc', 'secrets', '--admin', admin.url]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown type "secrets"/);
});

test('legate serve starts the admin API (--admin-address), answers /ready, and stops on SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-admin-'));
  const file = path.join(dir, 'ir.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const child = spawn(process.execPath, [path.join(root, 'bin/legate.js'), 'serve', '--ir', file, '--admin-address', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    const end = Date.now() + 10_000;
    while (!/^admin \S+:\d+$/m.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const where = /^admin (\S+:\d+)$/m.exec(out)?.[1];
    assert.ok(where, `no admin line in: ${out}`);
    const r = await fetch(`http://${where}/ready`);
    assert.equal(await r.text(), 'LIVE\n');
    const t = rowsOf(await proxyConfig('listeners', { admin: where, output: 'table' }));
    assert.equal(t[1]![0], 'main');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('legate serve with an explicit admin address that is taken exits 1 and says why', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-admin-'));
  const file = path.join(dir, 'ir.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  try {
    const busy = (taken.address() as net.AddressInfo).port;
    const r = await run(['serve', '--ir', file, '--admin-address', `127.0.0.1:${busy}`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot start the admin API on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  } finally {
    taken.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('startAdmin: off with --no-admin; a non-loopback address warns; one that cannot be bound is an error', async () => {
  assert.equal(await startAdmin({ admin: false }, { proxy }, 'v'), null);
  const warnings: string[] = [];
  // 192.0.2.1 (TEST-NET-1) is never a local address: the bind fails after the warning.
  const r = await startAdmin({ adminAddress: '192.0.2.1:0' }, { proxy }, 'v', (s) => warnings.push(s));
  assert.match(String(r), /^cannot start the admin API on 192\.0\.2\.1:0: .*EADDRNOTAVAIL/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /reachable from other machines/);
  const local = await startAdmin({ adminAddress: '127.0.0.1:0' }, { proxy }, 'v', (s) => warnings.push(s));
  assert.ok(local instanceof AdminServer);
  assert.equal(warnings.length, 1, 'no warning for loopback');
  await local.close();
});
