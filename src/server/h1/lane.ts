import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { BodyEncoder } from '../../gateway/body-encoder.ts';
import type { FastParts } from '../../gateway/fast-response.ts';
import { isBodilessResponse } from '../../gateway/http.ts';
import type { ServeInfo } from '../../gateway/types.ts';
import {
  type Exchange as ExchangeContract,
  type ExchangeEnd,
  type HeadRecord,
  type KnownResponse,
  prepareKnownBody,
  serializeHead,
} from '../exchange.ts';
import { responseEnd } from '../logged-response.ts';
import { closesConnection, emitCloseOnce, setKeepAliveHeader } from '../node-internals.ts';
import { DECLINE, INCOMPLETE, parseRequestHead, type RequestHead } from './request-head.ts';

/**
 * The HTTP/1.1 fast lane: serves the common request — a complete head in one read, no body —
 * straight off the socket, and writes a known response body in one `socket.write`, without
 * node's IncomingMessage/ServerResponse streams. It takes node:http's connection listener and
 * hands a connection over to it (with the bytes read so far) the moment anything else arrives:
 * a body, an upgrade, a partial or unusual head. Responses the lane does not write itself
 * (streams, files, errors, refusals) go out through a real node `ServerResponse` attached to
 * the socket for that one response (`Exchange.bridge`), after which the lane reads on.
 *
 * Idle and keep-alive timeouts are kept by one sweep per server instead of a timer per request.
 */

/** A request on the lane, shaped like the parts of node's IncomingMessage the gateway reads. */
export class LaneRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: 0 | 1;
  readonly socket: Socket;
  readonly complete = true;
  readonly readableFlowing = null;
  /** The access log's id for this request, once it gave one. */
  strataRequestId: string | undefined = undefined;
  /** The whole body (a Content-Length body that arrived with the head), read by the gateway. */
  readonly receivedBody: Buffer | undefined;
  #headers: IncomingHttpHeaders | undefined;

  constructor(head: RequestHead, socket: Socket, body: Buffer | undefined) {
    this.receivedBody = body;
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.httpVersionMinor = head.minor;
    this.socket = socket;
    this.#headers = undefined;
  }

  get httpVersion(): string {
    return this.httpVersionMinor === 1 ? '1.1' : '1.0';
  }

  get connection(): Socket {
    return this.socket;
  }

  /** Whether `headers` has been built (read) yet. */
  get headersParsed(): boolean {
    return this.#headers !== undefined;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** node's `req.headers`: lowercase names, duplicates combined as node combines them. */
  get headers(): IncomingHttpHeaders {
    let headers = this.#headers;
    if (headers === undefined) {
      headers = combineHeaders(this.rawHeaders);
      this.#headers = headers;
    }
    return headers;
  }
}

// node's IncomingMessage keeps the first of these and drops repeats (matchKnownFields).
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

