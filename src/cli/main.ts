import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import type * as ir from '../ir/index.js';
import { validate } from '../ir/validate.js';
import { fillListenerDefaults } from '../ir/builders.js';
import { ConfigError } from '../dataplane/proxy.js';
import { stringify } from 'yaml';
import { Diagnostics } from '../config/model.js';
import { loadManifests, readSources } from '../config/load/load-manifests.js';
import { translate } from '../config/translate.js';

import { formatDiagnostic } from './format.js';
import { registerRun } from './run-command.js';
import { serveManifests } from './serve-manifests.js';
import { releaseStartupMemory } from './release-memory.js';
import { registerCallCommand } from './call-command.js';
import { registerLoadCommand } from './load-command.js';
import { addAdminOptions, startAdmin, type AdminCliOptions } from './admin-options.js';
import { registerProxyConfig } from './proxy-config-command.js';
import { registerBackendCommands } from './fake-service-command.js';
import { registerAnalyze } from './analyze-command.js';
import { parseWorkers, servingProxy } from './workers.js';
import { exitQuietlyOnBrokenPipe } from './broken-pipe.js';

const VERSION = '0.1.0';

/** Entry point; returns the process exit code (a long-running command resolves when it stops). */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnBrokenPipe();
  const program = new Command('legate')
    .description("An L7 resilience proxy for HTTP/1.1, HTTP/2 and gRPC with Envoy's semantics.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  let code = 0;
  const serveCommand = program
    .command('serve')
    .description('run the proxy from manifests (-f, reloaded when they change) or from an IR file (--ir)')
    .option('-f, --filename <path...>', 'manifest files or directories ("-" = standard input, not watched)')
    .option('--no-watch', 'with -f: do not reload when files change')
    .option('--ir <file>', 'IR JSON: { version, listeners, clusters }')
    .option('--access-log <path>', 'access log destination ("-" = stdout); overrides the IR')
    .option('--access-log-format <format>', 'text (Envoy default format) or json', 'text')
    .option('--attempt-trace', 'include the per-attempt trace in text access-log lines')
    .option('--locality <region/zone/subzone>', "where legate runs, for Istio's locality rules (default: $LEGATE_LOCALITY)")
    .option('--workers <n>', 'processes serving traffic, one event loop each (docs/performance.md#workers)', '1');
  addAdminOptions(serveCommand).action(async (opts: ServeOptions & AdminCliOptions & { filename?: string[]; watch: boolean }) => {
    if ((opts.filename === undefined) === (opts.ir === undefined)) {
      process.stderr.write('legate serve: give either -f FILE_OR_DIR... or --ir FILE\n');
      code = 2;
      return;
    }
    code = opts.filename
      ? await serveManifests({ ...opts, filename: opts.filename }, undefined, undefined, VERSION)
      : await serve({ ...opts, ir: opts.ir! });
  });
  registerProxyConfig(program, (c) => (code = c));

  program
    .command('check')
    .description('validate an IR file and print its diagnostics')
    .requiredOption('--ir <file>', 'IR JSON')
    .option('--output <format>', 'text or json', 'text')
    .action((opts: { ir: string; output: string }) => {
      if (!outputIs('check', opts.output, ['text', 'json'])) {
        code = 2;
        return;
      }
      const loaded = readIr(opts.ir);
      if (!loaded.ok) {
        process.stderr.write(loaded.error + '\n');
        code = 1;
        return;
      }
      const diags = validate(loaded.config);
      if (opts.output === 'json') process.stdout.write(JSON.stringify(diags, null, 2) + '\n');
      else if (diags.length === 0) process.stdout.write(`${opts.ir}: ok\n`);
      else
        for (const d of diags)
          process.stdout.write(
            `${opts.ir}: ${d.severity}: ${d.object ?? ''} ${d.field ?? ''}: ${d.message}${d.fix ? ` (fix: ${d.fix})` : ''}\n`,
          );
      code = diags.some((d) => d.severity === 'error') ? 1 : 0;
    });

  program
    .command('validate')
    .description('check manifests as their controllers would, with file:line diagnostics')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories ("-" = standard input)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { filename: string[]; output: string }) => {
      if (!outputIs('validate', opts.output, ['text', 'json'])) {
        code = 2;
        return;
      }
      const { result } = await loadAndTranslate(opts.filename);
      const diags = result.diagnostics;
      if (opts.output === 'json')
        process.stdout.write(
          JSON.stringify({ diagnostics: diags, status: result.status, policyStatus: result.policyStatus }, null, 2) + '\n',
        );
      else {
        for (const d of diags) process.stdout.write(formatDiagnostic(d) + '\n');
        const errors = diags.filter((d) => d.severity === 'error').length;
        process.stdout.write(
          `${errors} error${errors === 1 ? '' : 's'}, ${diags.length - errors} other diagnostic${diags.length - errors === 1 ? '' : 's'}\n`,
        );
      }
      code = diags.some((d) => d.severity === 'error') ? 1 : 0;
    });

  program
    .command('translate')
    .description('print the IR that manifests translate to, with where every value came from')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories ("-" = standard input)')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (opts: { filename: string[]; output: string }) => {
      if (!outputIs('translate', opts.output, ['yaml', 'json'])) {
        code = 2;
        return;
      }
      const { result } = await loadAndTranslate(opts.filename);
      const out = { config: result.config, status: result.status, policyStatus: result.policyStatus, diagnostics: result.diagnostics };
      process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : stringify(out));
      for (const d of result.diagnostics) if (d.severity === 'error') process.stderr.write(formatDiagnostic(d) + '\n');
      code = result.diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
    });

  registerAnalyze(program, (c) => (code = c));
  registerRun(program, (c) => (code = c));
  registerCallCommand(program, (c) => (code = c));
  registerLoadCommand(program, (c) => (code = c));
  registerBackendCommands(program, (c) => (code = c));

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return code;
}

