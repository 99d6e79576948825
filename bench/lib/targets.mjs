// Targets: `direct` (no proxy), `legate`, the peer proxies in bench/peers/, and extra `--peer` commands.
// A target's start() returns { host, port, handle } for the process under test, pinned to BENCH CPU 0.
// skip(workload) returns why the target does not run a workload (shown in the table), or null.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchIr } from './ir.mjs';
import { freePort, pinned, startProcess, stopProcess, waitForPort } from './proc.mjs';

const START_TIMEOUT_MS = 20_000;

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

function peerScript(name, file) {
  return {
    name,
    // HTTP/1.1 workloads only. They do not retry: behind a failing backend they are the
    // single-attempt reference (success ≈ the backend's own rate).
    skip: (workload) =>
      workload.backend === 'http'
        ? null
        : `HTTP/1.1-only proxy (node:http server, no h2c): cannot forward gRPC${workload.retry ? ', nor retry it' : ''}`,
    description: `bench/peers/${path.basename(file)} (HTTP/1.1 only, no retries)`,
    async start({ backend, cpu, benchDir }) {
      const port = await freePort();
      const argv = [
        process.execPath,
        path.join(benchDir, 'peers', file),
        '--upstream',
        `${backend.host}:${backend.port}`,
        '--port',
        String(port),
      ];
      return startCommand(name, argv, { cwd: benchDir, port, cpu });
    },
  };
}

export function builtinTargets() {
  return {
    direct: {
      name: 'direct',
      skip: () => null,
      description: 'the load generator straight to the backend',
      direct: true,
    },
    legate: {
      name: 'legate',
      skip: () => null,
      description: 'node bin/legate.js serve --ir <bench IR>',
      async start({ backend, workload, cpu, workDir, repoDir }) {
        if (!existsSync(path.join(repoDir, 'dist/src/cli/main.js')))
          throw new Error('dist/src/cli/main.js is missing: run `npm run build` (or use `npm run bench`)');
        const port = await freePort();
        const ir = benchIr({ listenPort: port, backend, protocol: workload.upstreamProtocol, retry: workload.retry });
        const file = path.join(workDir, `legate-${workload.name}.ir.json`);
        writeFileSync(file, JSON.stringify(ir, null, 2));
        const argv = [process.execPath, path.join(repoDir, 'bin/legate.js'), 'serve', '--ir', file];
        return startCommand('legate', argv, { cwd: repoDir, port, cpu });
      },
    },
    'node-http': peerScript('node-http', 'node-http.mjs'),
    'node-undici': peerScript('node-undici', 'node-undici.mjs'),
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
    description: `--peer: ${template}`,
    async start({ backend, workload, cpu, workDir, repoDir }) {
      const port = await freePort();
      const file = path.join(workDir, `${name}-${workload.name}.ir.json`);
      const ir = benchIr({ listenPort: port, backend, protocol: workload.upstreamProtocol, retry: workload.retry });
      writeFileSync(file, JSON.stringify(ir, null, 2));
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
