import type { IncomingMessage } from 'node:http';
import { loggableError } from '../observe/loggable-error.ts';
import type { Logger } from '../observe/logger.ts';
import { isSupervisorMessage, sendToPrimary, WORKER_ID_ENV } from './ipc.ts';
import { SUPERVISOR_DEFAULTS, type SupervisorMode } from './options.ts';
import { Watchdog } from './watchdog.ts';

/** How long a drained cluster-mode worker keeps its IPC channel open before it exits. */
const CLUSTER_EXIT_GRACE_MS = 200;

/** The settings the supervisor hands a worker, through its environment. */
export const WORKER_ENV = {
  mode: 'STRATA_WORKER_MODE',
  port: 'STRATA_WORKER_PORT',
  maxRequests: 'STRATA_WORKER_MAX_REQUESTS',
  timeoutMs: 'STRATA_WORKER_TIMEOUT_MS',
  gracefulMs: 'STRATA_WORKER_GRACEFUL_MS',
} as const;

/** A worker's side of the supervisor: what its server needs, and how it reports and drains. */
export interface SupervisedWorker {
  readonly workerId: number;
  readonly mode: SupervisorMode;
  /** The port the supervisor wants (the one the first worker bound), if it knows it yet. */
  readonly port: number | undefined;
  /** Listen with SO_REUSEPORT (reusePort mode). */
  readonly reusePort: boolean;
  /** The drain's budget, in ms (the supervisor's gracefulTimeout). */
  readonly shutdownTimeout: number;
  /** The server hook (max-requests counting, watchdog); undefined when neither is on. */
  readonly onRequestStart: ((req: IncomingMessage) => void) | undefined;
  /**
   * Tells the primary that this worker sheds load (`pressure`, the limit passed) or no longer
   * does (`undefined`): pass it as `loadShedding.onPressureChange`.
   */
  readonly reportPressure: (pressure: string | undefined) => void;
  /**
   * Tells the primary the server listens on `port`; from then on a drain request, SIGTERM or the
   * loss of the primary runs `close` once and exits.
   */
  ready(port: number, close: () => Promise<void>): void;
}

function positiveInt(text: string | undefined): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

class SupervisedWorkerRuntime implements SupervisedWorker {
  readonly workerId: number;
  readonly mode: SupervisorMode;
  readonly port: number | undefined;
  readonly reusePort: boolean;
  readonly shutdownTimeout: number;
  readonly onRequestStart: ((req: IncomingMessage) => void) | undefined;
  readonly #log: Logger;
  readonly #watchdog: Watchdog | undefined;
  #close: (() => Promise<void>) | undefined;
  #stopping = false;
  #stopRequested = false;

  constructor(workerId: number, env: NodeJS.ProcessEnv, log: Logger) {
    this.workerId = workerId;
    this.#log = log;
    this.mode = env[WORKER_ENV.mode] === 'cluster' ? 'cluster' : 'reusePort';
    const port = positiveInt(env[WORKER_ENV.port]);
    this.port = port === 0 ? undefined : port;
    this.reusePort = this.mode === 'reusePort';
    // 0 is a real setting (drain at once), not "unset".
    const graceful = Number(env[WORKER_ENV.gracefulMs]);
    this.shutdownTimeout =
      Number.isInteger(graceful) && graceful >= 0 && env[WORKER_ENV.gracefulMs] !== ''
        ? graceful
        : SUPERVISOR_DEFAULTS.gracefulTimeout * 1000;
    const maxRequests = positiveInt(env[WORKER_ENV.maxRequests]);
    const timeoutMs = positiveInt(env[WORKER_ENV.timeoutMs]);
    this.#watchdog = timeoutMs > 0 ? new Watchdog({ timeoutMs, workerId, logFd: 1 }) : undefined;
    this.onRequestStart = requestHook(maxRequests, this.#watchdog);

    // The primary decides when workers stop: the terminal's Ctrl-C (sent to the whole process
    // group) and job-control signals are its to handle, not each worker's.
    for (const signal of ['SIGINT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(signal, () => {});
    process.on('SIGTERM', () => this.#stop('SIGTERM'));
    process.on('message', (message: unknown) => {
      if (isSupervisorMessage(message) && message.type === 'strata:drain') this.#stop('drain requested');
    });
    // The primary died (even by SIGKILL): the channel closes, and an orphan must not linger.
    process.on('disconnect', () => this.#stop('primary gone'));
  }

  readonly reportPressure = (pressure: string | undefined): void => {
    sendToPrimary({ type: 'strata:pressure', pressure: pressure ?? null });
  };

  ready(port: number, close: () => Promise<void>): void {
    this.#close = close;
    if (this.#stopRequested) {
      this.#stop('stop requested during startup');
      return;
    }
    sendToPrimary({ type: 'strata:ready', port });
  }

  #stop(reason: string): void {
    if (this.#stopping) return;
    if (this.#close === undefined) {
      // Not listening yet: nothing to drain.
      this.#stopRequested = true;
      if (reason !== 'drain requested') process.exit(0);
      return;
    }
    this.#stopping = true;
    this.#log.info({ workerId: this.workerId, reason }, 'worker draining');
    const close = this.#close;
    void close()
      .then(
        () => 0,
        (err: unknown) => {
          this.#log.error({ err: loggableError(err), workerId: this.workerId }, 'worker shutdown failed');
          return 1;
        },
      )
      .then(async (code) => {
        await this.#watchdog?.stop();
        // cluster mode: the primary may have handed this worker a connection just before it
        // learnt that the server closed. Alive, the worker refuses it and the primary gives it to
        // another worker; exited, the hand-off is never answered and the primary keeps the
        // connection unanswered (seen once in a reload benchmark). Stay a moment to refuse them.
        if (this.mode === 'cluster')
          await new Promise((resolve) => setTimeout(resolve, CLUSTER_EXIT_GRACE_MS));
        process.exit(code);
      });
  }
}

/** One function for the server to call per request, doing only what is switched on. */
function requestHook(
  maxRequests: number,
  watchdog: Watchdog | undefined,
): ((req: IncomingMessage) => void) | undefined {
  if (maxRequests === 0) return watchdog?.requestStarted;
  let served = 0;
  const watch = watchdog?.requestStarted;
  return (req) => {
    if (watch !== undefined) watch(req);
    served += 1;
    // Asked once; the primary starts a replacement, then drains this worker.
    if (served === maxRequests) sendToPrimary({ type: 'strata:recycle', served });
  };
}

let runtime: SupervisedWorker | undefined;

/**
 * This process's supervisor runtime, or `undefined` when it is not a supervised worker. Created
 * once; it installs the worker's signal and drain handling.
 */
export function supervisedWorker(log: Logger): SupervisedWorker | undefined {
  if (runtime !== undefined) return runtime;
  const id = positiveInt(process.env[WORKER_ID_ENV]);
  if (id === 0 || process.send === undefined) return undefined;
  runtime = new SupervisedWorkerRuntime(id, process.env, log);
  return runtime;
}
