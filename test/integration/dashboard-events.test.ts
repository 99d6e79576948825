/**
 * The dashboard's server-sent events and pages, over node:http against a real proxy: event format,
 * numbers that match the traffic, per-interval windows across /reset_counters, topology on
 * reload, one timer per interval and none without streams, streams ended on admin shutdown and
 * at the end of a drain.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AdminServer } from '../../src/admin/admin-server.js';
import { Proxy } from '../../src/dataplane/proxy.js';
import { cluster, config, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { dashboardFixture } from '../helpers/dashboard.js';
import { SseClient } from '../helpers/sse.js';
import { sleep } from '../helpers/retry.js';

const f = await dashboardFixture();
const { admin, proxy } = f;
after(() => f.close());

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const byName = (rows: Row[], name: string) => rows.find((r) => r.name === name)!;

function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(admin.url + path, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Waits until no stream is open (the server sees a client's close a moment after it happens). */
async function noStreams(): Promise<void> {
  for (let i = 0; i < 200 && admin.dashboard.clients > 0; i++) await sleep(10);
  assert.equal(admin.dashboard.clients, 0);
}

/** Runs `fn` with a stream at `intervalMs`, then closes it and waits until the server has seen that. */
async function withStream(intervalMs: number, fn: (s: SseClient) => Promise<void>): Promise<void> {
  const s = await SseClient.open(`${admin.url}/dashboard/events?interval_ms=${intervalMs}`);
  try {
    await fn(s);
  } finally {
    s.close();
  }
  await noStreams();
}

