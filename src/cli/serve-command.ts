import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type App,
  type FetchHandler,
  GatewayError,
  type NodeHandler,
  nodeHandler,
  resolveApp,
} from '../gateway/index.ts';
import { parseRate } from '../gateway/rate-limit/rate-spec.ts';
import { createLogger, setDefaultLogFormat } from '../observe/logger.ts';
import { workerChannel } from '../parallel/index.ts';
import { METRICS_ASK } from '../parallel/supervisor-metrics.ts';
import { supervisedWorker } from '../parallel/worker-runtime.ts';
import { ClusterBroker, RedisBroker } from '../realtime/index.ts';
import type { AccessLogOptions } from '../server/access-log.ts';
import { type AcmeConfig, AcmeManager, AcmeWorker, domainProblem } from '../server/acme/index.ts';
import {
  ADMIN_DEFAULTS,
  AddressList,
  type CompressionOptions,
  developmentCertificate,
  SERVER_DEFAULTS,
  type ServeOptions,
  type StaticOptions,
  type StrataServer,
  serve,
  TICKET_SECRET_ENV,
  type TlsOptions,
  trustInstructions,
} from '../server.ts';
import type { StrataConfig } from './config.ts';
import { findConfigFile, type LoadedConfig, loadConfigFile } from './config-file.ts';
import { CliError, usageError } from './errors.ts';
import { explainLoadError, formatLoadFailure } from './module-errors.ts';
import { moduleGraph, trackModules } from './module-graph.ts';
import { stopWhenOrphaned } from './orphan.ts';
import { acmeInProcess, acmeInWorker, acmeSink, PendingCertificates } from './serve-acme.ts';
import {
  parseWorkerFlags,
  runSupervisor,
  WORKER_ARG_OPTIONS,
  WORKER_OPTION_HELP,
  type WorkerFlags,
  workerServeOptions,
} from './serve-workers.ts';
import { type OptionHelp, optionTable, unknownOptionMessage } from './usage.ts';
import { runWatch, WatchReporter } from './watch.ts';

const SERVE_OPTIONS: OptionHelp[] = [
  {
    flag: 'config <file>',
    help: 'the config file (default: strata.config.{ts,mjs,js,json} here,\nif there is one); flags override it: see docs/config.md',
  },
  {
    short: 'p',
    flag: 'port <n>',
    help: `port to listen on (default: $PORT, else ${SERVER_DEFAULTS.port}; 0: any free one)`,
  },
  { flag: 'host <h>', help: `interface to listen on (default: ${SERVER_DEFAULTS.host})` },
  {
    flag: 'dev',
    help: "development mode: stack traces in 500 responses (the app's and\nthe server's), the access log, readable log lines on a terminal",
  },
  {
    flag: 'watch',
    help: 'restart when a module of the app or the config file changes,\nkeeping the port (the old server drains, the new one takes over)',
  },
  { flag: 'static <dir>', help: 'serve the files of directory <dir> before the app' },
  {
    flag: 'metrics',
    help: `Prometheus metrics on the admin listener (default ${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port})`,
  },
  { flag: 'admin <addr>', help: "the admin listener's address, host:port or port (implies --metrics)" },
  {
    flag: 'max-event-loop-delay <ms>',
    help: 'shed load: 503 + Retry-After while the event-loop delay is above <ms>',
  },
  { flag: 'compress', help: 'compress responses (zstd, br, gzip, deflate), default options' },
  { flag: 'http2', help: 'HTTP/2 (over TLS by ALPN), default limits (docs/http2.md)' },
  { flag: 'h2c', help: 'HTTP/2 in clear text for clients with prior knowledge (implies --http2)' },
  {
    flag: 'access-log [combined|json]',
    help: 'one line per request on stdout (default format: combined)',
  },
  {
    flag: 'access-log-file <path>',
    help: 'write the access log to <path> instead of stdout\n(reopened on SIGUSR1)',
  },
  {
    flag: 'redis <url>',
    help: 'publish/subscribe across instances through Redis\n(default: this process only)',
  },
  {
    flag: 'trust-proxy <list>',
    help: 'believe X-Forwarded-*/Forwarded and X-Request-Id from these\npeers: addresses, CIDR ranges, loopback, private, linklocal,\ncomma-separated (default: none)',
  },
  {
    flag: 'upstream <url,...>',
    help: 'no module: a pure reverse proxy to these http:// upstreams\n(round robin, retries, WebSockets; see docs/proxy.md)',
  },
  {
    flag: 'rate-limit <N/WINDOW>',
    help: 'at most N requests per WINDOW per client address, at the edge\n(429 beyond): 100/1m, 10/s, 5000/1h; per worker process under\n--workers (default: off)',
  },
  // HTTPS (docs/tls.md).
  { flag: 'cert <file>', help: 'serve HTTPS with this certificate chain (PEM); needs --key' },
  { flag: 'key <file>', help: "the certificate's private key (PEM)" },
  {
    flag: 'https',
    help: 'serve HTTPS; without --cert, with a self-signed certificate for\nlocalhost made once and cached (development)',
  },
  { flag: 'redirect-http <port>', help: 'also listen for plain HTTP on <port>, answering 308 to https' },
  {
    flag: 'acme <domains>',
    help: "get and renew a certificate for these names (comma-separated)\nfrom Let's Encrypt, answering HTTP-01 on this listener: see\ndocs/acme.md",
  },
  { flag: 'acme-email <addr>', help: 'the contact address for the ACME account' },
  { flag: 'acme-staging', help: "use Let's Encrypt's staging CA (untrusted certificates)" },
  { flag: 'acme-agree-tos', help: "agree to the ACME CA's terms of service (required)" },
  ...WORKER_OPTION_HELP,
  { short: 'h', flag: 'help', help: 'show this help' },
];

