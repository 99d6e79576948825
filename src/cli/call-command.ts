import type { Command } from 'commander';
import { parseHeaders, readData, UsageError } from '../client/headers.js';
import type { GrpcCallResult, HttpCallResult } from '../client/index.js';
import { addConnectionOptions, durationMs, report, tlsFrom, type ConnectionFlags } from './client-options.js';

type CallFlags = ConnectionFlags & {
  header?: string[];
  proto?: string[];
  data?: string;
  deadline?: string;
  request?: string;
  http2?: boolean;
  verbose?: boolean;
  output: string;
};

/** `legate call ADDR METHOD`, `legate call ADDR list|describe`, `legate call URL`. */
export function registerCallCommand(program: Command, setCode: (code: number) => void): void {
  const cmd = program
    .command('call')
    .description('one gRPC call (schema by server reflection) or one HTTP request, printed as grpcurl / curl would')
    .argument('<target>', 'host:port for gRPC, or an http:// / https:// URL')
    .argument('[method]', 'Service.Method, package.Service/Method, "list [SERVICE]" or "describe SYMBOL"')
    .argument('[symbol]', 'for list and describe')
    .option('-d, --data <json>', 'request message as JSON (gRPC) or body (HTTP); @file or @- for stdin')
    .option('--deadline <duration>', 'bound on the call, e.g. 2s or 500ms');
  addConnectionOptions(cmd)
    .option('-X, --request <method>', 'HTTP method (default GET, POST with -d)')
    .option('--http2', 'HTTP/2 (h2c prior knowledge for http://, ALPN h2 for https://)')
    .option('-v, --verbose', 'also print response headers and trailers')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (target: string, method: string | undefined, symbol: string | undefined, flags: CallFlags) => {
      try {
        setCode(await call(target, method, symbol, flags));
      } catch (e) {
        setCode(report('call', e));
      }
    });
}

async function call(target: string, method: string | undefined, symbol: string | undefined, f: CallFlags): Promise<number> {
  if (f.output !== 'text' && f.output !== 'json') throw new UsageError(`--output must be "text" or "json", not "${f.output}"`);
  const headers = parseHeaders(f.header ?? []);
  const tls = tlsFrom(f, target);
  const deadlineMs = f.deadline !== undefined ? durationMs(f.deadline, '--deadline') : undefined;
  const data = f.data !== undefined ? readData(f.data) : undefined;
  const json = f.output === 'json';
  // Loaded here so that other commands do not pay for grpc-js and protobufjs.
  const { grpcCall, grpcDescribe, grpcList, httpCall } = await import('../client/index.js');

  if (/^https?:\/\//i.test(target)) {
    if (method) throw new UsageError(`an HTTP call takes only the URL ("${method}" is extra); use -X for the HTTP method`);
    if (f.authority) headers.push(['host', f.authority]);
    const res = await httpCall({
      url: target,
      headers,
      ...(f.request ? { method: f.request } : {}),
      ...(data !== undefined ? { body: data } : {}),
      ...(f.http2 ? { http2: true } : {}),
      ...(tls ? { tls } : {}),
      ...(deadlineMs !== undefined ? { timeoutMs: deadlineMs } : {}),
    });
    process.stdout.write(json ? JSON.stringify({ ...res, body: res.body.toString('utf8') }, null, 2) + '\n' : httpText(res, !!f.verbose));
    return res.status >= 400 ? 1 : 0;
  }
  if (f.request || f.http2) throw new UsageError('-X and --http2 are for http:// URLs; gRPC calls always POST over HTTP/2');
  if (!method) throw new UsageError('name the method to call (Service.Method), or "list" to see the services');
  const opts = {
    address: target,
    metadata: headers,
    ...(f.authority ? { authority: f.authority } : {}),
    ...(tls ? { tls } : {}),
    ...(f.proto?.length ? { protoFiles: f.proto } : {}),
    ...(deadlineMs !== undefined ? { reflectionTimeoutMs: Math.min(deadlineMs, 10_000) } : {}),
  };
  if (method === 'list') {
    const names = await grpcList({ ...opts, ...(symbol ? { service: symbol } : {}) });
    process.stdout.write(json ? JSON.stringify(names, null, 2) + '\n' : names.map((n) => n + '\n').join(''));
    return 0;
  }
  if (method === 'describe') {
    if (!symbol) throw new UsageError('describe needs a symbol: a service, method, message or enum name');
    process.stdout.write(await grpcDescribe({ ...opts, symbol }));
    return 0;
  }
  if (symbol) throw new UsageError(`unexpected argument "${symbol}" after the method`);
  let messages = 0;
  let headersShown = false;
  const res = await grpcCall({
    ...opts,
    method,
    ...(data !== undefined ? { data } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    // Text output prints as things arrive, so a server stream shows its messages one by one.
    ...(json
      ? {}
      : {
          onHeaders: (h: Record<string, string[]>) => {
            if (!f.verbose) return;
            process.stdout.write(metadataText('Response headers', h) + '\n');
            headersShown = true;
          },
          onMessage: (m: unknown) => process.stdout.write((messages++ ? '\n' : '') + JSON.stringify(m, null, 2) + '\n'),
        }),
  });
  if (json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else {
    if (f.verbose) {
      if (!headersShown) process.stdout.write(metadataText('Response headers', res.headers) + '\n');
      process.stdout.write((messages ? '\n' : '') + metadataText('Response trailers', res.trailers));
    }
    if (!res.ok) process.stderr.write(errorText(res));
  }
  return res.ok ? 0 : 1;
}

/** grpcurl's error block: code name, message and the trailers that came with the status. */
function errorText(res: GrpcCallResult): string {
  let text = `ERROR:\n  Code: ${res.codeName} (${res.code})\n  Message: ${res.details}\n`;
  const trailers = Object.entries(res.trailers);
  if (trailers.length) text += '  Trailers:\n' + trailers.flatMap(([k, vs]) => vs.map((v) => `    ${k}: ${v}\n`)).join('');
  return text;
}

function metadataText(title: string, md: Record<string, string[]>): string {
  const lines = Object.entries(md).flatMap(([k, vs]) => vs.map((v) => `  ${k}: ${v}\n`));
  return `${title}:\n${lines.join('') || '  (none)\n'}`;
}

function httpText(res: HttpCallResult, verbose: boolean): string {
  let out = `HTTP/${res.httpVersion} ${res.status}${res.statusText ? ' ' + res.statusText : ''}\n`;
  if (verbose) out += res.headers.map(([k, v]) => `${k}: ${v}\n`).join('');
  out += '\n' + res.body.toString('utf8');
  if (verbose && res.trailers.length)
    out += (res.body.length && !res.body.toString().endsWith('\n') ? '\n' : '') + res.trailers.map(([k, v]) => `${k}: ${v}\n`).join('');
  return out;
}
