import { subscribe } from 'node:diagnostics_channel';
import type { Server, Socket } from 'node:net';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

/** Options of `new Metrics()`. */
export interface MetricsOptions {
  /** Upper bounds of the latency histogram, in seconds. */
  buckets?: number[];
  /** prom-client's process metrics (CPU, heap, GC, event-loop delay, handles). Default true. */
  defaultMetrics?: boolean;
}

/** What a thread pool reports to the metrics (`ThreadPool` registers itself). */
export interface PoolGaugeSource {
  readonly stats: { threads: number; queued: number; utilization: number; completed: number };
}

/** Latency buckets in seconds: 0.5 ms to 10 s, dense where web handlers live. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Every pool of this process, by name, for the pool gauges. */
const pools = new Map<string, PoolGaugeSource>();

/**
 * Lists a thread pool in this process's metrics (`strata_pool_*`, labelled by `pool`); returns
 * the function that removes it. `ThreadPool` calls this itself.
 */
export function trackPool(name: string, pool: PoolGaugeSource): () => void {
  let unique = name;
  for (let i = 2; pools.has(unique); i++) unique = `${name}-${i}`;
  pools.set(unique, pool);
  return () => {
    if (pools.get(unique) === pool) pools.delete(unique);
  };
}

/** WebSocket messages refused for backpressure in this process, by what was done. */
const webSocketBackpressure = { close: 0, drop: 0 };

/**
 * Counts one message refused because its socket was over `maxBufferedBytes`: `close` (the
 * socket was closed with 1013) or `drop` (the message was dropped). Process-wide, as the pool
 * gauges are; the realtime server calls it, every `Metrics` of the process reports it.
 */
export function recordWebSocketBackpressure(action: 'close' | 'drop'): void {
  webSocketBackpressure[action] += 1;
}

/** What a WebSocket server reports to the metrics (sockets open here, topics with a local subscriber). */
export interface WebSocketGaugeSource {
  readonly size: number;
  readonly topicCount: number;
}

/** Every WebSocket server of this process, by name, for the WebSocket gauges. */
const webSocketServers = new Map<string, WebSocketGaugeSource>();

/**
 * Lists a WebSocket server in this process's metrics (`strata_websocket_connections`,
 * `strata_websocket_topics`, labelled by `server`); returns the function that removes it. With
 * none listed the gauges have no series (the dashboard shows "—", not a false 0).
 */
export function trackWebSockets(name: string, source: WebSocketGaugeSource): () => void {
  let unique = name;
  for (let i = 2; webSocketServers.has(unique); i++) unique = `${name}-${i}`;
  webSocketServers.set(unique, source);
  return () => {
    if (webSocketServers.get(unique) === source) webSocketServers.delete(unique);
  };
}

/**
 * Open TCP connections accepted by this process's servers, counted through node's
 * `net.server.socket` diagnostics channel (no hook in the request path: one increment per
 * connection, one decrement at its close). Servers passed to `unmeasuredServer` (the admin
 * listener) are left out. Subscribed once, when the first `Metrics` is made.
 */
const connections = { open: 0, subscribed: false };
const unmeasured = new WeakSet<Server>();
const connectionClosed = (): void => {
  connections.open -= 1;
};

function countConnections(): void {
  if (connections.subscribed) return;
  connections.subscribed = true;
  subscribe('net.server.socket', (message) => {
    const socket = (message as { socket: Socket & { server?: Server } }).socket;
    if (socket.server !== undefined && unmeasured.has(socket.server)) return;
    connections.open += 1;
    socket.on('close', connectionClosed);
  });
}

/** Leaves a server's connections out of `strata_http_connections` (the admin listener's own). */
export function unmeasuredServer(server: Server): void {
  unmeasured.add(server);
}

/** One upstream of a proxy, as its gauges read it. */
export interface UpstreamGaugeRow {
  readonly group: string;
  readonly upstream: string;
  /** Taking requests (health checks pass, not ejected, breaker closed). */
  readonly available: boolean;
  /** Connections open to it. */
  readonly connections: number;
  /** Requests in flight to it. */
  readonly active: number;
  /** Its health in one word (one of `UPSTREAM_STATES`). */
  readonly state: string;
}

/** The states `strata_upstream_state` reports, one series each (src/proxy/balance's `UpstreamState`). */
export const UPSTREAM_STATES: readonly string[] = ['healthy', 'half-open', 'open', 'ejected', 'unhealthy'];

/** What a proxy reports to the upstream gauges. */
export interface UpstreamGaugeSource {
  snapshot(): readonly UpstreamGaugeRow[];
}

