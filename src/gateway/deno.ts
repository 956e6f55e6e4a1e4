/**
 * `strata-stack/deno`: runs a strata app on Deno's own server (`Deno.serve`), with the same
 * `ServeInfo`, lifespan hooks and WebSockets (`Deno.upgradeWebSocket`, and a topic registry
 * behind `subscribe`/`publish`: Deno's sockets have no topics of their own; with a `broker`,
 * publishes cross processes) as on strata's server. Web APIs and Deno's globals only: no `node:` import.
 *
 * @example
 * import { serveDeno } from 'strata-stack/deno';
 * import { app } from './app.ts';
 * const server = await serveDeno(app, { port: 3000 });
 */
import type { App } from './types.ts';
import {
  byteLengthOf,
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
  TopicHub,
  type TopicMember,
  toMessage,
  vetHandshake,
  WaitUntilTracker,
} from './web-runtime.ts';
import type {
  PendingUpgrade,
  ServerWebSocket,
  WebSocketData,
  WebSocketHandlers,
  WebSocketMessage,
} from './websocket.ts';

export type { RuntimeServeOptions, RuntimeServer } from './web-runtime.ts';

/** What Deno's handler gets besides the request (the part the adapter uses). */
export interface DenoServeHandlerInfo {
  remoteAddr: { hostname: string; port: number; transport?: string };
}

/** The part of Deno's `HttpServer` the adapter uses. */
export interface DenoHttpServer {
  readonly addr: { hostname: string; port: number };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

interface DenoGlobal {
  serve(
    options: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (request: Request, info: DenoServeHandlerInfo) => Promise<Response>,
  ): DenoHttpServer;
  upgradeWebSocket(
    request: Request,
    options?: { protocol?: string; idleTimeout?: number },
  ): {
    socket: WebSocket;
    response: Response;
  };
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
  exit(code: number): never;
}

/** Options of `toDeno` / `serveDeno`. */
export interface DenoServeOptions extends RuntimeServeOptions {
  /** TLS (`Deno.serve`'s `cert` and `key`, PEM); makes `info.secure` true. */
  cert?: string;
  key?: string;
  /** Seconds without a pong before Deno closes a WebSocket (`Deno.upgradeWebSocket`'s `idleTimeout`). Default 120. */
  idleTimeout?: number;
}

/** The socket a handler talks to on Deno: a web `WebSocket` behind strata's `ServerWebSocket` shape. */
export class StrataDenoSocket<D = unknown> implements ServerWebSocket<D>, TopicMember {
  data: D;
  readonly protocol: string;
  readonly remoteAddress: string;
  #ws: WebSocket;
  #hub: TopicHub;
  #topics: Set<string>;

