// Options shared by `legate call` and `legate load`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { parseGoDuration } from '../common/durations.js';
// Light imports only: the client modules (grpc-js, protobufjs) load when a client command runs.
import { UsageError } from '../client/headers.js';
import type { TlsOptions } from '../client/grpc-channel.js';

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export type ConnectionFlags = { authority?: string; tls?: boolean; insecure?: boolean; cacert?: string; servername?: string };

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-H, --header <name: value>', 'request header or gRPC metadata (repeatable)', collect)
    .option('--authority <host>', ':authority / Host to send (what routes match on)')
    .option('--tls', 'gRPC over TLS (for HTTP the https:// scheme decides)')
    .option('--insecure', 'TLS without verifying the server certificate')
    .option('--cacert <file>', 'PEM file of the certificate authorities to trust')
    .option('--servername <name>', 'TLS server name (SNI and verification) when it differs from the address')
    .option('--proto <file>', 'gRPC schema from a .proto file instead of server reflection (repeatable)', collect);
}

/** TLS settings from the flags: on for `--tls` (gRPC) or an https:// URL. */
export function tlsFrom(flags: ConnectionFlags, target: string): TlsOptions | undefined {
  const https = /^https:\/\//i.test(target);
  if (!flags.tls && !https) {
    if (flags.insecure || flags.cacert || flags.servername)
      throw new UsageError('--insecure, --cacert and --servername need TLS: add --tls (gRPC) or use an https:// URL');
    return undefined;
  }
  let ca: Buffer | undefined;
  if (flags.cacert) {
    try {
      ca = fs.readFileSync(flags.cacert);
    } catch (e) {
      throw new UsageError(`cannot read --cacert ${flags.cacert}: ${(e as Error).message}`);
    }
  }
  return {
    ...(flags.insecure ? { insecure: true } : {}),
    ...(ca ? { ca } : {}),
    ...(flags.servername ? { servername: flags.servername } : {}),
  };
}

export function durationMs(text: string, flag: string): number {
  const d = parseGoDuration(text);
  if (!d.ok) throw new UsageError(`${flag}: ${d.error}`);
  return d.ms;
}

export function wholeNumber(text: string, flag: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${flag} takes a whole number, not "${text}"`);
  return Number(text);
}

/** Prints a usage mistake or a failure the way every client command does; returns the exit code. */
export function report(command: string, e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`legate ${command}: ${e.message}\n`);
    return 2;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`legate ${command}: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
  return 1;
}
