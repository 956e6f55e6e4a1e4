import { WebSocket } from 'ws';
import type {
  ServerWebSocket,
  WebSocketData,
  WebSocketHandlers,
  WebSocketMessage,
} from '../gateway/websocket.ts';
import type { BackpressureAction, ResolvedWebSocketOptions } from './options.ts';
import { checkTopic, type Subscriber, type Topics, toMessage } from './topics.ts';

/** What a socket reports to the server that owns it. */
export interface SocketOwner {
  /** A handler threw or rejected (the socket is being closed with 1011). */
  handlerError(error: unknown, socket: StrataSocket<unknown>, hook: string): void;
  /** ws refused a frame (1002, 1007, 1009) and is closing the socket. */
  protocolError(error: Error & { code?: string }): void;
  /** The socket is closed and has left its topics. */
  closed(socket: StrataSocket<unknown>): void;
  /**
   * A message was not queued because `queued` bytes wait already and it would pass the cap:
   * `first` is true for the first one since the socket was last under the cap (log once).
   */
  overflowed(socket: StrataSocket<unknown>, action: BackpressureAction, queued: number, first: boolean): void;
}

/** The limits a socket enforces (the server's resolved options). */
export type SocketLimits = Pick<
  ResolvedWebSocketOptions,
  'backpressureLimit' | 'maxBufferedBytes' | 'onBackpressure'
>;

/**
 * ws's socket class (ws's `WebSocket` server option) with a slot for strata's socket, so that
 * every socket shares the four listeners below instead of allocating closures for each.
 */
export class SlottedWebSocket extends WebSocket {
  strata: StrataSocket<unknown> | undefined = undefined;
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as SlottedWebSocket).strata!.received(data, isBinary);
}

function onPong(this: WebSocket): void {
  (this as SlottedWebSocket).strata!.alive = true;
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  (this as SlottedWebSocket).strata!.owner.protocolError(error);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as SlottedWebSocket).strata!.closed(code, reason);
}

// ws copies its options per send anyway; these spare building one here for every message.
const COMPRESS = { compress: true };
const NO_COMPRESS = { compress: false };
const TEXT = { binary: false };
const TEXT_COMPRESS = { binary: false, compress: true };
const TEXT_NO_COMPRESS = { binary: false, compress: false };
const BINARY = { binary: true };
const BINARY_COMPRESS = { binary: true, compress: true };
const BINARY_NO_COMPRESS = { binary: true, compress: false };
const NO_TOPICS: readonly string[] = Object.freeze([]);

/**
 * One accepted WebSocket: the app's `ServerWebSocket` over a `ws` socket. Every field is set in
 * the constructor (one shape for all sockets); topics are allocated on the first subscribe.
 */
export class StrataSocket<D = unknown> implements ServerWebSocket<D>, Subscriber {
  data: D;
  readonly protocol: string;
  readonly remoteAddress: string;
  /** Whether the peer answered since the last heartbeat ping. */
  alive: boolean;
  #ws: SlottedWebSocket;
  #topics: Set<string> | undefined;
  #hub: Topics;
  #handlers: WebSocketHandlers<D>;
  #limit: number;
  #maxBuffered: number;
  #dropOnOverflow: boolean;
  /** Messages are being refused (over the cap) since the last one that was queued. */
  #overflowing: boolean;
  #owesDrain: boolean;
  /** The server this socket reports to. */
  readonly owner: SocketOwner;

  constructor(
    ws: SlottedWebSocket,
    data: D,
    remoteAddress: string,
    handlers: WebSocketHandlers<D>,
    hub: Topics,
    limits: SocketLimits,
    owner: SocketOwner,
  ) {
    this.data = data;
    this.protocol = ws.protocol;
    this.remoteAddress = remoteAddress;
    this.alive = true;
    this.#ws = ws;
    this.#topics = undefined;
    this.#hub = hub;
    this.#handlers = handlers;
    this.#limit = limits.backpressureLimit;
    this.#maxBuffered = limits.maxBufferedBytes;
    this.#dropOnOverflow = limits.onBackpressure === 'drop';
    this.#overflowing = false;
    this.#owesDrain = false;
    this.owner = owner;
    ws.strata = this as StrataSocket<unknown>;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#ws.readyState;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get subscriptions(): readonly string[] {
    return this.#topics === undefined ? NO_TOPICS : [...this.#topics];
  }

