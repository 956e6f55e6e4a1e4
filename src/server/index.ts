/** `strata-stack/server`: the edge — listeners, limits, graceful shutdown. */

export {
  ADMIN_DEFAULTS,
  ADMIN_TOKEN_MIN_LENGTH,
  type AdminOptions,
  type AdminServer,
  isLoopbackHost,
  startAdmin,
} from './admin.ts';
export { AddressList, clientAddress, ipBytes } from './client-address.ts';
export { COMPRESSIBLE_TYPES, CompressibleTypes, isCompressible } from './compression/compressible.ts';
export { varyWithAcceptEncoding } from './compression/compressor.ts';
export { negotiateEncoding } from './compression/negotiate.ts';
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
export { evaluatePreconditions, ifRangeMatches, type Precondition } from './static/conditional.ts';
export { contentTypeFor } from './static/mime.ts';
export { type ByteRange, parseRange } from './static/range.ts';
export { StaticFiles, type StaticOptions } from './static/static-files.ts';
export { resolveStaticPath, type StaticPath } from './static/static-path.ts';
