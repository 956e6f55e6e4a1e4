import { type IncomingMessage, ServerResponse } from 'node:http';

/**
 * The response class the server gives node (its `ServerResponse` option) while the access log
 * is on: it times the response, counts its body bytes, sends the request id, and reports to the
 * log when it closes — with fields assigned in the constructor and methods on the prototype, so
 * a request costs one listener and no closure.
 */

/** The response class node builds for each request while the log is on. */
export interface LoggedResponse extends ServerResponse {
  req: IncomingMessage;
  strataStart: number;
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
 * Marks the access log's response class: its `write` and `end` only count the body's bytes into
 * `strataBytes` and pass them on unchanged. A writer that sends body bytes past them (static
 * files' sendfile) may do so, and adds what it sent with `countBodyBytes`.
 */
const COUNTS_BYTES: unique symbol = Symbol('strata.countsBytes');

const NODE_WRITE = ServerResponse.prototype.write;
const NODE_END = ServerResponse.prototype.end;

/**
 * Whether body bytes may bypass `res.write`/`res.end` (go to the socket directly, as sendfile
 * does) and still be seen by whoever wraps the response: true for node's own response and for the
 * access log's (which counts them through `countBodyBytes`), false when anything else replaced
 * `write` or `end` (compression on a node app's response, an app's own wrapper).
 */
export function bodyMayBypassWrite(res: ServerResponse): boolean {
  const write = res.write;
  const end = res.end;
  if (write === NODE_WRITE && end === NODE_END) return true;
  if ((res as { [COUNTS_BYTES]?: boolean })[COUNTS_BYTES] !== true) return false;
  const proto = Object.getPrototypeOf(res) as ServerResponse;
  return write === proto.write && end === proto.end;
}

/** Adds `n` body bytes sent past `res.write` to the access log's count (nothing on node's response). */
export function countBodyBytes(res: ServerResponse, n: number): void {
  if ((res as { [COUNTS_BYTES]?: boolean })[COUNTS_BYTES] === true) (res as LoggedResponse).strataBytes += n;
}

/** What the response class needs from the access log. */
export interface ResponseSink {
  /** The header the id is sent in, or undefined when ids are off. */
  readonly header: string | undefined;
  assignId(req: IncomingMessage): string | undefined;
  record(res: LoggedResponse): void;
}

/** A `ServerResponse` subclass that reports each response to `log` when it closes. */
export function responseClass(log: ResponseSink): typeof ServerResponse {
  const header = log.header;
  function onClose(this: LoggedResponse): void {
    log.record(this);
  }
  // Fields are assigned in the constructor (one shape); methods live on the prototype, so a
  // request costs one listener and no closure.
  class AccessLoggedResponse extends ServerResponse {
    strataStart: number;
    strataBytes: number;
    strataId: string | undefined;
    strataRefused: number;
    strataHeadLines: number;

    constructor(req: IncomingMessage, options?: object) {
      // node passes (req, { highWaterMark, rejectNonStandardBodyWrites }); @types/node knows one.
      super(...([req, options] as unknown as [IncomingMessage]));
      this.strataStart = performance.now();
      this.strataBytes = 0;
      this.strataHeadLines = req.rawHeaders.length;
      this.strataId = log.assignId(req);
      this.strataRefused = 0;
      this.on('close', onClose);
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
  (AccessLoggedResponse.prototype as { [COUNTS_BYTES]?: boolean })[COUNTS_BYTES] = true;
  return AccessLoggedResponse as typeof ServerResponse;
}
