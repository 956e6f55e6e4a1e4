/** `strata-stack/server`: the edge — listeners, limits, graceful shutdown. */

export { COMPRESSIBLE_TYPES, CompressibleTypes, isCompressible } from '../gateway/http/compressible.ts';
export { evaluatePreconditions, ifRangeMatches, type Precondition } from '../gateway/http/conditional.ts';
export { contentTypeFor } from '../gateway/http/mime.ts';
export { negotiateEncoding } from '../gateway/http/negotiate.ts';
export { type ByteRange, parseRange } from '../gateway/http/range.ts';
export { resolveStaticPath, type StaticPath } from '../gateway/http/static-path.ts';
export {
  ADMIN_DEFAULTS,
  ADMIN_TOKEN_MIN_LENGTH,
  type AdminOptions,
  type AdminServer,
  isLoopbackHost,
  startAdmin,
} from './admin.ts';
export { AddressList, clientAddress, ipBytes } from './client-address.ts';
export { varyWithAcceptEncoding } from './compression/compressor.ts';
export {
  COMPRESSION_DEFAULTS,
  type CompressionOptions,
  type ContentCoding,
  type ResolvedCompressionOptions,
  resolveCompressionOptions,
} from './compression/options.ts';
export {
  DASHBOARD_CSP,
  DashboardFeed,
  type DashboardInput,
  type DashboardSnapshot,
  type DashboardSource,
  processDashboardInput,
} from './dashboard/index.ts';
export { ServerError } from './errors.ts';
export {
  type ResolvedServeOptions,
  resolveServeOptions,
  SERVER_DEFAULTS,
  type ServeOptions,
} from './options.ts';
export { type StrataServer, serve } from './serve.ts';
export { StaticFiles, type StaticOptions } from './static/static-files.ts';
