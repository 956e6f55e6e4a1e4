import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Logger } from '../observe/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { PickContext, UpstreamGroup } from './balance/index.ts';
import { BodyTooLarge, Forwarder, type ProxyRequest } from './forwarder.ts';
import { type ClientLeg, type ForwardingHeaders, forwardRequestHeaders } from './headers.ts';
import { NodeSink } from './node-sink.ts';
import { groupsByName, type ProxyOptions, resolveProxyOptions } from './options.ts';
import { ProxyRoute, ProxyRouter } from './routes.ts';
import { type RawExchange, SocketSink } from './socket-sink.ts';
import { proxyWebSocket } from './websocket.ts';

/** A request the fast lane parsed (src/server/h1/lane.ts's `LaneRequest`, as the proxy reads it). */
export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersionMinor: 0 | 1;
  readonly socket: Socket;
  /** A Content-Length body that arrived with the head. */
  readonly receivedBody: Buffer | undefined;
}

/** What the server tells its proxy. */
export interface EdgeProxyContext {
  /** Whether a peer is a trusted proxy (`trustProxy`). */
  trusted: (address: string) => boolean;
  /** The edge's `trustProxyHeader`: which forwarding headers are written. */
  forwarding: ForwardingHeaders;
  /** The server's `maxBodySize`: the most a proxied body may carry (413 beyond). */
  maxBodySize: number;
  /** Whether the server drains (responses say `Connection: close`). */
  closing: () => boolean;
  /**
   * Header lines every response carries (`Strict-Transport-Security` over TLS; lowercase names):
   * the lane's proxied responses, written straight to the socket, add them as the lane does.
   */
  responseHeaders?: readonly (readonly [string, string])[] | undefined;
  metrics: Metrics | undefined;
  log: Logger;
  noteUpstream?: ((req: object, upstream: string) => void) | undefined;
}

/** A picker's view of a request's headers (lowercase names), read only if the balancer asks. */
class RequestPick implements PickContext {
  readonly remote: string;
  readonly #raw: readonly string[];

  constructor(remote: string, raw: readonly string[]) {
    this.remote = remote;
    this.#raw = raw;
  }

  header(name: string): string | undefined {
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
    return undefined;
  }

  cookie(name: string): string | undefined {
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.toLowerCase() !== 'cookie') continue;
      for (const pair of raw[i + 1]!.split(';')) {
        const eq = pair.indexOf('=');
        if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
      }
    }
    return undefined;
  }
}

/** Counts a streamed request body and fails it past the limit (the answer is 413). */
class BodyCounter extends Transform {
  readonly #limit: number;
  #seen = 0;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) done(new BodyTooLarge(this.#limit));
    else done(null, chunk);
  }
}

function hostOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') return raw[i + 1];
  }
  return undefined;
}

/**
 * The server's reverse proxy: `proxy` option's routes matched before static files and the app,
 * forwarded from the fast lane (the response written straight to the socket), from node's path
 * (a `ServerResponse`), and for WebSocket upgrades (the sockets piped after the upstream's 101).
 */
export class EdgeProxy {
  readonly router: ProxyRouter;
  readonly forwarder: Forwarder;
  readonly #context: EdgeProxyContext;
  readonly #groups: readonly UpstreamGroup[];

  constructor(options: ProxyOptions, context: EdgeProxyContext) {
    const groups = groupsByName(options.groups);
    const routes = options.routes.map((r) => {
      const group = groups.get(r.to);
      if (group === undefined)
        throw new TypeError(
          `proxy.routes: no group is named ${JSON.stringify(r.to)} (groups: ${[...groups.keys()].map((n) => JSON.stringify(n)).join(', ')})`,
        );
      return new ProxyRoute(r, group);
    });
    this.router = new ProxyRouter(routes);
    this.#context = context;
    this.forwarder = new Forwarder({
      ...resolveProxyOptions(options),
      forwarding: context.forwarding,
      trusted: context.trusted,
      metrics: context.metrics,
      log: context.log,
      noteUpstream: context.noteUpstream,
    });
    this.#groups = [...groups.values()];
  }