/** An --output that is none of `formats` is a usage error (exit 2), as in analyze, call and load. */
function outputIs(command: string, output: string, formats: string[]): boolean {
  if (formats.includes(output)) return true;
  process.stderr.write(`legate ${command}: --output must be ${formats.map((f) => `"${f}"`).join(' or ')}, not "${output}"\n`);
  return false;
}

function readIr(file: string): { ok: true; config: ir.Config } | { ok: false; error: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, error: `legate: cannot read ${file}: ${(e as Error).message}` };
  }
  try {
    // Hand-written IR may leave listener limits out: they take the defaults.
    return { ok: true, config: fillListenerDefaults(JSON.parse(text) as ir.Config) };
  } catch (e) {
    return { ok: false, error: `legate: ${file} is not valid JSON: ${(e as Error).message}` };
  }
}

type ServeOptions = {
  ir?: string;
  accessLog?: string;
  accessLogFormat: string;
  attemptTrace?: boolean;
  locality?: string;
  workers?: string;
};

async function serve(opts: ServeOptions & AdminCliOptions & { ir: string }): Promise<number> {
  const loaded = readIr(opts.ir);
  if (!loaded.ok) {
    process.stderr.write(loaded.error + '\n');
    return 1;
  }
  if (opts.accessLogFormat !== 'text' && opts.accessLogFormat !== 'json') {
    process.stderr.write(`legate: --access-log-format must be "text" or "json", not "${opts.accessLogFormat}"\n`);
    return 1;
  }
  const workerCount = parseWorkers(opts.workers);
  if (typeof workerCount === 'string') {
    process.stderr.write(`legate: ${workerCount}\n`);
    return 1;
  }
  const { proxy, pool, accessLog } = servingProxy({
    workers: workerCount,
    accessLog: opts.accessLog
      ? { path: opts.accessLog, format: opts.accessLogFormat === 'json' ? 'json' : 'text', attemptTrace: opts.attemptTrace }
      : undefined,
    locality: opts.locality ?? process.env.LEGATE_LOCALITY,
  });
  pool?.start();
  try {
    await (pool ? pool.target(proxy) : proxy).apply(loaded.config);
  } catch (e) {
    await pool?.close(0);
    if (e instanceof ConfigError) process.stderr.write(`legate: ${opts.ir}: ${e.message}\n`);
    else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || (e as NodeJS.ErrnoException).code === 'EACCES')
      process.stderr.write(`legate: cannot bind a listener: ${(e as Error).message}\n`);
    else process.stderr.write(`legate: ${(e as Error).stack}\n`);
    return 1;
  }
  for (const l of proxy.listeners) process.stdout.write(`listening ${l.name} ${l.address}:${l.port}\n`);
  const admin = await startAdmin(opts, { proxy, ...(pool ? { workers: pool } : {}) }, VERSION);
  if (typeof admin === 'string') {
    process.stderr.write(`legate: ${admin}\n`);
    await pool?.close(0);
    await proxy.close(0);
    return 1;
  }
  if (admin) process.stdout.write(`admin ${admin.hostPort}\n`);
  releaseStartupMemory();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await admin?.close();
  await pool?.close(2000);
  await proxy.close(2000);
  await accessLog?.close();
  return 0;
}

async function loadAndTranslate(paths: string[]) {
  const diags = new Diagnostics();
  const objects = loadManifests(await readSources(paths), diags);
  return { objects, result: translate(objects, {}, diags) };
}

export { formatDiagnostic };
