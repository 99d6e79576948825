import http from 'node:http';
import crypto from 'node:crypto';
import type * as ir from '../../src/ir/index.js';
import { retryPolicyDefaults } from '../../src/ir/index.js';
import { h1Backend, type Backend } from './backends.js';

/** A retry policy with Envoy's defaults, patched. */
export function retryPolicy(patch: Partial<ir.RetryPolicy> = {}): ir.RetryPolicy {
  return { ...retryPolicyDefaults(), origin: {}, ...patch };
}

/** What the scripted backend saw of one attempt. */
export type Arrival = {
  /** The client request's `x-key` header (one key per downstream request). */
  key: string;
  /** 1-based attempt number for this key, as counted by the backend. */
  n: number;
  /** performance.now() when the request headers arrived. */
  at: number;
  headers: http.IncomingHttpHeaders;
  /** Body length and sha256, filled in once the body was read (undefined if it was not read). */
  bytes?: number;
  sha256?: string;
};

/**
 * What the script does with one attempt: answer with `res`, or destroy `req.socket`. `n` is the
 * attempt number of this key (1 = first). When `readBody` is not false the body has been read
 * before the script runs.
 */
export type Script = (n: number, req: http.IncomingMessage, res: http.ServerResponse, arrival: Arrival) => void;

export type ScriptedBackend = Backend & {
  server: http.Server;
  arrivals: Arrival[];
  /** The script for the next requests. */
  script: Script;
  /** Read the body before running the script (default true). */
  readBody: boolean;
  /** Arrivals of one key. */
  of(key: string): Arrival[];
  /** Host key as the access log prints it. */
  host: string;
};

/** An HTTP/1.1 backend whose behaviour per attempt is set by the running test. */
export async function scriptedBackend(): Promise<ScriptedBackend> {
  const counts = new Map<string, number>();
  const self = {} as ScriptedBackend;
  const b = await h1Backend((req, res) => {
    const key = String(req.headers['x-key'] ?? '-');
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const arrival: Arrival = { key, n, at: performance.now(), headers: req.headers };
    self.arrivals.push(arrival);
    req.on('error', () => {});
    res.on('error', () => {});
    if (!self.readBody) {
      self.script(n, req, res, arrival);
      return;
    }
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    req.on('end', () => {
      arrival.bytes = bytes;
      arrival.sha256 = hash.digest('hex');
      self.script(n, req, res, arrival);
    });
  });
  Object.assign(self, b, {
    arrivals: [] as Arrival[],
    script: ((_n, _req, res) => res.end('ok')) as Script,
    readBody: true,
    of: (key: string) => self.arrivals.filter((a) => a.key === key),
    host: `127.0.0.1:${b.port}`,
  });
  return self;
}

/** Sends a plain response. */
export function reply(res: http.ServerResponse, status: number, body = '', headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The delay in a trace decision such as `retried (5xx) after 12 ms`. */
export function traceDelay(decision: string): number {
  const m = /^retried \([a-z0-9-]+\) after (\d+) ms$/.exec(decision);
  if (!m) throw new Error(`not a retry decision: ${JSON.stringify(decision)}`);
  return Number(m[1]);
}

export type TraceLine = { attempt: number; host: string; outcome: string; decision: string; ms: number };

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs a proxy with `config` in a child process (for behaviour that may crash the process), and
 * resolves once it listens. `exit` resolves with the exit code when the child ends.
 */
export async function spawnProxy(config: unknown): Promise<{
  port: number;
  child: import('node:child_process').ChildProcess;
  exit: Promise<number | null>;
  stderr(): string;
  close(): Promise<void>;
}> {
  const { spawn } = await import('node:child_process');
  const proxyUrl = new URL('../../src/dataplane/proxy.js', import.meta.url).href;
  const code = `
    const { Proxy } = await import(${JSON.stringify(proxyUrl)});
    const p = await Proxy.start(JSON.parse(process.env.LEGATE_TEST_CONFIG));
    process.stdout.write('PORT ' + p.port('main') + '\\n');
    process.stdin.on('end', () => p.close(50).then(() => process.exit(0)));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, LEGATE_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exit.then((c) => reject(new Error(`proxy child exited (${c}) before listening: ${err}`)));
  });
  return {
    port,
    child,
    exit,
    stderr: () => err,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exit;
        clearTimeout(t);
      }
    },
  };
}
