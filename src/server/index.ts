/** `strata/server`: the edge — listeners, limits, graceful shutdown. */

export { ADMIN_DEFAULTS, type AdminOptions, type AdminServer, startAdmin } from './admin.ts';
export { AddressList, clientAddress, ipBytes } from './client-address.ts';
export { ServerError } from './errors.ts';
export {
  type ResolvedServeOptions,
  resolveServeOptions,
  SERVER_DEFAULTS,
  type ServeOptions,
} from './options.ts';
export { type StrataServer, serve } from './serve.ts';
export { evaluatePreconditions, ifRangeMatches, type Precondition } from './static/conditional.ts';
export { contentTypeFor, isCompressible } from './static/mime.ts';
export { type ByteRange, parseRange } from './static/range.ts';
export { StaticFiles, type StaticOptions } from './static/static-files.ts';
export { resolveStaticPath, type StaticPath } from './static/static-path.ts';