export const SERVE_USAGE = `Usage: strata serve [<module>] [options]
       strata serve --upstream <url>[,<url>...] [options]

Serves the module's default export: an app with fetch(), a fetch function
(request, info) => Response, or a node handler: an Express, Connect or Koa app, a
(req, res, next) function, or a (req, res) function marked as one, with
\`export default nodeHandler(fn)\` (from strata-stack/gateway) or \`export const kind = 'node'\`
(a bare two-parameter function is taken for a fetch function). The module may instead
be the config file's \`app\`.

Options:
${optionTable(SERVE_OPTIONS)}`;

/** Flags of `strata serve`, parsed and checked. */
export interface ServeFlags {
  module: string;
  port: number;
  host: string;
  dev: boolean;
  /** `--watch`: restart on a change to the app's modules or the config file. */
  watch: boolean;
  static: string | StaticOptions | undefined;
  /** The admin listener (`/metrics`, `/healthz`), when asked for. */
  admin: { host: string; port: number; token?: string } | undefined;
  /** Load shedding threshold in ms, when asked for. */
  maxEventLoopDelay: number | undefined;
  compress: boolean | CompressionOptions;
  /** The access log, or undefined when off. */
  accessLog: (AccessLogOptions & { format: 'combined' | 'json'; destination: string }) | undefined;
  /** Redis URL for the pub/sub broker, if any. */
  redis: string | undefined;
  /** Proxies to believe (`trustProxy`), empty when none. */
  trustProxy: string[];
  /** The supervisor's flags (`workers` undefined: one process, as without a supervisor). */
  parallel: WorkerFlags;
  /** The config file's other serve() options (limits, timeouts, websocket, …): no flag sets them. */
  options: ServeOptions;
  /** The config file in use (absolute), if any: the supervisor's workers load the same one. */
  configPath: string | undefined;
  /** Automatic certificates (`--acme` over the file's `acme`), when on. */
  acme: AcmeConfig | undefined;
}

/** `host:port`, `[v6]:port` or `port` → an address; anything else is a usage error. */
function parseAddress(flag: string, text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || port > 65535)
    throw usageError(`${flag} must be host:port or a port from 0 to 65535, got "${text}"`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? ADMIN_DEFAULTS.host, port };
}

/**
 * `strata serve`'s flags over the config file (`--config`, or strata.config.* in `cwd`): loads
 * and checks the file, then parseServeFlags merges it under the flags.
 */
