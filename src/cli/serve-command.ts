import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GatewayError, resolveApp } from '../gateway/index.ts';
import { createLogger } from '../observe/logger.ts';
import { METRICS_ASK, supervisedWorker, workerChannel } from '../parallel/index.ts';
import { ClusterBroker, RedisBroker } from '../realtime/index.ts';
import { ADMIN_DEFAULTS, AddressList, SERVER_DEFAULTS, type StrataServer, serve } from '../server/index.ts';
import { CliError, usageError } from './errors.ts';
import {
  parseWorkerFlags,
  runSupervisor,
  WORKER_ARG_OPTIONS,
  WORKERS_USAGE,
  type WorkerFlags,
  workerServeOptions,
} from './serve-workers.ts';

export const SERVE_USAGE = `Usage: strata serve <module> [options]

Serves the module's default export: an app with fetch(), a fetch function, or a node
(req, res) handler such as an Express app.

Options:
  -p, --port <n>   port to listen on (default: $PORT, else ${SERVER_DEFAULTS.port}; 0 picks a free one)
      --host <h>   interface to listen on (default: ${SERVER_DEFAULTS.host})
      --dev        development mode: stack traces in 500 responses
      --static <d> serve the files of directory <d> before the app
      --metrics    Prometheus metrics on the admin listener (default ${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port})
      --admin <a>  the admin listener's address, host:port or port (implies --metrics)
      --max-event-loop-delay <ms>
                   shed load: 503 + Retry-After while the event-loop delay is above <ms>
      --compress   compress responses (zstd, br, gzip, deflate) with the default options
      --access-log [combined|json]
                   one line per request on stdout (default format: combined)
      --access-log-file <path>
                   write the access log to <path> (reopened on SIGUSR1) instead of stdout
      --redis <url> publish/subscribe across instances through Redis (default: this process only)
      --trust-proxy <list>
                   believe X-Forwarded-*/Forwarded and X-Request-Id from these peers: addresses,
                   CIDR ranges, loopback, private, linklocal, comma-separated (default: none)
${WORKERS_USAGE}  -h, --help       show this help
`;

/** Flags of `strata serve`, parsed and checked. */
export interface ServeFlags {
  module: string;
  port: number;
  host: string;
  dev: boolean;
  static: string | undefined;
  /** The admin listener (`/metrics`, `/healthz`), when asked for. */
  admin: { host: string; port: number } | undefined;
  /** Load shedding threshold in ms, when asked for. */
  maxEventLoopDelay: number | undefined;
  compress: boolean;
  /** The access log, or undefined when off. */
  accessLog: { format: 'combined' | 'json'; destination: string } | undefined;
  /** Redis URL for the pub/sub broker, if any. */
  redis: string | undefined;
  /** Proxies to believe (`trustProxy`), empty when none. */
  trustProxy: string[];
  /** The supervisor's flags (`workers` undefined: one process, as without a supervisor). */
  parallel: WorkerFlags;
}

/** `host:port`, `[v6]:port` or `port` → an address; anything else is a usage error. */
function parseAddress(flag: string, text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || port > 65535)
    throw usageError(`${flag} must be host:port or a port from 0 to 65535, got "${text}"`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? ADMIN_DEFAULTS.host, port };
}

