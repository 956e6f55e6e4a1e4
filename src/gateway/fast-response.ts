/**
 * A `Response` that keeps what it was built from until someone needs more.
 *
 * undici's `Response` costs about 12 µs to build for `Response.json({hello: 'world'})` on Node 24
 * (measured: 1e6 constructions in 12.8 s), more than node:http spends on a whole request. This
 * class stores the body and init as given and builds the real undici `Response` only when a
 * caller asks for something only it can give (`body` as a stream, `formData()`, `clone()`).
 * The Node gateway reads the stored parts directly and writes them without web streams.
 *
 * It only helps when apps construct it, so `installFastResponse()` puts it in
 * `globalThis.Response`: an explicit, documented replacement (docs/gateway.md), done by `serve()`
 * unless `fastResponse: false`. `instanceof Response` stays true both ways: for responses built by
 * this class, and for native ones (from `fetch()`, or built before the install).
 */

import { FastHeaders } from './fast-headers.ts';

const kNative = Symbol.for('strata.nativeResponse');
type ResponseCtor = typeof Response & { [kNative]?: typeof Response };
const installed = globalThis.Response as ResponseCtor;
/** The real undici `Response`, even if a copy of this module already replaced the global. */
export const NativeResponse: typeof Response = installed[kNative] ?? installed;

const TEXT_PLAIN = 'text/plain;charset=UTF-8';
// reason-phrase (RFC 9112 §4): HTAB, SP, VCHAR, obs-text.
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
const APPLICATION_JSON = 'application/json';
const FORM_URLENCODED = 'application/x-www-form-urlencoded;charset=UTF-8';

/** Body kinds the gateway can write without building the native response. */
export type FastBody = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | null;

/** What the gateway reads from a response that has not been materialized. */
export interface FastParts {
  status: number;
  statusText: string;
  /** As given to the constructor, or the response's `FastHeaders` once someone asked for them. */
  headers: HeadersInit | FastHeaders | undefined;
  /** Content type implied by the body when the headers name none. */
  contentType: string | undefined;
  body: FastBody;
}

function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

