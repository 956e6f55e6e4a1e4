/**
 * `strata-stack`: the framework and the gateway contract every strata app implements.
 */
export * from './app/index.ts';
export { type RateLimitOptions, rateLimit } from './app/middleware/rate-limit.ts';
export { openFile } from './gateway/file-body.ts';
export {
  ClusterRateLimitStore,
  gcra,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitDecision,
  type RateLimitPolicy,
  type RateLimitStore,
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  ratePolicy,
} from './gateway/rate-limit/index.ts';
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
