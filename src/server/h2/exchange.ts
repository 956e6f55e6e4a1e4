import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import type { BodyEncoder } from '../../gateway/body-encoder.ts';
import type { FastParts } from '../../gateway/fast-response.ts';
import { isBodilessResponse } from '../../gateway/http.ts';
import type { ServeInfo } from '../../gateway/types.ts';
import { type ExchangeEnd, type KnownResponse, prepareKnownBody } from '../exchange.ts';
import type { H2Request } from './request.ts';
import { asServerResponse, type H2ResponseClass } from './response.ts';

// What node's header validation refuses in a value: such a response goes through node's
// compatibility response, which throws, and the app's error answer is a 500 as on HTTP/1.
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * One HTTP/2 stream's request and response, with the contract of the HTTP/1.1 fast lane's
 * exchange (h1/lane.ts), so that the dispatch, the gateway's lane handler, the access log and
 * metrics serve it unchanged: a known body goes out with `stream.respond()` + `stream.end()`
 * (no compatibility objects), anything else through `bridge()` — node's compatibility response
 * on the stream.
 *
 * 'close' is the stream's: after the response has been sent, or when the client reset the
 * stream first (then `destroyed`, and the request's signal aborts).
 */
export class H2Exchange {
  readonly req: H2Request;
  readonly stream: ServerHttp2Stream;
  /** HTTP/2 has no connection-level keep-alive: every stream ends on its own. */
  readonly keepAlive = true;
  statusCode = 200;
  /** Body bytes written by `writeKnown` (0 for HEAD, 204, 304). */
  bytes = 0;
  /** Whether the response went out through `bridge()`. */
  bridged = false;
  startedAt = 0;
  requestId: string | undefined = undefined;
  info: ServeInfo | undefined = undefined;
  #onEnd: ((end: ExchangeEnd, exchange: this) => void) | undefined = undefined;
  writableFinished = false;
  destroyed = false;
  #extraName: string | undefined = undefined;
  #extraValue = '';
  #onClose: (() => void)[] | undefined = undefined;
  #response: Http2ServerResponse | undefined = undefined;
  readonly #Response: H2ResponseClass;
  /** Lines every response carries unless it sets them (HSTS over TLS). */
  readonly #fixed: readonly (readonly [string, string])[] | undefined;

  constructor(req: H2Request, Response: H2ResponseClass, fixed?: readonly (readonly [string, string])[]) {
    this.req = req;
    this.stream = req.stream;
    this.#Response = Response;
    this.#fixed = fixed;
    req.stream.once('close', this.#closed);
  }

  /** Sends `name: value` on the response unless the app set `name` itself. */
  addHeader(name: string, value: string): void {
    this.#extraName = name;
    this.#extraValue = value;
  }

  /** The exchange log's listener of this exchange's end (see `Exchange.onEnd`). */
  onEnd(listener: (end: ExchangeEnd, exchange: this) => void): void {
    this.#onEnd = listener;
  }

  /** Known bodies of the server's own (cached static files) go out through `bridge()` on HTTP/2. */
  respond(_response: KnownResponse, _closing: boolean): boolean {
    return false;
  }

  once(event: string, listener: () => void): this {
    if (event !== 'close') return this;
    if (this.#onClose === undefined) this.#onClose = [listener];
    else this.#onClose.push(listener);
    return this;
  }

  /** Ends the exchange: a stream that closed before its response was sent was abandoned. */
  readonly #closed = (): void => {
    const res = this.#response;
    if (res !== undefined) {
      this.statusCode = res.statusCode;
      // NO_ERROR: closed in order (a reset after the response was ended is the client's choice).
      // The stream's own end: a file sent from its descriptor never ends the compat response.
      if (this.stream.writableEnded && this.stream.rstCode === 0) this.writableFinished = true;
    }
    if (!this.writableFinished) this.destroyed = true;
    const onEnd = this.#onEnd;
    if (onEnd !== undefined) {
      this.#onEnd = undefined;
      let bytes = this.bytes;
      if (res !== undefined) {
        const counted = (res as { strataBytes?: number }).strataBytes ?? 0;
        bytes = isBodilessResponse(this.req.method, this.statusCode) ? 0 : counted;
      }
      onEnd(this.writableFinished ? { status: this.statusCode, bytes } : { status: 499, bytes: 0 }, this);
    }
    const listeners = this.#onClose;
    this.#onClose = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  };

  /**
   * Writes a response whose body is known (string, bytes, none) with one HEADERS and at most one
   * DATA write. False when it needs node's compatibility response (a stream or file body, a 1xx,
   * HTTP/1 connection headers the app set itself, a value node would refuse): the caller then
   * writes it through `bridge()`.
   */
  writeKnown(parts: FastParts, _closing: boolean, encoder?: BodyEncoder): boolean {
    const status = parts.status;
    if (status < 200 || status > 599) return false;
    const ready = prepareKnownBody(parts, this.req, encoder);
    if (ready === undefined) return false;
    const { record, body, length, sendLength, bodyless } = ready;
    const out: OutgoingHttpHeaders = { ':status': status };
    const extra = this.#extraName;
    if (record === undefined) {
      if (parts.contentType !== undefined) out['content-type'] = parts.contentType;
    } else {
      for (const key in record) {
        const value = record[key];
        if (value === undefined) continue;
        switch (key.length) {
          case 7:
            if (key === 'upgrade') return false;
            break;
          case 10:
            // RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2.
            if (key === 'connection' || key === 'keep-alive') return false;
            break;
          case 14:
            if (key === 'content-length') continue;
            break;
          case 16:
            if (key === 'proxy-connection') return false;
            break;
          case 17:
            if (key === 'transfer-encoding') return false;
            break;
        }
        if (typeof value === 'string') {
          if (INVALID_VALUE.test(value)) return false;
        } else if (typeof value !== 'number') {
          for (const v of value) if (INVALID_VALUE.test(v)) return false;
        }
        out[key] = value;
      }
    }
    // RFC 9110 §8.6: no Content-Length on 204 and 304.
    if (sendLength) out['content-length'] = length;
    if (extra !== undefined && out[extra] === undefined) out[extra] = this.#extraValue;
    const fixed = this.#fixed;
    if (fixed !== undefined)
      for (const [name, value] of fixed) if (out[name] === undefined) out[name] = value;
    const stream = this.stream;
    // Reset by the client while the app was answering: nothing to write to ('close' has
    // reported it, as abandoned).
    if (stream.destroyed || stream.closed) return true;
    const noBody = bodyless || length === 0;
    if (noBody) stream.respond(out, { endStream: true });
    else {
      stream.respond(out);
      stream.end(body);
      this.bytes = length;
    }
    this.statusCode = status;
    this.writableFinished = true;
    return true;
  }

  /**
   * node's compatibility response on this stream, for what `writeKnown` does not write. It only
   * counts its body bytes: the exchange reports the end (`onEnd`), bridged or not.
   */
  bridge(_closing: boolean): ServerResponse {
    const res = new this.#Response(this.req as unknown as IncomingMessage, this.stream);
    this.#response = res;
    this.bridged = true;
    const extra = this.#extraName;
    if (extra !== undefined) res.setHeader(extra, this.#extraValue);
    const fixed = this.#fixed;
    // Before the app's: a header the app sets replaces it.
    if (fixed !== undefined) for (const [name, value] of fixed) res.setHeader(name, value);
    return asServerResponse(res);
  }
}
