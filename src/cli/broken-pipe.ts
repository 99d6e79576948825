/**
 * A closed reader (`legate validate -f DIR | head -1`) must not crash the CLI with an unhandled
 * EPIPE. Node ignores SIGPIPE, so a write to a closed pipe fails with EPIPE instead of ending the
 * process as it ends a Unix tool. On EPIPE on standard output or standard error:
 *
 * - a long-running command (run, serve, fake-service: it listens for SIGTERM) stops as on
 *   SIGTERM, so it stops its backends and listeners; what it would print is dropped;
 * - any other command ends at once, killed by SIGPIPE as `cat` or `kubectl` would be (the shell
 *   reports exit status 141 and prints nothing).
 */
let installed = false;

export function exitQuietlyOnBrokenPipe(): void {
  if (installed) return;
  installed = true;
  let broken = false;
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e; // as without this handler
    if (broken) return;
    broken = true;
    silence(process.stdout);
    silence(process.stderr);
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
    else dieOfSigpipe();
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}

/** Later writes are dropped instead of failing again. */
function silence(stream: NodeJS.WriteStream): void {
  stream.write = ((...args: unknown[]) => {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (cb) queueMicrotask(cb);
    return true;
  }) as typeof stream.write;
}

/**
 * Node sets SIGPIPE to "ignore" at start; a listener added and removed again leaves it at the
 * default action (libuv restores SIG_DFL), so the signal then ends the process as it would a C
 * program. Should it not, exit with the status a shell would show.
 */
function dieOfSigpipe(): never {
  const noop = () => {};
  try {
    process.on('SIGPIPE', noop);
    process.off('SIGPIPE', noop);
    process.kill(process.pid, 'SIGPIPE');
  } catch {
    // no SIGPIPE on this platform
  }
  process.exit(128 + 13);
}
