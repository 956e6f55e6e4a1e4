import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Logger } from '../observe/logger.ts';
import { RestartBackoff } from './backoff.ts';
import type { SupervisorMessage } from './ipc.ts';
import {
  defaultMode,
  kernelMigratesConnections,
  SUPERVISOR_DEFAULTS,
  type SupervisorMode,
} from './options.ts';
import { describeExit, type WorkerExit, WorkerProcess } from './worker-process.ts';
import { WORKER_ENV } from './worker-runtime.ts';

type Settings = { -readonly [K in keyof typeof SUPERVISOR_DEFAULTS]: number };

/** Options of `new Supervisor()`. */
export interface SupervisorOptions extends Partial<Settings> {
  /** The script each worker runs (for `strata serve`, the CLI itself) and its arguments. */
  exec: string;
  args?: string[];
  /** Node flags for the workers (default: the primary's own). */
  execArgv?: string[];
  /** How many workers, or `auto` for one per core (`os.availableParallelism()`). */
  workers: number | 'auto';
  mode?: SupervisorMode;
  /**
   * The port asked for. With 0: in reusePort mode the first worker picks one and the others
   * join it; in cluster mode the primary picks a free one on `host` before starting them, so that
   * a replacement started after the last worker died binds the same port.
   */
  port: number;
  /** The interface the workers listen on (only needed to pick a port in cluster mode). */
  host?: string;
  logger: Logger;
}

/** Why the supervisor stopped. */
export type SupervisorExit =
  | { kind: 'stopped' }
  | { kind: 'startup-failed'; failures: number; last: WorkerExit };

/** A worker as the supervisor reports it. */
export interface WorkerInfo {
  id: number;
  pid: number;
  state: WorkerProcess['state'];
  /** The load-shedding limit the worker is passing, if any. */
  pressure: string | undefined;
}

/**
 * Runs N worker processes that share one port, keeps N of them alive, and replaces them without
 * dropping a request: rolling reload, max-requests recycling, scaling, graceful stop.
 *
 * @example
 * const supervisor = new Supervisor({ exec: 'server.ts', workers: 'auto', port: 3000, logger });
 * await supervisor.start();
 * process.on('SIGHUP', () => void supervisor.reload());
 * process.on('SIGTERM', () => void supervisor.close().then(() => process.exit(0)));
 */
