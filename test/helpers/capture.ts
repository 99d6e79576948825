import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export type Captured = { code: number; stdout: string; stderr: string };

/**
 * Runs `fn` with the text written to stdout and stderr captured. Only strings are captured: the
 * test runner reports through the same stream with Buffers, which pass through.
 */
export async function capture(fn: () => Promise<number>): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  const hook = (original: typeof stdout, sink: string[]) =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk === 'string') {
        sink.push(chunk);
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stdout;
  process.stdout.write = hook(stdout, out);
  process.stderr.write = hook(stderr, err);
  try {
    const code = await fn();
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

export type CertOptions = {
  /** Subject CN (default localhost). */
  cn?: string;
  /** subjectAltName entries (default DNS:localhost, IP:127.0.0.1). */
  subjectAltNames?: string[];
  /** RSA 2048 instead of an EC P-256 key. */
  rsa?: boolean;
  /** Add ExtKeyUsage serverAuth. */
  serverAuth?: boolean;
};

/** A throw-away self-signed certificate (for localhost and 127.0.0.1 by default), made with openssl for this run. */
export function selfSignedCert(opts: CertOptions = {}): { cert: string; key: string; certFile: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-client-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const sans = opts.subjectAltNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...(opts.rsa ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']),
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${opts.cn ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${sans.join(',')}`,
      ...(opts.serverAuth ? ['-addext', 'extendedKeyUsage=serverAuth'] : []),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: fs.readFileSync(certFile, 'utf8'),
    key: fs.readFileSync(keyFile, 'utf8'),
    certFile,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
