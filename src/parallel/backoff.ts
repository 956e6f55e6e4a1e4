/**
 * Restart delays after crashes: `initial`, doubling with each crash in a row, capped at `max`.
 * A worker that stayed up for `stableAfter` ms ends the streak, so one crash a day restarts at once.
 */
export class RestartBackoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #stableAfter: number;
  #streak = 0;

  constructor(initial: number, max: number, stableAfter: number) {
    this.#initial = initial;
    this.#max = max;
    this.#stableAfter = stableAfter;
  }

  /** Crashes in the current streak. */
  get streak(): number {
    return this.#streak;
  }

  /** The delay before replacing a worker that ran for `uptimeMs` and crashed. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.#stableAfter) this.#streak = 0;
    const delay = Math.min(this.#max, this.#initial * 2 ** Math.min(this.#streak, 30));
    this.#streak += 1;
    return delay;
  }
}
