/** `strata/server`: the edge — listeners, limits, graceful shutdown. */
export { ServerError } from './errors.ts';
export {
  type ResolvedServeOptions,
  resolveServeOptions,
  SERVER_DEFAULTS,
  type ServeOptions,
} from './options.ts';
export { type StrataServer, serve } from './serve.ts';
