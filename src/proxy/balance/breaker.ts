/**
 * A circuit breaker per upstream (closed → open → half-open → closed or open again).
 *
 * Closed, it remembers the last `window` attempts as failed or not; when at least `minRequests`
 * are remembered and the failed share reaches `failureRatio`, it opens. Open, it refuses
 * everything for `openMs`; then half-open, it lets exactly one probe attempt through — the
 * first outcome reported after that attempt began closes it (success, window cleared) or opens it
 * again (failure). Outcomes of attempts that began before it opened are ignored.
 *
 * Time is passed in, so tests step it.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  readonly window: number;
  readonly minRequests: number;
  readonly failureRatio: number;
  readonly openMs: number;
}

export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  /** The last `window` outcomes, true for failed, as a ring. */
  readonly #ring: boolean[] = [];
  #head = 0;
  #failed = 0;
  #state: BreakerState = 'closed';
  #openUntil = 0;
  #probing = false;
  /** Times it opened. */
  opens = 0;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
  }

  /** The state at `now` (open turns half-open when its time is up). */
  state(now: number): BreakerState {
    if (this.#state === 'open' && now >= this.#openUntil) {
      this.#state = 'half-open';
      this.#probing = false;
    }
    return this.#state;
  }

  /** Whether a new attempt may start at `now`. */
  allows(now: number): boolean {
    const state = this.state(now);
    return state === 'closed' || (state === 'half-open' && !this.#probing);
  }

  /** An attempt starts; in half-open it is the probe. */
  begin(now: number): void {
    if (this.state(now) === 'half-open') this.#probing = true;
  }

  /**
   * An attempt ended. Returns the new state when this outcome changed it (for the change event),
   * else undefined.
   */
  record(failed: boolean, now: number): BreakerState | undefined {
    const state = this.state(now);
    if (state === 'open') return undefined;
    if (state === 'half-open') {
      if (!this.#probing) return undefined;
      this.#probing = false;
      if (failed) return this.#open(now);
      this.#clear();
      this.#state = 'closed';
      return 'closed';
    }
    this.#push(failed);
    const { minRequests, failureRatio } = this.#settings;
    if (this.#ring.length >= minRequests && this.#failed >= failureRatio * this.#ring.length) {
      return this.#open(now);
    }
    return undefined;
  }

  /**
   * A successful attempt while closed, without reading the clock (the request path's common
   * case); false when not closed, and the caller records it with `record`.
   */
  success(): boolean {
    if (this.#state !== 'closed') return false;
    this.#push(false);
    return true;
  }

  /** When an open breaker half-opens (0 when it is not open). */
  get openUntil(): number {
    return this.#state === 'open' ? this.#openUntil : 0;
  }

  /** Failed attempts among those remembered (kept while open, for the reason in the log). */
  get failed(): number {
    return this.#failed;
  }

  /** Attempts remembered. */
  get remembered(): number {
    return this.#ring.length;
  }

  #open(now: number): BreakerState {
    this.#state = 'open';
    this.#openUntil = now + this.#settings.openMs;
    this.#probing = false;
    this.opens++;
    return 'open';
  }

  #push(failed: boolean): void {
    const size = this.#settings.window;
    if (this.#ring.length < size) {
      this.#ring.push(failed);
    } else {
      if (this.#ring[this.#head]) this.#failed--;
      this.#ring[this.#head] = failed;
      this.#head = (this.#head + 1) % size;
    }
    if (failed) this.#failed++;
  }

  #clear(): void {
    this.#ring.length = 0;
    this.#head = 0;
    this.#failed = 0;
  }
}
