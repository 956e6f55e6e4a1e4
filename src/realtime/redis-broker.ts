import type { Broker, BrokerListener, WebSocketMessage } from '../gateway/websocket.ts';
import { RealtimeError } from './errors.ts';
import type { RealtimeLogger } from './realtime-server.ts';

/** Options of `RedisBroker.connect`. */
export interface RedisBrokerOptions {
  /** Default `redis://127.0.0.1:6379`, also when `undefined`: `{ url: process.env.REDIS_URL }` works as it is. */
  url?: string | undefined;
  /** Prefix of the Redis channel of each topic, so that apps can share a Redis. Default `strata:`. */
  prefix?: string;
  /** Longest wait between two reconnection attempts, in ms. Default 2000. */
  maxReconnectDelay?: number;
  logger?: RealtimeLogger | undefined;
}

/** Defaults of `RedisBroker`; docs/realtime.md shows the same. */
export const REDIS_BROKER_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'strata:',
  maxReconnectDelay: 2000,
} as const;

/** The part of node-redis's client the broker uses (its generic types are costly to carry). */
interface Client {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => void,
    bufferMode: true,
  ): Promise<void>;
  unsubscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => void,
    bufferMode: true,
  ): Promise<void>;
  close(): Promise<unknown>;
  destroy(): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  duplicate(): Client;
}

const TEXT = 0;
const BINARY = 1;
const SILENT: RealtimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Wire form: kind byte, origin length byte, origin, payload. */
function encode(data: WebSocketMessage, origin: string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const o = Buffer.from(origin, 'latin1');
  const out = Buffer.allocUnsafe(2 + o.length + payload.byteLength);
  out[0] = typeof data === 'string' ? TEXT : BINARY;
  out[1] = o.length;
  o.copy(out, 2);
  out.set(payload, 2 + o.length);
  return out;
}

/**
 * Publish/subscribe across machines through Redis (the official `redis` client): one connection
 * publishes, one subscribes. When Redis goes away both reconnect with backoff; the client
 * re-subscribes every topic by itself, and the broker logs the gap with its duration and the
 * number of messages that could not be published meanwhile (delivery is at most once).
 *
 * @example
 * const broker = await RedisBroker.connect({ url: process.env.REDIS_URL });
 * await serve(app, { broker });
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis';
  #pub: Client;
  #sub: Client;
  #prefix: string;
  #listeners: Map<string, Set<BrokerListener>>;
  #log: RealtimeLogger;
  #downSince: number | undefined;
  #dropped: number;
  #closed: boolean;

  private constructor(pub: Client, sub: Client, prefix: string, log: RealtimeLogger) {
    this.#pub = pub;
    this.#sub = sub;
    this.#prefix = prefix;
    this.#listeners = new Map();
    this.#log = log;
    this.#downSince = undefined;
    this.#dropped = 0;
    this.#closed = false;
  }

  /** Connects both connections; rejects with `STRATA_ERR_REDIS_CONNECT` if Redis cannot be reached now. */
  static async connect(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const url = options.url ?? REDIS_BROKER_DEFAULTS.url;
    const maxDelay = options.maxReconnectDelay ?? REDIS_BROKER_DEFAULTS.maxReconnectDelay;
    const log = options.logger ?? SILENT;
    let ready = false;
    // Before the first connection, fail fast with a clear error; after it, retry forever.
    const reconnectStrategy = (retries: number, cause: Error): number | Error => {
      if (!ready) return cause;
      return Math.min(50 * 2 ** Math.min(retries, 10), maxDelay) + Math.floor(Math.random() * 50);
    };
    // Loaded on first use: apps without Redis never pay for the client.
    const { createClient } = await import('redis');
    // Offline publishes are dropped, not queued without bound while Redis is away.
    const pub = createClient({
      url,
      socket: { reconnectStrategy },
      disableOfflineQueue: true,
    }) as Client;
    const sub = pub.duplicate();
    const broker = new RedisBroker(pub, sub, options.prefix ?? REDIS_BROKER_DEFAULTS.prefix, log);
    for (const client of [pub, sub]) {
      client.on('error', broker.#onDown);
      client.on('ready', broker.#onReady);
    }
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      await Promise.allSettled([pub.destroy(), sub.destroy()]);
      throw RealtimeError.redisUnavailable(url, err);
    }
    ready = true;
    return broker;
  }

  publish(topic: string, data: WebSocketMessage, origin: string): void {
    if (this.#closed) throw RealtimeError.brokerClosed(this.kind);
    if (!this.#pub.isReady) {
      this.#dropped += 1;
      return;
    }
    this.#pub.publish(this.#prefix + topic, encode(data, origin)).catch(this.#onDropped);
  }

  async subscribe(topic: string, listener: BrokerListener): Promise<void> {
    if (this.#closed) throw RealtimeError.brokerClosed(this.kind);
    let set = this.#listeners.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(topic, set);
      set.add(listener);
      await this.#sub.subscribe(this.#prefix + topic, this.#onMessage, true);
    } else set.add(listener);
  }

  async unsubscribe(topic: string, listener: BrokerListener): Promise<void> {
    const set = this.#listeners.get(topic);
    if (set === undefined || !set.delete(listener) || set.size > 0) return;
    this.#listeners.delete(topic);
    if (!this.#closed) await this.#sub.unsubscribe(this.#prefix + topic, this.#onMessage, true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await Promise.allSettled([this.#pub.close(), this.#sub.close()]);
  }

  readonly #onMessage = (message: Buffer, channel: Buffer): void => {
    const name = channel.toString('utf8');
    const set = this.#listeners.get(name.slice(this.#prefix.length));
    if (set === undefined || message.length < 2) return;
    const originEnd = 2 + message[1]!;
    const origin = message.toString('latin1', 2, originEnd);
    const payload = message.subarray(originEnd);
    const data: WebSocketMessage = message[0] === TEXT ? payload.toString('utf8') : payload;
    for (const listener of set) listener(name.slice(this.#prefix.length), data, origin);
  };

  readonly #onDown = (err: Error): void => {
    if (this.#closed) return;
    if (this.#downSince === undefined) {
      this.#downSince = Date.now();
      this.#log.warn({ err: err.message }, 'redis broker: connection lost, reconnecting');
    }
  };

  readonly #onReady = (): void => {
    const since = this.#downSince;
    if (since === undefined || !this.#pub.isReady || !this.#sub.isReady) return;
    this.#downSince = undefined;
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#log.warn(
      { gapMs: Date.now() - since, dropped, topics: this.#listeners.size },
      'redis broker: reconnected and re-subscribed; messages published during the gap were lost',
    );
  };

  readonly #onDropped = (): void => {
    this.#dropped += 1;
  };
}
