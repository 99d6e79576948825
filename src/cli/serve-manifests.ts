/**
 * `legate serve -f PATH...`: translate manifests, run the proxy, reload when files change.
 * The reloader does the work; this file prints what it reports.
 */
import { readSources } from '../config/load/load-manifests.js';
import { ManifestReloader, type ReloadResult } from '../config/reload.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { formatDiagnostic } from './format.js';
import { startAdmin, type AdminCliOptions } from './admin-options.js';
import { releaseStartupMemory } from './release-memory.js';
import { parseWorkers, servingProxy } from './workers.js';
import { configState } from './config-state.js';

export type ServeManifestsOptions = AdminCliOptions & {
  filename: string[];
  watch: boolean;
  accessLog?: string;
  accessLogFormat: string;
  attemptTrace?: boolean;
  locality?: string;
  /** Processes serving traffic (default 1). */
  workers?: string;
};

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

const processOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/**
 * Runs until SIGINT/SIGTERM (or `stop` resolves); SIGHUP reloads now. Returns 1 when nothing can
 * run: the first load yields no listener, or the proxy cannot apply it.
 */
export async function serveManifests(
  opts: ServeManifestsOptions,
  stop?: Promise<void>,
  out: Out = processOut,
  version = '0.1.0',
): Promise<number> {
  if (opts.accessLogFormat !== 'text' && opts.accessLogFormat !== 'json') {
    out.stderr(`legate: --access-log-format must be "text" or "json", not "${opts.accessLogFormat}"\n`);
    return 1;
  }
  let sources;
  try {
    sources = await readSources(opts.filename);
  } catch (e) {
    out.stderr(`legate: cannot read standard input: ${(e as Error).message}\n`);
    return 1;
  }
  const where = opts.locality ?? process.env.LEGATE_LOCALITY;
  const workerCount = parseWorkers(opts.workers);
  if (typeof workerCount === 'string') {
    out.stderr(`legate: ${workerCount}\n`);
    return 1;
  }
  const { proxy, pool, accessLog } = servingProxy({
    workers: workerCount,
    accessLog: opts.accessLog
      ? { path: opts.accessLog, format: opts.accessLogFormat === 'json' ? 'json' : 'text', attemptTrace: opts.attemptTrace }
      : undefined,
    locality: where,
  });
  pool?.start();
  let previous: ReloadResult | undefined;
  const reloader = new ManifestReloader({
    sources,
    target: pool ? pool.target(proxy) : proxy,
    watch: opts.watch,
    onReload: (r) => {
      if (r.trigger !== 'initial') printReload(r, previous, out);
      previous = r;
    },
    onWatchError: (e) => out.stderr(`legate: watching files: ${e.message}\n`),
  });
  const first = await reloader.start();
  for (const d of first.diagnostics) out.stderr(formatDiagnostic(d) + '\n');
  let admin: Awaited<ReturnType<typeof startAdmin>> = null;
  const shutdown = async (code: number) => {
    if (admin && typeof admin !== 'string') await admin.close();
    await reloader.close();
    await pool?.close(2000);
    await proxy.close(2000);
    await accessLog?.close();
    return code;
  };
  if (!first.applied || first.listeners === 0) {
    out.stderr(
      first.applied
        ? `legate: nothing to serve: the manifests give no listener (a Gateway with an accepted listener is needed)\n`
        : `legate: cannot start: ${first.error}\n`,
    );
    return shutdown(1);
  }
  out.stdout(`${summary(first)}\n`);
  for (const l of proxy.listeners) out.stdout(`listening ${l.name} ${l.address}:${l.port}\n`);
  admin = await startAdmin(
    opts,
    { proxy, configState: configState(reloader, opts.filename), ...(pool ? { workers: pool } : {}) },
    version,
    out.stderr,
  );
  if (pool)
    out.stdout(
      `workers ${pool.count} (pids ${pool
        .list()
        .map((w) => w.pid ?? '-')
        .join(', ')})\n`,
    );
  if (typeof admin === 'string') {
    out.stderr(`legate: ${admin}\n`);
    admin = null;
    return shutdown(1);
  }
  if (admin) out.stdout(`admin ${admin.hostPort}\n`);
  releaseStartupMemory();
  const watched = opts.filename.filter((f) => f !== '-');
  if (opts.watch && watched.length > 0) out.stdout(`watching ${watched.join(' ')} for changes\n`);

  const onHup = () => void reloader.reloadNow();
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    void stop?.then(done);
  });
  process.off('SIGHUP', onHup);
  return shutdown(0);
}

/** One line per reload, then the diagnostics that are new since the previous one. */
function printReload(r: ReloadResult, previous: ReloadResult | undefined, out: Out): void {
  out.stdout(`${summary(r)}\n`);
  const seen = new Set((previous?.diagnostics ?? []).map(formatDiagnostic));
  for (const d of r.diagnostics) {
    if (d.severity === 'info') continue;
    const line = formatDiagnostic(d);
    if (!seen.has(line) || isReloadNote(d)) out.stderr(line + '\n');
  }
}

/** Notes about kept versions are repeated on every reload that keeps them. */
function isReloadNote(d: Diagnostic): boolean {
  return d.code === 'W_KEPT_PREVIOUS_VERSION' || d.code === 'W_OBJECT_REJECTED' || d.code === 'W_KEPT_LAST_GOOD_FILE';
}

/**
 * `reload 3: config 3 applied: 7 objects, 0 added, 1 updated (HTTPRoute/default/web), 0 removed;
 * 1 kept (...), 0 rejected; 1 error; 1 listener, 2 clusters [4.2 ms]`
 */
export function summary(r: ReloadResult): string {
  const what = r.trigger === 'initial' ? 'initial load' : `reload ${r.version}`;
  const status = !r.applied
    ? `NOT applied (config ${r.configVersion} keeps running): ${r.error}`
    : `config ${r.configVersion} applied${r.error ? ` with a problem: ${r.error}` : ''}`;
  const o = r.objects;
  const list = (n: string[]) => (n.length > 0 && n.length <= 3 ? ` (${n.join(', ')})` : '');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [`${plural(o.total, 'object')}`];
  if (r.trigger !== 'initial')
    parts.push(
      `${o.added.length} added${list(o.added)}`,
      `${o.updated.length} updated${list(o.updated)}`,
      `${o.removed.length} removed${list(o.removed)}`,
    );
  const kept = [
    `${r.kept.length} kept${list(r.kept.map((k) => k.object))}`,
    `${r.rejected.length} rejected${list(r.rejected.map((k) => k.object))}`,
  ];
  if (r.keptFiles.length > 0) kept.push(`${plural(r.keptFiles.length, 'file')} kept at last good content`);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  return `${what}: ${status}: ${parts.join(', ')}; ${kept.join(', ')}; ${plural(errors, 'error')}; ${plural(r.listeners, 'listener')}, ${plural(r.clusters, 'cluster')} [${r.durationMs} ms]`;
}
