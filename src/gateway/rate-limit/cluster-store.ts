import { type RateLimitDecision, type RateLimitPolicy, ratePolicy } from './gcra.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import type { RateLimitStore } from './store.ts';

/** The IPC message types of the cluster store (worker → primary, primary → that worker). */
export const CLUSTER_RATE_LIMIT = 'strata:rate-limit';
export const CLUSTER_RATE_LIMIT_ANSWER = 'strata:rate-limit:answer';

/** A worker's channel to the primary (the shape of the supervisor's `WorkerChannel`). */
export interface RateLimitWorkerChannel {
  send(type: string, payload: unknown): unknown;
  on(type: string, listener: (payload: unknown) => void): void;
}

/** The primary's side (the shape of the supervisor's `on` and `send`). */
export interface RateLimitPrimary {
  on(type: string, listener: (payload: unknown, workerId: number) => void): void;
  send(workerId: number, type: string, payload: unknown): boolean;
}

interface Ask {
  id: number;
  key: string;
  limit: number;
  window: number;
  burst: number;
  cost: number;
  now: number;
}

interface Answer {
  id: number;
  decision: RateLimitDecision;
}

interface Pending {
  resolve(decision: RateLimitDecision): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Defaults of `ClusterRateLimitStore`; docs/app.md shows the same. */
export const CLUSTER_STORE_DEFAULTS = {
  /** How long a check waits for the primary's answer, in ms, before it fails. */
  timeout: 1000,
} as const;

// One sequence for every store of the process: answers carry the id, and each store ignores
// the ids it did not ask.
let nextId = 1;

/**
 * Rate-limit state shared by the workers of one machine (`strata serve --workers N`): each check
 * is one IPC round trip to the supervisor's primary, which runs the GCRA on one memory store, so
 * the workers spend one budget. Outside the supervisor (`workerChannel()` is undefined) this
 * process is the whole cluster, and the store keeps its state in memory.
 *
 * @example
 * import { workerChannel } from 'strata-stack/parallel';
 * app.use(rateLimit({ limit: 100, window: '1m', store: new ClusterRateLimitStore(workerChannel()) }));
 */
export class ClusterRateLimitStore implements RateLimitStore {
  readonly kind = 'cluster';
  readonly #channel: RateLimitWorkerChannel | undefined;
  readonly #local: MemoryRateLimitStore | undefined;
  readonly #pending: Map<number, Pending>;
  readonly #timeout: number;

  constructor(channel: RateLimitWorkerChannel | undefined, options: { timeout?: number } = {}) {
    this.#channel = channel;
    this.#local = channel === undefined ? new MemoryRateLimitStore() : undefined;
    this.#pending = new Map();
    this.#timeout = options.timeout ?? CLUSTER_STORE_DEFAULTS.timeout;
    channel?.on(CLUSTER_RATE_LIMIT_ANSWER, (payload) => {
      const answer = payload as Answer | null;
      if (answer === null || typeof answer !== 'object' || typeof answer.id !== 'number') return;
      const pending = this.#pending.get(answer.id);
      if (pending === undefined) return;
      this.#pending.delete(answer.id);
      clearTimeout(pending.timer);
      // IPC is JSON: Infinity crossed as null.
      const decision = answer.decision;
      if (decision.retryAfter === null) decision.retryAfter = Number.POSITIVE_INFINITY;
      pending.resolve(decision);
    });
  }

  consume(
    key: string,
    policy: RateLimitPolicy,
    cost: number,
    now: number,
  ): RateLimitDecision | Promise<RateLimitDecision> {
    if (this.#local !== undefined) return this.#local.consume(key, policy, cost, now);
    const channel = this.#channel!;
    const id = nextId++;
    return new Promise<RateLimitDecision>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`cluster rate-limit store: no answer from the primary within ${this.#timeout} ms`));
      }, this.#timeout);
      timer.unref?.();
      this.#pending.set(id, { resolve, reject, timer });
      const ask: Ask = {
        id,
        key,
        limit: policy.limit,
        window: policy.window,
        burst: policy.burst,
        cost,
        now,
      };
      if (channel.send(CLUSTER_RATE_LIMIT, ask) === false) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(new Error('cluster rate-limit store: the channel to the primary is closed'));
      }
    });
  }

  close(): Promise<void> {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error('cluster rate-limit store: closed'));
    }
    this.#pending.clear();
    return this.#local?.close() ?? Promise.resolve();
  }
}

function isAsk(value: unknown): value is Ask {
  const v = value as Ask | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.id === 'number' &&
    typeof v.key === 'string' &&
    typeof v.limit === 'number' &&
    typeof v.window === 'number' &&
    typeof v.burst === 'number' &&
    typeof v.cost === 'number' &&
    v.cost >= 0 &&
    typeof v.now === 'number'
  );
}

/**
 * In the supervisor's primary: answers the workers' `ClusterRateLimitStore` checks from one
 * memory store (bounded like any other). `strata serve --workers N` calls it.
 */
export function serveClusterRateLimits(
  primary: RateLimitPrimary,
  store: RateLimitStore = new MemoryRateLimitStore(),
): void {
  const policies = new Map<string, RateLimitPolicy>();
  primary.on(CLUSTER_RATE_LIMIT, (payload, workerId) => {
    if (!isAsk(payload)) return;
    const signature = `${payload.limit}/${payload.window}/${payload.burst}`;
    let policy = policies.get(signature);
    if (policy === undefined) {
      try {
        policy = ratePolicy(payload.limit, payload.window, payload.burst);
      } catch {
        return;
      }
      if (policies.size < 1000) policies.set(signature, policy);
    }
    // The primary's own clock: every worker runs on this machine, so theirs is the same one.
    const decision = store.consume(payload.key, policy, payload.cost, Date.now());
    const reply = (d: RateLimitDecision): void => {
      primary.send(workerId, CLUSTER_RATE_LIMIT_ANSWER, { id: payload.id, decision: d } satisfies Answer);
    };
    if (decision instanceof Promise) void decision.then(reply, () => {});
    else reply(decision);
  });
}