export class FastResponse {
  #body: FastBody;
  #status: number;
  #statusText: string;
  #init: HeadersInit | undefined;
  #contentType: string | undefined;
  #headers: FastHeaders | undefined;
  #native: Response | undefined;
  #used: boolean;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    let status = 200;
    let statusText = '';
    let headers: HeadersInit | undefined;
    if (init !== undefined && init !== null) {
      if (init.status !== undefined) {
        // WebIDL `unsigned short`: a numeric string converts, as with the native class.
        status = Number(init.status);
        // Fetch §6.4 "initialize a response": the status must be in [200, 599].
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive; got ${status}`);
        }
      }
      if (init.statusText !== undefined) {
        statusText = String(init.statusText);
        // Fetch §6.4: statusText must match reason-phrase (RFC 9112 §4): no CR, LF, NUL or
        // characters outside latin-1. Unchecked, it would reach node's writeHead and fail there.
        if (!REASON_PHRASE.test(statusText))
          throw new TypeError(`Invalid statusText ${JSON.stringify(statusText)}`);
      }
      headers = init.headers;
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#init = headers;
    this.#headers = undefined;
    this.#native = undefined;
    this.#used = false;
    if (body === undefined || body === null) {
      this.#body = null;
      this.#contentType = undefined;
    } else if (typeof body === 'string') {
      this.#body = body;
      this.#contentType = TEXT_PLAIN;
    } else if (body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof ReadableStream) {
      this.#body = body as FastBody;
      this.#contentType = undefined;
    } else if (body instanceof Blob) {
      this.#body = body;
      this.#contentType = body.type === '' ? undefined : body.type;
    } else if (body instanceof URLSearchParams) {
      this.#body = body.toString();
      this.#contentType = FORM_URLENCODED;
    } else {
      // FormData, other views, async iterables, objects with toString: undici knows the rules.
      this.#body = null;
      this.#contentType = undefined;
      this.#native = new NativeResponse(body, init);
    }
    if (this.#body !== null && isNullBodyStatus(status)) {
      throw new TypeError(`Response with null body status ${status} cannot have a body`);
    }
  }

  /** Fetch §6.4: `Response.json(data, init)`, with `application/json` unless init names a type. */
  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const response = new FastResponse(text, init);
    response.#contentType = APPLICATION_JSON;
    return response as Response;
  }

  static error(): Response {
    return NativeResponse.error();
  }

  static redirect(url: string | URL, status?: number): Response {
    return NativeResponse.redirect(url, status);
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      Object.prototype.isPrototypeOf.call(NativeResponse.prototype, value)
    );
  }

  get status(): number {
    return this.#native !== undefined ? this.#native.status : this.#status;
  }

  get statusText(): string {
    return this.#native !== undefined ? this.#native.statusText : this.#statusText;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get headers(): Headers {
    let headers = this.#headers;
    // [SameObject]: once handed out, the same headers stay the response's headers, also after
    // the body was materialized (the native copy is used only for its body).
    if (headers !== undefined) return headers as Headers;
    if (this.#native !== undefined) return this.#native.headers;
    if (headers === undefined) {
      headers = new FastHeaders(this.#init, this.#contentType);
      this.#headers = headers;
    }
    return headers as Headers;
  }

  get type(): ResponseType {
    return this.#native !== undefined ? this.#native.type : 'default';
  }

  get url(): string {
    return this.#native !== undefined ? this.#native.url : '';
  }

  get redirected(): boolean {
    return this.#native !== undefined ? this.#native.redirected : false;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#materialize().body;
  }

  get bodyUsed(): boolean {
    return this.#native !== undefined ? this.#native.bodyUsed : this.#used;
  }

  text(): Promise<string> {
    if (this.#native === undefined && typeof this.#body === 'string') {
      if (this.#used) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
      this.#used = true;
      return Promise.resolve(this.#body);
    }
    return this.#materialize().text();
  }

  json(): Promise<unknown> {
    if (this.#native === undefined && typeof this.#body === 'string') {
      return this.text().then(JSON.parse);
    }
    return this.#materialize().json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#materialize().arrayBuffer();
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#materialize().bytes();
  }

  blob(): Promise<Blob> {
    return this.#materialize().blob();
  }

  formData(): Promise<FormData> {
    return this.#materialize().formData();
  }

  clone(): Response {
    const copy = this.#materialize().clone();
    const headers = this.#headers;
    // The native copy's headers were taken at materialization; ours may have changed since.
    if (headers === undefined) return copy;
    return new NativeResponse(copy.body, {
      status: copy.status,
      statusText: copy.statusText,
      headers: headers as Headers,
    });
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return { status: this.status, statusText: this.statusText, headers: this.headers, body: this.#body };
  }

  #materialize(): Response {
    let native = this.#native;
    if (native === undefined) {
      if (this.#used) {
        // The string was handed out by text(): the native copy must be just as used.
        native = new NativeResponse('', {
          status: this.#status,
          statusText: this.#statusText,
          headers: this.headers,
        });
        void native.text();
      } else {
        native = new NativeResponse(this.#body as BodyInit | null, {
          status: this.#status,
          statusText: this.#statusText,
          headers: this.headers,
        });
      }
      this.#native = native;
    }
    return native;
  }

  /**
   * The parts of a response that the gateway can write directly, or `undefined` when it must be
   * read through the standard API (a native response, or one whose body was materialized).
   */
  static parts(response: Response): FastParts | undefined {
    // A brand check, not instanceof: Symbol.hasInstance above answers true for native ones too.
    if (!(#body in response) || response.#native !== undefined) return undefined;
    return {
      status: response.#status,
      statusText: response.#statusText,
      headers: response.#headers ?? response.#init,
      contentType: response.#contentType,
      body: response.#body,
    };
  }
}

Object.setPrototypeOf(FastResponse.prototype, NativeResponse.prototype);
Object.defineProperty(FastResponse, kNative, { value: NativeResponse });

/**
 * Puts `FastResponse` in `globalThis.Response` (idempotent). Returns a function that restores
 * the native one. `serve()` calls it unless `fastResponse: false`.
 */
export function installFastResponse(): () => void {
  const previous = globalThis.Response;
  if (previous === (FastResponse as typeof Response)) return () => {};
  globalThis.Response = FastResponse as typeof Response;
  return () => {
    if (globalThis.Response === (FastResponse as typeof Response)) globalThis.Response = previous;
  };
}
