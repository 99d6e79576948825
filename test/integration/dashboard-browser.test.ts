/**
 * The dashboard end to end in headless Chromium (Debian's chromium, driven by playwright-core):
 * the page at / loads under its CSP without errors, shows the proxy's real numbers and follows
 * them live: retries after more traffic, an ejected host, a counter reset, a new route.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { route } from '../helpers/ir.js';
import { dashboardFixture, type DashboardFixture } from '../helpers/dashboard.js';
import { launchChromium, type Browser } from '../helpers/browser.js';

let f: DashboardFixture;
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  f = await dashboardFixture();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
});
after(async () => {
  await browser?.close();
  await f?.close();
});

/** The few DOM shapes `table` reads in the page (the project compiles without the DOM library). */
type Cell = { textContent: string | null };
type Row = { cells: ArrayLike<Cell>; dataset: Record<string, string | undefined> };
type Table = { tHead: { rows: ArrayLike<Row> }; tBodies: ArrayLike<{ rows: ArrayLike<Row> }> };

/** A table's rows keyed by their data-key, each as { header text: cell text }. */
function table(id: string): Promise<Record<string, Record<string, string>>> {
  return page.evaluate((tid) => {
    const doc = (globalThis as unknown as { document: { getElementById(id: string): Table } }).document;
    const t = doc.getElementById(tid);
    const heads = Array.from(t.tHead.rows[0]!.cells, (c) => c.textContent!.trim());
    const out: Record<string, Record<string, string>> = {};
    for (const tr of Array.from(t.tBodies[0]!.rows)) {
      if (!tr.dataset.key) continue;
      out[tr.dataset.key] = Object.fromEntries(Array.from(tr.cells, (c, i) => [heads[i]!, c.textContent!.trim()]));
    }
    return out;
  }, id);
}

/** Polls `read` until `ok` holds (the page updates every 200 ms here); fails with the last value. */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

const text = (sel: string) => page.locator(sel).innerText();

test('the dashboard at / shows live numbers from the proxy and follows the traffic', async () => {
  // A browser's Accept header gets the page at /; ?interval_ms= reaches the event stream.
  const res = await page.goto(`${f.admin.url}/?interval_ms=200`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.title(), 'legate dashboard');
  await until(
    'connection',
    () => text('#conn'),
    (t) => t === 'live',
  );
  assert.equal(await text('#state'), 'LIVE');
  assert.equal(await text('#config-version'), 'v1');
  assert.equal(await text('#legate-version'), 'test-version');

  const routes = await until(
    'routes',
    () => table('routes'),
    (r) => Object.keys(r).length === 3,
  );
  assert.deepEqual(
    Object.values(routes).map((r) => [r.route, r.match, r.destination]),
    [
      ['retry', 'prefix /retry', 'backend'],
      ['od', 'prefix /od', 'od'],
      ['all', 'prefix /', 'backend'],
    ],
  );
  const listeners = await table('listeners');
  assert.equal(listeners.main!.address, `127.0.0.1:${f.proxy.port('main')}`);
  assert.equal(listeners.main!.state, 'accepting');

  // Traffic: every request on /retry fails once and is retried.
  assert.deepEqual(await f.retried(4), [200, 200, 200, 200]);
  // `retry ok` is counted when the retried request completes, after its attempt started.
  let clusters = await until(
    'retries',
    () => table('clusters'),
    (c) => c.backend?.['retry ok'] === '4',
  );
  assert.equal(clusters.backend!.retries, '4');
  assert.equal(clusters.backend!.attempts, '8');
  assert.equal(clusters.backend!.hosts, '1 / 1');
  await until(
    'requests/s tile',
    () => text('#tile-rps'),
    (t) => t !== '–',
  );

  // More traffic: the counter moves on the open page.
  await f.retried(3);
  clusters = await until(
    'retries after more traffic',
    () => table('clusters'),
    (c) => c.backend?.retries === '7',
  );
  const r = await until(
    'route retries',
    () => table('routes'),
    (x) => Object.values(x).some((y) => y.route === 'retry' && y.retries === '7'),
  );
  assert.ok(r);

  // Outlier detection ejects `bad`: the hosts table and the tile say so.
  await f.outlier(4);
  const hosts = await until(
    'ejection',
    () => table('hosts'),
    (h) => h[`od\u0000127.0.0.1:${f.bad.port}`]?.health === 'ejected',
  );
  assert.equal(hosts[`od\u0000127.0.0.1:${f.good.port}`]!.health, 'healthy');
  assert.equal(await text('#tile-ejected'), '1');
  clusters = await table('clusters');
  assert.equal(clusters.od!.hosts, '1 / 2');
  assert.match(clusters.od!.ejected!, /^1 \/ 1$/);

  // The charts drew the traffic: a line on the requests chart, a scope per cluster.
  assert.ok((await page.locator('#chart-rps path.line, #chart-rps circle').count()) > 0);
  await page.selectOption('#scope', 'backend');
  assert.ok((await page.locator('#chart-latency path, #chart-latency circle').count()) > 0);

  // /reset_counters: totals drop to 0 on the page.
  assert.equal((await fetch(`${f.admin.url}/reset_counters`, { method: 'POST' })).status, 200);
  await until(
    'reset',
    () => table('clusters'),
    (c) => c.backend?.retries === '0',
  );

  // A new config: the new route appears without reloading the page.
  await f.proxy.apply(f.config('v2', [route('extra', { match: { path: { kind: 'exact', value: '/extra' } } })]));
  await until(
    'new route',
    () => table('routes'),
    (x) => Object.values(x).some((y) => y.route === 'extra' && y.match === 'exact /extra'),
  );
  assert.equal(await text('#config-version'), 'v2');

  assert.deepEqual(errors, [], 'no errors or CSP violations in the page');
});

test('the page says so when the admin server goes away', async () => {
  await f.admin.close();
  await until(
    'disconnected',
    () => text('#conn'),
    (t) => t === 'reconnecting…',
  );
  assert.ok(await page.locator('body.stale').count());
});
