// Takes docs/images/dashboard.png: runs `legate run -f examples/dashboard` (fake-service backends,
// retries, outlier detection, a timeout, a circuit breaker and a fault), sends bounded load through
// it with `legate load`'s engine, opens the dashboard in headless Chromium and screenshots it.
//   npm run build && node scripts/dashboard-screenshot.mjs [out.png]
// Env: DURATION_S (load, default 60), PORT_OFFSET (default 28000: the gateway on 28080).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { runLoad, formatSummary } = await import(`${root}dist/src/client/index.js`);
const { launchChromium } = await import(`${root}dist/test/helpers/browser.js`);

const out = process.argv[2] ?? `${root}docs/images/dashboard.png`;
const durationMs = Number(process.env.DURATION_S ?? 60) * 1000;
const offset = Number(process.env.PORT_OFFSET ?? 28000);
// Two points a second: the chart's two-minute window becomes one minute, full by the end.
const intervalMs = 500;

const legate = spawn(
  process.execPath,
  [`${root}bin/legate.js`, 'run', '-f', `${root}examples/dashboard`, '--port-offset', String(offset), '--admin-address', '127.0.0.1:0', '-q'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let stdout = '';
const admin = await new Promise((resolve, reject) => {
  legate.stdout.on('data', (b) => {
    stdout += b;
    const m = /admin API\s+(http:\/\/\S+?)\/?\n/.exec(stdout);
    if (m) resolve(m[1]);
  });
  legate.once('exit', (code) => reject(new Error(`legate run exited (${code}) before it served:\n${stdout}`)));
  setTimeout(() => reject(new Error(`legate run did not start in 30 s:\n${stdout}`)), 30_000).unref();
});
process.stdout.write(stdout);
const gateway = `http://127.0.0.1:${80 + offset}`;

const browser = await launchChromium({ width: 1360, height: 900 });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${admin}/?interval_ms=${intervalMs}`);

  const load = (path, rate, concurrency) => runLoad({ target: `${gateway}${path}`, durationMs, rate, concurrency });
  const done = Promise.all([load('/api', 40, 8), load('/orders', 15, 6)]);
  // Screenshot while the load still runs, so the live numbers are not zero.
  await new Promise((r) => setTimeout(r, durationMs - 4000));
  await page.locator('#tile-rps').filter({ hasNotText: '–' }).waitFor();
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  const [api, orders] = await done;
  console.log(`\n== /api\n${formatSummary(api)}\n== /orders\n${formatSummary(orders)}`);
  if (errors.length > 0) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
  console.log(`\nwrote ${out}`);
} finally {
  await browser.close();
  legate.kill('SIGINT');
  await new Promise((r) => legate.once('exit', r));
}
