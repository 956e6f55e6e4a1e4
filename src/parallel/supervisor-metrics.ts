import { Counter, Gauge, Registry } from 'prom-client';
import { aggregateMetrics, METRICS_CONTENT_TYPE } from '../observe/metrics.ts';
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

  /** The merged Prometheus text of every worker plus the supervisor's own series. */
  async text(): Promise<string> {
    const answers = await this.#supervisor.collect(METRICS_ASK, null, { timeoutMs: this.#timeoutMs });
    const own = await this.#registry.getMetricsAsJSON();
    return aggregateMetrics([...(answers.filter(Array.isArray) as unknown[][]), own]);
  }
}
