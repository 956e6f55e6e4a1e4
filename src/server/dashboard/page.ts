// The dashboard's page, its style and its script, as strings: the package ships `dist/` built by
// tsc, which copies no asset files. No inline script or style (the page's CSP forbids both).

/** The page at `/dashboard`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>strata — live status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/uPlot.min.css">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/uPlot.iife.min.js" defer></script>
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>strata <span class="muted">live status</span></h1>
  <div class="badges">
    <span id="health" class="badge">connecting…</span>
    <span id="mode" class="badge muted"></span>
    <span id="clock" class="muted"></span>
  </div>
</header>
<main>
  <section class="tiles" aria-label="Totals">
    <div class="tile"><h2>Requests / s</h2><p id="rps">—</p></div>
    <div class="tile"><h2>Requests</h2><p id="requests-total">—</p></div>
    <div class="tile wide"><h2>Latency p50 · p90 · p99</h2><p id="latency">—</p></div>
    <div class="tile"><h2>In flight</h2><p id="in-flight">—</p></div>
    <div class="tile wide"><h2>Status 2xx · 3xx · 4xx · 5xx</h2><p id="status">—</p></div>
    <div class="tile"><h2>Connections</h2><p id="connections">—</p></div>
    <div class="tile"><h2>WebSockets · topics</h2><p id="websockets">—</p></div>
    <div class="tile"><h2>Thread pool queue · threads</h2><p id="pool">—</p></div>
    <div class="tile"><h2>Pool busy · tasks done</h2><p id="pool-run">—</p></div>
    <div class="tile"><h2>Load shedding</h2><p id="shedding">—</p></div>
    <div class="tile"><h2>Refused 429 · 503</h2><p id="refused">—</p></div>
    <div class="tile"><h2>WS backpressure close · drop</h2><p id="backpressure">—</p></div>
    <div class="tile wide"><h2>Worker restarts</h2><p id="restarts-total">—</p></div>
  </section>
  <section aria-label="Processes">
    <h2 class="section">Processes</h2>
    <div class="table-wrap">
      <table id="workers">
        <thead><tr><th>pid</th><th>worker</th><th>state</th><th>uptime</th><th>req/s</th><th>requests</th><th>RSS</th><th>heap</th><th>loop p99</th><th>busy</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section class="charts" aria-label="Charts">
    <figure><figcaption>Requests per second</figcaption><div id="chart-rps" class="chart"></div></figure>
    <figure><figcaption>Latency (ms, last second)</figcaption><div id="chart-latency" class="chart"></div></figure>
    <figure><figcaption>Event-loop delay p99 (ms, worst process)</figcaption><div id="chart-delay" class="chart"></div></figure>
    <figure><figcaption>Event-loop utilisation (%, mean)</figcaption><div id="chart-elu" class="chart"></div></figure>
  </section>
</main>
<footer class="muted">One snapshot per second from <code>/dashboard/events</code>; the same numbers as <code>/metrics</code>.</footer>
</body>
</html>
`;

/** `/dashboard/assets/dashboard.css`: light and dark by `prefers-color-scheme`, one column on a phone. */
export const DASHBOARD_CSS = `:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #5b6470; --border: #d8dde3;
  --ok: #1a7f37; --warn: #b35900; --bad: #c62828;
  --c1: #0b6bcb; --c2: #8a3ffc; --c3: #d6336c; --grid: rgba(0,0,0,0.08);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --panel: #171a21; --text: #e6e9ee; --muted: #9aa3ae; --border: #2a2f3a;
    --ok: #3fb950; --warn: #e3a008; --bad: #f85149;
    --c1: #58a6ff; --c2: #bc8cff; --c3: #ff7b9c; --grid: rgba(255,255,255,0.08);
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; padding: 12px 16px 24px; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 12px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 12px; font-weight: 600; margin: 0 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
h2.section { margin: 12px 0 6px; }
.muted { color: var(--muted); font-weight: normal; }
.badges { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.badge { border: 1px solid var(--border); border-radius: 999px; padding: 2px 10px; background: var(--panel); }
.badge.ok { color: var(--ok); border-color: var(--ok); }
.badge.warn { color: var(--warn); border-color: var(--warn); }
.badge.bad { color: var(--bad); border-color: var(--bad); }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); grid-auto-flow: dense; gap: 8px; }
.tile.wide { grid-column: span 2; }
.tile { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px; }
.tile p { margin: 0; font-size: 20px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(400px, 1fr)); gap: 8px; margin-top: 12px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px; min-width: 0; }
figcaption { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
.chart { width: 100%; min-height: 150px; }
.u-legend { font-size: 12px; }
.u-legend th { font-weight: normal; }
.uplot, .uplot .u-legend { color: var(--text); font-family: inherit; }
.table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
tbody tr:last-child td { border-bottom: 0; }
td.state-ready { color: var(--ok); }
td.state-starting, td.state-draining { color: var(--warn); }
td.state-exited, td.state-shedding { color: var(--bad); }
footer { margin-top: 16px; font-size: 12px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
@media (max-width: 600px) {
  body { padding: 8px; }
  .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .tile.wide { grid-column: span 2; }
  .tile p { font-size: 16px; }
  .charts { grid-template-columns: 1fr; }
}
`;

