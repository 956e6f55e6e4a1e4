/**
 * `strata-stack/server`: the edge — listeners, limits, graceful shutdown.
 *
 * A package entry, not part of the server layer: it composes the edge's `serve()`
 * (src/server/serve.ts, which knows WebSockets only through the gateway's `WebSocketEndpoint`)
 * with realtime's `RealtimeServer` as the endpoint, so that `serve(app)` takes WebSockets. No
 * file of src/server imports src/realtime (test/architecture.test.ts).
 */

import type { NodeHandler } from './gateway/node.ts';
import type { App, FetchHandler } from './gateway/types.ts';
import type { Broker } from './gateway/websocket.ts';
import { RealtimeServer, type WebSocketOptions } from './realtime/index.ts';
import type { EdgeServeOptions } from './server/options.ts';
import { type EdgeServer, serve as serveEdge } from './server/serve.ts';

export { COMPRESSIBLE_TYPES, CompressibleTypes, isCompressible } from './gateway/http/compressible.ts';
export { evaluatePreconditions, ifRangeMatches, type Precondition } from './gateway/http/conditional.ts';
export { contentTypeFor } from './gateway/http/mime.ts';
export { negotiateEncoding } from './gateway/http/negotiate.ts';
export { type ByteRange, parseRange } from './gateway/http/range.ts';
export { resolveStaticPath, type StaticPath } from './gateway/http/static-path.ts';
export {
  ACME_DEFAULTS,
  type AcmeCheck,
  type AcmeConfig,
  AcmeError,
  AcmeManager,
  type AcmeOptions,
  type CertificateSink,
  type Http01Answers,
  LETS_ENCRYPT,
  tlsAlpnFront,
} from './server/acme/index.ts';
export {
  ADMIN_DEFAULTS,
  ADMIN_TOKEN_MIN_LENGTH,
  type AdminOptions,
  type AdminServer,
  isLoopbackHost,
  startAdmin,
} from './server/admin.ts';
export { AddressList, clientAddress, ipBytes } from './server/client-address.ts';
export { varyWithAcceptEncoding } from './server/compression/compressor.ts';
export {
  COMPRESSION_DEFAULTS,
  type CompressionOptions,
  type ContentCoding,
  type ResolvedCompressionOptions,
  resolveCompressionOptions,
} from './server/compression/options.ts';
export {
  DASHBOARD_CSP,
  DashboardFeed,
  type DashboardInput,
  type DashboardSnapshot,
  type DashboardSource,
  processDashboardInput,
} from './server/dashboard/index.ts';
export { ServerError } from './server/errors.ts';
export { HTTP2_DEFAULTS, type Http2Options } from './server/h2/options.ts';
export type { Http2Sessions } from './server/h2/sessions.ts';
export {
  type EdgeServeOptions,
  type ResolvedServeOptions,
  resolveServeOptions,
  SERVER_DEFAULTS,
  type WebSocketsOption,
} from './server/options.ts';
export type { EdgeServer } from './server/serve.ts';
export { StaticFiles, type StaticOptions } from './server/static/static-files.ts';
export { type CertificateInfo, CertificateStore } from './server/tls/certificate-store.ts';
export {
  type CertificateOptions,
  type HstsOptions,
  TLS_DEFAULTS,
  type TlsOptions,
} from './server/tls/options.ts';
export { developmentCertificate, trustInstructions } from './server/tls/self-signed.ts';
export { TICKET_SECRET_ENV } from './server/tls/ticket-keys.ts';

/** `serve()`'s options: the edge's, with realtime's WebSocket options and broker. */
export type ServeOptions = Omit<EdgeServeOptions<RealtimeServer>, 'websockets'> & {
  /** WebSocket limits and origins (docs/realtime.md); WebSockets are on for every fetch-style app. */
  websocket?: WebSocketOptions;
  /**
   * The broker behind `publish` (docs/realtime.md): default a `MemoryBroker` (this process);
   * the supervisor gives workers a cluster broker, `--redis URL` a `RedisBroker`. The server
   * closes it when it shuts down.
   */
  broker?: Broker;
};

/** A running server, with its `RealtimeServer` (fetch-style apps). */
export type StrataServer = EdgeServer<RealtimeServer>;

/**
 * Serves an app on node:http with production limits and graceful shutdown, and WebSockets
 * through realtime's `RealtimeServer`.
 *
 * `target` is a strata app (anything with `fetch`), a bare fetch function, or a node-style
 * `(req, res)` handler such as an Express app (passed through untouched).
 *
 * @example
 * const server = await serve({ fetch: () => Response.json({ hello: 'world' }) }, { port: 3000 });
 * process.on('SIGTERM', () => server.close());
 */
export function serve(
  target: App | FetchHandler | NodeHandler,
  options: ServeOptions = {},
): Promise<StrataServer> {
  const { websocket, broker, ...edge } = options;
  return serveEdge<RealtimeServer>(target, {
    ...edge,
    websockets: ({ logger }) => new RealtimeServer({ ...websocket, broker, logger }),
  });
}