function combineHeaders(raw: string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = out[key];
    if (prev === undefined) out[key] = key === 'set-cookie' ? [value] : value;
    else if (key === 'set-cookie') (prev as string[]).push(value);
    else if (SINGLE.has(key)) continue;
    else out[key] = `${prev}${key === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out as IncomingHttpHeaders;
}

export interface LaneOptions {
  /** The node:http server: its connection listener is taken over and called on hand-over. */
  server: Server;
  /**
   * The event node's connection listener is on: `'connection'` for node:http, `'secureConnection'`
   * for node:https (the TLS sockets, once their handshake is done). Default `'connection'`.
   */
  connectionEvent?: 'connection' | 'secureConnection';
  /**
   * Header lines every response carries (`Strict-Transport-Security` over TLS), as
   * `[name, value]` pairs: written by the lane, set on bridged responses (where the app's own
   * value wins).
   */
  responseHeaders?: readonly (readonly [string, string])[] | undefined;
  maxHeaderSize: number;
  /** Most header lines the lane takes; a head with more goes to node's path (which answers 431). */
  maxHeaderCount?: number;
  /**
   * Largest Content-Length body the lane reads itself (0: requests with a body go to node's
   * path). A body that arrives after its head, in later reads, is gathered until complete.
   */
  maxBody?: number;
  /**
   * The whole request, body included, within this many ms (node's `requestTimeout`; 0: no
   * limit): a body still incomplete then is answered 408 and the connection closed.
   */
  requestTimeout?: number;
  /**
   * A status the lane wrote straight to the socket, without an exchange: its 408 for a body
   * that did not arrive in time, with the request whose body it was and when its head was read
   * (`performance.now()`).
   */
  refused?: ((socket: Socket, status: number, req: LaneRequest, startedAt: number) => void) | undefined;
  keepAliveTimeout: number;
  headersTimeout: number;
  /** Inactivity with a response under way, like node's `server.timeout`; 0 for none. */
  idleTimeout: number;
  maxRequestsPerSocket: number;
  /** True once the server drains: responses say `Connection: close`. */
  closing: () => boolean;
  /** The class of bridged responses: node's, or the exchange log's counting subclass. */
  Response?: typeof ServerResponse | undefined;
  /** Every request the lane parsed; it must answer through the exchange, once. */
  onRequest: (req: LaneRequest, exchange: Exchange) => void;
  /** The clock of the timeouts' sweep (tests pass a fake one); default the system's. */
  clock?: LaneClock;
}

/** What the lane's timeouts read the time from, and run their sweep on. */
export interface LaneClock {
  /** Milliseconds, as `Date.now()`. */
  now(): number;
  /** Calls `tick` every `ms` (without keeping the process alive); returns its cancel. */
  every(ms: number, tick: () => void): () => void;
}

const SYSTEM_CLOCK: LaneClock = {
  now: Date.now,
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

// node 24 keeps an idle keep-alive socket this long past keepAliveTimeout (keepAliveTimeoutBuffer).
const KEEP_ALIVE_BUFFER = 1000;

const kConnection = Symbol('strata.lane');
const kServed = Symbol('strata.lane.served');
type LaneSocket = Socket & { [kConnection]?: Connection; [kServed]?: number };

// What node's 'connection' listener is, for the hand-over.
type ConnectionListener = (this: Server, socket: Socket) => void;

export class FastLane {
  readonly #options: LaneOptions;
  readonly #nodeListener: ConnectionListener;
  readonly #connections = new Set<Connection>();
  readonly #time: LaneClock;
  /** Cancels the sweep while it runs. */
  #sweep: (() => void) | undefined;
  #every = 1000;
  /** A coarse clock (ms), advanced by the sweep: idle accounting without a syscall per request. */
  clock: number;
  readonly keepAliveTail: string;
  readonly closeTail: string;

  constructor(options: LaneOptions) {
    this.#options = options;
    this.#time = options.clock ?? SYSTEM_CLOCK;
    this.clock = this.#time.now();
    const server = options.server;
    const event = options.connectionEvent ?? 'connection';
    const listeners = server.listeners(event) as ConnectionListener[];
    if (listeners.length !== 1) throw new Error('the fast lane must be installed on a fresh http.Server');
    this.#nodeListener = listeners[0]!;
    server.off(event, this.#nodeListener);
    server.on(event, (socket: Socket) => this.#accept(socket));
    const seconds = Math.floor(options.keepAliveTimeout / 1000);
    const fixed = (options.responseHeaders ?? []).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    this.keepAliveTail =
      options.keepAliveTimeout > 0
        ? `${fixed}Connection: keep-alive\r\nKeep-Alive: timeout=${seconds}${options.maxRequestsPerSocket > 0 ? `, max=${options.maxRequestsPerSocket}` : ''}\r\n\r\n`
        : `${fixed}Connection: keep-alive\r\n\r\n`;
    this.closeTail = `${fixed}Connection: close\r\n\r\n`;
  }

  get options(): LaneOptions {
    return this.#options;
  }

  #accept(socket: Socket): void {
    if (socket.destroyed) return;
    // The clock stands still while no sweep runs: a new connection must not start in the past.
    if (this.#sweep === undefined) this.clock = this.#time.now();
    const connection = new Connection(this, socket);
    this.#connections.add(connection);
    if (this.#sweep === undefined) {
      const o = this.#options;
      const limits = [o.keepAliveTimeout, o.headersTimeout, o.idleTimeout].filter((ms) => ms > 0);
      const every = Math.max(25, Math.min(1000, Math.floor(Math.min(4000, ...limits) / 4)));
      this.#every = every;
      this.#sweep = this.#time.every(every, () => this.#expire());
    }
  }

  /** Gives the connection to node:http, with what was read and not yet parsed. */
  handOver(connection: Connection, rest: Buffer | undefined): void {
    this.#connections.delete(connection);
    const socket = connection.socket;
    socket[kServed] = connection.served;
    this.#nodeListener.call(this.#options.server, socket);
    connection.detach();
    if (socket.isPaused()) socket.resume();
    if (rest !== undefined && rest.length > 0) socket.emit('data', rest);
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
  }

  /**
   * Whether a request or response is under way on `socket` (for the drain's idle check): a body
   * still arriving, a response the app is still making, or one the lane wrote that is still in
   * the socket's buffer (a slow reader of a large body must not be cut off by the drain).
   */
  busy(socket: Socket): boolean {
    const connection = (socket as LaneSocket)[kConnection];
    return (
      connection !== undefined &&
      (connection.current !== undefined || connection.awaitingBody || socket.writableLength > 0)
    );
  }

  /**
   * For a connection handed to node, the requests it has had in all (the lane's and node's):
   * node counts its own from 0 after the hand-over, so `maxRequestsPerSocket` is kept here.
   * Called once per node request; 0 for connections that never were the lane's.
   */
  countHandedOver(socket: Socket): number {
    const before = (socket as LaneSocket)[kServed];
    if (before === undefined) return 0;
    (socket as LaneSocket)[kServed] = before + 1;
    return before + 1;
  }

  /** The connections the lane still holds (the drain's deadline destroys them). */
  destroyAll(): void {
    for (const connection of this.#connections) connection.socket.destroy();
  }

  close(): void {
    this.#sweep?.();
    this.#sweep = undefined;
  }

  #expire(): void {
    const now = this.#time.now();
    this.clock = now;
    const o = this.#options;
    // The clock is coarse (this sweep's period): a limit is only passed once it is passed by
    // more than a period. Keep-alive gets node 24's extra second beyond the advertised timeout
    // (so that a client reusing a connection at the last moment does not meet a close).
    const slack = this.#every;
    for (const c of this.#connections) {
      const writing = c.socket.writableLength > 0;
      if (c.awaitingBody) {
        // A body on its way: the whole request within requestTimeout (node answers 408 too),
        // and no pause longer than idleTimeout between its bytes.
        const requestTimeout = o.requestTimeout ?? 0;
        if (requestTimeout > 0 && now - c.bodySince > requestTimeout + slack) {
          c.timeOut();
          continue;
        }
        const bytes = c.socket.bytesRead;
        if (bytes !== c.seenBytes) {
          c.seenBytes = bytes;
          c.activeAt = now;
        } else if (o.idleTimeout > 0 && now - c.activeAt > o.idleTimeout) c.socket.destroy();
        continue;
      }
      if (c.current === undefined && !writing) {
        // Before the first request headersTimeout, between requests keepAliveTimeout; a 0 is
        // "no such limit" as in node, and idleTimeout (node's server.timeout) still applies.
        const limit =
          c.served === 0
            ? o.headersTimeout || o.idleTimeout
            : o.keepAliveTimeout > 0
              ? o.keepAliveTimeout + KEEP_ALIVE_BUFFER
              : o.idleTimeout;
        if (limit > 0 && now - c.idleSince > limit + slack) c.socket.destroy();
      } else {
        // Still being answered (or its answer is still leaving): idle time starts afterwards.
        c.idleSince = now;
        if (o.idleTimeout === 0) continue;
        // Inactivity as node's socket timeout sees it: no byte read or written (a streamed
        // response that keeps moving is active).
        const bytes = c.socket.bytesRead + c.socket.bytesWritten;
        if (bytes !== c.seenBytes) {
          c.seenBytes = bytes;
          c.activeAt = now;
        } else if (now - c.activeAt > o.idleTimeout) c.socket.destroy();
      }
    }
    if (this.#connections.size === 0) this.close();
  }
}

export class Connection {
  readonly lane: FastLane;
  readonly socket: LaneSocket;
  current: Exchange | undefined;
  served = 0;
  idleSince: number;
  /** When the sweep last saw bytes move with a response under way, and how many had. */
  activeAt: number;
  seenBytes = 0;
  /** When the head of a request whose body is still arriving was read (the lane's clock). */
  bodySince = 0;
  /** The reads of a request whose body is still arriving, and how many bytes complete it. */
  #gathered: Buffer[] | undefined = undefined;
  #gatheredBytes = 0;
  #gatheredAt = 0;
  #needed = 0;
  #pending: Buffer | undefined;
  #driving = false;
  #ended = false;
  #closed = false;
  #waitingDrain = false;
  readonly #head: RequestHead = {
    method: '',
    url: '',
    rawHeaders: [],
    minor: 1,
    close: false,
    bodyLength: 0,
  };

  constructor(lane: FastLane, socket: Socket) {
    this.lane = lane;
    this.socket = socket as LaneSocket;
    this.current = undefined;
    this.idleSince = lane.clock;
    this.activeAt = lane.clock;
    this.#pending = undefined;
    this.socket[kConnection] = this;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  detach(): void {
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    socket.off('drain', this.#onDrain);
    delete socket[kConnection];
  }

  /** Whether a request's body is still arriving. */
  get awaitingBody(): boolean {
    return this.#gathered !== undefined;
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    const gathered = this.#gathered;
    if (gathered !== undefined) {
      // The rest of a body: gathered as a list and joined once, when complete (a body sent a
      // byte at a time costs one copy, not one per read).
      gathered.push(chunk);
      this.#gatheredBytes += chunk.length;
      if (this.#gatheredBytes < this.#needed) return;
      this.#gathered = undefined;
      this.#drive(Buffer.concat(gathered, this.#gatheredBytes));
      return;
    }
    const pending = this.#pending;
    if (this.current !== undefined || this.#waitingDrain) {
      // Pipelined while a response is under way: keep it, and stop reading past a bound.
      const kept = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      this.#pending = kept;
      if (kept.length > this.lane.options.maxHeaderSize * 4) this.socket.pause();
      return;
    }
    this.#pending = undefined;
    this.#drive(pending === undefined ? chunk : Buffer.concat([pending, chunk]));
  };

  // The client half-closed: as node's server does (httpAllowHalfOpen off), the request under
  // way is aborted (its signal fires) and our side is ended too.
  readonly #onEnd = (): void => {
    this.#ended = true;
    const current = this.current;
    if (current !== undefined) current.abort();
    this.#shut();
  };

  readonly #onClose = (): void => {
    this.#closed = true;
    this.#gathered = undefined;
    this.lane.forget(this);
    const current = this.current;
    if (current !== undefined) current.abort();
  };

  readonly #onError = (): void => {
    // ECONNRESET and the like: 'close' follows and does the cleanup.
  };

  readonly #onDrain = (): void => {
    this.#waitingDrain = false;
    this.#continue();
  };

  /** Parses and answers the requests in `buf`, in order, while each is answered at once. */
  #drive(buf: Buffer): void {
    this.#driving = true;
    const lane = this.lane;
    const head = this.#head;
    const max = lane.options.maxHeaderSize;
    const maxCount = lane.options.maxHeaderCount;
    const maxBody = lane.options.maxBody ?? 0;
    let at = 0;
    while (at < buf.length) {
      const next = parseRequestHead(buf, at, max, head, maxCount, maxBody);
      // Not the lane's, or its head not all here yet: node reads the connection from this
      // request on.
      if (next === INCOMPLETE || next === DECLINE) {
        this.#driving = false;
        lane.handOver(this, at === 0 ? buf : buf.subarray(at));
        return;
      }
      const bodyEnd = next + head.bodyLength;
      if (bodyEnd > buf.length) {
        // The lane's request, its body (at most maxBody) still on its way: gather the reads
        // until it is complete, then parse this request again from its first byte. The
        // framing is the head's alone (one Content-Length), so the split changes nothing.
        this.#driving = false;
        const rest = at === 0 ? buf : buf.subarray(at);
        this.#gathered = [rest];
        this.#gatheredAt = lane.options.refused === undefined ? 0 : performance.now();
        this.#gatheredBytes = rest.length;
        this.#needed = bodyEnd - at;
        this.bodySince = lane.clock;
        this.activeAt = lane.clock;
        this.seenBytes = this.socket.bytesRead;
        return;
      }
      const body = head.bodyLength > 0 ? buf.subarray(next, bodyEnd) : undefined;
      at = bodyEnd;
      const maxRequests = lane.options.maxRequestsPerSocket;
      const keepAlive = !head.close && (maxRequests === 0 || this.served + 1 < maxRequests);
      const exchange = new Exchange(this, new LaneRequest(head, this.socket, body), keepAlive);
      this.current = exchange;
      this.activeAt = lane.clock;
      lane.options.onRequest(exchange.req, exchange);
      if (this.current !== undefined || this.#waitingDrain || this.#closed) {
        // Answered later (or the connection is done): keep the rest for then.
        if (at < buf.length && !this.#closed) this.#pending = buf.subarray(at);
        this.#driving = false;
        return;
      }
    }
    this.#driving = false;
  }

  /**
   * The body did not arrive within requestTimeout: 408 and close, as node answers it (the
   * request never reached the server, so it is logged as the parser's refusals are).
   */
  timeOut(): void {
    const gathered = this.#gathered;
    this.#gathered = undefined;
    const lane = this.lane;
    const refused = lane.options.refused;
    if (refused !== undefined && gathered !== undefined) {
      // The head is whole in the first read kept (the lane waits only for bodies).
      const head: RequestHead = {
        method: '',
        url: '',
        rawHeaders: [],
        minor: 1,
        close: false,
        bodyLength: 0,
      };
      const o = lane.options;
      if (parseRequestHead(gathered[0]!, 0, o.maxHeaderSize, head, o.maxHeaderCount, o.maxBody ?? 0) > 0)
        refused(this.socket, 408, new LaneRequest(head, this.socket, undefined), this.#gatheredAt);
    }
    if (this.socket.writable)
      this.socket.write(
        serializeHead(408, '', undefined, undefined, 0, undefined, '', lane.closeTail)!,
        'latin1',
      );
    this.#shut();
  }

  /** The exchange's response is written: read on, or close. */
  done(keepAlive: boolean, writable: boolean): void {
    this.current = undefined;
    this.served += 1;
    this.idleSince = this.lane.clock;
    if (!keepAlive || this.#ended) {
      this.#shut();
      return;
    }
    if (!writable) {
      this.#waitingDrain = true;
      this.socket.once('drain', this.#onDrain);
      return;
    }
    if (!this.#driving) this.#continue();
  }

  #continue(): void {
    if (this.#closed || this.current !== undefined) return;
    const pending = this.#pending;
    if (this.socket.isPaused()) this.socket.resume();
    if (pending !== undefined) {
      this.#pending = undefined;
      this.#drive(pending);
    }
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = undefined;
    this.#gathered = undefined;
    // As node does after a last response: flush what was written, then close without waiting
    // for the client's FIN (a client that keeps the connection open must not hold it).
    this.socket.destroySoon();
  }
}

/**
 * One request and its response on the lane: the lane's implementation of the server's exchange
 * contract (src/server/exchange.ts). To the gateway's request it also looks like node's
 * ServerResponse as far as that reads one (`writableFinished`, `destroyed`, `once('close')`).
 */
export class Exchange implements ExchangeContract {
  readonly connection: Connection;
  readonly req: LaneRequest;
  readonly keepAlive: boolean;
  /** The status sent. */
  statusCode = 200;
  /** Body bytes the lane wrote itself (0 for HEAD, 204, 304). */
  bytes = 0;
  /** The response node writes for this exchange (`bridge()`), if any. */
  bridged: ServerResponse | undefined = undefined;
  /** When the server's exchange log started it (`performance.now()`); 0 when it does not record. */
  startedAt = 0;
  /** The request id the access log gave the request. */
  requestId: string | undefined = undefined;
  /** The request's ServeInfo (the metrics read its `route` at the end). */
  info: ServeInfo | undefined = undefined;
  /** A header every response carries unless the app set it (the access log's request id). */
  #extraName: string | undefined = undefined;
  #extraLine = '';
  writableFinished = false;
  destroyed = false;
  #onClose: (() => void)[] | undefined;
  #onEnd: ((end: ExchangeEnd, exchange: this) => void) | undefined;

  constructor(connection: Connection, req: LaneRequest, keepAlive: boolean) {
    this.connection = connection;
    this.req = req;
    this.keepAlive = keepAlive;
    this.#onClose = undefined;
    this.#onEnd = undefined;
  }

  /** Sends `name: value` on the response unless the app set `name` itself. */
  addHeader(name: string, value: string): void {
    this.#extraName = name;
    this.#extraLine = `${name}: ${value}\r\n`;
  }

  /** The header `addHeader` asked for (lowercase name, and its whole line), for raw writers. */
  get extraHeader(): readonly [name: string, line: string] | undefined {
    return this.#extraName === undefined ? undefined : [this.#extraName, this.#extraLine];
  }

  /** node's `res.once('close')`, as the gateway's request and the in-flight count use it. */
  once(event: string, listener: () => void): this {
    if (event !== 'close') return this;
    if (this.#onClose === undefined) this.#onClose = [listener];
    else this.#onClose.push(listener);
    return this;
  }

  /** The one listener of the exchange's end (the server's exchange log). */
  onEnd(listener: (end: ExchangeEnd, exchange: this) => void): void {
    this.#onEnd = listener;
  }

  /** The client left before the response was complete. */
  abort(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#fireClose();
  }

  /** @internal */
  fireClose(): void {
    this.#fireClose();
  }

  #fireClose(): void {
    const listeners = this.#onClose;
    this.#onClose = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
    const onEnd = this.#onEnd;
    if (onEnd !== undefined) {
      this.#onEnd = undefined;
      const bridged = this.bridged;
      onEnd(
        bridged !== undefined
          ? responseEnd(bridged, this.req.method)
          : { status: this.writableFinished ? this.statusCode : 499, bytes: this.bytes },
        this,
      );
    }
  }

  /**
   * Writes a response whose body is known (string, bytes, none) in one write. False when the
   * response needs node (a stream or file body, a 1xx, hop-by-hop or framing headers the app
   * set itself, a value node would refuse): the caller then writes it through `bridge()`.
   */
  writeKnown(parts: FastParts, closing: boolean, encoder?: BodyEncoder): boolean {
    const status = parts.status;
    if (status < 200 || status > 999) return false;
    const ready = prepareKnownBody(parts, this.req, encoder);
    if (ready === undefined) return false;
    return this.#send(
      status,
      parts.statusText,
      ready.record,
      parts.contentType,
      ready.body,
      ready.length,
      ready.sendLength,
      closing,
    );
  }

  /**
   * The contract's `respond`: a response the server made itself (static files from memory).
   * For HEAD, `body` is the GET's body: its length is sent, not its bytes.
   */
  respond(response: KnownResponse, closing: boolean): boolean {
    const status = response.status;
    if (status < 200 || status > 999) return false;
    const body = response.body;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body === null ? 0 : body.byteLength;
    return this.#send(
      status,
      response.statusText,
      response.headers,
      response.contentType,
      body,
      length,
      status !== 204 && status !== 304,
      closing,
    );
  }

  #send(
    status: number,
    statusText: string,
    record: HeadRecord | undefined,
    contentType: string | undefined,
    body: string | Uint8Array | null,
    length: number,
    sendLength: boolean,
    closing: boolean,
  ): boolean {
    const keepAlive = this.keepAlive && !closing;
    const lane = this.connection.lane;
    const head = serializeHead(
      status,
      statusText,
      record,
      contentType,
      sendLength ? length : -1,
      this.#extraName,
      this.#extraLine,
      keepAlive ? lane.keepAliveTail : lane.closeTail,
    );
    if (head === undefined) return false;
    const socket = this.connection.socket;
    const noBody = length === 0 || isBodilessResponse(this.req.method, status);
    if (!noBody) this.bytes = length;
    let writable: boolean;
    if (!socket.writable) writable = true;
    else if (noBody) writable = socket.write(head, 'latin1');
    else if (typeof body === 'string') writable = socket.write(head + body);
    else {
      socket.cork();
      socket.write(head, 'latin1');
      writable = socket.write(body as Uint8Array);
      socket.uncork();
    }
    this.statusCode = status;
    this.#finish(keepAlive, writable);
    return true;
  }

  /**
   * A response someone else wrote straight to the socket (the reverse proxy, src/proxy/): the
   * lane records it and reads on, or closes.
   */
  wroteRaw(status: number, bytes: number, keepAlive: boolean, writable: boolean): void {
    this.statusCode = status;
    this.bytes = bytes;
    this.#finish(keepAlive, writable);
  }

  #finish(keepAlive: boolean, writable: boolean): void {
    this.writableFinished = true;
    // Like a ServerResponse, the exchange reports 'close' once it is done, on the next tick (the
    // server's metrics record learns the route after a synchronous answer has been written).
    if (this.#onClose !== undefined || this.#onEnd !== undefined) process.nextTick(closeExchange, this);
    this.connection.done(keepAlive, writable);
  }

  /**
   * A node ServerResponse on this socket for this one response, for what the lane does not
   * write itself. When it finishes, the lane reads the next request (or closes, as node would).
   */
  bridge(closing: boolean): ServerResponse {
    const socket = this.connection.socket;
    const ResponseClass = this.connection.lane.options.Response ?? ServerResponse;
    const res = new ResponseClass(this.req as unknown as IncomingMessage);
    this.bridged = res;
    const options = this.connection.lane.options;
    // What node's server sets on each response it makes (parserOnIncoming).
    res.shouldKeepAlive = this.keepAlive && !closing;
    setKeepAliveHeader(res, options.keepAliveTimeout, options.maxRequestsPerSocket);
    if (options.responseHeaders !== undefined)
      for (const [name, value] of options.responseHeaders) res.setHeader(name, value);
    if (!socket.writable) {
      // Nothing to write to: a response nobody reads, which reports itself closed.
      res.destroyed = true;
      queueMicrotask(() => res.emit('close'));
      this.abort();
      return res;
    }
    res.assignSocket(socket);
    // node's server passes the socket's 'drain' on to the response writing to it (a streamed
    // body waits for it); without node's connection listener, that is this one's job.
    const drain = (): void => {
      if (!res.writableFinished) res.emit('drain');
    };
    socket.on('drain', drain);
    res.once('close', () => {
      socket.off('drain', drain);
      // node's own close handler (the socket closed first) or ours after finish.
      if (!this.writableFinished) this.abort();
    });
    res.once('finish', () => {
      socket.off('drain', drain);
      this.statusCode = res.statusCode;
      res.detachSocket(socket);
      process.nextTick(emitCloseOnce, res);
      this.#finish(res.shouldKeepAlive && !closesConnection(res), true);
    });
    return res;
  }
}

function closeExchange(exchange: Exchange): void {
  exchange.fireClose();
}
