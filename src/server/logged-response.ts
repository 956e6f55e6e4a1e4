import { type IncomingMessage, ServerResponse } from 'node:http';
import { isBodilessResponse } from '../gateway/http.ts';
import type { ServeInfo } from '../gateway/types.ts';
import type { ExchangeEnd } from './exchange.ts';

/**
 * The response classes the server gives node (its `ServerResponse` option) and the fast lane's
 * bridge while the access log or the metrics are on: they count the body's bytes and send the
 * request id; the node path's class also reports its end to the `ExchangeLog` — with fields
 * assigned in the constructor and methods on the prototype, so a request costs one listener and
 * no closure. (A bridged lane response only counts: the lane's exchange reports its end.)
 */

/** A response whose body bytes are counted (both classes). */
export interface LoggedResponse extends ServerResponse {
  req: IncomingMessage;
  strataBytes: number;
  strataId: string | undefined;
  /** The status the server wrote straight to the socket (a 408 timeout), 0 if none. */
  strataRefused: number;
  /**
   * `rawHeaders.length` as the client sent it, before the request id was added to it: what
   * `maxHeaderCount` counts (a request with exactly that many lines is not over it).
   */
  strataHeadLines: number;
}

/** A node-path response, which reports its own end. */
export interface RecordedResponse extends LoggedResponse {
  /** `performance.now()` when the request arrived. */
  strataStart: number;
  /** The request's ServeInfo (its `route` is read at the end), once the gateway made one. */
  strataInfo: ServeInfo | undefined;
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as { byteLength?: number } | null)?.byteLength ?? 0;
}

/** `headers` plus `name: value`, unless it already has `name` (in any case); never mutated. */
function withHeader(headers: object, name: string, value: string): object {
  const len = name.length;
  for (const key in headers) if (key.length === len && key.toLowerCase() === name) return headers;
  const out: Record<string, unknown> = { ...headers };
  out[name] = value;
  return out;
}

/**
 * Marks the counting response classes: their `write` and `end` only count the body's bytes into
 * `strataBytes` and pass them on unchanged. A writer that sends body bytes past them (static
 * files' sendfile) may do so, and adds what it sent with `countBodyBytes`.
 */
const COUNTS_BYTES: unique symbol = Symbol('strata.countsBytes');

// node's server makes each response with (req, { highWaterMark, rejectNonStandardBodyWrites });
// @types/node's constructor names the request only: the same class, typed as node calls it.
const NodeServerResponse = ServerResponse as typeof ServerResponse &
  (new (
    req: IncomingMessage,
    options?: object,
  ) => ServerResponse);

const NODE_WRITE = ServerResponse.prototype.write;
const NODE_END = ServerResponse.prototype.end;

function counts(res: ServerResponse): boolean {
  return (res as { [COUNTS_BYTES]?: boolean })[COUNTS_BYTES] === true;
}

/**
 * Whether body bytes may bypass `res.write`/`res.end` (go to the socket directly, as sendfile
 * does) and still be seen by whoever wraps the response: true for node's own response and for the
 * counting ones (which count them through `countBodyBytes`), false when anything else replaced
 * `write` or `end` (compression on a node app's response, an app's own wrapper).
 */
export function bodyMayBypassWrite(res: ServerResponse): boolean {
  const write = res.write;
  const end = res.end;
  if (write === NODE_WRITE && end === NODE_END) return true;
  if (!counts(res)) return false;
  const proto = Object.getPrototypeOf(res) as ServerResponse;
  return write === proto.write && end === proto.end;
}

/** Adds `n` body bytes sent past `res.write` to the count (nothing on node's own response). */
export function countBodyBytes(res: ServerResponse, n: number): void {
  if (counts(res)) (res as LoggedResponse).strataBytes += n;
}

/**
 * How a response written by node ended: its status (a refusal the server wrote past it, or 499
 * when the client left first) and its body bytes — counted when the class counts them, else its
 * declared length.
 */
