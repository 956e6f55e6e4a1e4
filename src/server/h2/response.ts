import { close } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import type { ServeInfo } from '../../gateway/types.ts';
import type { LoggedResponse, RecordedResponse, ResponseSink } from '../logged-response.ts';

/**
 * The response of an HTTP/2 stream on node's path (what the fast exchange does not write itself:
 * streams, files, errors, refusals, node apps): node's compatibility response, which looks like
 * a `ServerResponse`, with HTTP/1's status text left out quietly (RFC 9113 §8.3.2 has none; node
 * warns on each use) and, while the access log is on, timed, counted and logged exactly as the
 * HTTP/1 response class does (logged-response.ts).
 */
export type H2ResponseClass = new (req: IncomingMessage, stream: ServerHttp2Stream) => Http2ServerResponse;

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as { byteLength?: number } | null)?.byteLength ?? 0;
}

function ignore(): void {
  // Closing a descriptor we opened: nothing to tell anyone if it fails.
}

const RESPOND_WITH_FILE: unique symbol = Symbol('strata.h2.respondWithFile');

type FileResponder = {
  [RESPOND_WITH_FILE](
    fd: number,
    status: number,
    headers: OutgoingHttpHeaders,
    offset: number,
    length: number,
  ): void;
};

/**
 * Sends a file body on an HTTP/2 stream from its descriptor (static files' answer to sendfile on
 * HTTP/2), when `res` is an HTTP/2 stream's response whose `write` and `end` nobody wrapped
 * (compression streams instead) and nothing was sent yet. Returns false otherwise: the caller
 * writes the head and streams the file. On true, `fd` is owned and closed by the response.
 */
export function respondWithFile(
  res: ServerResponse,
  fd: number,
  status: number,
  headers: OutgoingHttpHeaders,
  offset: number,
  length: number,
): boolean {
  const responder = res as unknown as Partial<FileResponder>;
  if (typeof responder[RESPOND_WITH_FILE] !== 'function') return false;
  if (Object.hasOwn(res, 'write') || Object.hasOwn(res, 'end') || res.headersSent || res.destroyed)
    return false;
  responder[RESPOND_WITH_FILE](fd, status, headers, offset, length);
  return true;
}

const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without HTTP/1's connection-specific fields (a copy only when it has some). */
function withoutConnectionHeaders(headers: object): object {
  let out: Record<string, unknown> | undefined;
  for (const key in headers) {
    if (!CONNECTION_HEADERS.has(key.toLowerCase())) continue;
    out ??= { ...headers };
    delete out[key];
  }
  return out ?? headers;
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
 * The response class for HTTP/2 streams; `log` when the access log or metrics are on. `record`:
 * the response reports its own end to `log` (node's compatibility path); false: it only counts
 * its body bytes, and the stream's `H2Exchange` reports the end (the exchange path's bridge).
 */
export function h2ResponseClass(log: ResponseSink | undefined, record = true): H2ResponseClass {
  class H2Response extends Http2ServerResponse {
    constructor(req: IncomingMessage, stream: ServerHttp2Stream) {
      super(stream);
      // node's compatibility response reads its request from the stream, where only node's own
      // compatibility request puts it.
      Object.defineProperty(this, 'req', { value: req, writable: true, configurable: true });
    }

    override writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
      // No reason phrase in HTTP/2: drop it (a string or an undefined one) rather than have node
      // warn, and pass the headers on whichever argument they came in.
      const object = typeof reason === 'object' && reason !== null ? reason : headers;
      if (typeof object !== 'object' || object === null) return super.writeHead(statusCode);
      return super.writeHead(statusCode, withoutConnectionHeaders(object) as never);
    }

    // RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2; an app written for
    // HTTP/1.1 may set them, and node would throw (or warn): they are left out, quietly.
    override setHeader(name: string, value: number | string | readonly string[]): void {
      if (!CONNECTION_HEADERS.has(name.toLowerCase())) super.setHeader(name, value);
    }

    override appendHeader(name: string, value: string | string[]): void {
      if (!CONNECTION_HEADERS.has(name.toLowerCase())) super.appendHeader(name, value);
    }

    /**
     * A file body: `length` bytes of `fd` from `offset`, sent by node's `respondWithFD` (read
     * and framed in C++, never through a JS stream: HTTP/2's answer to sendfile). Owns `fd` and
     * closes it when the stream closes.
     */
    [RESPOND_WITH_FILE](
      fd: number,
      status: number,
      headers: OutgoingHttpHeaders,
      offset: number,
      length: number,
    ): void {
      const stream = this.stream;
      stream.once('close', () => close(fd, ignore));
      this.statusCode = status;
      const head: OutgoingHttpHeaders = { ...this.getHeaders(), ...withoutConnectionHeaders(headers) };
      this.fileHead(head, length);
      head[':status'] = status;
      stream.respondWithFD(fd, head, { offset, length });
    }

    /** What a subclass adds to a file response's head (and counts of its body). */
    fileHead(_headers: OutgoingHttpHeaders, _length: number): void {}
  }
  quietStatusMessage(H2Response.prototype);
  if (log === undefined) return H2Response;
  const header = log.header;
  function onClose(this: LoggedResponse): void {
    log!.ended(this as RecordedResponse);
  }
  class LoggedH2Response extends H2Response {
    strataStart: number;
    strataBytes: number;
    strataId: string | undefined;
    strataRefused: number;
    strataHeadLines: number;
    strataInfo: ServeInfo | undefined;

    constructor(req: IncomingMessage, stream: ServerHttp2Stream) {
      super(req, stream);
      this.strataBytes = 0;
      this.strataHeadLines = req.rawHeaders.length;
      this.strataRefused = 0;
      this.strataInfo = undefined;
      if (record) {
        this.strataStart = log!.started();
        this.strataId = log!.assignId(req);
        this.on('close', onClose);
      } else {
        this.strataStart = 0;
        this.strataId = undefined;
      }
    }

    override writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
      const id = this.strataId;
      const object = typeof reason === 'object' && reason !== null ? reason : headers;
      if (id !== undefined && !this.hasHeader(header!)) {
        if (typeof object === 'object' && object !== null && !Array.isArray(object))
          return super.writeHead(statusCode, withHeader(object, header!, id) as never);
        this.setHeader(header!, id);
      }
      return super.writeHead(statusCode, object as never);
    }

    override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      this.strataBytes += byteLength(chunk, encoding);
      return super.write(chunk as never, encoding as never, callback as never);
    }

    override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
      if (typeof chunk !== 'function' && chunk != null) this.strataBytes += byteLength(chunk, encoding);
      return super.end(chunk as never, encoding as never, callback as never);
    }

    override fileHead(headers: OutgoingHttpHeaders, length: number): void {
      const id = this.strataId;
      if (id !== undefined && headers[header!] === undefined) headers[header!] = id;
      this.strataBytes += length;
    }
  }
  return LoggedH2Response;
}

/** `statusMessage` reads '' and ignores writes (node's compatibility response warns on both). */
function quietStatusMessage(proto: object): void {
  Object.defineProperty(proto, 'statusMessage', {
    get: () => '',
    set: () => {},
    configurable: true,
  });
}

/** The shared parts' view of an HTTP/2 response: they are written against node's `ServerResponse`. */
export function asServerResponse(res: Http2ServerResponse): ServerResponse {
  // The compatibility response implements what they use (writeHead, setHeader, write, end,
  // destroy, 'close'); the types of the two classes share no declaration.
  return res as unknown as ServerResponse;
}
