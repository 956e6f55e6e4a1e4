/**
 * The live dashboard without a browser: the snapshot function (sums, per-process rows, rates,
 * percentiles from histogram buckets), the supervisor's per-worker input, and the admin
 * listener's page, files and SSE stream over real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { aggregateMetrics, Metrics, trackWebSockets } from '../../src/observe/metrics.ts';
import type { Supervisor } from '../../src/parallel/supervisor.ts';
import { SupervisorMetrics } from '../../src/parallel/supervisor-metrics.ts';
import {
  DashboardFeed,
  type DashboardInput,
  type DashboardSnapshot,
  type MetricJson,
  pidOf,
  processDashboardInput,
  quantile,
} from '../../src/server/dashboard/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';

const requests = (counts: Record<string, number>): MetricJson => ({
  name: 'strata_http_requests_total',
  values: Object.entries(counts).map(([status, value]) => ({
    value,
    labels: { method: 'GET', route: '/x', status },
  })),
});

/** A latency histogram with `fast` observations ≤ 10 ms and `slow` ones in (10 ms, 100 ms]. */
const latency = (fast: number, slow: number): MetricJson => ({
  name: 'strata_http_request_duration_seconds',
  values: [
    { metricName: 'strata_http_request_duration_seconds_bucket', labels: { le: 0.01 }, value: fast },
    { metricName: 'strata_http_request_duration_seconds_bucket', labels: { le: 0.1 }, value: fast + slow },
    { metricName: 'strata_http_request_duration_seconds_bucket', labels: { le: '+Inf' }, value: fast + slow },
    { metricName: 'strata_http_request_duration_seconds_sum', labels: {}, value: 0 },
    { metricName: 'strata_http_request_duration_seconds_count', labels: {}, value: fast + slow },
  ],
});

const gauge = (name: string, value: number): MetricJson => ({ name, values: [{ value, labels: {} }] });

const processMetrics = (statusCounts: Record<string, number>, fast: number, slow: number): MetricJson[] => [
  requests(statusCounts),
  latency(fast, slow),
  gauge('process_start_time_seconds', 1000),
  gauge('process_resident_memory_bytes', 50_000_000),
  gauge('nodejs_heap_size_used_bytes', 20_000_000),
  gauge('nodejs_eventloop_lag_p99_seconds', 0.012),
  gauge('strata_event_loop_utilization', 0.25),
  gauge('strata_http_requests_in_flight', 2),
  gauge('strata_http_connections', 3),
  {
    name: 'strata_websocket_backpressure_total',
    values: [
      { value: 1, labels: { action: 'close' } },
      { value: 4, labels: { action: 'drop' } },
    ],
  },
];