export function parseServeFlags(args: string[], env: NodeJS.ProcessEnv): ServeFlags | 'help' {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(withAccessLogFormat(args));
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw usageError(
      parsed.positionals.length === 0
        ? 'strata serve needs a module to serve, e.g. `strata serve app.ts`'
        : `strata serve takes one module, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  }
  const portText = parsed.values.port ?? env.PORT ?? String(SERVER_DEFAULTS.port);
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65535) {
    const from = parsed.values.port !== undefined ? '--port' : 'PORT';
    throw usageError(`${from} must be an integer from 0 to 65535, got "${portText}"`);
  }
  const format = parsed.values['access-log'];
  if (format !== undefined && format !== 'combined' && format !== 'json')
    throw usageError(`--access-log takes combined or json, got "${format}"`);
  const file = parsed.values['access-log-file'];
  if (file === '') throw usageError('--access-log-file needs a path');
  const accessLog =
    format === undefined && file === undefined
      ? undefined
      : { format: (format ?? 'combined') as 'combined' | 'json', destination: file ?? 'stdout' };
  return {
    module: parsed.positionals[0]!,
    port,
    host: parsed.values.host ?? SERVER_DEFAULTS.host,
    dev: parsed.values.dev ?? false,
    static: parsed.values.static,
    admin:
      parsed.values.admin !== undefined
        ? parseAddress('--admin', parsed.values.admin)
        : parsed.values.metrics === true
          ? { ...ADMIN_DEFAULTS }
          : undefined,
    maxEventLoopDelay: parseMs('--max-event-loop-delay', parsed.values['max-event-loop-delay']),
    compress: parsed.values.compress ?? false,
    accessLog,
    redis: parsed.values.redis,
    trustProxy: parseTrustProxy(parsed.values['trust-proxy']),
    parallel: parseWorkerFlags(parsed.values),
  };
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

function parseServeArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      dev: { type: 'boolean' },
      static: { type: 'string' },
      metrics: { type: 'boolean' },
      admin: { type: 'string' },
      'max-event-loop-delay': { type: 'string' },
      compress: { type: 'boolean' },
      'access-log': { type: 'string' },
      'access-log-file': { type: 'string' },
      redis: { type: 'string' },
      'trust-proxy': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...WORKER_ARG_OPTIONS,
    },
  });
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
    throw new CliError(
      typeof code === 'string' && code.startsWith('STRATA_ERR_') ? code : 'STRATA_ERR_MODULE_LOAD',
      `Could not load ${absolute}: ${(err as Error)?.message ?? err}`,
      1,
      {
        cause: err,
      },
    );
  }
  const value = 'default' in mod ? mod.default : typeof mod.fetch === 'function' ? mod : undefined;
  try {
    resolveApp(value, modulePath);
  } catch (err) {
    if (err instanceof GatewayError) throw new CliError(err.code, err.message);
    throw err;
  }
  return value;
}

/** `strata serve`: loads, listens, and shuts down gracefully on SIGTERM/SIGINT. */
export async function runServe(args: string[]): Promise<StrataServer | undefined> {
  const flags = parseServeFlags(args, process.env);
  if (flags === 'help') {
    process.stdout.write(SERVE_USAGE);
    return undefined;
  }
  // Under a supervisor this process is one of its workers; with --workers, it is the supervisor.
  const worker = process.env.STRATA_WORKER_ID === undefined ? undefined : supervisedWorker(createLogger());
  if (worker === undefined && flags.parallel.workers !== undefined) {
    await runSupervisor({ ...flags, ...flags.parallel }, args);
    return undefined;
  }
  const servable = await loadServable(flags.module, process.cwd());
  let server: StrataServer;
  try {
    const channel = worker === undefined ? undefined : workerChannel();
    const broker =
      flags.redis !== undefined
        ? await RedisBroker.connect({ url: flags.redis, logger: createLogger() })
        : channel !== undefined
          ? new ClusterBroker(channel)
          : undefined;
    server = await serve(servable as Parameters<typeof serve>[0], {
      port: flags.port,
      host: flags.host,
      dev: flags.dev,
      ...(flags.static === undefined ? {} : { static: flags.static }),
      // Under the supervisor the primary serves /metrics for every worker: a worker only records.
      ...(flags.admin === undefined
        ? {}
        : channel === undefined
          ? { admin: flags.admin }
          : { metrics: true }),
      ...(flags.maxEventLoopDelay === undefined
        ? {}
        : { loadShedding: { maxEventLoopDelay: flags.maxEventLoopDelay } }),
      compression: flags.compress,
      ...(flags.accessLog !== undefined && { accessLog: flags.accessLog }),
      ...(broker === undefined ? {} : { broker }),
      ...(flags.trustProxy.length === 0 ? {} : { trustProxy: flags.trustProxy }),
      ...(worker === undefined ? {} : workerServeOptions(worker)),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('STRATA_ERR_'))
      throw new CliError(code, (err as Error).message);
    throw err;
  }
  if (worker !== undefined) {
    const metrics = server.metrics;
    if (metrics !== undefined) workerChannel()?.handle(METRICS_ASK, () => metrics.json());
    worker.ready(server.port, () => server.close());
    return server;
  }
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`strata: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
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
  return server;
}
