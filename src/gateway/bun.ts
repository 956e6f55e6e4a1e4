/**
 * `strata-stack/bun`: runs a strata app on Bun's own server (`Bun.serve`), with the same
 * `ServeInfo`, lifespan hooks and WebSockets (Bun's native topics behind `subscribe`/`publish`,
 * and with a `broker` the other processes too) as on strata's server. Web APIs and Bun's globals only: no `node:` import.
 *
 * @example
 * import { serveBun } from 'strata-stack/bun';
 * import { app } from './app.ts';
 * const server = await serveBun(app, { port: 3000 });
 */
import type { App, RemoteAddress } from './types.ts';
import {
  BrokerLink,
  callHandler,
  checkTopic,
  fetchSafely,
  headersFor101,
  isWebSocketRequest,
  notAccepted,
  RuntimeServeInfo,
  type RuntimeServeOptions,
  type RuntimeServer,
  refusal,
  remoteOf,
  selectProtocol,
  startApp,
  toMessage,
  vetHandshake,
  WaitUntilTracker,
} from './web-runtime.ts';
import type {
  PendingUpgrade,
  PubSub,
  ServerWebSocket,
  WebSocketData,
  WebSocketHandlers,
  WebSocketMessage,
} from './websocket.ts';

export type { RuntimeServeOptions, RuntimeServer } from './web-runtime.ts';

/** The part of Bun's `Server` the adapter uses (typed here, so no `@types/bun` is needed). */
export interface BunServer {
  readonly port: number;
  readonly url: URL;
  requestIP(request: Request): { address: string; family: string; port: number } | null;
  upgrade(request: Request, options: { data: unknown; headers?: Headers }): boolean;
  publish(topic: string, data: WebSocketData, compress?: boolean): number;
  subscriberCount(topic: string): number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** The part of Bun's `ServerWebSocket` the adapter uses. */
export interface BunWebSocket {
  readonly data: BunSocketState;
  readonly readyState: number;
  readonly remoteAddress: string;
  send(data: WebSocketData, compress?: boolean): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: WebSocketData): unknown;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  isSubscribed(topic: string): boolean;
  publish(topic: string, data: WebSocketData, compress?: boolean): number;
  getBufferedAmount?(): number;
}

/** What the adapter keeps in Bun's `ws.data`: the route's handlers and the socket the app sees. */
export interface BunSocketState {
  pending: PendingUpgrade;
  protocol: string;
  socket: StrataBunSocket | undefined;
}

/** Bun's WebSocket server options, passed through (`maxPayloadLength`, `idleTimeout`, …). */
export interface BunWebSocketOptions {
  maxPayloadLength?: number;
  idleTimeout?: number;
  backpressureLimit?: number;
  closeOnBackpressureLimit?: boolean;
  perMessageDeflate?: boolean;
  sendPings?: boolean;
}

/** Options of `toBun` / `serveBun`. */
export interface BunServeOptions extends RuntimeServeOptions {
  /** TLS for `Bun.serve` (`{ cert, key }`); makes `info.secure` true. */
  tls?: Record<string, unknown> | undefined;
  /**
   * Seconds an idle connection is kept (Bun's `idleTimeout`, at most 255). Default 30, above the
   * 15 s SSE heartbeat: Bun's own default of 10 s would cut a quiet event stream.
   */
  idleTimeout?: number;
  websocket?: BunWebSocketOptions;
}

/** The object `Bun.serve` takes, as `toBun` builds it. */
export interface BunServeConfig {
  port: number;
  hostname: string;
  idleTimeout: number;
  tls?: Record<string, unknown>;
  fetch(request: Request, server: BunServer): Promise<Response | undefined>;
  websocket: {
    open(ws: BunWebSocket): void;
    message(ws: BunWebSocket, message: string | Uint8Array): void;
    close(ws: BunWebSocket, code: number, reason: string): void;
    drain(ws: BunWebSocket): void;
  } & BunWebSocketOptions;
}

/**
 * The socket a handler talks to on Bun: Bun's own, behind strata's `ServerWebSocket` shape. With
 * a broker, its topics are counted toward the broker and its publishes handed to it.
 */
export class StrataBunSocket<D = unknown> implements ServerWebSocket<D> {
  data: D;
  readonly protocol: string;
  #ws: BunWebSocket;
  #topics: Set<string>;
  #link: BrokerLink | undefined;

