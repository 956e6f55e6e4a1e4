import type { Broker, BrokerListener, WebSocketMessage } from '../gateway/websocket.ts';

/**
 * The broker of one process (the default): a publish reaches the listeners of the topic
 * synchronously. Several servers in one process can share an instance.
 *
 * @example
 * const broker = new MemoryBroker();
 * await serve(appA, { broker }); await serve(appB, { broker }); // one topic space for both
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  #topics: Map<string, Set<BrokerListener>>;

  constructor() {
    this.#topics = new Map();
  }

  publish(topic: string, data: WebSocketMessage, origin: string): void {
    const listeners = this.#topics.get(topic);
    if (listeners === undefined) return;
    for (const listener of listeners) listener(topic, data, origin);
  }

  subscribe(topic: string, listener: BrokerListener): void {
    let listeners = this.#topics.get(topic);
    if (listeners === undefined) {
      listeners = new Set();
      this.#topics.set(topic, listeners);
    }
    listeners.add(listener);
  }

  unsubscribe(topic: string, listener: BrokerListener): void {
    const listeners = this.#topics.get(topic);
    if (listeners === undefined) return;
    listeners.delete(listener);
    if (listeners.size === 0) this.#topics.delete(topic);
  }

  /** Nothing to release: servers sharing the broker unsubscribe their own topics when they close. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
