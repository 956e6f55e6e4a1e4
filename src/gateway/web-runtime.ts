/**
 * What the Bun and Deno adapters share: the `ServeInfo` they hand the app, the tracker behind
 * `waitUntil`, the in-process topic registry, and the checks on topics, messages and
 * subprotocols. Web APIs only: no `node:` import here, nor in the adapters (each runtime's own
 * globals are reached through `globalThis` and typed structurally).
 */
import type { App, RemoteAddress, ServeInfo } from './types.ts';
import type {
  Broker,
  BrokerListener,
  PendingUpgrade,
  PubSub,
  ServerWebSocket,
  UpgradeFunction,
  UpgradeOptions,
  WebSocketData,
  WebSocketHandlers,
  WebSocketMessage,
} from './websocket.ts';
import {
  NOT_IN_101,
  selectSubprotocol,
  upgradesToWebSocket,
  vetWebSocketHandshake,
} from './websocket-handshake.ts';

/** Options both runtime adapters take. */
export interface RuntimeServeOptions {
  /** Default 3000. 0 picks a free port (read it from the returned handle). */
  port?: number;
  /** Default `127.0.0.1`; `0.0.0.0` (or `::`) to accept connections from other machines. */
  hostname?: string;
  /**
   * Stop gracefully on SIGTERM and SIGINT (stop accepting, close WebSockets with 1001, await
   * `waitUntil` work, run `shutdown`). Default true.
   */
  signals?: boolean;
  /** Where errors the app does not handle itself go (a throw from `fetch`, a WebSocket handler). Default `console.error`. */
  onError?: (error: unknown) => void;
  /**
   * Origins allowed to open a WebSocket (`https://app.example.com`), or `'*'` for any. Default:
   * same-origin only (a browser handshake whose `Origin` does not match its `Host` gets 403);
   * clients that send no `Origin` (not browsers) are allowed. As strata's server.
   */
  allowedOrigins?: readonly string[] | '*';
  /** Called once the server listens, with its URL. */
  onListen?: (url: URL) => void;
  /**
   * Carries publishes to the other processes and machines (the gateway's `Broker`:
   * `await RedisBroker.connect({ url })` from `strata-stack/realtime`, say): each publish is
   * delivered to this process's sockets at once and handed to the broker; what other processes
   * publish is delivered here; this process's own messages coming back are dropped. The broker
   * is subscribed to a topic while at least one socket here is. `close()` unsubscribes and
   * closes it. Default: none (a publish reaches the sockets of this process only).
   */
  broker?: Broker | undefined;
}

/** What `serveBun` / `serveDeno` return. */
export interface RuntimeServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: URL;
  readonly port: number;
  /** Open WebSockets. */
  readonly sockets: number;
  /**
   * Stops gracefully: no new connections, WebSockets closed with 1001, `waitUntil` work awaited,
   * then the app's `shutdown` hook. Idempotent: a second call returns the same promise.
   */
  close(): Promise<void>;
}

/** Tracks what `info.waitUntil` was given, so that shutdown can wait for it. */
export class WaitUntilTracker {
  #pending = new Set<Promise<unknown>>();
  #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#pending.size;
  }

  add(work: Promise<unknown>): void {
    const tracked = Promise.resolve(work).then(
      () => {
        this.#pending.delete(tracked);
      },
      (err: unknown) => {
        this.#pending.delete(tracked);
        this.#onError(err);
      },
    );
    this.#pending.add(tracked);
  }

  /** Resolves once every promise given so far (and any given while waiting) has settled. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

/** The `ServeInfo` of a request on Bun or Deno. `upgrade` is set only on a WebSocket handshake. */
export class RuntimeServeInfo implements ServeInfo {
  route: string | undefined;
  upgrade: UpgradeFunction | undefined;
  /** The app's handlers once it called `upgrade`, and the marker it was given back. */
  pending: PendingUpgrade | undefined;
  marker: Response | undefined;
  readonly secure: boolean;
  readonly protocol: ServeInfo['protocol'];
  #remote: RemoteAddress | undefined;
  #resolveRemote: () => RemoteAddress;
  #tracker: WaitUntilTracker;

