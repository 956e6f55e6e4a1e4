import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Thresholds past which the process sheds load (`@fastify/under-pressure` parity). 0 = not checked. */
export interface PressureLimits {
  /** Event-loop delay, ms: the mean over the last sample window, less the timer resolution. */
  maxEventLoopDelay?: number;
  /** Event-loop utilisation over the last sample window, 0–1. */
  maxEventLoopUtilization?: number;
  /** `process.memoryUsage().heapUsed`, bytes. */
  maxHeapUsedBytes?: number;
  /** `process.memoryUsage.rss()`, bytes. */
  maxRssBytes?: number;
}

/** Options of `new LoopMonitor()`. */
export interface LoopMonitorOptions extends PressureLimits {
  /** How often delay, utilisation and memory are sampled, in ms. Default 1000. */
  sampleInterval?: number;
  /** Resolution of the delay histogram, in ms. Default 10. */
  resolution?: number;
  /**
   * Called when the process goes under pressure (with the limit passed) and when it recovers
   * (with `undefined`), from the sampling timer. A supervised worker tells its primary this way,
   * so that the machine's `/healthz` can say 503 when every worker sheds load.
   */
  onPressureChange?: ((pressure: keyof PressureLimits | undefined) => void) | undefined;
}

/** One reading of the loop's health. Delays in ms. */
export interface LoopHealth {
  /**
   * Delay percentiles since the monitor started (cumulative, as prom-client's), as node measures
   * them: every sample includes the timer's resolution, so an idle loop reads about `resolution`.
   */
  delay: { min: number; mean: number; p50: number; p90: number; p99: number; max: number };
  /** Utilisation over the last sample window, 0–1. */
  utilization: number;
  heapUsedBytes: number;
  rssBytes: number;
  /** The limit currently passed, or undefined when healthy. */
  pressure: keyof PressureLimits | undefined;
}

export const LOOP_MONITOR_DEFAULTS = { sampleInterval: 1000, resolution: 10 } as const;

const NS_PER_MS = 1e6;

/**
 * Measures this process's event loop — delay (a histogram), utilisation, heap and RSS — on a
 * timer, and says whether a pressure limit is passed. Reading `underPressure` is a field read, so
 * the server can consult it on every request for free; the sampling runs once per
 * `sampleInterval`, off the request path.
 *
 * @example
 * const monitor = new LoopMonitor({ maxEventLoopDelay: 200 });
 * if (monitor.underPressure) return new Response('busy', { status: 503 });
 */
export class LoopMonitor {
  /** True while a limit is passed; updated every `sampleInterval`. */
  underPressure = false;
  /** Which limit, while `underPressure`. */
  pressure: keyof PressureLimits | undefined = undefined;

  #histogram: ReturnType<typeof monitorEventLoopDelay>;
  #window: ReturnType<typeof monitorEventLoopDelay>;
  #elu: EventLoopUtilization;
  #utilization = 0;
  #heapUsed = 0;
  #rss = 0;
  #limits: Required<PressureLimits>;
  #timer: NodeJS.Timeout;
  #resolution: number;
  #interval: number;
  #sampledAt = 0;
  #onChange: ((pressure: keyof PressureLimits | undefined) => void) | undefined;

  constructor(options: LoopMonitorOptions = {}) {
    const interval = options.sampleInterval ?? LOOP_MONITOR_DEFAULTS.sampleInterval;
    const resolution = options.resolution ?? LOOP_MONITOR_DEFAULTS.resolution;
    for (const [key, value] of Object.entries(options)) {
      if (key === 'onPressureChange') continue;
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
        throw new TypeError(`LoopMonitor: option ${key} must be a non-negative number, got ${String(value)}`);
    }
    if (interval < 1 || resolution < 1)
      throw new TypeError('LoopMonitor: sampleInterval and resolution must be at least 1 ms');
    this.#limits = {
      maxEventLoopDelay: options.maxEventLoopDelay ?? 0,
      maxEventLoopUtilization: options.maxEventLoopUtilization ?? 0,
      maxHeapUsedBytes: options.maxHeapUsedBytes ?? 0,
      maxRssBytes: options.maxRssBytes ?? 0,
    };
    this.#resolution = resolution;
    this.#interval = interval;
    this.#onChange = options.onPressureChange;
    this.#histogram = monitorEventLoopDelay({ resolution });
    this.#window = monitorEventLoopDelay({ resolution });
    this.#histogram.enable();
    this.#window.enable();
    this.#elu = performance.eventLoopUtilization();
    this.#timer = setInterval(() => this.sample(), interval);
    this.#timer.unref();
    this.sample();
  }

  /** Takes a reading now (the timer calls this; tests may too, which also restarts the drift clock). */
  sample(): void {
    const elu = performance.eventLoopUtilization(this.#elu);
    this.#elu = performance.eventLoopUtilization();
    this.#utilization = elu.utilization;
    const memory = process.memoryUsage();
    this.#heapUsed = memory.heapUsed;
    this.#rss = memory.rss;
    // node's samples include the timer's own resolution: subtract it, as under-pressure does.
    // The sampling timer's own lateness counts too: right after a long block the histogram may
    // not have recorded the late tick yet, but this timer is late by about the block.
    const now = performance.now();
    const drift = this.#sampledAt === 0 ? 0 : now - this.#sampledAt - this.#interval;
    this.#sampledAt = now;
    const windowDelay = Math.max(
      drift,
      this.#window.count > 0 ? this.#window.mean / NS_PER_MS - this.#resolution : 0,
    );
    this.#window.reset();
    const l = this.#limits;
    this.pressure =
      l.maxEventLoopDelay > 0 && windowDelay > l.maxEventLoopDelay
        ? 'maxEventLoopDelay'
        : l.maxEventLoopUtilization > 0 && this.#utilization > l.maxEventLoopUtilization
          ? 'maxEventLoopUtilization'
          : l.maxHeapUsedBytes > 0 && this.#heapUsed > l.maxHeapUsedBytes
            ? 'maxHeapUsedBytes'
            : l.maxRssBytes > 0 && this.#rss > l.maxRssBytes
              ? 'maxRssBytes'
              : undefined;
    const was = this.underPressure;
    this.underPressure = this.pressure !== undefined;
    if (was !== this.underPressure) this.#onChange?.(this.pressure);
  }

  /** The latest reading. */
  health(): LoopHealth {
    const h = this.#histogram;
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / NS_PER_MS : 0);
    return {
      delay: {
        min: h.count > 0 ? ms(h.min) : 0,
        mean: ms(h.mean),
        p50: ms(h.percentile(50)),
        p90: ms(h.percentile(90)),
        p99: ms(h.percentile(99)),
        max: h.count > 0 ? ms(h.max) : 0,
      },
      utilization: this.#utilization,
      heapUsedBytes: this.#heapUsed,
      rssBytes: this.#rss,
      pressure: this.pressure,
    };
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
    this.#window.disable();
  }
}
