/** What a server-side store keeps for one session. */
export interface SessionRecord {
  /** The session's values, as JSON can carry them. */
  data: Record<string, unknown>;
  /** When the session began (ms since the epoch): the absolute timeout counts from here. */
  createdAt: number;
  /** When it was last saved or touched (ms): the idle timeout counts from here. */
  touchedAt: number;
}

/**
 * Where server-side sessions live. `ttl` is in milliseconds: the store may forget a record after
 * it (the middleware checks the timeouts itself as well). Every method may be synchronous or
 * return a promise.
 */
export interface SessionStore {
  get(id: string): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  set(id: string, record: SessionRecord, ttl: number): void | Promise<void>;
  destroy(id: string): void | Promise<void>;
}

export interface MemorySessionStoreOptions {
  /** Most sessions kept; past it the least recently saved go first. Default 10 000. */
  maxEntries?: number;
  /** The clock (ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/** Defaults of `MemorySessionStore`; docs/app.md shows the same. */
export const MEMORY_SESSION_STORE_DEFAULTS = { maxEntries: 10_000 } as const;

// Expired entries swept at the front of the map per write: bounded work on the request path.
const SWEEP = 16;

interface Entry {
  json: string;
  expires: number;
}

/**
 * Sessions in this process's memory: for development, tests and single-process apps (each
 * worker of a cluster would have its own). Bounded: at most `maxEntries`, the least recently
 * saved evicted first, and expired entries are dropped as writes pass them and when read.
 * Records are kept as JSON, so a handler cannot change a stored session behind the middleware's
 * back and values behave as they would in Redis.
 *
 * @example
 * app.use(session({ store: new MemorySessionStore({ maxEntries: 50_000 }) }));
 */
export class MemorySessionStore implements SessionStore {
  #entries: Map<string, Entry>;
  #max: number;
  #now: () => number;

  constructor(options: MemorySessionStoreOptions = {}) {
    const max = options.maxEntries ?? MEMORY_SESSION_STORE_DEFAULTS.maxEntries;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError('MemorySessionStore maxEntries must be an integer ≥ 1');
    this.#entries = new Map();
    this.#max = max;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions held now (expired ones not yet swept included). */
  get size(): number {
    return this.#entries.size;
  }

  get(id: string): SessionRecord | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return JSON.parse(entry.json) as SessionRecord;
  }

  set(id: string, record: SessionRecord, ttl: number): void {
    const entries = this.#entries;
    const now = this.#now();
    // Re-inserted at the end: the map's order is the order of last writes (and, with one ttl
    // for all, of expiry), so the front holds what expires or is evicted first.
    entries.delete(id);
    entries.set(id, { json: JSON.stringify(record), expires: now + ttl });
    let swept = 0;
    for (const [key, entry] of entries) {
      if (swept++ === SWEEP || entry.expires > now) break;
      entries.delete(key);
    }
    while (entries.size > this.#max) entries.delete(entries.keys().next().value as string);
  }

  destroy(id: string): void {
    this.#entries.delete(id);
  }
}
