import { gcra, type RateLimitDecision, type RateLimitPolicy, ratePolicy } from './gcra.ts';
import { policyField, rateLimitField, sfString } from './headers.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import { parseWindow, type WindowSpec } from './rate-spec.ts';
import type { RateLimitStore } from './store.ts';

/** What both doors (the edge's `rateLimit` option and the `rateLimit()` middleware) are given. */
export interface RateLimiterOptions {
  /** Requests (cost units) per window, sustained. */
  limit: number;
  /** The window: ms, or `10s`, `1m`, `1h`. */
  window: WindowSpec;
  /** Units a client at rest may spend at once. Default `limit`. */
  burst?: number;
  /**
   * The policy's name in `RateLimit-Policy`/`RateLimit`, and the namespace of its keys in a
   * shared store (limiters with the same name and numbers share budgets). Default `default`.
   */
  name?: string;
  /** Where the state lives. Default: a `MemoryRateLimitStore` of this limiter's own. */
  store?: RateLimitStore;
}

/**
 * One policy bound to one store: the part of rate limiting both doors share. Its fields are
 * computed once (the header values' constant parts, the key prefix).
 */
export class RateLimiter {
  readonly policy: RateLimitPolicy;
  readonly name: string;
  readonly store: RateLimitStore;
  /** The `RateLimit-Policy` field value, computed once. */
  readonly policyField: string;
  readonly #quotedName: string;
  readonly #prefix: string;

  constructor(options: RateLimiterOptions) {
    this.policy = ratePolicy(options.limit, parseWindow(options.window), options.burst ?? options.limit);
    this.name = options.name ?? 'default';
    this.#quotedName = sfString(this.name);
    this.policyField = policyField(this.name, this.policy);
    this.store = options.store ?? new MemoryRateLimitStore();
    const p = this.policy;
    this.#prefix = `${this.name}:${p.limit}/${p.window}/${p.burst}:`;
  }

  /** Spends `cost` of `key`'s budget, through the store. */
  consume(key: string, cost: number, now: number): RateLimitDecision | Promise<RateLimitDecision> {
    return this.store.consume(this.#prefix + key, this.policy, cost, now);
  }

  /** The `RateLimit` field value for a decision. */
  field(decision: RateLimitDecision): string {
    return rateLimitField(this.#quotedName, decision);
  }

  /** What a check of `cost` would decide for a key at rest (for the docs and tests). */
  fresh(cost: number, now: number): RateLimitDecision {
    return gcra(0, now, this.policy, cost);
  }
}
