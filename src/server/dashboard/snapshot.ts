import { PROCESS_PID_ENTRY } from '../../observe/metrics.ts';

/** One metric as prom-client's `getMetricsAsJSON()` (and so `Metrics.json()`) gives it. */
export interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
}

/** One process as the dashboard is told about it. */
export interface ProcessSample {
  pid: number;
  /** The supervisor's worker id, under `--workers`. */
  id?: number | undefined;
  /** `ready`, `starting`, `draining`, … (a single process is `ready` or `draining`). */
  state: string;
  /** The load-shedding limit the process is passing, if any. */
  pressure?: string | undefined;
  /** Its `Metrics.json()`; undefined when it did not answer (starting, just killed). */
  metrics: MetricJson[] | undefined;
}

/** What the admin listener reads once a second for the dashboard. */
export interface DashboardInput {
  mode: 'single' | 'workers';
  /** What `/healthz` says. */
  healthy: boolean;
  processes: ProcessSample[];
  /** Workers started to replace another, by reason (`exit`, `reload`, `maxRequests`). */
  restarts?: Record<string, number> | undefined;
  /** How many workers the supervisor keeps alive. */
  target?: number | undefined;
}

/** One row of the dashboard's process table. */
export interface WorkerRow {
  pid: number;
  id: number | null;
  state: string;
  pressure: string | null;
  uptimeSeconds: number | null;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  loopDelayP99Ms: number | null;
  utilization: number | null;
  requests: number | null;
  requestsPerSecond: number | null;
}

/** Latency percentiles in milliseconds, from the histogram's buckets. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** What `/dashboard/events` sends once a second (JSON). */
export interface DashboardSnapshot {
  /** Milliseconds since the epoch. */
  time: number;
  mode: 'single' | 'workers';
  healthy: boolean;
  /** The load-shedding limits being passed, one entry per process that sheds. */
  shedding: string[];
  target: number | null;
  restarts: { total: number; byReason: Record<string, number> };
  workers: WorkerRow[];
  requests: {
    total: number;
    /** Over the last interval; null on the first snapshot. */
    perSecond: number | null;
    inFlight: number;
    status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
    /** Of the requests finished in the last interval; null when none finished. */
    latencyMs: Percentiles | null;
    /** Of every request since the processes started; null before the first. */
    latencyAllMs: Percentiles | null;
  };
  connections: number | null;
  webSockets: number | null;
  topics: number | null;
  pool: { threads: number; queued: number; utilization: number | null; completed: number } | null;
  refusals: {
    /** `strata_websocket_backpressure_total`, by action. */
    webSocketBackpressure: { close: number; drop: number };
    /** 429 answers (the rate limits, edge and app). */
    tooManyRequests: number;
    /** 503 answers (load shedding, the concurrency limit, draining). */
    unavailable: number;
  };
}

const REQUESTS = 'strata_http_requests_total';
const LATENCY = 'strata_http_request_duration_seconds';

/** Per-process counters kept between snapshots to turn totals into rates. */
interface Previous {
  time: number;
  requests: number;
  /** Cumulative bucket counts by upper bound (`le`). */
  buckets: Map<number, number>;
}

const find = (metrics: MetricJson[], name: string): MetricJson | undefined =>
  metrics.find((m) => m.name === name);

const single = (metrics: MetricJson[], name: string): number | null => {
  const metric = find(metrics, name);
  if (metric === undefined || metric.values.length === 0) return null;
  let total = 0;
  for (const v of metric.values) total += v.value;
  return total;
};

/** The histogram's cumulative counts by upper bound, summed over every label set. */
function bucketsOf(metrics: MetricJson[]): Map<number, number> {
  const buckets = new Map<number, number>();
  const metric = find(metrics, LATENCY);
  if (metric === undefined) return buckets;
  for (const v of metric.values) {
    if (v.metricName !== undefined && !v.metricName.endsWith('_bucket')) continue;
    const le = v.labels.le;
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v.value);
  }
  return buckets;
}

/**
 * The q-quantile of a cumulative histogram, as Prometheus' `histogram_quantile` reads it: linear
 * inside the bucket that holds the rank, the last finite bound when the rank falls in `+Inf`.
 * Null for an empty histogram.
 */
export function quantile(q: number, cumulative: Map<number, number>): number | null {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = bounds.length === 0 ? 0 : cumulative.get(bounds[bounds.length - 1]!)!;
  if (!(total > 0)) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = cumulative.get(bound)!;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      const inside = count - below;
      return inside > 0 ? lower + (bound - lower) * ((rank - below) / inside) : bound;
    }
    lower = bound;
    below = count;
  }
  return lower;
}

const percentilesMs = (cumulative: Map<number, number>): Percentiles | null => {
  const p50 = quantile(0.5, cumulative);
  if (p50 === null) return null;
  return { p50: p50 * 1000, p90: quantile(0.9, cumulative)! * 1000, p99: quantile(0.99, cumulative)! * 1000 };
};

/**
 * Turns what the admin listener reads each second (every process's metrics JSON, the
 * supervisor's facts) into the dashboard's snapshot: sums across processes, a row per process,
 * rates and latency percentiles over the interval since the previous snapshot. Keeps the previous
 * totals per pid, so a replaced worker (its counters start again at zero) does not make a rate
 * negative.
 *
 * @example
 * const feed = new DashboardFeed();
 * const snapshot = feed.next({ mode: 'single', healthy: true, processes: [sample] });
 */
export class DashboardFeed {
  #previous = new Map<number, Previous>();