export function responseEnd(res: ServerResponse, method: string | undefined): ExchangeEnd {
  const refused = counts(res) ? (res as LoggedResponse).strataRefused : 0;
  const status = res.headersSent ? res.statusCode : refused !== 0 ? refused : 499;
  let bytes = counts(res) ? (res as LoggedResponse).strataBytes : 0;
  if (status < 200 || isBodilessResponse(method, status)) bytes = 0;
  else if (bytes === 0 && res.writableFinished) {
    // A body written past `res` (straight to the socket) is known by its declared length.
    const length = Number(res.getHeader('content-length'));
    if (length > 0) bytes = length;
  }
  return { status, bytes };
}

/** What the response classes need from the server's exchange log. */
export interface ResponseSink {
  /** The header the id is sent in, or undefined when ids are off. */
  readonly header: string | undefined;
  /** The id of a node-path request (made, or taken from a trusted client). */
  assignId(req: IncomingMessage): string | undefined;
  /** Counts a node-path request in flight; returns its start time. */
  started(): number;
  /** The end of a node-path response. */
  ended(res: RecordedResponse): void;
}

/** The two classes: `Recorded` for node's requests, `Counting` for the lane's bridged responses. */
export interface ResponseClasses {
  Recorded: typeof ServerResponse;
  Counting: typeof ServerResponse;
}

/** The response classes that count bytes and send ids; `Recorded` reports to `sink` when it closes. */
export function responseClasses(sink: ResponseSink): ResponseClasses {
  const header = sink.header;
  function onClose(this: RecordedResponse): void {
    sink.ended(this);
  }
  // Fields are assigned in the constructor (one shape); methods live on the prototype, so a
  // request costs one listener and no closure.
  class CountingResponse extends NodeServerResponse {
    strataBytes: number;
    strataId: string | undefined;
    strataRefused: number;
    strataHeadLines: number;

    constructor(req: IncomingMessage, options?: object) {
      super(req, options);
      this.strataBytes = 0;
      this.strataHeadLines = req.rawHeaders.length;
      // A lane request carries the id its exchange was given.
      this.strataId = (req as { strataRequestId?: string }).strataRequestId;
      this.strataRefused = 0;
    }

    override writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
      const id = this.strataId;
      if (id !== undefined && !this.hasHeader(header!)) {
        // Into a copy of the headers object rather than setHeader(): once a header is set that
        // way, node merges every other one through setHeader too (its slow path, measured).
        if (typeof reason === 'object' && reason !== null && !Array.isArray(reason))
          return super.writeHead(statusCode, withHeader(reason, header!, id) as never);
        if (typeof headers === 'object' && headers !== null && !Array.isArray(headers))
          return super.writeHead(statusCode, reason as never, withHeader(headers, header!, id) as never);
        this.setHeader(header!, id);
      }
      return super.writeHead(statusCode, reason as never, headers as never);
    }

    override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      this.strataBytes += byteLength(chunk, encoding);
      return super.write(chunk, encoding as never, callback as never);
    }

    override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
      if (typeof chunk !== 'function' && chunk != null) this.strataBytes += byteLength(chunk, encoding);
      return super.end(chunk as never, encoding as never, callback as never);
    }
  }
  (CountingResponse.prototype as { [COUNTS_BYTES]?: boolean })[COUNTS_BYTES] = true;

  class RecordedNodeResponse extends CountingResponse {
    strataStart: number;
    strataInfo: ServeInfo | undefined;

    constructor(req: IncomingMessage, options?: object) {
      super(req, options);
      this.strataStart = sink.started();
      this.strataInfo = undefined;
      this.strataId = sink.assignId(req);
      this.on('close', onClose);
    }
  }
  return {
    Recorded: RecordedNodeResponse as typeof ServerResponse,
    Counting: CountingResponse as typeof ServerResponse,
  };
}