export async function readServeFlags(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<ServeFlags | 'help'> {
  let given: { config?: string | undefined; help?: boolean | undefined };
  try {
    given = parseServeArgs(withAccessLogFormat(args)).values;
  } catch {
    return parseServeFlags(args, env); // throws the usage error
  }
  if (given.help === true) return 'help';
  const path = findConfigFile(given.config, cwd);
  return parseServeFlags(args, env, path === undefined ? undefined : await loadConfigFile(path));
}

/** The flags, with the config file's values (checked) under them: flag, else file, else default. */
export function parseServeFlags(
  args: string[],
  env: NodeJS.ProcessEnv,
  config?: LoadedConfig,
): ServeFlags | 'help' {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(withAccessLogFormat(args));
  } catch (err) {
    throw usageError(unknownOptionMessage((err as Error).message, SERVE_FLAG_NAMES));
  }
  if (parsed.values.help) return 'help';
  const {
    app,
    port: filePort,
    host,
    dev,
    static: fileStatic,
    admin,
    metrics,
    compression,
    accessLog: fileLog,
    redis,
    trustProxy,
    workers,
    acme: fileAcme,
    ...options
  }: StrataConfig = config?.values ?? {};
  const upstreams = parseUpstreams(parsed.values.upstream);
  if (upstreams !== undefined) {
    if (parsed.positionals.length > 0 || app !== undefined)
      throw usageError(
        '--upstream serves a pure proxy, without a module; to proxy some paths beside an app, use `proxy` routes in strata.config.ts (docs/proxy.md)',
      );
    if (options.proxy !== undefined)
      throw usageError("--upstream and the config file's `proxy` both say where to proxy: keep one");
    options.proxy = {
      groups: [{ name: 'upstream', upstreams }],
      routes: [{ path: '/', to: 'upstream' }],
    };
  }
  // '' is a pure proxy (--upstream): no module to load.
  const module = upstreams !== undefined ? '' : parsed.positionals.length === 0 ? app : parsed.positionals[0];
  if (module === undefined || parsed.positionals.length > 1) {
    throw usageError(
      parsed.positionals.length === 0
        ? 'strata serve needs a module to serve, e.g. `strata serve app.ts` (or `app` in strata.config.ts)'
        : `strata serve takes one module, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  }
  // flag, then $PORT, then the file: the platform that sets PORT (a PaaS) decides where to listen.
  const portText = parsed.values.port ?? env.PORT;
  const port = Number(portText ?? filePort ?? SERVER_DEFAULTS.port);
  if (portText !== undefined && (!/^[0-9]+$/.test(portText) || port > 65535)) {
    const from = parsed.values.port !== undefined ? '--port' : 'PORT';
    throw usageError(`${from} must be an integer from 0 to 65535, got "${portText}"`);
  }
  const format = parsed.values['access-log'];
  if (format !== undefined && format !== 'combined' && format !== 'json')
    throw usageError(`--access-log takes combined or json, got "${format}"`);
  const file = parsed.values['access-log-file'];
  if (file === '') throw usageError('--access-log-file needs a path');
  const devMode = parsed.values.dev ?? dev ?? false;
  // --dev turns the access log on (combined, on stdout), unless the file turns it off.
  const logOptions =
    fileLog === true || (fileLog === undefined && devMode) ? {} : fileLog === false ? undefined : fileLog;
  const accessLog =
    format === undefined && file === undefined && logOptions === undefined
      ? undefined
      : {
          ...logOptions,
          format: (format ?? logOptions?.format ?? 'combined') as 'combined' | 'json',
          destination: file ?? logOptions?.destination ?? 'stdout',
        };
  const staticDir = parsed.values.static;
  const rate = parsed.values['rate-limit'];
  if (rate !== undefined) {
    try {
      parseRate(rate);
    } catch (err) {
      throw usageError(`--rate-limit: ${(err as Error).message.replace(/^rate limit: /, '')}`);
    }
    // The flag over the file's `rateLimit`, and the serve() option as it is (`100/1m`).
    options.rateLimit = rate;
  }
  const acme = parseAcmeFlags(parsed.values, fileAcme);
  // ACME certificates are served by the HTTPS listener: --acme turns it on (its certificate
  // store starts empty and takes what ACME obtains); HTTP-01 is answered on --redirect-http.
  const tls = tlsOf(parsed.values, options.tls ?? (acme === undefined ? undefined : {}));
  if (tls !== undefined) options.tls = tls;
  // --http2 / --h2c over the file's `http2`, keeping its limits.
  if (parsed.values.http2 === true || parsed.values.h2c === true) {
    const file = typeof options.http2 === 'object' ? options.http2 : {};
    options.http2 = parsed.values.h2c === true ? { ...file, h2c: true } : { ...file };
  }
  return {
    module,
    port,
    host: parsed.values.host ?? host ?? SERVER_DEFAULTS.host,
    dev: devMode,
    watch: parsed.values.watch ?? false,
    // --static DIR over the file's static options replaces the directory and keeps the rest.
    static:
      staticDir === undefined
        ? fileStatic
        : typeof fileStatic === 'object'
          ? { ...fileStatic, root: staticDir }
          : staticDir,
    admin:
      parsed.values.admin !== undefined
        ? {
            ...parseAddress('--admin', parsed.values.admin),
            ...(typeof admin === 'object' && admin.token !== undefined ? { token: admin.token } : {}),
          }
        : parsed.values.metrics === true || admin === true || (metrics === true && admin === undefined)
          ? { ...ADMIN_DEFAULTS }
          : typeof admin === 'object'
            ? { ...ADMIN_DEFAULTS, ...admin }
            : undefined,
    maxEventLoopDelay: parseMs('--max-event-loop-delay', parsed.values['max-event-loop-delay']),
    compress:
      parsed.values.compress === true
        ? typeof compression === 'object'
          ? compression
          : true
        : (compression ?? false),
    accessLog,
    redis: parsed.values.redis ?? redis,
    trustProxy:
      parsed.values['trust-proxy'] === undefined
        ? (trustProxy ?? [])
        : parseTrustProxy(parsed.values['trust-proxy']),
    parallel: parseWorkerFlags(parsed.values, workers),
    options,
    configPath: config?.path,
    acme,
  };
}

/** `--acme DOMAINS` and its companions over the file's `acme` (already checked). */
function parseAcmeFlags(
  values: { acme?: string; 'acme-email'?: string; 'acme-staging'?: boolean; 'acme-agree-tos'?: boolean },
  file: AcmeConfig | undefined,
): AcmeConfig | undefined {
  const text = values.acme;
  let domains = file?.domains;
  if (text !== undefined) {
    domains = text.split(',').map((d) => d.trim().toLowerCase());
    for (const d of domains) {
      const problem = d === '' ? 'is empty' : domainProblem(d);
      if (problem !== undefined) throw usageError(`--acme: "${d}" ${problem}`);
    }
  }
  const companion = (['acme-email', 'acme-staging', 'acme-agree-tos'] as const).find(
    (f) => values[f] !== undefined,
  );
  if (domains === undefined) {
    if (companion !== undefined) throw usageError(`--${companion} applies to --acme: add --acme <domains>`);
    return undefined;
  }
  const email = values['acme-email'];
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw usageError(`--acme-email must be an email address, got "${email}"`);
  return {
    ...file,
    domains,
    ...(email === undefined ? {} : { email }),
    ...(values['acme-staging'] === true ? { staging: true } : {}),
    ...(values['acme-agree-tos'] === true ? { agreeToTerms: true } : {}),
  };
}

/** The serve() options of the merged flags and file (runServe adds the process's own: broker, worker). */
export function serveOptionsOf(flags: ServeFlags): ServeOptions {
  const shedding = flags.options.loadShedding;
  const loadShedding =
    flags.maxEventLoopDelay === undefined
      ? shedding
      : { ...shedding, maxEventLoopDelay: flags.maxEventLoopDelay };
  return {
    ...flags.options,
    port: flags.port,
    host: flags.host,
    dev: flags.dev,
    ...(flags.static === undefined ? {} : { static: flags.static }),
    ...(loadShedding === undefined ? {} : { loadShedding }),
    compression: flags.compress,
    ...(flags.accessLog !== undefined && { accessLog: flags.accessLog }),
    ...(flags.trustProxy.length === 0 ? {} : { trustProxy: flags.trustProxy }),
  };
}

/** The workers' arguments: the primary's, with the config file it loaded named absolutely. */
export function workerArgs(args: string[], configPath: string | undefined): string[] {
  if (configPath === undefined) return args;
  const { tokens } = parseArgs({ ...serveArgsConfig(withAccessLogFormat(args)), tokens: true });
  const drop = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name !== 'config') continue;
    drop.add(t.index);
    if (t.inlineValue === false) drop.add(t.index + 1);
  }
  return ['--config', configPath, ...withAccessLogFormat(args).filter((_, i) => !drop.has(i))];
}

function parseTrustProxy(text: string | undefined): string[] {
  if (text === undefined) return [];
  const entries = text.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw usageError(`--trust-proxy has an empty entry: "${text}"`);
  try {
    new AddressList(entries);
  } catch (err) {
    throw usageError(`--trust-proxy: ${(err as Error).message}`);
  }
  return entries;
}

/** HTTPS from --cert/--key, --https and --redirect-http over the file's `tls`. */
function tlsOf(
  values: { cert?: string; key?: string; https?: boolean; 'redirect-http'?: string },
  file: TlsOptions | undefined,
): TlsOptions | undefined {
  const { cert, key } = values;
  if ((cert === undefined) !== (key === undefined))
    throw usageError(cert === undefined ? '--key needs --cert' : '--cert needs --key');
  let tls = file;
  if (cert !== undefined && key !== undefined) {
    // The flags' certificate replaces the file's certificates, and keeps its other TLS settings.
    const { certificates: _, default: __, selfSigned: ___, ...rest } = file ?? {};
    tls = { ...rest, cert: resolve(cert), key: resolve(key) };
  } else if (values.https === true && tls === undefined) tls = { selfSigned: true };
  const redirect = values['redirect-http'];
  if (redirect !== undefined) {
    if (!/^[0-9]{1,5}$/.test(redirect) || Number(redirect) > 65535)
      throw usageError(`--redirect-http must be a port from 0 to 65535, got "${redirect}"`);
    if (tls === undefined)
      throw usageError('--redirect-http redirects to HTTPS: add --cert and --key, or --https');
    tls = { ...tls, redirectHttp: Number(redirect) };
  }
  return tls;
}

/** `--upstream http://a:8080,http://b:8080`: the upstreams of a pure proxy. */
function parseUpstreams(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const urls = text.split(',').map((u) => u.trim());
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw usageError(`--upstream: "${u}" is not a URL (http://host:port)`);
    }
    if (url.protocol !== 'http:') throw usageError(`--upstream: "${u}" must be an http:// URL`);
  }
  return urls;
}

function parseMs(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1)
    throw usageError(`${flag} must be a whole number of ms, at least 1, got "${text}"`);
  return Number(text);
}

