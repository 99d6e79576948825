// Tool discovery and installation (h2load, nginx) and a description of the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function aptInstall(pkgs, log) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 300_000 });
  log(`bench: apt-get install -y ${pkgs.join(' ')}`);
  let r = run(['install', '-y', '--no-install-recommends', ...pkgs]);
  if (r.status !== 0) {
    log('bench: install failed; running apt-get update and retrying');
    run(['update']);
    r = run(['install', '-y', '--no-install-recommends', ...pkgs]);
  }
  return r.status === 0;
}

/** Makes sure h2load exists (installs nghttp2-client). Throws if it cannot. */
export function ensureH2load(log) {
  let p = which('h2load');
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    aptInstall(['nghttp2-client'], log);
    p = which('h2load');
  }
  if (!p) throw new Error('h2load is not installed and could not be installed (apt-get install nghttp2-client)');
  return p;
}

/** Returns the nginx binary path, installing nginx-light (then nginx) if possible; null if not. */
export function ensureNginx(log) {
  let p = which('nginx') ?? (which('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    // Debian's postinst would start the packaged service; in containers /usr/sbin/policy-rc.d
    // usually forbids that. We never use the packaged service: our nginx has its own config.
    if (!aptInstall(['nginx-light'], log)) aptInstall(['nginx'], log);
    p = which('nginx') ?? (which('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
  }
  return p;
}

/** Returns the haproxy binary path, installing the `haproxy` package if possible; null if not. */
export function ensureHaproxy(log) {
  const find = () => which('haproxy') ?? (which('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : null);
  let p = find();
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    // As for nginx, the packaged service is never used: the harness writes its own config.
    aptInstall(['haproxy'], log);
    p = find();
  }
  return p;
}

/**
 * Raises this process's open-file limit (inherited by everything the harness starts) to `want`,
 * or to the hard limit when it cannot raise that (not root). idle-10k holds 10,000 connections in
 * the client and as many, plus upstream ones, in the proxy. Returns the soft limit in force.
 */
export function raiseOpenFiles(want = 65536) {
  const current = () => {
    const r = spawnSync('sh', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8' });
    const [soft, hard] = r.stdout.trim().split('\n');
    return { soft: soft === 'unlimited' ? Infinity : Number(soft), hard: hard === 'unlimited' ? Infinity : Number(hard) };
  };
  if (!which('prlimit')) return current().soft;
  const { hard } = current();
  for (const limit of [`${want}:${want}`, `${Math.min(want, hard)}:${hard === Infinity ? 'unlimited' : hard}`]) {
    const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}`], { encoding: 'utf8' });
    if (r.status === 0) break;
  }
  return current().soft;
}

function firstLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  } catch {
    return '';
  }
}

export function machineInfo({ nginx, haproxy } = {}) {
  let model = '';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    /* not linux */
  }
  let nproc = os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc').toString().trim()) || nproc;
  } catch {
    /* keep os.cpus() */
  }
  return {
    nproc,
    cpuModel: model || os.cpus()[0]?.model || 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    h2load: firstLine('h2load', ['--version']),
    nginx: nginx ? firstLine(nginx, ['-v']).replace(/^nginx version:\s*/, '') : 'not used',
    haproxy: haproxy
      ? firstLine(haproxy, ['-v'])
          .replace(/^HA-?Proxy version\s*/i, '')
          .replace(/\s+-\s+https?:.*$/, '')
      : 'not used',
    nodePeers: nodePeerVersions(),
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    legate: legateCommit(),
  };
}

/** Versions of the Node peers' packages installed in the checkout (devDependencies). */
function nodePeerVersions() {
  const require = createRequire(import.meta.url);
  const out = {};
  for (const p of ['http-proxy', 'fastify', '@fastify/http-proxy', 'undici']) {
    try {
      out[p] = require(`${p}/package.json`).version;
    } catch {
      out[p] = 'not installed';
    }
  }
  return out;
}

/** The checkout's commit (short), with "+changes" when the work tree differs from it. */
function legateCommit() {
  const git = (args) => spawnSync('git', args, { encoding: 'utf8', timeout: 5000 });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin', 'package.json']).stdout.trim();
  return `${head.stdout.trim()}${dirty ? '+changes' : ''}`;
}
