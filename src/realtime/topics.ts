import { randomBytes } from 'node:crypto';
import type { Broker, WebSocketMessage } from '../gateway/websocket.ts';
import { RealtimeError } from './errors.ts';

/** What the topic registry needs from a socket. */
export interface Subscriber {
  /** `payload` is the message's bytes (UTF-8 for text); `binary` says which frame to send. */
  deliver(payload: Uint8Array, binary: boolean, compress: boolean | undefined): void;
}

/** Where a broker error goes (the server's logger). */
export type BrokerErrorSink = (error: unknown, topic: string) => void;

const MAX_TOPIC = 256;

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC)
    throw RealtimeError.badTopic(topic);
}

/**
 * The topics of one server: which local sockets listen to what, and the broker that carries
 * publishes to the other processes. A publish is delivered to local subscribers at once, then
 * handed to the broker; what the broker brings back from this same node is dropped (`origin`).
 * The broker is subscribed to a topic while at least one local socket is.
 */
export class Topics {
  readonly origin: string;
  #local: Map<string, Set<Subscriber>>;
  #broker: Broker;
  #onError: BrokerErrorSink;

  constructor(broker: Broker, onError: BrokerErrorSink) {
    this.origin = randomBytes(9).toString('base64url');
    this.#local = new Map();
    this.#broker = broker;
    this.#onError = onError;
  }

  get broker(): Broker {
    return this.#broker;
  }

  /** Returns false if the subscriber already had the topic. */
  subscribe(subscriber: Subscriber, topic: string): boolean {
    let set = this.#local.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#local.set(topic, set);
      this.#call(topic, this.#broker.subscribe(topic, this.#fromBroker), 'subscribe');
    } else if (set.has(subscriber)) return false;
    set.add(subscriber);
    return true;
  }

  unsubscribe(subscriber: Subscriber, topic: string): boolean {
    const set = this.#local.get(topic);
    if (set === undefined || !set.delete(subscriber)) return false;
    if (set.size === 0) {
      this.#local.delete(topic);
      this.#call(topic, this.#broker.unsubscribe(topic, this.#fromBroker), 'unsubscribe');
    }
    return true;
  }

  count(topic: string): number {
    return this.#local.get(topic)?.size ?? 0;
  }

  /** Topics with at least one subscriber in this process. */
  get topicCount(): number {
    return this.#local.size;
  }

  /** Delivers to the local subscribers except `except`, then to the other nodes. */
  publish(
    topic: string,
    data: WebSocketMessage,
    except: Subscriber | undefined,
    compress: boolean | undefined,
  ): void {
    const set = this.#local.get(topic);
    if (set !== undefined) deliverAll(set, data, except, compress);
    try {
      this.#broker.publish(topic, data, this.origin);
    } catch (err) {
      this.#onError(err, topic);
    }
  }

  /** Unsubscribes the broker from every topic this server holds. */
  async close(): Promise<void> {
    const topics = [...this.#local.keys()];
    this.#local.clear();
    await Promise.allSettled(topics.map((t) => this.#broker.unsubscribe(t, this.#fromBroker)));
  }

  readonly #fromBroker = (topic: string, data: WebSocketMessage, origin: string): void => {
    if (origin === this.origin) return;
    const set = this.#local.get(topic);
    if (set !== undefined) deliverAll(set, data, undefined, undefined);
  };

  #call(topic: string, result: void | Promise<void>, what: string): void {
    if (result instanceof Promise) {
      result.catch((err: unknown) =>
        this.#onError(
          new RealtimeError('STRATA_ERR_BROKER', `broker ${what} failed for topic ${topic}`, { cause: err }),
          topic,
        ),
      );
    }
  }
}

/** A text message is encoded to UTF-8 once, not once per subscriber. */
function deliverAll(
  set: Set<Subscriber>,
  data: WebSocketMessage,
  except: Subscriber | undefined,
  compress: boolean | undefined,
): void {
  const binary = typeof data !== 'string';
  const payload = binary ? data : Buffer.from(data, 'utf8');
  for (const s of set) if (s !== except) s.deliver(payload, binary, compress);
}

/** `send`/`publish` data as the broker carries it: strings stay strings, bytes become a Uint8Array view. */
export function toMessage(data: unknown): WebSocketMessage {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw RealtimeError.badMessage(data);
}
