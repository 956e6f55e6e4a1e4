import { type ChildProcess, fork } from 'node:child_process';
import cluster from 'node:cluster';
import { isSupervisorMessage, type SupervisorMessage, WORKER_ID_ENV } from './ipc.ts';
import type { SupervisorMode } from './options.ts';

/** What a worker process was started with. */
export interface WorkerSpawnOptions {
  id: number;
  mode: SupervisorMode;
  /** The script the worker runs, and its arguments. */
  exec: string;
  args: string[];
  execArgv: string[];
  /** Extra environment for the worker (the supervisor's settings for it). */
  env: Record<string, string>;
}

/** How a worker ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

let clusterExec: string | undefined;

/** The primary's handle on one worker process, started by fork (reusePort) or node:cluster. */
export class WorkerProcess {
  readonly id: number;
  readonly child: ChildProcess;
  readonly startedAt: number = Date.now();
  state: WorkerState = 'starting';
  readyAt = 0;
  /** The port the worker reported when ready. */
  port = 0;
  /** Set while this worker is being replaced (rolling reload, max-requests): not counted as capacity. */
  retiring = false;
  /** The pressure limit the worker says it is passing (it sheds load), or undefined. */
  pressure: string | undefined = undefined;
  /** The worker this one is replacing, if it was started for a reload. */
  replaces: WorkerProcess | undefined = undefined;
  /** Resolves once the worker says it is ready; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<WorkerExit>;
  #onMessage: ((message: SupervisorMessage, worker: WorkerProcess) => void) | undefined;

  constructor(options: WorkerSpawnOptions) {
    this.id = options.id;
    const env = { ...process.env, ...options.env, [WORKER_ID_ENV]: String(options.id) };
    if (options.mode === 'cluster') {
      if (clusterExec !== options.exec) {
        cluster.setupPrimary({ exec: options.exec, args: options.args, execArgv: options.execArgv });
        clusterExec = options.exec;
      }
      const worker = cluster.fork(env);
      // node's cluster Worker re-emits its process's 'error' (an EPIPE when a drain message
      // meets a channel that is closing): unheard, it ends the supervisor. 'exit' deals with it.
      worker.on('error', () => {});
      this.child = worker.process;
    } else {
      this.child = fork(options.exec, options.args, {
        env,
        execArgv: options.execArgv,
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      });
    }
    let markReady: () => void = () => {};
    let failStart: (err: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    // A rejection nobody awaits (a worker that crashes at startup outside a reload) is expected.
    this.ready.catch(() => {});
    this.exited = new Promise<WorkerExit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.state = 'exited';
        failStart(
          new Error(`worker ${this.id} exited before it was ready (${describeExit({ code, signal })})`),
        );
        resolve({ code, signal });
      });
    });
    this.child.on('message', (message: unknown) => {
      if (!isSupervisorMessage(message)) return;
      if (message.type === 'strata:ready' && this.state === 'starting' && validPort(message.port)) {
        this.state = 'ready';
        this.readyAt = Date.now();
        this.port = message.port;
        markReady();
      } else if (message.type === 'strata:pressure')
        this.pressure = typeof message.pressure === 'string' ? message.pressure : undefined;
      this.#onMessage?.(message, this);
    });
    // A worker whose channel breaks mid-send is dealt with by its 'exit'.
    this.child.on('error', () => {});
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Routes the worker's strata messages to the supervisor. */
  onMessage(listener: (message: SupervisorMessage, worker: WorkerProcess) => void): void {
    this.#onMessage = listener;
  }

  send(message: SupervisorMessage): boolean {
    if (this.state === 'exited' || !this.child.connected) return false;
    try {
      this.child.send(message);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Asks the worker to stop accepting, finish its requests and exit; kills it after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<WorkerExit> {
    if (this.state !== 'exited') {
      const wasStarting = this.state === 'starting';
      this.state = 'draining';
      // A worker that is not listening yet has nothing to drain.
      if (wasStarting || !this.send({ type: 'strata:drain' })) this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      void this.exited.then(() => clearTimeout(timer));
    }
    return this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.state !== 'exited') this.child.kill(signal);
  }
}

export function describeExit(exit: WorkerExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

function validPort(port: unknown): port is number {
  return Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65535;
}
