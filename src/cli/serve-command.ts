import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GatewayError, resolveApp } from '../gateway/index.ts';
import { createLogger } from '../observe/index.ts';
import { supervisedWorker } from '../parallel/index.ts';
import { SERVER_DEFAULTS, type StrataServer, serve } from '../server/index.ts';
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
${WORKERS_USAGE}  -h, --help       show this help
`;

/** Flags of `strata serve`, parsed and checked. */
export interface ServeFlags {
  module: string;
  port: number;
  host: string;
  dev: boolean;
  static: string | undefined;
  /** The supervisor's flags (`workers` undefined: one process, as without a supervisor). */
  parallel: WorkerFlags;
}

export function parseServeFlags(args: string[], env: NodeJS.ProcessEnv): ServeFlags | 'help' {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(args);
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
  return {
    module: parsed.positionals[0]!,
    port,
    host: parsed.values.host ?? SERVER_DEFAULTS.host,
    dev: parsed.values.dev ?? false,
    static: parsed.values.static,
    parallel: parseWorkerFlags(parsed.values),
  };
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
    throw new CliError(
      'STRATA_ERR_MODULE_LOAD',
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
    server = await serve(servable as Parameters<typeof serve>[0], {
      port: flags.port,
      host: flags.host,
      dev: flags.dev,
      ...(worker === undefined ? {} : workerServeOptions(worker)),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('STRATA_ERR_'))
      throw new CliError(code, (err as Error).message);
    throw err;
  }
  if (worker !== undefined) {
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
