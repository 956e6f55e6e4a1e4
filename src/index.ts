/**
 * `strata-stack`: the framework and the gateway contract every strata app implements.
 */
export type { RouteEntry } from './app/app.ts';
// Identity and security: authentication, authorization, password hashing.
export {
  can,
  definePolicy,
  type OwnerOptions,
  type PermissionOptions,
  type Policy,
  type PolicyRule,
  type RoleOptions,
  requireOwner,
  requirePermission,
  requireRole,
  requireScope,
} from './app/authorize.ts';
export * from './app/index.ts';
export {
  type ApiKeyOptions,
  accessRule,
  apiKey,
  type BasicAuthOptions,
  type BasicUser,
  type BearerOptions,
  basicAuth,
  bearer,
  decodeBasic,
  isAccessRule,
  type JWTPayload,
  type JwksOptions,
  type JwtOptions,
  type JwtVariables,
  jwt,
  parseAuthorization,
  publicRoute,
  timingSafeEqual,
} from './app/middleware/auth/index.ts';
export {
  COMPRESS_DEFAULTS,
  type CompressEncoding,
  type CompressOptions,
  compress,
  supportedEncodings,
} from './app/middleware/compress.ts';
export { type RateLimitOptions, rateLimit } from './app/middleware/rate-limit.ts';
export { type ServeStaticOptions, serveStatic } from './app/middleware/serve-static.ts';
export * from './app/openapi/index.ts';
export {
  type Argon2Params,
  createPasswordHasher,
  HAS_ARGON2,
  hashPassword,
  type Kdf,
  needsRehash,
  nodeKdf,
  type ParsedHash,
  type PasswordHasher,
  type PasswordHasherOptions,
  parsePasswordHash,
  type ScryptParams,
  verifyAndRehash,
  verifyPassword,
} from './app/password.ts';
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