  /**
   * Starts every group's health checks (the server calls it once it listens; `close()` stops
   * them). Calling it again is a no-op.
   */
  start(): void {
    for (const group of this.#groups) this.forwarder.use(group);
  }

  #route(url: string, raw: readonly string[]): ProxyRoute | undefined {
    // Origin-form only: an absolute-form target (whose authority may differ from Host) or `*`
    // is never forwarded; the app answers it.
    if (url.charCodeAt(0) !== 47 /* / */) return undefined;
    const router = this.router;
    return router.match(url, router.needsHost ? hostOf(raw) : undefined);
  }

  #leg(socket: Socket): ClientLeg {
    const address = socket.remoteAddress ?? '';
    return {
      address,
      trusted: this.#context.trusted(address),
      proto: (socket as Socket & { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
    };
  }

  /** A request of the fast lane: true when a route took it (the proxy answers it). */
  lane(req: RawRequest, exchange: RawExchange): boolean {
    const route = this.#route(req.url, req.rawHeaders);
    if (route === undefined) return false;
    const socket = req.socket;
    const leg = this.#leg(socket);
    const body = req.receivedBody ?? null;
    const request: ProxyRequest = {
      method: req.method,
      url: req.url,
      headers: forwardRequestHeaders(req.rawHeaders, leg, this.forwarder.rewrite),
      body,
      replayable: true,
      pick: new RequestPick(leg.address, req.rawHeaders),
      source: req,
    };
    const context = this.#context;
    const sink = new SocketSink(
      exchange,
      socket,
      req.method,
      req.httpVersionMinor,
      context.closing,
      context.responseHeaders,
    );
    this.forwarder.forward(route.group, route, request, sink);
    return true;
  }

  /** A request of node's path: true when a route took it. */
  node(req: IncomingMessage, res: ServerResponse): boolean {
    const route = this.#route(req.url ?? '/', req.rawHeaders);
    if (route === undefined) return false;
    const leg = this.#leg(req.socket);
    const headers = req.headers;
    // HTTP/1.1 announces a body (RFC 9112 §6.3); an HTTP/2 stream has one unless its HEADERS ended it.
    const stream = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
    const hasBody =
      req.httpVersionMajor === 2
        ? stream?.endAfterHeaders === false && headers['content-length'] !== '0'
        : headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';
    let body: Readable | null = null;
    if (hasBody) {
      const counter = new BodyCounter(this.#context.maxBodySize);
      req.on('error', (err) => counter.destroy(err));
      body = req.pipe(counter);
    }
    const request: ProxyRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: forwardRequestHeaders(req.rawHeaders, leg, this.forwarder.rewrite),
      body,
      replayable: !hasBody,
      pick: new RequestPick(leg.address, req.rawHeaders),
      source: req,
    };
    this.forwarder.forward(route.group, route, request, new NodeSink(res, this.#context.closing));
    return true;
  }

  /** Whether an upgrade request is for a proxy route (node then emits 'upgrade' for it). */
  takesUpgrade(req: IncomingMessage): boolean {
    return this.#route(req.url ?? '/', req.rawHeaders) !== undefined;
  }

  /**
   * A WebSocket upgrade for a proxy route: forwarded, and once the upstream answers 101 the two
   * sockets are piped together. False when no route takes it. `ended` reports the handshake's
   * status (for the access log).
   */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, ended?: (status: number) => void): boolean {
    const route = this.#route(req.url ?? '/', req.rawHeaders);
    if (route === undefined) return false;
    const leg = this.#leg(req.socket);
    proxyWebSocket(
      this.forwarder,
      route,
      req,
      socket,
      head,
      leg,
      new RequestPick(leg.address, req.rawHeaders),
      ended,
    );
    return true;
  }

  close(): Promise<void> {
    return this.forwarder.close();
  }
}
