/**
 * Every key of `strata.config.ts`, in one table: key → rule (type, range, enum, nested table).
 * A new option is one line here; the mapped types of `obj<T>()` make a key added to an option
 * type (ServeOptions, StaticOptions, …) without its line here a type error. docs/config.md
 * lists the same keys, and a test checks the two against each other.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { isToken } from '../gateway/http.ts';
import { parseRate, parseWindow } from '../gateway/rate-limit/rate-spec.ts';
import type { LoopMonitorOptions } from '../parallel/loop-monitor.ts';
import {
  type ActiveHealthOptions,
  type BreakerOptions,
  type Outcome,
  type PassiveHealthOptions,
  UpstreamGroup,
  type UpstreamSpec,
} from '../proxy/balance/index.ts';
import type { ProxyGroupOption, ProxyOptions, ProxyRouteOptions } from '../proxy/options.ts';
import type { WebSocketOptions } from '../realtime/options.ts';
import type { AccessLogOptions, AccessLogRequestIdOptions } from '../server/access-log.ts';
import { type AcmeConfig, domainProblem } from '../server/acme/options.ts';
import { AddressList } from '../server/client-address.ts';
import type { CompressionOptions, ContentCoding } from '../server/compression/options.ts';
import type { Http2Options } from '../server/h2/options.ts';
import type { EdgeRateLimitOptions } from '../server/rate-limit.ts';
import type { StaticOptions } from '../server/static/static-files.ts';
import type { CertificateOptions, HstsOptions, TlsOptions } from '../server/tls/options.ts';
import { NOT_IN_CONFIG, type StrataConfig, type WorkersConfig } from './config.ts';
import {
  bool,
  bytes,
  code,
  filePath,
  int,
  listOf,
  literal,
  ms,
  num,
  obj,
  oneOf,
  type Rule,
  seconds,
  str,
  TIMER_MAX_MS,
} from './config-rules.ts';

// --- checks of string values: each returns what is wrong, or undefined ---

const LABELS =
  /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/** An interface to listen on: an IP address or a host name. */
const listenHost = (h: string): string | undefined =>
  isIP(h) !== 0 || (LABELS.test(h) && !h.startsWith('*')) ? undefined : 'is not an IP address or a host name';

/** An entry of trustProxy / allow / deny, checked by the class that will read it. */
const addressEntry = (e: string): string | undefined => {
  try {
    new AddressList([e]);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/\.$/, '');
  }
};

/** An allowedHosts entry: `example.com`, `*.example.com`, an IPv4 address or `[v6]` (no port). */
const hostPattern = (h: string): string | undefined => {
  if (h === '*') return 'is not a host name (leave allowedHosts out to answer any Host)';
  if (/^\[[0-9a-f:.]+\]$/i.test(h) && isIP(h.slice(1, -1)) === 6) return undefined;
  if (h.includes(':')) return 'is not a host name: write it without a port (an IPv6 address in [brackets])';
  return LABELS.test(h) ? undefined : 'is not a host name or a *.wildcard';
};

/** A file name under the static root: relative, and never above it. */
const underRoot = (p: string): string | undefined =>
  isAbsolute(p) || p.split(/[\\/]/).includes('..')
    ? 'must be relative to static.root, without ".." segments'
    : undefined;

const redisUrl = (u: string): string | undefined => {
  try {
    const url = new URL(u);
    return url.protocol === 'redis:' || url.protocol === 'rediss:'
      ? undefined
      : 'must be a redis:// or rediss:// URL';
  } catch {
    return 'must be a redis:// or rediss:// URL';
  }
};

/** RFC 9110 §5.6.2 token (a header name). */
const token = (t: string): string | undefined => (isToken(t) ? undefined : 'is not a header name');

