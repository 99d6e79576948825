// legate dashboard: reads /dashboard/events (server-sent events) and draws tables and charts.
// Plain browser JavaScript with no dependencies and no build step; data goes into the page only
// through textContent, never as HTML.
'use strict';

const HISTORY = 120;
const SVG = 'http://www.w3.org/2000/svg';

/** The latest topology event, and per chart scope ('' = all listeners, else a cluster) the history. */
let topology = null;
const history = new Map();
/** Previous retry totals per cluster, for retries per second. */
let lastRetries = null;
let lastTime = 0;
let lastInterval = 0;

const $ = (id) => document.getElementById(id);

// ---- formatting -------------------------------------------------------------------------------

const int = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const rate = (n) => (n === null || n === undefined ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const pct = (f) => (f === null || f === undefined ? '–' : f === 1 ? '100%' : `${(f * 100).toFixed(2)}%`);
function ms(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${v >= 100 ? Math.round(v) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`;
}
function duration(s) {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

// ---- tables -----------------------------------------------------------------------------------

/**
 * A cell: [text, class?, title?]. Numbers that are 0 are dimmed; `warnIf` marks counts of trouble.
 */
const cell = (text, cls, title) => [text, cls || '', title || ''];
const count = (n, level) => cell(int(n), n > 0 ? level || '' : 'zero');
const successCell = (f) => cell(pct(f), f === null ? 'zero' : f < 0.9 ? 'bad' : f < 0.99 ? 'warn' : '');
/** The last interval's requests/s, success rate and p99. */
const windowCells = (w) => [cell(rate(w.rps)), successCell(w.success_rate), cell(ms(w.p99_ms))];

/**
 * Brings a tbody's rows in line with `items`: rows are kept per key (so hover and selection
 * survive updates) and only cells whose text changed are touched.
 */
function syncRows(table, items, key, cells, empty) {
  const body = $(table).tBodies[0];
  const existing = new Map();
  for (const tr of [...body.rows]) existing.set(tr.dataset.key, tr);
  if (items.length === 0) {
    body.replaceChildren();
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = $(table).tHead.rows[0].cells.length;
    td.className = 'empty';
    td.textContent = empty;
    return;
  }
  const rows = items.map((item) => {
    const k = key(item);
    let tr = existing.get(k);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.key = k;
    }
    const values = cells(item);
    while (tr.cells.length > values.length) tr.deleteCell(-1);
    values.forEach(([text, cls, title], i) => {
      const td = tr.cells[i] || tr.insertCell();
      if (td.textContent !== text) td.textContent = text;
      if (td.className !== cls) td.className = cls;
      if (title) td.title = title;
      else if (td.title) td.removeAttribute('title');
    });
    return tr;
  });
  body.replaceChildren(...rows);
}

function healthBadge(h) {
  if (h.ejected) return cell('ejected', 'l bad', h.health_flags);
  if (!h.healthy) return cell('unhealthy', 'l warn', h.health_flags);
  return cell('healthy', 'l', h.health_flags);
}

function renderClusters(s) {
  syncRows(
    'clusters',
    s.clusters,
    (c) => c.name,
    (c) => {
      const overflow = c.overflow.pending + c.overflow.cx + c.overflow.retry;
      return [
        cell(c.name, 'name'),
        cell(`${c.hosts_healthy} / ${c.hosts_total}`, c.hosts_healthy < c.hosts_total ? 'warn' : ''),
        count(c.rq_active),
        count(c.rq_pending),
        ...windowCells(c.window),
        count(c.rq_total),
        count(c.rq_5xx, 'bad'),
        count(c.retry, 'warn'),
        count(c.retry_success),
        count(c.retry_limit_exceeded, 'bad'),
        cell(
          `${int(c.timeout)} / ${int(c.per_try_timeout)}`,
          c.timeout + c.per_try_timeout > 0 ? 'warn' : 'zero',
          'route timeouts / per-try timeouts',
        ),
        cell(
          int(overflow),
          overflow > 0 ? 'bad' : 'zero',
          `pending ${c.overflow.pending}, connections ${c.overflow.cx}, retries ${c.overflow.retry}`,
        ),
        cell(
          `${int(c.ejections_active)} / ${int(c.ejections_total)}`,
          c.ejections_active > 0 ? 'bad' : c.ejections_total > 0 ? '' : 'zero',
          'active / total',
        ),
      ];
    },
    'no clusters',
  );
  const hosts = [];
  for (const c of s.clusters) for (const h of c.hosts) hosts.push({ cluster: c.name, ...h });
  syncRows(
    'hosts',
    hosts,
    (h) => `${h.cluster}\u0000${h.address}`,
    (h) => [
      cell(h.cluster, 'name'),
      cell(h.address, 'text'),
      healthBadge(h),
      count(h.rq_active),
      count(h.rq_total),
      count(h.rq_error, 'warn'),
      cell(h.success_rate === null ? '–' : `${h.success_rate.toFixed(1)}%`, h.success_rate === null ? 'zero' : ''),
      count(h.ejections, 'warn'),
    ],
    'no hosts',
  );
}

function renderRoutes(s) {
  const stats = new Map(s.routes.map((r) => [`${r.virtual_host}\u0000${r.route}`, r]));
  const rows = [];
  for (const l of topology ? topology.listeners : [])
    for (const vh of l.virtual_hosts)
      for (const r of vh.routes) rows.push({ listener: l.name, vh: vh.name, r, st: stats.get(`${vh.name}\u0000${r.name}`) });
  syncRows(
    'routes',
    rows,
    (x) => `${x.listener}\u0000${x.vh}\u0000${x.r.name}`,
    ({ listener, vh, r, st }) => {
      const head = [
        cell(listener, 'name'),
        cell(vh, 'text'),
        cell(r.name, 'text'),
        cell(r.match, 'text', r.match),
        cell(r.destination, 'text'),
      ];
      if (!st) return [...head, ...Array.from({ length: 8 }, () => cell('–', 'zero'))];
      return [
        ...head,
        ...windowCells(st.window),
        count(st.rq_total),
        count(st.rq_5xx, 'bad'),
        count(st.retry, 'warn'),
        count(st.retry_limit_exceeded, 'bad'),
        count(st.timeout, 'warn'),
      ];
    },
    'no routes',
  );
}

function renderListeners(s) {
  const where = new Map((topology ? topology.listeners : []).map((l) => [l.name, l]));
  syncRows(
    'listeners',
    s.listeners,
    (l) => l.name,
    (l) => {
      const t = where.get(l.name);
      const f = l.faults;
      return [
        cell(l.name, 'name'),
        cell(t ? `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}` : '–', 'text'),
        l.accepting ? cell('accepting', 'l') : cell('draining', 'l warn'),
        count(l.cx_active),
        count(l.rq_active),
        ...windowCells(l.window),
        count(l.rq_total),
        count(l.rq_2xx),
        count(l.rq_4xx, 'warn'),
        count(l.rq_5xx, 'bad'),
        count(l.no_route, 'warn'),
        f
          ? cell(`${int(f.aborts)} / ${int(f.delays)} / ${int(f.overflow)} / ${int(f.active)}`, f.aborts + f.delays > 0 ? 'warn' : 'zero')
          : cell('–', 'zero'),
      ];
    },
    'no listeners',
  );
}

// ---- charts -----------------------------------------------------------------------------------

const W = 400;
const H = 170;
const M = { left: 44, right: 8, top: 8, bottom: 18 };

function svgEl(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A round step for about `n` grid lines between 0 and max. */
function niceStep(max, n) {
  const raw = max / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

/**
 * Line chart of `series` ({cls, values}), oldest first, HISTORY slots with the newest at the right.
 * `range` gives [min, max] of the y axis from the values; `label` formats an axis value.
 */
function drawChart(id, series, range, label, area) {
  const svg = $(id);
  const nodes = [];
  const all = series.flatMap((s) => s.values.filter((v) => v !== null));
  const x = (i, n) => M.left + ((W - M.left - M.right) * (HISTORY - n + i)) / (HISTORY - 1);
  const [lo, hi, step] = range(all);
  const y = (v) => M.top + (H - M.top - M.bottom) * (1 - (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo));
  for (let v = lo; v <= hi + step / 1000; v += step) {
    nodes.push(svgEl('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
    nodes.push(svgEl('text', { class: 'axis', x: M.left - 6, y: y(v) + 3, 'text-anchor': 'end' }, label(v)));
  }
  const secs = historySeconds();
  nodes.push(svgEl('text', { class: 'axis', x: M.left, y: H - 4 }, `-${secs >= 120 ? `${secs / 60}m` : `${secs}s`}`));
  nodes.push(svgEl('text', { class: 'axis', x: W - M.right, y: H - 4, 'text-anchor': 'end' }, 'now'));
  if (all.length === 0)
    nodes.push(svgEl('text', { class: 'empty', x: (W + M.left) / 2, y: H / 2, 'text-anchor': 'middle' }, 'no requests yet'));
  for (const s of series) {
    const n = s.values.length;
    let d = '';
    let run = [];
    const flush = () => {
      if (run.length === 0) return;
      if (area && run.length > 1) {
        const base = y(lo);
        const pts = run.map(([i, v]) => `${x(i, n).toFixed(1)},${y(v).toFixed(1)}`).join(' L');
        nodes.push(
          svgEl('path', {
            class: `area ${s.cls}`,
            d: `M${x(run[0][0], n).toFixed(1)},${base} L${pts} L${x(run[run.length - 1][0], n).toFixed(1)},${base} Z`,
          }),
        );
      }
      d += run.map(([i, v], k) => `${k === 0 ? 'M' : 'L'}${x(i, n).toFixed(1)},${y(v).toFixed(1)}`).join('');
      run = [];
    };
    s.values.forEach((v, i) => (v === null ? flush() : run.push([i, v])));
    flush();
    // A single point is drawn as a dot, so a new series is visible at once.
    if (d && !d.includes('L')) {
      const [, px, py] = /M([\d.]+),([\d.]+)/.exec(d);
      nodes.push(svgEl('circle', { class: s.cls, cx: px, cy: py, r: 2 }));
    } else if (d) nodes.push(svgEl('path', { class: `line ${s.cls}`, d }));
  }
  svg.replaceChildren(...nodes);
}

const zeroTo = (all) => {
  const max = Math.max(1, ...all);
  const step = niceStep(max, 4);
  return [0, Math.ceil(max / step) * step, step];
};

function successRange(all) {
  // Down to at least 90%, further when a value is lower, on a round step that ends at 100%.
  const worst = Math.min(0.9, ...all);
  const step = niceStep(1 - Math.floor(worst * 10) / 10, 4);
  return [Math.max(0, 1 - Math.ceil((1 - worst) / step - 1e-9) * step), 1, step];
}

/** The time the charts cover: HISTORY samples of the stream's interval. */
const historySeconds = () => Math.round((HISTORY * (lastInterval || 1000)) / 1000);

function drawCharts() {
  const secs = historySeconds();
  $('charts-title').textContent = `Last ${secs >= 120 ? `${secs / 60} minutes` : `${secs} seconds`}`;
  const scope = $('scope').value;
  const h = history.get(scope) || [];
  drawChart(
    'chart-rps',
    [{ cls: 'series-rps', values: h.map((p) => p.rps) }],
    zeroTo,
    (v) => (v >= 1000 ? `${v / 1000}k` : String(+v.toFixed(1))),
    true,
  );
  drawChart(
    'chart-success',
    [{ cls: 'series-success', values: h.map((p) => p.success) }],
    successRange,
    (v) => `${+(v * 100).toFixed(1)}%`,
    false,
  );
  drawChart(
    'chart-latency',
    ['p50', 'p90', 'p99'].map((q) => ({ cls: `series-${q}`, values: h.map((p) => p[q]) })),
    zeroTo,
    (v) => (v >= 1000 ? `${v / 1000}s` : String(+v.toFixed(2))),
    false,
  );
}

function remember(scope, w) {
  let h = history.get(scope);
  if (!h) history.set(scope, (h = []));
  h.push({ rps: w.rps, success: w.success_rate, p50: w.p50_ms, p90: w.p90_ms, p99: w.p99_ms });
  if (h.length > HISTORY) h.shift();
}

function syncScopes(s) {
  const select = $('scope');
  const want = ['', ...s.clusters.map((c) => c.name)];
  const have = [...select.options].map((o) => o.value);
  if (want.join('\u0000') === have.join('\u0000')) return;
  const current = select.value;
  select.replaceChildren(
    ...want.map((v) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = v === '' ? 'all listeners' : `cluster ${v}`;
      return o;
    }),
  );
  select.value = want.includes(current) ? current : '';
  for (const k of history.keys()) if (!want.includes(k)) history.delete(k);
}

// ---- events -----------------------------------------------------------------------------------

function onTopology(t) {
  topology = t;
  $('config-version').textContent = t.config_version || '–';
  $('config-loaded').textContent = t.config_loaded_at ? new Date(t.config_loaded_at).toLocaleTimeString() : '–';
  $('legate-version').textContent = t.legate_version || '–';
}

function onStats(s) {
  lastInterval = s.interval_ms;
  const state = $('state');
  state.textContent = s.state;
  state.className = `badge ${s.state === 'LIVE' ? 'good' : 'warn'}`;
  $('uptime').textContent = duration(s.uptime_s);
  $('interval').textContent = s.interval_ms % 1000 === 0 ? `${s.interval_ms / 1000} s` : `${s.interval_ms} ms`;

  const o = s.overall;
  $('tile-rps').textContent = rate(o.rps);
  $('tile-success').textContent = pct(o.success_rate);
  $('tile-p50').textContent = ms(o.p50_ms);
  $('tile-p99').textContent = ms(o.p99_ms);
  $('tile-active').textContent = int(s.listeners.reduce((a, l) => a + l.rq_active, 0));
  const retries = new Map(s.clusters.map((c) => [c.name, c.retry]));
  if (lastRetries && s.time > lastTime) {
    let grown = 0;
    // A total below the previous one was reset (/reset_counters): count from 0.
    for (const [name, n] of retries) grown += n >= (lastRetries.get(name) || 0) ? n - (lastRetries.get(name) || 0) : n;
    $('tile-retries').textContent = rate((grown * 1000) / (s.time - lastTime));
  }
  lastRetries = retries;
  lastTime = s.time;
  $('tile-ejected').textContent = int(s.clusters.reduce((a, c) => a + c.hosts.filter((h) => h.ejected).length, 0));

  syncScopes(s);
  if (o.requests !== null) {
    remember('', o);
    for (const c of s.clusters) remember(c.name, c.window);
  }
  renderClusters(s);
  renderRoutes(s);
  renderListeners(s);
  drawCharts();
}

function connect() {
  const es = new EventSource(`/dashboard/events${location.search}`);
  const conn = $('conn');
  es.addEventListener('open', () => {
    conn.textContent = 'live';
    conn.className = 'conn live';
    document.body.classList.remove('stale');
  });
  es.addEventListener('error', () => {
    // EventSource reconnects by itself (after the `retry:` the server sent).
    conn.textContent = 'reconnecting…';
    conn.className = 'conn down';
    document.body.classList.add('stale');
  });
  es.addEventListener('topology', (e) => onTopology(JSON.parse(e.data)));
  es.addEventListener('stats', (e) => onStats(JSON.parse(e.data)));
  es.addEventListener('sample_error', (e) => console.error(JSON.parse(e.data).message));
}

document.addEventListener('DOMContentLoaded', () => {
  $('scope').addEventListener('change', drawCharts);
  drawCharts();
  connect();
});