  next(input: DashboardInput, now: number = Date.now()): DashboardSnapshot {
    const status = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    const workers: WorkerRow[] = [];
    const seen = new Map<number, Previous>();
    const allBuckets = new Map<number, number>();
    const intervalBuckets = new Map<number, number>();
    let total = 0;
    let delta = 0;
    let seconds = 0;
    let inFlight = 0;
    let connections: number | null = null;
    let webSockets: number | null = null;
    let topics: number | null = null;
    let pool: DashboardSnapshot['pool'] = null;
    let poolUtilization = 0;
    let poolCount = 0;
    const backpressure = { close: 0, drop: 0 };
    let tooMany = 0;
    let unavailable = 0;
    const shedding: string[] = [];
    const add = (sum: number | null, value: number | null): number | null =>
      value === null ? sum : (sum ?? 0) + value;

    for (const p of input.processes) {
      if (p.pressure !== undefined) shedding.push(p.pressure);
      const m = p.metrics;
      const row: WorkerRow = {
        pid: p.pid,
        id: p.id ?? null,
        state: p.state,
        pressure: p.pressure ?? null,
        uptimeSeconds: null,
        rssBytes: null,
        heapUsedBytes: null,
        loopDelayP99Ms: null,
        utilization: null,
        requests: null,
        requestsPerSecond: null,
      };
      workers.push(row);
      if (m === undefined) continue;
      const started = single(m, 'process_start_time_seconds');
      row.uptimeSeconds = started === null ? null : Math.max(0, now / 1000 - started);
      row.rssBytes = single(m, 'process_resident_memory_bytes');
      row.heapUsedBytes = single(m, 'nodejs_heap_size_used_bytes');
      const lag = single(m, 'nodejs_eventloop_lag_p99_seconds');
      row.loopDelayP99Ms = lag === null ? null : lag * 1000;
      row.utilization = single(m, 'strata_event_loop_utilization');

      let requests = 0;
      for (const v of find(m, REQUESTS)?.values ?? []) {
        requests += v.value;
        const code = Number(v.labels.status);
        if (code >= 200 && code < 300) status['2xx'] += v.value;
        else if (code >= 300 && code < 400) status['3xx'] += v.value;
        else if (code >= 400 && code < 500) status['4xx'] += v.value;
        else if (code >= 500 && code < 600) status['5xx'] += v.value;
        if (code === 429) tooMany += v.value;
        else if (code === 503) unavailable += v.value;
      }
      row.requests = requests;
      total += requests;
      inFlight += single(m, 'strata_http_requests_in_flight') ?? 0;
      connections = add(connections, single(m, 'strata_http_connections'));
      webSockets = add(webSockets, single(m, 'strata_websocket_connections'));
      topics = add(topics, single(m, 'strata_websocket_topics'));
      for (const v of find(m, 'strata_websocket_backpressure_total')?.values ?? []) {
        if (v.labels.action === 'close') backpressure.close += v.value;
        else if (v.labels.action === 'drop') backpressure.drop += v.value;
      }
      const threads = find(m, 'strata_pool_threads')?.values ?? [];
      if (threads.length > 0) {
        pool ??= { threads: 0, queued: 0, utilization: null, completed: 0 };
        pool.threads += single(m, 'strata_pool_threads') ?? 0;
        pool.queued += single(m, 'strata_pool_queue_size') ?? 0;
        pool.completed += single(m, 'strata_pool_tasks_completed') ?? 0;
        for (const v of find(m, 'strata_pool_utilization')?.values ?? []) {
          poolUtilization += v.value;
          poolCount += 1;
        }
      }

      const buckets = bucketsOf(m);
      for (const [le, n] of buckets) allBuckets.set(le, (allBuckets.get(le) ?? 0) + n);
      const before = this.#previous.get(p.pid);
      seen.set(p.pid, { time: now, requests, buckets });
      if (before === undefined || now <= before.time) continue;
      const elapsed = (now - before.time) / 1000;
      // A counter that went down belongs to a new process under an old pid: count from zero.
      const fresh = requests < before.requests;
      const done = fresh ? requests : requests - before.requests;
      row.requestsPerSecond = done / elapsed;
      delta += done;
      seconds = Math.max(seconds, elapsed);
      for (const [le, n] of buckets) {
        const was = fresh ? 0 : (before.buckets.get(le) ?? 0);
        intervalBuckets.set(le, (intervalBuckets.get(le) ?? 0) + Math.max(0, n - was));
      }
    }
    this.#previous = seen;
    if (pool !== null && poolCount > 0) pool.utilization = poolUtilization / poolCount;

    const byReason = { ...(input.restarts ?? {}) };
    let restarts = 0;
    for (const n of Object.values(byReason)) restarts += n;
    return {
      time: now,
      mode: input.mode,
      healthy: input.healthy,
      shedding,
      target: input.target ?? null,
      restarts: { total: restarts, byReason },
      workers,
      requests: {
        total,
        perSecond: seconds > 0 ? delta / seconds : null,
        inFlight,
        status,
        latencyMs: percentilesMs(intervalBuckets),
        latencyAllMs: percentilesMs(allBuckets),
      },
      connections,
      webSockets,
      topics,
      pool,
      refusals: { webSocketBackpressure: backpressure, tooManyRequests: tooMany, unavailable },
    };
  }
}

/** The pid a worker's `Metrics.json()` names (its `strata_process_pid` entry), if any. */
export function pidOf(metrics: MetricJson[]): number | undefined {
  const value = find(metrics, PROCESS_PID_ENTRY)?.values[0]?.value;
  return typeof value === 'number' ? value : undefined;
}
