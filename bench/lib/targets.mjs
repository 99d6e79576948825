// Targets: `direct` (no proxy), `legate`, the native proxies (HAProxy, nginx), the Node peers
// (http-proxy, @fastify/http-proxy, and the hand-written node-http / node-undici), and extra
// `--peer` commands. A target's start() returns { host, port, handle } for the process under test,
// pinned to the proxy CPU.
//   skip(workload, tools)  why the target does not run a workload (shown in the table), or null
//   note(workload)         how the target's row differs from legate's setup (listed under the table), or null
//   optional               only run when named with --only
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { benchIr } from './ir.mjs';
import { nativeCommand } from './native.mjs';
import { freePort, pinned, startProcess, stopProcess, waitForPort } from './proc.mjs';

const START_TIMEOUT_MS = 30_000;

async function startCommand(name, argv, { cwd, port, cpu }) {
  const handle = startProcess(name, pinned(cpu, argv), { cwd });
  try {
    await waitForPort(port, handle, START_TIMEOUT_MS);
  } catch (err) {
    await stopProcess(handle);
    err.output = handle.output();
    throw err;
  }
  return { host: '127.0.0.1', port, handle };
}

/** Writes the bench IR of a run (bench/lib/ir.mjs) to workDir/<name>-<workload>.ir.json; returns the path. */
function writeIr(workDir, name, port, backend, workload) {
  const ir = benchIr({ listenPort: port, backend, protocol: workload.upstreamProtocol, retry: workload.retry, routes: workload.routes });
  const file = path.join(workDir, `${name}-${workload.name}.ir.json`);
  writeFileSync(file, JSON.stringify(ir, null, 2));
  return file;
}

const HTTP1_ONLY = 'not supported: HTTP/1.1-only proxy (no h2c listener; gRPC needs HTTP/2 and trailers end to end)';
const NO_ROUTES = 'not comparable: no route table';

/** Skip reasons shared by every target, from what it supports: { grpc, routes }. */
function unsupported(supports, workload) {
  if (workload.backend === 'grpc' && !supports.grpc) return HTTP1_ONLY;
  if (workload.routes && !supports.routes) return NO_ROUTES;
  return null;
}

/** A Node peer script in bench/peers/ that needs `packages` (devDependencies) to be installed. */
function nodePeer(name, file, { description, packages = [], supports, optional = false, note, args = () => [] }) {
  const require = createRequire(import.meta.url);
  const missing = () =>
    packages.find((p) => {
      try {
        require.resolve(p);
        return false;
      } catch {
        return true;
      }
    });
  return {
    name,
    optional,
    description,
    skip: (workload) => {
      const m = missing();
      return m ? `not installed: ${m} (a devDependency: run npm ci)` : unsupported(supports, workload);
    },
    note: note ?? ((workload) => (workload.retry ? 'no retries: single attempt' : null)),
    async start({ backend, workload, cpu, benchDir }) {
      const port = await freePort();
      const argv = [
        process.execPath,
        path.join(benchDir, 'peers', file),
        '--upstream',
        `${backend.host}:${backend.port}`,
        '--port',
        String(port),
        ...args(workload),
      ];
      return startCommand(name, argv, { cwd: benchDir, port, cpu });
    },
  };
}

/** HAProxy or nginx, from the binary found (or installed) by tools.mjs. */
function nativeTarget(name, description) {
  return {
    name,
    description,
    skip: (workload, tools) => (tools[name] ? null : `${name} is not installed`),
    note: (workload) => {
      if (workload.retry && workload.backend === 'grpc') return 'cannot retry on grpc-status: single attempt';
      if (workload.retry) return name === 'nginx' ? 'retries at once, on the backend listed 4 times' : 'retries at once (no backoff)';
      return null;
    },
    async start({ backend, workload, cpu, workDir, tools }) {
      const port = await freePort();
      const argv = nativeCommand(name, tools[name], { workDir, port, backend, workload });
      return startCommand(name, argv, { cwd: workDir, port, cpu });
    },
  };
}

/** The command line legate is started with (`extraNodeArgs`: e.g. --cpu-prof). */
export function legateArgv(repoDir, args, extraNodeArgs = []) {
  return [process.execPath, ...extraNodeArgs, path.join(repoDir, 'bin/legate.js'), ...args];
}

