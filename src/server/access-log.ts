import { closeSync, openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import { isBodilessResponse, rawHeaderIndex, TOKEN } from '../gateway/http.ts';
import type { RemoteAddress } from '../gateway/types.ts';
import { type AccessRecord, combinedLine, timeLocal } from './access-log-line.ts';
import type { AddressList } from './client-address.ts';
import { ServerError } from './errors.ts';
import type { Exchange, LaneRequest } from './h1/lane.ts';
import { type LoggedResponse, responseClass } from './logged-response.ts';
import { isWellFormedRequestId, RequestIdGenerator } from './request-id.ts';

/**
 * The access log: one line per request, written when the response finishes or the client goes
 * away, in the Apache/nginx combined format or as JSON, through pino's asynchronous destination
 * (sonic-boom), so that the request path makes no write syscall of its own.
 *
 * The server hands node a `ServerResponse` subclass (node's `ServerResponse` option), so that
 * every response — the app's, a static file, a node app's, the server's own refusals — is
 * timed, counted and logged without a closure or a lookup table per request. Off by default;
 * when off, node's own class is used and nothing here runs.
 */

/** How `X-Request-Id` is handled. */
export interface AccessLogRequestIdOptions {
  /** Header read (when trusted) and written. Default `x-request-id`. */
  header?: string;
  /**
   * Whose incoming id is taken (when well formed): `proxy` — only from a peer in `trustProxy`
   * (default); `always` — from anyone; `never` — every id is made here.
   */
  trust?: 'proxy' | 'always' | 'never';
}

/** The `accessLog` option of `serve()` in its object form. */
export interface AccessLogOptions {
  /** `combined` (Apache/nginx combined, plus latency and request id) or `json`. Default `combined`. */
  format?: 'combined' | 'json';
  /** `stdout`, or a file path (appended to; reopened on SIGUSR1). Default `stdout`. */
  destination?: string;
  /** Request ids (see above), or `false` for none: no header read or written, `-` in the log. */
  requestId?: AccessLogRequestIdOptions | false;
  /**
   * Bytes of lines gathered before one write (nginx's `buffer=`); `0` writes each line as it
   * comes (still asynchronously). Default 65536.
   */
  bufferSize?: number;
  /** Longest time, in ms, a line waits in the buffer (nginx's `flush=`). Default 1000. */
  flushInterval?: number;
}

/** Defaults of the access log, in one place; docs/server.md shows the same. */
export const ACCESS_LOG_DEFAULTS = {
  format: 'combined',
  destination: 'stdout',
  requestIdHeader: 'x-request-id',
  requestIdTrust: 'proxy',
  bufferSize: 65_536,
  flushInterval: 1000,
} as const;

interface ResolvedAccessLog {
  format: 'combined' | 'json';
  destination: string;
  /** Lowercase header name, or undefined when request ids are off. */
  header: string | undefined;
  trust: 'proxy' | 'always' | 'never';
  bufferSize: number;
  flushInterval: number;
}

/** Checks the option, naming the bad part; undefined when the log is off. */
export function resolveAccessLog(
  option: boolean | AccessLogOptions | undefined,
): ResolvedAccessLog | undefined {
  if (option === undefined || option === false) return undefined;
  const o: AccessLogOptions = option === true ? {} : option;
  if (typeof o !== 'object' || o === null)
    throw new TypeError(`serve(): option accessLog must be true, false or an object, got ${String(option)}`);
  const format = o.format ?? ACCESS_LOG_DEFAULTS.format;
  if (format !== 'combined' && format !== 'json')
    throw new TypeError(`serve(): accessLog.format must be 'combined' or 'json', got ${String(format)}`);
  const destination = o.destination ?? ACCESS_LOG_DEFAULTS.destination;
  if (typeof destination !== 'string' || destination === '')
    throw new TypeError(
      `serve(): accessLog.destination must be 'stdout' or a file path, got ${String(destination)}`,
    );
  let header: string | undefined;
  let trust: ResolvedAccessLog['trust'] = ACCESS_LOG_DEFAULTS.requestIdTrust;
  if (o.requestId !== false) {
    header = (o.requestId?.header ?? ACCESS_LOG_DEFAULTS.requestIdHeader).toLowerCase();
    if (!TOKEN.test(header))
      throw new TypeError(
        `serve(): accessLog.requestId.header is not a header name: ${JSON.stringify(header)}`,
      );
    trust = o.requestId?.trust ?? trust;
    if (trust !== 'proxy' && trust !== 'always' && trust !== 'never')
      throw new TypeError(
        `serve(): accessLog.requestId.trust must be 'proxy', 'always' or 'never', got ${String(trust)}`,
      );
  }
  const bufferSize = o.bufferSize ?? ACCESS_LOG_DEFAULTS.bufferSize;
  if (!Number.isInteger(bufferSize) || bufferSize < 0 || bufferSize > 1_048_576)
    throw new TypeError(
      `serve(): accessLog.bufferSize must be an integer from 0 to 1048576, got ${String(bufferSize)}`,
    );
  const flushInterval = o.flushInterval ?? ACCESS_LOG_DEFAULTS.flushInterval;
  if (!Number.isInteger(flushInterval) || flushInterval < 1)
    throw new TypeError(
      `serve(): accessLog.flushInterval must be a positive integer (ms), got ${String(flushInterval)}`,
    );
  return { format, destination, header, trust, bufferSize, flushInterval };
}

/** What the server shares with the log. */
export interface AccessLogContext {
  /** Trusted proxies (for the client address and for taking request ids). */
  trusted: AddressList;
  /** The client address behind trusted proxies; the socket's peer when absent. */
  remoteOf: ((req: IncomingMessage) => RemoteAddress) | undefined;
  /** Where the log's own failures (a file that cannot be written) are reported. */
  log: Logger;
}

// sonic-boom in contentMode 'buffer' takes Buffers; its types only know strings.
type Destination = Omit<ReturnType<typeof pino.destination>, 'write'> & { write(data: Buffer): boolean };

/** The access log of one server. */
export class AccessLog {
  /** The `ServerResponse` class to give node's `createServer`. */
  readonly Response: typeof ServerResponse;
  readonly #config: ResolvedAccessLog;
  readonly #context: AccessLogContext;
  readonly #destination: Destination;
  readonly #json: boolean;
  readonly #ids: RequestIdGenerator;
  readonly #onSignal: (() => void) | undefined;
  readonly #bufferSize: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #capacity: number;
  #buffer: Buffer;
  #offset: number;
  #closed: boolean;
  #second: number;
  #millisecond: number;
  #iso: string;
  #time: string;
  /** The upstream that answered each proxied request (the proxy notes it). */
  readonly #upstreams = new WeakMap<object, string>();

  constructor(config: ResolvedAccessLog, context: AccessLogContext) {
    this.#config = config;
    this.#context = context;
    this.#ids = new RequestIdGenerator();
    this.#second = -1;
    this.#millisecond = -1;
    this.#iso = '';
    this.#time = '';
    this.#bufferSize = config.bufferSize;
    // Room for bufferSize and then some, so that a line that crosses the threshold still fits.
    this.#capacity = config.bufferSize + 16_384;
    this.#buffer = Buffer.allocUnsafe(this.#capacity);
    this.#offset = 0;
    this.#closed = false;
    const toFile = config.destination !== 'stdout';
    if (toFile) {
      // Fail at startup, with the path, rather than on the first request.
      try {
        closeSync(openSync(config.destination, 'a'));
      } catch (err) {
        throw new ServerError(
          'STRATA_ERR_ACCESS_LOG_OPEN',
          `Cannot open the access log ${config.destination}: ${(err as Error).message}; check the path and its permissions`,
          { cause: err },
        );
      }
    }
    // Lines are encoded into one Buffer until bufferSize, which is handed over whole at least
    // every flushInterval (an unref'd timer): one write per a few dozen requests under load, not
    // one per request. The buffering is ours, and the destination takes Buffers: with strings,
    // sonic-boom measures its whole pending string on every write, and the string ropes the
    // lines make cost more to flatten and encode than the lines cost to format (measured with
    // bench/access-log.ts).
    // Each asynchronous write costs ~10 µs of CPU here (a thread-pool round trip, measured with
    // fs.write of 4 KiB to /dev/null), and more under load, whatever its size: hence 64 KiB by
    // default (nginx's usual buffer=64k), ~400 lines per write.
    const mode = {
      sync: false,
      contentMode: 'buffer' as const,
      maxWrite: Math.max(16_384, config.bufferSize * 2),
    };
    this.#destination = pino.destination(
      toFile ? { dest: config.destination, append: true, ...mode } : { fd: 1, ...mode },
    ) as unknown as Destination;
    this.#timer =
      config.bufferSize > 0 ? setInterval(() => this.flush(), config.flushInterval).unref() : undefined;
    this.#destination.on('error', (err: unknown) => context.log.error({ err }, 'access log write failed'));
    this.#json = config.format === 'json';
    // logrotate's convention (nginx's too): rename the file, then SIGUSR1 makes the server
    // reopen the path and write to the new file.
    this.#onSignal = toFile ? () => this.reopen() : undefined;
    if (this.#onSignal !== undefined) process.on('SIGUSR1', this.#onSignal);
    this.Response = responseClass(this);
  }

  /** Reopens the file (after it was renamed by logrotate). */
  reopen(): void {
    try {
      // What is buffered belongs to the old file: hand it over before the reopen, which
      // sonic-boom holds until the write in progress is done.
      this.flush();
      this.#destination.reopen();
    } catch (err) {
      this.#context.log.error({ err }, 'access log reopen failed');
    }
  }

  /** The request id for a new request; rewrites the request's header to it (see below). */
  assignId(req: IncomingMessage): string | undefined {
    const header = this.#config.header;
    if (header === undefined) return undefined;
    // Already given by the fast lane, which then bridged the response to this log's class.
    const given = (req as { strataRequestId?: string }).strataRequestId;
    if (given !== undefined) return given;
    const raw = req.rawHeaders;
    const at = rawHeaderIndex(raw, header);
    if (at !== -1) {
      const incoming = raw[at]!;
      const trust = this.#config.trust;
      if (
        trust !== 'never' &&
        isWellFormedRequestId(incoming) &&
        (trust === 'always' || this.#context.trusted.has(req.socket?.remoteAddress ?? ''))
      ) {
        return incoming;
      }
    }
    // The app must see the id the log writes: replace (or add) the header before the gateway
    // or a node app reads it. rawHeaders is what the gateway reads; node has already built
    // req.headers by now, so it is set too. Repeats of the header are dropped, not kept.
    const id = this.#ids.next();
    if (at === -1) raw.push(header, id);
    else {
      raw[at] = id;
      for (let i = at + 1; i < raw.length; i += 2) {
        if (raw[i]!.length === header.length && raw[i]!.toLowerCase() === header) {
          raw.splice(i, 2);
          i -= 2;
        }
      }
    }
    req.headers[header] = id;
    return id;
  }

  /** The header name ids are sent in, or undefined when ids are off. */
  get header(): string | undefined {
    return this.#config.header;
  }

  /** The proxy's note of the upstream that answers `req` (logged as `upstream`). */
  readonly noteUpstream = (req: object, upstream: string): void => {
    this.#upstreams.set(req, upstream);
  };

  /** Writes the line of a finished (or abandoned) response. */
  record(res: LoggedResponse): void {
    const req = res.req;
    const ms = performance.now() - res.strataStart;
    const status = res.headersSent ? res.statusCode : res.strataRefused !== 0 ? res.strataRefused : 499;
    let bytes = res.strataBytes;
    if (status < 200 || isBodilessResponse(req.method, status)) bytes = 0;
    else if (bytes === 0 && res.writableFinished) {
      // A body written past `res` (straight to the socket) is known by its declared length.
      const length = Number(res.getHeader('content-length'));
      if (length > 0) bytes = length;
    }
    this.#request(req, status, bytes, ms, res.strataId);
  }

  /** The line of a request: what it asked, and how it was answered. */
  #request(
    req: IncomingMessage,
    status: number,
    bytes: number,
    ms: number,
    requestId: string | undefined,
  ): void {
    const remoteOf = this.#context.remoteOf;
    const headers = req.headers;
    this.write({
      remote: remoteOf !== undefined ? remoteOf(req).address : (req.socket?.remoteAddress ?? ''),
      method: req.method ?? '',
      url: req.url ?? '',
      protocol: `HTTP/${req.httpVersion}`,
      status,
      bytes,
      ms,
      referer: headers.referer,
      userAgent: headers['user-agent'],
      requestId,
      upstream: this.#upstreams.get(req),
    });
  }

  /**
   * The line of a WebSocket handshake, once it has ended: `101`, a refusal written straight to
   * the socket, the app's own answer, or 499 when the client left first.
   */
  handshake(req: IncomingMessage, status: number, startedAt: number, requestId: string | undefined): void {
    this.#request(req, status, 0, performance.now() - startedAt, requestId);
  }

  /**
   * Starts the line of a request on the fast lane: its id (sent on the response), and the line
   * written when the exchange ends — unless the response went out bridged, through this log's
   * response class, which writes its own.
   */
  laneRequest(req: LaneRequest, exchange: Exchange): void {
    const start = performance.now();
    const id = this.assignId(req as unknown as IncomingMessage);
    if (id !== undefined) {
      req.strataRequestId = id;
      exchange.addHeader(this.#config.header!, id);
    }
    exchange.once('close', () => {
      if (exchange.bridged) return;
      this.#request(
        req as unknown as IncomingMessage,
        exchange.writableFinished ? exchange.statusCode : 499,
        exchange.bytes,
        performance.now() - start,
        id,
      );
    });
  }

  /**
   * A status the server wrote straight to the socket: on the response in progress (a 408 when
   * the body is too slow), or, when there is none, as a line of its own (the parser's 400, 431,
   * 501, a 408 for headers too slow).
   */
  refused(socket: Socket, status: number, current: ServerResponse | null | undefined): void {
    if (current != null) {
      if (current instanceof this.Response) (current as LoggedResponse).strataRefused = status;
      return;
    }
    this.write({
      remote: socket.remoteAddress ?? '',
      method: '',
      url: '',
      protocol: '',
      status,
      bytes: 0,
      ms: 0,
      referer: undefined,
      userAgent: undefined,
      requestId: undefined,
    });
  }

  write(r: AccessRecord): void {
    if (this.#json) {
      // Under load many lines share a millisecond: format its time once.
      const now = Date.now();
      if (now !== this.#millisecond) {
        this.#millisecond = now;
        this.#iso = new Date(now).toISOString();
      }
      // The fields in a fixed order, time first; no pino level or pid (an access log is not a
      // diagnostic log), so the line is built here and handed to pino's destination as is.
      const line = JSON.stringify({
        time: this.#iso,
        remote: r.remote,
        method: r.method === '' ? null : r.method,
        url: r.method === '' ? null : r.url,
        protocol: r.protocol === '' ? null : r.protocol,
        status: r.status,
        bytes: r.bytes,
        ms: Math.round(r.ms * 1000) / 1000,
        referer: r.referer ?? null,
        userAgent: r.userAgent ?? null,
        requestId: r.requestId ?? null,
        // Only on proxied requests (JSON.stringify leaves an undefined out).
        upstream: r.upstream,
      });
      this.#append(`${line}\n`);
      return;
    }
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#time = timeLocal(new Date(now));
    }
    this.#append(combinedLine(r, this.#time));
  }

  #append(line: string): void {
    if (this.#closed) return;
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: make sure the line fits.
    const worst = line.length * 3;
    if (worst > this.#capacity - this.#offset) {
      this.flush();
      if (worst > this.#capacity) {
        this.#destination.write(Buffer.from(line));
        return;
      }
    }
    this.#offset += this.#buffer.write(line, this.#offset);
    if (this.#offset >= this.#bufferSize) this.flush();
  }

  /** Hands the buffered lines to the destination now. */
  flush(): void {
    if (this.#offset === 0 || this.#closed) return;
    // The destination keeps the bytes until they are written: give it this buffer, take a new one.
    this.#destination.write(this.#buffer.subarray(0, this.#offset));
    this.#buffer = Buffer.allocUnsafe(this.#capacity);
    this.#offset = 0;
  }

  /** Stops listening for SIGUSR1 and flushes what is buffered. */
  close(): Promise<void> {
    if (this.#onSignal !== undefined) process.off('SIGUSR1', this.#onSignal);
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.flush();
    this.#closed = true;
    const destination = this.#destination;
    if ((destination as unknown as { destroyed: boolean }).destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      destination.once('close', () => resolve());
      destination.once('error', () => resolve());
      destination.end();
    });
  }
}
