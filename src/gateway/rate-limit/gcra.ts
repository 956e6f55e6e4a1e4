/**
 * The generic cell rate algorithm (GCRA, ITU-T I.371; the algorithm of nginx's `limit_req`
 * and of redis-cell): one pure function of (stored state, now, policy, cost). Both doors of
 * strata's rate limiting call it — the server's edge and the app's `rateLimit()` middleware —
 * and every store (memory, the cluster's primary) runs it; the Redis store runs its Lua twin,
 * which a conformance test holds to this one.
 *
 * The whole state of a key is one number, its theoretical arrival time (TAT): the moment at which
 * the key's bucket would be full again. No timer refills anything; a key whose TAT has passed is
 * the same as a key never seen, so a store may forget it.
 */

/** A checked rate-limit policy: `limit` cost units per `window` ms, bursts up to `burst`. */
export interface RateLimitPolicy {
  /** Units allowed per window, sustained. */
  readonly limit: number;
  /** The window, in milliseconds. */
  readonly window: number;
  /** Units a key that has been quiet may spend at once (the bucket's size). */
  readonly burst: number;
  /** `window / limit`: the time one unit takes to come back, in ms. */
  readonly interval: number;
  /** `burst * interval`: how far ahead of now a key's TAT may run, in ms. */
  readonly tolerance: number;
}

/** What one check decided. Times are in milliseconds. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The key's new state (its TAT, ms since the epoch); unchanged when refused. */
  tat: number;
  /** Units the key could still spend now. */
  remaining: number;
  /** Until the key's bucket is full again (its TAT, from now). */
  resetAfter: number;
  /** Until a check of this cost could pass (0 when allowed; Infinity when cost > burst). */
  retryAfter: number;
}

/**
 * A policy from its numbers: `limit` units per `window` ms; `burst` (default `limit`) is how
 * many units a key at rest may spend at once. Over any span of `window` ms a key gets at most
 * `limit + burst − 1` units (the bucket, then the refill).
 */
export function ratePolicy(limit: number, window: number, burst: number = limit): RateLimitPolicy {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`rate limit: limit must be a positive integer, got ${limit}`);
  if (!Number.isFinite(window) || window <= 0)
    throw new RangeError(`rate limit: window must be a positive number of ms, got ${window}`);
  if (!Number.isInteger(burst) || burst < 1)
    throw new RangeError(`rate limit: burst must be a positive integer, got ${burst}`);
  const interval = window / limit;
  return { limit, window, burst, interval, tolerance: burst * interval };
}

/**
 * One GCRA check. `tat` is the key's stored state (0, or anything in the past, for a key at
 * rest); `cost` units (an integer ≥ 0; 0 peeks without spending). Pure: the caller stores
 * `decision.tat` when `decision.allowed`.
 */
export function gcra(tat: number, now: number, policy: RateLimitPolicy, cost: number): RateLimitDecision {
  const interval = policy.interval;
  const tolerance = policy.tolerance;
  // How far ahead of now the key already is (exact: both near `now`), and would be after this.
  const ahead = tat > now ? tat - now : 0;
  const after = ahead + cost * interval;
  // Absorbs rounding: of `window / limit` (a millionth of an interval), and of a TAT stored as
  // ms since the epoch (a double's step there is ~0.25 µs): 1 µs. Never a whole unit.
  const slack = interval * 1e-6 + 0.001;
  if (after > tolerance + slack) {
    const spend = cost * interval;
    return {
      allowed: false,
      tat,
      remaining: units(tolerance - ahead, interval),
      resetAfter: ahead,
      retryAfter: spend > tolerance + slack ? Number.POSITIVE_INFINITY : after - tolerance,
    };
  }
  return {
    allowed: true,
    tat: now + after,
    remaining: units(tolerance - after, interval),
    resetAfter: after,
    retryAfter: 0,
  };
}

/** Whole units in `span` ms, robust to the last bit of rounding (2.9999999 is 3). */
function units(span: number, interval: number): number {
  if (span <= 0) return 0;
  return Math.floor(span / interval + 1e-6);
}
