/** `--admin-address` / `--no-admin` for commands that run a proxy, and starting the admin server. */
import net from 'node:net';
import type { Command } from 'commander';
import { AdminServer } from '../admin/admin-server.js';
import type { AdminSources } from '../admin/admin-context.js';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:15000';

export type AdminCliOptions = {
  /** false with --no-admin. */
  admin?: boolean;
  adminAddress?: string;
};

export function addAdminOptions(cmd: Command): Command {
  return cmd
    .option('--admin-address <host:port>', `admin API address (default ${DEFAULT_ADMIN_ADDRESS}; port 0 = any free port)`)
    .option('--no-admin', 'do not start the admin API');
}

/** `host:port`, `[v6]:port`, `:port` or `port` (host defaults to 127.0.0.1). */
export function parseAdminAddress(s: string): { host: string; port: number } | string {
  let host = '127.0.0.1';
  let port: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    port = v6[2]!;
  } else if (/^\d+$/.test(s)) {
    port = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return `--admin-address "${s}" needs a port, such as 127.0.0.1:15000`;
    if (i > 0) host = s.slice(0, i);
    port = s.slice(i + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) return `--admin-address "${s}": "${port}" is not a port number`;
  return { host, port: n };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const t = net.isIP(host);
  if (t === 4) return host.startsWith('127.');
  if (t === 6) return host === '::1';
  return false;
}

/**
 * Starts the admin server as the options ask. Returns null when it is off, or when the default
 * address is taken (a warning: another legate may be running); an explicit address that cannot
 * be bound is an error (a string).
 */
export async function startAdmin(
  opts: AdminCliOptions,
  sources: AdminSources,
  version: string,
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<AdminServer | null | string> {
  if (opts.admin === false) return null;
  const explicit = opts.adminAddress !== undefined;
  const where = parseAdminAddress(opts.adminAddress ?? DEFAULT_ADMIN_ADDRESS);
  if (typeof where === 'string') return where;
  if (!isLoopback(where.host))
    err(`legate: warning: the admin API on ${where.host} is reachable from other machines; it can drain the proxy and reset its stats\n`);
  const admin = new AdminServer({ sources, address: where.host, port: where.port, version });
  try {
    await admin.start();
  } catch (e) {
    const msg = `cannot start the admin API on ${opts.adminAddress ?? DEFAULT_ADMIN_ADDRESS}: ${(e as Error).message}`;
    if (explicit) return msg;
    err(`legate: warning: ${msg} (running without it; choose another with --admin-address)\n`);
    return null;
  }
  return admin;
}
