import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { isToken } from '../gateway/http.ts';
import type { HandshakeRefusal, WebSocketEndpoint } from '../gateway/node-upgrade.ts';
import { refuseHandshake } from '../gateway/node-upgrade.ts';
import type { ServeInfo } from '../gateway/types.ts';
import type { Broker, PendingUpgrade, WebSocketData, WebSocketHandlers } from '../gateway/websocket.ts';
import { NOT_IN_101 } from '../gateway/websocket-handshake.ts';
import { loggableError } from '../observe/loggable-error.ts';
import { recordWebSocketBackpressure, trackWebSockets } from '../observe/metrics.ts';
import { selectProtocol, vetHandshake } from './handshake.ts';
import { MemoryBroker } from './memory-broker.ts';
import { type ResolvedWebSocketOptions, resolveWebSocketOptions, type WebSocketOptions } from './options.ts';
import { SlottedWebSocket, type SocketOwner, StrataSocket } from './socket.ts';
import { checkTopic, Topics, toMessage } from './topics.ts';

/** The logger shape the realtime layer writes to (pino's). */
export interface RealtimeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of a `RealtimeServer`. */
export interface RealtimeServerOptions extends WebSocketOptions {
  /** Carries publishes to other processes; default a new `MemoryBroker` (this process only). */
  broker?: Broker | undefined;
  logger?: RealtimeLogger | undefined;
}

const SAFE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const SILENT: RealtimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * strata's WebSocket server on Node: completes the handshakes the app accepts (through `ws`),
 * runs the app's handlers, pings to reap dead peers, and owns the topics and broker behind
 * `publish`. `serve()` makes one per server; it is also usable on any node:http server.
 *
 * @example
 * const realtime = new RealtimeServer({ maxPayload: 64 * 1024 });
 * server.on('upgrade', createNodeUpgradeHandler(app, gatewayOptions, realtime));
 */
export class RealtimeServer implements WebSocketEndpoint {
  readonly options: ResolvedWebSocketOptions;
  #wss: WebSocketServer | undefined;
  #sockets: Set<StrataSocket<unknown>>;
  #topics: Topics;
  #untrack: () => void;
  #log: RealtimeLogger;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #whenEmpty: (() => void) | undefined;
  // Set around the synchronous ws.handleUpgrade call: the chosen protocol and extra headers.
  #protocol: string | false;
  #extraHeaders: string[] | undefined;

