// Command line of the peer proxies: --upstream HOST:PORT --port PORT [--host 127.0.0.1] and their own options.
import { parseArgs } from 'node:util';

/** Parses the peer's arguments (exits with its usage line when --upstream or --port is missing). */
export function peerArgs(script, extra = {}, extraUsage = '') {
  const { values } = parseArgs({
    options: {
      upstream: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      ...extra,
    },
  });
  if (!values.upstream || !values.port) {
    process.stderr.write(`usage: ${script} --upstream HOST:PORT --port PORT${extraUsage}\n`);
    process.exit(2);
  }
  return values;
}
