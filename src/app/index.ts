/** The framework: what `strata-stack` exports for apps. */
export { App, type AppOptions, type ErrorHandler, type RouteMethod } from './app.ts';
export {
  BODY_DEFAULTS,
  type BodyLimits,
  discardUploads,
  type FormBody,
  keepUpload,
  parseBody,
  type UploadedFile,
} from './body.ts';
export { Context, type ResponseOptions } from './context.ts';
export { type CookieOptions, serializeCookie } from './cookies.ts';
export { AppError } from './errors.ts';
export { HttpError } from './http-error.ts';
export type { PublishListener } from './local-pubsub.ts';
export { type MediaType, parseMediaType } from './media-type.ts';
export { CORS_DEFAULTS, type CorsOptions, cors } from './middleware/cors.ts';
export { createMiddleware, type TypedMiddleware } from './middleware/create-middleware.ts';
// Identity and security: sessions, CSRF, security headers (kept together).
export { CSRF_DEFAULTS, type CsrfOptions, csrf, csrfToken } from './middleware/csrf.ts';
export { type RequestIdOptions, requestId } from './middleware/request-id.ts';
export {
  type ContentSecurityPolicyOptions,
  CSP_DEFAULTS,
  type CspDirectives,
  NONCE,
  type SecureHeadersOptions,
  type StrictTransportSecurityOptions,
  secureHeaders,
} from './middleware/secure-headers.ts';
export { serverTiming } from './middleware/server-timing.ts';
export {
  SESSION_DEFAULTS,
  Session,
  type SessionCookieOptions,
  type SessionOptions,
  session,
} from './middleware/session.ts';
export {
  assertSafePattern,
  type HttpRouter,
  type LookupResult,
  MALFORMED,
  RouteError,
  type RouteMatch,
  Router,
} from './router/index.ts';
export {
  REDIS_SESSION_STORE_DEFAULTS,
  type RedisSessionClient,
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from './session/redis-store.ts';
export {
  MEMORY_SESSION_STORE_DEFAULTS,
  MemorySessionStore,
  type MemorySessionStoreOptions,
  type SessionRecord,
  type SessionStore,
} from './session/store.ts';
export { formatEvent, SSE_DEFAULTS, type SSEMessage, type SSEOptions, SSEStream } from './sse.ts';
export type { InferOutput, StandardSchemaV1 } from './standard-schema.ts';
export type {
  ContextVariableMap,
  Handler,
  HandlerResult,
  Inputs,
  Middleware,
  MiddlewareResult,
  Next,
  PathParams,
  RequestSession,
  Typed,
  VariableKey,
  VariableOf,
  Variables,
} from './types.ts';
export { type ValidateOptions, type ValidationIssue, type ValidationTargets, validate } from './validate.ts';
