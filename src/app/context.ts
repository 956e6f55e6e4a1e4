import { trimOws } from '../gateway/http.ts';
import type { ServeInfo } from '../gateway/types.ts';
import type { UpgradeOptions, WebSocketHandlers } from '../gateway/websocket.ts';
import { releaseUploads } from './body.ts';
import { type CookieOptions, serializeCookie, signCookieValue, verifyCookieValue } from './cookies.ts';
import { AppError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { type SSEOptions, type SSEStream, sseResponse } from './sse.ts';
import type { Inputs, PathParams, RequestSession, VariableKey, VariableOf, Variables } from './types.ts';

type HeaderRecord = Record<string, string | string[]>;

/** Status or full init, as the response helpers accept. */
export type ResponseOptions = number | { status?: number; headers?: Record<string, string> };

/** What the app shares with every context it creates (settings, not per-request state). */
export interface ContextShared {
  /** Secrets for signed cookies, newest first. */
  readonly cookieSecrets: readonly string[];
}

const EMPTY_PARAMS = Object.freeze({}) as Record<string, string>;

/**
 * The record of pending headers: nothing in its prototype chain, so `constructor`, `toString`
 * and `__proto__` are header names like any other (with a plain `{}`, `c.header('constructor',
 * v, { append: true })` appended to the Object function's source, and `__proto__` was lost),
 * while staying a fast-mode object, unlike `Object.create(null)`.
 */
const HeaderStore = class HeaderStore {} as new () => HeaderRecord;
delete (HeaderStore.prototype as { constructor?: unknown }).constructor;
Object.setPrototypeOf(HeaderStore.prototype, null);

/**
 * The per-request context a handler receives: the request, its params, per-request values, and
 * the helpers that build the response. Nothing is parsed until asked (query, cookies, body).
 *
 * @example
 * app.get('/users/:id', (c) => c.json({ id: c.params.id, page: c.query.page ?? '1' }));
 */
export class Context<P extends string = string, V extends Variables = {}, I extends Inputs = Inputs> {
  /** The web-standard request. */
  readonly req: Request;
  /** What the server knows about the request: client address, protocol, `waitUntil`. */
  readonly info: ServeInfo;
  /** Path params, percent-decoded, typed from the route's path string. */
  params: PathParams<P>;
  /** The response, once the handler (or a middleware) has produced one. */
  res: Response | undefined;
  /** The route pattern that matched (`/users/:id`), or undefined for 404/405. */
  readonly routePath: string | undefined;

  #url: string;
  #queryStart: number;
  #query: Record<string, string> | undefined;
  #search: URLSearchParams | undefined;
  #status: number;
  #headers: HeaderRecord | undefined;
  // The first per-request value in two fields (most apps set one or two: a request id, a
  // user), the others in a Map: safe for any key (no __proto__ games), made only when needed.
  #firstKey: string | undefined;
  #firstValue: unknown;
  #vars: Map<string, unknown> | undefined;
  #inputs: I | undefined;
  #cookies: Record<string, string> | undefined;
  #shared: ContextShared;
  #built: Response | undefined;

  constructor(
    req: Request,
    info: ServeInfo,
    url: string,
    queryStart: number,
    params: Record<string, string> | undefined,
    routePath: string | undefined,
    shared: ContextShared,
  ) {
    this.req = req;
    this.info = info;
    this.params = (params ?? EMPTY_PARAMS) as PathParams<P>;
    this.res = undefined;
    this.routePath = routePath;
    this.#url = url;
    this.#queryStart = queryStart;
    this.#query = undefined;
    this.#search = undefined;
    this.#status = 200;
    this.#headers = undefined;
    this.#firstKey = undefined;
    this.#firstValue = undefined;
    this.#vars = undefined;
    this.#inputs = undefined;
    this.#cookies = undefined;
    this.#shared = shared;
    this.#built = undefined;
  }

  /** The shared settings of the app that made this context (for middleware in this layer). */
  get shared(): ContextShared {
    return this.#shared;
  }

  // ---- request side --------------------------------------------------------------------

  /** Query parameters, first value of each (`?a=1&a=2` gives `{ a: '1' }`). */
  get query(): Record<string, string> {
    let query = this.#query;
    if (query === undefined) {
      query = Object.create(null) as Record<string, string>;
      for (const [key, value] of this.searchParams) if (!(key in query)) query[key] = value;
      this.#query = query;
    }
    return query;
  }

  /** Every value of a repeated query parameter. */
  queries(name: string): string[] {
    return this.searchParams.getAll(name);
  }

  /** The query string as `URLSearchParams`. */
  get searchParams(): URLSearchParams {
    let search = this.#search;
    if (search === undefined) {
      search = new URLSearchParams(this.#queryStart === -1 ? '' : this.#url.slice(this.#queryStart + 1));
      this.#search = search;
    }
    return search;
  }

  /** Validated inputs (`validate()` fills them), typed by the schemas. */
  get valid(): I {
    return (this.#inputs ?? {}) as I;
  }

  /** The validated request body (`validate({ body })`), typed by its schema. */
  get body(): I['body'] {
    return this.#inputs?.body as I['body'];
  }

  /** Records a validated input; used by `validate()`. */
  setValid<K extends keyof Inputs>(key: K, value: unknown): void {
    if (this.#inputs === undefined) this.#inputs = {} as I;
    (this.#inputs as Record<string, unknown>)[key] = value;
  }

  /** Request cookies, parsed on first use (RFC 6265 §5.4). */
  get cookies(): Record<string, string> {
    let cookies = this.#cookies;
    if (cookies === undefined) {
      cookies = parseCookieHeader(this.req.headers.get('cookie'));
      this.#cookies = cookies;
    }
    return cookies;
  }

  /** One request cookie, or undefined. */
  cookie(name: string): string | undefined {
    return this.cookies[name];
  }

  /**
   * A signed request cookie's value if its signature verifies with any of the app's cookie
   * secrets (so secrets can be rotated), otherwise undefined.
   */
  signedCookie(name: string): string | undefined {
    const secrets = this.#shared.cookieSecrets;
    if (secrets.length === 0) throw AppError.badCookieSecret();
    const raw = this.cookies[name];
    return raw === undefined ? undefined : verifyCookieValue(name, raw, secrets);
  }

  /** Adds a Set-Cookie to the response (HttpOnly, SameSite=Lax and Path=/ unless told otherwise). */
  setCookie(name: string, value: string, options: CookieOptions = {}): this {
    let v = value;
    if (options.signed === true) {
      const secrets = this.#shared.cookieSecrets;
      if (secrets.length === 0) throw AppError.badCookieSecret();
      v = signCookieValue(name, value, secrets);
    }
    return this.header('set-cookie', serializeCookie(name, v, options), { append: true });
  }

  /** Expires a cookie (same path and domain as it was set with). */
  deleteCookie(name: string, options: Pick<CookieOptions, 'path' | 'domain' | 'secure'> = {}): this {
    return this.setCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) });
  }

  // ---- per-request values --------------------------------------------------------------

  /**
   * Stores a per-request value, typed by the app's variables: a key the app (or a typed
   * middleware) did not declare does not compile.
   */
  set<K extends VariableKey<V>>(key: K, value: VariableOf<V, K>): void {
    const first = this.#firstKey;
    if (first === undefined || first === key) {
      this.#firstKey = key;
      this.#firstValue = value;
      return;
    }
    if (this.#vars === undefined) this.#vars = new Map();
    this.#vars.set(key, value);
  }

  /** Reads a per-request value set earlier in the chain. */
  get<K extends VariableKey<V>>(key: K): VariableOf<V, K> {
    if (key === this.#firstKey) return this.#firstValue as VariableOf<V, K>;
    return this.#vars?.get(key) as VariableOf<V, K>;
  }

  /**
   * The request's session, once `session()` ran before this handler (undefined without it): the
   * same object as `c.get('session')`, which `session<T>()` types.
   */
  get session(): RequestSession | undefined {
    const key = 'session';
    return (key === this.#firstKey ? this.#firstValue : this.#vars?.get(key)) as RequestSession | undefined;
  }

  // ---- response side -------------------------------------------------------------------

  /** Sets the status used by the next response helper. */
  status(code: number): this {
    this.#status = code;
    return this;
  }

  /**
   * Sets a response header. Before the response exists it is kept for the response helpers;
   * after (code that runs after `await next()`), it is set on `c.res` directly.
   */
  header(name: string, value: string, options?: { append?: boolean }): this {
    const res = this.res;
    if (res !== undefined) {
      try {
        if (options?.append === true) res.headers.append(name, value);
        else res.headers.set(name, value);
      } catch (err) {
        // The headers of a fetch() result or a Response.redirect() are immutable: answer with a
        // copy that takes the header (the rest of the chain returns c.res).
        if (!(err instanceof TypeError)) throw err;
        const copy = new Response(res.body, res);
        if (options?.append === true) copy.headers.append(name, value);
        else copy.headers.set(name, value);
        this.res = copy;
      }
      return this;
    }
    if (this.#headers === undefined) this.#headers = new HeaderStore();
    const headers = this.#headers;
    const key = name.toLowerCase();
    const prev = headers[key];
    if (key === 'set-cookie') {
      if (Array.isArray(prev)) prev.push(value);
      else headers[key] = [value];
    } else if (options?.append === true && prev !== undefined) headers[key] = `${prev}, ${value}`;
    else headers[key] = value;
    return this;
  }

  /** JSON response (`application/json`). */
  json(data: unknown, options?: ResponseOptions): Response {
    const status = this.#statusFrom(options);
    const headers = this.#mergedHeaders(options);
    if (status === 200 && headers === undefined) return Response.json(data);
    const res = Response.json(data, { status, headers: toHeadersInit(headers)! });
    this.#built = res;
    return res;
  }

  /** Plain-text response (`text/plain;charset=UTF-8`). */
  text(text: string, options?: ResponseOptions): Response {
    return this.#respond(text, options, undefined);
  }

  /** HTML response (`text/html; charset=utf-8`). */
  html(html: string, options?: ResponseOptions): Response {
    return this.#respond(html, options, 'text/html; charset=utf-8');
  }

  /** A response with any body the Fetch standard accepts. */
  send(body: BodyInit | null, options?: ResponseOptions): Response {
    return this.#respond(body, options, undefined);
  }

  /** Redirect (302 by default) to `location`. */
  redirect(location: string | URL, status: 301 | 302 | 303 | 307 | 308 = 302): Response {
    this.header('location', String(location));
    return this.#respond(null, status, undefined);
  }

  /** Response with no body (204 unless another status is given). */
  empty(status = 204): Response {
    return this.#respond(null, status, undefined);
  }

  #statusFrom(options: ResponseOptions | undefined): number {
    if (options === undefined) return this.#status;
    if (typeof options === 'number') return options;
    return options.status ?? this.#status;
  }

  #mergedHeaders(options: ResponseOptions | undefined): HeaderRecord | undefined {
    const own = this.#headers;
    if (options === undefined || typeof options === 'number' || options.headers === undefined) return own;
    const merged: HeaderRecord = Object.assign(new HeaderStore(), own);
    for (const key in options.headers) merged[key.toLowerCase()] = options.headers[key]!;
    return merged;
  }

  #respond(body: BodyInit | null, options: ResponseOptions | undefined, type: string | undefined): Response {
    const status = this.#statusFrom(options);
    let headers = this.#mergedHeaders(options);
    if (type !== undefined && headers?.['content-type'] === undefined) {
      headers = Object.assign(new HeaderStore(), headers);
      headers['content-type'] = type;
    }
    if (status === 200 && headers === undefined) return new Response(body);
    const init: ResponseInit = { status };
    if (headers !== undefined) init.headers = toHeadersInit(headers)!;
    const res = new Response(body, init);
    this.#built = res;
    return res;
  }

  /**
   * Applies the headers set with `c.header()`/`c.setCookie()` before the response existed to a
   * response the context did not build (a `new Response(...)` from a handler, an error answer),
   * so that a request id, CORS headers or a cookie set by middleware is never lost. The app
   * calls it once per request; headers the response already has win. It also ends the
   * request's hold on its disk uploads (see `keepUpload`).
   */
  finalize(res: Response): Response {
    // The request is over for the app: its disk uploads that the handler did not keep go.
    const removal = releaseUploads(this.req);
    if (removal !== undefined) this.info.waitUntil(removal);
    const pending = this.#headers;
    if (pending === undefined || res === this.#built) return res;
    try {
      applyPending(res.headers, pending);
      return res;
    } catch {
      // Immutable headers (Response.error(), a fetch() result): answer with a copy.
      const copy = new Response(res.body, res);
      applyPending(copy.headers, pending);
      return copy;
    }
  }

  // ---- realtime ------------------------------------------------------------------------

  /**
   * Accepts a WebSocket upgrade with these handlers (the shape of Bun's `websocket` option).
   * Middleware before it (auth, sessions) has already run and could have refused with 401/403;
   * headers set with `c.header()` go into the 101 response. A request that is not a WebSocket
   * handshake gets 426 Upgrade Required.
   *
   * @example
   * app.get('/chat', (c) => c.upgrade({
   *   open(ws) { ws.subscribe('lobby'); },
   *   message(ws, data) { ws.publish('lobby', data); },
   * }, { data: { user: c.get('user') } }));
   */
  upgrade<D = Record<string, unknown>>(
    handlers: WebSocketHandlers<D>,
    options?: UpgradeOptions<D>,
  ): Response {
    const upgrade = this.info.upgrade;
    if (upgrade === undefined) {
      throw new HttpError(426, 'This endpoint speaks WebSocket only: connect with a WebSocket client', {
        headers: { upgrade: 'websocket' },
      });
    }
    return upgrade(handlers as WebSocketHandlers<never>, options as UpgradeOptions<never> | undefined);
  }

  /**
   * A server-sent events response: `run` writes events (each flushed as it is sent) and the
   * stream ends when it returns or the client leaves (`stream.signal`). `stream.lastEventId` is
   * the browser's `Last-Event-ID` on a reconnect.
   *
   * @example
   * app.get('/ticks', (c) => c.sse(async (stream) => {
   *   for (let i = Number(stream.lastEventId ?? 0) + 1; !stream.closed; i++) {
   *     await stream.send({ id: String(i), event: 'tick', data: { i } });
   *     await stream.sleep(1000);
   *   }
   * }));
   */
  sse(run: (stream: SSEStream) => void | Promise<void>, options?: SSEOptions): Response {
    return sseResponse(this.req, run, options);
  }
}

function applyPending(headers: Headers, pending: HeaderRecord): void {
  for (const key in pending) {
    const value = pending[key]!;
    if (Array.isArray(value)) {
      const present = headers.getSetCookie();
      for (const v of value) if (!present.includes(v)) headers.append(key, v);
    } else if (!headers.has(key)) headers.set(key, value);
  }
}

/** Set-Cookie values must stay separate: give them to `Headers` as pairs, the rest as a record. */
function toHeadersInit(headers: HeaderRecord | undefined): HeadersInit | undefined {
  if (headers === undefined) return undefined;
  const cookies = headers['set-cookie'];
  if (cookies === undefined) return headers as Record<string, string>;
  const pairs: [string, string][] = [];
  for (const key in headers) {
    const value = headers[key]!;
    if (Array.isArray(value)) for (const v of value) pairs.push([key, v]);
    else pairs.push([key, value]);
  }
  return pairs;
}

/** RFC 6265 §5.4 Cookie header: `a=1; b=2`. The first of repeated names wins; bad pairs are skipped. */
export function parseCookieHeader(header: string | null): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (header === null || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = trimOws(part.slice(0, eq));
    if (name === '' || name in out) continue;
    let value = trimOws(part.slice(eq + 1));
    if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) {
      value = value.slice(1, -1);
    }
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // Not percent-encoding after all: keep the raw value.
      }
    }
    out[name] = value;
  }
  return out;
}
