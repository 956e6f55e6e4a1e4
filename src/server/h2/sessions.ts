import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../../observe/logger.ts';
import { nodeHttp2Options, type ResolvedHttp2Options } from './options.ts';

/** Each stream of every session, as node's http2 reports it. */
export type StreamListener = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

export interface Http2SessionsOptions {
  http2: ResolvedHttp2Options;
  /** The server's `maxHeaderCount` (the edge policy's 431; node's own cap is set just past it). */
  maxHeaderCount: number;
  /** A session with no frame in either direction for this long is closed (GOAWAY), in ms; 0 for never. */
  idleTimeout: number;
  /** A request body still arriving after this long resets its stream, in ms; 0 for never. */
  requestTimeout: number;
  /**
   * Streams one session may open (the server's `maxRequestsPerSocket`, nginx's
   * `keepalive_requests` on HTTP/2): the last one is answered, then GOAWAY. 0 for no cap.
   */
  maxRequestsPerSession?: number;
  onStream: StreamListener;
  log: Logger;
}

function ignore(): void {
  // A stream's or session's error: node resets or closes it; 'close' does the accounting.
}

/**
 * The server's HTTP/2 sessions: node's http2 server, never listening, fed the connections that
 * speak HTTP/2 — TLS sockets that chose `h2` by ALPN (`accept`, the TLS listener's hook), plain
 * sockets that started with the HTTP/2 preface (h2c, prior-knowledge.ts). It holds the limits
 * (SETTINGS, reset and flood bounds), the idle timeout, and the drain: GOAWAY, streams under way
 * finish, then the connection closes.
 *
 * @example
 * const sessions = new Http2Sessions({ http2, maxHeaderCount: 100, idleTimeout: 60_000,
 *   requestTimeout: 60_000, onStream, log });
 * tlsServer.on('secureConnection', (s) => { if (s.alpnProtocol === 'h2') sessions.accept(s); });
 */
export class Http2Sessions {
  readonly #server: Http2Server;
  /** Each session's socket: node's session gives only a proxy of it, which may not destroy it. */
  readonly #sessions = new Map<ServerHttp2Session, Socket>();
  /** The socket being handed to node's server (its 'session' event comes synchronously). */
  #accepting: Socket | undefined = undefined;
  readonly #sockets = new Set<Socket>();
  readonly #log: Logger;
  readonly #requestTimeout: number;
  readonly #idleTimeout: number;
  #draining = false;

  constructor(options: Http2SessionsOptions) {
    this.#log = options.log;
    this.#requestTimeout = options.requestTimeout;
    const server = createServer(nodeHttp2Options(options.http2, options.maxHeaderCount));
    this.#idleTimeout = options.idleTimeout;
    if (options.idleTimeout > 0) {
      server.setTimeout(options.idleTimeout);
      server.on('timeout', this.#onIdle);
    }
    server.on('session', this.#onSession);
    const onStream = options.onStream;
    const limitBody = this.#requestTimeout > 0;
    const maxStreams = options.maxRequestsPerSession ?? 0;
    const opened = maxStreams > 0 ? new WeakMap<Http2Session, number>() : undefined;
    server.on('stream', (stream: ServerHttp2Stream, headers, flags: number, rawHeaders: string[]) => {
      // First: a stream node has destroyed already emits its error on the next tick, and an
      // 'error' without a listener would end the process (found by test/security/h2-frames.fuzz).
      stream.on('error', ignore);
      // Reset in the same read as its HEADERS (rapid reset): node reports it already destroyed,
      // without a session. Nothing to answer.
      if (stream.destroyed || stream.session === undefined) return;
      if (limitBody && !stream.endAfterHeaders) this.#limitBody(stream);
      if (opened !== undefined) {
        const session = stream.session;
        const count = (opened.get(session) ?? 0) + 1;
        opened.set(session, count);
        // GOAWAY names this stream as the last: it and the ones before it are answered.
        if (count >= maxStreams) session.close();
      }
      onStream(stream, headers, flags, rawHeaders);
    });
    server.on('sessionError', (err: Error) => this.#log.debug({ err }, 'http2 session error'));
    this.#server = server;
  }

  /** Serves HTTP/2 on a connected socket: a TLS socket after ALPN `h2`, or a plain one (h2c). */
  readonly accept = (socket: Socket): void => {
    if (socket.destroyed) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    this.#accepting = socket;
    try {
      this.#server.emit('connection', socket);
    } finally {
      this.#accepting = undefined;
    }
  };

  /** Whether `socket` carries an HTTP/2 session (the drain's idle sweep leaves it to `drain`). */
  has(socket: Socket): boolean {
    return this.#sockets.has(socket);
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * The graceful drain: every session gets GOAWAY (RFC 9113 §6.8) — streams the client has
   * opened are answered, new ones are refused — and closes once its streams are done. Sessions
   * that start from now on are closed the same way at once.
   */
  drain(): void {
    this.#draining = true;
    for (const session of this.#sessions.keys()) session.close();
  }

  /** Destroys every session still open (the shutdown deadline). */
  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }

  readonly #onSession = (session: ServerHttp2Session): void => {
    this.#sessions.set(session, this.#accepting!);
    session.on('error', ignore);
    session.once('close', () => this.#sessions.delete(session));
    if (this.#draining) session.close();
  };

  // No frame either way for idleTimeout: GOAWAY (streams under way may finish), and gone one
  // more idleTimeout later whatever is left (a stream whose window the client never opens). The
  // socket is destroyed too: node's session waits for its last writes to flush, forever when the
  // client never reads.
  readonly #onIdle = (session: ServerHttp2Session): void => {
    session.close();
    const socket = this.#sessions.get(session);
    setTimeout(() => {
      session.destroy();
      socket?.destroy();
    }, this.#idleTimeout).unref();
  };

  // A body that is still arriving after requestTimeout resets its stream (slow POST, RFC 9113 §8.1).
  #limitBody(stream: ServerHttp2Stream): void {
    const timer = setTimeout(() => {
      if (!stream.readableEnded && !stream.destroyed) stream.close(0x8 /* CANCEL */);
    }, this.#requestTimeout);
    timer.unref();
    stream.once('end', () => clearTimeout(timer));
    stream.once('close', () => clearTimeout(timer));
  }
}