  constructor(
    resolveRemote: () => RemoteAddress,
    tracker: WaitUntilTracker,
    secure: boolean,
    websocket: boolean,
  ) {
    this.route = undefined;
    this.pending = undefined;
    this.marker = undefined;
    this.secure = secure;
    this.protocol = 'http/1.1';
    this.#remote = undefined;
    this.#resolveRemote = resolveRemote;
    this.#tracker = tracker;
    this.upgrade = websocket ? (handlers, options) => this.#accept(handlers, options) : undefined;
  }

  get remote(): RemoteAddress {
    this.#remote ??= this.#resolveRemote();
    return this.#remote;
  }

  waitUntil(work: Promise<unknown>): void {
    this.#tracker.add(work);
  }

  #accept(handlers: WebSocketHandlers<never>, options: UpgradeOptions<never> | undefined): Response {
    if (handlers === null || typeof handlers !== 'object' || typeof handlers.message !== 'function') {
      throw new TypeError(
        'c.upgrade(handlers): handlers must be an object with a message(ws, data) function',
      );
    }
    this.pending = {
      handlers: handlers as WebSocketHandlers<unknown>,
      options: (options ?? {}) as UpgradeOptions<unknown>,
    };
    // Fetch forbids 101 in a constructed Response: an empty 200 that is never sent; its headers
    // (set by middleware) go into the 101.
    this.marker = new Response(null, { status: 200 });
    return this.marker;
  }
}

/** `{ address, port, family }` from a host name and port (Deno's `remoteAddr`). */
export function remoteOf(address: string, port: number): RemoteAddress {
  return { address, port, family: address === '' ? '' : address.includes(':') ? 'IPv6' : 'IPv4' };
}

/** RFC 6455 §4.1: the request asks for a WebSocket. */
export function isWebSocketRequest(request: Request): boolean {
  return request.method === 'GET' && upgradesToWebSocket(request.headers.get('upgrade'));
}

/**
 * The subprotocol to select: `''` for none, `undefined` when the client offers protocols and
 * the route speaks none of them (a 400, as strata's server answers).
 */
export function selectProtocol(
  offered: string | null,
  spoken: readonly string[] | undefined,
): string | undefined {
  const selected = selectSubprotocol(offered, spoken);
  return selected === false ? '' : selected;
}

/** Headers for the 101: those middleware set on the marker, then the route's own `headers`. */
export function headersFor101(marker: Response, pending: PendingUpgrade): Headers {
  const out = new Headers();
  for (const [name, value] of marker.headers) if (!NOT_IN_101.has(name)) out.append(name, value);
  const own = pending.options.headers;
  if (own !== undefined)
    for (const name in own) if (!NOT_IN_101.has(name.toLowerCase())) out.set(name, String(own[name]));
  return out;
}

/** A refusal as strata's server writes it. */
export function refusal(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/**
 * The answer to a handshake the app did not accept: its own error response as is, but a 2xx
 * becomes a 400 (RFC 6455 §4.2.2: the route has no WebSocket handler).
 */
export function notAccepted(response: Response): Response {
  if (response.status >= 300) return response;
  response.body?.cancel().catch(() => {});
  return refusal(400, 'This route does not accept WebSocket connections');
}

const MAX_TOPIC = 256;

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC) {
    throw new TypeError(`A topic must be a non-empty string of at most ${MAX_TOPIC} characters`);
  }
}

/** As a subscriber receives it: text stays text, bytes become a Uint8Array of their own. */
export function toMessage(data: WebSocketData): WebSocketMessage {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  throw new TypeError('A WebSocket message must be a string, an ArrayBuffer or a typed array');
}

const encoder = new TextEncoder();

