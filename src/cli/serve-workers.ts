import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { serveClusterRateLimits } from '../gateway/rate-limit/cluster-store.ts';
import { createLogger } from '../observe/index.ts';
import {
  defaultMode,
  SUPERVISOR_DEFAULTS,
  type SupervisedWorker,
  Supervisor,
  SupervisorMetrics,
  type SupervisorMode,
  SupervisorStartupFailure,
} from '../parallel/index.ts';
import { relayCluster } from '../realtime/index.ts';
import type { ServeOptions } from '../server/index.ts';
import { type AdminServer, type DashboardInput, startAdmin } from '../server/index.ts';
import type { StrataConfig } from './config.ts';
import { CliError, usageError, workerStartupError } from './errors.ts';

/**
 * The supervisor's flags of `strata serve`: name, the SUPERVISOR_DEFAULTS key it sets, its unit.
 * The usage text, the parser and docs/cli.md are all checked against this table.
 */
export const WORKER_FLAGS = [
  {
    flag: 'worker-timeout',
    key: 'workerTimeout',
    unit: ' s',
    help: 'replace a worker whose loop stays blocked this long (0: off)',
  },
  {
    flag: 'max-requests',
    key: 'maxRequests',
    unit: '',
    help: 'replace a worker after this many requests (0: never)',
  },
  {
    flag: 'max-requests-jitter',
    key: 'maxRequestsJitter',
    unit: '',
    help: "add up to this many at random to each worker's limit",
  },
  {
    flag: 'graceful-timeout',
    key: 'gracefulTimeout',
    unit: ' s',
    help: 'time a draining worker gets before it is killed',
  },
] as const;

const usageLine = (flag: string, help: string): string =>
  `      ${(flag === '' ? '' : `--${flag}`).padEnd(27)}${help}`;

export const WORKERS_USAGE = `${[
  usageLine('workers <n|auto>', 'run n worker processes under a supervisor (auto: one per core)'),
  usageLine('worker-mode <m>', 'cluster (default) or reusePort (default on Linux when'),
  usageLine('', 'net.ipv4.tcp_migrate_req is 1); see docs/parallel.md'),
  ...WORKER_FLAGS.map((f) =>
    usageLine(`${f.flag} <n>`, `${f.help} (default: ${SUPERVISOR_DEFAULTS[f.key]}${f.unit})`),
  ),
].join('\n')}
`;

/** The parseArgs options of the supervisor's flags. */
export const WORKER_ARG_OPTIONS = {
  workers: { type: 'string' },
  'worker-mode': { type: 'string' },
  ...Object.fromEntries(WORKER_FLAGS.map((f) => [f.flag, { type: 'string' }])),
} as const satisfies Record<string, { type: 'string' }>;

/** The supervisor's flags, checked. `workers` is undefined without `--workers`. */
export interface WorkerFlags {
  workers: number | 'auto' | undefined;
  mode: SupervisorMode;
  settings: Partial<Record<keyof typeof SUPERVISOR_DEFAULTS, number>>;
}

/** The flags over the config file's `workers` (already checked): flag, else file, else default. */
export function parseWorkerFlags(
  values: Record<string, string | boolean | undefined>,
  file: StrataConfig['workers'] = {},
): WorkerFlags {
  const { count, mode, ...fileSettings } = typeof file === 'object' ? file : { count: file };
  const text = values.workers as string | undefined;
  let workers: number | 'auto' | undefined = count;
  if (text !== undefined) {
    if (text === 'auto') workers = 'auto';
    else if (/^[0-9]+$/.test(text) && Number(text) >= 1 && Number(text) <= 1024) workers = Number(text);
    else throw usageError(`--workers must be a number from 1 to 1024 or "auto", got "${text}"`);
  }
  const modeText = values['worker-mode'] as string | undefined;
  if (modeText !== undefined && modeText !== 'reusePort' && modeText !== 'cluster')
    throw usageError(`--worker-mode must be "reusePort" or "cluster", got "${modeText}"`);
  const settings: WorkerFlags['settings'] = { ...fileSettings };
  for (const f of WORKER_FLAGS) {
    const value = values[f.flag] as string | undefined;
    if (value === undefined) continue;
    if (!/^[0-9]+$/.test(value))
      throw usageError(`--${f.flag} must be a non-negative integer, got "${value}"`);
    settings[f.key] = Number(value);
  }
  const given = [
    modeText === undefined ? [] : ['worker-mode'],
    WORKER_FLAGS.filter((f) => values[f.flag] !== undefined).map((f) => f.flag),
  ].flat();
  if (workers === undefined && given.length > 0)
    throw usageError(`--${given[0]} applies to supervised workers: add --workers <n|auto>`);
  return { workers, mode: modeText ?? mode ?? defaultMode(), settings };
}

