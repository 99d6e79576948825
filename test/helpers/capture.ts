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

/** A throw-away self-signed certificate for localhost and 127.0.0.1, made with openssl for this run. */
export function selfSignedCert(): { cert: string; key: string; certFile: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-client-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
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
