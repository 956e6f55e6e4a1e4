import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodyAborted, bodyTooLarge, clientGone, type GatewayError } from './errors.ts';
import { NodeHeaders } from './node-headers.ts';

/**
 * A web `Request` over node's `IncomingMessage`, paid for on demand (the srvx model).
 *
 * `method` is node's own field; `url` is one string concatenation; headers are read from
 * `rawHeaders` in place; the body is read straight from the socket into one buffer for
 * `text()/json()/arrayBuffer()/bytes()`, and a web stream is built only for `body`. A real
 * undici `Request` is built only for `formData()`, `clone()` and `NodeRequest.toNative()`.
 * `instanceof Request` holds.
 */

const NativeRequest = globalThis.Request;
const EMPTY = Buffer.alloc(0);
// RFC 3986 §3.2.2 host (a reg-name of DNS characters, or an IPv6 literal), then an optional
// port (§3.2.3: `*DIGIT`, here at most 65535). Stricter than the URI grammar on purpose:
// sub-delims, `%`, `@`, `#`, `/` or `?` in a Host have no use in a DNS name, and are what makes
// one parser (a suffix match on the header) and another (WHATWG URL, which percent-decodes
// `a%2eevil.example` into `a.evil.example`) disagree about which host was meant.
const HOST_SHAPE =
  /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::(?:[0-9]{0,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$/;

/**
 * Whether a Host value (or an absolute-form target's authority) is a usable `host[:port]`: the
 * one rule of the stack. The server's edge answers any other Host 400 (src/server/edge-policy.ts);
 * the gateway does not build `request.url` from one (a garbage Host must not make
 * `new URL(request.url)` throw, nor name a host the edge never checked).
 */
export function isValidHost(value: string): boolean {
  return HOST_SHAPE.test(value);
}

/** What the adapter knows once per server and shares with every request. */
export interface NodeGatewayConfig {
  /** Largest request body, in bytes, that `text()/json()/…` and `body` will deliver. */
  maxBodySize: number;
  /** Whether the listener is TLS (gives `https:` URLs). */
  secure: boolean;
  /** Authority used in `request.url` when the client sent no usable `Host`. */
  defaultHost: string;
  /**
   * Per-request answer to "was the client's connection TLS?" (behind a trusted proxy that says
   * so in `X-Forwarded-Proto`); when absent, `secure` and the socket decide.
   */
  secureOf?: ((req: IncomingMessage) => boolean) | undefined;
}

export class NodeRequest {
  #req: IncomingMessage;
  #res: ServerResponse;
  #config: NodeGatewayConfig;
  #url: string | undefined;
  #headers: NodeHeaders | undefined;
  #controller: AbortController | undefined;
  #stream: ReadableStream<Uint8Array> | null | undefined;
  #used: boolean;
  #native: Request | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, config: NodeGatewayConfig) {
    this.#req = req;
    this.#res = res;
    this.#config = config;
    this.#url = undefined;
    this.#headers = undefined;
    this.#controller = undefined;
    this.#stream = undefined;
    this.#used = false;
    this.#native = undefined;
  }

  get method(): string {
    return this.#req.method!;
  }

  get url(): string {
    let url = this.#url;
    if (url === undefined) {
      url = buildUrl(this.#req, this.#config);
      this.#url = url;
    }
    return url;
  }

  get headers(): Headers {
    let headers = this.#headers;
    if (headers === undefined) {
      headers = new NodeHeaders(this.#req.rawHeaders);
      this.#headers = headers;
    }
    return headers as Headers;
  }

  /** Aborts when the client disconnects before the response has been sent in full. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = new AbortController();
      this.#controller = controller;
      const res = this.#res;
      if (res.writableFinished) return controller.signal;
      if (res.destroyed) controller.abort(clientGone());
      else {
        const c = controller;
        res.once('close', () => {
          if (!res.writableFinished) c.abort(clientGone());
        });
      }
    }
    return controller.signal;
  }

  get body(): ReadableStream<Uint8Array> | null {
    // Once a real Request took the body over (clone(), formData()), it is the body's owner.
    if (this.#native !== undefined) return this.#native.body as ReadableStream<Uint8Array> | null;
    let stream = this.#stream;
    if (stream === undefined) {
      const received = (this.#req as ReceivedBody).receivedBody;
      stream =
        !hasBody(this.#req) || this.#used
          ? null
          : received !== undefined
            ? receivedStream(received, this.#disturb)
            : bodyStream(this.#req, this.#res, this.#config, this.#disturb);
      this.#stream = stream;
    }
    return stream;
  }

  /** Fetch "disturbed": set once anything has been read from the body. */
  readonly #disturb = (): void => {
    this.#used = true;
  };

  get bodyUsed(): boolean {
    if (this.#native !== undefined) return this.#native.bodyUsed;
    return this.#used || this.#stream?.locked === true;
  }

  text(): Promise<string> {
    return this.#consume().then(decodeUtf8);
  }

  json(): Promise<unknown> {
    return this.#consume().then((buf) => JSON.parse(decodeUtf8(buf)));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#consume().then(
      (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
    );
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#consume().then((buf) => new Uint8Array(buf));
  }

  blob(): Promise<Blob> {
    return this.#consume().then(
      (buf) => new Blob([buf as Uint8Array<ArrayBuffer>], { type: this.headers.get('content-type') ?? '' }),
    );
  }

  formData(): Promise<FormData> {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    return this.#toNative().formData();
  }

  clone(): Request {
    if (this.bodyUsed) throw new TypeError('Request.clone: Body has already been consumed');
    return this.#toNative().clone();
  }

  get cache(): RequestCache {
    return 'default';
  }
  get credentials(): RequestCredentials {
    return 'same-origin';
  }
  get destination(): RequestDestination {
    return '';
  }
  get integrity(): string {
    return '';
  }
  get keepalive(): boolean {
    return false;
  }
  get mode(): RequestMode {
    return 'cors';
  }
  get redirect(): RequestRedirect {
    return 'follow';
  }
  get referrer(): string {
    return 'about:client';
  }
  get referrerPolicy(): ReferrerPolicy {
    return '';
  }
  get duplex(): 'half' {
    return 'half';
  }
  get [Symbol.toStringTag](): string {
    return 'Request';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return { method: this.method, url: this.url, headers: this.headers };
  }

  /** Reads the whole body once, into one buffer, within the size limit. */
  #consume(): Promise<Buffer> {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    if (this.#native !== undefined) return this.#native.arrayBuffer().then((ab) => Buffer.from(ab));
    // A request without a body stays unused, as undici's does: it can be "read" again.
    if (!hasBody(this.#req)) return Promise.resolve(EMPTY);
    this.#used = true;
    // Someone made the web stream already: it owns the socket data now, so read through it.
    if (this.#stream != null) return readStream(this.#stream);
    // A body the server read with the head (the fast lane's, never over maxBodySize).
    const received = (this.#req as ReceivedBody).receivedBody;
    if (received !== undefined) return Promise.resolve(received);
    return readBody(this.#req, this.#res, this.#config.maxBodySize);
  }

  #toNative(): Request {
    let native = this.#native;
    if (native === undefined) {
      const body = this.body;
      const init: RequestInit & { duplex: 'half' } = {
        method: this.method,
        headers: NodeHeaders.toNative(this.headers as NodeHeaders),
        signal: this.signal,
        duplex: 'half',
      };
      if (body !== null) init.body = body;
      native = new NativeRequest(this.url, init);
      this.#native = native;
    }
    return native;
  }

  /**
   * A real undici `Request` equivalent to this one, for APIs that brand-check their argument
   * (`fetch(request)`, `new Request(request)`). Its body is this request's body stream.
   */
  static toNative(request: Request): Request {
    return request instanceof NodeRequest ? request.#toNative() : request;
  }
}

Object.setPrototypeOf(NodeRequest.prototype, NativeRequest.prototype);

/**
 * A real undici `Request` for a request the gateway made lazily, for the APIs that brand-check
 * their argument (`fetch(request)`, `new Request(request)`); any other request is returned as is.
 *
 * @example
 * app.all('/mirror/*', (c) => fetch(toNativeRequest(c.req)));
 */
export function toNativeRequest(request: Request): Request {
  return NodeRequest.toNative(request);
}

function buildUrl(req: IncomingMessage, config: NodeGatewayConfig): string {
  // Without a per-request answer, the socket says (a TLS listener's, as `info.secure` reads it).
  const secure =
    config.secureOf !== undefined
      ? config.secureOf(req)
      : config.secure || (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
  const scheme = secure ? 'https://' : 'http://';
  const target = req.url ?? '/';
  if (target.charCodeAt(0) !== 47 /* / */) {
    // RFC 9112 §3.2.2: absolute-form (sent to proxies); its authority wins over Host.
    if (target === '*') return `${scheme}${requestHost(req, config)}/*`;
    try {
      const parsed = new URL(target);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
        return `${scheme}${parsed.host}${parsed.pathname}${parsed.search}`;
      }
    } catch {
      // Not a URL: fall through and treat it as a path relative to the root.
    }
    return `${scheme}${requestHost(req, config)}/${target}`;
  }
  return `${scheme}${requestHost(req, config)}${target}`;
}

// Clients send the same Host on every request: remember the last one that passed the check.
// Shared by every request (and server) of the process, but it is only ever compared with the
// request's own Host and returns that value: one request's Host cannot reach another's URL.
let lastGoodHost = '';

function requestHost(req: IncomingMessage, config: NodeGatewayConfig): string {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === 4 && (key === 'Host' || key === 'host' || key.toLowerCase() === 'host')) {
      const value = raw[i + 1]!;
      if (value === lastGoodHost) return value;
      // The shape check is cheap; the WHATWG parser then refuses what it would refuse later
      // (a port over 65535, a bad IPv4 or IPv6 literal, a stray '%').
      if (!isValidHost(value) || !URL.canParse(`http://${value}/`)) return config.defaultHost;
      lastGoodHost = value;
      return value;
    }
  }
  return config.defaultHost;
}

/**
 * A request whose whole body the server has read already (the fast lane's Content-Length bodies
 * that arrive with their head): the gateway delivers it from `receivedBody` instead of reading
 * the request as a stream. The server guarantees it is within `maxBodySize`.
 */
export interface ReceivedBody {
  readonly receivedBody?: Buffer | undefined;
}

/** A request that knows from its framing whether a body follows its head (an HTTP/2 stream's). */
export interface DeclaredBody {
  readonly bodyFollows?: boolean | undefined;
}

/** A web stream of a body already received: one chunk. */
function receivedStream(body: Buffer, disturb: () => void): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        disturb();
        if (!sent) {
          sent = true;
          // A copy: the view must not reach the rest of the socket read it came in (a next request).
          controller.enqueue(new Uint8Array(body));
        } else controller.close();
      },
    },
    // highWaterMark 0: as for a streamed body, pulled (and so disturbed) only when read.
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}

