import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { BodyEncoder } from '../gateway/body-encoder.ts';
import { FastHeaders } from '../gateway/fast-headers.ts';
import type { FastParts } from '../gateway/fast-response.ts';
import { isBodilessResponse } from '../gateway/http.ts';
import type { ServeInfo } from '../gateway/types.ts';

/**
 * The exchange: one request and its response, as every transport of the server gives it to the
 * rest of the server — the dispatch, the edge policy, static files, the gateway, and the one
 * record of its end (`ExchangeLog`, exchange-log.ts). The HTTP/1.1 fast lane implements it
 * (`h1/lane.ts`); node:http's request/response pair is the fallback the lane hands over to and
 * that node-style apps run on; an HTTP/2 stream implements it next (`respond` is then a HEADERS
 * frame and a DATA frame, `bridge` node's `Http2ServerResponse`).
 *
 * ```
 *   transport ──parse──▶ ExchangeRequest ──▶ Dispatch ──▶ EdgePolicy ──▶ static │ gateway ▶ app
 *       ▲                                                                     │
 *       └──── respond(known) │ bridge() for streams, files ◀──────────────────┘
 *                     └──▶ onEnd(status, bytes) ──▶ ExchangeLog: access log + metrics
 * ```
 *
 * The shapes are node's (`method`, `url`, `rawHeaders`, `statusCode`, `once('close')`) where the
 * gateway reads them, so that one gateway serves both doors without a copy.
 */

/** A header record as node's `OutgoingHttpHeaders`: lowercase names, a value, a list, or a number. */
export type HeadRecord = Record<string, string | string[] | number | undefined>;

/**
 * A known body made ready to write, by `prepareKnownBody`: the headers (after the server's
 * compression), the body and its length, and whether a Content-Length goes out.
 */
export interface PreparedBody {
  record: HeadRecord | undefined;
  body: string | Uint8Array | null;
  length: number;
  sendLength: boolean;
  /** No body goes out (HEAD, 204, 304). */
  bodyless: boolean;
}

// One per process, refilled by each call: the writers read it at once, synchronously, so a
// known response costs no object for this step.
const PREPARED: PreparedBody = {
  record: undefined,
  body: null,
  length: 0,
  sendLength: true,
  bodyless: false,
};

/**
 * The part of writing a known body that every transport shares (the lane's and HTTP/2's
 * `writeKnown`): the body's length, the headers as a record, the bodiless rules (RFC 9110
 * §9.3.2, §15.3.5, §15.4.5: no body for HEAD, 204 and 304), and the server's compression of a
 * body small enough to compress on the loop. Undefined when the response needs node's path (a
 * stream or file body, a Headers object, a body the encoder may compress off the loop). The
 * result is shared: read it before the next call.
 */
export function prepareKnownBody(
  parts: FastParts,
  req: { readonly method: string },
  encoder: BodyEncoder | undefined,
): PreparedBody | undefined {
  const status = parts.status;
  let body = parts.body;
  let length: number;
  if (typeof body === 'string') length = Buffer.byteLength(body);
  else if (body === null) length = 0;
  else if (body instanceof Uint8Array) length = body.byteLength;
  else return undefined;
  const headers = parts.headers;
  let record: HeadRecord | undefined;
  if (headers instanceof FastHeaders) record = FastHeaders.record(headers);
  else if (headers !== undefined) return undefined;
  const method = req.method;
  const bodyless = isBodilessResponse(method, status);
  let sendLength = status !== 204 && status !== 304;
  if (encoder !== undefined && body !== null && (!bodyless || method === 'HEAD')) {
    // A body the encoder may compress off the event loop: node's path waits for it.
    if (!bodyless && length > (encoder.syncLimit ?? length)) return undefined;
    // The server's compression edits a copy of the headers (a FastHeaders record may be shared
    // by several responses), exactly as on the node path; its edits (Vary) stand even when it
    // leaves the body as it is.
    const copy: OutgoingHttpHeaders =
      record !== undefined
        ? { ...record }
        : parts.contentType !== undefined
          ? { 'content-type': parts.contentType }
          : {};
    // The encoder reads the request's method and Accept-Encoding, which an exchange's request has.
    const request = req as unknown as IncomingMessage;
    if (bodyless) {
      // HEAD: the headers of the GET (RFC 9110 §9.3.2), without its Content-Length where a
      // coding is named (the encoder deletes the one it is given).
      copy['content-length'] = length;
      encoder.encodeHead?.(request, status, copy, length, false);
      if (copy['content-length'] === undefined) sendLength = false;
    } else {
      // Never a promise at this length (BodyEncoder.syncLimit).
      const out = encoder.encodeKnown(request, status, copy, body) as string | Uint8Array;
      if (out !== body) {
        body = out;
        length = typeof out === 'string' ? Buffer.byteLength(out) : out.byteLength;
      }
    }
    record = copy;
  }
  PREPARED.record = record;
  PREPARED.body = body;
  PREPARED.length = length;
  PREPARED.sendLength = sendLength;
  PREPARED.bodyless = bodyless;
  return PREPARED;
}