  constructor(ws: WebSocket, hub: TopicHub, data: D, protocol: string, remoteAddress: string) {
    this.#ws = ws;
    this.#hub = hub;
    this.data = data;
    this.protocol = protocol;
    this.remoteAddress = remoteAddress;
    this.#topics = new Set();
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#ws.readyState as 0 | 1 | 2 | 3;
  }
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }
  get subscriptions(): readonly string[] {
    return [...this.#topics];
  }
  send(data: WebSocketData, _compress?: boolean): number {
    if (this.#ws.readyState !== 1) return 0;
    const message = toMessage(data);
    this.#ws.send(message as string | Uint8Array<ArrayBuffer>);
    return byteLengthOf(message);
  }
  /** From the hub: a publish on a topic this socket is subscribed to. */
  deliver(message: WebSocketMessage): void {
    if (this.#ws.readyState === 1) this.#ws.send(message as string | Uint8Array<ArrayBuffer>);
  }
  close(code?: number, reason?: string): void {
    try {
      this.#ws.close(code, reason);
    } catch {
      // A code the web API refuses (1006, 1011 on some runtimes): close without one.
      this.#ws.close();
    }
  }
  terminate(): void {
    // Deno's WebSocket has no abrupt close: a normal one, at once.
    this.close();
  }
  ping(_data?: WebSocketData): void {
    // Deno pings on its own (`idleTimeout`); the web API has no ping.
  }
  subscribe(topic: string): void {
    this.#hub.subscribe(this, topic);
    this.#topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.#hub.unsubscribe(this, topic);
    this.#topics.delete(topic);
  }
  isSubscribed(topic: string): boolean {
    return this.#topics.has(topic);
  }
  publish(topic: string, data: WebSocketData, _compress?: boolean): number {
    checkTopic(topic);
    return this.#hub.deliver(topic, data, this);
  }
  /** Leaves every topic (the socket closed). */
  leaveAll(): void {
    for (const topic of this.#topics) this.#hub.unsubscribe(this, topic);
    this.#topics.clear();
  }
}

/** The handler for `Deno.serve`, and what shutdown needs. */
export interface DenoRuntime {
  /** `Deno.serve(options, runtime.handler)`. */
  handler(request: Request, info: DenoServeHandlerInfo): Promise<Response>;
  /** The topic registry (and the broker behind it): hand it to `app.attachPubSub`. */
  readonly hub: TopicHub;
  readonly tracker: WaitUntilTracker;
  readonly sockets: Set<StrataDenoSocket<unknown>>;
  closing: boolean;
}

/**
 * The handler `Deno.serve` takes, for a caller that starts Deno's server itself. Lifespan hooks
 * are the caller's then (`serveDeno` runs them); hand `app.attachPubSub` the runtime's `hub`
 * (with a `broker`, it publishes through it too; `runtime.hub.close()` unsubscribes and closes
 * the broker when the server stops).
 *
 * @example
 * const runtime = toDeno(app);
 * app.attachPubSub(runtime.hub);
 * Deno.serve({ port: 3000 }, runtime.handler);
 */
export function toDeno(app: App, options: DenoServeOptions = {}): DenoRuntime {
  const deno = denoGlobal();
  const onError = options.onError ?? ((err: unknown) => console.error(err));
  const tracker = new WaitUntilTracker(onError);
  const hub = new TopicHub(options.broker, onError);
  const sockets = new Set<StrataDenoSocket<unknown>>();
  const secure = options.cert !== undefined;
  const runtime: DenoRuntime = {
    hub,
    tracker,
    sockets,
    closing: false,
    async handler(request, handlerInfo) {
      const websocket = isWebSocketRequest(request);
      if (websocket) {
        if (runtime.closing) return refusal(503, 'The server is shutting down');
        const refused = vetHandshake(request, options.allowedOrigins);
        if (refused !== undefined) return refused;
      }
      const addr = handlerInfo.remoteAddr;
      const info = new RuntimeServeInfo(() => remoteOf(addr.hostname, addr.port), tracker, secure, websocket);
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
      let upgraded: { socket: WebSocket; response: Response };
      try {
        upgraded = deno.upgradeWebSocket(request, {
          ...(protocol !== '' ? { protocol } : {}),
          ...(options.idleTimeout !== undefined ? { idleTimeout: options.idleTimeout } : {}),
        });
      } catch (err) {
        onError(err);
        return refusal(400, 'The WebSocket handshake could not be completed');
      }
      attachSocket(upgraded.socket, pending, protocol, addr.hostname, runtime, onError);
      for (const [name, value] of headersFor101(response, pending))
        upgraded.response.headers.append(name, value);
      return upgraded.response;
    },
  };
  return runtime;
}

function attachSocket(
  ws: WebSocket,
  pending: PendingUpgrade,
  protocol: string,
  remoteAddress: string,
  runtime: DenoRuntime,
  onError: (error: unknown) => void,
): void {
  ws.binaryType = 'arraybuffer';
  const handlers = pending.handlers as WebSocketHandlers<unknown>;
  const socket = new StrataDenoSocket<unknown>(
    ws,
    runtime.hub,
    pending.options.data ?? {},
    protocol,
    remoteAddress,
  );
  ws.onopen = () => {
    runtime.sockets.add(socket);
    const open = handlers.open;
    if (open !== undefined) callHandler('open', () => open(socket), socket, onError);
  };
  ws.onmessage = (event: MessageEvent) => {
    const raw = event.data as string | ArrayBuffer;
    const data: WebSocketMessage = typeof raw === 'string' ? raw : new Uint8Array(raw);
    callHandler('message', () => handlers.message(socket, data), socket, onError);
  };
  ws.onclose = (event: CloseEvent) => {
    runtime.sockets.delete(socket);
    socket.leaveAll();
    const close = handlers.close;
    if (close !== undefined)
      callHandler('close', () => close(socket, event.code, event.reason), socket, onError);
  };
  ws.onerror = () => {
    // A close event follows: the handlers hear of it there.
  };
}

function denoGlobal(): DenoGlobal {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  if (deno === undefined) throw new Error('serveDeno() runs on Deno only (globalThis.Deno is missing)');
  return deno;
}

/**
 * Serves `app` with `Deno.serve`: hands it the topic registry, runs `startup`, listens; stops
 * gracefully on `close()` (and on SIGTERM/SIGINT unless `signals: false`).
 */
export async function serveDeno(app: App, options: DenoServeOptions = {}): Promise<RuntimeServer> {
  const deno = denoGlobal();
  const runtime = toDeno(app, options);
  await startApp(app, runtime.hub);
  const hostname = options.hostname ?? '127.0.0.1';
  let listening!: (port: number) => void;
  const listened = new Promise<number>((resolve) => {
    listening = resolve;
  });
  const server = deno.serve(
    {
      port: options.port ?? 3000,
      hostname,
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      onListen: (addr) => listening(addr.port),
    },
    runtime.handler,
  );
  const port = await listened;
  const url = new URL(
    `${options.cert !== undefined ? 'https' : 'http'}://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}/`,
  );
  const signals = options.signals !== false ? ['SIGTERM', 'SIGINT'] : [];
  // A signal replaces the runtime's default of dying at once: stop gracefully, then exit (a
  // WebSocket whose peer vanished without a close frame would keep the process alive).
  const onSignal = (): void => {
    handle.close().then(
      () => deno.exit(0),
      (err: unknown) => {
        (options.onError ?? console.error)(err);
        deno.exit(1);
      },
    );
  };
  let closing: Promise<void> | undefined;
  const handle: RuntimeServer = {
    url,
    port,
    get sockets() {
      return runtime.sockets.size;
    },
    close() {
      closing ??= (async () => {
        runtime.closing = true;
        for (const signal of signals) deno.removeSignalListener(signal, onSignal);
        for (const socket of runtime.sockets) socket.close(1001, 'Server shutting down');
        await server.shutdown();
        await runtime.tracker.drain();
        // As strata's server: the broker is unsubscribed and closed before the shutdown hooks.
        await runtime.hub.close();
        await app.shutdown?.();
        app.attachPubSub?.(undefined);
      })();
      return closing;
    },
  };
  for (const signal of signals) deno.addSignalListener(signal, onSignal);
  options.onListen?.(url);
  return handle;
}
