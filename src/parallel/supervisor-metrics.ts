import { Counter, Gauge, Registry } from 'prom-client';
import { aggregateMetrics, METRICS_CONTENT_TYPE, PROCESS_PID_ENTRY } from '../observe/metrics.ts';
import type { Supervisor } from './supervisor.ts';

/** The IPC name a worker answers with its `Metrics.json()`. */
export const METRICS_ASK = 'strata:metrics';

/**
 * The primary's side of the metrics: asks every ready worker for its metrics, merges them
 * (`aggregateMetrics`), and adds the supervisor's own — workers by state and restarts by reason.
 * A worker that does not answer within `timeoutMs` is left out of that scrape.
 *
 * @example
 * const metrics = new SupervisorMetrics(supervisor);
 * await startAdmin({ metrics: () => metrics.text(), contentType: metrics.contentType });
 */
export class SupervisorMetrics {
  readonly contentType: string = METRICS_CONTENT_TYPE;
  readonly #supervisor: Supervisor;
  readonly #registry = new Registry();
  readonly #timeoutMs: number;

  constructor(supervisor: Supervisor, options: { timeoutMs?: number } = {}) {
    this.#supervisor = supervisor;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    const registry = this.#registry;
    new Gauge({
      name: 'strata_workers',
      help: 'Worker processes of the supervisor, by state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const w of supervisor.workers()) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Counter({
      name: 'strata_worker_restarts_total',
      help: 'Workers started to replace another: exit (a crash or a watchdog kill), reload, maxRequests.',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of supervisor.restarts) this.inc({ reason }, n);
      },
    });
  }

  /**
   * What the admin listener's dashboard reads: every worker as the supervisor sees it (pid, id,
   * state, load shedding), with the metrics it answered (matched by the pid its `Metrics.json()`
   * names), the restarts by reason and the health `/healthz` reports.
   */
  async dashboard(): Promise<{
    mode: 'workers';
    healthy: boolean;
    target: number;
    restarts: Record<string, number>;
    processes: {
      pid: number;
      id: number;
      state: string;
      pressure: string | undefined;
      metrics: unknown[] | undefined;
    }[];
  }> {
    const answers = await this.#supervisor.collect(METRICS_ASK, null, { timeoutMs: this.#timeoutMs });
    const byPid = new Map<number, unknown[]>();
    for (const answer of answers) {
      if (!Array.isArray(answer)) continue;
      const entry = answer.find((m: { name?: unknown }) => m?.name === PROCESS_PID_ENTRY) as
        | { values?: { value?: unknown }[] }
        | undefined;
      const pid = entry?.values?.[0]?.value;
      if (typeof pid === 'number') byPid.set(pid, answer);
    }
    const supervisor = this.#supervisor;
    return {
      mode: 'workers',
      healthy: supervisor.healthy,
      target: supervisor.target,
      restarts: Object.fromEntries(supervisor.restarts),
      processes: supervisor.workers().map((w) => ({
        pid: w.pid,
        id: w.id,
        state: w.state,
        pressure: w.pressure,
        metrics: byPid.get(w.pid),
      })),
    };
  }

  /** The merged Prometheus text of every worker plus the supervisor's own series. */
  async text(): Promise<string> {
    const answers = await this.#supervisor.collect(METRICS_ASK, null, { timeoutMs: this.#timeoutMs });
    const own = await this.#registry.getMetricsAsJSON();
    return aggregateMetrics([...(answers.filter(Array.isArray) as unknown[][]), own]);
  }
}