/** Every proxy of this process, for the upstream gauges. */
const upstreamSources = new Set<UpstreamGaugeSource>();

/**
 * Lists a proxy's upstreams in this process's metrics (`strata_upstream_up`,
 * `strata_upstream_connections`, `strata_upstream_in_flight`, labelled by `group` and
 * `upstream`); returns the function that removes it.
 */
export function trackUpstreams(source: UpstreamGaugeSource): () => void {
  upstreamSources.add(source);
  return () => {
    upstreamSources.delete(source);
  };
}

/** The name of the per-process entry `Metrics.json()` adds: the process's pid (never aggregated). */
export const PROCESS_PID_ENTRY = 'strata_process_pid';

interface Series {
  count: ReturnType<Counter<string>['labels']>;
  latency: ReturnType<Histogram<string>['labels']>;
}

/**
 * One process's Prometheus metrics (prom-client): requests by route and status, a latency
 * histogram, requests in flight, event-loop delay and utilisation, heap, thread pools. Under the
 * supervisor each worker keeps one, and the primary merges them with `aggregateMetrics`.
 *
 * Recording is cheap: the labelled series of each (method, route, status) is looked up once and
 * kept, so a request costs a map lookup and two increments.
 *
 * @example
 * const metrics = new Metrics();
 * metrics.requestStarted();
 * metrics.requestFinished('GET', '/users/:id', 200, 0.0042);
 * const text = await metrics.text();
 */
export class Metrics {
  readonly registry: Registry;
  #requests: Counter<string>;
  #latency: Histogram<string>;
  #series = new Map<string, Series>();
  #upstreamRequests: Counter<string>;
  #upstreamFailures: Counter<string>;
  #upstreamLatency: Histogram<string>;
  #upstreamSeries = new Map<string, Series>();
  #inFlightCount = 0;

