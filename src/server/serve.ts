import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { installFastResponse } from '../gateway/fast-response.ts';
import { createNodeHandler, type NodeHandler, resolveApp } from '../gateway/index.ts';
import type { NodeAdapterOptions } from '../gateway/node.ts';
import {
  createNodeUpgradeHandler,
  isWebSocketRequest,
  type WebSocketEndpoint,
} from '../gateway/node-upgrade.ts';
import type { App, FetchHandler, RemoteAddress } from '../gateway/types.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { Metrics } from '../observe/metrics.ts';
import { LoopMonitor } from '../parallel/loop-monitor.ts';
import { EdgeProxy } from '../proxy/edge-proxy.ts';
import { AccessLog, resolveAccessLog } from './access-log.ts';
import { answerHttp01 } from './acme/challenges.ts';
import { type AdminServer, startAdmin } from './admin.ts';
import { AddressList, proxyAddressing, resolveTrustProxyHeader } from './client-address.ts';
import { ResponseCompressor } from './compression/compressor.ts';
import { resolveCompressionOptions } from './compression/options.ts';
import { answerConnect } from './connect.ts';
import { ConnectionGuard } from './connection-guard.ts';
import { processDashboardInput } from './dashboard/dashboard.ts';
import { Dispatch } from './dispatch.ts';
import { EdgePolicy, hostMatcher, Refusal } from './edge-policy.ts';
import { createErrorSink } from './error-sink.ts';
import { ServerError } from './errors.ts';
import { ExchangeLog } from './exchange-log.ts';
import { FastLane } from './h1/lane.ts';
import { createLaneHandler } from './h1/lane-handler.ts';
import { resolveHttp2Options } from './h2/options.ts';
import { routePriorKnowledge } from './h2/prior-knowledge.ts';
import { h2ResponseClass } from './h2/response.ts';
import { Http2Sessions } from './h2/sessions.ts';
import { dispatchStreams } from './h2/to-dispatch.ts';
import { nodeAppHandler } from './node-app.ts';
import { type EdgeServeOptions, type ResolvedServeOptions, resolveServeOptions } from './options.ts';
import { answerParserErrors } from './parser-errors.ts';
import { EdgeRateLimiter } from './rate-limit.ts';
import { ServerState } from './server-state.ts';
import { PendingWork, shutdown } from './shutdown.ts';
import { withSpaFallback } from './static/spa-fallback.ts';
import { StaticFiles } from './static/static-files.ts';
import type { CertificateStore } from './tls/certificate-store.ts';
import { startRedirect } from './tls/redirect.ts';
import { TlsSetup } from './tls/tls-setup.ts';
import { acceptUpgrades } from './upgrades.ts';

/**
 * The largest Content-Length body the fast lane reads itself (with its head, or gathered from
 * the reads after it): JSON, form and small multipart bodies. Larger ones, and chunked ones, take
 * node's path.
 */
const LANE_MAX_BODY = 65_536;

