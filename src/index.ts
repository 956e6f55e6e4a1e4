/**
 * `strata-stack`: the framework and the gateway contract every strata app implements.
 */
export type { RouteEntry } from './app/app.ts';
export * from './app/index.ts';
export * from './app/openapi/index.ts';
export { openFile } from './gateway/file-body.ts';
export type { App as AppContract, FetchHandler, RemoteAddress, ServeInfo } from './gateway/types.ts';
export {
  type Broker,
  type BrokerListener,
  CloseCode,
  type PubSub,
  type ServerWebSocket,
  type UpgradeOptions,
  type WebSocketData,
  type WebSocketHandlers,
  type WebSocketMessage,
} from './gateway/websocket.ts';