test('/ serves the dashboard to browsers and the endpoint list to curl; /help, /dashboard and its files', async () => {
  const html = await get('/', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
  assert.equal(html.status, 200);
  assert.match(html.headers['content-type']!, /^text\/html/);
  assert.match(html.body, /<script src="\/dashboard\/dashboard.js"/);
  assert.match(String(html.headers['content-security-policy']), /script-src 'self'/);
  assert.equal(html.headers.vary, 'accept');
  for (const accept of ['*/*', '']) {
    const t = await get('/', accept ? { accept } : {});
    assert.match(t.headers['content-type']!, /^text\/plain/);
    assert.match(t.body, /^admin commands are:\n/);
    assert.match(t.body, /\/dashboard: /);
  }
  assert.match((await get('/help', { accept: 'text/html' })).body, /^admin commands are:/, '/help is always the text');
  assert.match((await get('/dashboard')).body, /<title>legate dashboard<\/title>/);
  const js = await get('/dashboard/dashboard.js');
  assert.match(js.headers['content-type']!, /^text\/javascript/);
  assert.match(js.body, /new EventSource/);
  assert.match((await get('/dashboard/dashboard.css')).headers['content-type']!, /^text\/css/);
  assert.equal((await get('/dashboard/index.html')).status, 404);
  assert.equal((await get('/dashboard/nope.js')).status, 404);
  assert.equal((await get('/dashboard', {}, 'POST')).status, 405);
  assert.equal((await get('/dashboard/events', {}, 'POST')).status, 405);
});

test('bad intervals are refused with a message; HEAD answers the stream head only', async () => {
  for (const v of ['abc', '99', '60001', '1.5', '-5', '']) {
    const r = await get(`/dashboard/events?interval_ms=${v}`);
    assert.equal(r.status, 400, v);
    assert.match(r.body, /interval_ms must be a whole number of milliseconds from 100 to 60000/);
  }
  const h = await get('/dashboard/events', {}, 'HEAD');
  assert.equal(h.status, 200);
  assert.match(h.headers['content-type']!, /^text\/event-stream/);
  assert.equal(admin.dashboard.timers, 0, 'a HEAD starts no timer');
});

test('events: retry, then topology and stats at once; stats every interval with numbers that match the traffic', async () => {
  await withStream(150, async (s) => {
    assert.equal(s.res.statusCode, 200);
    assert.match(s.res.headers['content-type']!, /^text\/event-stream/);
    assert.equal(s.res.headers['cache-control'], 'no-cache, max-age=0');
    const topo = await s.nextJson('topology');
    assert.equal(s.events[0]!.retry, 2000, 'the first block sets the reconnection delay');
    assert.equal(topo.config_version, 'v1');
    assert.equal(topo.legate_version, 'test-version');
    const l = topo.listeners[0];
    assert.deepEqual([l.name, l.address, l.port], ['main', '127.0.0.1', proxy.port('main')]);
    assert.deepEqual(
      l.virtual_hosts[0].routes.map((r: Row) => [r.name, r.match, r.destination]),
      [
        ['retry', 'prefix /retry', 'backend'],
        ['od', 'prefix /od', 'od'],
        ['all', 'prefix /', 'backend'],
      ],
    );
    assert.deepEqual(
      topo.clusters.map((c: Row) => [c.name, c.hosts]),
      [
        ['backend', 1],
        ['od', 2],
      ],
    );
    const first = await s.nextJson('stats');
    assert.equal(first.interval_ms, 150);
    assert.equal(first.state, 'LIVE');
    assert.equal(first.overall.requests, null, 'no window before a second sample');

    // Stats events come every 150 ms: three ticks span at least 450 ms (less a late first sample
    // on a loaded machine) and far less than three default intervals.
    const times: number[] = [first.time];
    for (let i = 0; i < 3; i++) times.push((await s.nextJson('stats')).time);
    const span = times[3]! - times[0]!;
    assert.ok(span >= 400 && span < 3000, `${times.join(', ')}`);

    const before = byName((await s.nextJson('stats')).clusters, 'backend');
    assert.deepEqual(await f.retried(3), [200, 200, 200]);
    // Wait for the sample that saw all three complete: the windows may split them over intervals.
    let st: Row;
    let windowed = 0;
    do {
      st = await s.nextJson('stats');
      windowed += byName(st.clusters, 'backend').window.requests;
    } while (byName(st.clusters, 'backend').rq_2xx < before.rq_2xx + 3);
    const c = byName(st.clusters, 'backend');
    assert.equal(c.retry - before.retry, 3);
    assert.equal(c.retry_success - before.retry_success, 3);
    assert.equal(c.rq_total - before.rq_total, 6, 'two attempts per request');
    assert.equal(c.rq_2xx - before.rq_2xx, 3);
    assert.equal(windowed, 3, 'the windows count each completed request once');
    assert.equal(c.hosts[0].address, f.be.host);
    assert.equal(c.hosts[0].healthy, true);
    const r = st.routes.find((x: Row) => x.route === 'retry');
    assert.ok(r.retry >= 3);
    const lst = byName(st.listeners, 'main');
    assert.ok(lst.rq_total >= 3 && lst.rq_2xx >= 3);
  });
});

test('interval windows: success rate and latency of the last interval; /reset_counters never makes them negative', async () => {
  await withStream(200, async (s) => {
    await s.nextJson('stats');
    // Two requests to the outlier cluster: one 503 from `bad`, one 200 from `good`.
    const statuses = await f.outlier(2);
    assert.deepEqual([...statuses].sort(), [200, 503]);
    let od: Row;
    let done = 0;
    let failed = 0;
    do {
      od = byName((await s.nextJson('stats')).clusters, 'od');
      done += od.window.requests;
      if (od.window.requests > 0) {
        failed += Math.round(od.window.requests * (1 - od.window.success_rate));
        assert.ok(od.window.p50_ms > 0 && od.window.p50_ms <= od.window.p99_ms, JSON.stringify(od.window));
      }
    } while (done < 2);
    assert.deepEqual([done, failed], [2, 1]);

    assert.equal((await get('/reset_counters', {}, 'POST')).status, 200);
    await f.retried(1);
    let c: Row;
    do c = byName((await s.nextJson('stats')).clusters, 'backend');
    while (c.retry < 1 || c.window.requests === 0);
    assert.equal(c.retry, 1, 'totals restart at 0');
    assert.ok(c.window.requests >= 1 && c.window.rps > 0, JSON.stringify(c.window));
    const more = await s.nextJson('stats');
    for (const x of [...more.clusters, ...more.listeners, ...more.routes]) assert.ok(x.window.requests >= 0, JSON.stringify(x));
  });
});

test('ejected hosts show with their health flags', async () => {
  await withStream(100, async (s) => {
    await f.outlier(4);
    let od: Row;
    do od = byName((await s.nextJson('stats')).clusters, 'od');
    while (od.ejections_active === 0);
    const badHost = od.hosts.find((h: Row) => h.address === `127.0.0.1:${f.bad.port}`);
    assert.deepEqual([badHost.ejected, badHost.healthy, badHost.health_flags], [true, false, '/failed_outlier_check']);
    assert.equal(od.hosts_healthy, 1);
    assert.equal(od.hosts_total, 2);
  });
});

test('a new config pushes a new topology event', async () => {
  await withStream(100, async (s) => {
    assert.equal((await s.nextJson('topology')).config_version, 'v1');
    await proxy.apply(f.config('v2', [route('extra', { match: { path: { kind: 'exact', value: '/extra' } } })]));
    const t = await s.nextJson('topology');
    assert.equal(t.config_version, 'v2');
    assert.ok(t.listeners[0].virtual_hosts[0].routes.some((r: Row) => r.name === 'extra' && r.match === 'exact /extra'));
    assert.equal((await s.nextJson('stats')).config_version, 'v2');
  });
});

test('one timer per interval, shared by its streams; nothing computed while no stream is open', async () => {
  await noStreams();
  assert.equal(admin.dashboard.timers, 0);
  const idle = admin.dashboard.samples;
  await sleep(300);
  assert.equal(admin.dashboard.samples, idle, 'no stream, no sample');

  // A 60 s interval never ticks during the test: only opening a group samples.
  const x = await SseClient.open(`${admin.url}/dashboard/events?interval_ms=60000`);
  const xs = await x.next('stats');
  assert.deepEqual([admin.dashboard.samples - idle, admin.dashboard.timers], [1, 1]);
  const y = await SseClient.open(`${admin.url}/dashboard/events?interval_ms=60000`);
  assert.equal((await y.next('stats')).data, xs.data, "a stream joining a group gets the group's last sample");
  assert.deepEqual([admin.dashboard.samples - idle, admin.dashboard.timers, admin.dashboard.clients], [1, 1, 2]);

  const z = await SseClient.open(`${admin.url}/dashboard/events?interval_ms=100`);
  await z.next('stats');
  assert.equal(admin.dashboard.timers, 2);
  const t0 = admin.dashboard.samples;
  await sleep(450);
  const ticks = admin.dashboard.samples - t0;
  assert.ok(ticks >= 2 && ticks <= 6, `samples in 450 ms at 100 ms: ${ticks}`);

  z.close();
  for (let i = 0; i < 200 && admin.dashboard.timers !== 1; i++) await sleep(10);
  assert.equal(admin.dashboard.timers, 1, 'the 100 ms group stopped with its only stream');
  x.close();
  for (let i = 0; i < 200 && admin.dashboard.clients !== 1; i++) await sleep(10);
  assert.deepEqual([admin.dashboard.clients, admin.dashboard.timers], [1, 1], 'y keeps the 60 s group');
  y.close();
  await noStreams();
  assert.equal(admin.dashboard.timers, 0);
  const stopped = admin.dashboard.samples;
  await sleep(300);
  assert.equal(admin.dashboard.samples, stopped, 'the timers stopped with the last stream');
});

test('closing the admin server ends every stream', async () => {
  const other = new AdminServer({ sources: { proxy }, port: 0 });
  await other.start();
  const s = await SseClient.open(`${other.url}/dashboard/events?interval_ms=100`);
  await s.nextJson('stats');
  const t = performance.now();
  await other.close();
  await s.ended;
  assert.ok(performance.now() - t < 5000);
  assert.equal(other.dashboard.timers, 0);
  const n = other.dashboard.samples;
  await sleep(250);
  assert.equal(other.dashboard.samples, n);
});

test('POST /drain: the streams show the drain, then end with it after a last sample; later streams are served', async (t) => {
  // A backend that holds its requests until released: one request is in flight during the drain.
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  let arrived = () => {};
  const inFlight = new Promise<void>((r) => (arrived = r));
  const be = await h1Backend((_req, res) => {
    arrived();
    void held.then(() => res.end('late'));
  });
  const p = await Proxy.start(config([route('all')], [cluster('backend', [be.port], { protocol: 'http1' })]));
  const a = new AdminServer({ sources: { proxy: p }, port: 0 });
  await a.start();
  t.after(async () => {
    release();
    await a.close();
    await p.close(100);
    await be.close();
  });
  const post = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(a.url + path, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.once('error', reject);
      req.end();
    });

  const fast = await SseClient.open(`${a.url}/dashboard/events?interval_ms=100`);
  const slow = await SseClient.open(`${a.url}/dashboard/events?interval_ms=60000`);
  assert.equal((await fast.nextJson('stats')).state, 'LIVE');
  await slow.nextJson('stats');
  const request = h1Request(p.port('main'), { path: '/held' });
  await inFlight;

  assert.equal(await post('/drain?wait=false&timeout_ms=20000'), 202);
  // The drain goes on (a request in flight): the streams follow it.
  let s = await fast.nextJson('stats');
  for (let i = 0; i < 50 && s.state !== 'DRAINING'; i++) s = await fast.nextJson('stats');
  assert.equal(s.state, 'DRAINING');
  assert.equal(s.listeners[0].accepting, false);
  assert.equal(s.listeners[0].rq_active, 1);
  await sleep(300);
  assert.equal(a.dashboard.clients, 2, 'no stream ended while the drain goes on');

  // The request finishes, so does the drain: every stream gets a last sample and ends.
  const before = slow.events.length;
  release();
  assert.equal((await request).status, 200);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 5000)));
  assert.notEqual(await Promise.race([Promise.all([fast.ended, slow.ended]), late]), 'late', 'the streams end with the drain');
  clearTimeout(timer);
  const last = (c: SseClient) => JSON.parse(c.events.filter((e) => e.event === 'stats').at(-1)!.data) as Row;
  assert.equal(slow.events.length, before + 1, 'the 60 s stream got one last sample before it ended');
  for (const c of [fast, slow]) {
    assert.equal(last(c).state, 'DRAINING');
    assert.equal(last(c).listeners[0].rq_active, 0);
  }
  assert.equal(a.dashboard.timers, 0);
  assert.equal(a.dashboard.clients, 0);

  // After the drain the admin API still serves (stats stay readable): a new stream (the page
  // reconnecting) shows the drained proxy and stays open.
  const again = await SseClient.open(`${a.url}/dashboard/events?interval_ms=100`);
  assert.equal((await again.nextJson('stats')).state, 'DRAINING');
  await again.nextJson('stats');
  assert.equal(a.dashboard.clients, 1);
  again.close();
  for (let i = 0; i < 200 && a.dashboard.clients > 0; i++) await sleep(10);
  assert.equal(a.dashboard.timers, 0);
});
