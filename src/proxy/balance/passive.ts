/**
 * Passive health: an upstream whose real requests fail `maxFails` times in a row is ejected for a
 * while (nginx `max_fails`/`fail_timeout`). Ejections soon after one another grow — twice as long
 * each time up to `maxEjectMs`, one step shorter again for each `failTimeoutMs` spent without one
 * (Envoy's outlier detection does the same) — so an upstream that keeps failing is tried ever
 * more rarely, and one that failed once long ago starts afresh. After an ejection the upstream is
 * on probation: its next failure ejects it again at once, its next success clears the count.
 *
 * Time is passed in, so tests step it.
 */

export interface PassiveSettings {
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  readonly maxEjectMs: number;
}

export class PassiveEjection {
  readonly #settings: PassiveSettings;
  /** Failures in a row (each within failTimeoutMs of the previous one). */
  #fails = 0;
  #lastFailAt = 0;
  /** How many ejections in a row the next one follows (its length doubles per step). */
  #level = 0;
  /** Ejected until this time; 0 when not ejected. */
  #until = 0;
  #lastEndedAt = 0;
  #probation = false;
  /** Ejections so far. */
  ejections = 0;

  constructor(settings: PassiveSettings) {
    this.#settings = settings;
  }

  /** Whether the upstream is ejected at `now`; ends an ejection whose time is up. */
  ejected(now: number): boolean {
    if (this.#until === 0) return false;
    if (now < this.#until) return true;
    this.#end(now);
    return false;
  }

  /** The end of the current ejection (0 when none). */
  get until(): number {
    return this.#until;
  }

  /**
   * A failed attempt at `now`; true when it ejects the upstream. Failures reported while ejected
   * (attempts that began before) change nothing. `mayEject` false (too many of the group are
   * ejected already) keeps the count without ejecting: the next failure asks again.
   */
  failure(now: number, mayEject = true): boolean {
    if (this.ejected(now)) return false;
    const { maxFails, failTimeoutMs } = this.#settings;
    if (this.#fails > 0 && now - this.#lastFailAt > failTimeoutMs) this.#fails = 0;
    this.#fails++;
    this.#lastFailAt = now;
    if (!this.#probation && this.#fails < maxFails) return false;
    if (!mayEject) return false;
    this.#eject(now);
    return true;
  }

  /** A successful attempt: the count of failures in a row starts again. */
  success(): void {
    this.#fails = 0;
    this.#probation = false;
  }

  /** Ends an ejection early (an active check found the upstream healthy again). */
  lift(now: number): boolean {
    if (this.#until === 0) return false;
    this.#end(now);
    return true;
  }

  /** How long the ejection at `now` lasts. */
  #eject(now: number): void {
    const { failTimeoutMs, maxEjectMs } = this.#settings;
    const quiet = this.#lastEndedAt === 0 ? 0 : Math.floor((now - this.#lastEndedAt) / failTimeoutMs);
    const level = Math.max(0, this.#level - quiet);
    this.#until = now + Math.min(maxEjectMs, failTimeoutMs * 2 ** Math.min(level, 30));
    this.#level = level + 1;
    this.#fails = 0;
    this.#probation = false;
    this.ejections++;
  }

  #end(now: number): void {
    this.#until = 0;
    this.#lastEndedAt = now;
    this.#probation = true;
  }
}