/** A running server; `W` is its WebSocket endpoint (realtime's `RealtimeServer` by default). */
export interface EdgeServer<W extends WebSocketEndpoint = WebSocketEndpoint> {
  /** `http://host:port` (`https://` with `tls`), with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The underlying node server (for upgrades and tests; prefer the options above). */
  readonly node: Server;
  /** This process's metrics, when the `metrics` or `admin` option is on. */
  readonly metrics: Metrics | undefined;
  /** The admin listener's URL (`/metrics`, `/healthz`), when `admin` is on. */
  readonly adminUrl: string | undefined;
  /**
   * The HTTP/2 sessions, when `http2` is on: `accept(socket)` serves HTTP/2 on a connected socket
   * (the TLS listener's hook for ALPN `h2`).
   */
  readonly http2: Http2Sessions | undefined;
  /** WebSockets and publish/subscribe (fetch-style apps only; undefined for node handlers). */
  readonly realtime: W | undefined;
  /**
   * With `tls`: the certificates, chosen by SNI; `install()` adds one at runtime (ACME), and
   * `reload()` reads the files again (what SIGHUP and a file change do).
   */
  readonly certificates: CertificateStore | undefined;
  /** With `tls.redirectHttp`: the redirect listener's URL. */
  readonly redirectUrl: string | undefined;
  /**
   * Graceful shutdown: stop accepting, finish in-flight requests (their responses say
   * `Connection: close`), close idle keep-alive connections at once, force-close whatever is
   * left after `shutdownTimeout`, await `waitUntil` work, then run the app's `shutdown` hook.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves an app on node:http with production limits and graceful shutdown: the wiring of the
 * server's parts (docs/architecture.md) — the edge policy (edge-policy.ts), the dispatch of both
 * transports (dispatch.ts), the connection guard, the parser-error answers, CONNECT, and the
 * shutdown sequence, around one `ServerState`.
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
  const log: Logger =
    options.logger === false ? createLogger({ level: 'silent' }) : (options.logger ?? createLogger());
  if (config.fastResponse) installFastResponse();
  const state = new ServerState(config.maxInFlight);
  const work = new PendingWork(log);
  const onError = createErrorSink(log, config.dev);
  // HTTPS (src/server/tls/): certificates, SNI, ticket keys, HSTS, the redirect listener.
  // With http2 on, ALPN offers h2 and hands such sockets to the HTTP/2 sessions (made below).
  let acceptH2: ((socket: TLSSocket) => void) | undefined;
  const tlsOptions =
    options.tls !== undefined && options.http2 !== undefined && options.http2 !== false
      ? {
          ...options.tls,
          alpn: {
            h2: (socket: TLSSocket) => {
              if (acceptH2 !== undefined) acceptH2(socket);
              else socket.destroy();
            },
          },
        }
      : options.tls;
  const tls = tlsOptions === undefined ? undefined : await TlsSetup.prepare(tlsOptions, log);
  const hsts: [string, string][] | undefined =
    tls?.hsts === undefined ? undefined : [['strict-transport-security', tls.hsts]];

  // The client address: the socket's peer, or behind trusted proxies the forwarded one.
  const { trusted, remoteOf, secureOf } = proxyAddressing(options.trustProxy, options.trustProxyHeader);
  const accessLogConfig = resolveAccessLog(options.accessLog);
  const accessLog =
    accessLogConfig === undefined ? undefined : new AccessLog(accessLogConfig, { trusted, remoteOf, log });
  const idHeader = accessLog?.header;
  const compression = options.compression ?? false;
  const compressor =
    compression === false ? undefined : new ResponseCompressor(resolveCompressionOptions(compression));
  const metrics = metricsOf(options);
  // The one record of every exchange's end: access log lines and metrics, for every transport.
  const exchangeLog =
    accessLog === undefined && metrics === undefined ? undefined : new ExchangeLog(accessLog, metrics);
  const monitor = options.loadShedding === undefined ? undefined : new LoopMonitor(options.loadShedding);
  const policy = edgePolicyOf(options, config, state, monitor, remoteOf, log);
  const staticFiles = staticFilesOf(options.static, log);
  // The reverse proxy (src/proxy/): its routes are asked before static files and the app.
  const edgeProxy =
    options.proxy === undefined
      ? undefined
      : new EdgeProxy(options.proxy, {
          trusted: trusted.size === 0 ? () => false : (address) => trusted.has(address),
          forwarding: resolveTrustProxyHeader(options.trustProxyHeader),
          maxBodySize: config.maxBodySize,
          closing: () => state.draining,
          responseHeaders: hsts,
          metrics,
          log,
          noteUpstream: accessLog?.noteUpstream,
        });

  let dispatch: Dispatch | undefined;
  // The gateway's view of the server (read per request; `closing` is the server's draining).
  const gateway: NodeAdapterOptions & { defaultHost: string } = {
    onServeInfo: metrics === undefined ? undefined : (info) => dispatch!.onServeInfo(info),
    remote: remoteOf,
    get closing() {
      return state.draining;
    },
    maxBodySize: config.maxBodySize,
    secure: tls !== undefined,
    secureOf,
    requestId: idHeader === undefined ? undefined : (req) => req.headers[idHeader] as string | undefined,
    defaultHost: `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    onError,
    waitUntil: work.add,
    encoder: compressor,
  };

  // The app on each path: a fetch app through the gateway (and the SPA fallback), or a node app.
  const app = resolved.kind === 'fetch' ? resolved.app : undefined;
  let served: App | undefined;
  let handler: NodeHandler;
  let markClosing = (): void => {};
  if (resolved.kind === 'fetch') {
    const fetchApp = resolved.app;
    // The server's `dev` reaches errors that escape the app; an App that answers its own errors
    // is told through the gateway contract.
    if (config.dev) fetchApp.setDevMode?.(true);
    served = staticFiles?.hasSpaFallback === true ? withSpaFallback(fetchApp, staticFiles) : fetchApp;
    handler = createNodeHandler(served, gateway);
  } else {
    ({ handler, markClosing } = nodeAppHandler(resolved.handler, compressor, onError, staticFiles));
  }
  const fastLane = config.fastLane && served !== undefined;
  // ACME HTTP-01 (src/server/acme/): the challenge path is answered before anything else.
  const acme = options.acmeChallenges;
  dispatch = new Dispatch({
    acme,
    policy,
    state,
    staticFiles,
    proxy: edgeProxy,
    handler,
    laneHandler: fastLane ? createLaneHandler(served!, gateway) : undefined,
    exchangeLog,
    metrics,
    requestStarted: options.onRequestStart,
    maxRequestsPerSocket: config.maxRequestsPerSocket,
  });
  const onRequest = dispatch.onRequest;
  const makeEndpoint = options.websockets;
  const websockets = app === undefined || !makeEndpoint ? undefined : makeEndpoint({ logger: log });
  const server: Server = createHttpServer(
    config,
    exchangeLog,
    hsts === undefined
      ? onRequest
      : (req, res) => {
          // Before the app: an app's own Strict-Transport-Security replaces it.
          res.setHeader(hsts[0]![0], hsts[0]![1]);
          onRequest(req, res);
        },
    (req) =>
      // Only WebSocket upgrades leave the request path (h2c and others are ordinary requests),
      // and only those the edge policy passes: a refused one is an ordinary request, which the
      // dispatch answers (and the access log logs) like any other. A proxy route's go upstream.
      ((edgeProxy !== undefined && isWebSocketRequest(req) && edgeProxy.takesUpgrade(req)) ||
        (app !== undefined
          ? websockets !== undefined && isWebSocketRequest(req)
          : server.listenerCount('upgrade') > 0)) &&
      policy.refusal(req, false) === Refusal.PASS,
    tls,
  );
  server.on('checkContinue', dispatch.onCheckContinue);
  server.on('checkExpectation', dispatch.onCheckExpectation);
  // The fast lane (src/server/h1/): plain bodiless HTTP/1.1 requests of a fetch app without
  // node's request/response streams (everything else on a node ServerResponse per response).
  const lane = !fastLane
    ? undefined
    : new FastLane({
        server,
        ...(tls !== undefined && { connectionEvent: 'secureConnection', responseHeaders: hsts }),
        maxHeaderSize: config.maxHeaderSize,
        maxHeaderCount: config.maxHeaderCount,
        maxBody: Math.min(config.maxBodySize, LANE_MAX_BODY),
        requestTimeout: config.requestTimeout,
        refused: exchangeLog?.laneRefused,
        keepAliveTimeout: config.keepAliveTimeout,
        headersTimeout: config.headersTimeout,
        idleTimeout: config.idleTimeout,
        maxRequestsPerSocket: config.maxRequestsPerSocket,
        closing: () => state.draining,
        Response: exchangeLog?.responses.Counting,
        onRequest: dispatch.onLaneRequest,
      });
  dispatch.lane = lane;
  // HTTP/2 (src/server/h2/): streams into the same dispatch; h2c by the connection's first bytes.
  const http2 = resolveHttp2Options(options.http2, config.maxHeaderSize);
  const h2 =
    http2 === undefined
      ? undefined
      : new Http2Sessions({
          http2,
          maxHeaderCount: config.maxHeaderCount,
          idleTimeout: config.idleTimeout,
          requestTimeout: config.requestTimeout,
          maxRequestsPerSession: config.maxRequestsPerSocket,
          log,
          onStream: dispatchStreams(
            dispatch,
            h2ResponseClass(exchangeLog?.sink),
            h2ResponseClass(exchangeLog?.sink, false),
            // Proxied streams take node's compatibility path (the proxy's lane writer is HTTP/1.1).
            fastLane && edgeProxy === undefined,
            hsts,
          ),
        });
  acceptH2 = h2?.accept;
  if (h2 !== undefined && http2!.h2c) routePriorKnowledge(server, h2.accept, config.headersTimeout);
  tls?.attach(server as HttpsServer);
  const appUpgrade =
    websockets !== undefined && app !== undefined
      ? createNodeUpgradeHandler(app, gateway, websockets)
      : undefined;
  if (appUpgrade !== undefined || edgeProxy !== undefined) {
    acceptUpgrades(
      server,
      (req, socket, head, ended) => {
        if (edgeProxy?.upgrade(req, socket as Socket, head, ended)) return;
        if (appUpgrade !== undefined) appUpgrade(req, socket, head, ended);
        else socket.destroy();
      },
      state,
      exchangeLog,
      options.onRequestStart,
    );
  }
  if (websockets !== undefined && app !== undefined) app.attachPubSub?.(websockets);
  const guard = new ConnectionGuard({
    maxPerIp: config.maxConnectionsPerIp,
    trusted,
    log,
    drainGrace: config.drainGrace,
    // The lane's connections with a response under way; HTTP/2's, which drain by GOAWAY.
    busyElsewhere:
      lane === undefined && h2 === undefined
        ? undefined
        : (socket) => lane?.busy(socket) === true || h2?.has(socket) === true,
  });
  guard.attach(server);
  answerParserErrors(server, log, exchangeLog, hsts);
  answerConnect(
    server,
    policy,
    exchangeLog?.responses.Recorded ?? ServerResponse,
    options.onRequestStart,
    hsts,
  );
  // What serve() started before it listens, stopped when it fails to start (the proxy's health
  // checks and pools, the certificate watch and ticket rotation, the access log).
  const abandon = (): void => {
    void accessLog?.close();
    void edgeProxy?.close();
    tls?.close();
  };
  if (app?.startup !== undefined) {
    try {
      await app.startup();
    } catch (err) {
      abandon();
      throw err;
    }
  }
  await listen(server, config.host, config.port, config.reusePort, abandon);
  server.on('error', (err) => log.error({ err }, 'server error'));

  const admin = await startAdminOf(
    options.admin,
    metrics,
    server,
    () => !state.draining && monitor?.underPressure !== true,
    () => ({ draining: state.draining, pressure: monitor?.pressure }),
  ).catch((err: unknown) => {
    abandon();
    throw err;
  });

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  gateway.defaultHost = `${hostForUrl}:${address.port}`;
  const url = `${tls === undefined ? 'http' : 'https'}://${hostForUrl}:${address.port}`;
  const redirect =
    tls?.redirect === undefined
      ? undefined
      : await startRedirect({
          port: tls.redirect.port,
          host: tls.redirect.host ?? config.host,
          httpsPort: address.port,
          hostAllowed: options.allowedHosts === undefined ? undefined : hostMatcher(options.allowedHosts),
          headersTimeout: config.headersTimeout,
          maxHeaderSize: config.maxHeaderSize,
          log,
          reusePort: config.reusePort,
          // ACME's HTTP-01 challenges come to port 80: answered here, before the redirect.
          intercept: acme === undefined ? undefined : (req, res) => answerHttp01(acme, req, res),
        }).catch(async (err: NodeJS.ErrnoException) => {
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await admin?.close();
          abandon();
          throw ServerError.fromListen(err, tls.redirect!.host ?? config.host, tls.redirect!.port);
        });

  // The per-address cap holds on the redirect listener too (it also answers ACME's HTTP-01).
  if (redirect !== undefined)
    new ConnectionGuard({
      maxPerIp: config.maxConnectionsPerIp,
      trusted,
      log,
      drainGrace: config.drainGrace,
    }).attach(redirect.server);
  // The upstream groups' health checks run from now until close (an upstream down at boot is
  // known before the first request, and a server that failed to start checks nothing).
  edgeProxy?.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    tls?.close();
    const redirectClosed = redirect?.close();
    closing ??= shutdown({
      server,
      state,
      guard,
      lane,
      h2,
      websockets,
      work,
      app,
      markClosing,
      stopMonitor: () => monitor?.stop(),
      admin,
      accessLog,
      log,
      shutdownTimeout: config.shutdownTimeout,
    }).then(async () => {
      await redirectClosed;
      await edgeProxy?.close();
    });
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  log.info({ url, ...(redirect !== undefined && { redirect: redirect.url }) }, 'listening');
  return {
    url,
    host: address.address,
    port: address.port,
    node: server,
    metrics,
    adminUrl: admin?.url,
    http2: h2,
    realtime: websockets,
    certificates: tls?.certificates,
    redirectUrl: redirect?.url,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The process's metrics: given, asked for, or needed by the admin listener. */
function metricsOf(options: EdgeServeOptions<WebSocketEndpoint>): Metrics | undefined {
  if (options.metrics instanceof Metrics) return options.metrics;
  return options.metrics === true || (options.admin !== undefined && options.admin !== false)
    ? new Metrics()
    : undefined;
}

/** The edge policy from the options. */
function edgePolicyOf(
  options: EdgeServeOptions<WebSocketEndpoint>,
  config: ResolvedServeOptions,
  state: ServerState,
  monitor: LoopMonitor | undefined,
  remoteOf: ((req: IncomingMessage) => RemoteAddress) | undefined,
  log: Logger,
): EdgePolicy {
  return new EdgePolicy(
    {
      pressure: monitor,
      allow: options.allow === undefined ? undefined : new AddressList(options.allow),
      deny: options.deny === undefined ? undefined : new AddressList(options.deny),
      remoteOf,
      hostAllowed: options.allowedHosts === undefined ? undefined : hostMatcher(options.allowedHosts),
      maxHeaderCount: config.maxHeaderCount,
      maxUrlLength: config.maxUrlLength,
      maxBodySize: config.maxBodySize,
      retryAfter: config.retryAfter,
      rateLimiter:
        options.rateLimit === undefined || options.rateLimit === false
          ? undefined
          : new EdgeRateLimiter(options.rateLimit, remoteOf),
      log,
    },
    state,
  );
}

/** Static files, when on; logs once at debug which path large files take. */
function staticFilesOf(
  option: EdgeServeOptions<WebSocketEndpoint>['static'],
  log: Logger,
): StaticFiles | undefined {
  if (option === undefined) return undefined;
  const files = new StaticFiles(typeof option === 'string' ? { root: option } : option);
  const transport = files.diskTransport;
  log.debug(
    { transport },
    transport === 'sendfile'
      ? 'static files beyond the memory cache go out with sendfile(2)'
      : 'static files beyond the memory cache are streamed (sendfile addon not built, or sendfile: false)',
  );
  return files;
}

/** node's http.Server with the server's limits; the exchange log's response class when it is on. */
function createHttpServer(
  config: ResolvedServeOptions,
  exchangeLog: ExchangeLog | undefined,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  shouldUpgrade: (req: IncomingMessage) => boolean,
  tls: TlsSetup | undefined,
): Server {
  // node:https is node:http's server over tls.Server: the same options, limits and connection
  // tracking (headersTimeout's checks run on its 'listening'), with HTTP on the TLS sockets.
  const create: typeof createServer = tls === undefined ? createServer : createHttpsServer;
  const server = create(
    {
      ...tls?.serverOptions(),
      headersTimeout: config.headersTimeout,
      requestTimeout: config.requestTimeout,
      keepAliveTimeout: config.keepAliveTimeout,
      maxHeaderSize: config.maxHeaderSize,
      // Node checks header/request timeouts on this interval (30 s by default): check often
      // enough that a slowloris client is cut near headersTimeout, not up to 30 s later.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(config.headersTimeout / 4))),
      requireHostHeader: true,
      ...(exchangeLog !== undefined && { ServerResponse: exchangeLog.responses.Recorded }),
      shouldUpgradeCallback: shouldUpgrade,
    },
    onRequest,
  );
  // node stores at most maxHeadersCount lines (dropping the rest silently): one more than the
  // cap, so that the edge policy sees a head over it.
  if (config.maxHeaderCount > 0) server.maxHeadersCount = config.maxHeaderCount + 1;
  server.maxConnections = config.maxConnections;
  server.maxRequestsPerSocket = config.maxRequestsPerSocket;
  server.timeout = config.idleTimeout;
  return server;
}

/** The admin listener, when on (closes `server` if it cannot start). */
async function startAdminOf(
  option: EdgeServeOptions<WebSocketEndpoint>['admin'],
  metrics: Metrics | undefined,
  server: Server,
  healthy: () => boolean,
  status: () => { draining: boolean; pressure: string | undefined },
): Promise<AdminServer | undefined> {
  if (option === undefined || option === false || metrics === undefined) return undefined;
  try {
    return await startAdmin({
      ...(option === true ? {} : option),
      metrics: () => metrics.text(),
      contentType: metrics.contentType,
      healthy,
      // The live dashboard's view of this process (src/server/dashboard/).
      dashboard: () => processDashboardInput(metrics, { healthy: healthy(), ...status() }),
    });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
}

/** Listens, or rejects with the server's error for the address (`onError` runs first). */
function listen(server: Server, host: string, port: number, reusePort: boolean, onError: () => void) {
  return new Promise<void>((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      onError();
      reject(ServerError.fromListen(err, host, port));
    };
    const onListening = (): void => {
      server.off('error', onListenError);
      resolve();
    };
    server.once('error', onListenError);
    server.once('listening', onListening);
    server.listen({ port, host, reusePort });
  });
}
