import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { serveClusterRateLimits } from '../gateway/rate-limit/cluster-store.ts';
import { createLogger } from '../observe/index.ts';
import {
  SUPERVISOR_DEFAULTS,
  Supervisor,
  type SupervisorMode,
  SupervisorStartupFailure,
} from '../parallel/index.ts';
import { defaultMode } from '../parallel/options.ts';
import { SupervisorMetrics } from '../parallel/supervisor-metrics.ts';
import type { SupervisedWorker } from '../parallel/worker-runtime.ts';
import { relayCluster } from '../realtime/index.ts';
import type { AcmeConfig } from '../server/acme/index.ts';
import type { ServeOptions } from '../server.ts';
import { type AdminServer, type DashboardInput, ServerError, startAdmin } from '../server.ts';
import type { StrataConfig } from './config.ts';
import { CliError, usageError, workerStartupError } from './errors.ts';
import { stopWhenOrphaned } from './orphan.ts';
import { acmeInPrimary } from './serve-acme.ts';
import type { OptionHelp } from './usage.ts';

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

/** The supervisor's lines of `strata serve --help`. */
export const WORKER_OPTION_HELP: OptionHelp[] = [
  { flag: 'workers <n|auto>', help: 'run n worker processes under a supervisor (auto: one per core)' },
  {
    flag: 'worker-mode <m>',
    help: 'cluster (default) or reusePort (default on Linux when\nnet.ipv4.tcp_migrate_req is 1); see docs/parallel.md',
  },
  ...WORKER_FLAGS.map((f) => ({
    flag: `${f.flag} <n>`,
    help: `${f.help} (default: ${SUPERVISOR_DEFAULTS[f.key]}${f.unit})`,
  })),
];

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
    admin?: { host: string; port: number; token?: string } | undefined;
    redis?: string | undefined;
    /** The serve() options (`tls` makes the URL https). */
    options?: { tls?: unknown };
    acme?: AcmeConfig | undefined;
  } & WorkerFlags,
  args: string[],
): Promise<void> {
  const absolute = resolve(process.cwd(), flags.module);
  // The primary never imports the app (its workers do), but a wrong path fails here, once
  // ('' is a pure proxy: no module).
  if (flags.module !== '' && (!existsSync(absolute) || !statSync(absolute).isFile())) {
    throw new CliError(
      'STRATA_ERR_MODULE_NOT_FOUND',
      `Cannot find module "${flags.module}" (looked for ${absolute}); check the path`,
    );
  }
  // A port in use is said once, here, rather than by every worker the supervisor would start.
  if (flags.port !== 0) await probePort(flags.host, flags.port);
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
  // ACME: the primary orders for the machine; the workers answer the challenges (serve-acme.ts).
  let acme: ReturnType<typeof acmeInPrimary> | undefined;
  try {
    acme = flags.acme === undefined ? undefined : acmeInPrimary(flags.acme, supervisor, log);
  } catch (err) {
    const e = err as { code?: string; message: string };
    throw new CliError(e.code ?? 'STRATA_ERR_ACME_CONFIG', e.message);
  }
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
  const stop = (signal: string): void => {
    stops += 1;
    if (stops > 1) {
      process.stderr.write(`strata: ${signal} again, killing the workers without waiting\n`);
      supervisor.kill();
      process.exit(1);
    }
    log.info({ signal, workers: supervisor.target }, 'supervisor: graceful stop, draining the workers');
    // One line for the stop: the drain's routine steps (each worker's exit with status 0) are
    // left out; a worker that has to be killed, or exits with an error, is still a warning.
    log.level = 'warn';
    acme?.close();
    void supervisor.close().then(() => admin?.close());
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  stopWhenOrphaned(() => stop('parent exited'));
  process.on('SIGHUP', () => void supervisor.reload());
  process.on('SIGTTIN', () => supervisor.scale(1));
  process.on('SIGTTOU', () => supervisor.scale(-1));
  // logrotate signals the primary: each worker reopens its access log. Without a listener, node's
  // default for SIGUSR1 would open the inspector on 127.0.0.1:9229 in the primary.
  process.on('SIGUSR1', () => supervisor.signalWorkers('SIGUSR1'));
  try {
    await supervisor.start();
  } catch (err) {
    if (err instanceof SupervisorStartupFailure) throw workerStartupError(err.failures, err.last);
    throw err;
  }
  // Once the workers are ready to answer the challenges.
  if (stops === 0) void acme?.start();
  if (stops === 0)
    log.info(
      {
        url: `${flags.options?.tls === undefined ? 'http' : 'https'}://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${supervisor.port}`,
        workers: supervisor.target,
        mode: supervisor.mode,
      },
      'supervisor: serving',
    );
  const exit = await supervisor.done;
  if (exit.kind === 'startup-failed') throw workerStartupError(exit.failures, exit.last);
  process.exit(0);
}

/** Fails with STRATA_ERR_PORT_IN_USE (and the like) if `host:port` cannot be listened on now. */
function probePort(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const e = ServerError.fromListen(err, host, port);
      reject(new CliError(e.code, e.message));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
