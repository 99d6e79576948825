import fs from 'node:fs';

/** One header or metadata entry, in the order the user gave them. */
export type HeaderPair = [name: string, value: string];

/** Parses `-H 'name: value'` arguments (curl and grpcurl syntax); names are lower-cased. */
export function parseHeaders(args: readonly string[]): HeaderPair[] {
  return args.map((arg) => {
    const colon = arg.indexOf(':', arg.startsWith(':') ? 1 : 0);
    if (colon <= 0) throw new UsageError(`header "${arg}" is not "name: value"`);
    const name = arg.slice(0, colon).trim().toLowerCase();
    if (!/^:?[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new UsageError(`header name "${name}" has characters HTTP does not allow`);
    return [name, arg.slice(colon + 1).trim()];
  });
}

/** Reads `-d` input: literal text, `@file`, or `@-` for standard input. */
export function readData(arg: string): string {
  if (!arg.startsWith('@')) return arg;
  const file = arg.slice(1);
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file === '-' ? 'standard input' : file}: ${(e as Error).message}`);
  }
}

/** A mistake in what the user asked for (as opposed to a failure of the call itself). */
export class UsageError extends Error {
  override name = 'UsageError';
}
