import type { PubSub, UpgradeFunction } from './websocket.ts';

/**
 * The gateway contract: what a strata app is, and what a server hands it with each request.
 * Web-standard `Request`/`Response` at the boundary, one object per app, lifespan per worker.
 */

/** The address of the peer, after trusted-proxy resolution. */
export interface RemoteAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6' | '';
}

/** What the server tells the app about the request besides the `Request` itself. */
export interface ServeInfo {
  /** The client's address (after trusted-proxy resolution). */
  readonly remote: RemoteAddress;
  /** The protocol the request arrived on. */
  readonly protocol: 'http/1.1' | 'http/1.0' | 'h2';
  /** Whether the client's connection is TLS (as a trusted proxy reports it, behind one). */
  readonly secure: boolean;
  /**
   * The id the server gave this request (the one its access log writes and its response carries
   * in `X-Request-Id`), when the server gives ids; `requestId()` middleware adopts it.
   */
  readonly requestId?: string | undefined;
  /**
   * Keeps background work alive after the response is sent. The server awaits every such promise
   * before it runs the app's `shutdown` hook; a rejection is logged, never thrown to the client.
   */
  waitUntil(work: Promise<unknown>): void;
  /**
   * The route pattern that matched (`/users/:id`), for the access log and metrics. Servers that
   * support it define the property (as `undefined`); a framework sets it when it has matched a
   * route — strata's `App` does, and only where the property exists.
   */
  route?: string | undefined;
  /**
   * Present when the request asks for a WebSocket (RFC 6455 §4.1) and the server supports it:
   * call it and return its response to accept the upgrade; return anything else to refuse it.
   * Absent on every other request (and on servers without WebSockets).
   */
  upgrade?: UpgradeFunction | undefined;
}

/** A fetch-style handler: the shape Bun, Deno and Cloudflare Workers share. */
export type FetchHandler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/** A strata app: anything with `fetch`, plus optional lifespan hooks run once per worker. */
export interface App {
  fetch: FetchHandler;
  /** Runs once per worker before it accepts traffic. */
  startup?(): void | Promise<void>;
  /** Runs once per worker after it has drained. */
  shutdown?(): void | Promise<void>;
  /**
   * Given the server's publish/subscribe hub once before `startup` (and `undefined` after
   * `shutdown`), for apps that publish outside a request (`app.publish`).
   */
  attachPubSub?(pubsub: PubSub | undefined): void;
  /**
   * Development mode, asked for by whoever runs the app (`strata serve --dev`): the app may show
   * error details such as stack traces in its 5xx responses. Called before `startup`; never
   * called in production unless the operator asks. Apps without the notion ignore it.
   */
  setDevMode?(on: boolean): void;
}