/** Whether the request carries a body (RFC 9112 §6.3: Content-Length or Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 says so in its framing (no END_STREAM on HEADERS), with or without a Content-Length.
  const follows = (req as DeclaredBody).bodyFollows;
  if (follows !== undefined) return follows;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === 14) {
      if (key.toLowerCase() === 'content-length') return raw[i + 1] !== '0';
    } else if (key.length === 17 && key.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

/** Strips a UTF-8 BOM as the Fetch spec's "UTF-8 decode" does. */
function decodeUtf8(buf: Buffer): string {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
    return buf.toString('utf8', 3);
  return buf.toString('utf8');
}

/** Marks the connection for closing: an unread or refused body must not be read to its end. */
function closeAfterResponse(res: ServerResponse): void {
  if (!res.headersSent) res.shouldKeepAlive = false;
}

async function readStream(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
  }
}

function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  // The client may be gone already: its 'close' will not fire again.
  if (req.destroyed && !req.complete) return Promise.reject(bodyAborted());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (err: GatewayError | Error): void => {
      cleanup();
      closeAfterResponse(res);
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) fail(bodyTooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => {
      if (!req.complete) fail(bodyAborted());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function bodyStream(
  req: IncomingMessage,
  res: ServerResponse,
  config: NodeGatewayConfig,
  disturb: () => void,
): ReadableStream<Uint8Array> {
  const limit = config.maxBodySize;
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (req.destroyed && !req.complete) {
          controller.error(bodyAborted());
          return;
        }
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            closeAfterResponse(res);
            req.pause();
            req.removeAllListeners('data');
            controller.error(bodyTooLarge(limit));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) req.pause();
        });
        req.once('end', () => controller.close());
        req.once('error', (err) => controller.error(err));
        req.once('close', () => {
          if (!req.complete) {
            try {
              controller.error(bodyAborted());
            } catch {
              // Already closed or errored: nothing more to tell the reader.
            }
          }
        });
      },
      pull() {
        disturb();
        req.resume();
      },
      cancel() {
        // The app does not want the rest: don't keep the connection to drain it.
        closeAfterResponse(res);
        req.pause();
      },
    },
    // highWaterMark 0: pull() runs only when a consumer reads, so it marks the body disturbed
    // then, and not when the stream is merely created (a middleware checking `request.body`).
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}