/** `--access-log` takes an optional format: a bare flag means combined (parseArgs needs a value). */
function withAccessLogFormat(args: string[]): string[] {
  return args.flatMap((arg, i) => {
    if (arg !== '--access-log') return [arg];
    const next = args[i + 1];
    return next === 'combined' || next === 'json' ? [arg] : ['--access-log=combined'];
  });
}

/** The long flags of `strata serve`, for "did you mean". */
const SERVE_FLAG_NAMES: readonly string[] = Object.keys(serveArgsConfig([]).options);

function parseServeArgs(args: string[]) {
  return parseArgs(serveArgsConfig(args));
}

function serveArgsConfig(args: string[]) {
  return {
    args,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      dev: { type: 'boolean' },
      watch: { type: 'boolean' },
      static: { type: 'string' },
      metrics: { type: 'boolean' },
      admin: { type: 'string' },
      'max-event-loop-delay': { type: 'string' },
      compress: { type: 'boolean' },
      http2: { type: 'boolean' },
      h2c: { type: 'boolean' },
      'access-log': { type: 'string' },
      'access-log-file': { type: 'string' },
      redis: { type: 'string' },
      'trust-proxy': { type: 'string' },
      'rate-limit': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      https: { type: 'boolean' },
      'redirect-http': { type: 'string' },
      acme: { type: 'string' },
      'acme-email': { type: 'string' },
      'acme-staging': { type: 'boolean' },
      'acme-agree-tos': { type: 'boolean' },
      upstream: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...WORKER_ARG_OPTIONS,
    },
  } as const;
}