  constructor(options: RealtimeServerOptions = {}) {
    this.options = resolveWebSocketOptions(options);
    this.#wss = undefined;
    this.#sockets = new Set();
    this.#log = options.logger ?? SILENT;
    this.#topics = new Topics(options.broker ?? new MemoryBroker(), (err, topic) =>
      this.#log.error({ err, topic }, 'broker error'),
    );
    this.#heartbeat = undefined;
    this.#closing = undefined;
    this.#whenEmpty = undefined;
    this.#protocol = false;
    this.#extraHeaders = undefined;
    // Sockets and topics in the metrics and on the admin dashboard (untracked at close()).
    this.#untrack = trackWebSockets('websocket', this);
  }

  /** Open sockets in this process. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Topics with a subscriber in this process. */
  get topicCount(): number {
    return this.#topics.topicCount;
  }

  get broker(): Broker {
    return this.#topics.broker;
  }

  vet(req: IncomingMessage): HandshakeRefusal | undefined {
    if (this.#closing !== undefined) return { status: 503, message: 'The server is shutting down' };
    return vetHandshake(req, this.options.allowedOrigins);
  }

  accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    upgrade: PendingUpgrade,
    headers: Headers,
    info: ServeInfo,
  ): void {
    if (this.#closing !== undefined) {
      refuseHandshake(socket, { status: 503, message: 'The server is shutting down' });
      return;
    }
    const protocol = selectProtocol(req.headers['sec-websocket-protocol'], upgrade.options.protocols);
    if (protocol === undefined) {
      refuseHandshake(socket, {
        status: 400,
        message: `None of the offered subprotocols is spoken here (this route speaks ${upgrade.options.protocols!.join(', ')})`,
      });
      return;
    }
    const extra: string[] = [];
    for (const [name, value] of headers)
      if (!NOT_IN_101.has(name) && SAFE_VALUE.test(value)) extra.push(`${name}: ${value}`);
    const own = upgrade.options.headers;
    if (own !== undefined) {
      for (const name in own) {
        const value = String(own[name]);
        if (!NOT_IN_101.has(name.toLowerCase()) && SAFE_VALUE.test(value) && isToken(name))
          extra.push(`${name}: ${value}`);
      }
    }
    const wss = this.#wss ?? this.#createServer();
    const remote = info.remote.address;
    this.#protocol = protocol;
    this.#extraHeaders = extra.length > 0 ? extra : undefined;
    try {
      wss.handleUpgrade(req, socket, head, (ws) =>
        this.#opened(ws as SlottedWebSocket, socket, upgrade, remote),
      );
    } finally {
      this.#protocol = false;
      this.#extraHeaders = undefined;
    }
  }

  /** Publishes to every subscriber of `topic`, here and (through the broker) everywhere else. */
  publish(topic: string, data: WebSocketData, compress?: boolean): void {
    checkTopic(topic);
    this.#topics.publish(topic, toMessage(data), undefined, compress);
  }

  subscriberCount(topic: string): number {
    return this.#topics.count(topic);
  }

  /**
   * Graceful shutdown: refuses new handshakes, sends 1001 to every socket, terminates those
   * that have not closed after `closeTimeout`, then unsubscribes from the broker and closes it.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const sockets = [...this.#sockets];
      if (sockets.length > 0) {
        const allClosed = new Promise<void>((resolve) => {
          this.#whenEmpty = resolve;
        });
        for (const s of sockets) s.close(1001, 'Server shutting down');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.options.closeTimeout);
        });
        await Promise.race([allClosed, timeout]);
        clearTimeout(timer);
        if (this.#sockets.size > 0) {
          this.#log.warn(
            { sockets: this.#sockets.size },
            'close timeout: terminating the remaining WebSockets',
          );
          for (const s of this.#sockets) s.terminate();
        }
      }
      this.#stopHeartbeat();
      this.#untrack();
      await this.#topics.close();
      try {
        await this.#topics.broker.close();
      } catch (err) {
        this.#log.error({ err }, 'broker close failed');
      }
    })();
    return this.#closing;
  }

  #createServer(): WebSocketServer {
    const o = this.options;
    const wss = new WebSocketServer({
      WebSocket: SlottedWebSocket,
      noServer: true,
      clientTracking: false,
      maxPayload: o.maxPayload,
      perMessageDeflate: o.perMessageDeflate
        ? {
            threshold: o.deflateThreshold,
            serverMaxWindowBits: o.deflateWindowBits,
            clientMaxWindowBits: o.deflateWindowBits,
            serverNoContextTakeover: true,
            clientNoContextTakeover: true,
            zlibDeflateOptions: { memLevel: o.deflateMemLevel, level: 3 },
            concurrencyLimit: 10,
          }
        : false,
      handleProtocols: () => this.#protocol,
      allowSynchronousEvents: true,
      // A socket the server closes (1013 for a client too slow, 1001 on shutdown) is destroyed if
      // the peer has not completed the closing handshake by then, and its queue freed. ws 8.23
      // takes this option (default 30 s); @types/ws 8.18 does not list it yet.
      ...({ closeTimeout: o.closeTimeout } as {}),
    });
    wss.on('headers', (lines: string[]) => {
      if (this.#extraHeaders !== undefined) lines.push(...this.#extraHeaders);
    });
    this.#wss = wss;
    return wss;
  }

  #opened(ws: SlottedWebSocket, raw: Duplex, upgrade: PendingUpgrade, remote: string): void {
    const data = upgrade.options.data ?? {};
    const socket = new StrataSocket<unknown>(
      ws,
      data,
      remote,
      upgrade.handlers as WebSocketHandlers<unknown>,
      this.#topics,
      this.options,
      this.#owner,
    );
    this.#sockets.add(socket);
    // Only routes with a drain handler pay for watching the socket drain.
    if (upgrade.handlers.drain !== undefined) raw.on('drain', () => socket.drained());
    if (this.#heartbeat === undefined && this.options.heartbeatInterval > 0) this.#startHeartbeat();
    socket.opened();
  }

  // One object for every socket: what a socket tells its server.
  readonly #owner: SocketOwner = {
    handlerError: (error, _socket, hook) => {
      this.#log.error({ err: loggableError(error), hook }, 'WebSocket handler failed');
    },
    protocolError: (err) => {
      // Protocol violations (1002, 1007, 1009): ws has already started the close.
      this.#log.debug({ code: err.code, reason: err.message }, 'WebSocket closed on a protocol error');
    },
    overflowed: (socket, action, queued, first) => {
      recordWebSocketBackpressure(action);
      if (first)
        this.#log.warn(
          {
            remote: socket.remoteAddress,
            queued,
            maxBufferedBytes: this.options.maxBufferedBytes,
            action,
          },
          action === 'close'
            ? 'WebSocket client reads too slowly: over maxBufferedBytes, closing with 1013'
            : 'WebSocket client reads too slowly: over maxBufferedBytes, dropping its messages',
        );
    },
    closed: (socket) => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) {
        this.#stopHeartbeat();
        this.#whenEmpty?.();
      }
    },
  };

  #startHeartbeat(): void {
    this.#heartbeat = setInterval(() => {
      for (const socket of this.#sockets) {
        if (!socket.alive) {
          this.#log.debug({ remote: socket.remoteAddress }, 'WebSocket peer missed a heartbeat: terminated');
          socket.terminate();
          continue;
        }
        socket.alive = false;
        socket.ping();
      }
    }, this.options.heartbeatInterval);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