const mediaRange = (t: string): string | undefined =>
  /^[a-z0-9!#$&^_.+-]+\/(?:\*|\*\+[a-z0-9!#$&^_.+-]+|[a-z0-9!#$&^_.+-]+)$/i.test(t)
    ? undefined
    : 'is not a media type (type/subtype, type/* or type/*+suffix)';

const origin = (o: string): string | undefined => {
  try {
    new URL(o);
    return undefined;
  } catch {
    return 'is not an origin (scheme://host[:port])';
  }
};

const isLogger = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  ['info', 'warn', 'error', 'debug', 'child'].every(
    (m) => typeof (v as Record<string, unknown>)[m] === 'function',
  );

// --- reusable rules ---

const port = int(0, 65_535);
const addresses = listOf(str(addressEntry, 'an address, a CIDR range, loopback, private or linklocal'));

// --- the table ---

const staticOptions = obj<StaticOptions>({
  root: filePath(),
  prefix: str((p) => (p.startsWith('/') ? undefined : 'must start with "/"'), 'a URL path'),
  index: listOf(str(underRoot, 'a file name')),
  dotfiles: bool,
  symlinks: literal('inside', 'follow', 'deny'),
  spaFallback: str(underRoot, 'a file under static.root'),
  maxAge: int(0, 31_536_000 * 10),
  immutable: code('a RegExp', (v) => v instanceof RegExp),
  precompressed: bool,
  memoryCacheMaxFile: bytes(),
  memoryCacheMaxBytes: bytes(),
  memoryCacheMaxEntries: int(),
  revalidateMs: ms(),
  streamChunkSize: bytes(1, 64 * 1024 * 1024),
  sendfile: bool,
});

const compressionOptions = obj<CompressionOptions>({
  threshold: bytes(),
  syncLimit: bytes(),
  maxSize: bytes(),
  encodings: listOf(literal('zstd', 'br', 'gzip', 'deflate'), { min: 1, unique: true }),
  // The ranges each codec accepts (src/server/compression/options.ts).
  levels: obj<Record<ContentCoding, number>>({
    zstd: int(1, 19),
    br: int(0, 11),
    gzip: int(1, 9),
    deflate: int(1, 9),
  }),
  types: listOf(str(mediaRange, 'a media type')),
});

const http2Options = obj<Http2Options>({
  h2c: bool,
  maxConcurrentStreams: int(1),
  maxHeaderListSize: bytes(1),
  resetBurst: int(1),
  resetRate: int(1),
  maxSettings: int(1),
  maxSessionMemory: int(1),
  maxSessionRejectedStreams: int(1),
  initialWindowSize: int(1, 2_147_483_647),
});

const accessLogOptions = obj<AccessLogOptions>({
  format: literal('combined', 'json'),
  destination: filePath(['stdout']),
  requestId: oneOf(
    literal(false),
    obj<AccessLogRequestIdOptions>({
      header: str(token, 'a header name'),
      trust: literal('proxy', 'always', 'never'),
    }),
  ),
  bufferSize: bytes(0, 1_048_576),
  flushInterval: ms(1),
});

/** What a RangeError from `check` says, or undefined when `check` passes. */
const rangeProblem =
  (check: (text: string) => unknown) =>
  (text: string): string | undefined => {
    try {
      check(text);
      return undefined;
    } catch (err) {
      return (err as Error).message.replace(/^rate limit: /, '');
    }
  };

const rateLimit = oneOf(
  literal(false),
  str(rangeProblem(parseRate), 'N/WINDOW such as 100/1m or 10/s'),
  obj<EdgeRateLimitOptions>({
    limit: int(1),
    window: oneOf(ms(1), str(rangeProblem(parseWindow), 'a duration such as 10s, 1m, 1h')),
    burst: int(1),
    maxKeys: int(1),
    name: str(),
  }),
);

const websocketOptions = obj<WebSocketOptions>({
  maxPayload: bytes(1, 2 ** 31),
  heartbeatInterval: ms(),
  backpressureLimit: bytes(),
  maxBufferedBytes: bytes(1),
  onBackpressure: literal('close', 'drop'),
  closeTimeout: ms(),
  perMessageDeflate: bool,
  deflateThreshold: bytes(),
  deflateWindowBits: int(8, 15),
  deflateMemLevel: int(1, 9),
  allowedOrigins: oneOf(literal('*'), listOf(str(origin, 'an origin'))),
});

const loadShedding = obj<Omit<LoopMonitorOptions, 'onPressureChange'>>(
  {
    maxEventLoopDelay: num(0, TIMER_MAX_MS),
    maxEventLoopUtilization: num(0, 1),
    maxHeapUsedBytes: bytes(),
    maxRssBytes: bytes(),
    sampleInterval: ms(1),
    resolution: ms(1),
  },
  {
    onPressureChange:
      'under --workers the CLI sets it to tell the primary; call serve() from code for a hook of your own',
  },
);

/** A certificate host name for SNI: `example.com` or `*.example.com`. */
const certificateName = (h: string): string | undefined =>
  LABELS.test(h) && !h.includes(':') ? undefined : 'is not a host name or a *.wildcard';

// TLS (src/server/tls/options.ts): certificate files are paths, relative to this file.
const certificateOptions = {
  cert: filePath(),
  key: filePath(),
  passphrase: str(),
  names: listOf(str(certificateName, 'a host name or *.wildcard'), { min: 1 }),
};
const tlsOptions = obj<TlsOptions>({
  ...certificateOptions,
  certificates: listOf(obj<CertificateOptions>(certificateOptions), { min: 1 }),
  default: str(certificateName, 'a host name'),
  selfSigned: bool,
  minVersion: literal('TLSv1.2', 'TLSv1.3'),
  ciphers: str(),
  ecdhCurve: str(),
  handshakeTimeout: ms(1),
  sessionTimeout: seconds(),
  ticketSecret: str((t) =>
    Buffer.from(t, 'base64').length >= 32 ? undefined : 'must be 32+ bytes in base64',
  ),
  ticketRotation: ms(1000),
  watch: bool,
  hsts: oneOf(bool, obj<HstsOptions>({ maxAge: seconds(), includeSubDomains: bool, preload: bool })),
  redirectHttp: oneOf(port, obj<{ port: number; host?: string }>({ port, host: str(listenHost) })),
  alpn: code('ALPN handlers (code: the HTTP/2 server sets them)', (v) => typeof v === 'object' && v !== null),
});

/** An upstream's origin: http://host:port (a path prefix allowed). */
const upstreamUrl = (u: string): string | undefined => {
  try {
    return new URL(u).protocol === 'http:' ? undefined : 'must be an http:// URL';
  } catch {
    return 'is not a URL (http://host:port)';
  }
};

// The group options the file may hold (the listener, clock and probe are for code).
type GroupConfig = Pick<
  Exclude<ProxyGroupOption, UpstreamGroup>,
  'name' | 'upstreams' | 'balance' | 'retry' | 'health' | 'passive' | 'breaker' | 'failOn'
>;

const outcome = literal('connect-error', 'reset', 'timeout', 'server-error');
const status = int(100, 599);

const healthCheck = obj<ActiveHealthOptions>({
  uri: str((p) => (p.startsWith('/') ? undefined : 'must start with "/"'), 'a URL path'),
  intervalMs: ms(1),
  timeoutMs: ms(1),
  status: oneOf(status, literal('1xx', '2xx', '3xx', '4xx', '5xx'), listOf(status, { min: 2, max: 2 })),
  passes: int(1, 1000),
  fails: int(1, 1000),
  headers: code('an object of header names to values', (v) => typeof v === 'object' && v !== null),
});

const passiveHealth = oneOf(
  literal(false),
  obj<PassiveHealthOptions>({
    maxFails: int(1, 1000),
    failTimeoutMs: ms(1),
    maxEjectMs: ms(1),
    slowMs: ms(1),
    maxEjectedPercent: num(0, 100),
  }),
);

const breaker = oneOf(
  literal(false),
  obj<BreakerOptions>({
    window: int(1, 10_000),
    minRequests: int(1, 10_000),
    failureRatio: num(0, 1),
    openMs: ms(1),
  }),
);

const proxyGroup = oneOf(
  obj<GroupConfig>({
    name: str(),
    upstreams: listOf(
      oneOf(
        str(upstreamUrl, 'an http:// URL'),
        obj<UpstreamSpec>({ url: str(upstreamUrl, 'an http:// URL'), weight: int(1, 1_000_000) }),
      ),
      { min: 1 },
    ),
    balance: oneOf(
      literal('round-robin', 'weighted', 'least-connections'),
      obj<{ hash: 'header' | 'cookie'; name: string }>({
        hash: literal('header', 'cookie'),
        name: str(token, 'a name'),
      }),
      obj<{ hash: 'client' }>({ hash: literal('client') }),
    ),
    retry: oneOf(
      literal(false),
      obj<{ attempts: number; withinMs: number; on: Outcome[] }>({
        attempts: int(0, 100),
        withinMs: ms(),
        on: listOf(outcome, { unique: true }),
      }),
    ),
    health: healthCheck,
    passive: passiveHealth,
    breaker,
    failOn: listOf(outcome, { unique: true }),
  }),
  code('an UpstreamGroup', (v) => v instanceof UpstreamGroup),
);

const proxyOptions = obj<ProxyOptions>({
  groups: listOf(proxyGroup, { min: 1 }),
  routes: listOf(
    obj<ProxyRouteOptions>({
      path: str((p) => (p.startsWith('/') ? undefined : 'must start with "/"'), 'a URL path'),
      host: str(hostPattern, 'a host name or *.wildcard'),
      to: str(),
      stripPath: bool,
    }),
  ),
  connectTimeout: ms(),
  headersTimeout: ms(),
  idleTimeout: ms(),
  keepAliveTimeout: ms(),
  connections: int(1),
  host: literal('pass', 'upstream'),
  via: oneOf(literal(false), str(token, 'a token such as strata')),
});

const workers = obj<WorkersConfig>({
  count: oneOf(int(1, 1024), literal('auto')),
  mode: literal('reusePort', 'cluster'),
  workerTimeout: seconds(),
  maxRequests: int(),
  maxRequestsJitter: int(),
  gracefulTimeout: seconds(),
  restartDelay: ms(),
  restartDelayMax: ms(),
  stableAfter: ms(),
  maxStartupFailures: int(1, 1_000_000),
});

const acme = obj<AcmeConfig>({
  domains: listOf(str(domainProblem, 'a DNS name'), { min: 1, unique: true }),
  email: str(
    (e) => (/^[^\s@]+@[^\s@]+$/.test(e) ? undefined : 'is not an email address'),
    'an email address',
  ),
  directoryUrl: str(
    (u) => (URL.parse(u)?.protocol === 'https:' ? undefined : 'must be an https:// URL'),
    "an ACME directory's https:// URL",
  ),
  staging: bool,
  storage: filePath(),
  agreeToTerms: bool,
  caFile: filePath(),
});

/** The whole file. */
export const CONFIG_SCHEMA: Rule = obj<StrataConfig>(
  {
    app: filePath(),
    // SERVER_DEFAULTS (src/server/options.ts), in its order.
    port,
    host: str(listenHost, 'an IP address or a host name'),
    headersTimeout: ms(1),
    requestTimeout: ms(),
    keepAliveTimeout: ms(),
    idleTimeout: ms(),
    maxHeaderSize: bytes(1),
    maxHeaderCount: int(1),
    maxUrlLength: bytes(1),
    maxInFlight: int(),
    retryAfter: int(0, 86_400),
    maxBodySize: bytes(),
    maxConnections: int(1),
    maxConnectionsPerIp: int(),
    maxRequestsPerSocket: int(),
    shutdownTimeout: ms(),
    drainGrace: ms(),
    reusePort: bool,
    dev: bool,
    fastResponse: bool,
    fastLane: bool,
    // The rest of ServeOptions.
    logger: oneOf(literal(false), code('a pino logger (or false)', isLogger)),
    compression: oneOf(bool, compressionOptions),
    http2: oneOf(bool, http2Options),
    static: oneOf(filePath(), staticOptions),
    trustProxy: addresses,
    trustProxyHeader: literal('x-forwarded-for', 'forwarded', 'both'),
    allow: addresses,
    deny: addresses,
    allowedHosts: listOf(str(hostPattern, 'a host name or *.wildcard')),
    rateLimit,
    loadShedding,
    accessLog: oneOf(bool, accessLogOptions),
    websocket: websocketOptions,
    tls: tlsOptions,
    proxy: proxyOptions,
    // The CLI's own.
    admin: oneOf(
      bool,
      obj<{ host?: string; port?: number; token?: string }>({
        host: str(listenHost, 'an IP address or a host name'),
        port,
        // Required off loopback (the admin listener refuses to start without it).
        token: str(
          (t) => (t.length >= 16 ? undefined : 'must be at least 16 characters'),
          'a token of 16+ characters',
        ),
      }),
    ),
    metrics: bool,
    redis: str(redisUrl, 'a redis:// URL'),
    workers: oneOf(int(1, 1024), literal('auto'), workers),
    acme,
  },
  NOT_IN_CONFIG,
);