/** Imports the module and returns what it serves, with errors that name the file. */
export async function loadServable(modulePath: string, cwd: string): Promise<unknown> {
  const absolute = resolve(cwd, modulePath);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new CliError(
      'STRATA_ERR_MODULE_NOT_FOUND',
      `Cannot find module "${modulePath}" (looked for ${absolute}); check the path`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (err) {
    // A strata error raised while the module ran (a route conflict or an unsafe pattern, which
    // app.get() throws at once) keeps its own code: it says what to fix better than "load".
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('STRATA_ERR_'))
      throw new CliError(code, `Could not load ${absolute}: ${(err as Error)?.message ?? err}`, 1, {
        cause: err,
      });
    const failure = formatLoadFailure(explainLoadError(err, moduleGraph()?.lastLoaded));
    throw new CliError('STRATA_ERR_MODULE_LOAD', `Could not load ${absolute}\n${failure}`, 1, {
      cause: err,
    });
  }
  if (!('default' in mod) && typeof mod.fetch !== 'function' && mod.kind === undefined) {
    const names = Object.keys(mod);
    throw new CliError(
      'STRATA_ERR_BAD_APP',
      `${modulePath} has no default export${names.length === 0 ? '' : ` (it exports ${names.map((n) => `\`${n}\``).join(', ')})`}: strata serve serves the module's \`export default\`, e.g. end it with \`export default app\``,
    );
  }
  const exported = 'default' in mod ? mod.default : typeof mod.fetch === 'function' ? mod : undefined;
  const value = markedKind(exported, mod.kind, modulePath);
  try {
    resolveApp(value, modulePath);
  } catch (err) {
    if (err instanceof GatewayError) throw new CliError(err.code, err.message);
    throw err;
  }
  return value;
}