  constructor(options: MetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
    const labelNames = ['method', 'route', 'status'];
    this.#requests = new Counter({
      name: 'strata_http_requests_total',
      help: 'Requests answered, by method, route pattern and status.',
      labelNames,
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'Time from the request head to the end of the response, by method, route and status.',
      labelNames,
      buckets: [...(options.buckets ?? DEFAULT_BUCKETS)],
      registers: [registry],
    });
    const self = this;
    new Gauge({
      name: 'strata_http_requests_in_flight',
      help: 'Requests being answered right now.',
      registers: [registry],
      collect() {
        this.set(self.#inFlightCount);
      },
    });
    let last: EventLoopUtilization = performance.eventLoopUtilization();
    new Gauge({
      name: 'strata_event_loop_utilization',
      help: 'Share of time the event loop was busy since the previous scrape (0–1); averaged over workers.',
      aggregator: 'average',
      registers: [registry],
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, last).utilization);
        last = now;
      },
    });
    const poolGauge = (name: string, help: string, read: (p: PoolGaugeSource['stats']) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [pool, source] of pools) this.set({ pool }, read(source.stats));
        },
      });
    new Counter({
      name: 'strata_websocket_backpressure_total',
      help: 'WebSocket messages refused because the client read too slowly (over maxBufferedBytes): close = the socket was closed with 1013, drop = the message was dropped.',
      labelNames: ['action'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ action: 'close' }, webSocketBackpressure.close);
        this.inc({ action: 'drop' }, webSocketBackpressure.drop);
      },
    });
    countConnections();
    new Gauge({
      name: 'strata_http_connections',
      help: 'Open connections accepted by the servers of the process (the admin listener not counted).',
      registers: [registry],
      collect() {
        this.set(connections.open);
      },
    });
    const webSocketGauge = (name: string, help: string, read: (s: WebSocketGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['server'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [server, source] of webSocketServers) this.set({ server }, read(source));
        },
      });
    webSocketGauge('strata_websocket_connections', 'WebSockets open in the process.', (s) => s.size);
    webSocketGauge(
      'strata_websocket_topics',
      'Pub/sub topics with at least one subscriber in the process.',
      (s) => s.topicCount,
    );
    this.#upstreamRequests = new Counter({
      name: 'strata_upstream_requests_total',
      help: 'Proxied requests answered by an upstream, by group, upstream and status class (2xx…5xx).',
      labelNames: ['group', 'upstream', 'class'],
      registers: [registry],
    });
    this.#upstreamFailures = new Counter({
      name: 'strata_upstream_failures_total',
      help: 'Proxied attempts that failed, by group, upstream and outcome (connect-error, reset, timeout, server-error).',
      labelNames: ['group', 'upstream', 'outcome'],
      registers: [registry],
    });
    this.#upstreamLatency = new Histogram({
      name: 'strata_upstream_response_seconds',
      help: 'Time from a request sent upstream to the end of its response, by group and upstream.',
      labelNames: ['group', 'upstream'],
      buckets: [...(options.buckets ?? DEFAULT_BUCKETS)],
      registers: [registry],
    });
    const upstreamGauge = (name: string, help: string, read: (row: UpstreamGaugeRow) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['group', 'upstream'],
        registers: [registry],
        collect() {
          this.reset();
          for (const source of upstreamSources)
            for (const row of source.snapshot())
              this.set({ group: row.group, upstream: row.upstream }, read(row));
        },
      });
    upstreamGauge('strata_upstream_up', 'Whether an upstream takes requests (1) or not (0).', (r) =>
      r.available ? 1 : 0,
    );
    // A state set (as kube-state-metrics does): every state a series, 1 for the current one, so
    // that a change never leaves a stale 1 behind.
    new Gauge({
      name: 'strata_upstream_state',
      help: "An upstream's health: 1 for its current state (healthy, half-open, open, ejected, unhealthy), 0 for the others.",
      labelNames: ['group', 'upstream', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of upstreamSources)
          for (const row of source.snapshot())
            for (const state of UPSTREAM_STATES)
              this.set({ group: row.group, upstream: row.upstream, state }, row.state === state ? 1 : 0);
      },
    });
    upstreamGauge('strata_upstream_connections', 'Connections open to an upstream.', (r) => r.connections);
    upstreamGauge('strata_upstream_in_flight', 'Requests in flight to an upstream.', (r) => r.active);
    poolGauge('strata_pool_threads', 'Threads of each thread pool.', (s) => s.threads);
    poolGauge('strata_pool_queue_size', 'Tasks waiting for a thread.', (s) => s.queued);
    poolGauge(
      'strata_pool_utilization',
      'Share of pool capacity spent on tasks (0–1).',
      (s) => s.utilization,
    );
    poolGauge('strata_pool_tasks_completed', 'Tasks completed by each pool.', (s) => s.completed);
  }

  /** A request has begun. */
  requestStarted(): void {
    this.#inFlightCount += 1;
  }

  /** A request has ended; `route` is the pattern (`/users/:id`), never the raw path (cardinality). */
  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.#inFlightCount -= 1;
    const key = `${method} ${status} ${route}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      // Bounded: routes and methods come from the app's table (others are recorded as '' and
      // unknown methods were refused by the server), statuses are three digits.
      const labels = { method, route, status: String(status) };
      series = { count: this.#requests.labels(labels), latency: this.#latency.labels(labels) };
      this.#series.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  /** A proxied request was answered by `upstream` of `group` with `status`, after `seconds`. */
  upstreamFinished(group: string, upstream: string, status: number, seconds: number): void {
    const key = `${group} ${upstream} ${(status / 100) | 0}`;
    let series = this.#upstreamSeries.get(key);
    if (series === undefined) {
      // Bounded: groups and upstreams come from the configuration, classes are five.
      series = {
        count: this.#upstreamRequests.labels({ group, upstream, class: `${(status / 100) | 0}xx` }),
        latency: this.#upstreamLatency.labels({ group, upstream }),
      };
      this.#upstreamSeries.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  /** A proxied attempt to `upstream` of `group` failed (`outcome` as the group was told). */
  upstreamFailed(group: string, upstream: string, outcome: string): void {
    this.#upstreamFailures.inc({ group, upstream, outcome });
  }

  /**
   * This process's metrics as the JSON `aggregateMetrics` takes (what a worker sends its primary),
   * plus one entry that names the process (`strata_process_pid`, aggregator `omit`: the merged
   * text never shows it; the dashboard uses it to tell workers apart).
   */
  async json(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const list = await this.registry.getMetricsAsJSON();
    list.push({
      name: PROCESS_PID_ENTRY,
      help: 'The pid of the process these metrics come from.',
      type: 'gauge',
      aggregator: 'omit',
      values: [{ value: process.pid, labels: {} }],
    } as unknown as MetricObjectWithValues<MetricValue<string>>);
    return list;
  }

  /** This process's metrics in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Merges the metrics of several processes (each `Metrics.json()`) into one Prometheus text:
 * counters and histograms are summed, gauges by their own rule (in flight summed, utilisation
 * and loop delay averaged).
 */
export async function aggregateMetrics(perProcess: unknown[][]): Promise<string> {
  const merged = AggregatorRegistry.aggregate(perProcess as object[]);
  return merged.metrics();
}

/** The Prometheus text format's content type. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;
