/**
 * The realtime half of the gateway contract: the WebSocket handler shape an app hands to the
 * server (borrowed from Bun's `Bun.serve({ websocket })`, so the same app code runs there), the
 * socket a handler talks to, and the broker interface behind publish/subscribe. Types only, plus
 * the upgrade marker: servers implement them (strata's in `src/realtime/`).
 */

/** A message as it arrives: text frames as a string, binary frames as bytes. */
export type WebSocketMessage = string | Uint8Array;

/** What `send` and `publish` accept. */
export type WebSocketData = string | ArrayBufferView | ArrayBuffer;

/** RFC 6455 §7.4.1 close codes a server uses. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  /** The server closed a socket whose client reads too slowly (over `maxBufferedBytes`). */
  tryAgainLater: 1013,
} as const;

/** A WebSocket connection as a handler sees it (Bun's `ServerWebSocket` shape). */
export interface ServerWebSocket<D = unknown> {
  /** Per-socket values: what `c.upgrade(handlers, { data })` was given (default `{}`). */
  data: D;
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG `WebSocket.readyState`). */
  readonly readyState: 0 | 1 | 2 | 3;
  /** The negotiated subprotocol, or `''`. */
  readonly protocol: string;
  /** The client's address. */
  readonly remoteAddress: string;
  /** Bytes queued but not yet handed to the kernel: grows when the client reads slowly. */
  readonly bufferedAmount: number;
  /** Topics this socket is subscribed to. */
  readonly subscriptions: readonly string[];
  /**
   * Sends a message. Returns the bytes queued, `-1` when the message was queued but the
   * socket is now over its backpressure limit (wait for the `drain` handler), or `0` when the
   * message was not queued: the socket is not open, or the client reads so slowly that the
   * server's hard cap (`maxBufferedBytes`) would be passed (the message is dropped, or the
   * socket closed with 1013, as the server is configured).
   */
  send(data: WebSocketData, compress?: boolean): number;
  /** Starts the closing handshake (RFC 6455 §7.1.2) with `code` (default 1000) and `reason`. */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
  /** Sends a ping frame. */
  ping(data?: WebSocketData): void;
  /** Receives what is published on `topic`, in every worker and instance. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  isSubscribed(topic: string): boolean;
  /** Sends to every other subscriber of `topic` (not to this socket), in every worker and instance. */
  publish(topic: string, data: WebSocketData, compress?: boolean): number;
}

/**
 * The handlers of one WebSocket route. `message` is required; the rest are optional.
 *
 * @example
 * c.upgrade({
 *   open(ws) { ws.subscribe('lobby'); },
 *   message(ws, data) { ws.publish('lobby', data); },
 * });
 */
export interface WebSocketHandlers<D = unknown> {
  open?(ws: ServerWebSocket<D>): void | Promise<void>;
  message(ws: ServerWebSocket<D>, message: WebSocketMessage): void | Promise<void>;
  /** The socket is closed: `code` and `reason` from the peer's close frame (1006 when it vanished). */
  close?(ws: ServerWebSocket<D>, code: number, reason: string): void | Promise<void>;
  /** The socket went over its backpressure limit after a `send` and has now drained. */
  drain?(ws: ServerWebSocket<D>): void;
}

/** Options of one upgrade. */
export interface UpgradeOptions<D = unknown> {
  /** The socket's initial `ws.data`. */
  data?: D;
  /**
   * Subprotocols this route speaks, in order of preference: the first one the client also
   * offers is selected (RFC 6455 §4.2.2). A client that offers protocols, none of them known,
   * is refused with 400. Default: none (any offer is ignored and none is selected).
   */
  protocols?: readonly string[];
  /** Extra headers for the 101 response (a `Set-Cookie`, for example). */
  headers?: Record<string, string>;
}

/** What a server with WebSocket support records when the app accepts an upgrade. */
export interface PendingUpgrade {
  readonly handlers: WebSocketHandlers<unknown>;
  readonly options: UpgradeOptions<unknown>;
}

/**
 * Set by servers on `ServeInfo.upgrade` for a request that asks for a WebSocket: calling it
 * accepts the upgrade and returns the response the app must return (the marker). Any other
 * response refuses the upgrade and is sent as is (a 401 from an auth middleware, say).
 */
export type UpgradeFunction = (
  handlers: WebSocketHandlers<never>,
  options?: UpgradeOptions<never>,
) => Response;

/** The listener of a broker subscription: `data` as published, `origin` names the publisher's node. */
export type BrokerListener = (topic: string, data: WebSocketMessage, origin: string) => void;

/**
 * Moves published messages between processes and machines. Every implementation delivers a
 * publish to every subscriber of the topic, the publishing process included; `origin` lets a
 * node tell its own messages apart. Delivery is at most once: a message published while the
 * broker is disconnected is lost (and the broker says so in its log).
 */
export interface Broker {
  /** A short name for logs and metrics: `memory`, `cluster`, `redis`. */
  readonly kind: string;
  publish(topic: string, data: WebSocketMessage, origin: string): void;
  subscribe(topic: string, listener: BrokerListener): void | Promise<void>;
  unsubscribe(topic: string, listener: BrokerListener): void | Promise<void>;
  close(): Promise<void>;
}

/** Server-side publishing, as `app.publish` uses it. */
export interface PubSub {
  /** Sends to every subscriber of `topic`, in every worker and instance. */
  publish(topic: string, data: WebSocketData, compress?: boolean): void;
  /** How many sockets in this process are subscribed to `topic`. */
  subscriberCount(topic: string): number;
}