  constructor(ws: BunWebSocket, data: D, protocol: string, link?: BrokerLink) {
    this.#ws = ws;
    this.data = data;
    this.protocol = protocol;
    this.#topics = new Set();
    this.#link = link;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#ws.readyState as 0 | 1 | 2 | 3;
  }
  get remoteAddress(): string {
    return this.#ws.remoteAddress;
  }
  get bufferedAmount(): number {
    return this.#ws.getBufferedAmount?.() ?? 0;
  }
  get subscriptions(): readonly string[] {
    return [...this.#topics];
  }
  send(data: WebSocketData, compress?: boolean): number {
    return this.#ws.send(data, compress);
  }
  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }
  terminate(): void {
    this.#ws.terminate();
  }
  ping(data?: WebSocketData): void {
    this.#ws.ping(data);
  }
  subscribe(topic: string): void {
    checkTopic(topic);
    this.#ws.subscribe(topic);
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    this.#link?.join(topic);
  }
  unsubscribe(topic: string): void {
    this.#ws.unsubscribe(topic);
    if (this.#topics.delete(topic)) this.#link?.leave(topic);
  }
  isSubscribed(topic: string): boolean {
    return this.#topics.has(topic);
  }
  /** To the other subscribers here (Bun's own topics), and through the broker to the other processes. */
  publish(topic: string, data: WebSocketData, compress?: boolean): number {
    checkTopic(topic);
    const sent = this.#ws.publish(topic, data, compress);
    this.#link?.publish(topic, toMessage(data));
    return sent;
  }
  /** Leaves every topic toward the broker (the socket closed; Bun drops its own subscriptions). */
  leaveAll(): void {
    if (this.#link !== undefined) for (const topic of this.#topics) this.#link.leave(topic);
    this.#topics.clear();
  }
}

/** Internal state shared by `toBun` and `serveBun`. */
interface BunRuntime {
  config: BunServeConfig;
  tracker: WaitUntilTracker;
  sockets: Set<StrataBunSocket<unknown>>;
  closing: boolean;
  /** Bun's server: set by `serveBun`, or by the first request when the caller started it. */
  server: BunServer | undefined;
  link: BrokerLink | undefined;
  /** `app.publish`: Bun's topics here, and the broker. */
  pubsub: PubSub;
}

/** `toBun`'s configs and their runtimes, for `bunPubSub(server, config)`. */
const runtimes = new WeakMap<BunServeConfig, BunRuntime>();

function buildBun(app: App, options: BunServeOptions): BunRuntime {
  const onError = options.onError ?? ((err: unknown) => console.error(err));
  const tracker = new WaitUntilTracker(onError);
  const secure = options.tls !== undefined;
  const sockets = new Set<StrataBunSocket<unknown>>();
  // The config's handlers close over this state; the config joins it once built.
  const runtime: Omit<BunRuntime, 'config'> = {
    tracker,
    sockets,
    closing: false,
    server: undefined,
    link: undefined,
    pubsub: {
      publish(topic, data, compress) {
        checkTopic(topic);
        runtime.server?.publish(topic, data, compress);
        runtime.link?.publish(topic, toMessage(data));
      },
      subscriberCount(topic) {
        return runtime.server?.subscriberCount(topic) ?? 0;
      },
    },
  };
  if (options.broker !== undefined) {
    // What other processes publish goes to Bun's topic here (every local subscriber).
    runtime.link = new BrokerLink(
      options.broker,
      (topic, message) => runtime.server?.publish(topic, message),
      onError,
    );
  }
  const handlersOf = (ws: BunWebSocket) => ws.data.pending.handlers as WebSocketHandlers<unknown>;
  const config: BunServeConfig = {
    port: options.port ?? 3000,
    hostname: options.hostname ?? '127.0.0.1',
    idleTimeout: options.idleTimeout ?? 30,
    async fetch(request, server) {
      runtime.server ??= server;
      const websocket = isWebSocketRequest(request);
      if (websocket) {
        if (runtime.closing) return refusal(503, 'The server is shutting down');
        const refused = vetHandshake(request, options.allowedOrigins);
        if (refused !== undefined) return refused;
      }
      const resolveRemote = (): RemoteAddress => {
        const ip = server.requestIP(request);
        return ip === null ? remoteOf('', 0) : remoteOf(ip.address, ip.port);
      };
      const info = new RuntimeServeInfo(resolveRemote, tracker, secure, websocket);
      const response = await fetchSafely(app, request, info, onError);
      if (!websocket) return response;
      const pending = info.pending;
      if (pending === undefined || response !== info.marker) return notAccepted(response);
      const protocol = selectProtocol(
        request.headers.get('sec-websocket-protocol'),
        pending.options.protocols,
      );
      if (protocol === undefined) {
        return refusal(
          400,
          `None of the offered subprotocols is spoken here (this route speaks ${pending.options.protocols!.join(', ')})`,
        );
      }
      const headers = headersFor101(response, pending);
      if (protocol !== '') headers.set('sec-websocket-protocol', protocol);
      const state: BunSocketState = { pending, protocol, socket: undefined };
      if (server.upgrade(request, { data: state, headers })) return undefined;
      return refusal(400, 'The WebSocket handshake could not be completed');
    },
    websocket: {
      ...options.websocket,
      open(ws) {
        const state = ws.data;
        const socket = new StrataBunSocket<unknown>(
          ws,
          state.pending.options.data ?? {},
          state.protocol,
          runtime.link,
        );
        state.socket = socket;
        sockets.add(socket);
        const open = handlersOf(ws).open;
        if (open !== undefined) callHandler('open', () => open(socket), socket, onError);
      },
      message(ws, message) {
        const socket = ws.data.socket!;
        const data: WebSocketMessage =
          typeof message === 'string'
            ? message
            : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
        callHandler('message', () => handlersOf(ws).message(socket, data), socket, onError);
      },
      close(ws, code, reason) {
        const socket = ws.data.socket!;
        sockets.delete(socket);
        socket.leaveAll();
        const close = handlersOf(ws).close;
        if (close !== undefined) callHandler('close', () => close(socket, code, reason), socket, onError);
      },
      drain(ws) {
        const socket = ws.data.socket!;
        const drain = handlersOf(ws).drain;
        if (drain !== undefined) callHandler('drain', () => drain(socket), socket, onError);
      },
    },
  };
  if (options.tls !== undefined) config.tls = options.tls;
  const built: BunRuntime = Object.assign(runtime, { config });
  runtimes.set(config, built);
  return built;
}

/**
 * The object `Bun.serve` takes, for a caller that starts Bun's server itself. Lifespan hooks
 * are the caller's then (`serveBun` runs them); hand `app.attachPubSub` the result of
 * `bunPubSub(server, config)` so that `app.publish` reaches the sockets (and the broker).
 *
 * @example
 * const config = toBun(app, { port: 3000 });
 * const server = Bun.serve(config);
 * app.attachPubSub(bunPubSub(server, config));
 */
export function toBun(app: App, options: BunServeOptions = {}): BunServeConfig {
  return buildBun(app, options).config;
}

/**
 * `app.publish` on Bun: the server's native topics, and with `config` (what `toBun` returned) its
 * `broker` too — without it, a publish reaches this process only.
 */
export function bunPubSub(server: BunServer, config?: BunServeConfig): PubSub {
  const runtime = config === undefined ? undefined : runtimes.get(config);
  if (runtime !== undefined) {
    runtime.server ??= server;
    return runtime.pubsub;
  }
  return {
    publish(topic, data, compress) {
      checkTopic(topic);
      server.publish(topic, data, compress);
    },
    subscriberCount(topic) {
      return server.subscriberCount(topic);
    },
  };
}

interface BunGlobal {
  serve(config: BunServeConfig): BunServer;
}

/**
 * Serves `app` with `Bun.serve`: hands it the pub/sub hub, runs `startup`, listens; stops
 * gracefully on `close()` (and on SIGTERM/SIGINT unless `signals: false`).
 */
export async function serveBun(app: App, options: BunServeOptions = {}): Promise<RuntimeServer> {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (bun === undefined) throw new Error('serveBun() runs on Bun only (globalThis.Bun is missing)');
  const runtime = buildBun(app, options);
  // The hub is needed before startup, the server after: it publishes through `runtime.server`.
  await startApp(app, runtime.pubsub);
  const server = bun.serve(runtime.config);
  runtime.server = server;
  const url = new URL(
    `http://${runtime.config.hostname.includes(':') ? `[${runtime.config.hostname}]` : runtime.config.hostname}:${server.port}/`,
  );
  if (options.tls !== undefined) url.protocol = 'https:';
  const proc = (globalThis as { process?: SignalTarget }).process;
  // A signal replaces the runtime's default of dying at once: stop gracefully, then exit.
  const onSignal = (): void => {
    handle.close().then(
      () => proc!.exit(0),
      (err: unknown) => {
        (options.onError ?? console.error)(err);
        proc!.exit(1);
      },
    );
  };
  let closing: Promise<void> | undefined;
  const handle: RuntimeServer = {
    url,
    port: server.port,
    get sockets() {
      return runtime.sockets.size;
    },
    close() {
      closing ??= (async () => {
        runtime.closing = true;
        if (proc !== undefined && options.signals !== false) {
          proc.off('SIGTERM', onSignal);
          proc.off('SIGINT', onSignal);
        }
        for (const socket of runtime.sockets) socket.close(1001, 'Server shutting down');
        await server.stop(false);
        await runtime.tracker.drain();
        // As strata's server: the broker is unsubscribed and closed before the shutdown hooks.
        await runtime.link?.close();
        await app.shutdown?.();
        app.attachPubSub?.(undefined);
      })();
      return closing;
    },
  };
  if (proc !== undefined && options.signals !== false) {
    proc.on('SIGTERM', onSignal);
    proc.on('SIGINT', onSignal);
  }
  options.onListen?.(url);
  return handle;
}

/** Bun's `process` global (Node-compatible), for signals. */
interface SignalTarget {
  on(signal: string, listener: () => void): void;
  off(signal: string, listener: () => void): void;
  exit(code: number): never;
}