/** What serve() needs in a supervised worker. */
export function workerServeOptions(worker: SupervisedWorker): ServeOptions {
  // A worker's metrics are asked for by the primary (SupervisorMetrics), which runs the admin
  // listener; its pub/sub goes through the primary too, unless the caller passes a Redis broker.
  return {
    reusePort: worker.reusePort,
    shutdownTimeout: worker.shutdownTimeout,
    ...(worker.port === undefined ? {} : { port: worker.port }),
    ...(worker.onRequestStart === undefined ? {} : { onRequestStart: worker.onRequestStart }),
  };
}

/**
 * The primary of `strata serve --workers`: starts the workers (which run `strata serve` again,
 * as workers), and turns signals into reloads, scaling and the graceful stop.
 */
export async function runSupervisor(
  flags: {
    module: string;
    port: number;
    host: string;
    admin?: { host: string; port: number } | undefined;
    redis?: string | undefined;
  } & WorkerFlags,
  args: string[],
): Promise<void> {
  const absolute = resolve(process.cwd(), flags.module);
  // The primary never imports the app (its workers do), but a wrong path fails here, once.
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new CliError(
      'STRATA_ERR_MODULE_NOT_FOUND',
      `Cannot find module "${flags.module}" (looked for ${absolute}); check the path`,
    );
  }
  const log = createLogger();
  const supervisor = new Supervisor({
    exec: process.argv[1]!,
    args: ['serve', ...args],
    workers: flags.workers ?? 1,
    mode: flags.mode,
    port: flags.port,
    host: flags.host,
    logger: log,
    ...flags.settings,
  });
  // Without Redis the workers' pub/sub goes through this process (the cluster broker).
  if (flags.redis === undefined) relayCluster(supervisor);
  // The workers' ClusterRateLimitStore checks: one budget for the machine, kept here.
  serveClusterRateLimits(supervisor);
  // One /metrics for the machine: the primary asks every worker and merges their answers.
  let admin: AdminServer | undefined;
  if (flags.admin !== undefined) {
    const metrics = new SupervisorMetrics(supervisor);
    try {
      admin = await startAdmin({
        ...flags.admin,
        metrics: () => metrics.text(),
        contentType: metrics.contentType,
        // 503 while the supervisor drains and while no worker is ready and not shedding load.
        healthy: () => supervisor.healthy,
        // The live dashboard: per-worker rows and the merged numbers, once a second.
        dashboard: () => metrics.dashboard() as Promise<DashboardInput>,
      });
    } catch (err) {
      const e = err as { code?: string; message: string };
      throw new CliError(e.code ?? 'STRATA_ERR_LISTEN', e.message);
    }
    log.info(
      { url: `${admin.url}/metrics`, dashboard: `${admin.url}/dashboard` },
      'supervisor: admin listener',
    );
  }
  let stops = 0;
  const stop = (signal: NodeJS.Signals): void => {
    stops += 1;
    if (stops > 1) {
      process.stderr.write(`strata: ${signal} again, killing the workers without waiting\n`);
      supervisor.kill();
      process.exit(1);
    }
    log.info({ signal }, 'supervisor: graceful stop');
    void supervisor.close().then(() => admin?.close());
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void supervisor.reload());
  process.on('SIGTTIN', () => supervisor.scale(1));
  process.on('SIGTTOU', () => supervisor.scale(-1));
  try {
    await supervisor.start();
  } catch (err) {
    if (err instanceof SupervisorStartupFailure) throw workerStartupError(err.failures, err.last);
    throw err;
  }
  if (stops === 0)
    log.info(
      {
        url: `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${supervisor.port}`,
        workers: supervisor.target,
        mode: supervisor.mode,
      },
      'supervisor: serving',
    );
  const exit = await supervisor.done;
  if (exit.kind === 'startup-failed') throw workerStartupError(exit.failures, exit.last);
  process.exit(0);
}
