import { createServer, type IncomingMessage, type Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { thrownFacts } from '../gateway/errors.ts';
import {
  createNodeHandler,
  createNodeUpgradeHandler,
  installFastResponse,
  type NodeHandler,
  resolveApp,
} from '../gateway/index.ts';
import { isWebSocketRequest, type WebSocketEndpoint } from '../gateway/node-upgrade.ts';
import type { App, FetchHandler, ServeInfo } from '../gateway/types.ts';
import { loggableError } from '../observe/loggable-error.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { Metrics } from '../observe/metrics.ts';
import { LoopMonitor } from '../parallel/loop-monitor.ts';
import { AccessLog, resolveAccessLog } from './access-log.ts';
import { type AdminServer, startAdmin } from './admin.ts';
import { AddressList, clientAddress, forwardedProto, resolveTrustProxyHeader } from './client-address.ts';
import { ResponseCompressor } from './compression/compressor.ts';
import { compressNodeResponse } from './compression/node-response.ts';
import { resolveCompressionOptions } from './compression/options.ts';
import { headRefusal, hostMatcher, peerKey } from './edge-policy.ts';
import { ServerError } from './errors.ts';
import { type Exchange, FastLane, type LaneRequest } from './h1/lane.ts';
import { createLaneHandler } from './h1/lane-handler.ts';
import type { LoggedResponse } from './logged-response.ts';
import { type EdgeServeOptions, resolveServeOptions } from './options.ts';
import { RequestRecord } from './request-metrics.ts';
import { declaredBodyLength, sendPlain } from './responses.ts';
import { isNavigation, StaticFiles } from './static/static-files.ts';

/** A running server; `W` is its WebSocket endpoint (realtime's `RealtimeServer` by default). */
export interface EdgeServer<W extends WebSocketEndpoint = WebSocketEndpoint> {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The underlying node server (for upgrades and tests; prefer the options above). */
  readonly node: Server;
  /** This process's metrics, when the `metrics` or `admin` option is on. */
  readonly metrics: Metrics | undefined;
  /** The admin listener's URL (`/metrics`, `/healthz`), when `admin` is on. */
  readonly adminUrl: string | undefined;
  /** WebSockets and publish/subscribe (fetch-style apps only; undefined for node handlers). */
  readonly realtime: W | undefined;
  /**
   * Graceful shutdown: stop accepting, finish in-flight requests (their responses say
   * `Connection: close`), close idle keep-alive connections at once, force-close whatever is
   * left after `shutdownTimeout`, await `waitUntil` work, then run the app's `shutdown` hook.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const keepIdleConnections = (): void => {};
const ignoreError = (): void => {};
// A socket that left node's HTTP handling: a client that ends its side is gone.
function destroyOnEnd(this: Socket): void {
  this.destroy();
}

const CLIENT_GONE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
]);

function isClientGone(error: unknown, res: ServerResponse): boolean {
  if (res.destroyed && !res.writableFinished) return true;
  const e = error as { code?: string; name?: string } | null;
  return e != null && (CLIENT_GONE.has(e.code ?? '') || (e.name === 'AbortError' && res.destroyed));
}

function silentLogger(): Logger {
  return createLogger({ level: 'silent' });
}

// A well-formed request line whose HTTP major version is not 1 (llhttp refuses `HTTP/3.0`
// itself): RFC 9110 §15.6.6 answers it 505, a malformed version stays a 400.
const OTHER_MAJOR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ ]+ HTTP\/[02-9]\.[0-9]\r?\n/;
function otherMajorVersion(packet: Buffer | undefined): boolean {
  return (
    packet !== undefined && OTHER_MAJOR.test(packet.toString('latin1', 0, Math.min(packet.length, 8192)))
  );
}

/**
 * The app with the static `spaFallback`: a browser navigation it answers 404 gets the
 * single-page app's page instead, so that the app's own routes (API calls, and any page it
 * serves) are never hidden behind the fallback, as they are behind nginx's `try_files`.
 */
function withSpaFallback(app: App, files: StaticFiles): App {
  const fallback = async (request: Request, answer: Response): Promise<Response> => {
    const page = await files.spaResponse(request);
    if (page === undefined) return answer;
    try {
      await answer.body?.cancel();
    } catch {
      // A body already read or locked: nothing to release.
    }
    return page;
  };
  const check = (request: Request, answer: Response | Promise<Response>): Response | Promise<Response> =>
    answer instanceof Response &&
    answer.status === 404 &&
    isNavigation(request.method, request.headers.get('accept'))
      ? fallback(request, answer)
      : answer;
  return {
    fetch(request: Request, info: ServeInfo): Response | Promise<Response> {
      const answer = app.fetch(request, info);
      if (answer instanceof Response) return check(request, answer);
      if (answer !== null && typeof (answer as Promise<Response>)?.then === 'function')
        return answer.then((value) => check(request, value));
      return answer;
    },
  };
}

/**
 * Serves an app on node:http with production limits and graceful shutdown.
 *
 * `target` is a strata app (anything with `fetch`), a bare fetch function, or a node-style
 * `(req, res)` handler such as an Express app (passed through untouched).
 *
 * @example
 * const server = await serve({ fetch: () => Response.json({ hello: 'world' }) }, { port: 3000 });
 * process.on('SIGTERM', () => server.close());
 */
export async function serve<W extends WebSocketEndpoint = WebSocketEndpoint>(
  target: App | FetchHandler | NodeHandler,
  options: EdgeServeOptions<W> = {},
): Promise<EdgeServer<W>> {
  const config = resolveServeOptions(options);
  const resolved = resolveApp(target);
  const log: Logger = options.logger === false ? silentLogger() : (options.logger ?? createLogger());
  if (config.fastResponse) installFastResponse();

  let draining = false;
  const pending = new Set<Promise<unknown>>();

  const onError = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    // Containment: `error` is whatever the app threw (null, a Symbol, a frozen object, a Proxy
    // whose traps throw). It is read once, through guards, and only that copy is used below;
    // nothing here may throw, since a throw from the error path ends the process.
    const facts = thrownFacts(error);
    try {
      if (isClientGone(facts, res)) {
        log.debug({ method: req.method, url: req.url }, 'client went away before the response was complete');
        return;
      }
      const status = facts.status;
      if (status >= 500)
        log.error({ err: loggableError(error), method: req.method, url: req.url }, 'request failed');
      else log.info({ method: req.method, url: req.url, status, reason: facts.message }, 'request refused');
      if (res.headersSent) {
        // Too late for a status: end the connection without the final chunk, after what was
        // written has been flushed, so the client sees a truncated response (not a reset that
        // could swallow the part it was sent).
        const socket = res.socket;
        if (socket !== null && !socket.destroyed) socket.destroySoon();
        else res.destroy();
        return;
      }
      let body: string | undefined;
      if (config.dev) body = facts.stack ?? facts.message;
      else if (facts.expose) body = facts.message;
      sendPlain(res, status, body);
    } catch {
      // The logger or the socket failed while answering: close rather than throw.
      res.destroy();
    }
  };

  const waitUntil = (work: Promise<unknown>): void => {
    pending.add(work);
    work.then(
      () => pending.delete(work),
      (err: unknown) => {
        pending.delete(work);
        // The app's rejection value: anything, read only through a plain copy.
        log.error({ err: loggableError(err) }, 'waitUntil work failed');
      },
    );
  };

  // The client address: the socket's peer, or behind trusted proxies the forwarded one.
  const trusted = new AddressList(options.trustProxy ?? []);
  const proxyHeader = resolveTrustProxyHeader(options.trustProxyHeader);
  const allowList = options.allow === undefined ? undefined : new AddressList(options.allow);
  const denyList = options.deny === undefined ? undefined : new AddressList(options.deny);
  const remoteOf =
    trusted.size > 0 ? (req: IncomingMessage) => clientAddress(req, trusted, proxyHeader) : undefined;
  // Behind a trusted proxy, its X-Forwarded-Proto / Forwarded proto= says whether the client used TLS.
  const secureOf =
    trusted.size > 0
      ? (req: IncomingMessage) => {
          const proto = forwardedProto(req, trusted, proxyHeader);
          return proto !== undefined ? proto === 'https' : (req.socket as TLSSocket).encrypted === true;
        }
      : undefined;
  const accessLogConfig = resolveAccessLog(options.accessLog);
  const accessLog =
    accessLogConfig === undefined ? undefined : new AccessLog(accessLogConfig, { trusted, remoteOf, log });
  const idHeader = accessLog?.header;
  const requestIdOf =
    idHeader === undefined
      ? undefined
      : (req: IncomingMessage) => req.headers[idHeader] as string | undefined;

  const hostAllowed = options.allowedHosts === undefined ? undefined : hostMatcher(options.allowedHosts);
  const compression = options.compression ?? false;
  const compressor =
    compression === false ? undefined : new ResponseCompressor(resolveCompressionOptions(compression));

  const metrics =
    options.metrics instanceof Metrics
      ? options.metrics
      : options.metrics === true || (options.admin !== undefined && options.admin !== false)
        ? new Metrics()
        : undefined;
  // The request's ServeInfo, handed over by the gateway while onRequest runs (synchronously).
  let currentInfo: ServeInfo | undefined;
  const monitor = options.loadShedding === undefined ? undefined : new LoopMonitor(options.loadShedding);

  const gateway = {
    onServeInfo:
      metrics === undefined
        ? undefined
        : (info: ServeInfo) => {
            currentInfo = info;
          },
    remote: remoteOf,
    closing: false,
    maxBodySize: config.maxBodySize,
    secure: false,
    secureOf,
    requestId: requestIdOf,
    defaultHost: `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    onError,
    waitUntil,
    encoder: compressor,
  };

  const staticFiles =
    options.static === undefined
      ? undefined
      : new StaticFiles(typeof options.static === 'string' ? { root: options.static } : options.static);
  if (staticFiles !== undefined) {
    const transport = staticFiles.diskTransport;
    log.debug(
      { transport },
      transport === 'sendfile'
        ? 'static files beyond the memory cache go out with sendfile(2)'
        : 'static files beyond the memory cache are streamed (sendfile addon not built, or sendfile: false)',
    );
  }

  let handler: NodeHandler;
  let app: App | undefined;
  // What the request paths call: the app, or the app behind the static spaFallback.
  let served: App | undefined;
  let markClosing = (): void => {};
  if (resolved.kind === 'fetch') {
    app = resolved.app;
    // The server's `dev` reaches errors that escape the app; an App that answers its own errors
    // is told through the gateway contract.
    if (config.dev) app.setDevMode?.(true);
    served = staticFiles?.hasSpaFallback === true ? withSpaFallback(app, staticFiles) : app;
    handler = createNodeHandler(served, gateway);
  } else {
    const nodeApp = resolved.handler;
    // Node apps write their own headers, so the drain must reach the responses in flight.
    const inFlight = new Set<ServerResponse>();
    const forget = function (this: ServerResponse): void {
      inFlight.delete(this);
    };
    markClosing = () => {
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    };
    const nodeHandler: NodeHandler = (req, res) => {
      inFlight.add(res);
      res.once('close', forget);
      if (compressor !== undefined) compressNodeResponse(compressor, req, res);
      try {
        nodeApp(req, res);
      } catch (err) {
        onError(err, req, res);
      }
    };
    // A node app's 404 cannot be caught before it is written: the page answers navigations
    // that named no file, before the app; every other request reaches the app.
    handler =
      staticFiles?.hasSpaFallback === true
        ? (req, res) => staticFiles.serveSpa(req, res, () => nodeHandler(req, res))
        : nodeHandler;
  }

  const maxBodySize = config.maxBodySize;
  const maxUrlLength = config.maxUrlLength;
  const maxHeaderCount = config.maxHeaderCount;
  const maxInFlight = config.maxInFlight;
  const retryAfter = String(config.retryAfter);
  let inFlight = 0;
  const requestDone = (): void => {
    inFlight -= 1;
  };
  const requestStarted = options.onRequestStart;
  // Every request node parsed: `next` is `route`, or `routeExpecting` for `Expect: 100-continue`.
  const onRequest = (
    req: IncomingMessage,
    res: ServerResponse,
    next: (req: IncomingMessage, res: ServerResponse) => void = route,
  ): void => {
    if (requestStarted !== undefined) requestStarted(req);
    if (draining) res.shouldKeepAlive = false;
    // A connection the lane handed over: node counts from 0, the cap counts every request.
    if (config.maxRequestsPerSocket > 0 && lane !== undefined) {
      if (lane.countHandedOver(req.socket) >= config.maxRequestsPerSocket) res.shouldKeepAlive = false;
    }
    recorded(req, res, next);
  };
  // With metrics on, `next` runs inside a RequestRecord that learns the route from the ServeInfo.
  const recorded = <R>(req: IncomingMessage, res: R, next: (req: IncomingMessage, res: R) => void): void => {
    if (metrics === undefined) {
      next(req, res);
      return;
    }
    const record = new RequestRecord(metrics, req, res as unknown as ServerResponse);
    currentInfo = undefined;
    next(req, res);
    record.info = currentInfo;
    currentInfo = undefined;
  };
  // The edge policy: the server's own refusals, decided before the request goes further, in this
  // one place for every request of both transports and for every upgrade (node's
  // shouldUpgradeCallback asks it: a refused upgrade is answered as an ordinary request).
  const OVERLOADED = 1;
  const FORBIDDEN = 2;
  const MISDIRECTED = 3;
  const URI_TOO_LONG = 4;
  const AT_CAPACITY = 5;
  const BAD_REQUEST = 6;
  const TOO_MANY_HEADERS = 7;
  const VERSION = 8;
  const TOO_LARGE = 9;
  const NOT_IMPLEMENTED = 10;
  // `onLane`: the lane's parser has vouched for the head (HTTP/1.x, one valid Host, origin-form
  // target, no body, at most maxHeaderCount lines); node's path checks those here.
  // `res`: the request's response on node's path, when there is one yet (none in node's
  // shouldUpgradeCallback).
  const refusal = (req: IncomingMessage, onLane: boolean, res?: ServerResponse): number => {
    if (monitor?.underPressure === true) return OVERLOADED;
    if (allowList !== undefined || denyList !== undefined) {
      const address = remoteOf !== undefined ? remoteOf(req).address : (req.socket.remoteAddress ?? '');
      if (denyList?.has(address) === true || (allowList !== undefined && !allowList.has(address)))
        return FORBIDDEN;
    }
    if (!onLane) {
      // The access log's response class has added the request id to rawHeaders by now: the
      // header count is of the lines the client sent.
      const lines =
        res !== undefined && accessLog !== undefined
          ? (res as LoggedResponse).strataHeadLines
          : req.rawHeaders.length;
      const head = headRefusal(req, maxHeaderCount, lines);
      if (head !== 0)
        return head === 505
          ? VERSION
          : head === 431
            ? TOO_MANY_HEADERS
            : head === 501
              ? NOT_IMPLEMENTED
              : BAD_REQUEST;
    }
    if (hostAllowed !== undefined && !hostAllowed(req.rawHeaders)) return MISDIRECTED;
    if (req.url!.length > maxUrlLength) return URI_TOO_LONG;
    // 413 from the declared length, before a byte of the body is read (and before 100 Continue).
    if (!onLane && declaredBodyLength(req.rawHeaders) > maxBodySize) return TOO_LARGE;
    if (maxInFlight > 0 && inFlight >= maxInFlight) return AT_CAPACITY;
    return 0;
  };
  const refuse = (kind: number, req: IncomingMessage, res: ServerResponse): void => {
    // Whatever the answer, a refused upgrade's connection is not reused: the client may already
    // be sending WebSocket frames behind its handshake.
    if (req.headers.upgrade !== undefined) res.shouldKeepAlive = false;
    switch (kind) {
      case OVERLOADED:
        res.setHeader('retry-after', retryAfter);
        sendPlain(res, 503, 'The server is overloaded; retry shortly');
        return;
      case FORBIDDEN:
        res.shouldKeepAlive = false;
        sendPlain(res, 403, 'Forbidden');
        return;
      case MISDIRECTED:
        res.shouldKeepAlive = false;
        sendPlain(res, 421, 'This server does not answer for that Host');
        return;
      case URI_TOO_LONG:
        res.shouldKeepAlive = false;
        sendPlain(res, 414, `The request target is longer than ${maxUrlLength} bytes`);
        return;
      case AT_CAPACITY:
        res.setHeader('retry-after', retryAfter);
        sendPlain(res, 503, 'The server is at its concurrency limit; retry shortly');
        return;
      case BAD_REQUEST:
        res.shouldKeepAlive = false;
        sendPlain(res, 400, 'Bad request: an invalid request target, Host or Transfer-Encoding');
        return;
      case NOT_IMPLEMENTED:
        res.shouldKeepAlive = false;
        sendPlain(res, 501, 'Transfer codings other than chunked are not supported in requests');
        return;
      case TOO_MANY_HEADERS:
        res.shouldKeepAlive = false;
        sendPlain(res, 431, `More than ${maxHeaderCount} header fields`);
        return;
      case VERSION:
        res.shouldKeepAlive = false;
        sendPlain(res, 505, 'Only HTTP/1.x is spoken on this connection');
        return;
      case TOO_LARGE:
        log.info({ method: req.method, url: req.url, status: 413 }, 'request body over maxBodySize');
        res.shouldKeepAlive = false;
        sendPlain(res, 413, `Request body is larger than the limit of ${maxBodySize} bytes`);
        return;
    }
  };
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const kind = refusal(req, false, res);
    if (kind !== 0) refuse(kind, req, res);
    else pass(req, res);
  };
  // `Expect: 100-continue`: the refusals first, so that a request refused (a declared body over
  // maxBodySize, a denied client) gets its answer at once and never a 100 (RFC 9110 §10.1.1).
  const routeExpecting = (req: IncomingMessage, res: ServerResponse): void => {
    const kind = refusal(req, false, res);
    if (kind !== 0) {
      refuse(kind, req, res);
      return;
    }
    res.writeContinue();
    pass(req, res);
  };
  // An expectation other than 100-continue: the refusals first, then 417.
  const routeUnexpected = (req: IncomingMessage, res: ServerResponse): void => {
    const kind = refusal(req, false, res);
    res.shouldKeepAlive = false;
    if (kind !== 0) refuse(kind, req, res);
    else sendPlain(res, 417, 'Only "Expect: 100-continue" is supported');
  };
  const pass = (req: IncomingMessage, res: ServerResponse): void => {
    if (maxInFlight > 0) {
      inFlight += 1;
      res.once('close', requestDone);
    }
    if (staticFiles !== undefined) staticFiles.handle(req, res, () => handler(req, res));
    else handler(req, res);
  };

  const createFastLane = (server: Server, fetchApp: App): FastLane => {
    const laneHandler = createLaneHandler(fetchApp, gateway);
    const laneRoute = (req: IncomingMessage, exchange: Exchange): void => {
      // A refusal is answered by the node path's own code, on a node response.
      const kind = refusal(req, true);
      if (kind !== 0) {
        refuse(kind, req, exchange.bridge(draining));
        return;
      }
      if (maxInFlight > 0) {
        inFlight += 1;
        exchange.once('close', requestDone);
      }
      if (staticFiles !== undefined) laneStatic(staticFiles, req, exchange);
      else laneHandler(req as unknown as LaneRequest, exchange);
    };
    // Static files answer on a bridged response, made only when the request names a file; a
    // request that is not for a file goes on to the app on the lane (or, if the static handler
    // had already made the response before finding nothing, through node's writer on it).
    const laneStatic = (files: StaticFiles, req: IncomingMessage, exchange: Exchange): void => {
      let res: ServerResponse | undefined;
      files.handle(
        req,
        () => {
          res ??= exchange.bridge(draining);
          return res;
        },
        () => {
          if (res !== undefined) handler(req, res);
          else laneHandler(req as unknown as LaneRequest, exchange);
        },
      );
    };
    return new FastLane({
      server,
      maxHeaderSize: config.maxHeaderSize,
      maxHeaderCount: config.maxHeaderCount,
      keepAliveTimeout: config.keepAliveTimeout,
      headersTimeout: config.headersTimeout,
      idleTimeout: config.idleTimeout,
      maxRequestsPerSocket: config.maxRequestsPerSocket,
      closing: () => draining,
      Response: accessLog?.Response,
      onRequest: (laneReq, exchange) => {
        const req = laneReq as unknown as IncomingMessage;
        if (requestStarted !== undefined) requestStarted(req);
        if (accessLog !== undefined) accessLog.laneRequest(laneReq, exchange);
        recorded(req, exchange, laneRoute);
      },
    });
  };
  const server: Server = createServer(
    {
      headersTimeout: config.headersTimeout,
      requestTimeout: config.requestTimeout,
      keepAliveTimeout: config.keepAliveTimeout,
      maxHeaderSize: config.maxHeaderSize,
      // Node checks header/request timeouts on this interval (30 s by default): check often
      // enough that a slowloris client is cut near headersTimeout, not up to 30 s later.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(config.headersTimeout / 4))),
      requireHostHeader: true,
      ...(accessLog !== undefined && { ServerResponse: accessLog.Response }),
      // Only WebSocket upgrades leave the request path (h2c and others are ordinary requests),
      // and only those the edge policy passes: a refused one is an ordinary request, which
      // `route` answers (and the access log logs) like any other.
      shouldUpgradeCallback:
        resolved.kind === 'fetch'
          ? (req: IncomingMessage) =>
              realtime !== undefined && isWebSocketRequest(req) && refusal(req, false) === 0
          : (req: IncomingMessage) => server.listenerCount('upgrade') > 0 && refusal(req, false) === 0,
    },
    (req, res) => onRequest(req, res),
  );
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
    onRequest(req, res, routeExpecting),
  );
  // node stores at most maxHeadersCount lines (dropping the rest silently): one more than the
  // cap, so that headRefusal sees a head over it.
  if (config.maxHeaderCount > 0) server.maxHeadersCount = config.maxHeaderCount + 1;
  // The fast lane (src/server/h1/): plain bodiless HTTP/1.1 requests of a fetch app without
  // node's request/response streams (everything else on a node ServerResponse per response).
  const lane = config.fastLane && served !== undefined ? createFastLane(server, served) : undefined;
  // WebSockets: the app's fetch decides each upgrade; the endpoint (realtime's RealtimeServer
  // through strata-stack/server) completes it.
  const makeEndpoint = options.websockets;
  const realtime =
    app === undefined || makeEndpoint === undefined || makeEndpoint === false
      ? undefined
      : makeEndpoint({ logger: log });
  if (realtime !== undefined && app !== undefined) {
    const upgrade = createNodeUpgradeHandler(app, gateway, realtime);
    // An upgrade the edge policy passed (shouldUpgradeCallback): counted in flight while the app
    // decides, and logged once the handshake ends (101, a refusal, or the app's answer).
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (requestStarted !== undefined) requestStarted(req);
      if (maxInFlight > 0) inFlight += 1;
      const start = performance.now();
      const id = accessLog?.assignId(req);
      upgrade(req, socket, head, (status) => {
        if (maxInFlight > 0) inFlight -= 1;
        accessLog?.handshake(req, status, start, id);
      });
    });
    app.attachPubSub?.(realtime);
  }
  // Connections that have not sent a byte yet (browser preconnects) are not "idle" to node's
  // closeIdleConnections, and would hold a graceful shutdown for the whole shutdownTimeout.
  const sockets = new Set<Socket>();
  // Set by the drain while it waits for the last sockets' 'close' (see close()).
  let allClosed: (() => void) | undefined;
  const perIp = new Map<string, number>();
  const maxPerIp = config.maxConnectionsPerIp;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    const address = socket.remoteAddress ?? '';
    // An IPv6 peer is counted by its /64; a trusted proxy is not counted (it carries many clients).
    // (`trusted.has` parses the address: not for every connection when no proxy is trusted.)
    const peer = maxPerIp > 0 && (trusted.size === 0 || !trusted.has(address)) ? peerKey(address) : '';
    let counted = false;
    if (peer !== '') {
      const count = (perIp.get(peer) ?? 0) + 1;
      if (count > maxPerIp) {
        log.debug({ peer, count }, 'connection over maxConnectionsPerIp closed');
        socket.destroy();
      } else {
        perIp.set(peer, count);
        counted = true;
      }
    }
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && allClosed !== undefined) allClosed();
      if (!counted) return;
      const count = perIp.get(peer) ?? 1;
      if (count <= 1) perIp.delete(peer);
      else perIp.set(peer, count - 1);
    });
  });
  // The drain closes a connection that is idle (no response under way) or unused only once it has
  // stayed so, with no byte read, for drainGrace: closing at once races a request the client may
  // be sending on it at that moment, and the client sees a reset instead of an answer.
  const quietSince = new Map<Socket, { at: number; bytesRead: number }>();
  const closeQuiet = (now: number): void => {
    for (const socket of sockets) {
      const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (current != null || lane?.busy(socket) === true) {
        quietSince.delete(socket);
        continue;
      }
      const seen = quietSince.get(socket);
      if (seen === undefined || seen.bytesRead !== socket.bytesRead) {
        quietSince.set(socket, { at: now, bytesRead: socket.bytesRead });
      } else if (now - seen.at >= config.drainGrace) {
        quietSince.delete(socket);
        socket.destroy();
      }
    }
  };
  // node's own answers to requests its parser refuses, with one change: an unknown method is
  // 501 (RFC 9110 §9.1), not 400. The connection is closed after the answer in every case.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // As node does: no answer when the socket is gone or a response has already started on it.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_INVALID_METHOD'
        ? 501
        : err.code === 'HPE_INVALID_VERSION' && otherMajorVersion(err.rawPacket)
          ? 505
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? 431
            : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
              ? 413
              : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
                ? 408
                : 400;
    log.debug({ code: err.code, status }, 'request refused by the parser');
    if (accessLog !== undefined) accessLog.refused(socket, status, current);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    socket.destroySoon();
  });
  // RFC 9110 §10.1.1: an expectation other than 100-continue gets 417 — once the edge policy has
  // passed the request (a denied client gets its 403, not a 417); the connection is closed
  // either way, so that a body the client sends anyway is never read as the next request.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
    onRequest(req, res, routeUnexpected),
  );
  // CONNECT (RFC 9110 §9.3.6) asks for a tunnel, and node hands its socket to 'connect'
  // listeners, outside the request path (without one, node closed the connection unanswered
  // and unlogged). It meets the same edge policy, is logged like any request, and — this server
  // is not a proxy — gets a 501; unless a node app listens for CONNECT itself
  // (`server.node.on('connect', ...)`), which then gets the requests the policy passes.
  const ResponseClass = accessLog?.Response ?? ServerResponse;
  const answerConnect = (req: IncomingMessage, socket: Socket, kind: number): void => {
    const res = new ResponseClass(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    if (kind !== 0) refuse(kind, req, res);
    else sendPlain(res, 501, 'CONNECT is not supported: this server is not a proxy');
    // After the answer (written now, or queued in the socket): close; a node app's own
    // listener, which runs next, finds the socket ended.
    socket.end();
  };
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    if (requestStarted !== undefined) requestStarted(req);
    const kind = refusal(req, false);
    if (kind === 0 && server.listenerCount('connect') > 1) return;
    // node removed its own listeners from the socket: a reset must not throw, and nothing but
    // this answer is read from it.
    socket.on('error', ignoreError);
    // A CONNECT pipelined behind a response still being written: the socket is that response's
    // until it ends (assigning it to another threw, uncaught); answer once it is done, unless
    // the client leaves first.
    const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending == null) {
      answerConnect(req, socket, kind);
      return;
    }
    const resume = (): void => {
      socket.off('close', gone);
      socket.off('end', destroyOnEnd);
      setImmediate(() => {
        if (!socket.destroyed) answerConnect(req, socket, kind);
      });
    };
    const gone = (): void => {
      pending.off('finish', resume);
    };
    pending.once('finish', resume);
    socket.once('close', gone);
    socket.on('end', destroyOnEnd);
  });
  server.maxConnections = config.maxConnections;
  server.maxRequestsPerSocket = config.maxRequestsPerSocket;
  server.timeout = config.idleTimeout;

  if (app?.startup !== undefined) await app.startup();

  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      void accessLog?.close();
      reject(ServerError.fromListen(err, config.host, config.port));
    };
    const onListening = (): void => {
      server.off('error', onListenError);
      resolve();
    };
    server.once('error', onListenError);
    server.once('listening', onListening);
    server.listen({ port: config.port, host: config.host, reusePort: config.reusePort });
  });
  server.on('error', (err) => log.error({ err }, 'server error'));

  let admin: AdminServer | undefined;
  if (options.admin !== undefined && options.admin !== false && metrics !== undefined) {
    const where = options.admin === true ? {} : options.admin;
    try {
      admin = await startAdmin({
        ...where,
        metrics: () => metrics.text(),
        contentType: metrics.contentType,
        healthy: () => !draining && monitor?.underPressure !== true,
      });
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
  }

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  gateway.defaultHost = `${hostForUrl}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      gateway.closing = true;
      markClosing();
      // http's close() also closes every idle connection at once, racing requests already on
      // their way (see closeQuiet): it runs here with that one step switched off, and is
      // otherwise unchanged (stops accepting, stops the connection-checking timer, one 'close').
      server.closeIdleConnections = keepIdleConnections;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // WebSockets get 1001 now; the server's close waits for their sockets too.
      const realtimeClosed = realtime?.close();
      delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
      closeQuiet(Date.now());
      // A connection turns idle when a response begun before the drain finishes: sweep for those.
      const sweep = setInterval(() => closeQuiet(Date.now()), Math.max(5, Math.min(20, config.drainGrace)));
      const deadline = setTimeout(() => {
        log.warn({ timeout: config.shutdownTimeout }, 'shutdown timeout: closing the remaining connections');
        server.closeAllConnections();
        lane?.destroyAll();
        // node no longer tracks a socket that left HTTP (an upgrade the app is still deciding,
        // or one queued behind a response that never ends): every one still open goes too.
        for (const socket of sockets) socket.destroy();
      }, config.shutdownTimeout);
      await closed;
      await realtimeClosed;
      clearInterval(sweep);
      clearTimeout(deadline);
      lane?.close();
      quietSince.clear();
      if (pending.size > 0) {
        // waitUntil work gets its own shutdownTimeout, after the connections are gone.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            log.warn({ pending: pending.size }, 'shutdown timeout: abandoning waitUntil work');
            resolve();
          }, config.shutdownTimeout);
        });
        await Promise.race([Promise.allSettled([...pending]), timeout]);
        clearTimeout(timer);
      }
      if (app?.shutdown !== undefined) await app.shutdown();
      app?.attachPubSub?.(undefined);
      monitor?.stop();
      await admin?.close();
      if (accessLog !== undefined) {
        // node counts a socket gone (and the server closed) as it starts closing, a turn of the
        // loop before the socket's own 'close': the line of a response on a socket that left
        // HTTP (a handshake, a CONNECT) is written then, and must come before the log closes.
        if (sockets.size > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 1000);
            allClosed = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        await accessLog.close();
      }
    })();
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  log.info({ url: `http://${hostForUrl}:${address.port}` }, 'listening');
  return {
    url: `http://${hostForUrl}:${address.port}`,
    host: address.address,
    port: address.port,
    node: server,
    metrics,
    adminUrl: admin?.url,
    realtime,
    close,
    [Symbol.asyncDispose]: close,
  };
}