describe('quantile() reads a cumulative histogram as histogram_quantile does', () => {
  test('linear inside the bucket that holds the rank', () => {
    const h = new Map([
      [0.01, 50],
      [0.1, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    assert.equal(quantile(0.5, h), 0.01);
    assert.ok(Math.abs(quantile(0.9, h)! - 0.082) < 1e-12);
    assert.ok(Math.abs(quantile(0.25, h)! - 0.005) < 1e-12);
  });

  test('the last finite bound when the rank falls in +Inf; null when empty', () => {
    const h = new Map([
      [0.1, 0],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    assert.equal(quantile(0.5, h), 0.1);
    assert.equal(quantile(0.5, new Map()), null);
    assert.equal(quantile(0.5, new Map([[0.1, 0]])), null);
  });
});

describe('DashboardFeed', () => {
  test('sums processes, keeps a row each, and turns totals into rates and interval percentiles', () => {
    const feed = new DashboardFeed();
    const input = (a: MetricJson[], b: MetricJson[] | undefined): DashboardInput => ({
      mode: 'workers',
      healthy: true,
      target: 2,
      restarts: { exit: 1, reload: 2 },
      processes: [
        { pid: 11, id: 1, state: 'ready', metrics: a },
        { pid: 12, id: 2, state: 'ready', pressure: 'maxEventLoopDelay', metrics: b },
      ],
    });
    const first = feed.next(
      input(processMetrics({ 200: 10 }, 10, 0), processMetrics({ 200: 5, 429: 1 }, 6, 0)),
      1_001_000,
    );
    assert.equal(first.requests.total, 16);
    assert.equal(first.requests.perSecond, null, 'no rate before a second snapshot');
    assert.equal(first.requests.latencyMs, null);
    assert.equal(first.requests.latencyAllMs?.p50, 5, 'all 16 in the first bucket: its middle');
    assert.deepEqual(first.requests.status, { '2xx': 15, '3xx': 0, '4xx': 1, '5xx': 0 });
    assert.equal(first.refusals.tooManyRequests, 1);
    assert.deepEqual(first.refusals.webSocketBackpressure, { close: 2, drop: 8 });
    assert.equal(first.requests.inFlight, 4);
    assert.equal(first.connections, 6);
    assert.equal(first.webSockets, null, 'absent gauges are null, not 0');
    assert.deepEqual(first.restarts, { total: 3, byReason: { exit: 1, reload: 2 } });
    assert.deepEqual(first.shedding, ['maxEventLoopDelay']);
    const row = first.workers[0]!;
    assert.equal(row.pid, 11);
    assert.equal(row.uptimeSeconds, 1);
    assert.equal(row.rssBytes, 50_000_000);
    assert.equal(row.loopDelayP99Ms, 12);
    assert.equal(row.utilization, 0.25);

    // Two seconds later: 20 more requests on pid 11, all slow.
    const second = feed.next(
      input(processMetrics({ 200: 30 }, 10, 20), processMetrics({ 200: 5, 429: 1 }, 6, 0)),
      1_003_000,
    );
    assert.equal(second.requests.perSecond, 10);
    assert.equal(second.workers[0]!.requestsPerSecond, 10);
    assert.equal(second.workers[1]!.requestsPerSecond, 0);
    // Only the interval's 20 slow requests: p50 halfway through (10 ms, 100 ms].
    assert.ok(Math.abs(second.requests.latencyMs!.p50 - 55) < 1e-9, String(second.requests.latencyMs!.p50));
    assert.ok(second.requests.latencyMs!.p99 > 99);

    // pid 12 replaced by a fresh process under the same pid: its counters start again, no negative rate.
    const third = feed.next(
      input(processMetrics({ 200: 30 }, 10, 20), processMetrics({ 200: 2 }, 2, 0)),
      1_004_000,
    );
    assert.equal(third.workers[1]!.requestsPerSecond, 2);
    assert.equal(third.requests.perSecond, 2);
  });

  test('a process that did not answer gets a row of nulls', () => {
    const snapshot = new DashboardFeed().next({
      mode: 'workers',
      healthy: false,
      processes: [{ pid: 7, id: 3, state: 'starting', metrics: undefined }],
    });
    assert.equal(snapshot.workers.length, 1);
    assert.equal(snapshot.workers[0]!.state, 'starting');
    assert.equal(snapshot.workers[0]!.rssBytes, null);
    assert.equal(snapshot.requests.total, 0);
    assert.equal(snapshot.healthy, false);
  });

  test('from a real Metrics: the pid entry names the process and never reaches /metrics', async () => {
    const metrics = new Metrics();
    metrics.requestStarted();
    metrics.requestFinished('GET', '/a', 200, 0.003);
    const json = await metrics.json();
    assert.equal(pidOf(json as unknown as MetricJson[]), process.pid);
    const merged = await aggregateMetrics([json, json]);
    assert.ok(!merged.includes('strata_process_pid'), 'omitted from the merged text');
    assert.ok(!(await metrics.text()).includes('strata_process_pid'), 'not in the registry');
    const snapshot = new DashboardFeed().next(await processDashboardInput(metrics, { healthy: true }));
    assert.equal(snapshot.mode, 'single');
    assert.equal(snapshot.workers[0]!.pid, process.pid);
    assert.equal(snapshot.workers[0]!.state, 'ready');
    assert.equal(snapshot.requests.total, 1);
    assert.ok(snapshot.requests.latencyAllMs!.p50 > 2.5 && snapshot.requests.latencyAllMs!.p50 <= 5);
    assert.ok(snapshot.workers[0]!.rssBytes! > 0);
  });
});

test('WebSocket servers listed with trackWebSockets() are summed; none listed is "unknown", not 0', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const read = async () => new DashboardFeed().next(await processDashboardInput(metrics, { healthy: true }));
  assert.equal((await read()).webSockets, null);
  const untrackA = trackWebSockets('chat', { size: 3, topicCount: 2 });
  const untrackB = trackWebSockets('chat', { size: 1, topicCount: 1 });
  const both = await read();
  assert.equal(both.webSockets, 4);
  assert.equal(both.topics, 3);
  untrackA();
  untrackB();
  assert.equal((await read()).topics, null);
});

test('SupervisorMetrics.dashboard(): a row per worker, matched to its answer by pid', async () => {
  const base = (await new Metrics({ defaultMetrics: false }).json()) as unknown as MetricJson[];
  const answerOf = (pid: number, count: number): MetricJson[] =>
    base.map((m) =>
      m.name === 'strata_process_pid'
        ? { ...m, values: [{ value: pid, labels: {} }] }
        : m.name === 'strata_http_requests_total'
          ? requests({ 200: count })
          : m,
    );
  const fake = {
    healthy: true,
    target: 2,
    restarts: new Map([['exit', 1]]),
    workers: () => [
      { id: 3, pid: 103, state: 'ready', pressure: undefined },
      { id: 4, pid: 104, state: 'starting', pressure: undefined },
      { id: 2, pid: 102, state: 'ready', pressure: undefined },
    ],
    // Answers in any order, one not a list (a worker that sent garbage).
    collect: async () => [answerOf(102, 7), 'garbage', answerOf(103, 5)],
  };
  const input = await new SupervisorMetrics(fake as unknown as Supervisor).dashboard();
  assert.deepEqual(
    input.processes.map((p) => [p.pid, p.id, p.state, p.metrics === undefined]),
    [
      [103, 3, 'ready', false],
      [104, 4, 'starting', true],
      [102, 2, 'ready', false],
    ],
  );
  const snapshot = new DashboardFeed().next(input as DashboardInput);
  assert.deepEqual(
    snapshot.workers.map((w) => w.requests),
    [5, null, 7],
  );
  assert.equal(snapshot.requests.total, 12);
  assert.deepEqual(snapshot.restarts, { total: 1, byReason: { exit: 1 } });
  assert.equal(snapshot.target, 2);
});

/** Reads SSE `data:` events from a stream until `count` arrived (bounded by `timeoutMs`). */
async function readEvents(
  url: string,
  count: number,
  onEvent: (s: DashboardSnapshot, i: number) => Promise<void> | void = () => {},
  timeoutMs = 8000,
): Promise<{ events: DashboardSnapshot[]; headers: Headers }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { signal: controller.signal });
  assert.equal(res.status, 200);
  const events: DashboardSnapshot[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith('data: ')) {
          const snapshot = JSON.parse(block.slice(6)) as DashboardSnapshot;
          events.push(snapshot);
          await onEvent(snapshot, events.length - 1);
        }
        end = buffer.indexOf('\n\n');
      }
      if (events.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { events, headers: res.headers };
}

describe('the dashboard on the admin listener of serve()', () => {
  let server: StrataServer;
  let admin: string;
  before(async () => {
    const app = new App();
    app.get('/hello', (c) => c.text('hi'));
    app.get('/missing', (c) => c.text('no', 404));
    server = await serve(app, { port: 0, logger: false, admin: { port: 0 } });
    admin = server.adminUrl!;
  });
  after(() => server.close());

  test('the page: a CSP header, scripts and styles only as files, uPlot from its package', async () => {
    const res = await fetch(`${admin}/dashboard`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="\/dashboard\/assets\//);
      assert.equal(body, '', 'no inline script');
    }
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    for (const [, href] of html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)) {
      const file = await fetch(`${admin}${href}`);
      assert.equal(file.status, 200, href);
      assert.ok((await file.arrayBuffer()).byteLength > 500, href);
    }
    const uplot = await (await fetch(`${admin}/dashboard/assets/uPlot.iife.min.js`)).text();
    assert.match(uplot, /uPlot/);
    const redirect = await fetch(`${admin}/`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/dashboard');
  });

  test('/dashboard/events: a snapshot a second, and the numbers move with the traffic', async () => {
    const { events, headers } = await readEvents(`${admin}/dashboard/events`, 3, async (_s, i) => {
      if (i === 0) {
        for (let n = 0; n < 7; n++) assert.equal((await fetch(`${server.url}/hello`)).status, 200);
        assert.equal((await fetch(`${server.url}/missing`)).status, 404);
      }
    });
    assert.match(headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.equal(events.length, 3);
    const [first, , last] = events as [DashboardSnapshot, DashboardSnapshot, DashboardSnapshot];
    assert.equal(first.mode, 'single');
    assert.equal(first.workers[0]!.pid, process.pid);
    assert.equal(last.requests.total - first.requests.total, 8);
    assert.equal(last.requests.status['4xx'] - first.requests.status['4xx'], 1);
    assert.ok(events.slice(1).some((e) => (e.requests.perSecond ?? 0) > 0));
    assert.ok(last.time > first.time);
    assert.ok(typeof last.connections === 'number');
    assert.equal(last.healthy, true);
  });

  test('/metrics and /healthz answer as before', async () => {
    const res = await fetch(`${admin}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /strata_http_requests_total/);
    assert.match(text, /strata_http_connections \d+/);
    assert.ok(!text.includes('strata_process_pid'));
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
    assert.equal((await fetch(`${admin}/nope`)).status, 404);
    assert.equal((await fetch(`${admin}/dashboard`, { method: 'POST' })).status, 405);
  });
});
