import { Option, type Command } from 'commander';
import { parseGoDuration } from '../common/durations.js';
import { parseHeaders, readData, UsageError } from '../client/headers.js';
import type { LoadOptions } from '../client/index.js';
import { addConnectionOptions, durationMs, report, tlsFrom, wholeNumber, type ConnectionFlags } from './client-options.js';

type LoadFlags = ConnectionFlags & {
  header?: string[];
  proto?: string[];
  requests?: string;
  d?: string;
  duration?: string;
  data?: string;
  concurrency: string;
  rate?: string;
  timeout: string;
  connections?: string;
  request?: string;
  http2?: boolean;
  output: string;
  progress: boolean;
};

/** `legate load TARGET [METHOD] (-n N | -d DURATION) [-c N] [--rate R]`. */
export function registerLoadCommand(program: Command, setCode: (code: number) => void): void {
  const cmd = program
    .command('load')
    .description('bounded load over HTTP/1.1, HTTP/2 or gRPC, with a summary: success rate, statuses, attempts per request, latency')
    .argument('<target>', 'an http:// / https:// URL, or host:port for gRPC')
    .argument('[method]', 'gRPC method (Service.Method); found by reflection when the server has only one')
    .option('-n, --requests <count>', 'number of requests')
    .addOption(new Option('-d <duration|data>', 'a duration (10s, 1m) bounds the run; anything else is the request (JSON or body, @file)'))
    .option('-z, --duration <duration>', 'how long to send (at most 1h; a run with only -n stops after 10m)')
    .option('--data <text>', 'gRPC request as JSON (default {}) or HTTP body; @file or @- for stdin')
    .option('-c, --concurrency <n>', 'requests in flight at once', '10')
    .option('--rate <per-second>', 'requests started per second, over all workers')
    .option('-t, --timeout <duration>', 'bound on each request', '10s')
    .option('--connections <n>', 'connections (default: concurrency for HTTP/1.1, 1 for HTTP/2 and gRPC)');
  addConnectionOptions(cmd)
    .option('-X, --request <method>', 'HTTP method (default GET, POST with a body)')
    .option('--http2', 'HTTP/2 (h2c prior knowledge for http://, ALPN h2 for https://)')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--no-progress', 'no progress bar (it is only drawn when standard output is a terminal)')
    .action(async (target: string, method: string | undefined, flags: LoadFlags) => {
      try {
        setCode(await load(target, method, flags));
      } catch (e) {
        setCode(report('load', e));
      }
    });
}

async function load(target: string, method: string | undefined, f: LoadFlags): Promise<number> {
  if (f.output !== 'text' && f.output !== 'json') throw new UsageError(`--output must be "text" or "json", not "${f.output}"`);
  // -d is a duration when it reads as one (hey and the habit), otherwise the request.
  let duration = f.duration;
  let data = f.data;
  if (f.d !== undefined) {
    if (parseGoDuration(f.d).ok) {
      if (duration !== undefined) throw new UsageError('the duration is given twice (-d and --duration)');
      duration = f.d;
    } else {
      if (data !== undefined) throw new UsageError('the request is given twice (-d and --data)');
      data = f.d;
    }
  }
  const rate = f.rate === undefined ? undefined : Number(f.rate);
  if (rate !== undefined && !(rate > 0)) throw new UsageError(`--rate takes a positive number, not "${f.rate}"`);
  // Loaded here so that other commands do not pay for grpc-js and protobufjs.
  const { formatSummary, progressBar, runLoad } = await import('../client/index.js');
  const controller = new AbortController();
  const opts: LoadOptions = {
    target,
    ...(method ? { grpcMethod: method } : {}),
    ...(f.requests !== undefined ? { requests: wholeNumber(f.requests, '-n') } : {}),
    ...(duration !== undefined ? { durationMs: durationMs(duration, '--duration') } : {}),
    concurrency: wholeNumber(f.concurrency, '-c'),
    ...(rate !== undefined ? { rate } : {}),
    timeoutMs: durationMs(f.timeout, '--timeout'),
    ...(f.connections !== undefined ? { connections: wholeNumber(f.connections, '--connections') } : {}),
    ...(f.request ? { method: f.request } : {}),
    headers: parseHeaders(f.header ?? []),
    ...(data !== undefined ? { body: readData(data) } : {}),
    ...(f.authority ? { authority: f.authority } : {}),
    ...(f.http2 ? { http2: true } : {}),
    ...(f.proto?.length ? { protoFiles: f.proto } : {}),
    signal: controller.signal,
  };
  const tls = tlsFrom(f, target);
  if (tls) opts.tls = tls;
  const bar = f.progress && process.stdout.isTTY ? progressBar((s) => process.stdout.write(s), process.stdout.columns) : undefined;
  if (bar) opts.onProgress = (p) => bar.update(p);
  // Ctrl-C ends the run early and still prints the summary.
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    const summary = await runLoad(opts);
    bar?.clear();
    process.stdout.write(f.output === 'json' ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
    return 0;
  } finally {
    bar?.clear();
    process.off('SIGINT', stop);
  }
}
