import { gcra, type RateLimitDecision, type RateLimitPolicy } from './gcra.ts';
import type { RateLimitStore } from './store.ts';

/** Defaults of `MemoryRateLimitStore`; docs/app.md shows the same. */
export const MEMORY_STORE_DEFAULTS = {
  /**
   * Most keys held at once. A flood of distinct keys (spoofed sources, an IPv6 block) evicts the
   * least recently spent keys beyond it, so memory stays bounded (~100 bytes a key).
   */
  maxKeys: 100_000,
} as const;

/** Options of `MemoryRateLimitStore`. */
export interface MemoryRateLimitStoreOptions {
  /** Most keys held at once (default 100,000). */
  maxKeys?: number;
}

/**
 * Rate-limit state in this process: a map from key to TAT, in least-recently-spent order. Bounded:
 * a key whose TAT has passed is dropped as new keys arrive (a key at rest needs no state), and
 * past `maxKeys` the least recently spent key is forgotten — that client starts afresh, which is
 * the price of a memory bound no flood of distinct keys can exceed. Checks are synchronous.
 *
 * @example
 * const store = new MemoryRateLimitStore({ maxKeys: 50_000 });
 * app.use(rateLimit({ limit: 100, window: '1m', store }));
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  readonly maxKeys: number;
  readonly #tats: Map<string, number>;
  /** The key spent last: already at the recent end of the map, so no reordering needed. */
  #newest: string | undefined;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? MEMORY_STORE_DEFAULTS.maxKeys;
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`MemoryRateLimitStore: maxKeys must be a positive integer, got ${maxKeys}`);
    this.maxKeys = maxKeys;
    this.#tats = new Map();
    this.#newest = undefined;
  }

  /** Keys held now (for tests and metrics). */
  get size(): number {
    return this.#tats.size;
  }

  consume(key: string, policy: RateLimitPolicy, cost: number, now: number): RateLimitDecision {
    const tats = this.#tats;
    const tat = tats.get(key);
    const decision = gcra(tat ?? 0, now, policy, cost);
    if (!decision.allowed || cost === 0) return decision;
    this.#store(key, tat, decision.tat, now);
    return decision;
  }

  /**
   * `consume(key, policy, 1, now).allowed` without making a decision object: the edge's check,
   * once per request. The same arithmetic as `gcra()` (a test holds the two together).
   */
  take(key: string, policy: RateLimitPolicy, now: number): boolean {
    const tat = this.#tats.get(key);
    const interval = policy.interval;
    const ahead = tat !== undefined && tat > now ? tat - now : 0;
    const after = ahead + interval;
    if (after > policy.tolerance + interval * 1e-6 + 0.001) return false;
    this.#store(key, tat, now + after, now);
    return true;
  }

  #store(key: string, previous: number | undefined, tat: number, now: number): void {
    const tats = this.#tats;
    if (previous === undefined) this.#admit(now);
    // Re-inserted: the map stays in least-recently-spent order (the newest key already is last).
    else if (key !== this.#newest) tats.delete(key);
    tats.set(key, tat);
    this.#newest = key;
  }

  /** What `consume` would decide now, without spending (for the answer to a refusal). */
  peek(key: string, policy: RateLimitPolicy, cost: number, now: number): RateLimitDecision {
    return gcra(this.#tats.get(key) ?? 0, now, policy, cost);
  }

  close(): Promise<void> {
    this.#tats.clear();
    this.#newest = undefined;
    return Promise.resolve();
  }

  /** Room for one new key: drop up to two keys at rest from the old end, then the oldest if full. */
  #admit(now: number): void {
    const tats = this.#tats;
    let dropped = 0;
    for (const [key, tat] of tats) {
      if (tat > now || dropped === 2) break;
      tats.delete(key);
      if (key === this.#newest) this.#newest = undefined;
      dropped += 1;
    }
    if (tats.size >= this.maxKeys) {
      for (const key of tats.keys()) {
        tats.delete(key);
        if (key === this.#newest) this.#newest = undefined;
        break;
      }
    }
  }
}
