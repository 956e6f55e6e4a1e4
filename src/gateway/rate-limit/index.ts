/**
 * Rate limiting's shared core: the pure GCRA, the store interface and its stores, the header
 * fields. It sits in the gateway because both doors use it — the server's edge (`rateLimit`
 * option) and the app's `rateLimit()` middleware — and the gateway is the one layer both may
 * import; nothing here touches node:http.
 */
export { addressKey } from './address-key.ts';
export {
  CLUSTER_RATE_LIMIT,
  CLUSTER_RATE_LIMIT_ANSWER,
  CLUSTER_STORE_DEFAULTS,
  ClusterRateLimitStore,
  type RateLimitPrimary,
  type RateLimitWorkerChannel,
  serveClusterRateLimits,
} from './cluster-store.ts';
export { gcra, type RateLimitDecision, type RateLimitPolicy, ratePolicy } from './gcra.ts';
export { policyField, rateLimitField, retryAfterSeconds } from './headers.ts';
export { RateLimiter, type RateLimiterOptions } from './limiter.ts';
export {
  MEMORY_STORE_DEFAULTS,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
} from './memory-store.ts';
export { parseRate, parseWindow, type WindowSpec } from './rate-spec.ts';
export { REDIS_STORE_DEFAULTS, RedisRateLimitStore, type RedisRateLimitStoreOptions } from './redis-store.ts';
export type { RateLimitStore } from './store.ts';
