/** `legate fake-service` and `legate echo-backend`: the backends as processes, configured by environment variables. */
import type { Command } from 'commander';
import { ENV_SPECS } from '../fake-service/config.js';
import type { Env } from '../fake-service/index.js';

const SIGNALS = { SIGINT: 'interrupt', SIGTERM: 'terminated', SIGHUP: 'hangup', SIGQUIT: 'quit' } as const;

/** process.env plus `--env KEY=VALUE` overrides. */
function environment(pairs: string[] | undefined): Env | string {
  const env: Env = { ...process.env };
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) return `--env expects KEY=VALUE, got "${p}"`;
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
}

/** Resolves with the name of the first stop signal received. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const handlers: [NodeJS.Signals, () => void][] = [];
    for (const [sig, name] of Object.entries(SIGNALS)) {
      const h = () => {
        for (const [s, f] of handlers) process.off(s, f);
        resolve(name);
      };
      handlers.push([sig as NodeJS.Signals, h]);
      process.once(sig as NodeJS.Signals, h);
    }
  });
}

/** Go's log.Println timestamp: "2006/01/02 15:04:05". */
function stdlogTime(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The variables and their defaults, as the original's --help lists them. */
function envHelp(): string {
  const rows = ENV_SPECS.map(([name, , kind, dflt]) => {
    const shown =
      name === 'RAND_SEED'
        ? 'the start time'
        : kind === 'duration'
          ? `${Number(dflt) / 1e9}s`
          : dflt === ''
            ? 'no default'
            : `'${String(dflt)}'`;
    return `  ${name}  default: ${shown}`;
  });
  return `\nEnvironment variables (see docs/fake-service.md):\n${rows.join('\n')}\n`;
}

export function registerBackendCommands(program: Command, setCode: (code: number) => void): void {
  program
    .command('fake-service')
    .description('run a backend compatible with nicholasjackson/fake-service v0.26.2 (configured by its environment variables)')
    .option('-e, --env <KEY=VALUE...>', 'set an environment variable for the service (repeatable)')
    .addHelpText('after', envHelp())
    .action(async (opts: { env?: string[] }) => {
      const env = environment(opts.env);
      if (typeof env === 'string') {
        process.stderr.write(`legate fake-service: ${env}\n`);
        return setCode(1);
      }
      let fatal: ((e: Error) => void) | undefined;
      const crashed = new Promise<Error>((resolve) => (fatal = resolve));
      let service;
      try {
        // Loaded when used: the gRPC stack would weigh on every other command's memory.
        const { startFakeService } = await import('../fake-service/index.js');
        service = await startFakeService(env, { onFatal: (e) => fatal!(e) });
      } catch (e) {
        process.stderr.write(`legate fake-service: ${(e as Error).message}\n`);
        return setCode(1);
      }
      for (const p of service.problems) process.stderr.write(`legate fake-service: ignored ${p}\n`);
      const outcome = await Promise.race([untilSignal(), crashed]);
      if (outcome instanceof Error) {
        // As a Go program whose goroutine panicked: message on stderr, exit status 2, no graceful stop.
        process.stderr.write(`panic: ${outcome.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${stdlogTime()} Graceful shutdown, got signal: ${outcome}\n`);
      await service.close();
      setCode(0);
    });

  program
    .command('echo-backend')
    .description('run a stand-in for the Gateway API conformance echo backend (echo-basic; GRPC_ECHO_SERVER=1 for gRPC)')
    .option('-e, --env <KEY=VALUE...>', 'set an environment variable for the backend (repeatable)')
    .action(async (opts: { env?: string[] }) => {
      const env = environment(opts.env);
      if (typeof env === 'string') {
        process.stderr.write(`legate echo-backend: ${env}\n`);
        return setCode(1);
      }
      let backend;
      try {
        const { startEchoBackend } = await import('../fake-service/index.js');
        backend = await startEchoBackend(env);
      } catch (e) {
        process.stderr.write(`legate echo-backend: ${(e as Error).message}\n`);
        return setCode(1);
      }
      await untilSignal();
      await backend.close();
      setCode(0);
    });
}