  send(data: WebSocketData, compress?: boolean): number {
    const ws = this.#ws;
    if (ws.readyState !== 1) return 0;
    const message = toMessage(data);
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
    if (this.#overflows(ws, size)) return 0;
    if (compress === undefined) ws.send(message);
    else ws.send(message, compress ? COMPRESS : NO_COMPRESS);
    if (ws.bufferedAmount > this.#limit) {
      this.#owesDrain = true;
      return -1;
    }
    return size;
  }

  /** A publish from the topic registry: the payload is encoded once for all subscribers. */
  deliver(payload: Uint8Array, binary: boolean, compress: boolean | undefined): void {
    const ws = this.#ws;
    if (ws.readyState !== 1 || this.#overflows(ws, payload.byteLength)) return;
    ws.send(
      payload,
      binary
        ? compress === undefined
          ? BINARY
          : compress
            ? BINARY_COMPRESS
            : BINARY_NO_COMPRESS
        : compress === undefined
          ? TEXT
          : compress
            ? TEXT_COMPRESS
            : TEXT_NO_COMPRESS,
    );
    if (ws.bufferedAmount > this.#limit) this.#owesDrain = true;
  }

  close(code?: number, reason?: string): void {
    this.#ws.close(code ?? 1000, reason);
  }

  /**
   * Whether a message of `size` bytes must not be queued: what waits already plus it would pass
   * `maxBufferedBytes` (a message alone on an empty queue always goes). The cap holds for every
   * way out — `send`, local publishes, and what the cluster and Redis brokers bring — because
   * they all end here or in `send`. Past it the message is dropped, or the socket closed with
   * 1013; a closing socket takes nothing more, so its queue stops growing either way.
   */
  #overflows(ws: SlottedWebSocket, size: number): boolean {
    const queued = ws.bufferedAmount;
    if (queued === 0 || queued + size <= this.#maxBuffered) {
      if (this.#overflowing) this.#overflowing = false;
      return false;
    }
    const first = !this.#overflowing;
    this.#overflowing = true;
    if (this.#dropOnOverflow) {
      this.owner.overflowed(this as StrataSocket<unknown>, 'drop', queued, first);
    } else {
      this.owner.overflowed(this as StrataSocket<unknown>, 'close', queued, first);
      // RFC 6455 §7.4.1 / IANA registry: 1013 Try Again Later. The close frame waits behind the
      // queue; ws destroys the socket if the closing handshake is not done within closeTimeout.
      ws.close(1013, 'Client too slow: over the send buffer limit');
    }
    return true;
  }

  terminate(): void {
    this.#ws.terminate();
  }

  ping(data?: WebSocketData): void {
    if (this.#ws.readyState === 1) this.#ws.ping(data === undefined ? undefined : toMessage(data));
  }

  subscribe(topic: string): void {
    checkTopic(topic);
    if (this.#ws.readyState > 1) return;
    if (this.#topics === undefined) this.#topics = new Set();
    this.#topics.add(topic);
    this.#hub.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    if (this.#topics?.delete(topic) === true) this.#hub.unsubscribe(this, topic);
  }

  isSubscribed(topic: string): boolean {
    return this.#topics?.has(topic) === true;
  }

  publish(topic: string, data: WebSocketData, compress?: boolean): number {
    checkTopic(topic);
    const message = toMessage(data);
    this.#hub.publish(topic, message, this, compress);
    return typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
  }

  // ---- events from ws and the server (not part of ServerWebSocket) ------------------------

  /** @internal */
  opened(): void {
    const open = this.#handlers.open;
    if (open === undefined) return;
    let result: void | Promise<void>;
    try {
      result = open(this);
    } catch (err) {
      this.owner.handlerError(err, this as StrataSocket<unknown>, 'open');
      this.#ws.close(1011, 'Internal error');
      return;
    }
    this.#run('open', result);
  }

  /** @internal */
  received(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    const message: WebSocketMessage = isBinary ? data : data.toString('utf8');
    let result: void | Promise<void>;
    try {
      result = this.#handlers.message(this, message);
    } catch (err) {
      this.owner.handlerError(err, this as StrataSocket<unknown>, 'message');
      this.#ws.close(1011, 'Internal error');
      return;
    }
    if (result instanceof Promise) this.#run('message', result);
  }

  /** @internal The underlying socket drained. */
  drained(): void {
    if (!this.#owesDrain || this.#ws.bufferedAmount > this.#limit) return;
    this.#owesDrain = false;
    const drain = this.#handlers.drain;
    if (drain !== undefined) {
      try {
        drain(this);
      } catch (err) {
        this.owner.handlerError(err, this as StrataSocket<unknown>, 'drain');
      }
    }
  }

  /** @internal */
  closed(code: number, reason: Buffer): void {
    this.owner.closed(this as StrataSocket<unknown>);
    const topics = this.#topics;
    if (topics !== undefined) {
      for (const topic of topics) this.#hub.unsubscribe(this, topic);
      topics.clear();
    }
    const close = this.#handlers.close;
    if (close !== undefined) {
      let result: void | Promise<void>;
      try {
        result = close(this, code, reason.toString('utf8'));
      } catch (err) {
        this.owner.handlerError(err, this as StrataSocket<unknown>, 'close');
        return;
      }
      if (result instanceof Promise) this.#run('close', result);
    }
  }

  #run(hook: string, result: void | Promise<void> | undefined): void {
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        this.owner.handlerError(err, this as StrataSocket<unknown>, hook);
        if (hook !== 'close') this.#ws.close(1011, 'Internal error');
      });
    }
  }
}
