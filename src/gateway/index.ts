/**
 * `strata-stack/gateway`: the contract between servers and apps, and the Node adapter.
 */
export type { BodyEncoder } from './body-encoder.ts';
export { bodyTooLarge, GatewayError } from './errors.ts';
export { type FastParts, FastResponse, installFastResponse, NativeResponse } from './fast-response.ts';
export { type FastifyLike, fromFastify } from './fastify.ts';
export { filePathOf, openFile } from './file-body.ts';
export { createNodeHandler, type NodeAdapterOptions, type NodeHandler } from './node.ts';
export { hasBody, type NodeGatewayConfig, NodeRequest } from './node-request.ts';
export { type ErrorSink, writeResponse } from './node-response.ts';
export {
  createNodeUpgradeHandler,
  type HandshakeRefusal,
  refuseHandshake,
  type WebSocketAcceptor,
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
