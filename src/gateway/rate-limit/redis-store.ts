import { gcra, type RateLimitDecision, type RateLimitPolicy } from './gcra.ts';
import type { RateLimitStore } from './store.ts';

/** Options of `RedisRateLimitStore.connect`. */
export interface RedisRateLimitStoreOptions {
  /** Default `redis://127.0.0.1:6379`, also when `undefined`. */
  url?: string | undefined;
  /** Prefix of every key, so that apps can share a Redis. Default `strata:rl:`. */
  prefix?: string;
  /**
   * Use Redis's clock (`TIME`, inside the script) rather than the caller's: machines whose clocks
   * disagree then still share one budget exactly. Default true; tests with an injected clock
   * turn it off.
   */
  serverTime?: boolean;
}

/** Defaults of `RedisRateLimitStore`; docs/app.md shows the same. */
export const REDIS_STORE_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'strata:rl:',
  serverTime: true,
} as const;

/** The part of node-redis's client the store uses (its generic types are costly to carry). */
export interface RedisScriptClient {
  sendCommand(args: string[]): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): unknown;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * The GCRA of gcra.ts, in Lua, as one atomic script per check (Redis runs a script alone). It
 * decides and stores; it returns the TAT it read and the clock it used, from which `gcra()`
 * recomputes the decision's numbers in TypeScript — so there is one implementation of those, and
 * a conformance test holds the script's allow/refuse to `gcra()`'s.
 * KEYS[1] key; ARGV interval, tolerance, cost, now ('' = Redis TIME).
 */
const SCRIPT = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
local ahead = 0
if tat > now then ahead = tat - now end
local after = ahead + cost * interval
if after > tolerance + interval * 1e-6 + 0.001 then
  return {0, string.format('%.17g', tat), string.format('%.17g', now)}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.17g', now + after), 'PX', math.ceil(after) + 1)
end
return {1, string.format('%.17g', tat), string.format('%.17g', now)}
`;

/**
 * Rate-limit state in Redis, shared by every process and machine that uses the same Redis and
 * prefix: one `EVALSHA` of an atomic Lua script per check (the script is loaded once, then named
 * by its hash). A key lives only until its bucket is full again (`PX`), so Redis holds no key at
 * rest. The official `redis` client is loaded on first use.
 *
 * @example
 * const store = await RedisRateLimitStore.connect({ url: process.env.REDIS_URL });
 * app.use(rateLimit({ limit: 100, window: '1m', store }));
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  readonly #client: RedisScriptClient;
  readonly #prefix: string;
  readonly #serverTime: boolean;
  readonly #owned: boolean;
  #sha: string | undefined;

  /** Over a connected node-redis client of the caller's (not closed by `close()`). */
  constructor(
    client: RedisScriptClient,
    options: Omit<RedisRateLimitStoreOptions, 'url'> = {},
    owned = false,
  ) {
    this.#client = client;
    this.#prefix = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
    this.#serverTime = options.serverTime ?? REDIS_STORE_DEFAULTS.serverTime;
    this.#owned = owned;
    this.#sha = undefined;
  }

  /** Connects a client of its own (closed by `close()`); rejects if Redis cannot be reached now. */
  static async connect(options: RedisRateLimitStoreOptions = {}): Promise<RedisRateLimitStore> {
    const { createClient } = await import('redis');
    let ready = false;
    const client = createClient({
      url: options.url ?? REDIS_STORE_DEFAULTS.url,
      // Before the first connection, fail fast; after it, retry with a bounded backoff.
      socket: {
        reconnectStrategy: (retries: number, cause: Error) =>
          ready ? Math.min(50 * 2 ** Math.min(retries, 6), 2000) : cause,
      },
      // A check while Redis is away fails at once (the middleware's `failOpen` decides), never queues.
      disableOfflineQueue: true,
    });
    client.on('error', () => {});
    await client.connect();
    ready = true;
    return new RedisRateLimitStore(client as RedisScriptClient, options, true);
  }

  async consume(key: string, policy: RateLimitPolicy, cost: number, now: number): Promise<RateLimitDecision> {
    const args = [
      '1',
      this.#prefix + key,
      String(policy.interval),
      String(policy.tolerance),
      String(cost),
      this.#serverTime ? '' : String(now),
    ];
    let reply: unknown;
    this.#sha ??= String(await this.#client.sendCommand(['SCRIPT', 'LOAD', SCRIPT]));
    try {
      reply = await this.#client.sendCommand(['EVALSHA', this.#sha, ...args]);
    } catch (err) {
      // A Redis restarted (or SCRIPT FLUSHed) since: send the script itself, and load it again.
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      this.#sha = undefined;
      reply = await this.#client.sendCommand(['EVAL', SCRIPT, ...args]);
    }
    const [allowed, tat, used] = reply as [number, string, string];
    const decision = gcra(Number(tat), Number(used), policy, cost);
    // The script's word is the atomic one; gcra() computed the same from the same numbers.
    decision.allowed = allowed === 1;
    if (!decision.allowed) decision.tat = Number(tat);
    return decision;
  }

  async close(): Promise<void> {
    if (!this.#owned) return;
    try {
      await this.#client.close?.();
    } catch {
      this.#client.destroy?.();
    }
  }
}
