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
export { type CorsOptions, cors } from './middleware/cors.ts';
export { createMiddleware, type TypedMiddleware } from './middleware/create-middleware.ts';
export { type RequestIdOptions, requestId } from './middleware/request-id.ts';
export { serverTiming } from './middleware/server-timing.ts';
export {
  assertSafePattern,
  type HttpRouter,
  type LookupResult,
  MALFORMED,
  RouteError,
  type RouteMatch,
  Router,
} from './router/index.ts';
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
  Typed,
  VariableKey,
  VariableOf,
  Variables,
} from './types.ts';
export { type ValidateOptions, type ValidationIssue, type ValidationTargets, validate } from './validate.ts';