/**
 * `export const kind = 'node' | 'fetch'` beside a default export function says how to serve it,
 * instead of the rule of resolveApp (a bare two-parameter function is a fetch handler).
 */
function markedKind(value: unknown, kind: unknown, modulePath: string): unknown {
  if (kind === undefined) return value;
  if (kind !== 'node' && kind !== 'fetch')
    throw new CliError(
      'STRATA_ERR_BAD_APP',
      `${modulePath} exports kind = ${JSON.stringify(kind)}; strata serve reads it as how to serve the default export: 'node' for a (req, res) handler, 'fetch' for a (request, info) => Response function`,
    );
  if (typeof value !== 'function') return value;
  return kind === 'node' ? nodeHandler(value as NodeHandler) : { fetch: value as FetchHandler };
}

/** The app of a pure proxy (`--upstream`): its one route takes every path, so this answers nothing. */
const PURE_PROXY: App = {
  fetch: () =>
    new Response(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404 }), {
      status: 404,
      headers: { 'content-type': 'application/problem+json' },
    }),
};

/** `strata serve`: loads, listens, and shuts down gracefully on SIGTERM/SIGINT. */
export async function runServe(args: string[]): Promise<StrataServer | undefined> {
  // Before the config file and the app load: records their module graph, for --watch and for
  // the syntax errors that name no file.
  const graph = trackModules(process.cwd());
  const flags = await readServeFlags(args, process.env, process.cwd());
  if (flags === 'help') {
    process.stdout.write(SERVE_USAGE);
    return undefined;
  }
  // Readable lines for a developer at a terminal; JSON lines for anything else (a pipe, a file).
  if (flags.dev && process.stdout.isTTY === true) setDefaultLogFormat('pretty');
  // Under a supervisor this process is one of its workers; with --workers, it is the supervisor.
  // The worker's own drain line is left out: the supervisor says which worker it drains.
  const worker =
    process.env.STRATA_WORKER_ID === undefined
      ? undefined
      : supervisedWorker(createLogger({ level: 'warn' }));
  if (flags.module === '' && flags.watch)
    throw usageError('--watch needs a module to watch; --upstream has none');
  if (worker === undefined && flags.watch) {
    if (flags.admin !== undefined)
      throw usageError('--watch runs without the admin listener: drop --metrics/--admin');
    // Each restart would be a process that orders nothing (the watcher is not a primary that
    // orders); certificates are for the deployed server, not the dev loop.
    if (flags.acme !== undefined)
      throw usageError('--watch runs without ACME: drop --acme (or the acme key)');
    await runWatch({ ...flags, ...flags.parallel }, workerArgs(args, flags.configPath));
    return undefined;
  }
  if (worker === undefined && flags.parallel.workers !== undefined) {
    await prepareWorkersTls(flags.options.tls);
    await runSupervisor({ ...flags, ...flags.parallel }, workerArgs(args, flags.configPath));
    return undefined;
  }
  const reporter = worker !== undefined && flags.watch ? new WatchReporter(graph) : undefined;
  let servable: unknown;
  if (flags.module === '') servable = PURE_PROXY;
  else {
    graph.addRoot(dirname(resolve(process.cwd(), flags.module)));
    try {
      servable = await loadServable(flags.module, process.cwd());
    } finally {
      // Even when the module failed to load: the primary watches the file that broke it.
      await reporter?.flush();
    }
  }
  // The server's `dev` only reaches errors that escape the app; an app that answers its own
  // errors (strata's App) is told through the gateway contract.
  if (flags.dev) (servable as Partial<App> | undefined)?.setDevMode?.(true);
  let server: StrataServer;
  // ACME (docs/acme.md): this process orders, or, as a worker, serves what the primary orders.
  let acme: AcmeManager | AcmeWorker | undefined;
  let acmeCertificates: PendingCertificates | undefined;
  try {
    const channel = worker === undefined ? undefined : workerChannel();
    if (flags.acme !== undefined) {
      const acmeLog = createLogger();
      acmeCertificates = new PendingCertificates(acmeLog);
      const sink = acmeSink(acmeLog, acmeCertificates);
      acme =
        channel === undefined
          ? acmeInProcess(flags.acme, sink, acmeLog)
          : await acmeInWorker(flags.acme, channel, sink, acmeLog);
    }
    const broker =
      flags.redis !== undefined
        ? await RedisBroker.connect({ url: flags.redis, logger: createLogger() })
        : channel !== undefined
          ? new ClusterBroker(channel)
          : undefined;
    const options = serveOptionsOf(flags);
    // Under --workers every worker derives its ticket keys from the primary's secret.
    const ticketSecret = process.env[TICKET_SECRET_ENV];
    delete process.env[TICKET_SECRET_ENV];
    if (options.tls !== undefined && options.tls.ticketSecret === undefined && ticketSecret !== undefined)
      options.tls = { ...options.tls, ticketSecret };
    // A worker tells the primary when it sheds load: its /healthz is 503 when every worker does.
    if (options.loadShedding !== undefined && worker !== undefined)
      options.loadShedding = { ...options.loadShedding, onPressureChange: worker.reportPressure };
    server = await serve(servable as Parameters<typeof serve>[0], {
      ...options,
      // Under the supervisor the primary serves /metrics for every worker: a worker only records.
      ...(flags.admin === undefined
        ? {}
        : channel === undefined
          ? { admin: flags.admin }
          : { metrics: true }),
      ...(broker === undefined ? {} : { broker }),
      ...(worker === undefined ? {} : workerServeOptions(worker)),
      ...(acme === undefined ? {} : { acmeChallenges: acme }),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('STRATA_ERR_'))
      throw new CliError(code, (err as Error).message);
    throw err;
  }
  // What ACME obtained (or read from its storage) before the listener existed goes in now.
  if (server.certificates !== undefined) acmeCertificates?.attach(server.certificates);
  if (worker !== undefined) {
    const metrics = server.metrics;
    if (metrics !== undefined) workerChannel()?.handle(METRICS_ASK, () => metrics.json());
    worker.ready(server.port, () => server.close());
    if (acme instanceof AcmeWorker) acme.hello();
    return server;
  }
  const manager = acme instanceof AcmeManager ? acme : undefined;
  // Not awaited: the first order may take a while, and a failure is retried on its timer.
  void manager?.start();
  let signals = 0;
  const log = createLogger();
  const stop = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`strata: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    log.info({ signal }, 'stopping');
    manager?.close();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`strata: shutdown failed: ${(err as Error)?.stack ?? err}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  stopWhenOrphaned(() => stop('parent exited'));
  // SIGHUP reads the certificate files again (under --workers it is the primary's rolling reload).
  const certificates = server.certificates;
  if (certificates !== undefined) {
    process.on('SIGHUP', () => {
      try {
        certificates.reload();
        log.info({ certificates: certificates.list().length }, 'tls: certificates reloaded (SIGHUP)');
      } catch (err) {
        log.warn({ err }, 'tls: reload failed (SIGHUP), keeping the certificates in use');
      }
    });
  }
  return server;
}

/**
 * Before the workers start: one ticket secret for all of them (a session made on one resumes on
 * another), and the development certificate made once (not by every worker at the same time).
 */
async function prepareWorkersTls(tls: TlsOptions | undefined): Promise<void> {
  if (tls === undefined) return;
  process.env[TICKET_SECRET_ENV] ??= randomBytes(32).toString('base64');
  if (tls.selfSigned === true && tls.cert === undefined && tls.certificates === undefined) {
    const dev = await developmentCertificate();
    if (dev.created) process.stderr.write(trustInstructions(dev.certFile));
  }
}
