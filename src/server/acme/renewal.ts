/**
 * When to renew: `renewBefore` before expiry (30 days by default, Let's Encrypt's advice for its
 * 90-day certificates), but for a short-lived certificate — one whose lifetime is under three
 * times that — when a third of its lifetime is left (so a 6-day certificate renews after 4 days,
 * never before it is issued).
 */
export function renewalTime(notBefore: number, notAfter: number, renewBefore: number): number {
  const lifetime = Math.max(0, notAfter - notBefore);
  return notAfter - Math.min(renewBefore, lifetime / 3);
}

/**
 * The waits between failed orders: `min`, doubling with each failure in a row, never above
 * `max`, with "equal jitter" (a wait `d` becomes a uniform draw in [d/2, d]) so that many servers
 * that failed together at a CA outage do not all come back in the same second.
 */
export class RetryBackoff {
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(min: number, max: number, random: () => number = Math.random) {
    this.#min = min;
    this.#max = Math.max(min, max);
    this.#random = random;
  }

  /** Failures in the current streak. */
  get failures(): number {
    return this.#failures;
  }

  /** The wait after one more failure. */
  next(): number {
    const ceiling = Math.min(this.#max, this.#min * 2 ** Math.min(this.#failures, 40));
    this.#failures += 1;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  /** A success ends the streak. */
  reset(): void {
    this.#failures = 0;
  }
}
