/**
 * The dashboard's page, script and style: hand-written static files shipped in the package
 * (`src/admin/dashboard/static/`, listed in package.json `files`), read once on first use.
 * Nothing is generated; there is no build step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
} as const;

export type AssetName = keyof typeof FILES;
export type Asset = { contentType: string; body: string };

/** The page loads only its own script and style and talks only to its own origin. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:";

/** Compiled, this module sits in dist/src/admin/dashboard/; the files stay in the source tree. */
function staticDir(): string {
  const candidates = [new URL('./static/', import.meta.url), new URL('../../../../src/admin/dashboard/static/', import.meta.url)];
  for (const u of candidates) if (existsSync(new URL('index.html', u))) return fileURLToPath(u);
  throw new Error(
    `dashboard files not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(' and ')}): ` +
      'the installed package is incomplete; package.json "files" must list src/admin/dashboard/static',
  );
}

let cache: Map<AssetName, Asset> | undefined;

export function dashboardAsset(name: AssetName): Asset {
  if (!cache) {
    const dir = staticDir();
    cache = new Map((Object.keys(FILES) as AssetName[]).map((n) => [n, { contentType: FILES[n], body: readFileSync(dir + n, 'utf8') }]));
  }
  return cache.get(name)!;
}

export function isAssetName(name: string): name is AssetName {
  return Object.hasOwn(FILES, name);
}
