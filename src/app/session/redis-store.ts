import type { SessionRecord, SessionStore } from './store.ts';

/**
 * The part of the official `redis` client (node-redis 5+) the store uses: pass
 * `createClient({ url })` after `connect()`. Declared here so that the framework does not
 * import `redis` (the app owns the connection, its reconnection and its shutdown).
 */
export interface RedisSessionClient {
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options: { expiration: { type: 'PX'; value: number } }): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

export interface RedisSessionStoreOptions {
  /** Prefix of every key, so that apps can share a Redis. Default `strata:sess:`. */
  prefix?: string;
}

/** Defaults of `RedisSessionStore`; docs/app.md shows the same. */
export const REDIS_SESSION_STORE_DEFAULTS = { prefix: 'strata:sess:' } as const;

/**
 * Sessions in Redis, each a JSON string under `prefix + id` with the idle timeout as its expiry
 * (`SET ... PX`), so Redis forgets abandoned sessions by itself. Shared by every worker and
 * machine. A record that is not valid JSON (another program's key) is no session.
 *
 * @example
 * import { createClient } from 'redis';
 * const redis = await createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }).connect();
 * app.use(session({ store: new RedisSessionStore(redis) }));
 */
export class RedisSessionStore implements SessionStore {
  #client: RedisSessionClient;
  #prefix: string;

  constructor(client: RedisSessionClient, options: RedisSessionStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? REDIS_SESSION_STORE_DEFAULTS.prefix;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const raw = await this.#client.get(this.#prefix + id);
    if (typeof raw !== 'string') return undefined;
    try {
      const record = JSON.parse(raw) as SessionRecord;
      if (
        record === null ||
        typeof record !== 'object' ||
        typeof record.data !== 'object' ||
        record.data === null ||
        typeof record.createdAt !== 'number' ||
        typeof record.touchedAt !== 'number'
      )
        return undefined;
      return record;
    } catch {
      return undefined;
    }
  }

  async set(id: string, record: SessionRecord, ttl: number): Promise<void> {
    await this.#client.set(this.#prefix + id, JSON.stringify(record), {
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttl)) },
    });
  }

  async destroy(id: string): Promise<void> {
    await this.#client.del(this.#prefix + id);
  }
}
