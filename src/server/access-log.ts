import { closeSync, openSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import { rawHeader, rawHeaderIndex, TOKEN } from '../gateway/http.ts';
import type { RemoteAddress } from '../gateway/types.ts';
import { type AccessRecord, combinedLine, timeLocal } from './access-log-line.ts';
import type { AddressList } from './client-address.ts';
import { ServerError } from './errors.ts';
import type { ExchangeRequest } from './exchange.ts';
import { isWellFormedRequestId, RequestIdGenerator } from './request-id.ts';

/**
 * The access log: one line per request, written when the response finishes or the client goes
 * away, in the Apache/nginx combined format or as JSON, through pino's asynchronous destination
 * (sonic-boom), so that the request path makes no write syscall of its own.
 *
 * Lines are written by the server's one record of an exchange's end (`ExchangeLog`,
 * exchange-log.ts), whatever transport carried it. Off by default; when off, nothing here runs.
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

/** What a request id is read from and written to. */
interface IdRequest {
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined } | null;
}

/** What a line is made of: the request, as node's IncomingMessage and the lane's name it. */
export interface LoggedRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly socket: { readonly remoteAddress?: string | undefined } | null;
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

  /**
   * The request id for a new request: a well-formed one the client sent (when trusted), or a new
   * one; rewrites the request's header to it, so that the app sees the id the log writes.
   * `parsed`: whether `req.headers` is built already (a lane request builds it from rawHeaders
   * on first read, so it is left alone).
   */
  assignId(req: IdRequest, parsed = true): string | undefined {
    const header = this.#config.header;
    if (header === undefined) return undefined;
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
    // rawHeaders is what the gateway reads; node has already built req.headers by now, so it is
    // set too. Repeats of the header are dropped, not kept.
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
    if (parsed) req.headers[header] = id;
    return id;
  }

  /**
   * The request id of an exchange's request (a lane request builds its `headers` from
   * rawHeaders on first read: written there only when built already).
   */
  exchangeId(req: ExchangeRequest): string | undefined {
    return this.assignId(req, req.headersParsed);
  }

  /** The header name ids are sent in, or undefined when ids are off. */
  get header(): string | undefined {
    return this.#config.header;
  }

  /** The proxy's note of the upstream that answers `req` (logged as `upstream`). */
  readonly noteUpstream = (req: object, upstream: string): void => {
    this.#upstreams.set(req, upstream);
  };

  /** The line of a request: what it asked, and how it was answered. */
  line(req: LoggedRequest, status: number, bytes: number, ms: number, requestId: string | undefined): void {
    const remoteOf = this.#context.remoteOf;
    // From rawHeaders (node keeps the first of each, as here): a lane request then never
    // builds its headers object for the log.
    const raw = req.rawHeaders;
    this.write({
      // remoteOf reads the socket and the forwarding headers, which every request has.
      remote:
        remoteOf !== undefined ? remoteOf(req as IncomingMessage).address : (req.socket?.remoteAddress ?? ''),
      method: req.method ?? '',
      url: req.url ?? '',
      protocol: `HTTP/${req.httpVersion}`,
      status,
      bytes,
      ms,
      referer: rawHeader(raw, 'referer'),
      userAgent: rawHeader(raw, 'user-agent'),
      requestId,
      upstream: this.#upstreams.get(req),
    });
  }

  /** The line of a refusal written straight to a socket before any request was read. */
  refusedLine(socket: Socket, status: number): void {
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
    // sonic-boom has `destroyed`; its types do not say so.
    if (Reflect.get(destination, 'destroyed') === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      destination.once('close', () => resolve());
      destination.once('error', () => resolve());
      destination.end();
    });
  }
}
