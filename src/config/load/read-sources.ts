import type { ManifestSource } from './load-manifests.js';

/** The file name stdin gets in positions and diagnostics. */
export const STDIN_NAME = '<stdin>';

/**
 * CLI `-f` arguments -> sources for loadManifests: `-` becomes stdin's text (read once, at the
 * place of the first `-`; later ones are dropped), every other path is passed on as is.
 * Rejects only when stdin itself cannot be read.
 */
export async function readSources(
  paths: readonly string[],
  stdin: AsyncIterable<Uint8Array | string> = process.stdin,
): Promise<ManifestSource[]> {
  const out: ManifestSource[] = [];
  let readStdin = false;
  for (const p of paths) {
    if (p !== '-') {
      out.push(p);
      continue;
    }
    if (readStdin) continue;
    readStdin = true;
    out.push({ name: STDIN_NAME, text: await readAll(stdin) });
  }
  return out;
}

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