export class Supervisor {
  readonly mode: SupervisorMode;
  readonly #options: SupervisorOptions;
  readonly #settings: Settings;
  readonly #log: Logger;
  readonly #backoff: RestartBackoff;
  readonly #workers = new Set<WorkerProcess>();
  readonly #listeners = new Map<string, ((payload: unknown, workerId: number) => void)[]>();
  readonly #asks = new Map<
    number,
    { workerId: number; answer: (value: unknown) => void; skip: () => void }
  >();
  #target: number;
  #nextId = 1;
  #nextAsk = 1;
  #port: number;
  #pendingSpawns = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  #startupFailures = 0;
  #closing: Promise<void> | undefined;
  #swaps: Promise<void> = Promise.resolve();
  #queuedReload: Promise<void> | undefined;
  #finish: (exit: SupervisorExit) => void = () => {};
  /** Settles once, when the supervisor has stopped (asked to, or because workers cannot start). */
  readonly done: Promise<SupervisorExit>;
  /** Workers started to replace another, by why: `exit` (crash, watchdog kill), `reload`, `maxRequests`. */
  readonly restarts: Map<string, number> = new Map();

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#settings = { ...SUPERVISOR_DEFAULTS };
    for (const key of Object.keys(SUPERVISOR_DEFAULTS) as (keyof Settings)[]) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 0)
        throw new TypeError(`Supervisor: option ${key} must be a non-negative integer, got ${String(value)}`);
      this.#settings[key] = value;
    }
    this.#target = options.workers === 'auto' ? availableParallelism() : options.workers;
    if (!Number.isInteger(this.#target) || this.#target < 1)
      throw new TypeError(`Supervisor: workers must be a positive integer or "auto", got ${options.workers}`);
    this.mode = options.mode ?? defaultMode();
    if (this.mode === 'reusePort' && process.platform === 'linux' && !kernelMigratesConnections()) {
      options.logger.warn(
        "supervisor: reusePort mode with net.ipv4.tcp_migrate_req = 0: a rolling reload can reset connections waiting in a closing worker's accept queue; --worker-mode cluster reloads without loss (docs/parallel.md)",
      );
    }
    this.#port = options.port;
    this.#log = options.logger;
    this.#backoff = new RestartBackoff(
      this.#settings.restartDelay,
      this.#settings.restartDelayMax,
      this.#settings.stableAfter,
    );
    this.done = new Promise((resolve) => (this.#finish = resolve));
  }

  /** The port the workers share (known once the first one is ready). */
  get port(): number {
    return this.#port;
  }

  /** How many workers the supervisor keeps alive. */
  get target(): number {
    return this.#target;
  }

  workers(): WorkerInfo[] {
    return [...this.#workers].map((w) => ({ id: w.id, pid: w.pid, state: w.state, pressure: w.pressure }));
  }

  /**
   * Whether the machine takes traffic, as its `/healthz` says: not stopping, and at least one
   * worker ready and not shedding load. False while the supervisor drains (SIGTERM), before the
   * first worker is ready, while every worker is down (crashed, waiting for its restart) and
   * while every ready worker sheds load (`--max-event-loop-delay`).
   */
  get healthy(): boolean {
    if (this.#closing !== undefined) return false;
    for (const w of this.#workers) if (w.state === 'ready' && w.pressure === undefined) return true;
    return false;
  }

  /**
   * Starts the workers and resolves once all of them are ready (the first one alone when the port
   * is 0, so that the others bind the port it picked); rejects if they keep failing to start.
   */
  async start(): Promise<void> {
    const failed = this.done.then((exit) => {
      if (exit.kind === 'startup-failed') throw new SupervisorStartupFailure(exit);
    });
    // A failure after start() has resolved is reported by `done`, not as an unhandled rejection.
    failed.catch(() => {});
    if (this.#port === 0 && this.mode === 'cluster')
      this.#port = await freePort(this.#options.host ?? '127.0.0.1');
    const first = this.#spawn();
    await Promise.race([this.#untilReady(first), failed]);
    if (this.#closing !== undefined) return;
    const rest = Array.from({ length: this.#target - 1 }, () => this.#untilReady(this.#spawn()));
    await Promise.race([Promise.all(rest), failed]);
    this.#log.info(
      { workers: this.#target, mode: this.mode, port: this.#port },
      'supervisor: all workers ready',
    );
  }

  /** Waits for a worker, or for whichever worker replaced it after a failed start. */
  async #untilReady(worker: WorkerProcess): Promise<void> {
    try {
      await worker.ready;
    } catch {
      // It failed at startup; its replacement (after backoff) takes its place.
      while (this.#closing === undefined) {
        await new Promise((r) => setTimeout(r, 20));
        if ([...this.#workers].some((w) => w.state === 'ready' && w.id > worker.id)) return;
      }
    }
  }

  /**
   * Rolling reload: for each worker, start a new one, wait until it is ready, then drain the old
   * one. A new worker that cannot start aborts the reload and the old ones keep serving.
   */
  reload(): Promise<void> {
    // SIGHUPs that arrive while a reload waits its turn join it: each reload replaces the
    // workers that are running when it starts, so the last code is always picked up.
    if (this.#queuedReload !== undefined) return this.#queuedReload;
    const run = async (): Promise<void> => {
      this.#queuedReload = undefined;
      const old = [...this.#workers].filter((w) => w.state === 'ready' && !w.retiring);
      this.#log.info({ workers: old.map((w) => w.id) }, 'supervisor: rolling reload started');
      let ok = true;
      for (const worker of old) {
        if (this.#closing !== undefined || !ok) return;
        if (worker.state !== 'ready' || worker.retiring) continue;
        ok = await this.#replace(worker, 'reload');
      }
      this.#log.info(
        { ok },
        ok ? 'supervisor: rolling reload finished' : 'supervisor: rolling reload aborted',
      );
    };
    this.#queuedReload = this.#queue(run);
    return this.#queuedReload;
  }

  /** SIGTTIN/SIGTTOU: one worker more or less (never fewer than one). */
  scale(delta: 1 | -1): void {
    if (this.#closing !== undefined) return;
    if (delta > 0) {
      this.#target += 1;
      this.#log.info({ target: this.#target }, 'supervisor: adding a worker');
      this.#ensure();
      return;
    }
    if (this.#target <= 1) {
      this.#log.warn({ target: this.#target }, 'supervisor: not removing the last worker');
      return;
    }
    this.#target -= 1;
    const victim = [...this.#workers].find((w) => w.state === 'ready' && !w.retiring);
    this.#log.info({ target: this.#target, workerId: victim?.id }, 'supervisor: removing a worker');
    if (victim !== undefined) {
      victim.retiring = true;
      void victim.drain(this.#gracefulMs());
    }
  }

  /** Graceful stop: every worker drains (killed after gracefulTimeout), then `done` settles. */
  close(): Promise<void> {
    return this.#stop({ kind: 'stopped' });
  }

  #stop(exit: SupervisorExit): Promise<void> {
    this.#closing ??= (async () => {
      this.#log.info({ workers: this.#workers.size }, 'supervisor: stopping, draining every worker');
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      await Promise.all([...this.#workers].map((w) => w.drain(this.#gracefulMs())));
      this.#finish(exit);
    })();
    return this.#closing;
  }

  /**
   * Passes a signal to every live worker: SIGUSR1 (reopen the access log after logrotate moved
   * it) is the one the CLI forwards; the primary itself has no log file to reopen.
   */
  signalWorkers(signal: NodeJS.Signals): void {
    for (const worker of this.#workers) worker.kill(signal);
  }

  /** Kills every worker at once (a second SIGTERM). */
  kill(): void {
    for (const worker of this.#workers) worker.kill('SIGKILL');
  }

  /** Listens for `channel.send(type, …)` from any worker. */
  on(type: string, listener: (payload: unknown, workerId: number) => void): void {
    const list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, [listener]);
    else list.push(listener);
  }

  /** Sends to one worker's `channel.on(type, …)` (an answer to that worker); false if it is not ready. */
  send(workerId: number, type: string, payload: unknown): boolean {
    for (const worker of this.#workers) {
      if (worker.id === workerId && worker.state === 'ready')
        return worker.send({ type: 'strata:msg', name: type, payload });
    }
    return false;
  }

  /** Sends to every ready worker's `channel.on(type, …)`, except one (the sender, for pub/sub). */
  broadcast(type: string, payload: unknown, exceptWorkerId?: number): void {
    const message: SupervisorMessage = { type: 'strata:msg', name: type, payload };
    for (const worker of this.#workers) {
      if (worker.state === 'ready' && worker.id !== exceptWorkerId) worker.send(message);
    }
  }

  /**
   * Asks every ready worker's `channel.handle(type, …)` and resolves with the answers that came
   * back within `timeoutMs`; a worker that dies, times out or throws is left out.
   */
  async collect(type: string, payload: unknown, options: { timeoutMs?: number } = {}): Promise<unknown[]> {
    const timeoutMs = options.timeoutMs ?? 1000;
    const asks = [...this.#workers]
      .filter((w) => w.state === 'ready')
      .map(
        (worker) =>
          new Promise<{ ok: boolean; value: unknown }>((resolve) => {
            const id = this.#nextAsk++;
            const settle = (result: { ok: boolean; value: unknown }): void => {
              clearTimeout(timer);
              this.#asks.delete(id);
              resolve(result);
            };
            const timer = setTimeout(() => settle({ ok: false, value: undefined }), timeoutMs);
            this.#asks.set(id, {
              workerId: worker.id,
              answer: (value) => settle({ ok: true, value }),
              skip: () => settle({ ok: false, value: undefined }),
            });
            void worker.exited.then(() => settle({ ok: false, value: undefined }));
            if (!worker.send({ type: 'strata:ask', id, name: type, payload }))
              settle({ ok: false, value: undefined });
          }),
      );
    return (await Promise.all(asks)).filter((r) => r.ok).map((r) => r.value);
  }

  #gracefulMs(): number {
    return this.#settings.gracefulTimeout * 1000 + 1000;
  }

  #queue(step: () => Promise<void>): Promise<void> {
    const next = this.#swaps.then(step);
    this.#swaps = next.catch((err: unknown) => this.#log.error({ err }, 'supervisor: worker swap failed'));
    return next;
  }

  /** Starts a replacement for `old`, waits until it is ready, then drains `old`. */
  async #replace(old: WorkerProcess, why: string): Promise<boolean> {
    old.retiring = true;
    this.restarts.set(why, (this.restarts.get(why) ?? 0) + 1);
    const fresh = this.#spawn(old);
    try {
      await fresh.ready;
    } catch (err) {
      this.#log.error(
        { workerId: old.id, err: (err as Error).message },
        `supervisor: the replacement for worker ${old.id} (${why}) did not start; keeping the old one`,
      );
      return false;
    }
    this.#log.info({ old: old.id, new: fresh.id, why }, 'supervisor: worker replaced, draining the old one');
    await old.drain(this.#gracefulMs());
    return true;
  }

  #spawn(replaces?: WorkerProcess): WorkerProcess {
    const id = this.#nextId++;
    const s = this.#settings;
    const jitter =
      s.maxRequests > 0 && s.maxRequestsJitter > 0
        ? Math.floor(Math.random() * (s.maxRequestsJitter + 1))
        : 0;
    const env: Record<string, string> = {
      [WORKER_ENV.mode]: this.mode,
      [WORKER_ENV.maxRequests]: String(s.maxRequests === 0 ? 0 : s.maxRequests + jitter),
      [WORKER_ENV.timeoutMs]: String(s.workerTimeout * 1000),
      [WORKER_ENV.gracefulMs]: String(s.gracefulTimeout * 1000),
      // How many processes share the machine: thread pools size themselves by it.
      STRATA_WORKERS: String(this.#target),
    };
    if (this.#port !== 0) env[WORKER_ENV.port] = String(this.#port);
    const worker = new WorkerProcess({
      id,
      mode: this.mode,
      exec: this.#options.exec,
      args: this.#options.args ?? [],
      execArgv: this.#options.execArgv ?? process.execArgv,
      env,
    });
    worker.replaces = replaces;
    this.#workers.add(worker);
    this.#log.info({ workerId: id, workerPid: worker.pid }, 'supervisor: worker started');
    worker.onMessage((message, from) => this.#onMessage(message, from));
    void worker.ready.then(
      () => {
        this.#startupFailures = 0;
        if (this.#port === 0) this.#port = worker.port;
        this.#log.info(
          { workerId: id, workerPid: worker.pid, port: worker.port },
          'supervisor: worker ready',
        );
      },
      () => {},
    );
    void worker.exited.then((exit) => this.#onExit(worker, exit));
    return worker;
  }

  #onMessage(message: SupervisorMessage, worker: WorkerProcess): void {
    switch (message.type) {
      case 'strata:msg':
        for (const listener of this.#listeners.get(message.name) ?? []) listener(message.payload, worker.id);
        break;
      case 'strata:answer': {
        // Only an ask this worker was sent can be answered by it.
        const ask = typeof message.id === 'number' ? this.#asks.get(message.id) : undefined;
        if (ask !== undefined && ask.workerId === worker.id) {
          if (message.ok) ask.answer(message.value);
          else ask.skip();
        }
        break;
      }
      case 'strata:recycle':
        if (this.#closing !== undefined || worker.retiring || worker.state !== 'ready') break;
        this.#log.info(
          { workerId: worker.id, served: message.served },
          'supervisor: worker reached maxRequests',
        );
        worker.retiring = true;
        void this.#queue(async () => {
          worker.retiring = false;
          if (worker.state === 'ready') await this.#replace(worker, 'maxRequests');
        });
        break;
      default:
        break;
    }
  }

  #onExit(worker: WorkerProcess, exit: WorkerExit): void {
    this.#workers.delete(worker);
    const wasReady = worker.readyAt > 0;
    const expected = this.#closing !== undefined || worker.retiring || worker.state === 'draining';
    const level = expected && exit.code === 0 ? 'info' : 'warn';
    this.#log[level](
      { workerId: worker.id, workerPid: worker.pid, ...exit },
      `supervisor: worker exited (${describeExit(exit)})`,
    );
    if (this.#closing !== undefined) return;
    if (!wasReady && !expected) {
      if (worker.replaces !== undefined) {
        // A reload's replacement that failed: the worker it was meant to replace keeps serving,
        // and the reload stops there (a bad deploy does not take the running server down).
        worker.replaces.retiring = false;
      } else {
        this.#startupFailures += 1;
        if (this.#startupFailures >= this.#settings.maxStartupFailures) {
          this.#log.error(
            { failures: this.#startupFailures, ...exit },
            'supervisor: workers keep failing at startup; stopping',
          );
          void this.#stop({ kind: 'startup-failed', failures: this.#startupFailures, last: exit });
          return;
        }
      }
    }
    if (!expected) this.restarts.set('exit', (this.restarts.get('exit') ?? 0) + 1);
    this.#ensure(wasReady ? Date.now() - worker.readyAt : 0, !expected);
  }

  /** Starts workers until `target` of them are alive (after a backoff if one crashed). */
  #ensure(uptimeMs = 0, crashed = false): void {
    if (this.#closing !== undefined) return;
    const alive = [...this.#workers].filter(
      (w) => w.state !== 'draining' && w.state !== 'exited' && !w.retiring,
    );
    const missing = this.#target - alive.length - this.#pendingSpawns;
    for (let i = 0; i < missing; i++) {
      const delay = crashed ? this.#backoff.next(uptimeMs) : 0;
      if (delay === 0) {
        this.#spawn();
        continue;
      }
      this.#log.info(
        { delayMs: delay, streak: this.#backoff.streak },
        'supervisor: restarting a worker after backoff',
      );
      this.#pendingSpawns += 1;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#pendingSpawns -= 1;
        if (this.#closing === undefined) this.#ensure();
      }, delay);
      this.#timers.add(timer);
    }
  }
}

/** `start()` gave up: workers exited before they were ready, `maxStartupFailures` times in a row. */
export class SupervisorStartupFailure extends Error {
  readonly failures: number;
  readonly last: WorkerExit;

  constructor(exit: Extract<SupervisorExit, { kind: 'startup-failed' }>) {
    super(
      `${exit.failures} workers in a row exited before they were ready (the last: ${describeExit(exit.last)})`,
    );
    this.name = 'SupervisorStartupFailure';
    this.failures = exit.failures;
    this.last = exit.last;
  }
}

/** A port free on `host` right now (cluster mode with port 0: every worker must ask for the same one). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
