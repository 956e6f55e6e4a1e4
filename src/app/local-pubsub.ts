import type { PubSub, WebSocketData, WebSocketMessage } from '../gateway/websocket.ts';
import { AppError } from './errors.ts';

/** An in-process listener of `app.publish`: the message as a socket would get it, and its topic. */
export type PublishListener = (data: WebSocketMessage, topic: string) => void;

const MAX_TOPIC = 256;

/**
 * The hub `app.publish` uses while no server has attached its own: in-process, no sockets. It
 * delivers to the listeners added with `app.subscribe()` (tests), checks topics and messages as
 * the server does, and has no subscribers otherwise. One per root app, shared by mounted apps.
 */
export class LocalPubSub implements PubSub {
  #topics = new Map<string, Set<PublishListener>>();

  publish(topic: string, data: WebSocketData, _compress?: boolean): void {
    checkTopic(topic);
    const message = toMessage(data);
    const listeners = this.#topics.get(topic);
    if (listeners === undefined) return;
    // A copy: a listener that unsubscribes (or subscribes) while being called does not skip anyone.
    for (const listener of [...listeners]) listener(message, topic);
  }

  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /** Adds a listener of `topic`; returns the function that removes it. */
  subscribe(topic: string, listener: PublishListener): () => void {
    checkTopic(topic);
    if (typeof listener !== 'function') throw AppError.badHandler('subscribe', topic, 0, listener);
    let listeners = this.#topics.get(topic);
    if (listeners === undefined) {
      listeners = new Set();
      this.#topics.set(topic, listeners);
    }
    listeners.add(listener);
    return () => {
      const set = this.#topics.get(topic);
      if (set?.delete(listener) === true && set.size === 0) this.#topics.delete(topic);
    };
  }

  /** Takes over the listeners of `other` (an app with listeners mounted into another). */
  adopt(other: LocalPubSub): void {
    for (const [topic, listeners] of other.#topics) {
      const mine = this.#topics.get(topic);
      if (mine === undefined) this.#topics.set(topic, listeners);
      else for (const l of listeners) mine.add(l);
    }
    other.#topics = this.#topics;
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC) {
    throw new AppError(
      'STRATA_ERR_WS_TOPIC',
      `A topic must be a non-empty string of at most ${MAX_TOPIC} characters, got ${typeof topic === 'string' ? JSON.stringify(topic.slice(0, 40)) : typeof topic}`,
    );
  }
}

/** As a subscriber receives it: text stays text, bytes become a Uint8Array of their own (a copy). */
function toMessage(data: unknown): WebSocketMessage {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  throw new AppError(
    'STRATA_ERR_WS_MESSAGE',
    `A WebSocket message must be a string, an ArrayBuffer or a typed array, got ${data === null ? 'null' : typeof data}`,
  );
}