/** The bytes a message takes on the wire (its payload). */
export function byteLengthOf(message: WebSocketMessage): number {
  return typeof message === 'string' ? encoder.encode(message).byteLength : message.byteLength;
}

/** A random id for this server's publishes (what the broker brings back from it is dropped). */
function newOrigin(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_');
}

/**
 * One Bun or Deno server's link to a broker (the `broker` option), as strata's own server has
 * it (src/realtime/topics.ts): the broker is subscribed to a topic while at least one local
 * socket is (`join`/`leave` count them), every publish goes to it with this server's `origin`,
 * and what it brings from other processes is handed to `deliver` (local sockets only); its own
 * messages coming back are dropped, so nothing is delivered twice nor loops.
 */
export class BrokerLink {
  readonly origin: string;
  readonly broker: Broker;
  #counts = new Map<string, number>();
  #deliver: (topic: string, message: WebSocketMessage) => void;
  #onError: (error: unknown) => void;
  #closed = false;

  constructor(
    broker: Broker,
    deliver: (topic: string, message: WebSocketMessage) => void,
    onError: (error: unknown) => void,
  ) {
    this.origin = newOrigin();
    this.broker = broker;
    this.#deliver = deliver;
    this.#onError = onError;
  }

  /** A local socket subscribed to `topic`: the first one subscribes the broker. */
  join(topic: string): void {
    const count = this.#counts.get(topic) ?? 0;
    this.#counts.set(topic, count + 1);
    if (count === 0 && !this.#closed) this.#call(topic, 'subscribe');
  }

  /** A local socket left `topic`: the last one unsubscribes the broker. */
  leave(topic: string): void {
    const count = this.#counts.get(topic);
    if (count === undefined) return;
    if (count > 1) {
      this.#counts.set(topic, count - 1);
      return;
    }
    this.#counts.delete(topic);
    if (!this.#closed) this.#call(topic, 'unsubscribe');
  }

  /** Hands a publish (already delivered locally) to the other processes. */
  publish(topic: string, message: WebSocketMessage): void {
    if (this.#closed) return;
    try {
      this.broker.publish(topic, message, this.origin);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Unsubscribes the broker from every topic held here, then closes it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const topics = [...this.#counts.keys()];
    this.#counts.clear();
    await Promise.allSettled(topics.map(async (t) => this.broker.unsubscribe(t, this.#fromBroker)));
    try {
      await this.broker.close();
    } catch (err) {
      this.#onError(err);
    }
  }

  readonly #fromBroker: BrokerListener = (topic, data, origin) => {
    if (origin === this.origin || !this.#counts.has(topic)) return;
    this.#deliver(topic, data);
  };

  #call(topic: string, what: 'subscribe' | 'unsubscribe'): void {
    const fail = (err: unknown): void =>
      this.#onError(new Error(`broker ${what} failed for topic ${topic}`, { cause: err }));
    try {
      const result = this.broker[what](topic, this.#fromBroker);
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}

/** Something that receives published messages: a socket of the Deno adapter. */
export interface TopicMember {
  deliver(message: WebSocketMessage): void;
}

/**
 * The topic registry of a runtime without native topics (Deno): which sockets listen to what.
 * A publish reaches the sockets of this process, and, with a broker, those of the others.
 */
export class TopicHub implements PubSub {
  #topics = new Map<string, Set<TopicMember>>();
  #link: BrokerLink | undefined;

  /** `broker`: see `RuntimeServeOptions.broker`; its errors go to `onError`. */
  constructor(broker?: Broker, onError: (error: unknown) => void = (err) => console.error(err)) {
    this.#link =
      broker === undefined
        ? undefined
        : new BrokerLink(broker, (topic, message) => this.#local(topic, message, undefined), onError);
  }

  /** The broker link, when the hub has a broker. */
  get link(): BrokerLink | undefined {
    return this.#link;
  }

  subscribe(member: TopicMember, topic: string): void {
    checkTopic(topic);
    let set = this.#topics.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#topics.set(topic, set);
    } else if (set.has(member)) return;
    set.add(member);
    this.#link?.join(topic);
  }

  unsubscribe(member: TopicMember, topic: string): void {
    const set = this.#topics.get(topic);
    if (set?.delete(member) !== true) return;
    if (set.size === 0) this.#topics.delete(topic);
    this.#link?.leave(topic);
  }

  /**
   * Delivers to every subscriber of `topic` in this process but `except`, and hands the message
   * to the broker; returns the message's size, or 0 if no local socket got it.
   */
  deliver(topic: string, data: WebSocketData, except: TopicMember | undefined): number {
    checkTopic(topic);
    const message = toMessage(data);
    const sent = this.#local(topic, message, except);
    this.#link?.publish(topic, message);
    return sent;
  }

  /** Unsubscribes the broker and closes it (the server stops). */
  async close(): Promise<void> {
    await this.#link?.close();
  }

  #local(topic: string, message: WebSocketMessage, except: TopicMember | undefined): number {
    const set = this.#topics.get(topic);
    if (set === undefined) return 0;
    let sent = false;
    for (const member of [...set]) {
      if (member === except) continue;
      member.deliver(message);
      sent = true;
    }
    return sent ? byteLengthOf(message) : 0;
  }

  publish(topic: string, data: WebSocketData, _compress?: boolean): void {
    this.deliver(topic, data, undefined);
  }

  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }
}

/**
 * Runs one of the app's WebSocket handlers; a throw or a rejection goes to `onError` and closes
 * the socket with 1011 (except from `close`), as strata's server does.
 */
export function callHandler(
  hook: 'open' | 'message' | 'close' | 'drain',
  run: () => void | Promise<void>,
  ws: ServerWebSocket<unknown>,
  onError: (error: unknown) => void,
): void {
  const fail = (err: unknown): void => {
    onError(err);
    if (hook !== 'close') ws.close(1011, 'Internal error');
  };
  try {
    const result = run();
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, fail);
    }
  } catch (err) {
    fail(err);
  }
}

/** Runs `app.startup` (after handing over the hub), as strata's server does before it listens. */
export async function startApp(app: App, pubsub: PubSub): Promise<void> {
  app.attachPubSub?.(pubsub);
  await app.startup?.();
}

/** Runs `app.fetch`, turning a throw or a non-Response into a 500 (the error goes to `onError`). */
export async function fetchSafely(
  app: App,
  request: Request,
  info: ServeInfo,
  onError: (error: unknown) => void,
): Promise<Response> {
  try {
    const response = await app.fetch(request, info);
    if (response instanceof Response) return response;
    throw new TypeError(`The app's fetch answered ${typeof response}, not a Response`);
  } catch (err) {
    onError(err);
    return new Response(null, { status: 500 });
  }
}

/**
 * Checks a WebSocket handshake before the app runs, by the gateway's one rule
 * (`websocket-handshake.ts`, as strata's server does): 426 to another version than 13, 400 to a
 * malformed key, 403 to a browser whose `Origin` is not allowed (same-origin only by default,
 * `'*'` for any, or a list).
 */
export function vetHandshake(
  request: Request,
  allowedOrigins: readonly string[] | '*' | undefined,
): Response | undefined {
  const headers = request.headers;
  const refused = vetWebSocketHandshake(
    {
      method: request.method,
      // Bun and Deno hand over HTTP/1.1 upgrades only.
      http11: true,
      version: headers.get('sec-websocket-version'),
      key: headers.get('sec-websocket-key'),
      origin: headers.get('origin'),
      host: headers.get('host'),
    },
    allowedOrigins,
  );
  if (refused === undefined) return undefined;
  const response = refusal(refused.status, refused.message);
  if (refused.headers !== undefined)
    for (const name in refused.headers) response.headers.set(name, refused.headers[name]!);
  return response;
}