/** `/dashboard/assets/dashboard.js`: listens to `/dashboard/events`, fills the page, draws uPlot charts. */
export const DASHBOARD_JS = `'use strict';
(function () {
  var HISTORY = 300;
  var token = new URLSearchParams(location.search).get('token');
  var eventsUrl = '/dashboard/events' + (token ? '?token=' + encodeURIComponent(token) : '');
  var series = { t: [], rps: [], p50: [], p90: [], p99: [], delay: [], elu: [] };
  var charts = {};
  var $ = function (id) { return document.getElementById(id); };
  var fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  var num = function (n) { return n === null || n === undefined ? '—' : fmt.format(n); };
  var ms = function (n) { return n === null || n === undefined ? '—' : (n < 10 ? n.toFixed(2) : fmt.format(n)) + ' ms'; };
  var bytes = function (n) {
    if (n === null || n === undefined) return '—';
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
  };
  var duration = function (s) {
    if (s === null || s === undefined) return '—';
    s = Math.floor(s);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  };
  var pct = function (n) { return n === null || n === undefined ? '—' : (n * 100).toFixed(0) + ' %'; };
  var set = function (id, text) { var el = $(id); if (el.textContent !== text) el.textContent = text; };
  var color = function (name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); };

  function makeChart(id, lines) {
    var el = $(id);
    var axis = { stroke: color('--muted'), grid: { stroke: color('--grid') }, ticks: { stroke: color('--grid') } };
    var clock = function (u, splits) {
      return splits.map(function (t) { return new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }); });
    };
    var opts = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      legend: { show: lines.length > 1, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
      axes: [Object.assign({ values: clock, space: 70 }, axis), Object.assign({ size: 50 }, axis)],
      series: [{}].concat(lines.map(function (l) {
        return { label: l.label, stroke: color(l.color), width: 2, spanGaps: false, points: { show: false } };
      })),
    };
    var data = [series.t].concat(lines.map(function (l) { return series[l.key]; }));
    return new uPlot(opts, data, el);
  }
  var chartSpecs = {
    'chart-rps': [{ key: 'rps', label: 'req/s', color: '--c1' }],
    'chart-latency': [
      { key: 'p50', label: 'p50', color: '--c1' },
      { key: 'p90', label: 'p90', color: '--c2' },
      { key: 'p99', label: 'p99', color: '--c3' },
    ],
    'chart-delay': [{ key: 'delay', label: 'p99 ms', color: '--c3' }],
    'chart-elu': [{ key: 'elu', label: '%', color: '--c2' }],
  };
  function buildCharts() {
    Object.keys(chartSpecs).forEach(function (id) {
      if (charts[id]) charts[id].destroy();
      charts[id] = makeChart(id, chartSpecs[id]);
    });
  }
  function redraw() {
    Object.keys(charts).forEach(function (id) {
      charts[id].setData([series.t].concat(chartSpecs[id].map(function (l) { return series[l.key]; })));
    });
  }
  function resize() {
    Object.keys(charts).forEach(function (id) {
      var w = $(id).clientWidth;
      if (w > 0 && w !== charts[id].width) charts[id].setSize({ width: w, height: 150 });
    });
  }

  function push(key, value) {
    var a = series[key];
    a.push(value);
    if (a.length > HISTORY) a.shift();
  }

  function render(s) {
    var health = $('health');
    var shedding = s.shedding.length > 0;
    health.textContent = s.healthy ? (shedding ? 'partly shedding' : 'healthy') : (shedding ? 'shedding load' : 'unavailable');
    health.className = 'badge ' + (s.healthy ? (shedding ? 'warn' : 'ok') : 'bad');
    set('mode', s.mode === 'workers' ? 'workers: ' + s.workers.filter(function (w) { return w.state === 'ready'; }).length + ' ready of ' + s.target : 'single process');
    set('clock', new Date(s.time).toLocaleTimeString());
    var r = s.requests;
    set('rps', num(r.perSecond));
    set('requests-total', num(r.total));
    set('latency', r.latencyMs ? ms(r.latencyMs.p50) + ' · ' + ms(r.latencyMs.p90) + ' · ' + ms(r.latencyMs.p99) : (r.latencyAllMs ? 'idle' : '—'));
    set('in-flight', num(r.inFlight));
    set('status', [r.status['2xx'], r.status['3xx'], r.status['4xx'], r.status['5xx']].map(num).join(' · '));
    set('connections', num(s.connections));
    set('websockets', num(s.webSockets) + ' · ' + num(s.topics));
    set('pool', s.pool ? num(s.pool.queued) + ' · ' + num(s.pool.threads) : 'no pool');
    set('pool-run', s.pool ? pct(s.pool.utilization) + ' · ' + num(s.pool.completed) : 'no pool');
    set('shedding', shedding ? s.shedding.join(', ') : 'off');
    set('refused', num(s.refusals.tooManyRequests) + ' · ' + num(s.refusals.unavailable));
    set('backpressure', num(s.refusals.webSocketBackpressure.close) + ' · ' + num(s.refusals.webSocketBackpressure.drop));
    var reasons = Object.keys(s.restarts.byReason).filter(function (k) { return s.restarts.byReason[k] > 0; })
      .map(function (k) { return k + ' ' + s.restarts.byReason[k]; });
    set('restarts-total', s.mode === 'workers' ? num(s.restarts.total) + (reasons.length ? ' (' + reasons.join(', ') + ')' : '') : 'n/a');

    var tbody = $('workers').tBodies[0];
    var rows = s.workers.map(function (w) {
      var tr = document.createElement('tr');
      tr.dataset.pid = String(w.pid);
      var state = w.pressure ? 'shedding' : w.state;
      var cells = [String(w.pid), w.id === null ? '—' : '#' + w.id, state + (w.pressure ? ' (' + w.pressure + ')' : ''),
        duration(w.uptimeSeconds), num(w.requestsPerSecond), num(w.requests), bytes(w.rssBytes), bytes(w.heapUsedBytes),
        ms(w.loopDelayP99Ms), pct(w.utilization)];
      cells.forEach(function (text, i) {
        var td = document.createElement('td');
        td.textContent = text;
        if (i === 2) td.className = 'state-' + state;
        tr.appendChild(td);
      });
      return tr;
    });
    tbody.replaceChildren.apply(tbody, rows);

    var delay = null;
    var elu = null;
    var n = 0;
    s.workers.forEach(function (w) {
      if (w.loopDelayP99Ms !== null) delay = Math.max(delay === null ? 0 : delay, w.loopDelayP99Ms);
      if (w.utilization !== null) { elu = (elu || 0) + w.utilization; n++; }
    });
    push('t', s.time / 1000);
    push('rps', r.perSecond);
    push('p50', r.latencyMs ? r.latencyMs.p50 : null);
    push('p90', r.latencyMs ? r.latencyMs.p90 : null);
    push('p99', r.latencyMs ? r.latencyMs.p99 : null);
    push('delay', delay);
    push('elu', n > 0 ? (elu / n) * 100 : null);
    redraw();
  }

  function connect() {
    var source = new EventSource(eventsUrl);
    source.onmessage = function (e) { render(JSON.parse(e.data)); };
    source.onerror = function () {
      var health = $('health');
      health.textContent = 'reconnecting…';
      health.className = 'badge bad';
    };
  }

  function start() {
    buildCharts();
    if (typeof ResizeObserver === 'function') new ResizeObserver(resize).observe(document.querySelector('.charts'));
    else addEventListener('resize', resize);
    var scheme = matchMedia('(prefers-color-scheme: dark)');
    if (scheme.addEventListener) scheme.addEventListener('change', buildCharts);
    connect();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