export function builtinTargets() {
  return {
    direct: {
      name: 'direct',
      skip: () => null,
      note: () => null,
      description: 'the load generator straight to the backend',
      direct: true,
    },
    legate: {
      name: 'legate',
      skip: () => null,
      note: () => null,
      description: 'node bin/legate.js serve --ir <bench IR> --admin-address 127.0.0.1:0',
      async start({ backend, workload, cpu, workDir, repoDir, legateNodeArgs }) {
        if (!existsSync(path.join(repoDir, 'dist/src/cli/main.js')))
          throw new Error('dist/src/cli/main.js is missing: run `npm run build` (or use `npm run bench`)');
        const port = await freePort();
        const file = writeIr(workDir, 'legate', port, backend, workload);
        const argv = legateArgv(repoDir, ['serve', '--ir', file, '--admin-address', '127.0.0.1:0'], legateNodeArgs?.(workload) ?? []);
        return startCommand('legate', argv, { cwd: repoDir, port, cpu });
      },
    },
    haproxy: nativeTarget('haproxy', 'HAProxy, nbthread 1, generated config (bench/lib/native.mjs)'),
    nginx: nativeTarget('nginx', 'nginx as a proxy, 1 worker, generated config (bench/lib/native.mjs)'),
    'http-proxy': nodePeer('http-proxy', 'http-proxy.mjs', {
      description: 'bench/peers/http-proxy.mjs: node-http-proxy with a keep-alive agent (HTTP/1.1 only, no retries)',
      packages: ['http-proxy'],
      supports: { grpc: false, routes: false },
    }),
    fastify: nodePeer('fastify', 'fastify-proxy.mjs', {
      description: 'bench/peers/fastify-proxy.mjs: fastify + @fastify/http-proxy (HTTP/1.1 only)',
      packages: ['fastify', '@fastify/http-proxy'],
      supports: { grpc: false, routes: true },
      note: (workload) => (workload.retry ? 'retries through reply-from retryDelay, Envoy backoff' : null),
      args: (workload) => [
        ...(workload.retry ? ['--retries', String(workload.retry.numRetries)] : []),
        ...(workload.routes ? ['--routes', String(workload.routes)] : []),
      ],
    }),
    'node-http': nodePeer('node-http', 'node-http.mjs', {
      description: 'bench/peers/node-http.mjs: hand-written node:http proxy (HTTP/1.1 only, no retries)',
      supports: { grpc: false, routes: false },
      optional: true,
    }),
    'node-undici': nodePeer('node-undici', 'node-undici.mjs', {
      description: 'bench/peers/node-undici.mjs: hand-written node:http + undici proxy (HTTP/1.1 only, no retries)',
      supports: { grpc: false, routes: false },
      optional: true,
    }),
  };
}

/**
 * An extra target from `--peer "name=command"` or `--peer "name@workload,workload=command"`.
 * The command runs under `sh -c "exec ..."` with placeholders replaced:
 *   {port} listen port, {upstream} host:port, {upstreamHost}, {upstreamPort}, {ir} path of the
 *   bench IR JSON (written for every run; with the workload's retry policy), {repo} the legate checkout.
 */
export function peerFromSpec(spec) {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--peer "${spec}": expected name=command`);
  const [name, wl] = spec.slice(0, eq).split('@');
  const template = spec.slice(eq + 1);
  const workloads = wl ? wl.split(',') : null;
  return {
    name,
    skip: (workload) => (!workloads || workloads.includes(workload.name) ? null : `--peer limited to ${workloads.join(',')}`),
    note: () => null,
    description: `--peer: ${template}`,
    async start({ backend, workload, cpu, workDir, repoDir }) {
      const port = await freePort();
      const file = writeIr(workDir, name, port, backend, workload);
      const vars = {
        port: String(port),
        upstream: `${backend.host}:${backend.port}`,
        upstreamHost: backend.host,
        upstreamPort: String(backend.port),
        ir: file,
        repo: repoDir,
      };
      const cmd = template.replace(/\{(\w+)\}/g, (m, k) => vars[k] ?? m);
      return startCommand(name, ['sh', '-c', `exec ${cmd}`], { cwd: repoDir, port, cpu });
    },
  };
}
