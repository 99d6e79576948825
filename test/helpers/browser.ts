/**
 * Headless Chromium for browser tests and the dashboard screenshot: the system's Chromium
 * (Debian's `chromium` package) driven by playwright-core, which never downloads a browser.
 * A missing Chromium is an error that says how to install it, never a skipped test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// No GPU, no sandbox (tests run as root in CI), and nothing that reaches out to the network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type Browser = { context: BrowserContext; newPage(): Promise<Page>; close(): Promise<void> };

export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: browser tests need it. Install it with ` +
        '"sudo apt-get install -y chromium" (Debian/Ubuntu), or point CHROMIUM_PATH at a Chromium or Chrome binary.',
    );
  // A fresh profile each time (playwright passes it as --user-data-dir).
  const profile = mkdtempSync(join(tmpdir(), 'legate-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport,
      colorScheme: 'light',
      timeout: 60_000,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
