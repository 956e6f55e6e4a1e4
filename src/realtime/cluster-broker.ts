import type { Broker, BrokerListener, WebSocketMessage } from '../gateway/websocket.ts';
import { RealtimeError } from './errors.ts';

/** The IPC message type the cluster broker uses. */
export const CLUSTER_PUBLISH = 'strata:publish';

/** A publish as it crosses the IPC channel (JSON-safe: binary data travels as base64). */
export interface ClusterPublish {
  topic: string;
  data: string;
  binary: boolean;
  origin: string;
}

/** A worker's channel to the supervisor's primary (the shape of the supervisor's `WorkerChannel`). */
export interface WorkerChannelLike {
  send(type: string, payload: unknown): void;
  /** Receives the primary's broadcasts (the supervisor's `WorkerChannel.on`). */
  on(type: string, fn: (payload: unknown) => void): void;
}

/** The primary's side (the shape of the supervisor's `on` and `broadcast`). */
export interface PrimaryLike {
  on(type: string, fn: (payload: unknown, workerId: number) => void): void;
  broadcast(type: string, payload: unknown, exceptWorkerId?: number): void;
}

function isPublish(value: unknown): value is ClusterPublish {
  const v = value as ClusterPublish | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.topic === 'string' &&
    typeof v.data === 'string' &&
    typeof v.binary === 'boolean' &&
    typeof v.origin === 'string'
  );
}

/**
 * Publish/subscribe between the workers of one machine, through the supervisor's primary: a
 * publish goes to the primary, which relays it to every other worker (`relayCluster`). The
 * default broker of `strata serve --workers N` (N > 1).
 *
 * @example
 * // in a worker:  new ClusterBroker(workerChannel())
 * // in the primary: relayCluster(supervisor)
 */
export class ClusterBroker implements Broker {
  readonly kind = 'cluster';
  #channel: WorkerChannelLike;
  #listeners: Map<string, Set<BrokerListener>>;
  #closed: boolean;

  constructor(channel: WorkerChannelLike) {
    this.#channel = channel;
    this.#listeners = new Map();
    this.#closed = false;
    channel.on(CLUSTER_PUBLISH, (payload) => {
      if (!this.#closed && isPublish(payload)) {
        this.#deliver(
          payload.topic,
          payload.binary ? Buffer.from(payload.data, 'base64') : payload.data,
          payload.origin,
        );
      }
    });
  }

  publish(topic: string, data: WebSocketMessage, origin: string): void {
    if (this.#closed) throw RealtimeError.brokerClosed(this.kind);
    // This process's own subscribers first (the broker contract), then the other workers.
    this.#deliver(topic, data, origin);
    const binary = typeof data !== 'string';
    const message: ClusterPublish = {
      topic,
      data: binary ? Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') : data,
      binary,
      origin,
    };
    this.#channel.send(CLUSTER_PUBLISH, message);
  }

  subscribe(topic: string, listener: BrokerListener): void {
    let set = this.#listeners.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(topic, set);
    }
    set.add(listener);
  }

  unsubscribe(topic: string, listener: BrokerListener): void {
    const set = this.#listeners.get(topic);
    if (set === undefined) return;
    set.delete(listener);
    if (set.size === 0) this.#listeners.delete(topic);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    return Promise.resolve();
  }

  #deliver(topic: string, data: WebSocketMessage, origin: string): void {
    const set = this.#listeners.get(topic);
    if (set !== undefined) for (const listener of set) listener(topic, data, origin);
  }
}

/** In the primary: relays every worker's publish to all the other workers. */
export function relayCluster(primary: PrimaryLike): void {
  primary.on(CLUSTER_PUBLISH, (payload, workerId) => {
    if (isPublish(payload)) primary.broadcast(CLUSTER_PUBLISH, payload, workerId);
  });
}