/** The request head of an exchange, named as node's `IncomingMessage` names it. */
export interface ExchangeRequest {
  readonly method: string;
  /** The request target as sent (origin-form). */
  readonly url: string;
  /** Names as sent, values trimmed, in order: `[name, value, name, value, …]`. */
  readonly rawHeaders: string[];
  /** Lowercase names, repeats combined as node combines them; built on first read. */
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** `'1.1'`, `'1.0'`, `'2.0'`. */
  readonly httpVersion: string;
  /** The connection's socket (its peer address). */
  readonly socket: { readonly remoteAddress?: string | undefined } | null;
  /** Whether `headers` has been built yet (an id written into rawHeaders reaches it then). */
  readonly headersParsed: boolean;
  /** The request id the server gave it (the access log's), once given. */
  strataRequestId: string | undefined;
  /**
   * The body reader's result for a body the transport has read whole (a Content-Length body on
   * the lane, at most its `maxBody`): the gateway delivers it without a stream. Undefined for no
   * body, or one read as a stream.
   */
  readonly receivedBody?: Buffer | undefined;
}

/** A response whose body is known: what `respond` writes at once. */
export interface KnownResponse {
  status: number;
  /** The reason phrase; `''` for the standard one. */
  statusText: string;
  /** Header fields (lowercase names); `content-length` is the writer's to set from the body. */
  headers: HeadRecord | undefined;
  /** A content type for a response without `headers`. */
  contentType: string | undefined;
  body: string | Uint8Array | null;
}

/** How an exchange ended, as the access log and the metrics record it. */
export interface ExchangeEnd {
  /** The status sent, or 499 when the client left before the response was complete. */
  status: number;
  /** Body bytes sent (0 for HEAD, 1xx, 204, 304). */
  bytes: number;
}

/**
 * One request and its response on a transport: the contract every transport implements.
 *
 * A transport calls the server's dispatch once per request with its exchange; the dispatch (or
 * the handler it calls) answers it exactly once, with `respond` when the body is known, or with
 * the node-shaped writer `bridge` returns for everything else (streams, files — with sendfile(2)
 * where the socket allows it — 1xx, and answers node's own code writes: errors, refusals).
 * Listeners of `onEnd` run once, after the response is complete or the client is gone.
 */
export interface Exchange {
  readonly req: ExchangeRequest;
  /** Whether the transport keeps the connection for another request after this one. */
  readonly keepAlive: boolean;
  /**
   * Writes a response with a known body in one write (the head from `serializeHead`). False
   * when the transport leaves this response to `bridge` (framing or hop-by-hop headers the app
   * set itself, a value node would refuse, a 1xx).
   */
  respond(response: KnownResponse, closing: boolean): boolean;
  /** A node `ServerResponse` writing this one response on the transport. */
  bridge(closing: boolean): ServerResponse;
  /** Sends `name: value` on the response unless the response sets `name` itself (request ids). */
  addHeader(name: string, value: string): void;
  /**
   * Sets the one listener of the exchange's end (the server's `ExchangeLog`), run once: after
   * the response is complete, or when the client left first (499). It is given the exchange, so
   * that one listener serves every exchange without a closure per request.
   */
  onEnd(listener: (end: ExchangeEnd, exchange: this) => void): void;
  /** When the exchange log started the exchange (`performance.now()`); 0 when none records it. */
  startedAt: number;
  /** The request id the access log gave the request, if any. */
  requestId: string | undefined;
  /** The request's ServeInfo once the gateway made one (metrics read its `route` at the end). */
  info: ServeInfo | undefined;
}

