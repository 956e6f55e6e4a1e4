/** `strata-stack/realtime`: WebSockets on Node, topics and brokers, behind the gateway's contract. */

export {
  CLUSTER_PUBLISH,
  ClusterBroker,
  type ClusterPublish,
  type PrimaryLike,
  relayCluster,
  type WorkerChannelLike,
} from './cluster-broker.ts';
export { RealtimeError } from './errors.ts';
export { isWebSocketRequest, originAllowed, selectProtocol, vetHandshake } from './handshake.ts';
export { MemoryBroker } from './memory-broker.ts';
export {
  type BackpressureAction,
  normalizeOrigin,
  REALTIME_DEFAULTS,
  type ResolvedWebSocketOptions,
  resolveWebSocketOptions,
  type WebSocketOptions,
} from './options.ts';
export { type RealtimeLogger, RealtimeServer, type RealtimeServerOptions } from './realtime-server.ts';
export { REDIS_BROKER_DEFAULTS, RedisBroker, type RedisBrokerOptions } from './redis-broker.ts';
export { StrataSocket } from './socket.ts';
