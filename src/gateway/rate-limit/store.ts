import type { RateLimitDecision, RateLimitPolicy } from './gcra.ts';

/**
 * Where rate-limit state lives. One interface, three implementations: `MemoryRateLimitStore`
 * (one process; the default), `ClusterRateLimitStore` (the workers of `strata serve --workers N`,
 * through the supervisor's primary) and `RedisRateLimitStore` (many machines). Each runs the one
 * GCRA (`gcra.ts`) atomically per check.
 */
export interface RateLimitStore {
  /** `memory`, `cluster`, `redis`, or a custom store's name. */
  readonly kind: string;
  /**
   * Spends `cost` units of `key`'s budget under `policy` if the budget allows it, atomically.
   * `now` is the caller's clock in ms since the epoch (a store with a clock of its own, such as
   * Redis's, may use that instead so that machines with skewed clocks agree).
   */
  consume(
    key: string,
    policy: RateLimitPolicy,
    cost: number,
    now: number,
  ): RateLimitDecision | Promise<RateLimitDecision>;
  /** Releases what the store holds (connections, timers). */
  close?(): Promise<void>;
}