let dateCache: string | undefined;
function resetDate(): void {
  dateCache = undefined;
}

/** The Date header's value (RFC 9110 §6.6.1), made once a second as node does. */
export function httpDate(): string {
  if (dateCache === undefined) {
    const now = new Date();
    dateCache = now.toUTCString();
    setTimeout(resetDate, 1000 - now.getMilliseconds()).unref();
  }
  return dateCache;
}

const STATUS_LINES: string[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`; the standard reasons' lines are made once. */
export function statusLine(status: number, text: string): string {
  if (text !== '') return `HTTP/1.1 ${status} ${text}\r\n`;
  let line = STATUS_LINES[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    STATUS_LINES[status] = line;
  }
  return line;
}

// What node's writeHead refuses in a value (checkInvalidHeaderChar): such a response goes
// through node, which throws, and the app's error answer is a 500 as on the node path.
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** `Connection` lines (and the blank line) that end every head the server serialises. */
export const CLOSE_TAIL = 'Connection: close\r\n\r\n';

/**
 * The one serialiser of response heads to HTTP/1.1 bytes (latin1), for every raw write of the
 * server: the fast lane's responses, static files from memory, the parser's refusals.
 *
 * `length` is the Content-Length to send (-1: none — 204, 304, or a HEAD whose GET's length is
 * not known); `extra` is a ready line sent unless `headers` has `extraName` (the request id);
 * `tail` is the Connection lines and the blank line. Returns undefined for a head the server must
 * leave to node's writer: framing or hop-by-hop fields set by the app (`date`, `trailer`,
 * `connection`, `keep-alive`, `transfer-encoding`), or a value node would refuse.
 */
export function serializeHead(
  status: number,
  statusText: string,
  headers: HeadRecord | undefined,
  contentType: string | undefined,
  length: number,
  extraName: string | undefined,
  extra: string,
  tail: string,
): string | undefined {
  let head = statusLine(status, statusText);
  let extraLine = '';
  if (headers === undefined) {
    if (contentType !== undefined) head += `content-type: ${contentType}\r\n`;
    if (extraName !== undefined) extraLine = extra;
  } else {
    if (extraName !== undefined && headers[extraName] === undefined) extraLine = extra;
    for (const key in headers) {
      const value = headers[key];
      if (value === undefined) continue;
      switch (key.length) {
        case 4:
          if (key === 'date') return undefined;
          break;
        case 7:
          if (key === 'trailer') return undefined;
          break;
        case 10:
          if (key === 'connection' || key === 'keep-alive') return undefined;
          break;
        case 14:
          if (key === 'content-length') continue;
          break;
        case 17:
          if (key === 'transfer-encoding') return undefined;
          break;
      }
      if (typeof value === 'string') {
        if (INVALID_VALUE.test(value)) return undefined;
        head += `${key}: ${value}\r\n`;
      } else if (typeof value === 'number') head += `${key}: ${value}\r\n`;
      else {
        for (const v of value) {
          if (INVALID_VALUE.test(v)) return undefined;
          head += `${key}: ${v}\r\n`;
        }
      }
    }
  }
  // RFC 9110 §8.6: no Content-Length on 204 and 304 (the caller passes -1).
  if (length >= 0) head += `content-length: ${length}\r\n`;
  // After the fields and the length, where node's access-logged response puts it.
  return `${head}${extraLine}Date: ${httpDate()}\r\n${tail}`;
}
