/**
 * `strata-stack/gateway`: the contract between servers and apps, and the Node adapter. The
 * adapter's own parts (the lazy `NodeRequest`, `FastResponse`, the response writer, body checks,
 * `installFastResponse`, …) are internal: the server imports them from their files.
 */
export type { BodyEncoder } from './body-encoder.ts';
export { GatewayError } from './errors.ts';
export { NativeResponse } from './fast-response.ts';
export { type FastifyLike, fromFastify } from './fastify.ts';
export { openFile } from './file-body.ts';
export { createNodeHandler, type NodeAdapterOptions, type NodeHandler } from './node.ts';
export { toNativeRequest } from './node-request.ts';
export {
  createNodeUpgradeHandler,
  type HandshakeRefusal,
  type WebSocketAcceptor,
  type WebSocketEndpoint,
} from './node-upgrade.ts';
export { nodeHandler, type ResolvedApp, resolveApp } from './resolve-app.ts';
export type { App, FetchHandler, RemoteAddress, ServeInfo } from './types.ts';
export {
  type Broker,
  type BrokerListener,
  CloseCode,
  type PendingUpgrade,
  type PubSub,
  type ServerWebSocket,
  type UpgradeFunction,
  type UpgradeOptions,
  type WebSocketData,
  type WebSocketHandlers,
  type WebSocketMessage,
} from './websocket.ts';
